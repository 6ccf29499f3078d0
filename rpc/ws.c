/* ferry rpc — the WebSocket transport on libwebsockets.
 *
 * One service thread per client owns the lws context and the connection; nothing else touches
 * the socket. Callers queue frames (ws_submit) and wake it with lws_cancel_service. The service
 * thread writes queued frames, hands each complete message to rpc_dispatch_text, and drives time
 * with one periodic timer (tick): reconnect after backoff with jitter, the connect deadline,
 * pings after silence, and declaring a silent connection dead. On a loss, requests in flight
 * fail with FERRY_E_RETRY, subscriptions are re-established on the next connection (each gets a
 * gap event), and the URLs are tried in turn. See rpc/client.h.
 */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "rpc/client.h"

/* A connection that lived this long resets the backoff exponent when it is lost. */
#define STABLE_CONNECTION_US (5 * 1000000LL)
/* After asking lws to kill a connection, give it this long before abandoning it ourselves. */
#define KILL_GRACE_US (1000000LL)
/* Receive buffers above this are freed after each message instead of kept for the next. */
#define RX_KEEP_CAP ((size_t)1 << 20)

_Static_assert(RPC_FRAME_HEADROOM >= LWS_PRE, "frames need LWS_PRE bytes of headroom");

/* The transport's state (c->tp); service thread only, under c->mu, unless said. */
struct ws_state {
    struct ferry_rpc *c;
    struct lws_context *ctx;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    lws_sorted_usec_list_t tick;
    int64_t tick_us;
    struct lws *wsi;
    uint64_t gen;     /* connection attempt number, stored in the wsi's opaque user data */
    unsigned attempt; /* backoff exponent */
    int64_t next_attempt_us, attempt_started_us, established_us;
    int64_t last_rx_us, last_ping_us, kill_at_us;
    bool ping_due;
    bool kill_requested;
    unsigned rng;
    unsigned char *rx;
    size_t rx_len, rx_cap;
    bool rx_discard;
    char rx_head[RPC_OVERSIZE_HEAD];
    size_t rx_head_len;
    char rx_tail[RPC_OVERSIZE_TAIL];
    size_t rx_tail_len;
    struct rpc_rx_hex rxh; /* mem16 hook: hex answers decoded in place as they come (fast.c) */
};

#define W(c) ((struct ws_state *)(c)->tp)

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void lws_log_emit(int level, const char *line)
{
    /* lws reports every refused reconnect as an error; those are expected here and the client
     * reports connection trouble itself, so lws lines go to the debug level. */
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    ferry_log(FERRY_LOG_DEBUG, "lws", "%.*s", (int)n, line);
}

static void init_logging(void)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
}

static unsigned next_rand(struct ferry_rpc *c)
{
    /* xorshift32: only for jitter, never for anything secret. */
    unsigned x = W(c)->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    W(c)->rng = x ? x : 0x9e3779b9u;
    return W(c)->rng;
}

static void rx_reset(struct ferry_rpc *c)
{
    if (W(c)->rx_cap > RX_KEEP_CAP) {
        free(W(c)->rx);
        W(c)->rx = NULL;
        W(c)->rx_cap = 0;
    }
    W(c)->rx_len = 0;
    rpc_rx_hex_reset(&W(c)->rxh); /* mem16 hook */
    W(c)->rx_discard = false;
    W(c)->rx_head_len = 0;
    W(c)->rx_tail_len = 0;
}

static void rx_keep_tail(struct ferry_rpc *c, const char *in, size_t len)
{
    if (len >= RPC_OVERSIZE_TAIL) {
        memcpy(W(c)->rx_tail, in + len - RPC_OVERSIZE_TAIL, RPC_OVERSIZE_TAIL);
        W(c)->rx_tail_len = RPC_OVERSIZE_TAIL;
        return;
    }
    size_t keep =
        W(c)->rx_tail_len + len > RPC_OVERSIZE_TAIL ? RPC_OVERSIZE_TAIL - len : W(c)->rx_tail_len;
    memmove(W(c)->rx_tail, W(c)->rx_tail + W(c)->rx_tail_len - keep, keep);
    memcpy(W(c)->rx_tail + keep, in, len);
    W(c)->rx_tail_len = keep + len;
}

