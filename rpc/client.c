/* ferry rpc — the JSON-RPC 2.0 client: request/response matching by id, batches, subscriptions,
 * the event queue, and the WebSocket transport on libwebsockets (http.c holds the HTTP one).
 *
 * One mutex (c->mu) guards everything below. Caller threads build request frames, queue them
 * and wait on c->cv with a deadline; the service thread (service_main) owns the lws context and
 * the socket, writes queued frames, parses what arrives and completes requests. A request is
 * reachable by the service thread exactly while it is on the send queue or the in-flight list;
 * whoever removes it under the mutex decides its fate, so a waiter that times out and a
 * response that arrives late can never both touch it.
 *
 * The service thread drives time with one periodic timer (tick): reconnect after backoff,
 * connect deadline, pings after silence, and declaring a silent connection dead.
 */
#include <ctype.h>
#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/log.h"
#include "rpc/internal.h"

#define DEFAULT_MAX_MESSAGE        ((size_t)64 << 20)
#define DEFAULT_REQUEST_TIMEOUT_MS 30000u
#define DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define DEFAULT_PING_INTERVAL_MS   5000u
#define DEFAULT_DEAD_AFTER_MS      15000u
#define DEFAULT_BACKOFF_INITIAL_MS 250u
#define DEFAULT_BACKOFF_MAX_MS     30000u
#define DEFAULT_MAX_EVENTS         4096u
/* A connection that lived this long resets the backoff exponent when it is lost. */
#define STABLE_CONNECTION_US (5 * 1000000LL)
/* After asking lws to kill a connection, give it this long before abandoning it ourselves. */
#define KILL_GRACE_US (1000000LL)
/* Receive buffers above this are freed after each message instead of kept for the next. */
#define RX_KEEP_CAP ((size_t)1 << 20)
/* Bytes of the start and the end of an over-limit message kept to find its id. */
#define RX_HEAD        2048
#define RX_TAIL        512
#define MAX_METHOD_LEN 128
/* Notifications held while a subscribe is in flight because their subscription id is not known
 * yet (a node may send the first one before the answer carrying the id): at most this many, of
 * at most this many bytes in all, per connection; the oldest go first. */
#define EARLY_MAX_NOTES 64
#define EARLY_MAX_BYTES ((size_t)1 << 20)
/* Subscription ids whose early notifications were dropped, remembered to report a gap. */
#define EARLY_MAX_GAPS 64

enum transport { TRANSPORT_WS, TRANSPORT_HTTP };
enum req_kind { REQ_CALL, REQ_SUB, REQ_RESUB };
enum req_where { WHERE_NONE, WHERE_QUEUED, WHERE_INFLIGHT };
enum conn_state { CONN_WAIT, CONN_CONNECTING, CONN_OPEN };
enum sub_state { SUB_PENDING, SUB_ACTIVE, SUB_NEED_RESUB, SUB_RESUBSCRIBING, SUB_DEAD };

struct rpc_slot {
    bool done;
    ferry_err err;
    cJSON *result;
    struct ferry_rpc_error error;
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
    unsigned char *frame; /* LWS_PRE bytes of headroom, then frame_len bytes of JSON */
    size_t frame_len;
    struct rpc_slot *slots;
    size_t n_done;
    bool done;
    atomic_bool orphaned; /* failed by ferry_rpc_close: c may be gone, ferry_rpc_wait skips it */
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

struct ev_node {
    struct ev_node *next;
    struct ferry_rpc_event ev;
    ferry_rpc_event_fn fn; /* set for callback deliveries */
    void *user;
};

struct ferry_rpc {
    enum transport transport;
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
    unsigned rng;

    /* WebSocket transport; service thread only (under mu) */
    struct lws_context *ctx;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    lws_sorted_usec_list_t tick;
    int64_t tick_us;
    enum conn_state conn;
    struct lws *wsi;
    uint64_t gen; /* connection attempt number, stored in the wsi's opaque user data */
    size_t url_index;
    unsigned attempt;     /* backoff exponent */
    unsigned fail_streak; /* attempts failed in a row since the last established connection */
    int64_t next_attempt_us, attempt_started_us, established_us;
    int64_t last_rx_us, last_ping_us, kill_at_us;
    bool ping_due;
    bool kill_requested;
    unsigned char *rx;
    size_t rx_len, rx_cap;
    bool rx_discard;
    char rx_head[RX_HEAD];
    size_t rx_head_len;
    char rx_tail[RX_TAIL];
    size_t rx_tail_len;

    /* HTTP transport */
    void *http;
};

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A caller thread enters/leaves a section that may wait or touch c after dropping mu. Called with
 * mu held. ferry_rpc_close frees c only once users is back to 0. */
static void user_enter(struct ferry_rpc *c)
{
    c->users++;
}

static void user_leave(struct ferry_rpc *c)
{
    if (--c->users == 0 && c->closing)
        pthread_cond_broadcast(&c->cv);
}

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

/* ---- small helpers ------------------------------------------------------------------------- */

void rpc_set_last_error(struct ferry_rpc *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
    va_end(ap);
}

void rpc_note_error(struct ferry_rpc *c, const char *fmt, ...)
{
    char buf[sizeof c->last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->mu);
    memcpy(c->last_error, buf, sizeof buf);
    pthread_mutex_unlock(&c->mu);
}

const char *rpc_url(const struct ferry_rpc *c, size_t i)
{
    return c->urls[i % c->n_urls];
}
size_t rpc_n_urls(const struct ferry_rpc *c)
{
    return c->n_urls;
}
size_t rpc_max_message(const struct ferry_rpc *c)
{
    return c->cfg.max_message_bytes;
}
int rpc_insecure(const struct ferry_rpc *c)
{
    return c->cfg.insecure;
}
uint32_t rpc_request_timeout(const struct ferry_rpc *c)
{
    return c->cfg.request_timeout_ms;
}
void **rpc_http_slot(struct ferry_rpc *c)
{
    return &c->http;
}

void ferry_rpc_error_clear(struct ferry_rpc_error *e)
{
    if (!e)
        return;
    free(e->message);
    free(e->data);
    memset(e, 0, sizeof *e);
}

char *ferry_rpc_error_json(const struct ferry_rpc_error *e)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "code", (double)e->code);
    cJSON_AddStringToObject(o, "message", e->message ? e->message : "");
    if (e->data) {
        cJSON *d = cJSON_Parse(e->data);
        if (d)
            cJSON_AddItemToObject(o, "data", d);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

void ferry_rpc_event_clear(struct ferry_rpc_event *ev)
{
    if (!ev)
        return;
    cJSON_Delete(ev->result);
    ferry_rpc_error_clear(&ev->error);
    memset(ev, 0, sizeof *ev);
}

static bool valid_method(const char *m)
{
    size_t n = m ? strlen(m) : 0;
    if (n == 0 || n > MAX_METHOD_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)m[i]) && m[i] != '_')
            return false;
    return true;
}

/* params must be a JSON array or object (JSON-RPC 2.0 §4.2). */
static bool valid_params(const char *p)
{
    cJSON *j = cJSON_Parse(p);
    bool ok = j && (cJSON_IsArray(j) || cJSON_IsObject(j));
    cJSON_Delete(j);
    return ok;
}

static unsigned next_rand(struct ferry_rpc *c)
{
    /* xorshift32: only for jitter, never for anything secret. */
    unsigned x = c->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->rng = x ? x : 0x9e3779b9u;
    return c->rng;
}

/* ---- requests ------------------------------------------------------------------------------ */

static void list_unlink(struct ferry_rpc *c, struct ferry_rpc_pending *r)
{
    if (r->where == WHERE_QUEUED) {
        if (r->prev)
            r->prev->next = r->next;
        else
            c->q_head = r->next;
        if (r->next)
            r->next->prev = r->prev;
        else
            c->q_tail = r->prev;
    } else if (r->where == WHERE_INFLIGHT) {
        if (r->prev)
            r->prev->next = r->next;
        else
            c->in_head = r->next;
        if (r->next)
            r->next->prev = r->prev;
    }
    r->prev = r->next = NULL;
    r->where = WHERE_NONE;
}

static void queue_push_back(struct ferry_rpc *c, struct ferry_rpc_pending *r)
{
    r->where = WHERE_QUEUED;
    r->next = NULL;
    r->prev = c->q_tail;
    if (c->q_tail)
        c->q_tail->next = r;
    else
        c->q_head = r;
    c->q_tail = r;
}

static void queue_push_front(struct ferry_rpc *c, struct ferry_rpc_pending *r)
{
    r->where = WHERE_QUEUED;
    r->prev = NULL;
    r->next = c->q_head;
    if (c->q_head)
        c->q_head->prev = r;
    else
        c->q_tail = r;
    c->q_head = r;
}

