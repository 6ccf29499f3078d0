/* ferry rpc — the JSON-RPC client's internals, shared by its files (not a public header):
 *
 *   client.c    the public API of jsonrpc.h: open/close, call/send/wait/batch, subscribe,
 *               the event queue, waiting with deadlines
 *   request.c   request bookkeeping: the send queue, the in-flight list, frames, completion
 *   dispatch.c  routing what arrives: responses to requests by id, notifications to
 *               subscriptions, events to the queue or to callbacks
 *   early.c     notifications that arrive before the answer naming their subscription id
 *   oversize.c  what is left of a message over max_message_bytes: find whom it was for
 *   ws.c        the WebSocket transport on libwebsockets (wss://, or ws:// with FERRY_WS=lws)
 *   wsplain.c   the WebSocket transport for ws:// on ferry's own framing (wsframe.c)
 *   wsconn.c    what both WebSocket transports share: message reassembly, connection effects
 *   http.c      the HTTP transport (libcurl): one POST per call
 *
 * A transport is a table of functions (struct rpc_transport) chosen by the URL scheme at open,
 * in the manner of curl's connection filters: the core builds frames, keeps the lists and routes
 * answers; the transport moves bytes and reports connection state. One mutex (c->mu) guards
 * everything in struct ferry_rpc; functions below say whether they expect it held.
 */
#ifndef FERRY_RPC_CLIENT_H
#define FERRY_RPC_CLIENT_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/clock.h"
#include "ferry/jsonrpc.h"

#define DEFAULT_MAX_MESSAGE        ((size_t)64 << 20)
#define DEFAULT_REQUEST_TIMEOUT_MS 30000u
#define DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define DEFAULT_PING_INTERVAL_MS   5000u
#define DEFAULT_DEAD_AFTER_MS      15000u
#define DEFAULT_BACKOFF_INITIAL_MS 250u
#define DEFAULT_BACKOFF_MAX_MS     30000u
#define DEFAULT_MAX_EVENTS         4096u
#define MAX_METHOD_LEN             128
/* Notifications held while a subscribe is in flight because their subscription id is not known
 * yet (a node may send the first one before the answer carrying the id): at most this many, of
 * at most this many bytes in all, per connection; the oldest go first. */
#define EARLY_MAX_NOTES 64
#define EARLY_MAX_BYTES ((size_t)1 << 20)
/* Subscription ids whose early notifications were dropped, remembered to report a gap. */
#define EARLY_MAX_GAPS 64

struct rpc_transport;

/* Bytes reserved before a frame's JSON text for the transport (libwebsockets needs LWS_PRE). */
#define RPC_FRAME_HEADROOM 32

enum req_kind { REQ_CALL, REQ_SUB, REQ_RESUB };
enum req_where { WHERE_NONE, WHERE_QUEUED, WHERE_INFLIGHT };
enum conn_state { CONN_WAIT, CONN_CONNECTING, CONN_OPEN };
enum sub_state { SUB_PENDING, SUB_ACTIVE, SUB_NEED_RESUB, SUB_RESUBSCRIBING, SUB_DEAD };

struct rpc_slot {
    bool done;
    ferry_err err;
    cJSON *result;
    struct ferry_rpc_error error;
    bool want_bytes; /* ferry_rpc_call_hex: a hex answer may come as bytes (fast.c) */
    bool keep_cap;   /* ... handed over unshrunk when at most FERRY_RPC_REUSE_MAX bytes (its
                      * caller gives the buffer back with ferry_rpc_bytes_release) */
    uint8_t *bytes;  /* the decoded result when it did (malloc'd), else result is set */
    size_t bytes_len;
};

struct rpc_sub {
    struct rpc_sub *next;
    uint64_t handle;
    char *method;
    char *params;
    char *unsub_method;
    unsigned flags;
    ferry_rpc_event_fn fn;
    void *user;
    char *remote_id; /* the node's subscription id as compact JSON text; NULL when not active */
    enum sub_state state;
    bool overflowed; /* notifications were dropped; a GAP event is already queued */
};

