/* ferry — JSON-RPC 2.0 client (the transport; no chain types: see rpc.h for the Substrate methods).
 *
 * Everything ferry learns about a chain comes through this module. One client talks to one
 * logical node through one of several endpoint URLs:
 *
 *   ws:// and wss://   a WebSocket connection (libwebsockets) carrying many requests at once,
 *                      matched by id, plus subscriptions. TLS is verified against the system CA
 *                      store unless the config says `insecure` (self-signed test setups only).
 *   http:// https://   one HTTP POST per call (libcurl); same call/batch API, no subscriptions.
 *
 * Threading model (WebSocket transport). ferry_rpc_open starts one service thread that owns the
 * libwebsockets context and the connection; nothing else touches the socket. Callers build a
 * request frame in their own thread, queue it under the client's mutex, wake the service thread
 * (lws_cancel_service) and wait on a condition variable with a deadline, so every blocking call
 * below returns by its timeout whatever the network does. All functions are thread-safe.
 * ferry_rpc_close may be called while other threads wait in calls on the same client: they return
 * FERRY_E_STATE and close frees nothing until they have left. No call may start once close has
 * begun, except ferry_rpc_wait on a request sent before it (it returns FERRY_E_STATE).
 *
 * Notifications are delivered either
 *   - to the event queue, polled with ferry_rpc_next_event (the default; suits a
 *     single-threaded state machine such as `ferry follow`), or
 *   - to a callback given at subscribe time, which runs on the service thread with no lock
 *     held: it must not block and must not call a waiting function of this client
 *     (ferry_rpc_call, _wait, _batch, _subscribe, _unsubscribe, _close); ferry_rpc_send is fine.
 * A node may send a subscription's first notifications before the answer that carries its id
 * (chopsticks does; jsonrpsee may interleave). While a subscribe is in flight, notifications for
 * an id no subscription has yet are held (per connection, at most 64 of at most 1 MiB in all;
 * beyond that the oldest are dropped and counted in early_dropped), and the answer that assigns
 * the id delivers them first, in order (after a GAP_OVERFLOW/GAP_TOO_LARGE event if some were
 * dropped). Held notifications nobody claims are dropped, counted as unknown_ids, once no
 * subscribe is in flight or the connection is lost; with no subscribe in flight, notifications
 * for unknown ids are dropped and counted at once.
 *
 * Resilience. A message larger than max_message_bytes (default 64 MiB) fails only the request
 * it answers (FERRY_E_TOO_LARGE) or becomes a gap event for the subscription it belongs to.
 * The connection is pinged every ping_interval_ms and declared dead when nothing (not even a
 * pong) arrived for dead_after_ms. On any connection loss requests already sent fail with
 * FERRY_E_RETRY; requests not yet sent stay queued; the client reconnects with exponential
 * backoff and full jitter, capped, rotating through the URLs; subscriptions are re-established
 * and each gets a FERRY_RPC_EV_GAP event so the subscriber can refill what it missed (e.g. by
 * block number). When every URL has failed in a row, queued requests fail with FERRY_E_NET
 * (the client keeps trying in the background).
 */
#ifndef FERRY_JSONRPC_H
#define FERRY_JSONRPC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

struct ferry_rpc; /* opaque client */

/* Client configuration. Zero in a numeric field means "use the default" given in brackets. */
struct ferry_rpc_config {
    const char *const *urls;     /* endpoint URLs, all ws(s):// or all http(s):// */
    size_t n_urls;               /* at least 1 */
    bool insecure;               /* accept self-signed/expired/mismatched TLS certificates */
    size_t max_message_bytes;    /* largest message accepted [64 MiB] */
    uint32_t request_timeout_ms; /* used by the typed helpers [30000] */
    uint32_t connect_timeout_ms; /* TCP+TLS+upgrade deadline per attempt [10000] */
    uint32_t ping_interval_ms;   /* ping after this much silence [5000] */
    uint32_t dead_after_ms;      /* declare the connection dead after this much silence [15000] */
    uint32_t backoff_initial_ms; /* first reconnect delay [250] */
    uint32_t backoff_max_ms;     /* reconnect delay cap [30000] */
    size_t max_queued_events;    /* event queue bound; overflow becomes a gap event [4096] */
};

/* A JSON-RPC error object returned by the node. */
struct ferry_rpc_error {
    int64_t code;
    char *message; /* malloc'd, never NULL once filled */
    char *data;    /* malloc'd JSON text of `data`, or NULL when absent */
};

/* Release what an error owns; safe on a zeroed error; leaves it zeroed. */
void ferry_rpc_error_clear(struct ferry_rpc_error *e);

/* Returns: a malloc'd JSON text {"code":..,"message":..[,"data":..]} for e, or NULL (OOM). */
char *ferry_rpc_error_json(const struct ferry_rpc_error *e);