static void inflight_push(struct ferry_rpc *c, struct ferry_rpc_pending *r)
{
    r->where = WHERE_INFLIGHT;
    r->prev = NULL;
    r->next = c->in_head;
    if (c->in_head)
        c->in_head->prev = r;
    c->in_head = r;
}

static void req_free(struct ferry_rpc_pending *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        cJSON_Delete(r->slots[i].result);
        ferry_rpc_error_clear(&r->slots[i].error);
    }
    free(r->slots);
    free(r->frame);
    free(r);
}

/* Allocate a request of n calls; frame text is appended later. */
static struct ferry_rpc_pending *req_new(struct ferry_rpc *c, enum req_kind kind, size_t n)
{
    struct ferry_rpc_pending *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->slots = calloc(n, sizeof *r->slots);
    if (!r->slots) {
        free(r);
        return NULL;
    }
    r->c = c;
    r->kind = kind;
    r->n = n;
    return r;
}

/* Build the frame: one call object, or a batch array of n. ids are assigned here. */
static ferry_err req_build(struct ferry_rpc *c, struct ferry_rpc_pending *r,
                           const char *const *methods, const char *const *params, bool batch)
{
    size_t cap = LWS_PRE + 4;
    for (size_t i = 0; i < r->n; i++)
        cap += 64 + strlen(methods[i]) + strlen(params[i] ? params[i] : "[]");
    r->frame = malloc(cap);
    if (!r->frame)
        return FERRY_E_NOMEM;
    pthread_mutex_lock(&c->mu);
    r->first_id = c->next_id;
    c->next_id += r->n;
    pthread_mutex_unlock(&c->mu);
    char *p = (char *)r->frame + LWS_PRE;
    size_t left = cap - LWS_PRE;
    size_t len = 0;
    if (batch)
        p[len++] = '[';
    for (size_t i = 0; i < r->n; i++) {
        int w = snprintf(p + len, left - len,
                         "%s{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"%s\",\"params\":%s}",
                         i ? "," : "", (unsigned long long)(r->first_id + i), methods[i],
                         params[i] ? params[i] : "[]");
        if (w < 0 || (size_t)w >= left - len)
            return FERRY_E_NOMEM;
        len += (size_t)w;
    }
    if (batch)
        p[len++] = ']';
    p[len] = 0;
    r->frame_len = len;
    return FERRY_OK;
}

/* Fail every slot not yet answered with err and mark the request done. */
static void req_fail(struct ferry_rpc_pending *r, ferry_err err)
{
    for (size_t i = 0; i < r->n; i++) {
        if (!r->slots[i].done) {
            r->slots[i].done = true;
            r->slots[i].err = err;
        }
    }
    r->n_done = r->n;
    r->done = true;
}

static void emit(struct ferry_rpc *c, struct rpc_sub *s, struct ferry_rpc_event *ev);
static void early_claim(struct ferry_rpc *c, struct rpc_sub *s);
static void early_prune(struct ferry_rpc *c);

static void sub_detach_reqs(struct ferry_rpc *c, struct rpc_sub *s)
{
    for (struct ferry_rpc_pending *r = c->q_head; r; r = r->next)
        if (r->sub == s)
            r->sub = NULL;
    for (struct ferry_rpc_pending *r = c->in_head; r; r = r->next)
        if (r->sub == s)
            r->sub = NULL;
}

static void sub_free(struct rpc_sub *s)
{
    if (!s)
        return;
    free(s->method);
    free(s->params);
    free(s->unsub_method);
    free(s->remote_id);
    free(s);
}

static struct rpc_sub *sub_find(struct ferry_rpc *c, uint64_t handle)
{
    for (struct rpc_sub *s = c->subs; s; s = s->next)
        if (s->handle == handle)
            return s;
    return NULL;
}

static void sub_remove(struct ferry_rpc *c, struct rpc_sub *s)
{
    for (struct rpc_sub **pp = &c->subs; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    sub_detach_reqs(c, s);
}

/* A request whose every slot has an outcome leaves the in-flight list here. */
static void req_complete(struct ferry_rpc *c, struct ferry_rpc_pending *r)
{
    list_unlink(c, r);
    struct rpc_slot *s0 = &r->slots[0];
    struct rpc_sub *s = r->sub;
    if (r->kind == REQ_SUB || r->kind == REQ_RESUB) {
        bool id_ok =
            s0->err == FERRY_OK && (cJSON_IsString(s0->result) || cJSON_IsNumber(s0->result));
        if (s0->err == FERRY_OK && !id_ok) {
            cJSON_Delete(s0->result);
            s0->result = NULL;
            s0->err = FERRY_E_JSON;
        }
        if (s && id_ok) {
            free(s->remote_id);
            s->remote_id = cJSON_PrintUnformatted(s0->result);
            s->state = s->remote_id ? SUB_ACTIVE : SUB_DEAD;
        }
        if (r->kind == REQ_RESUB) {
            if (s && id_ok && s->remote_id) {
                c->stats.resubscribed++;
                struct ferry_rpc_event ev = {.kind = FERRY_RPC_EV_GAP,
                                             .gap = FERRY_RPC_GAP_RECONNECT};
                emit(c, s, &ev);
                early_claim(c, s); /* after the gap: they are news of the new subscription */
            } else if (s) {
                s->state = SUB_DEAD;
                struct ferry_rpc_event ev = {.kind = FERRY_RPC_EV_SUB_ENDED, .err = s0->err};
                ev.error = s0->error;
                memset(&s0->error, 0, sizeof s0->error);
                emit(c, s, &ev);
            }
            req_free(r);
            early_prune(c);
            return;
        }
        /* Notifications that beat this answer go out first, before any that follow it. */
        if (s && s->state == SUB_ACTIVE)
            early_claim(c, s);
        early_prune(c);
    }
    r->done = true;
    pthread_cond_broadcast(&c->cv);
}

static struct ferry_rpc_pending *find_inflight(struct ferry_rpc *c, uint64_t id)
{
    for (struct ferry_rpc_pending *r = c->in_head; r; r = r->next)
        if (id >= r->first_id && id - r->first_id < r->n)
            return r;
    return NULL;
}

/* ---- events ------------------------------------------------------------------------------------
 */

/* Route an event: to the subscription's callback (delivered once the lock is dropped) or to the
 * bounded event queue. Takes ownership of what ev holds. */
static void emit(struct ferry_rpc *c, struct rpc_sub *s, struct ferry_rpc_event *ev)
{
    if (s)
        ev->sub = s->handle;
    if (s && s->fn) {
        struct ev_node *n = calloc(1, sizeof *n);
        if (!n) {
            ferry_rpc_event_clear(ev);
            return;
        }
        n->ev = *ev;
        n->fn = s->fn;
        n->user = s->user;
        if (c->cb_tail)
            c->cb_tail->next = n;
        else
            c->cb_head = n;
        c->cb_tail = n;
        return;
    }
    bool full = c->n_events >= c->cfg.max_queued_events;
    if (full && ev->kind == FERRY_RPC_EV_NOTIFICATION && s) {
        /* Drop the notification; queue one GAP (above the bound) so the subscriber knows. */
        ferry_rpc_event_clear(ev);
        if (s->overflowed)
            return;
        s->overflowed = true;
        memset(ev, 0, sizeof *ev);
        ev->kind = FERRY_RPC_EV_GAP;
        ev->gap = FERRY_RPC_GAP_OVERFLOW;
        ev->sub = s->handle;
    } else if (full &&
               (ev->kind == FERRY_RPC_EV_CONNECTED || ev->kind == FERRY_RPC_EV_DISCONNECTED)) {
        ferry_rpc_event_clear(ev);
        return;
    } else if (s && ev->kind == FERRY_RPC_EV_NOTIFICATION) {
        s->overflowed = false;
    }
    struct ev_node *n = calloc(1, sizeof *n);
    if (!n) {
        ferry_rpc_event_clear(ev);
        return;
    }
    n->ev = *ev;
    if (c->ev_tail)
        c->ev_tail->next = n;
    else
        c->ev_head = n;
    c->ev_tail = n;
    c->n_events++;
    pthread_cond_broadcast(&c->cv);
}

/* Run queued callback deliveries. Called with mu held; drops it around each callback so the
 * callback may use ferry_rpc_send; ferry_rpc_unsubscribe waits for delivering_sub to clear, so
 * no callback runs after unsubscribe returns. */
static void flush_callbacks(struct ferry_rpc *c)
{
    while (c->cb_head) {
        struct ev_node *n = c->cb_head;
        c->cb_head = n->next;
        if (!c->cb_head)
            c->cb_tail = NULL;
        if (sub_find(c, n->ev.sub) && !c->closing) {
            c->delivering_sub = n->ev.sub;
            pthread_mutex_unlock(&c->mu);
            n->fn(n->user, &n->ev);
            pthread_mutex_lock(&c->mu);
            c->delivering_sub = 0;
            pthread_cond_broadcast(&c->cv);
        }
        ferry_rpc_event_clear(&n->ev);
        free(n);
    }
}

static void conn_event(struct ferry_rpc *c, enum ferry_rpc_event_kind kind, ferry_err err)
{
    struct ferry_rpc_event ev = {.kind = kind, .err = err};
    snprintf(ev.url, sizeof ev.url, "%s", rpc_url(c, c->url_index));
    emit(c, NULL, &ev);
}

/* ---- incoming messages -------------------------------------------------------------------------
 */

ferry_err rpc_parse_error(const cJSON *err, struct ferry_rpc_error *out)
{
    memset(out, 0, sizeof *out);
    cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
    cJSON *data = cJSON_GetObjectItemCaseSensitive(err, "data");
    /* The node picks the number: converting one outside int64_t would be undefined. */
    if (cJSON_IsNumber(code) && code->valuedouble >= -9223372036854775808.0 &&
        code->valuedouble < 9223372036854775808.0)
        out->code = (int64_t)code->valuedouble;
    out->message = strdup(cJSON_IsString(msg) ? msg->valuestring : "");
    out->data = data ? cJSON_PrintUnformatted(data) : NULL;
    if (!out->message) {
        ferry_rpc_error_clear(out);
        return FERRY_E_NOMEM;
    }
    return FERRY_E_RPC;
}

static void fill_slot(struct rpc_slot *slot, cJSON *o)
{
    cJSON *err = cJSON_GetObjectItemCaseSensitive(o, "error");
    slot->done = true;
    if (cJSON_IsObject(err)) {
        slot->err = rpc_parse_error(err, &slot->error);
        return;
    }
    if (!cJSON_HasObjectItem(o, "result")) {
        slot->err = FERRY_E_JSON;
        return;
    }
    slot->result = cJSON_DetachItemFromObjectCaseSensitive(o, "result");
    slot->err = FERRY_OK;
}

static bool id_value(const cJSON *id, uint64_t *out)
{
    if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 9007199254740992.0) {
        *out = (uint64_t)id->valuedouble;
        return true;
    }
    if (cJSON_IsString(id) && id->valuestring[0]) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(id->valuestring, &end, 10);
        if (!errno && !*end && isdigit((unsigned char)id->valuestring[0])) {
            *out = v;
            return true;
        }
    }
    return false;
}