struct ferry_rpc_pending {
    struct ferry_rpc_pending *prev, *next;
    enum req_where where;
    enum req_kind kind;
    struct ferry_rpc *c;
    uint64_t first_id; /* ids first_id .. first_id + n - 1 */
    size_t n;
    unsigned char *frame; /* RPC_FRAME_HEADROOM bytes, then frame_len bytes of JSON */
    size_t frame_len;
    struct rpc_slot *slots;
    size_t n_done;
    bool done;
    atomic_bool orphaned; /* failed by ferry_rpc_close: c may be gone, ferry_rpc_wait skips it */
    atomic_bool finished; /* done, and no other thread touches it again: ferry_rpc_wait need not
                           * take c's lock (c may be closed and freed by then) */
    int64_t deadline_us;
    struct rpc_sub *sub; /* REQ_SUB, REQ_RESUB */
};

/* A notification that arrived before the subscribe answer naming its subscription id. */
struct early_note {
    struct early_note *next;
    char *subid;   /* params.subscription as compact JSON text (compared with remote_id) */
    cJSON *params; /* the notification's params, detached from the message */
    size_t bytes;  /* its size, charged against EARLY_MAX_BYTES */
};

/* An early notification for subid was dropped: its subscription gets a gap event first. */
struct early_gap {
    char *subid;
    enum ferry_rpc_gap_reason reason;
};

/* Receive buffers given back with ferry_rpc_bytes_release, kept for the next large messages:
 * their pages are mapped already, so a run of large answers (a catch-up's proveFinality batches)
 * does not fault in fresh zeroed memory for each, one fault per 4 KiB (docs/performance.md).
 * At most RPC_SPARE_MAX buffers of RPC_SPARE_MIN..RPC_SPARE_MAX_CAP bytes each; one unused for
 * RPC_SPARE_IDLE_US is freed (checked at each large message and on the transport's tick), all
 * are freed at close. */
#define RPC_SPARE_MAX     2
#define RPC_SPARE_MIN     ((size_t)64 << 10)
#define RPC_SPARE_MAX_CAP (2 * FERRY_RPC_REUSE_MAX + ((size_t)64 << 10))
#define RPC_SPARE_IDLE_US (10 * 1000000LL)

struct rpc_spare {
    unsigned char *buf;
    size_t cap;
    int64_t since_us; /* given back at */
};

struct ev_node {
    struct ev_node *next;
    struct ferry_rpc_event ev;
    ferry_rpc_event_fn fn; /* set for callback deliveries */
    void *user;
};

struct ferry_rpc {
    struct ferry_rpc_config cfg;
    char **urls;
    size_t n_urls;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool closing;
    unsigned users; /* caller threads inside the client (waiting, or about to touch c again):
                     * ferry_rpc_close waits for them to leave before it frees anything */
    uint64_t next_id;
    uint64_t next_sub;
    struct ferry_rpc_pending *q_head, *q_tail; /* send queue (FIFO) */
    struct ferry_rpc_pending *in_head;         /* in flight */
    struct rpc_sub *subs;
    struct ev_node *ev_head, *ev_tail; /* event queue */
    size_t n_events;
    struct ev_node *cb_head, *cb_tail; /* callback deliveries waiting for the lock to drop */
    uint64_t delivering_sub;           /* the subscription whose callback is running */
    struct early_note *early_head, *early_tail; /* early notifications, oldest first */
    size_t n_early, early_bytes;
    struct early_gap early_gaps[EARLY_MAX_GAPS];
    size_t n_early_gaps;
    struct ferry_rpc_stats stats;
    char last_error[256];
    struct rpc_spare spares[RPC_SPARE_MAX];
    size_t n_spares;

