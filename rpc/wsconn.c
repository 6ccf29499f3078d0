/* ferry rpc — message reassembly and connection-state effects shared by the WebSocket
 * transports (ws.c, wsplain.c). See rpc/wsconn.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "rpc/wsconn.h"

/* A connection that lived this long resets the backoff exponent when it is lost. */
#define STABLE_CONNECTION_US (5 * 1000000LL)
/* Receive buffers above this are freed after each message instead of kept for the next. */
#define RX_KEEP_CAP ((size_t)1 << 20)
/* Received data is appended (and a hex answer decoded) in pieces of at most this much. */
#define RX_STEP ((size_t)64 << 10)

void rpc_rx_reset(struct rpc_rx *rx)
{
    if (rx->cap > RX_KEEP_CAP) {
        free(rx->buf);
        rx->buf = NULL;
        rx->cap = 0;
    }
    rx->len = 0;
    rpc_rx_hex_reset(&rx->hex);
    rx->discard = false;
    rx->head_len = 0;
    rx->tail_len = 0;
}

void rpc_rx_free(struct rpc_rx *rx)
{
    rpc_rx_reset(rx);
    free(rx->buf);
    rx->buf = NULL;
    rx->cap = 0;
}

static void keep_tail(struct rpc_rx *rx, const char *in, size_t len)
{
    if (len >= RPC_OVERSIZE_TAIL) {
        memcpy(rx->tail, in + len - RPC_OVERSIZE_TAIL, RPC_OVERSIZE_TAIL);
        rx->tail_len = RPC_OVERSIZE_TAIL;
        return;
    }
    size_t keep = rx->tail_len + len > RPC_OVERSIZE_TAIL ? RPC_OVERSIZE_TAIL - len : rx->tail_len;
    memmove(rx->tail, rx->tail + rx->tail_len - keep, keep);
    memcpy(rx->tail + keep, in, len);
    rx->tail_len = keep + len;
}

/* Switch to keeping only the head and tail of the message (what arrived so far included). */
static void go_discard(struct rpc_rx *rx)
{
    rx->discard = true;
    rx->head_len = rx->len < RPC_OVERSIZE_HEAD ? rx->len : RPC_OVERSIZE_HEAD;
    if (rx->head_len)
        memcpy(rx->head, rx->buf, rx->head_len);
    rx->tail_len = 0;
    size_t t = rx->len < RPC_OVERSIZE_TAIL ? rx->len : RPC_OVERSIZE_TAIL;
    if (t)
        keep_tail(rx, (const char *)rx->buf + rx->len - t, t);
    free(rx->buf);
    rx->buf = NULL;
    rx->cap = 0;
    rx->len = 0;
}

static void append_piece(struct ferry_rpc *c, struct rpc_rx *rx, const char *in, size_t len,
                         uint64_t hint)
{
    size_t max = c->cfg.max_message_bytes;
    c->stats.bytes_in += len;
    /* rx->len may count decoded bytes: the limit counts the bytes received */
    if (!rx->discard && rpc_rx_hex_logical(&rx->hex, rx->len) + len > max)
        go_discard(rx); /* over the limit: keep the head to identify it, drop the rest */
    if (rx->discard) {
        if (rx->head_len < RPC_OVERSIZE_HEAD) {
            size_t take =
                RPC_OVERSIZE_HEAD - rx->head_len < len ? RPC_OVERSIZE_HEAD - rx->head_len : len;
            memcpy(rx->head + rx->head_len, in, take);
            rx->head_len += take;
        }
        keep_tail(rx, in, len);
        return;
    }
    size_t need = rx->len + len + 1; /* len <= max - rx->len here, and max <= SIZE_MAX / 4 */
    if (need > rx->cap) {
        /* Grow geometrically, but reserve the rest of the current frame at once. */
        size_t want = rx->cap ? rx->cap * 2 : 65536;
        size_t room = max + 1 - need; /* what the limit still allows beyond need */
        size_t h = hint < room ? (size_t)hint : room;
        if (want < need + h)
            want = need + h;
        if (want > max + 1)
            want = max + 1;
        if (want < need)
            want = need;
        size_t spare_cap = 0;
        unsigned char *nb = need + h >= RPC_SPARE_MIN ? rpc_spare_take(c, want, &spare_cap) : NULL;
        if (nb) {
            /* a buffer given back (ferry_rpc_bytes_release): its pages are mapped already */
            if (rx->len)
                memcpy(nb, rx->buf, rx->len);
            free(rx->buf);
            want = spare_cap;
        } else {
            nb = realloc(rx->buf, want);
        }
        if (!nb) {
            go_discard(rx); /* treated as over the limit: fail its request, keep going */
            append_piece(c, rx, in, len, 0);
            c->stats.bytes_in -= len;
            return;
        }
        rx->buf = nb;
        rx->cap = want;
    }
    memcpy(rx->buf + rx->len, in, len);
    rx->len += len;
    rpc_rx_hex_feed(&rx->hex, rx->buf, &rx->len);
}

