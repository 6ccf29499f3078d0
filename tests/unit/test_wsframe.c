/* The WebSocket frame decoder and client frame header (rpc/wsframe.c): fragmented messages with
 * control frames in between, any cut of the byte stream, lengths of every size class, each
 * protocol violation refused with a reason, lengths that are only claimed, masking. The
 * transport itself (rpc/wsplain.c) is exercised by the rpc suite, whose ws:// tests run on it. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/wsframe.h"

struct rec {
    uint8_t data[1 << 17];
    size_t n;
    unsigned messages, pings, pongs, closes;
    uint8_t ctl[WS_CONTROL_MAX];
    size_t ctl_len;
    uint64_t last_left;
    int stop_on_close;
};

static int r_data(void *u, const uint8_t *p, size_t n, uint64_t left)
{
    struct rec *r = u;
    ck_assert_uint_le(r->n + n, sizeof r->data);
    memcpy(r->data + r->n, p, n);
    r->n += n;
    r->last_left = left;
    return 0;
}

static int r_end(void *u)
{
    ((struct rec *)u)->messages++;
    return 0;
}

static int r_control(void *u, unsigned op, const uint8_t *p, size_t n)
{
    struct rec *r = u;
    memcpy(r->ctl, p, n);
    r->ctl_len = n;
    if (op == WS_OP_PING)
        r->pings++;
    else if (op == WS_OP_PONG)
        r->pongs++;
    else
        r->closes++;
    return op == WS_OP_CLOSE && r->stop_on_close;
}

static const struct ws_rx_ops ops = {r_data, r_end, r_control};

/* A server frame (unmasked) into out; returns its length. */
static size_t server_frame(uint8_t *out, unsigned b0, const void *p, size_t n)
{
    size_t h = 2;
    out[0] = (uint8_t)b0;
    if (n < 126) {
        out[1] = (uint8_t)n;
    } else if (n <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(n >> 8);
        out[3] = (uint8_t)n;
        h = 4;
    } else {
        out[1] = 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        h = 10;
    }
    memcpy(out + h, p, n);
    return h + n;
}

static enum ws_rx_result feed_pieces(struct ws_rx *d, const uint8_t *p, size_t n, size_t piece,
                                     struct rec *r, struct ferry_reason *why)
{
    for (size_t off = 0; off < n;) {
        size_t take = n - off < piece ? n - off : piece, used = 0;
        enum ws_rx_result res = ws_rx_feed(d, p + off, take, &ops, r, &used, why);
        if (res != WS_RX_OK)
            return res;
        ck_assert_uint_eq(used, take);
        off += take;
    }
    return WS_RX_OK;
}

START_TEST(fragmented_message_with_control_frames_between_any_cut)
{
    static uint8_t stream[1 << 18];
    static uint8_t big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)('a' + i % 26);
    size_t n = 0;
    n += server_frame(stream + n, WS_OP_TEXT, "{\"id\":", 6);           /* FIN clear */
    n += server_frame(stream + n, 0x80 | WS_OP_PING, "p1", 2);          /* between */
    n += server_frame(stream + n, WS_OP_CONT, big, 300);                /* 16-bit len */
    n += server_frame(stream + n, 0x80 | WS_OP_PONG, "", 0);            /* empty */
    n += server_frame(stream + n, 0x80 | WS_OP_CONT, big + 300, 69700); /* 64-bit len */
    n += server_frame(stream + n, 0x80 | WS_OP_BINARY, "", 0);          /* empty message */
    n += server_frame(stream + n, 0x80 | WS_OP_TEXT, "x", 1);
    size_t pieces[] = {1, 2, 3, 7, 13, 64, 4096, sizeof stream};
    for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
        static struct rec r;
        memset(&r, 0, sizeof r);
        struct ws_rx d;
        ws_rx_init(&d);
        ck_assert_int_eq(feed_pieces(&d, stream, n, pieces[k], &r, NULL), WS_RX_OK);
        ck_assert_uint_eq(r.messages, 3);
        ck_assert_uint_eq(r.pings, 1);
        ck_assert_uint_eq(r.pongs, 1);
        ck_assert_uint_eq(r.n, 6 + 70000 + 1);
        ck_assert(memcmp(r.data, "{\"id\":", 6) == 0);
        ck_assert(memcmp(r.data + 6, big, 70000) == 0);
        ck_assert_uint_eq(r.data[r.n - 1], 'x');
        ck_assert(!d.in_message && !d.in_payload);
    }
}
END_TEST

static void refused(const uint8_t *p, size_t n, const char *what)
{
    struct rec *r = calloc(1, sizeof *r);
    struct ws_rx d;
    struct ferry_reason why = {""};
    size_t used;
    ws_rx_init(&d);
    ck_assert_int_eq(ws_rx_feed(&d, p, n, &ops, r, &used, &why), WS_RX_PROTOCOL);
    ck_assert_msg(strstr(why.text, what), "reason '%s' lacks '%s'", why.text, what);
    free(r);
}