/* One received piece of a WebSocket message. Called with mu held. */
static void on_receive(struct ferry_rpc *c, struct lws *wsi, const char *in, size_t len)
{
    size_t max = c->cfg.max_message_bytes;
    W(c)->last_rx_us = ferry_clock_us();
    c->stats.bytes_in += len;
    /* mem16 hook: rx may hold decoded bytes; the limit counts the bytes received */
    if (!W(c)->rx_discard && rpc_rx_hex_logical(&W(c)->rxh, W(c)->rx_len) + len > max) {
        /* Over the limit: keep the head to identify the message, drop the rest as it comes. */
        W(c)->rx_discard = true;
        W(c)->rx_head_len = W(c)->rx_len < RPC_OVERSIZE_HEAD ? W(c)->rx_len : RPC_OVERSIZE_HEAD;
        memcpy(W(c)->rx_head, W(c)->rx, W(c)->rx_head_len);
        W(c)->rx_tail_len = 0;
        rx_keep_tail(c,
                     (const char *)W(c)->rx + W(c)->rx_len -
                         (W(c)->rx_len < RPC_OVERSIZE_TAIL ? W(c)->rx_len : RPC_OVERSIZE_TAIL),
                     W(c)->rx_len < RPC_OVERSIZE_TAIL ? W(c)->rx_len : RPC_OVERSIZE_TAIL);
        free(W(c)->rx);
        W(c)->rx = NULL;
        W(c)->rx_cap = 0;
        W(c)->rx_len = 0;
    }
    if (W(c)->rx_discard) {
        if (W(c)->rx_head_len < RPC_OVERSIZE_HEAD) {
            size_t take = RPC_OVERSIZE_HEAD - W(c)->rx_head_len < len
                              ? RPC_OVERSIZE_HEAD - W(c)->rx_head_len
                              : len;
            memcpy(W(c)->rx_head + W(c)->rx_head_len, in, take);
            W(c)->rx_head_len += take;
        }
        rx_keep_tail(c, in, len);
    } else {
        size_t need = W(c)->rx_len + len + 1;
        if (need > W(c)->rx_cap) {
            /* Grow geometrically, but reserve the rest of the current frame at once. */
            size_t want = W(c)->rx_cap ? W(c)->rx_cap * 2 : 65536;
            size_t hint = W(c)->rx_len + len + lws_remaining_packet_payload(wsi) + 1;
            if (want < hint)
                want = hint;
            if (want < need)
                want = need;
            if (want > max + 1)
                want = max + 1;
            unsigned char *nb = realloc(W(c)->rx, want);
            if (!nb) {
                W(c)->rx_discard = true; /* treat as over-limit: fail its request, keep going */
                W(c)->rx_head_len = 0;
            } else {
                W(c)->rx = nb;
                W(c)->rx_cap = want;
            }
        }
        if (!W(c)->rx_discard) {
            memcpy(W(c)->rx + W(c)->rx_len, in, len);
            W(c)->rx_len += len;
            rpc_rx_hex_feed(&W(c)->rxh, W(c)->rx, &W(c)->rx_len); /* mem16 hook */
        }
    }
    if (!lws_is_final_fragment(wsi))
        return;
    if (W(c)->rx_discard) {
        c->stats.messages_in++;
        rpc_handle_too_large(c, W(c)->rx_head, W(c)->rx_head_len, W(c)->rx_tail, W(c)->rx_tail_len);
    } else if (rpc_dispatch_rx(c, &W(c)->rxh, W(c)->rx, W(c)->rx_len, NULL)) {
        /* mem16 hook: the answer's request took the buffer (a hex answer decoded in place) */
        W(c)->rx = NULL;
        W(c)->rx_cap = 0;
    }
    /* Time spent parsing a large message here is not silence of the peer. */
    W(c)->last_rx_us = ferry_clock_us();
    rx_reset(c);
}

