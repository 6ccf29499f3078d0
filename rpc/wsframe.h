/* ferry rpc — RFC 6455 framing for the client side of a WebSocket (not a public header; used by
 * rpc/wsplain.c, tests/unit/test_wsframe.c and tests/fuzz/fuzz_ws_frame.c).
 *
 * The decoder reads what a server sends (hostile input) in whatever pieces the socket returns and
 * hands payload on in bulk: data-message payload as the longest runs the input holds, control
 * frames (close, ping, pong; at most 125 bytes, never fragmented) whole. It allocates nothing and
 * never trusts a length: a frame's payload is consumed as it arrives, so a 2^63-byte length costs
 * nothing until its bytes come (the caller bounds the message size as the data callback sees it).
 * Protocol violations are refused with a reason and the close code to send (1002):
 *   - RSV1..3 set (no extension is ever negotiated), an unknown opcode;
 *   - a masked frame (a server must not mask);
 *   - a control frame that is fragmented or longer than 125 bytes, a close payload of 1 byte;
 *   - a continuation frame outside a message, a new data frame inside an unfinished message;
 *   - a 64-bit length with its most significant bit set.
 * Text is not checked for UTF-8 here (the JSON layer reads the bytes; libwebsockets did not check
 * either, as ferry never set its UTF-8 option).
 */
#ifndef FERRY_RPC_WSFRAME_H
#define FERRY_RPC_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

#define WS_CONTROL_MAX     125
#define WS_CLOSE_PROTOCOL  1002
#define WS_CLOSE_TOO_LARGE 1009
/* The longest frame header: 2 bytes, an 8-byte length, a 4-byte mask. */
#define WS_HEADER_MAX 14

/* What the decoder calls. Each returns 0 to go on, nonzero to stop feeding (ws_rx_feed then
 * returns WS_RX_STOPPED; the decoder's state stays consistent, the bytes after are not read). */
struct ws_rx_ops {
    /* n bytes (n > 0) of the data message in progress; frame_left = bytes of the current frame
     * still to come (a hint for reserving space: it is the peer's claim, not a promise). */
    int (*data)(void *user, const uint8_t *p, size_t n, uint64_t frame_left);
    /* The data message in progress is complete (its final frame has ended). */
    int (*message_end)(void *user);
    /* A whole control frame: opcode WS_OP_CLOSE, WS_OP_PING or WS_OP_PONG, n <= 125. */
    int (*control)(void *user, unsigned opcode, const uint8_t *p, size_t n);
};

/* The decoder's state: zero it (or call ws_rx_init) for a new connection. */
struct ws_rx {
    uint8_t hdr[WS_HEADER_MAX];
    unsigned hdr_len;  /* header bytes read of the frame being started */
    unsigned hdr_need; /* header bytes this frame has (2 until the second byte is read) */
    bool in_payload;   /* the header is complete; left bytes of payload remain */
    unsigned opcode;
    bool fin;
    uint64_t left;
    bool in_message; /* a data message has started and its final frame has not ended */
    uint8_t ctl[WS_CONTROL_MAX];
    size_t ctl_len;
};

enum ws_rx_result { WS_RX_OK = 0, WS_RX_STOPPED = 1, WS_RX_PROTOCOL = 2 };

void ws_rx_init(struct ws_rx *d);

/* Decode buf[len], a piece of the byte stream from the server.
 * Out: *used = bytes consumed (len on WS_RX_OK; up to and including the frame or payload run a
 *      callback stopped at on WS_RX_STOPPED; meaningless on WS_RX_PROTOCOL).
 * Returns: WS_RX_OK, WS_RX_STOPPED, or WS_RX_PROTOCOL (why says what; the connection must be
 *          failed with close code 1002; the decoder must not be fed again). */
enum ws_rx_result ws_rx_feed(struct ws_rx *d, const uint8_t *buf, size_t len,
                             const struct ws_rx_ops *ops, void *user, size_t *used,
                             struct ferry_reason *why);

/* Write the header of a client frame (FIN set, masked with mask) for a payload of len bytes.
 * Out: out[0 .. returned) (at most WS_HEADER_MAX bytes).
 * Returns: the header's length, 6, 8 or 14. */
size_t ws_frame_header(uint8_t *out, unsigned opcode, uint64_t len, const uint8_t mask[4]);

/* XOR p[n] with mask, the first byte of p being byte number offset of the payload. */
void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset);

#endif