START_TEST(protocol_violations_are_refused_with_a_reason)
{
    refused((const uint8_t[]){0x81 | 0x40, 0x00}, 2, "reserved bits");
    refused((const uint8_t[]){0x81, 0x81, 1, 2, 3, 4, 'a'}, 7, "masked frame");
    refused((const uint8_t[]){0x83, 0x00}, 2, "unknown opcode");
    refused((const uint8_t[]){0x8b, 0x00}, 2, "unknown opcode");
    refused((const uint8_t[]){0x89, 126, 0, 126}, 4, "longer than 125");
    refused((const uint8_t[]){0x09, 0x00}, 2, "fragmented control");
    refused((const uint8_t[]){0x88, 0x01, 0x03}, 3, "1-byte payload");
    refused((const uint8_t[]){0x80, 0x00}, 2, "continuation frame outside");
    refused((const uint8_t[]){0x01, 0x01, 'a', 0x81, 0x00}, 5, "inside an unfinished message");
    refused((const uint8_t[]){0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}, 10, "top bit");
}
END_TEST

START_TEST(claimed_length_costs_nothing_until_its_bytes_arrive)
{
    /* A frame that claims 2^62 bytes: only what arrives is delivered, with the claim as hint. */
    static struct rec r;
    memset(&r, 0, sizeof r);
    uint8_t f[10 + 5] = {0x81, 127, 0x40, 0, 0, 0, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
    struct ws_rx d;
    size_t used;
    ws_rx_init(&d);
    ck_assert_int_eq(ws_rx_feed(&d, f, sizeof f, &ops, &r, &used, NULL), WS_RX_OK);
    ck_assert_uint_eq(used, sizeof f);
    ck_assert_uint_eq(r.n, 5);
    ck_assert_uint_eq(r.last_left, ((uint64_t)1 << 62) - 5);
    ck_assert_uint_eq(r.messages, 0);
}
END_TEST

START_TEST(a_stopping_callback_leaves_the_rest_unread)
{
    static struct rec r;
    memset(&r, 0, sizeof r);
    r.stop_on_close = 1;
    uint8_t s[32];
    size_t n = server_frame(s, 0x80 | WS_OP_CLOSE, "\x03\xe8", 2);
    size_t at = n;
    n += server_frame(s + n, 0x80 | WS_OP_TEXT, "after", 5);
    struct ws_rx d;
    size_t used;
    ws_rx_init(&d);
    ck_assert_int_eq(ws_rx_feed(&d, s, n, &ops, &r, &used, NULL), WS_RX_STOPPED);
    ck_assert_uint_eq(used, at);
    ck_assert_uint_eq(r.closes, 1);
    ck_assert_uint_eq(r.ctl_len, 2);
    ck_assert_uint_eq(r.n, 0);
}
END_TEST

START_TEST(client_header_sizes_and_masking)
{
    const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    uint8_t h[WS_HEADER_MAX];
    struct {
        uint64_t len;
        size_t hlen;
    } cases[] = {{0, 6}, {125, 6}, {126, 8}, {65535, 8}, {65536, 14}, {(uint64_t)1 << 40, 14}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = ws_frame_header(h, WS_OP_TEXT, cases[i].len, mask);
        ck_assert_uint_eq(n, cases[i].hlen);
        ck_assert_uint_eq(h[0], 0x81);
        ck_assert_uint_eq(h[1] & 0x80, 0x80);
        ck_assert(memcmp(h + n - 4, mask, 4) == 0);
        uint64_t len = h[1] & 0x7f;
        if (len == 126)
            len = (uint64_t)h[2] << 8 | h[3];
        else if (len == 127)
            len = (uint64_t)h[2] << 56 | (uint64_t)h[3] << 48 | (uint64_t)h[4] << 40 |
                  (uint64_t)h[5] << 32 | (uint64_t)h[6] << 24 | (uint64_t)h[7] << 16 |
                  (uint64_t)h[8] << 8 | h[9];
        ck_assert_uint_eq(len, cases[i].len);
    }
    uint8_t p[37], q[37];
    for (size_t i = 0; i < sizeof p; i++)
        p[i] = q[i] = (uint8_t)i;
    ws_mask(q, 5, mask, 0);
    ws_mask(q + 5, sizeof q - 5, mask, 5); /* in two pieces, the second out of phase */
    for (size_t i = 0; i < sizeof p; i++)
        ck_assert_uint_eq(q[i], p[i] ^ mask[i & 3]);
}
END_TEST

Suite *wsframe_suite(void)
{
    Suite *s = suite_create("wsframe");
    TCase *t = tcase_create("core");
    tcase_add_test(t, fragmented_message_with_control_frames_between_any_cut);
    tcase_add_test(t, protocol_violations_are_refused_with_a_reason);
    tcase_add_test(t, claimed_length_costs_nothing_until_its_bytes_arrive);
    tcase_add_test(t, a_stopping_callback_leaves_the_rest_unread);
    tcase_add_test(t, client_header_sizes_and_masking);
    suite_add_tcase(s, t);
    return s;
}