/* ---- connection lifecycle (service thread, mu held) ------------------------------------------ */

static int64_t backoff_us(struct ferry_rpc *c)
{
    uint64_t base = c->cfg.backoff_initial_ms;
    for (unsigned i = 0; i < W(c)->attempt && base < c->cfg.backoff_max_ms; i++)
        base *= 2;
    if (base > c->cfg.backoff_max_ms)
        base = c->cfg.backoff_max_ms;
    if (W(c)->attempt < 32)
        W(c)->attempt++;
    /* "Equal jitter": half fixed, half random, so delays still grow but never synchronise. */
    uint64_t half = base / 2;
    uint64_t delay = half + (half ? next_rand(c) % (half + 1) : 0);
    return (int64_t)delay * 1000;
}

static void conn_lost(struct ferry_rpc *c, ferry_err why)
{
    if (c->conn == CONN_WAIT)
        return;
    int64_t now = ferry_clock_us();
    bool was_open = c->conn == CONN_OPEN;
    c->conn = CONN_WAIT;
    W(c)->wsi = NULL;
    W(c)->ping_due = false;
    W(c)->kill_requested = false;
    rx_reset(c);
    if (W(c)->rx_cap) {
        free(W(c)->rx);
        W(c)->rx = NULL;
        W(c)->rx_cap = 0;
    }
    if (was_open) {
        if (!c->closing)
            ferry_log_warn("rpc", "connection to %s lost: %s; reconnecting",
                           rpc_url(c, c->url_index),
                           c->last_error[0] ? c->last_error : ferry_strerror(why));
        c->stats.disconnects++;
        if (now - W(c)->established_us >= STABLE_CONNECTION_US)
            W(c)->attempt = 0;
        rpc_conn_event(c, FERRY_RPC_EV_DISCONNECTED, why);
    } else {
        c->stats.failed_connects++;
        c->fail_streak++; /* only failed attempts count, not the loss of a working connection */
    }
    /* Early notifications belonged to this connection's subscription ids. */
    rpc_early_clear(c, true);
    /* Requests already sent may or may not have been executed: the caller decides (RETRY). */
    while (c->in_head) {
        struct ferry_rpc_pending *r = c->in_head;
        rpc_list_unlink(c, r);
        if (r->kind == REQ_RESUB) {
            rpc_req_free(r);
            continue;
        }
        rpc_req_fail(r, FERRY_E_RETRY);
    }
    /* Internal re-subscriptions not yet sent are rebuilt on the next connection. */
    for (struct ferry_rpc_pending *r = c->q_head, *next; r; r = next) {
        next = r->next;
        if (r->kind == REQ_RESUB) {
            rpc_list_unlink(c, r);
            rpc_req_free(r);
        } else if (c->fail_streak >= c->n_urls) {
            rpc_list_unlink(c, r);
            rpc_req_fail(r, FERRY_E_NET);
        }
    }
    for (struct rpc_sub *s = c->subs; s; s = s->next) {
        if (s->state != SUB_ACTIVE && s->state != SUB_RESUBSCRIBING)
            continue;
        free(s->remote_id);
        s->remote_id = NULL;
        if (s->flags & FERRY_RPC_SUB_NO_RESUBSCRIBE) {
            s->state = SUB_DEAD;
            struct ferry_rpc_event ev = {.kind = FERRY_RPC_EV_SUB_ENDED, .err = FERRY_E_RETRY};
            rpc_emit(c, s, &ev);
        } else {
            s->state = SUB_NEED_RESUB;
        }
    }
    c->url_index = (c->url_index + 1) % c->n_urls;
    W(c)->next_attempt_us = now + backoff_us(c);
    ferry_log_debug("rpc", "next attempt %s in %lld ms", rpc_url(c, c->url_index),
                    (long long)(W(c)->next_attempt_us - now) / 1000);
    pthread_cond_broadcast(&c->cv);
}