static struct rpc_sub *sub_by_remote(struct ferry_rpc *c, const cJSON *subid)
{
    char *text = cJSON_PrintUnformatted(subid);
    struct rpc_sub *found = NULL;
    if (!text)
        return NULL;
    for (struct rpc_sub *s = c->subs; s && !found; s = s->next)
        if (s->remote_id && strcmp(s->remote_id, text) == 0)
            found = s;
    free(text);
    return found;
}

/* Route one notification's params to s (the subscription its id names). */
static void deliver_notification(struct ferry_rpc *c, struct rpc_sub *s, cJSON *params)
{
    struct ferry_rpc_event ev = {0};
    cJSON *err = cJSON_GetObjectItemCaseSensitive(params, "error");
    if (cJSON_HasObjectItem(params, "result")) {
        ev.kind = FERRY_RPC_EV_NOTIFICATION;
        ev.result = cJSON_DetachItemFromObjectCaseSensitive(params, "result");
    } else {
        /* jsonrpsee ends a subscription with an "error" in place of "result". */
        ev.kind = FERRY_RPC_EV_SUB_ENDED;
        ev.err = FERRY_E_RPC;
        if (cJSON_IsObject(err))
            ev.err = rpc_parse_error(err, &ev.error);
        s->state = SUB_DEAD;
        free(s->remote_id);
        s->remote_id = NULL;
    }
    emit(c, s, &ev);
}

/* ---- early notifications: those that arrive before the answer naming their subscription id.
 * Held (bounded) only while a subscribe or re-subscribe is in flight; claimed by the answer that
 * assigns their id; dropped as unknown once no subscribe is in flight, and on disconnect. */

static bool sub_request_inflight(const struct ferry_rpc *c)
{
    for (const struct ferry_rpc_pending *r = c->in_head; r; r = r->next)
        if (r->kind == REQ_SUB || r->kind == REQ_RESUB)
            return true;
    return false;
}

static void early_note_free(struct early_note *n)
{
    free(n->subid);
    cJSON_Delete(n->params);
    free(n);
}

/* Remember that a notification for subid was lost before its subscription existed. */
static void early_gap_note(struct ferry_rpc *c, const char *subid, size_t len,
                           enum ferry_rpc_gap_reason reason)
{
    for (size_t i = 0; i < c->n_early_gaps; i++)
        if (strlen(c->early_gaps[i].subid) == len && !memcmp(c->early_gaps[i].subid, subid, len))
            return;
    char *copy = strndup(subid, len);
    if (!copy)
        return;
    if (c->n_early_gaps == EARLY_MAX_GAPS) {
        free(c->early_gaps[0].subid);
        memmove(c->early_gaps, c->early_gaps + 1, (EARLY_MAX_GAPS - 1) * sizeof c->early_gaps[0]);
        c->n_early_gaps--;
    }
    c->early_gaps[c->n_early_gaps].subid = copy;
    c->early_gaps[c->n_early_gaps].reason = reason;
    c->n_early_gaps++;
}

static struct early_note *early_pop(struct ferry_rpc *c)
{
    struct early_note *n = c->early_head;
    c->early_head = n->next;
    if (!c->early_head)
        c->early_tail = NULL;
    c->n_early--;
    c->early_bytes -= n->bytes;
    n->next = NULL;
    return n;
}

/* Drop every held notification (counted as unknown ids when count_unknown) and the gap notes. */
static void early_clear(struct ferry_rpc *c, bool count_unknown)
{
    while (c->early_head) {
        if (count_unknown)
            c->stats.unknown_ids++;
        early_note_free(early_pop(c));
    }
    for (size_t i = 0; i < c->n_early_gaps; i++)
        free(c->early_gaps[i].subid);
    c->n_early_gaps = 0;
}

/* Nothing can claim held notifications once no subscribe is in flight. */
static void early_prune(struct ferry_rpc *c)
{
    if ((c->early_head || c->n_early_gaps) && !sub_request_inflight(c))
        early_clear(c, true);
}

/* Hold a notification for an id no subscription has (yet), taking params out of message o.
 * bytes is its size when known, else 0. The oldest held ones make room. */
static void early_hold(struct ferry_rpc *c, cJSON *o, cJSON *params, const cJSON *subid,
                       size_t bytes)
{
    char *idtext = cJSON_PrintUnformatted(subid);
    if (!idtext) {
        c->stats.unknown_ids++;
        return;
    }
    if (!bytes) {
        char *t = cJSON_PrintUnformatted(params);
        bytes = t ? strlen(t) : EARLY_MAX_BYTES + 1;
        free(t);
    }
    c->stats.early_buffered++;
    if (bytes > EARLY_MAX_BYTES) {
        c->stats.early_dropped++;
        early_gap_note(c, idtext, strlen(idtext), FERRY_RPC_GAP_OVERFLOW);
        free(idtext);
        return;
    }
    while (c->early_head &&
           (c->n_early >= EARLY_MAX_NOTES || c->early_bytes + bytes > EARLY_MAX_BYTES)) {
        struct early_note *old = early_pop(c);
        c->stats.early_dropped++;
        early_gap_note(c, old->subid, strlen(old->subid), FERRY_RPC_GAP_OVERFLOW);
        early_note_free(old);
    }
    struct early_note *n = calloc(1, sizeof *n);
    if (!n) {
        c->stats.early_dropped++;
        early_gap_note(c, idtext, strlen(idtext), FERRY_RPC_GAP_OVERFLOW);
        free(idtext);
        return;
    }
    n->subid = idtext;
    n->params = cJSON_DetachItemViaPointer(o, params);
    n->bytes = bytes;
    if (c->early_tail)
        c->early_tail->next = n;
    else
        c->early_head = n;
    c->early_tail = n;
    c->n_early++;
    c->early_bytes += bytes;
}

/* s just got its subscription id: deliver what arrived for it before, in order (a gap first when
 * some of it had to be dropped). */