/* Turn a call's outcome into a failure reason (error.h): "<what>: <message> (<data>)" when err is
 * FERRY_E_RPC and e holds the node's error, else "<what>: <ferry_strerror(err)>". e may be NULL.
 * Returns: err. */
ferry_err ferry_reason_rpc(struct ferry_reason *why, ferry_err err, const char *what,
                           const struct ferry_rpc_error *e);

/* ---- lifetime ------------------------------------------------------------------------------ */

/* Create a client. For WebSocket URLs the service thread starts and begins connecting at once;
 * this call does not wait for the connection (see ferry_rpc_wait_connected).
 * In:  cfg (copied; the strings too).
 * Out: *out, the client (NULL on failure).
 * Returns: FERRY_OK; FERRY_E_ARG (no URL, an unknown scheme, ws and http mixed, a malformed
 *          URL); FERRY_E_NOMEM; FERRY_E_NET (libwebsockets/libcurl could not initialise). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_open(const struct ferry_rpc_config *cfg,
                                           struct ferry_rpc **out);

/* Close the connection, stop the service thread, fail whatever is still waiting with
 * FERRY_E_STATE, wait for the threads blocked in this client's calls to return, and free
 * everything. NULL is ignored. */
void ferry_rpc_close(struct ferry_rpc *c);

/* Wait until the client is connected (WebSocket) or return at once (HTTP).
 * Returns: FERRY_OK; FERRY_E_NET when every URL failed in a row since the last connection;
 *          FERRY_E_TIMEOUT. */
FERRY_WARN_UNUSED ferry_err ferry_rpc_wait_connected(struct ferry_rpc *c, uint32_t timeout_ms);

/* Copy a description of the last connection failure ("ws://h:1: connection refused") into
 * buf[cap] (empty when none). Returns: buf. */
char *ferry_rpc_last_error(struct ferry_rpc *c, char *buf, size_t cap);

/* Counters, for diagnostics and tests. */
struct ferry_rpc_stats {
    uint64_t connects;    /* connections established */
    uint64_t disconnects; /* established connections lost */
    uint64_t failed_connects;
    uint64_t messages_in; /* complete messages received */
    uint64_t bytes_in;    /* payload bytes received */
    uint64_t malformed;   /* messages that were not JSON */
    uint64_t unknown_ids; /* responses matching no request in flight */
    uint64_t too_large;   /* messages over max_message_bytes */
    uint64_t pings_sent;
    uint64_t dead_declared;  /* connections declared dead for silence */
    uint64_t resubscribed;   /* subscriptions re-established after a reconnect */
    uint64_t early_buffered; /* notifications that arrived before the answer naming their
                              * subscription id, while a subscribe was in flight (held) */
    uint64_t early_dropped;  /* of those, dropped because the hold buffer was full or the
                              * notification too large (the subscription gets a gap event) */
};

void ferry_rpc_get_stats(struct ferry_rpc *c, struct ferry_rpc_stats *out);

/* ---- requests ------------------------------------------------------------------------------ */

/* Call `method` with `params_json` (the JSON text of the params array or object; NULL = []) and
 * wait at most timeout_ms for the answer.
 * Out: *result (caller cJSON_Delete's it) on FERRY_OK, else NULL; *rpc_error (may be NULL)
 *      filled on FERRY_E_RPC, else zeroed.
 * Returns: FERRY_OK; FERRY_E_RPC (the node answered with an error); FERRY_E_TIMEOUT;
 *          FERRY_E_RETRY (the connection died with the request in flight); FERRY_E_NET (no
 *          connection to any URL, or an HTTP failure); FERRY_E_TOO_LARGE (the answer exceeded
 *          max_message_bytes); FERRY_E_ARG (bad method name or params that are not a JSON
 *          array/object); FERRY_E_NOMEM; FERRY_E_STATE (the client is closing). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_call(struct ferry_rpc *c, const char *method,
                                           const char *params_json, uint32_t timeout_ms,
                                           cJSON **result, struct ferry_rpc_error *rpc_error);

/* As ferry_rpc_call for a method whose result is hex text ("0x…"), returning the decoded bytes.
 * A large answer of the plain shape {"jsonrpc":"2.0","id":N,"result":"0x…"} (members in any
 * order) is decoded in place in the receive buffer as it arrives and handed over without a JSON
 * tree or a copy (WebSocket and HTTP), so it costs about half its size in memory; any other
 * answer goes through cJSON and gives the same outcome.
 * Out: *out (malloc'd, caller frees; non-NULL for zero bytes), *len on FERRY_OK, else NULL/0;
 *      *rpc_error as ferry_rpc_call.
 * Returns: as ferry_rpc_call; FERRY_E_NOT_FOUND (the result is null); FERRY_E_JSON (not a
 *          string); FERRY_E_HEX (not hex, or an odd number of digits). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_call_hex(struct ferry_rpc *c, const char *method,
                                               const char *params_json, uint32_t timeout_ms,
                                               uint8_t **out, size_t *len,
                                               struct ferry_rpc_error *rpc_error);

/* Answers of at most this many bytes from ferry_rpc_prove_finality (rpc.h) are handed over in
 * their receive buffer as received, for ferry_rpc_bytes_release to reuse. */
