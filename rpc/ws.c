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
#include "rpc/wsconn.h"

/* After asking lws to kill a connection, give it this long before abandoning it ourselves. */
#define KILL_GRACE_US (1000000LL)

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
    struct rpc_rx rx;
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

/* One received piece of a WebSocket message. Called with mu held. */
static void on_receive(struct ferry_rpc *c, struct lws *wsi, const char *in, size_t len)
{
    W(c)->last_rx_us = ferry_clock_us();
    rpc_rx_append(c, &W(c)->rx, in, len, lws_remaining_packet_payload(wsi));
    if (!lws_is_final_fragment(wsi))
        return;
    rpc_rx_finish(c, &W(c)->rx);
    /* Time spent parsing a large message here is not silence of the peer. */
    W(c)->last_rx_us = ferry_clock_us();
}

/* ---- connection lifecycle (service thread, mu held) ------------------------------------------ */

static void conn_lost(struct ferry_rpc *c, ferry_err why)
{
    if (c->conn == CONN_WAIT)
        return;
    bool was_open = c->conn == CONN_OPEN;
    W(c)->wsi = NULL;
    W(c)->ping_due = false;
    W(c)->kill_requested = false;
    rpc_rx_free(&W(c)->rx);
    if (rpc_ws_lost(c, why, was_open, W(c)->established_us))
        W(c)->attempt = 0;
    int64_t now = ferry_clock_us();
    W(c)->next_attempt_us = now + rpc_ws_backoff_us(c, &W(c)->attempt, &W(c)->rng);
    ferry_log_debug("rpc", "next attempt %s in %lld ms", rpc_url(c, c->url_index),
                    (long long)(W(c)->next_attempt_us - now) / 1000);
}

static void on_established(struct ferry_rpc *c)
{
    int64_t now = ferry_clock_us();
    W(c)->established_us = W(c)->last_rx_us = W(c)->last_ping_us = now;
    W(c)->kill_requested = false;
    rpc_ws_established(c);
    if (c->q_head)
        lws_callback_on_writable(W(c)->wsi);
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

static void start_connect(struct ferry_rpc *c)
{
    struct rpc_ws_url u;
    const char *url = rpc_url(c, c->url_index);
    W(c)->gen++;
    c->conn = CONN_CONNECTING;
    W(c)->attempt_started_us = ferry_clock_us();
    W(c)->kill_requested = false;
    if (rpc_ws_parse_url(url, &u) != 0) { /* validated at open; defensive */
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
    rpc_spare_sweep(c, now);
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

static void ws_wake(struct ferry_rpc *c)
{
    lws_cancel_service(W(c)->ctx);
}

static ferry_err ws_submit(struct ferry_rpc *c, struct ferry_rpc_pending *r, uint32_t timeout_ms)
{
    return rpc_ws_submit(c, r, ws_wake);
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
    rpc_rx_free(&w->rx);
    free(w);
    c->tp = NULL;
}

static bool ws_url_ok(const char *url)
{
    struct rpc_ws_url u;
    return rpc_ws_parse_url(url, &u) == 0;
}

const struct rpc_transport rpc_transport_ws = {
    .name = "websocket",
    .url_ok = ws_url_ok,
    .streams = true,
    .open = ws_open,
    .submit = ws_submit,
    .close = ws_close,
};