    /* Connection state, written by the transport under mu and read by the core. HTTP is always
     * CONN_OPEN (each call is its own connection); fail_streak counts attempts failed in a row
     * since the last established connection. */
    enum conn_state conn;
    unsigned fail_streak;
    size_t url_index; /* the URL in use or being tried */

    const struct rpc_transport *tr;
    void *tp; /* the transport's own state */
};

/* ---- transports -------------------------------------------------------------------------------
 * url_ok whether a URL of the transport's scheme is well-formed (checked at open).
 * open   start the transport for c (cfg and urls are set); may start threads. Returns FERRY_OK or
 *        the error ferry_rpc_open returns.
 * submit take a built request whose deadline is set: queue it for sending, or perform it now.
 *        Called without mu. Returns FERRY_OK when r will be completed (or has been, or will time
 *        out in rpc_wait_done); another error when r was not taken (the caller frees it).
 * close  stop and free the transport's state; called once every caller has left c, with no
 *        lock held. */
struct rpc_transport {
    const char *name;
    bool streams; /* carries subscriptions and server-pushed events */
    bool (*url_ok)(const char *url);
    ferry_err (*open)(struct ferry_rpc *c);
    ferry_err (*submit)(struct ferry_rpc *c, struct ferry_rpc_pending *r, uint32_t timeout_ms);
    void (*close)(struct ferry_rpc *c);
};

extern const struct rpc_transport rpc_transport_ws;   /* ws://, wss:// (ws.c) */
extern const struct rpc_transport rpc_transport_http; /* http://, https:// (http.c) */

/* ---- client.c ----------------------------------------------------------------------------------
 */

/* A caller thread enters/leaves a section that may wait or touch c after dropping mu. mu held.
 * ferry_rpc_close frees c only once users is back to 0. */
