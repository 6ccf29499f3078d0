/* ferry rpc — RFC 6455 client framing: the decoder of server frames and the client frame header.
 * See rpc/wsframe.h. */
#include <string.h>

#include "rpc/wsframe.h"

void ws_rx_init(struct ws_rx *d)
{
    memset(d, 0, sizeof *d);
    d->hdr_need = 2;
}

static enum ws_rx_result bad(struct ferry_reason *why, const char *what)
{
    ferry_reason_set(why, FERRY_E_NET, "WebSocket protocol error: %s", what);
    return WS_RX_PROTOCOL;
}

/* The header is complete in d->hdr: check it and start the payload. */
static enum ws_rx_result start_frame(struct ws_rx *d, struct ferry_reason *why)
{
    uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
    d->fin = (b0 & 0x80) != 0;
    d->opcode = b0 & 0x0f;
    unsigned len7 = b1 & 0x7f;
    uint64_t len = len7;
    if (len7 == 126) {
        len = (uint64_t)d->hdr[2] << 8 | d->hdr[3];
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | d->hdr[2 + i];
    }
    d->left = len;
    d->ctl_len = 0;
    d->in_payload = true;
    d->hdr_len = 0;
    d->hdr_need = 2;
    switch (d->opcode) {
    case WS_OP_CONT:
        if (!d->in_message)
            return bad(why, "continuation frame outside a message");
        break;
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        if (d->in_message)
            return bad(why, "new data frame inside an unfinished message");
        d->in_message = true;
        break;
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        if (!d->fin)
            return bad(why, "fragmented control frame");
        if (len > WS_CONTROL_MAX)
            return bad(why, "control frame longer than 125 bytes");
        if (d->opcode == WS_OP_CLOSE && len == 1)
            return bad(why, "close frame with a 1-byte payload");
        break;
    default:
        return bad(why, "unknown opcode");
    }
    return WS_RX_OK;
}

/* The current frame's payload has all arrived. Returns a callback's nonzero result, else 0. */
static int end_frame(struct ws_rx *d, const struct ws_rx_ops *ops, void *user)
{
    d->in_payload = false;
    if (d->opcode >= WS_OP_CLOSE)
        return ops->control(user, d->opcode, d->ctl, d->ctl_len);
    if (!d->fin)
        return 0;
    d->in_message = false;
    return ops->message_end(user);
}

enum ws_rx_result ws_rx_feed(struct ws_rx *d, const uint8_t *buf, size_t len,
                             const struct ws_rx_ops *ops, void *user, size_t *used,
                             struct ferry_reason *why)
{
    size_t i = 0;
    *used = 0;
    while (i < len) {
        if (!d->in_payload) {
            /* Header bytes: at most 14, taken one at a time (cheap next to the payloads). */
            d->hdr[d->hdr_len++] = buf[i++];
            if (d->hdr_len == 2) {
                uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
                if (b0 & 0x70)
                    return bad(why, "reserved bits set (no extension was negotiated)");
                if (b1 & 0x80)
                    return bad(why, "masked frame from the server");
                unsigned len7 = b1 & 0x7f;
                d->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
            }
            if (d->hdr_len < d->hdr_need)
                continue;
            if (d->hdr_need == 10 && (d->hdr[2] & 0x80))
                return bad(why, "64-bit length with its top bit set");
            enum ws_rx_result r = start_frame(d, why);
            if (r != WS_RX_OK)
                return r;
            if (d->left == 0 && end_frame(d, ops, user)) {
                *used = i;
                return WS_RX_STOPPED;
            }
            continue;
        }
        size_t n = len - i;
        if ((uint64_t)n > d->left)
            n = (size_t)d->left;
        d->left -= n;
        int stop = 0;
        if (d->opcode >= WS_OP_CLOSE) {
            memcpy(d->ctl + d->ctl_len, buf + i, n); /* left <= 125 - ctl_len by start_frame */
            d->ctl_len += n;
        } else {
            stop = ops->data(user, buf + i, n, d->left);
        }
        i += n;
        if (d->left == 0)
            stop |= end_frame(d, ops, user);
        if (stop) {
            *used = i;
            return WS_RX_STOPPED;
        }
    }
    *used = i;
    return WS_RX_OK;
}

size_t ws_frame_header(uint8_t *out, unsigned opcode, uint64_t len, const uint8_t mask[4])
{
    size_t n = 2;
    out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        out[1] = 0x80 | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        n = 4;
    } else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        n = 10;
    }
    memcpy(out + n, mask, 4);
    return n + 4;
}

void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
    size_t i = 0;
    /* Bring the mask in phase with p, then XOR eight bytes at a time. */
    uint8_t m8[8];
    for (int k = 0; k < 8; k++)
        m8[k] = mask[(offset + (uint64_t)k) & 3];
    uint64_t w;
    memcpy(&w, m8, 8);
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        v ^= w;
        memcpy(p + i, &v, 8);
    }
    for (; i < n; i++)
        p[i] ^= m8[i & 7];
}