static void early_claim(struct ferry_rpc *c, struct rpc_sub *s)
{
    if (!s->remote_id || (!c->early_head && !c->n_early_gaps))
        return;
    char *id = strdup(s->remote_id); /* delivering an end notification clears remote_id */
    if (!id)
        return;
    for (size_t i = 0; i < c->n_early_gaps; i++) {
        if (strcmp(c->early_gaps[i].subid, id) != 0)
            continue;
        struct ferry_rpc_event ev = {.kind = FERRY_RPC_EV_GAP, .gap = c->early_gaps[i].reason};
        free(c->early_gaps[i].subid);
        memmove(c->early_gaps + i, c->early_gaps + i + 1,
                (c->n_early_gaps - i - 1) * sizeof c->early_gaps[0]);
        c->n_early_gaps--;
        emit(c, s, &ev);
        break;
    }
    struct early_note *keep_head = NULL, *keep_tail = NULL;
    while (c->early_head) {
        struct early_note *n = early_pop(c);
        if (strcmp(n->subid, id) != 0) {
            if (keep_tail)
                keep_tail->next = n;
            else
                keep_head = n;
            keep_tail = n;
            c->n_early++;
            c->early_bytes += n->bytes;
            continue;
        }
        if (s->remote_id) /* still active: an earlier one may have ended it */
            deliver_notification(c, s, n->params);
        else
            c->stats.unknown_ids++;
        early_note_free(n);
    }
    c->early_head = keep_head;
    c->early_tail = keep_tail;
    free(id);
}

/* A notification: route it by subscription id, or hold it when a subscribe is in flight (its
 * answer may still name the id). o is the message, bytes its size (0: unknown). */
static void dispatch_notification(struct ferry_rpc *c, cJSON *o, cJSON *params, size_t bytes)
{
    cJSON *subid = cJSON_GetObjectItemCaseSensitive(params, "subscription");
    struct rpc_sub *s = subid ? sub_by_remote(c, subid) : NULL;
    if (s) {
        deliver_notification(c, s, params);
        return;
    }
    if (subid && (cJSON_IsString(subid) || cJSON_IsNumber(subid)) && sub_request_inflight(c)) {
        early_hold(c, o, params, subid, bytes);
        return;
    }
    c->stats.unknown_ids++;
}

/* Fail every unanswered slot of r: with a copy of the error object err, or with FERRY_E_JSON
 * when err is NULL. r leaves the in-flight list. */
static void fail_rest(struct ferry_rpc *c, struct ferry_rpc_pending *r, const cJSON *err)
{
    for (size_t i = 0; i < r->n; i++) {
        struct rpc_slot *slot = &r->slots[i];
        if (slot->done)
            continue;
        slot->done = true;
        slot->err = err ? rpc_parse_error(err, &slot->error) : FERRY_E_JSON;
    }
    r->n_done = r->n;
    req_complete(c, r);
}

/* One message object; bytes is its size when it came alone, 0 for an item of a batch. owner is
 * the request this message can only be answering (HTTP), else NULL. Returns: the request (first
 * id) a response was matched to, 0 when none. */
static uint64_t dispatch_one(struct ferry_rpc *c, cJSON *o, size_t bytes,
                             struct ferry_rpc_pending *owner)
{
    if (!cJSON_IsObject(o)) {
        c->stats.malformed++;
        return 0;
    }
    cJSON *method = cJSON_GetObjectItemCaseSensitive(o, "method");
    cJSON *params = cJSON_GetObjectItemCaseSensitive(o, "params");
    cJSON *idj = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (cJSON_IsString(method) && cJSON_IsObject(params) && (!idj || cJSON_IsNull(idj))) {
        dispatch_notification(c, o, params, bytes);
        return 0;
    }
    uint64_t id;
    if (!id_value(idj, &id)) {
        /* An error the node could not tie to a request (id null: a batch it refused whole, a
         * request it could not parse) belongs to the request that can be the only one asking. */
        cJSON *err = cJSON_GetObjectItemCaseSensitive(o, "error");
        struct ferry_rpc_pending *r = owner;
        if (!r && c->in_head && !c->in_head->next)
            r = c->in_head;
        if ((!idj || cJSON_IsNull(idj)) && cJSON_IsObject(err) && r && r->where == WHERE_INFLIGHT) {
            uint64_t first = r->first_id;
            fail_rest(c, r, err);
            return first;
        }
        c->stats.unknown_ids++;
        return 0;
    }
    struct ferry_rpc_pending *r = find_inflight(c, id);
    if (!r || r->slots[id - r->first_id].done) {
        c->stats.unknown_ids++;
        return 0;
    }
    uint64_t first = r->first_id;
    fill_slot(&r->slots[id - r->first_id], o);
    if (++r->n_done == r->n)
        req_complete(c, r);
    return first;
}

/* Batches one array answer may touch and have its missing items failed (more are left to their
 * deadline). */
#define MAX_BATCHES_PER_ANSWER 16

/* Parse one complete message and route it; owner as for dispatch_one. Called with mu held. */
static void dispatch_text(struct ferry_rpc *c, const char *text, size_t len,
                          struct ferry_rpc_pending *owner)
{
    c->stats.messages_in++;
    cJSON *msg = cJSON_ParseWithLength(text, len);
    if (!msg) {
        c->stats.malformed++;
        return;
    }
    if (cJSON_IsArray(msg)) {
        uint64_t batches[MAX_BATCHES_PER_ANSWER];
        size_t n_batches = 0;
        cJSON *item;
        cJSON_ArrayForEach(item, msg)
        {
            uint64_t first = dispatch_one(c, item, 0, owner);
            bool seen = !first;
            for (size_t i = 0; i < n_batches && !seen; i++)
                seen = batches[i] == first;
            if (!seen && n_batches < MAX_BATCHES_PER_ANSWER)
                batches[n_batches++] = first;
        }
        /* The answer to a batch is one array: items it lacks will never come. */
        for (size_t i = 0; i < n_batches; i++) {
            struct ferry_rpc_pending *r = find_inflight(c, batches[i]);
            if (r && r->first_id == batches[i] && r->n > 1)
                fail_rest(c, r, NULL);
        }
    } else {
        dispatch_one(c, msg, len, owner);
    }
    cJSON_Delete(msg);
}

/* Find `"key":` in s[len] (first or last occurrence) and return a pointer just past the colon. */
static const char *find_key(const char *s, size_t len, const char *key, bool last)
{
    size_t kl = strlen(key);
    const char *found = NULL;
    for (size_t i = 0; i + kl <= len; i++) {
        if (memcmp(s + i, key, kl) != 0)
            continue;
        size_t j = i + kl;
        while (j < len && isspace((unsigned char)s[j]))
            j++;
        if (j < len && s[j] == ':') {
            found = s + j + 1;
            if (!last)
                break;
        }
    }
    return found;
}

static bool scan_id(const char *s, size_t len, bool last, uint64_t *id)
{
    const char *p = find_key(s, len, "\"id\"", last);
    if (!p)
        return false;
    const char *end = s + len;
    while (p < end && (isspace((unsigned char)*p) || *p == '"'))
        p++;
    if (p >= end || !isdigit((unsigned char)*p))
        return false;
    uint64_t v = 0;
    while (p < end && isdigit((unsigned char)*p) && v < (UINT64_MAX - 9) / 10)
        v = v * 10 + (uint64_t)(*p++ - '0');
    *id = v;
    return true;
}

/* An over-limit message was discarded; only its first and last bytes were kept. Fail the request
 * it answers (found by id) or tell the subscription it belongs to that it has a gap. */
static void handle_too_large(struct ferry_rpc *c)
{
    c->stats.too_large++;
    const char *sp = find_key(c->rx_head, c->rx_head_len, "\"subscription\"", false);
    if (sp) {
        const char *end = c->rx_head + c->rx_head_len;
        while (sp < end && isspace((unsigned char)*sp))
            sp++;
        const char *e = sp;
        if (e < end && *e == '"') {
            e++;
            while (e < end && *e != '"')
                e++;
            if (e == end)
                e = sp; /* no closing quote in the head: not comparable */
            else
                e++;
        } else {
            while (e < end && (isalnum((unsigned char)*e)))
                e++;
        }
        if (e <= end && e > sp) {
            for (struct rpc_sub *s = c->subs; s; s = s->next) {
                if (s->remote_id && strlen(s->remote_id) == (size_t)(e - sp) &&
                    memcmp(s->remote_id, sp, (size_t)(e - sp)) == 0) {
                    struct ferry_rpc_event ev = {.kind = FERRY_RPC_EV_GAP,
                                                 .gap = FERRY_RPC_GAP_TOO_LARGE};
                    emit(c, s, &ev);
                    return;
                }
            }
            /* A notification ({"method":..,"params":{"subscription":..; no "id" before) ahead
             * of the answer naming its id: the subscription starts with a gap and no request is
             * failed for it. */
            const char *mp = find_key(c->rx_head, c->rx_head_len, "\"method\"", false);
            const char *pp = find_key(c->rx_head, c->rx_head_len, "\"params\"", false);
            const char *ip = find_key(c->rx_head, c->rx_head_len, "\"id\"", false);
            if (mp && pp && mp < sp && pp < sp && (!ip || ip > sp) && sub_request_inflight(c)) {
                c->stats.early_buffered++;
                c->stats.early_dropped++;
                early_gap_note(c, sp, (size_t)(e - sp), FERRY_RPC_GAP_TOO_LARGE);
                return;
            }
        }
    }
    uint64_t id;
    struct ferry_rpc_pending *r = NULL;
    if (scan_id(c->rx_tail, c->rx_tail_len, true, &id))
        r = find_inflight(c, id);
    if (!r && scan_id(c->rx_head, c->rx_head_len, false, &id))
        r = find_inflight(c, id);
    if (!r && c->in_head && !c->in_head->next)
        r = c->in_head; /* the only request in flight */
    if (!r)
        return;
    req_fail(r, FERRY_E_TOO_LARGE);
    r->done = false;
    req_complete(c, r);
}

