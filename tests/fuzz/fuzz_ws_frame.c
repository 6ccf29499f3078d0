/* Fuzz target: the WebSocket frame decoder (rpc/wsframe.c) on arbitrary server bytes. The first
 * input byte picks how the rest is cut into pieces (as a socket may return it); the events the
 * decoder reports (data bytes, message ends, control frames, where it stops or fails) must be
 * the same for the pieces as for the whole input at once, data never exceeds the input, and a
 * control frame is at most 125 bytes. */
#include <stdlib.h>
#include <string.h>

#include "rpc/wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct log {
    uint8_t *bytes; /* data payload and control payload, in order */
    size_t n, cap;
    size_t messages, controls;
    uint64_t digest; /* order of events */
};

static void put(struct log *l, const uint8_t *p, size_t n)
{
    if (l->n + n > l->cap)
        abort(); /* more payload than input */
    memcpy(l->bytes + l->n, p, n);
    l->n += n;
}

static int on_data(void *u, const uint8_t *p, size_t n, uint64_t left)
{
    struct log *l = u;
    if (n == 0)
        abort();
    put(l, p, n);
    (void)left;
    return 0;
}

static int on_end(void *u)
{
    struct log *l = u;
    l->messages++;
    l->digest = l->digest * 1000003u + l->n * 31u + 1;
    return 0;
}

static int on_control(void *u, unsigned op, const uint8_t *p, size_t n)
{
    struct log *l = u;
    if (n > WS_CONTROL_MAX || (op != WS_OP_CLOSE && op != WS_OP_PING && op != WS_OP_PONG))
        abort();
    put(l, p, n);
    l->controls++;
    l->digest = l->digest * 1000003u + op * 7u + n;
    return op == WS_OP_CLOSE; /* stop at a close, as the transport does */
}

static const struct ws_rx_ops ops = {on_data, on_end, on_control};

/* Returns: the result; *consumed = bytes consumed in all. */
static int run(const uint8_t *p, size_t n, size_t piece, struct log *l, size_t *consumed)
{
    struct ws_rx d;
    ws_rx_init(&d);
    size_t off = 0;
    while (off < n) {
        size_t take = piece && n - off > piece ? piece : n - off;
        size_t used = 0;
        enum ws_rx_result r = ws_rx_feed(&d, p + off, take, &ops, l, &used, NULL);
        if (r == WS_RX_PROTOCOL) {
            *consumed = off;
            return 2;
        }
        if (used > take)
            abort();
        off += used;
        if (r == WS_RX_STOPPED) {
            *consumed = off;
            return 1;
        }
    }
    *consumed = off;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = data[0] % 17; /* 0: all at once */
    data++;
    size--;
    struct log a = {.cap = size}, b = {.cap = size};
    a.bytes = malloc(size + 1);
    b.bytes = malloc(size + 1);
    if (!a.bytes || !b.bytes)
        abort();
    size_t ca, cb;
    int ra = run(data, size, 0, &a, &ca);
    int rb = run(data, size, piece, &b, &cb);
    if (ra != rb || a.n != b.n || a.messages != b.messages || a.controls != b.controls ||
        a.digest != b.digest || memcmp(a.bytes, b.bytes, a.n) != 0)
        abort(); /* the cut of the stream changed what was decoded */
    if (ra == 1 && ca != cb)
        abort();
    free(a.bytes);
    free(b.bytes);

    /* Client frames: a header then masking twice gives the payload back. */
    if (size >= 4) {
        uint8_t hdr[WS_HEADER_MAX], mask[4];
        memcpy(mask, data, 4);
        size_t h = ws_frame_header(hdr, WS_OP_TEXT, size, mask);
        if (h != 6 && h != 8 && h != 14)
            abort();
        uint8_t *copy = malloc(size);
        if (!copy)
            abort();
        memcpy(copy, data, size);
        size_t cut = data[0] % size;
        ws_mask(copy, cut, mask, 0);
        ws_mask(copy + cut, size - cut, mask, cut);
        for (size_t i = 0; i < size; i++)
            if ((copy[i] ^ mask[i & 3]) != data[i])
                abort();
        free(copy);
    }
    return 0;
}