#define FERRY_RPC_REUSE_MAX ((size_t)2 << 20)

/* Give back bytes returned by ferry_rpc_call_hex or ferry_rpc_prove_finality (instead of free):
 * a large answer's buffer (64 KiB to 2 * FERRY_RPC_REUSE_MAX + 64 KiB) is kept, at most two,
 * to receive later large messages of c's WebSocket connection into pages already mapped, which
 * saves a page fault per 4 KiB of each (the catch-up's proveFinality batches); anything else is
 * freed, and so is a kept buffer unused for 10 s or when c closes. bytes may be NULL. Any
 * thread; c must be open. */
void ferry_rpc_bytes_release(struct ferry_rpc *c, uint8_t *bytes);

/* A request sent but not yet collected (pipelining). */
struct ferry_rpc_pending;

/* Send a request without waiting (HTTP performs it here). The deadline starts now.
 * Out: *out, to be passed to ferry_rpc_wait exactly once.
 * Returns: FERRY_OK; FERRY_E_ARG; FERRY_E_NOMEM; FERRY_E_STATE. */
FERRY_WARN_UNUSED ferry_err ferry_rpc_send(struct ferry_rpc *c, const char *method,
                                           const char *params_json, uint32_t timeout_ms,
                                           struct ferry_rpc_pending **out);

/* Wait for a sent request's answer (until its deadline) and free p.
 * Out and Returns: as ferry_rpc_call. */
FERRY_WARN_UNUSED ferry_err ferry_rpc_wait(struct ferry_rpc_pending *p, cJSON **result,
                                           struct ferry_rpc_error *rpc_error);

/* One entry of a batch: method/params in, outcome out. */
struct ferry_rpc_batch_item {
    const char *method;           /* in */
    const char *params_json;      /* in; NULL = [] */
    ferry_err err;                /* out: as ferry_rpc_call */
    cJSON *result;                /* out: on FERRY_OK */
    struct ferry_rpc_error error; /* out: on FERRY_E_RPC */
};

/* Send items[n] as one JSON-RPC batch (an array in one frame) and wait for all answers.
 * Returns: FERRY_OK when the batch was sent and every item has an outcome in items[i].err;
 *          otherwise the error that prevented that (every item then carries it too).
 *          Free the outcomes with ferry_rpc_batch_clear. */
FERRY_WARN_UNUSED ferry_err ferry_rpc_batch(struct ferry_rpc *c, struct ferry_rpc_batch_item *items,
                                            size_t n, uint32_t timeout_ms);

/* Release the outcomes of a batch (results and errors); the inputs are left alone. */
void ferry_rpc_batch_clear(struct ferry_rpc_batch_item *items, size_t n);

/* ---- params -------------------------------------------------------------------------------------
 * The one way to build a params array: init, append values in order, take the text, free.
 *
 *     struct ferry_rpc_params p;
 *     ferry_rpc_params_init(&p);
 *     ferry_rpc_params_hex(&p, key, key_len);       // "0x…"
 *     ferry_rpc_params_u64(&p, count);
 *     const char *params = ferry_rpc_params_text(&p); // "[\"0x…\",5]", NULL when out of memory
 *     ...call...
 *     ferry_rpc_params_free(&p);
 *
 * Small arrays (a hash, a number) need no allocation. The text is valid until the next append or
 * ferry_rpc_params_free; taking it closes any array left open. */
struct ferry_rpc_params {
    char *buf;
    size_t len, cap;
    unsigned depth;  /* nested arrays open */
    bool need_comma; /* a value was appended at this level */
    bool oom;        /* an allocation failed: _text returns NULL */
    char small[160];
};

void ferry_rpc_params_init(struct ferry_rpc_params *p);
void ferry_rpc_params_free(struct ferry_rpc_params *p);
void ferry_rpc_params_u64(struct ferry_rpc_params *p, uint64_t v);
/* "0x" + lower-case hex of bytes[len]. */
void ferry_rpc_params_hex(struct ferry_rpc_params *p, const uint8_t *bytes, size_t len);
/* A JSON string (escaped). */
void ferry_rpc_params_string(struct ferry_rpc_params *p, const char *s);
void ferry_rpc_params_null(struct ferry_rpc_params *p);
/* A value given as JSON text, appended as is (the caller vouches that it is one JSON value). */
void ferry_rpc_params_raw(struct ferry_rpc_params *p, const char *json);
void ferry_rpc_params_array_begin(struct ferry_rpc_params *p);
void ferry_rpc_params_array_end(struct ferry_rpc_params *p);
/* Returns: the params text "[…]", or NULL when an allocation failed. */
const char *ferry_rpc_params_text(struct ferry_rpc_params *p);