static void rx_reset(struct ferry_rpc *c)
{
    if (c->rx_cap > RX_KEEP_CAP) {
        free(c->rx);
        c->rx = NULL;
        c->rx_cap = 0;
    }
    c->rx_len = 0;
    c->rx_discard = false;
    c->rx_head_len = 0;
    c->rx_tail_len = 0;
}

static void rx_keep_tail(struct ferry_rpc *c, const char *in, size_t len)
{
    if (len >= RX_TAIL) {
        memcpy(c->rx_tail, in + len - RX_TAIL, RX_TAIL);
        c->rx_tail_len = RX_TAIL;
        return;
    }
    size_t keep = c->rx_tail_len + len > RX_TAIL ? RX_TAIL - len : c->rx_tail_len;
    memmove(c->rx_tail, c->rx_tail + c->rx_tail_len - keep, keep);
    memcpy(c->rx_tail + keep, in, len);
    c->rx_tail_len = keep + len;
}

/* One received piece of a WebSocket message. Called with mu held. */
static void on_receive(struct ferry_rpc *c, struct lws *wsi, const char *in, size_t len)
{
    size_t max = c->cfg.max_message_bytes;
    c->last_rx_us = now_us();
    c->stats.bytes_in += len;
    if (!c->rx_discard && c->rx_len + len > max) {
        /* Over the limit: keep the head to identify the message, drop the rest as it comes. */
        c->rx_discard = true;
        c->rx_head_len = c->rx_len < RX_HEAD ? c->rx_len : RX_HEAD;
        memcpy(c->rx_head, c->rx, c->rx_head_len);
        c->rx_tail_len = 0;
        rx_keep_tail(c,
                     (const char *)c->rx + c->rx_len - (c->rx_len < RX_TAIL ? c->rx_len : RX_TAIL),
                     c->rx_len < RX_TAIL ? c->rx_len : RX_TAIL);
        free(c->rx);
        c->rx = NULL;
        c->rx_cap = 0;
        c->rx_len = 0;
    }
    if (c->rx_discard) {
        if (c->rx_head_len < RX_HEAD) {
            size_t take = RX_HEAD - c->rx_head_len < len ? RX_HEAD - c->rx_head_len : len;
            memcpy(c->rx_head + c->rx_head_len, in, take);
            c->rx_head_len += take;
        }
        rx_keep_tail(c, in, len);
    } else {
        size_t need = c->rx_len + len + 1;
        if (need > c->rx_cap) {
            /* Grow geometrically, but reserve the rest of the current frame at once. */
            size_t want = c->rx_cap ? c->rx_cap * 2 : 65536;
            size_t hint = c->rx_len + len + lws_remaining_packet_payload(wsi) + 1;
            if (want < hint)
                want = hint;
            if (want < need)
                want = need;
            if (want > max + 1)
                want = max + 1;
            unsigned char *nb = realloc(c->rx, want);
            if (!nb) {
                c->rx_discard = true; /* treat as over-limit: fail its request, keep going */
                c->rx_head_len = 0;
            } else {
                c->rx = nb;
                c->rx_cap = want;
            }
        }
        if (!c->rx_discard) {
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (!lws_is_final_fragment(wsi))
        return;
    if (c->rx_discard) {
        c->stats.messages_in++;
        handle_too_large(c);
    } else {
        dispatch_text(c, (const char *)c->rx, c->rx_len, NULL);
    }
    /* Time spent parsing a large message here is not silence of the peer. */
    c->last_rx_us = now_us();
    rx_reset(c);
}

/* ---- connection lifecycle (service thread, mu held) ------------------------------------------ */

static int64_t backoff_us(struct ferry_rpc *c)
{
    uint64_t base = c->cfg.backoff_initial_ms;
    for (unsigned i = 0; i < c->attempt && base < c->cfg.backoff_max_ms; i++)
        base *= 2;
    if (base > c->cfg.backoff_max_ms)
        base = c->cfg.backoff_max_ms;
    if (c->attempt < 32)
        c->attempt++;
    /* "Equal jitter": half fixed, half random, so delays still grow but never synchronise. */
    uint64_t half = base / 2;
    uint64_t delay = half + (half ? next_rand(c) % (half + 1) : 0);
    return (int64_t)delay * 1000;
}

static void conn_lost(struct ferry_rpc *c, ferry_err why)
{
    if (c->conn == CONN_WAIT)
        return;
    int64_t now = now_us();
    bool was_open = c->conn == CONN_OPEN;
    c->conn = CONN_WAIT;
    c->wsi = NULL;
    c->ping_due = false;
    c->kill_requested = false;
    rx_reset(c);
    if (c->rx_cap) {
        free(c->rx);
        c->rx = NULL;
        c->rx_cap = 0;
    }
    if (was_open) {
        if (!c->closing)
            ferry_log_warn("rpc", "connection to %s lost: %s; reconnecting",
                           rpc_url(c, c->url_index),
                           c->last_error[0] ? c->last_error : ferry_strerror(why));
        c->stats.disconnects++;
        if (now - c->established_us >= STABLE_CONNECTION_US)
            c->attempt = 0;
        conn_event(c, FERRY_RPC_EV_DISCONNECTED, why);
    } else {
        c->stats.failed_connects++;
        c->fail_streak++; /* only failed attempts count, not the loss of a working connection */
    }
    /* Early notifications belonged to this connection's subscription ids. */
    early_clear(c, true);
    /* Requests already sent may or may not have been executed: the caller decides (RETRY). */
    while (c->in_head) {
        struct ferry_rpc_pending *r = c->in_head;
        list_unlink(c, r);
        if (r->kind == REQ_RESUB) {
            req_free(r);
            continue;
        }
        req_fail(r, FERRY_E_RETRY);
    }
    /* Internal re-subscriptions not yet sent are rebuilt on the next connection. */
    for (struct ferry_rpc_pending *r = c->q_head, *next; r; r = next) {
        next = r->next;
        if (r->kind == REQ_RESUB) {
            list_unlink(c, r);
            req_free(r);
        } else if (c->fail_streak >= c->n_urls) {
            list_unlink(c, r);
            req_fail(r, FERRY_E_NET);
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
            emit(c, s, &ev);
        } else {
            s->state = SUB_NEED_RESUB;
        }
    }
    c->url_index = (c->url_index + 1) % c->n_urls;
    c->next_attempt_us = now + backoff_us(c);
    ferry_log_debug("rpc", "next attempt %s in %lld ms", rpc_url(c, c->url_index),
                    (long long)(c->next_attempt_us - now) / 1000);
    pthread_cond_broadcast(&c->cv);
}

static void on_established(struct ferry_rpc *c)
{
    int64_t now = now_us();
    c->conn = CONN_OPEN;
    c->stats.connects++;
    c->fail_streak = 0;
    c->established_us = c->last_rx_us = c->last_ping_us = now;
    c->kill_requested = false;
    ferry_log(c->stats.connects > 1 ? FERRY_LOG_INFO : FERRY_LOG_DEBUG, "rpc", "connected to %s",
              rpc_url(c, c->url_index));
    conn_event(c, FERRY_RPC_EV_CONNECTED, FERRY_OK);
    for (struct rpc_sub *s = c->subs; s; s = s->next) {
        if (s->state != SUB_NEED_RESUB)
            continue;
        struct ferry_rpc_pending *r = req_new(c, REQ_RESUB, 1);
        if (!r)
            continue;
        /* Not req_build: that takes mu for the id, which we hold. */
        size_t cap = LWS_PRE + 64 + strlen(s->method) + strlen(s->params);
        r->frame = malloc(cap);
        if (!r->frame) {
            req_free(r);
            continue;
        }
        r->first_id = c->next_id++;
        int w = snprintf((char *)r->frame + LWS_PRE, cap - LWS_PRE,
                         "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"%s\",\"params\":%s}",
                         (unsigned long long)r->first_id, s->method, s->params);
        if (w < 0 || (size_t)w >= cap - LWS_PRE) {
            req_free(r);
            continue;
        }
        r->frame_len = (size_t)w;
        r->sub = s;
        r->deadline_us = now + (int64_t)c->cfg.request_timeout_ms * 1000;
        s->state = SUB_RESUBSCRIBING;
        queue_push_front(c, r);
    }
    if (c->q_head)
        lws_callback_on_writable(c->wsi);
    pthread_cond_broadcast(&c->cv);
}

static int on_writable(struct ferry_rpc *c, struct lws *wsi)
{
    if (c->ping_due) {
        unsigned char buf[LWS_PRE + 4];
        c->ping_due = false;
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
        list_unlink(c, r);
        inflight_push(c, r);
        int n = lws_write(wsi, r->frame + LWS_PRE, r->frame_len, LWS_WRITE_TEXT);
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
    c->gen++;
    c->conn = CONN_CONNECTING;
    c->attempt_started_us = now_us();
    c->kill_requested = false;
    if (parse_ws_url(url, &u) != 0) { /* validated at open; defensive */
        rpc_set_last_error(c, "%s: malformed URL", url);
        conn_lost(c, FERRY_E_ARG);
        return;
    }
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = c->ctx;
    ci.address = u.host;
    ci.port = u.port;
    ci.path = u.path;
    ci.host = u.host;
    ci.origin = u.host;
    ci.protocol = NULL; /* Substrate nodes speak no subprotocol; don't ask for one */
    ci.local_protocol_name = "ferry-jsonrpc";
    ci.ietf_version_or_minus_one = -1;
    ci.opaque_user_data = (void *)(uintptr_t)c->gen;
    if (u.tls) {
        ci.ssl_connection = LCCSCF_USE_SSL;
        if (c->cfg.insecure)
            ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                 LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
    uint64_t gen = c->gen;
    /* lws may call back synchronously (connection error); the callback takes mu. */
    pthread_mutex_unlock(&c->mu);
    struct lws *wsi = lws_client_connect_via_info(&ci);
    pthread_mutex_lock(&c->mu);
    if (c->gen != gen || c->conn != CONN_CONNECTING)
        return; /* already failed inside the call */
    if (!wsi) {
        if (!c->last_error[0])
            rpc_set_last_error(c, "%s: cannot start connection", url);
        conn_lost(c, FERRY_E_NET);
        return;
    }
    c->wsi = wsi;
}

static void kill_connection(struct ferry_rpc *c, const char *why)
{
    if (c->kill_requested || !c->wsi)
        return;
    rpc_set_last_error(c, "%s: %s", rpc_url(c, c->url_index), why);
    c->kill_requested = true;
    c->kill_at_us = now_us();
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    struct ferry_rpc *c = lws_container_of(sul, struct ferry_rpc, tick);
    pthread_mutex_lock(&c->mu);
    int64_t now = now_us();
    if (c->kill_requested && now - c->kill_at_us > KILL_GRACE_US)
        conn_lost(c, FERRY_E_NET); /* lws never reported the close: abandon the wsi */
    switch (c->conn) {
    case CONN_WAIT:
        if (!c->closing && now >= c->next_attempt_us)
            start_connect(c);
        break;
    case CONN_CONNECTING:
        if (now - c->attempt_started_us > (int64_t)c->cfg.connect_timeout_ms * 1000)
            kill_connection(c, "connect timed out");
        break;
    case CONN_OPEN: {
        int64_t silence = now - c->last_rx_us;
        if (silence >= (int64_t)c->cfg.dead_after_ms * 1000) {
            if (!c->kill_requested)
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
            now - c->last_ping_us >= (int64_t)c->cfg.ping_interval_ms * 1000 && c->wsi) {
            c->ping_due = true;
            c->last_ping_us = now;
            lws_callback_on_writable(c->wsi);
        }
        break;
    }
    }
    flush_callbacks(c);
    pthread_mutex_unlock(&c->mu);
    lws_sul_schedule(c->ctx, 0, &c->tick, tick_cb, c->tick_us);
}

static bool is_current(struct ferry_rpc *c, struct lws *wsi)
{
    return c->conn != CONN_WAIT && (uintptr_t)lws_get_opaque_user_data(wsi) == c->gen;
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
        if (c->closing && c->wsi && !c->kill_requested)
            kill_connection(c, "client closing");
        else if (c->conn == CONN_OPEN && c->wsi && c->q_head)
            lws_callback_on_writable(c->wsi);
        pthread_mutex_unlock(&c->mu);
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        pthread_mutex_lock(&c->mu);
        if (is_current(c, wsi)) {
            c->wsi = wsi;
            on_established(c);
        }
        flush_callbacks(c);
        pthread_mutex_unlock(&c->mu);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        pthread_mutex_lock(&c->mu);
        if (is_current(c, wsi))
            on_receive(c, wsi, in, len);
        flush_callbacks(c);
        pthread_mutex_unlock(&c->mu);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        pthread_mutex_lock(&c->mu);
        if (is_current(c, wsi))
            c->last_rx_us = now_us();
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
        flush_callbacks(c);
        pthread_mutex_unlock(&c->mu);
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
    case LWS_CALLBACK_WSI_DESTROY:
        pthread_mutex_lock(&c->mu);
        if (is_current(c, wsi)) {
            if (!c->kill_requested)
                rpc_set_last_error(c, "%s: connection closed by peer", rpc_url(c, c->url_index));
            conn_lost(c, FERRY_E_NET);
        }
        flush_callbacks(c);
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
    lws_sul_schedule(c->ctx, 0, &c->tick, tick_cb, 1);
    while (!atomic_load(&c->stop))
        lws_service(c->ctx, 0);
    lws_sul_cancel(&c->tick);
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
    c->ctx = lws_create_context(&info);
    if (!c->ctx) {
        rpc_set_last_error(c, "libwebsockets context creation failed");
        return FERRY_E_NET;
    }
    uint32_t shortest = c->cfg.ping_interval_ms;
    if (c->cfg.dead_after_ms < shortest)
        shortest = c->cfg.dead_after_ms;
    if (c->cfg.backoff_initial_ms < shortest)
        shortest = c->cfg.backoff_initial_ms;
    int64_t t = (int64_t)shortest * 1000 / 5;
    c->tick_us = t < 5000 ? 5000 : t > 100000 ? 100000 : t;
    atomic_store(&c->stop, false);
    if (pthread_create(&c->thread, NULL, service_main, c) != 0) {
        lws_context_destroy(c->ctx);
        c->ctx = NULL;
        return FERRY_E_NOMEM;
    }
    c->thread_started = true;
    return FERRY_OK;
}

/* ---- public API --------------------------------------------------------------------------------
 */

static void free_client(struct ferry_rpc *c)
{
    while (c->subs) {
        struct rpc_sub *s = c->subs;
        c->subs = s->next;
        sub_free(s);
    }
    for (struct ev_node *n = c->ev_head, *next; n; n = next) {
        next = n->next;
        ferry_rpc_event_clear(&n->ev);
        free(n);
    }
    for (struct ev_node *n = c->cb_head, *next; n; n = next) {
        next = n->next;
        ferry_rpc_event_clear(&n->ev);
        free(n);
    }
    early_clear(c, false);
    /* Only internal re-subscriptions can still be listed: ferry_rpc_close took the callers'. */
    while (c->q_head) {
        struct ferry_rpc_pending *r = c->q_head;
        list_unlink(c, r);
        if (r->kind == REQ_RESUB)
            req_free(r);
    }
    while (c->in_head) {
        struct ferry_rpc_pending *r = c->in_head;
        list_unlink(c, r);
        if (r->kind == REQ_RESUB)
            req_free(r);
    }
    free(c->rx);
    for (size_t i = 0; i < c->n_urls; i++)
        free(c->urls[i]);
    free(c->urls);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

ferry_err ferry_rpc_open(const struct ferry_rpc_config *cfg, struct ferry_rpc **out)
{
    *out = NULL;
    if (!cfg || !cfg->urls || cfg->n_urls == 0)
        return FERRY_E_ARG;
    bool ws = false, http = false;
    for (size_t i = 0; i < cfg->n_urls; i++) {
        const char *u = cfg->urls[i];
        struct url_parts parts;
        if (!u)
            return FERRY_E_ARG;
        if (strncmp(u, "ws://", 5) == 0 || strncmp(u, "wss://", 6) == 0) {
            if (parse_ws_url(u, &parts) != 0)
                return FERRY_E_ARG;
            ws = true;
        } else if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) {
            if (!u[strncmp(u, "http://", 7) == 0 ? 7 : 8])
                return FERRY_E_ARG;
            http = true;
        } else {
            return FERRY_E_ARG;
        }
    }
    if (ws && http)
        return FERRY_E_ARG;
    pthread_once(&log_once, init_logging);

    struct ferry_rpc *c = calloc(1, sizeof *c);
    if (!c)
        return FERRY_E_NOMEM;
    c->cfg = *cfg;
    struct ferry_rpc_config *k = &c->cfg;
    if (!k->max_message_bytes)
        k->max_message_bytes = DEFAULT_MAX_MESSAGE;
    if (k->max_message_bytes > SIZE_MAX / 4) /* sizes below add to it: keep them from wrapping */
        k->max_message_bytes = SIZE_MAX / 4;
    if (!k->request_timeout_ms)
        k->request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
    if (!k->connect_timeout_ms)
        k->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    if (!k->ping_interval_ms)
        k->ping_interval_ms = DEFAULT_PING_INTERVAL_MS;
    if (!k->dead_after_ms)
        k->dead_after_ms = DEFAULT_DEAD_AFTER_MS;
    if (!k->backoff_initial_ms)
        k->backoff_initial_ms = DEFAULT_BACKOFF_INITIAL_MS;
    if (!k->backoff_max_ms)
        k->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
    if (k->backoff_max_ms < k->backoff_initial_ms)
        k->backoff_max_ms = k->backoff_initial_ms;
    if (!k->max_queued_events)
        k->max_queued_events = DEFAULT_MAX_EVENTS;
    k->urls = NULL;
    c->transport = ws ? TRANSPORT_WS : TRANSPORT_HTTP;
    c->next_id = 1;
    c->next_sub = 1;
    c->rng = (unsigned)now_us() ^ (unsigned)(uintptr_t)c;
    if (!c->rng)
        c->rng = 1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->mu, NULL);
    c->urls = calloc(cfg->n_urls, sizeof *c->urls);
    if (!c->urls) {
        free_client(c);
        return FERRY_E_NOMEM;
    }
    c->n_urls = cfg->n_urls;
    for (size_t i = 0; i < cfg->n_urls; i++) {
        c->urls[i] = strdup(cfg->urls[i]);
        if (!c->urls[i]) {
            free_client(c);
            return FERRY_E_NOMEM;
        }
    }
    ferry_err err = ws ? ws_start(c) : rpc_http_init(c);
    if (err) {
        free_client(c);
        return err;
    }
    *out = c;
    return FERRY_OK;
}

static int64_t deadline_after(uint32_t timeout_ms)
{
    return now_us() + (int64_t)timeout_ms * 1000;
}

static void cond_wait_until(struct ferry_rpc *c, int64_t deadline)
{
    struct timespec ts;
    ts.tv_sec = deadline / 1000000;
    ts.tv_nsec = (deadline % 1000000) * 1000;
    pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

void ferry_rpc_close(struct ferry_rpc *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->closing = true;
    /* Take every caller's request off the lists before failing it: its owner frees it as soon as
     * it sees it done, so nothing here (nor the service thread) may reach it afterwards. */
    struct ferry_rpc_pending *lists[2] = {c->q_head, c->in_head};
    for (int l = 0; l < 2; l++) {
        for (struct ferry_rpc_pending *r = lists[l], *next; r; r = next) {
            next = r->next;
            if (r->kind == REQ_RESUB)
                continue;
            list_unlink(c, r);
            req_fail(r, FERRY_E_STATE);
            atomic_store(&r->orphaned, true);
        }
    }
    pthread_cond_broadcast(&c->cv);
    /* Waiting callers wake up to FERRY_E_STATE; let them leave before anything is freed. */
    while (c->users)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    if (c->transport == TRANSPORT_WS) {
        if (c->thread_started) {
            /* Close the connection on the service thread first: a TLS connection torn down by
             * lws_context_destroy from here leaks its OpenSSL state (lws 4.1). */
            lws_cancel_service(c->ctx);
            int64_t deadline = deadline_after(1000);
            pthread_mutex_lock(&c->mu);
            while (c->conn != CONN_WAIT && now_us() < deadline)
                cond_wait_until(c, deadline);
            pthread_mutex_unlock(&c->mu);
            atomic_store(&c->stop, true);
            lws_cancel_service(c->ctx);
            pthread_join(c->thread, NULL);
        }
        if (c->ctx)
            lws_context_destroy(c->ctx); /* closes the socket; callbacks run on this thread */
        c->ctx = NULL;
    } else {
        rpc_http_cleanup(c);
    }
    free_client(c);
}

ferry_err ferry_rpc_wait_connected(struct ferry_rpc *c, uint32_t timeout_ms)
{
    if (c->transport == TRANSPORT_HTTP)
        return FERRY_OK;
    int64_t deadline = deadline_after(timeout_ms);
    ferry_err err = FERRY_E_TIMEOUT;
    pthread_mutex_lock(&c->mu);
    user_enter(c);
    for (;;) {
        if (c->conn == CONN_OPEN) {
            err = FERRY_OK;
            break;
        }
        if (c->fail_streak >= c->n_urls) {
            err = FERRY_E_NET;
            break;
        }
        if (c->closing) {
            err = FERRY_E_STATE;
            break;
        }
        if (now_us() >= deadline)
            break;
        cond_wait_until(c, deadline);
    }
    user_leave(c);
    pthread_mutex_unlock(&c->mu);
    return err;
}

char *ferry_rpc_last_error(struct ferry_rpc *c, char *buf, size_t cap)
{
    pthread_mutex_lock(&c->mu);
    snprintf(buf, cap, "%s", c->last_error);
    pthread_mutex_unlock(&c->mu);
    return buf;
}

void ferry_rpc_get_stats(struct ferry_rpc *c, struct ferry_rpc_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->mu);
}

/* HTTP: perform the request now, in the caller's thread, and dispatch the answer. */
static void http_perform(struct ferry_rpc *c, struct ferry_rpc_pending *r, uint32_t timeout_ms)
{
    char *resp = NULL;
    size_t resp_len = 0;
    long status = 0;
    pthread_mutex_lock(&c->mu);
    if (c->closing) {
        req_fail(r, FERRY_E_STATE);
        pthread_mutex_unlock(&c->mu);
        return;
    }
    user_enter(c);
    inflight_push(c, r);
    pthread_mutex_unlock(&c->mu);
    ferry_err err = rpc_http_post(c, (const char *)r->frame + LWS_PRE, r->frame_len, timeout_ms,
                                  &resp, &resp_len, &status);
    pthread_mutex_lock(&c->mu);
    if (!err) {
        uint64_t before = c->stats.malformed;
        dispatch_text(c, resp, resp_len, r->where == WHERE_INFLIGHT ? r : NULL);
        if (!r->done)
            err = c->stats.malformed != before && status >= 200 && status < 300 ? FERRY_E_JSON
                  : status >= 500 || status == 429                              ? FERRY_E_RETRY
                  : status >= 300                                               ? FERRY_E_NET
                                                                                : FERRY_E_JSON;
    }
    if (!r->done) {
        list_unlink(c, r);
        req_fail(r, err);
    }
    user_leave(c);
    pthread_mutex_unlock(&c->mu);
    free(resp);
}

/* Queue a built request (WebSocket) or perform it (HTTP). */
static ferry_err submit(struct ferry_rpc *c, struct ferry_rpc_pending *r, uint32_t timeout_ms)
{
    r->deadline_us = deadline_after(timeout_ms);
    if (c->transport == TRANSPORT_HTTP) {
        http_perform(c, r, timeout_ms);
        return FERRY_OK;
    }
    pthread_mutex_lock(&c->mu);
    if (c->closing) {
        pthread_mutex_unlock(&c->mu);
        return FERRY_E_STATE;
    }
    if (c->conn != CONN_OPEN && c->fail_streak >= c->n_urls) {
        /* Every URL failed in a row: answer now rather than at the deadline. */
        req_fail(r, FERRY_E_NET);
        pthread_mutex_unlock(&c->mu);
        return FERRY_OK;
    }
    queue_push_back(c, r);
    user_enter(c); /* c->ctx must outlive the wake-up below */
    pthread_mutex_unlock(&c->mu);
    lws_cancel_service(c->ctx);
    pthread_mutex_lock(&c->mu);
    user_leave(c);
    pthread_mutex_unlock(&c->mu);
    return FERRY_OK;
}

/* Wait until r is done or its deadline passes; afterwards r is on no list. */
static void wait_done(struct ferry_rpc *c, struct ferry_rpc_pending *r)
{
    pthread_mutex_lock(&c->mu);
    user_enter(c);
    while (!r->done && now_us() < r->deadline_us)
        cond_wait_until(c, r->deadline_us);
    if (!r->done) {
        bool never_sent = r->where == WHERE_QUEUED && c->conn != CONN_OPEN;
        list_unlink(c, r);
        req_fail(r, never_sent ? FERRY_E_NET : FERRY_E_TIMEOUT);
        if (r->kind == REQ_SUB)
            early_prune(c);
    }
    user_leave(c);
    pthread_mutex_unlock(&c->mu);
}

static ferry_err take_slot(struct rpc_slot *s, cJSON **result, struct ferry_rpc_error *e)
{
    if (result) {
        *result = s->result;
        s->result = NULL;
    }
    if (e) {
        *e = s->error;
        memset(&s->error, 0, sizeof s->error);
    }
    return s->err;
}

ferry_err ferry_rpc_send(struct ferry_rpc *c, const char *method, const char *params_json,
                         uint32_t timeout_ms, struct ferry_rpc_pending **out)
{
    *out = NULL;
    if (!valid_method(method) || (params_json && !valid_params(params_json)))
        return FERRY_E_ARG;
    struct ferry_rpc_pending *r = req_new(c, REQ_CALL, 1);
    if (!r)
        return FERRY_E_NOMEM;
    const char *m[1] = {method};
    const char *p[1] = {params_json};
    ferry_err err = req_build(c, r, m, p, false);
    if (!err)
        err = submit(c, r, timeout_ms);
    if (err) {
        req_free(r);
        return err;
    }
    *out = r;
    return FERRY_OK;
}

ferry_err ferry_rpc_wait(struct ferry_rpc_pending *p, cJSON **result,
                         struct ferry_rpc_error *rpc_error)
{
    if (result)
        *result = NULL;
    if (rpc_error)
        memset(rpc_error, 0, sizeof *rpc_error);
    if (!atomic_load(&p->orphaned)) /* else the close failed it and c may be gone */
        wait_done(p->c, p);
    ferry_err err = take_slot(&p->slots[0], result, rpc_error);
    req_free(p);
    return err;
}

ferry_err ferry_rpc_call(struct ferry_rpc *c, const char *method, const char *params_json,
                         uint32_t timeout_ms, cJSON **result, struct ferry_rpc_error *rpc_error)
{
    struct ferry_rpc_pending *p;
    if (result)
        *result = NULL;
    if (rpc_error)
        memset(rpc_error, 0, sizeof *rpc_error);
    ferry_err err = ferry_rpc_send(c, method, params_json, timeout_ms, &p);
    if (err)
        return err;
    return ferry_rpc_wait(p, result, rpc_error);
}

ferry_err ferry_rpc_batch(struct ferry_rpc *c, struct ferry_rpc_batch_item *items, size_t n,
                          uint32_t timeout_ms)
{
    ferry_err err = FERRY_OK;
    const char **m = NULL, **p = NULL;
    struct ferry_rpc_pending *r = NULL;
    for (size_t i = 0; i < n; i++) {
        items[i].result = NULL;
        memset(&items[i].error, 0, sizeof items[i].error);
        items[i].err = FERRY_E_ARG;
        if (!valid_method(items[i].method) ||
            (items[i].params_json && !valid_params(items[i].params_json)))
            err = FERRY_E_ARG;
    }
    if (n == 0)
        return FERRY_E_ARG;
    if (err)
        return err;
    m = calloc(n, sizeof *m);
    p = calloc(n, sizeof *p);
    r = req_new(c, REQ_CALL, n);
    if (!m || !p || !r) {
        err = FERRY_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        m[i] = items[i].method;
        p[i] = items[i].params_json;
    }
    err = req_build(c, r, m, p, true);
    if (!err)
        err = submit(c, r, timeout_ms);
    if (err)
        goto out;
    wait_done(c, r);
    for (size_t i = 0; i < n; i++)
        items[i].err = take_slot(&r->slots[i], &items[i].result, &items[i].error);
out:
    if (err)
        for (size_t i = 0; i < n; i++)
            items[i].err = err;
    free(m);
    free(p);
    req_free(r);
    return err;
}

void ferry_rpc_batch_clear(struct ferry_rpc_batch_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cJSON_Delete(items[i].result);
        items[i].result = NULL;
        ferry_rpc_error_clear(&items[i].error);
    }
}

ferry_err ferry_rpc_subscribe(struct ferry_rpc *c, const char *method, const char *params_json,
                              const char *unsub_method, unsigned flags, ferry_rpc_event_fn fn,
                              void *user, uint32_t timeout_ms, uint64_t *sub,
                              struct ferry_rpc_error *rpc_error)
{
    *sub = 0;
    if (rpc_error)
        memset(rpc_error, 0, sizeof *rpc_error);
    if (c->transport == TRANSPORT_HTTP)
        return FERRY_E_UNSUPPORTED;
    if (!valid_method(method) || !valid_method(unsub_method) ||
        (params_json && !valid_params(params_json)))
        return FERRY_E_ARG;
    struct rpc_sub *s = calloc(1, sizeof *s);
    struct ferry_rpc_pending *r = req_new(c, REQ_SUB, 1);
    ferry_err err = FERRY_E_NOMEM;
    if (!s || !r)
        goto fail;
    s->method = strdup(method);
    s->params = strdup(params_json ? params_json : "[]");
    s->unsub_method = strdup(unsub_method);
    s->flags = flags;
    s->fn = fn;
    s->user = user;
    s->state = SUB_PENDING;
    if (!s->method || !s->params || !s->unsub_method)
        goto fail;
    const char *m[1] = {method};
    const char *p[1] = {s->params};
    err = req_build(c, r, m, p, false);
    if (err)
        goto fail;
    r->sub = s;
    pthread_mutex_lock(&c->mu);
    if (c->closing) {
        pthread_mutex_unlock(&c->mu);
        err = FERRY_E_STATE;
        goto fail;
    }
    user_enter(c); /* until s is off c->subs again or handed over */
    s->handle = c->next_sub++;
    s->next = c->subs;
    c->subs = s;
    pthread_mutex_unlock(&c->mu);
    err = submit(c, r, timeout_ms);
    if (!err) {
        wait_done(c, r);
        err = take_slot(&r->slots[0], NULL, rpc_error);
    }
    pthread_mutex_lock(&c->mu);
    if (err)
        sub_remove(c, s);
    else
        *sub = s->handle;
    user_leave(c);
    pthread_mutex_unlock(&c->mu);
    if (err)
        sub_free(s);
    req_free(r);
    return err;
fail:
    sub_free(s);
    req_free(r);
    return err;
}

ferry_err ferry_rpc_unsubscribe(struct ferry_rpc *c, uint64_t handle, uint32_t timeout_ms)
{
    if (c->transport == TRANSPORT_HTTP)
        return FERRY_E_UNSUPPORTED;
    pthread_mutex_lock(&c->mu);
    struct rpc_sub *s = sub_find(c, handle);
    if (!s) {
        pthread_mutex_unlock(&c->mu);
        return FERRY_E_NOT_FOUND;
    }
    user_enter(c);
    while (c->delivering_sub == handle)
        pthread_cond_wait(&c->cv, &c->mu);
    sub_remove(c, s);
    bool tell_node = s->state == SUB_ACTIVE && s->remote_id && c->conn == CONN_OPEN;
    if (!tell_node)
        user_leave(c);
    pthread_mutex_unlock(&c->mu);
    ferry_err err = FERRY_OK;
    if (tell_node) {
        size_t n = strlen(s->remote_id) + 3;
        char *params = malloc(n);
        if (!params) {
            err = FERRY_E_NOMEM;
        } else {
            snprintf(params, n, "[%s]", s->remote_id);
            cJSON *res = NULL;
            err = ferry_rpc_call(c, s->unsub_method, params, timeout_ms, &res, NULL);
            cJSON_Delete(res);
            free(params);
        }
        pthread_mutex_lock(&c->mu);
        user_leave(c);
        pthread_mutex_unlock(&c->mu);
    }
    sub_free(s);
    return err;
}

ferry_err ferry_rpc_next_event(struct ferry_rpc *c, uint32_t timeout_ms, struct ferry_rpc_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (c->transport == TRANSPORT_HTTP)
        return FERRY_E_UNSUPPORTED;
    int64_t deadline = deadline_after(timeout_ms);
    ferry_err err = FERRY_E_TIMEOUT;
    pthread_mutex_lock(&c->mu);
    user_enter(c);
    for (;;) {
        if (c->ev_head) {
            struct ev_node *n = c->ev_head;
            c->ev_head = n->next;
            if (!c->ev_head)
                c->ev_tail = NULL;
            c->n_events--;
            *ev = n->ev;
            free(n);
            err = FERRY_OK;
            break;
        }
        if (c->closing) {
            err = FERRY_E_STATE;
            break;
        }
        if (now_us() >= deadline)
            break;
        cond_wait_until(c, deadline);
    }
    user_leave(c);
    pthread_mutex_unlock(&c->mu);
    return err;
}