static void on_established(struct ferry_rpc *c)
{
    int64_t now = ferry_clock_us();
    c->conn = CONN_OPEN;
    c->stats.connects++;
    c->fail_streak = 0;
    W(c)->established_us = W(c)->last_rx_us = W(c)->last_ping_us = now;
    W(c)->kill_requested = false;
    ferry_log(c->stats.connects > 1 ? FERRY_LOG_INFO : FERRY_LOG_DEBUG, "rpc", "connected to %s",
              rpc_url(c, c->url_index));
    rpc_conn_event(c, FERRY_RPC_EV_CONNECTED, FERRY_OK);
    for (struct rpc_sub *s = c->subs; s; s = s->next) {
        if (s->state != SUB_NEED_RESUB)
            continue;
        struct ferry_rpc_pending *r = rpc_req_new(c, REQ_RESUB, 1);
        if (!r)
            continue;
        const char *m[1] = {s->method};
        const char *p[1] = {s->params};
        if (rpc_req_build_locked(c, r, m, p, false) != FERRY_OK) {
            rpc_req_free(r);
            continue;
        }
        r->sub = s;
        r->deadline_us = now + (int64_t)c->cfg.request_timeout_ms * 1000;
        s->state = SUB_RESUBSCRIBING;
        rpc_queue_push_front(c, r);
    }
    if (c->q_head)
        lws_callback_on_writable(W(c)->wsi);
    pthread_cond_broadcast(&c->cv);
}

static int on_writable(struct ferry_rpc *c, struct lws *wsi)
{
    if (W(c)->ping_due) {
        unsigned char buf[LWS_PRE + 4];
        W(c)->ping_due = false;
        c->stats.pings_sent++;
        if (lws_write(wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0)
            return -1;
        if (c->q_head)
            lws_callback_on_writable(wsi);
        return 0;
    }
    /* Several frames per callback while the kernel takes them: pipelined requests then cost one
     * poll cycle per batch instead of one per request. */
    for (int sent = 0; c->q_head && sent < 32; sent++) {
        struct ferry_rpc_pending *r = c->q_head;
        if (sent && lws_send_pipe_choked(wsi))
            break;
        rpc_list_unlink(c, r);
        rpc_inflight_push(c, r);
        int n = lws_write(wsi, (unsigned char *)rpc_req_text(r), r->frame_len, LWS_WRITE_TEXT);
        free(r->frame);
        r->frame = NULL;
        if (n < (int)r->frame_len)
            return -1; /* the close fails it with FERRY_E_RETRY */
    }
    if (c->q_head)
        lws_callback_on_writable(wsi);
    return 0;
}

struct url_parts {
    char buf[512];
    const char *host;
    int port;
    const char *path;
    bool tls;
};

/* Split ws[s]://host[:port][/path]; IPv6 literals in brackets. Returns: 0 on success. */
static int parse_ws_url(const char *url, struct url_parts *u)
{
    const char *rest;
    if (strncmp(url, "ws://", 5) == 0) {
        rest = url + 5;
        u->tls = false;
        u->port = 80;
    } else if (strncmp(url, "wss://", 6) == 0) {
        rest = url + 6;
        u->tls = true;
        u->port = 443;
    } else {
        return -1;
    }
    size_t n = strlen(rest);
    if (n + 2 >= sizeof u->buf / 2)
        return -1;
    /* buf holds "host\0" then "/path\0" */
    const char *slash = strchr(rest, '/');
    size_t hostport = slash ? (size_t)(slash - rest) : n;
    char *h = u->buf;
    memcpy(h, rest, hostport);
    h[hostport] = 0;
    char *path = u->buf + hostport + 1;
    snprintf(path, sizeof u->buf - hostport - 1, "%s", slash ? slash : "/");
    u->path = path;
    char *colon;
    if (h[0] == '[') {
        char *close = strchr(h, ']');
        if (!close)
            return -1;
        *close = 0;
        colon = close[1] == ':' ? close + 1 : NULL;
        h++;
    } else {
        colon = strrchr(h, ':');
    }
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (*end || p <= 0 || p > 65535)
            return -1;
        u->port = (int)p;
        *colon = 0;
    }
    if (!h[0])
        return -1;
    u->host = h;
    return 0;
}