/* ---- subscriptions and events ---------------------------------------------------------------- */

enum ferry_rpc_event_kind {
    FERRY_RPC_EV_NOTIFICATION = 1, /* `result` holds the notification's result */
    FERRY_RPC_EV_GAP,              /* notifications may have been missed (see gap) */
    FERRY_RPC_EV_SUB_ENDED,        /* the subscription is over: err (and error) say why */
    FERRY_RPC_EV_CONNECTED,        /* a connection was established (url says where) */
    FERRY_RPC_EV_DISCONNECTED,     /* the connection was lost (url, err say which and why) */
};

enum ferry_rpc_gap_reason {
    FERRY_RPC_GAP_RECONNECT = 1, /* re-subscribed after a reconnect */
    FERRY_RPC_GAP_OVERFLOW,      /* the event queue (or the buffer of notifications that came
                                  * before the subscribe answer) was full and notifications
                                  * were dropped */
    FERRY_RPC_GAP_TOO_LARGE,     /* a notification exceeded max_message_bytes */
};

struct ferry_rpc_event {
    enum ferry_rpc_event_kind kind;
    uint64_t sub;                  /* subscription handle; 0 for connection events */
    cJSON *result;                 /* NOTIFICATION: owned by the event */
    enum ferry_rpc_gap_reason gap; /* GAP */
    ferry_err err;                 /* SUB_ENDED, DISCONNECTED */
    struct ferry_rpc_error error;  /* SUB_ENDED by an RPC error */
    char url[256];                 /* CONNECTED, DISCONNECTED */
};

/* Release what an event owns; leaves it zeroed. */
void ferry_rpc_event_clear(struct ferry_rpc_event *ev);

/* Called on the service thread for each event of one subscription (see the threading model);
 * ev and everything in it are valid only during the call (detach ev->result to keep it). */
typedef void (*ferry_rpc_event_fn)(void *user, struct ferry_rpc_event *ev);

enum {
    /* Do not re-subscribe after a reconnect; end with FERRY_RPC_EV_SUB_ENDED/FERRY_E_RETRY
     * instead (author_submitAndWatchExtrinsic: re-subscribing would resubmit). */
    FERRY_RPC_SUB_NO_RESUBSCRIBE = 1,
};

/* Subscribe: call `method` with params, which must answer with a subscription id, and route the
 * notifications carrying that id to the event queue (fn == NULL) or to fn(user, ev).
 * `unsub_method` is used by ferry_rpc_unsubscribe.
 * Out: *sub, a local handle (stable across reconnects; never 0). *rpc_error as ferry_rpc_call.
 * Returns: as ferry_rpc_call; FERRY_E_UNSUPPORTED on HTTP; FERRY_E_JSON when the answer is not
 *          a subscription id. */
FERRY_WARN_UNUSED ferry_err ferry_rpc_subscribe(struct ferry_rpc *c, const char *method,
                                                const char *params_json, const char *unsub_method,
                                                unsigned flags, ferry_rpc_event_fn fn, void *user,
                                                uint32_t timeout_ms, uint64_t *sub,
                                                struct ferry_rpc_error *rpc_error);

/* Stop routing the subscription's notifications (at once) and ask the node to unsubscribe
 * (waiting at most timeout_ms; when disconnected nothing is sent: the node has forgotten it).
 * Events of this subscription already queued stay in the queue.
 * Returns: FERRY_OK; FERRY_E_NOT_FOUND (unknown handle); the unsubscribe call's error (the
 *          local subscription is gone all the same). */
ferry_err ferry_rpc_unsubscribe(struct ferry_rpc *c, uint64_t sub, uint32_t timeout_ms);

/* Wait at most timeout_ms for the next queued event.
 * Out: *ev (zeroed first; release with ferry_rpc_event_clear).
 * Returns: FERRY_OK; FERRY_E_TIMEOUT; FERRY_E_UNSUPPORTED on HTTP; FERRY_E_STATE (closing). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_next_event(struct ferry_rpc *c, uint32_t timeout_ms,
                                                 struct ferry_rpc_event *ev);

/* Returns: the configured request timeout (cfg.request_timeout_ms or its default), which the
 * typed helpers of rpc.h use for each call. */
uint32_t ferry_rpc_request_timeout(const struct ferry_rpc *c);

#endif
