/* ferry rpc — what the two WebSocket transports share (not a public header):
 *
 *   ws.c       libwebsockets (ws:// and wss://)
 *   wsplain.c  ferry's own RFC 6455 client on a plain TCP socket (ws:// only; the default for
 *              ws:// URLs, FERRY_WS=lws selects libwebsockets instead)
 *
 * Both reassemble messages under max_message_bytes the same way, and a lost or established
 * connection has the same effect on the requests and subscriptions of the core. All functions
 * here but rpc_ws_submit expect c->mu held.
 */
#ifndef FERRY_RPC_WSCONN_H
#define FERRY_RPC_WSCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/client.h"

/* A message being received. Zero-initialised = empty. */
struct rpc_rx {
    unsigned char *buf;
    size_t len, cap;
    bool discard; /* over the limit (or out of memory): only head and tail are kept */
    char head[RPC_OVERSIZE_HEAD];
    size_t head_len;
    char tail[RPC_OVERSIZE_TAIL];
    size_t tail_len;
    struct rpc_rx_hex hex; /* a hex answer decoded in place as it comes (fast.c) */
};

/* Append a received piece of the current message. hint = bytes the peer says follow in the
 * same frame (used to reserve space at once, never beyond max_message_bytes + 1). A message
 * over max_message_bytes is never buffered: from the first byte over it only its first
 * RPC_OVERSIZE_HEAD and last RPC_OVERSIZE_TAIL bytes are kept. Counts bytes_in. */
void rpc_rx_append(struct ferry_rpc *c, struct rpc_rx *rx, const char *in, size_t len,
                   uint64_t hint);
/* The message is complete: dispatch it (or handle it as too large) and reset rx. */
void rpc_rx_finish(struct ferry_rpc *c, struct rpc_rx *rx);
/* Forget the current message; the buffer is kept for the next one if it is at most 1 MiB. */
void rpc_rx_reset(struct rpc_rx *rx);
/* Free the buffer too. */
void rpc_rx_free(struct rpc_rx *rx);

/* Queue r for the service thread and wake it with wake(c) (which may use the transport's
 * state: the client is held in use around the call). A client whose every URL failed in a row
 * fails r with FERRY_E_NET at once instead of at its deadline. Returns FERRY_OK, or
 * FERRY_E_STATE once closing. Takes c->mu itself (called without it). */
ferry_err rpc_ws_submit(struct ferry_rpc *c, struct ferry_rpc_pending *r,
                        void (*wake)(struct ferry_rpc *c));

/* The next reconnect delay (µs): exponential from backoff_initial_ms to backoff_max_ms with
 * "equal jitter"; advances *attempt. rng is the transport's xorshift32 state (never 0). */
int64_t rpc_ws_backoff_us(struct ferry_rpc *c, unsigned *attempt, unsigned *rng);

/* The connection (open, or being opened) is gone: c->conn becomes CONN_WAIT, requests in
 * flight fail with FERRY_E_RETRY, subscriptions wait to be re-established, queued requests fail
 * with FERRY_E_NET once every URL failed in a row, and the next URL is selected. was_open says
 * whether it had been established. Returns: true when a connection that lived at least
 * stable_us (established at established_us) was lost, i.e. the backoff may start over. */
bool rpc_ws_lost(struct ferry_rpc *c, ferry_err why, bool was_open, int64_t established_us);

/* The connection is established: c->conn becomes CONN_OPEN, and subscriptions waiting for it
 * have their re-subscription queued first. */
void rpc_ws_established(struct ferry_rpc *c);

/* A ws:// or wss:// URL split: ws[s]://host[:port][/path], IPv6 literals in brackets. */
struct rpc_ws_url {
    char buf[512]; /* holds "host\0" then "/path\0" */
    const char *host;
    int port;
    const char *path;
    bool tls;
};

/* Returns: 0 when url is a well-formed ws:// or wss:// URL (then *u is filled), else -1. */
int rpc_ws_parse_url(const char *url, struct rpc_ws_url *u);

extern const struct rpc_transport rpc_transport_wsplain; /* ws:// on ferry's framing */

/* The transport for a client whose URLs are all ws:// or wss://: wsplain when they are all
 * ws:// and the environment variable FERRY_WS is not "lws", else libwebsockets (ws.c). */
const struct rpc_transport *rpc_ws_transport(const struct ferry_rpc_config *cfg);

#endif