static void start_connect(struct ferry_rpc *c)
{
    struct url_parts u;
    const char *url = rpc_url(c, c->url_index);
    W(c)->gen++;
    c->conn = CONN_CONNECTING;
    W(c)->attempt_started_us = ferry_clock_us();
    W(c)->kill_requested = false;
    if (parse_ws_url(url, &u) != 0) { /* validated at open; defensive */
        rpc_set_last_error(c, "%s: malformed URL", url);
        conn_lost(c, FERRY_E_ARG);
        return;
    }
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = W(c)->ctx;
    ci.address = u.host;
    ci.port = u.port;
    ci.path = u.path;
    ci.host = u.host;
    ci.origin = u.host;
    ci.protocol = NULL; /* Substrate nodes speak no subprotocol; don't ask for one */
    ci.local_protocol_name = "ferry-jsonrpc";
    ci.ietf_version_or_minus_one = -1;
    ci.opaque_user_data = (void *)(uintptr_t)W(c)->gen;
    if (u.tls) {
        ci.ssl_connection = LCCSCF_USE_SSL;
        if (c->cfg.insecure)
            ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                 LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
    uint64_t gen = W(c)->gen;
    /* lws may call back synchronously (connection error); the callback takes mu. */
    pthread_mutex_unlock(&c->mu);
    struct lws *wsi = lws_client_connect_via_info(&ci);
    pthread_mutex_lock(&c->mu);
    if (W(c)->gen != gen || c->conn != CONN_CONNECTING)
        return; /* already failed inside the call */
    if (!wsi) {
        if (!c->last_error[0])
            rpc_set_last_error(c, "%s: cannot start connection", url);
        conn_lost(c, FERRY_E_NET);
        return;
    }
    W(c)->wsi = wsi;
}

static void kill_connection(struct ferry_rpc *c, const char *why)
{
    if (W(c)->kill_requested || !W(c)->wsi)
        return;
    rpc_set_last_error(c, "%s: %s", rpc_url(c, c->url_index), why);
    W(c)->kill_requested = true;
    W(c)->kill_at_us = ferry_clock_us();
    lws_set_timeout(W(c)->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    struct ferry_rpc *c = lws_container_of(sul, struct ws_state, tick)->c;
    pthread_mutex_lock(&c->mu);
    int64_t now = ferry_clock_us();
    if (W(c)->kill_requested && now - W(c)->kill_at_us > KILL_GRACE_US)
        conn_lost(c, FERRY_E_NET); /* lws never reported the close: abandon the wsi */
    switch (c->conn) {
    case CONN_WAIT:
        if (!c->closing && now >= W(c)->next_attempt_us)
            start_connect(c);
        break;
    case CONN_CONNECTING:
        if (now - W(c)->attempt_started_us > (int64_t)c->cfg.connect_timeout_ms * 1000)
            kill_connection(c, "connect timed out");
        break;
    case CONN_OPEN: {
        int64_t silence = now - W(c)->last_rx_us;
        if (silence >= (int64_t)c->cfg.dead_after_ms * 1000) {
            if (!W(c)->kill_requested)
                c->stats.dead_declared++;
            kill_connection(c, "no answer to pings; connection declared dead");
            break;
        }
        for (struct ferry_rpc_pending *r = c->in_head; r; r = r->next) {
            if (r->kind == REQ_RESUB && now > r->deadline_us) {
                kill_connection(c, "re-subscription not answered");
                break;
            }
        }
        if (silence >= (int64_t)c->cfg.ping_interval_ms * 1000 &&
            now - W(c)->last_ping_us >= (int64_t)c->cfg.ping_interval_ms * 1000 && W(c)->wsi) {
            W(c)->ping_due = true;
            W(c)->last_ping_us = now;
            lws_callback_on_writable(W(c)->wsi);
        }
        break;
    }
    }
    rpc_flush_callbacks(c);
    pthread_mutex_unlock(&c->mu);
    lws_sul_schedule(W(c)->ctx, 0, &W(c)->tick, tick_cb, W(c)->tick_us);
}

static bool is_current(struct ferry_rpc *c, struct lws *wsi)
{
    return c->conn != CONN_WAIT && (uintptr_t)lws_get_opaque_user_data(wsi) == W(c)->gen;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    struct ferry_rpc *c = ctx ? lws_context_user(ctx) : NULL;
    int ret = 0;
    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        pthread_mutex_lock(&c->mu);
        if (c->closing && W(c)->wsi && !W(c)->kill_requested)
            kill_connection(c, "client closing");
        else if (c->conn == CONN_OPEN && W(c)->wsi && c->q_head)
            lws_callback_on_writable(W(c)->wsi);
        pthread_mutex_unlock(&c->mu);
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        pthread_mutex_lock(&c->mu);
        if (is_current(c, wsi)) {
            W(c)->wsi = wsi;
            on_established(c);
        }
        rpc_flush_callbacks(c);
        pthread_mutex_unlock(&c->mu);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        pthread_mutex_lock(&c->mu);
        if (is_current(c, wsi))
            on_receive(c, wsi, in, len);
        rpc_flush_callbacks(c);
        pthread_mutex_unlock(&c->mu);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        pthread_mutex_lock(&c->mu);
        if (is_current(c, wsi))
            W(c)->last_rx_us = ferry_clock_us();
        pthread_mutex_unlock(&c->mu);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        pthread_mutex_lock(&c->mu);
        if (is_current(c, wsi) && c->conn == CONN_OPEN)
            ret = on_writable(c, wsi);
        pthread_mutex_unlock(&c->mu);
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        pthread_mutex_lock(&c->mu);
        if (is_current(c, wsi)) {
            rpc_set_last_error(c, "%s: %s", rpc_url(c, c->url_index),
                               in && len ? (const char *)in : "connection failed");
            conn_lost(c, FERRY_E_NET);
        }
        rpc_flush_callbacks(c);
        pthread_mutex_unlock(&c->mu);
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
    case LWS_CALLBACK_WSI_DESTROY:
        pthread_mutex_lock(&c->mu);
        if (is_current(c, wsi)) {
            if (!W(c)->kill_requested)
                rpc_set_last_error(c, "%s: connection closed by peer", rpc_url(c, c->url_index));
            conn_lost(c, FERRY_E_NET);
        }
        rpc_flush_callbacks(c);
        pthread_mutex_unlock(&c->mu);
        break;
    default:
        break;
    }
    return ret;
}

static const struct lws_protocols ws_protocols[] = {
    {"ferry-jsonrpc", ws_callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *service_main(void *arg)
{
    struct ferry_rpc *c = arg;
    lws_sul_schedule(W(c)->ctx, 0, &W(c)->tick, tick_cb, 1);
    while (!atomic_load(&W(c)->stop))
        lws_service(W(c)->ctx, 0);
    lws_sul_cancel(&W(c)->tick);
    return NULL;
}

static ferry_err ws_start(struct ferry_rpc *c)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = ws_protocols;
    info.user = c;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.pt_serv_buf_size = 256 * 1024;
    info.fd_limit_per_thread = 16;
    info.count_threads = 1;
    info.timeout_secs = (c->cfg.connect_timeout_ms + 999) / 1000;
    info.connect_timeout_secs = info.timeout_secs;
    W(c)->ctx = lws_create_context(&info);
    if (!W(c)->ctx) {
        rpc_set_last_error(c, "libwebsockets context creation failed");
        return FERRY_E_NET;
    }
    uint32_t shortest = c->cfg.ping_interval_ms;
    if (c->cfg.dead_after_ms < shortest)
        shortest = c->cfg.dead_after_ms;
    if (c->cfg.backoff_initial_ms < shortest)
        shortest = c->cfg.backoff_initial_ms;
    int64_t t = (int64_t)shortest * 1000 / 5;
    W(c)->tick_us = t < 5000 ? 5000 : t > 100000 ? 100000 : t;
    atomic_store(&W(c)->stop, false);
    if (pthread_create(&W(c)->thread, NULL, service_main, c) != 0) {
        lws_context_destroy(W(c)->ctx);
        W(c)->ctx = NULL;
        return FERRY_E_NOMEM;
    }
    W(c)->thread_started = true;
    return FERRY_OK;
}

static ferry_err ws_open(struct ferry_rpc *c)
{
    pthread_once(&log_once, init_logging);
    struct ws_state *w = calloc(1, sizeof *w);
    if (!w)
        return FERRY_E_NOMEM;
    w->c = c;
    w->rng = (unsigned)ferry_clock_us() ^ (unsigned)(uintptr_t)c;
    if (!w->rng)
        w->rng = 1;
    c->tp = w;
    c->conn = CONN_WAIT;
    ferry_err err = ws_start(c);
    if (err) {
        free(w);
        c->tp = NULL;
    }
    return err;
}

static ferry_err ws_submit(struct ferry_rpc *c, struct ferry_rpc_pending *r, uint32_t timeout_ms)
{
    pthread_mutex_lock(&c->mu);
    if (c->closing) {
        pthread_mutex_unlock(&c->mu);
        return FERRY_E_STATE;
    }
    if (c->conn != CONN_OPEN && c->fail_streak >= c->n_urls) {
        /* Every URL failed in a row: answer now rather than at the deadline. */
        rpc_req_fail(r, FERRY_E_NET);
        pthread_mutex_unlock(&c->mu);
        return FERRY_OK;
    }
    rpc_queue_push_back(c, r);
    rpc_user_enter(c); /* the lws context must outlive the wake-up below */
    pthread_mutex_unlock(&c->mu);
    lws_cancel_service(W(c)->ctx);
    pthread_mutex_lock(&c->mu);
    rpc_user_leave(c);
    pthread_mutex_unlock(&c->mu);
    return FERRY_OK;
}

static void ws_close(struct ferry_rpc *c)
{
    struct ws_state *w = W(c);
    if (!w)
        return;
    if (w->thread_started) {
        /* Close the connection on the service thread first: a TLS connection torn down by
         * lws_context_destroy from here leaks its OpenSSL state (lws 4.1). */
        lws_cancel_service(w->ctx);
        int64_t deadline = ferry_clock_us() + 1000 * 1000;
        pthread_mutex_lock(&c->mu);
        while (c->conn != CONN_WAIT && ferry_clock_us() < deadline)
            ferry_cond_wait_until(&c->cv, &c->mu, deadline);
        pthread_mutex_unlock(&c->mu);
        atomic_store(&w->stop, true);
        lws_cancel_service(w->ctx);
        pthread_join(w->thread, NULL);
    }
    if (w->ctx)
        lws_context_destroy(w->ctx); /* closes the socket; callbacks run on this thread */
    w->ctx = NULL;
    free(w->rx);
    free(w);
    c->tp = NULL;
}

static bool ws_url_ok(const char *url)
{
    struct url_parts u;
    return parse_ws_url(url, &u) == 0;
}

const struct rpc_transport rpc_transport_ws = {
    .name = "websocket",
    .url_ok = ws_url_ok,
    .streams = true,
    .open = ws_open,
    .submit = ws_submit,
    .close = ws_close,
};