void rpc_user_enter(struct ferry_rpc *c);
void rpc_user_leave(struct ferry_rpc *c);
const char *rpc_url(const struct ferry_rpc *c, size_t i); /* urls[i % n_urls] */
/* Record the last connection failure: _set_ with mu held, _note_ from any thread without it. */
void rpc_set_last_error(struct ferry_rpc *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rpc_note_error(struct ferry_rpc *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* ferry_rpc_call_hex; keep_cap: an answer of at most FERRY_RPC_REUSE_MAX bytes is handed over
 * in its receive buffer as it is (not shrunk), for ferry_rpc_bytes_release to reuse. */
ferry_err rpc_call_hex(struct ferry_rpc *c, const char *method, const char *params_json,
                       uint32_t timeout_ms, bool keep_cap, uint8_t **out, size_t *len,
                       struct ferry_rpc_error *rpc_error);
/* A spare receive buffer (mu held) for a message that needs want >= RPC_SPARE_MIN bytes: the
 * largest one kept, grown to want when smaller (its pages stay mapped). Frees the spares unused
 * for RPC_SPARE_IDLE_US first. Returns: the buffer (*cap its capacity) or NULL when none. */
unsigned char *rpc_spare_take(struct ferry_rpc *c, size_t want, size_t *cap);
/* Free the spares unused since before now - RPC_SPARE_IDLE_US (all when now is INT64_MAX). */
void rpc_spare_sweep(struct ferry_rpc *c, int64_t now);

/* ---- request.c (mu held unless said) ------------------------------------------------------------
 */

void rpc_list_unlink(struct ferry_rpc *c, struct ferry_rpc_pending *r);
void rpc_queue_push_back(struct ferry_rpc *c, struct ferry_rpc_pending *r);
void rpc_queue_push_front(struct ferry_rpc *c, struct ferry_rpc_pending *r);
void rpc_inflight_push(struct ferry_rpc *c, struct ferry_rpc_pending *r);
/* Allocate a request of n calls (no mu needed); its frame is built by rpc_req_build. */
struct ferry_rpc_pending *rpc_req_new(struct ferry_rpc *c, enum req_kind kind, size_t n);
void rpc_req_free(struct ferry_rpc_pending *r);
/* Build the frame (one call object, or a batch array of n) and assign the ids. _build takes mu
 * for the ids; _build_locked expects it held. */
ferry_err rpc_req_build(struct ferry_rpc *c, struct ferry_rpc_pending *r,
                        const char *const *methods, const char *const *params, bool batch);
ferry_err rpc_req_build_locked(struct ferry_rpc *c, struct ferry_rpc_pending *r,
                               const char *const *methods, const char *const *params, bool batch);
/* The frame's JSON text (frame_len bytes), after the transport's headroom. */
static inline char *rpc_req_text(const struct ferry_rpc_pending *r)
{
    return (char *)r->frame + RPC_FRAME_HEADROOM;
}
void rpc_req_fail(struct ferry_rpc_pending *r, ferry_err err);
void rpc_req_complete(struct ferry_rpc *c, struct ferry_rpc_pending *r);
struct ferry_rpc_pending *rpc_find_inflight(struct ferry_rpc *c, uint64_t id);
void rpc_sub_free(struct rpc_sub *s);
struct rpc_sub *rpc_sub_find(struct ferry_rpc *c, uint64_t handle);
void rpc_sub_remove(struct ferry_rpc *c, struct rpc_sub *s);

/* ---- dispatch.c (mu held) -----------------------------------------------------------------------
 */

/* Route an event to the subscription's callback (delivered by rpc_flush_callbacks) or to the
 * bounded event queue. Takes ownership of what ev holds. */
void rpc_emit(struct ferry_rpc *c, struct rpc_sub *s, struct ferry_rpc_event *ev);
void rpc_flush_callbacks(struct ferry_rpc *c);
void rpc_conn_event(struct ferry_rpc *c, enum ferry_rpc_event_kind kind, ferry_err err);
/* Fill *out from a JSON-RPC error object (hostile input). Returns: FERRY_E_RPC, FERRY_E_NOMEM. */
ferry_err rpc_parse_error(const cJSON *err, struct ferry_rpc_error *out);
struct rpc_sub *rpc_sub_by_remote(struct ferry_rpc *c, const cJSON *subid);
void rpc_deliver_notification(struct ferry_rpc *c, struct rpc_sub *s, cJSON *params);
/* An upper bound of the values (cJSON nodes) parsing text[len] would allocate: one more than the
 * commas, brackets and braces outside strings. O(len), strings skipped with memchr. */
size_t rpc_json_node_bound(const char *text, size_t len);
/* The most nodes a message of len bytes may make: one per 8 bytes, plus 262 144. A cJSON node is 64
 * bytes and string copies total at most len, so parsing any message allocates at most ~9x its
 * size (a 64 MiB array of single-digit numbers would otherwise be ~2 GiB of nodes). Denser
 * answers are refused as FERRY_E_TOO_LARGE without being parsed. (The 256 Ki floor, 16 MiB of
 * nodes, keeps small dense answers such as a 200 000-item array of numbers.) */
#define RPC_JSON_MAX_NODES(len) ((len) / 8 + 262144)
/* Parse one complete message and route it; owner is the request this message can only be
 * answering (HTTP), else NULL. A message over RPC_JSON_MAX_NODES is not parsed: it is handled as
 * an over-limit one (rpc_handle_too_large). */
void rpc_dispatch_text(struct ferry_rpc *c, const char *text, size_t len,
                       struct ferry_rpc_pending *owner);

/* ---- fast.c: hex answers decoded in place as they arrive ----------------------------------------
 * A transport that assembles a message in a malloc'd buffer calls rpc_rx_hex_feed after each
 * piece it appends (the buffer may shrink: *len is updated), counts the message's size against
 * its limit with rpc_rx_hex_logical, and hands the complete message to rpc_dispatch_rx. The
 * first RPC_OVERSIZE_HEAD and the last RPC_OVERSIZE_TAIL bytes of the buffer are always the
 * message's text, as over-limit handling needs. Reset the state for each message. */
struct rpc_rx_hex {
    unsigned state;
    unsigned keys;  /* members seen in the prefix */
    uint64_t id;    /* the id, once matched */
    size_t hex_at;  /* first hex digit of the result (after "0x") */
    size_t dec_at;  /* decoded bytes start here (digits before stay text) */
    size_t n_dec;   /* bytes decoded */
    size_t pend;    /* first digit not decoded (dec_at + n_dec after a feed) */
    size_t quote;   /* the closing quote, once seen */
    size_t head_ok; /* digits in [hex_at, dec_at) checked */
};
enum rpc_rx_kind {
    RPC_RX_PLAIN,   /* the buffer is the message's text: parse it */
    RPC_RX_RESTORE, /* not a hex answer after all: rpc_rx_hex_restore gives the text */
    RPC_RX_FAST,    /* a hex answer with id *id: rpc_rx_hex_bytes gives the result's bytes */
};
void rpc_rx_hex_reset(struct rpc_rx_hex *h);
/* buf[0..*len) is the message so far (its last piece just appended). */
void rpc_rx_hex_feed(struct rpc_rx_hex *h, unsigned char *buf, size_t *len);
/* The bytes received so far when the buffer holds len. */
size_t rpc_rx_hex_logical(const struct rpc_rx_hex *h, size_t len);
/* The message is complete in buf[0..len): what it is. Does not modify buf. */
enum rpc_rx_kind rpc_rx_hex_check(struct rpc_rx_hex *h, const unsigned char *buf, size_t len,
                                  uint64_t *id);
/* After RPC_RX_FAST: decode the rest in place; the result's bytes are buf[0..returned). */
size_t rpc_rx_hex_bytes(struct rpc_rx_hex *h, unsigned char *buf, size_t len);
/* The exact text received (malloc'd, NUL-terminated, *out_len bytes); NULL when out of memory. */
char *rpc_rx_hex_restore(const struct rpc_rx_hex *h, const unsigned char *buf, size_t len,
                         size_t *out_len);
/* Dispatch a complete message assembled in the malloc'd buf[0..len) (capacity > len) with h
 * fed as it came. Called with mu held. Returns: true when it kept buf (a hex answer handed to
 * its request: the caller must forget buf, not free it); false when buf is still the caller's
 * (its content is then unspecified). */
bool rpc_dispatch_rx(struct ferry_rpc *c, struct rpc_rx_hex *h, unsigned char *buf, size_t len,
                     struct ferry_rpc_pending *owner);

/* ---- early.c (mu held) --------------------------------------------------------------------------
 */

bool rpc_sub_request_inflight(const struct ferry_rpc *c);
void rpc_early_gap_note(struct ferry_rpc *c, const char *subid, size_t len,
                        enum ferry_rpc_gap_reason reason);
void rpc_early_hold(struct ferry_rpc *c, cJSON *o, cJSON *params, const cJSON *subid, size_t bytes);
void rpc_early_claim(struct ferry_rpc *c, struct rpc_sub *s);
void rpc_early_prune(struct ferry_rpc *c);
void rpc_early_clear(struct ferry_rpc *c, bool count_unknown);

/* ---- oversize.c (mu held) -----------------------------------------------------------------------
 */

/* Bytes of the start and the end of an over-limit message a transport keeps to find its id. */
#define RPC_OVERSIZE_HEAD 2048
#define RPC_OVERSIZE_TAIL 512

/* An over-limit message was discarded; only head[head_len] and tail[tail_len] were kept. Fail
 * the request it answers (found by id) or tell the subscription it belongs to it has a gap. */
void rpc_handle_too_large(struct ferry_rpc *c, const char *head, size_t head_len, const char *tail,
                          size_t tail_len);

#endif