void rpc_rx_append(struct ferry_rpc *c, struct rpc_rx *rx, const char *in, size_t len,
                   uint64_t hint)
{
    /* A hex answer is decoded in place after each piece (fast.c): pieces of at most RX_STEP
     * bound the text held beyond the decoded bytes, and the pages it touches, to one step
     * rather than one socket read (up to 512 KiB). */
    while (len > RX_STEP && !rx->discard) {
        append_piece(c, rx, in, RX_STEP, hint + (len - RX_STEP));
        in += RX_STEP;
        len -= RX_STEP;
    }
    append_piece(c, rx, in, len, hint);
}

void rpc_rx_finish(struct ferry_rpc *c, struct rpc_rx *rx)
{
    if (rx->discard) {
        c->stats.messages_in++;
        rpc_handle_too_large(c, rx->head, rx->head_len, rx->tail, rx->tail_len);
    } else if (rx->buf && rpc_dispatch_rx(c, &rx->hex, rx->buf, rx->len, NULL)) {
        /* the answer's request took the buffer (a hex answer decoded in place) */
        rx->buf = NULL;
        rx->cap = 0;
    } else if (!rx->buf) {
        rpc_dispatch_text(c, "", 0, NULL);
    }
    rpc_rx_reset(rx);
}

int64_t rpc_ws_backoff_us(struct ferry_rpc *c, unsigned *attempt, unsigned *rng)
{
    uint64_t base = c->cfg.backoff_initial_ms;
    for (unsigned i = 0; i < *attempt && base < c->cfg.backoff_max_ms; i++)
        base *= 2;
    if (base > c->cfg.backoff_max_ms)
        base = c->cfg.backoff_max_ms;
    if (*attempt < 32)
        (*attempt)++;
    /* xorshift32: only for jitter, never for anything secret. */
    unsigned x = *rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *rng = x ? x : 0x9e3779b9u;
    /* "Equal jitter": half fixed, half random, so delays still grow but never synchronise. */
    uint64_t half = base / 2;
    uint64_t delay = half + (half ? *rng % (half + 1) : 0);
    return (int64_t)delay * 1000;
}

bool rpc_ws_lost(struct ferry_rpc *c, ferry_err why, bool was_open, int64_t established_us)
{
    bool stable = false;
    c->conn = CONN_WAIT;
    if (was_open) {
        if (!c->closing)
            ferry_log_warn("rpc", "connection to %s lost: %s; reconnecting",
                           rpc_url(c, c->url_index),
                           c->last_error[0] ? c->last_error : ferry_strerror(why));
        c->stats.disconnects++;
        stable = ferry_clock_us() - established_us >= STABLE_CONNECTION_US;
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
        atomic_store(&r->finished, true);
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
            atomic_store(&r->finished, true);
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
    pthread_cond_broadcast(&c->cv);
    return stable;
}

void rpc_ws_established(struct ferry_rpc *c)
{
    int64_t now = ferry_clock_us();
    c->conn = CONN_OPEN;
    c->stats.connects++;
    c->fail_streak = 0;
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
    pthread_cond_broadcast(&c->cv);
}

int rpc_ws_parse_url(const char *url, struct rpc_ws_url *u)
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

const struct rpc_transport *rpc_ws_transport(const struct ferry_rpc_config *cfg)
{
    const char *pick = getenv("FERRY_WS");
    if (pick && strcmp(pick, "lws") == 0)
        return &rpc_transport_ws;
    for (size_t i = 0; i < cfg->n_urls; i++)
        if (strncmp(cfg->urls[i], "ws://", 5) != 0)
            return &rpc_transport_ws; /* wss:// needs TLS: libwebsockets */
    return &rpc_transport_wsplain;
}

ferry_err rpc_ws_submit(struct ferry_rpc *c, struct ferry_rpc_pending *r,
                        void (*wake)(struct ferry_rpc *c))
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
    rpc_user_enter(c); /* the transport's wake-up means must outlive the call below */
    pthread_mutex_unlock(&c->mu);
    wake(c);
    pthread_mutex_lock(&c->mu);
    rpc_user_leave(c);
    pthread_mutex_unlock(&c->mu);
    return FERRY_OK;
}
