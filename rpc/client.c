/* ferry rpc — the JSON-RPC 2.0 client's public API (jsonrpc.h): open and close, calls, batches
 * and pipelined requests, subscriptions and the event queue. Callers build a request frame in
 * their own thread, hand it to the transport (rpc/client.h: a table of functions chosen by the
 * URL scheme) and wait on c->cv with a deadline, so every blocking call returns by its timeout
 * whatever the network does. The other files of the client: request.c, dispatch.c, early.c,
 * oversize.c, and the transports ws.c and http.c.
 */
#include <ctype.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "rpc/client.h"
#include "rpc/wsconn.h"

/* A caller thread enters/leaves a section that may wait or touch c after dropping mu. Called with
 * mu held. ferry_rpc_close frees c only once users is back to 0. */
void rpc_user_enter(struct ferry_rpc *c)
{
    c->users++;
}

void rpc_user_leave(struct ferry_rpc *c)
{
    if (--c->users == 0 && c->closing)
        pthread_cond_broadcast(&c->cv);
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
uint32_t ferry_rpc_request_timeout(const struct ferry_rpc *c)
{
    return c->cfg.request_timeout_ms;
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

ferry_err ferry_reason_rpc(struct ferry_reason *why, ferry_err err, const char *what,
                           const struct ferry_rpc_error *e)
{
    if (err == FERRY_E_RPC && e && e->message)
        return ferry_reason_set(why, err, "%s: %s%s%s%s", what, e->message, e->data ? " (" : "",
                                e->data ? e->data : "", e->data ? ")" : "");
    return ferry_reason_set(why, err, "%s: %s", what, ferry_strerror(err));
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

static void free_client(struct ferry_rpc *c)
{
    while (c->subs) {
        struct rpc_sub *s = c->subs;
        c->subs = s->next;
        rpc_sub_free(s);
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
    rpc_early_clear(c, false);
    /* Only internal re-subscriptions can still be listed: ferry_rpc_close took the callers'. */
    while (c->q_head) {
        struct ferry_rpc_pending *r = c->q_head;
        rpc_list_unlink(c, r);
        if (r->kind == REQ_RESUB)
            rpc_req_free(r);
    }
    while (c->in_head) {
        struct ferry_rpc_pending *r = c->in_head;
        rpc_list_unlink(c, r);
        if (r->kind == REQ_RESUB)
            rpc_req_free(r);
    }
    rpc_spare_sweep(c, INT64_MAX);
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
        if (!u)
            return FERRY_E_ARG;
        if (strncmp(u, "ws://", 5) == 0 || strncmp(u, "wss://", 6) == 0) {
            if (!rpc_transport_ws.url_ok(u))
                return FERRY_E_ARG;
            ws = true;
        } else if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) {
            if (!rpc_transport_http.url_ok(u))
                return FERRY_E_ARG;
            http = true;
        } else {
            return FERRY_E_ARG;
        }
    }
    if (ws && http)
        return FERRY_E_ARG;

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
    c->tr = ws ? rpc_ws_transport(cfg) : &rpc_transport_http;
    c->next_id = 1;
    c->next_sub = 1;
    ferry_cond_init_monotonic(&c->cv);
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
    ferry_err err = c->tr->open(c);
    if (err) {
        free_client(c);
        return err;
    }
    *out = c;
    return FERRY_OK;
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
            rpc_list_unlink(c, r);
            rpc_req_fail(r, FERRY_E_STATE);
            atomic_store(&r->orphaned, true);
        }
    }
    pthread_cond_broadcast(&c->cv);
    /* Waiting callers wake up to FERRY_E_STATE; let them leave before anything is freed. */
    while (c->users)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    c->tr->close(c);
    free_client(c);
}

ferry_err ferry_rpc_wait_connected(struct ferry_rpc *c, uint32_t timeout_ms)
{
    int64_t deadline = ferry_deadline_ms(timeout_ms);
    ferry_err err = FERRY_E_TIMEOUT;
    pthread_mutex_lock(&c->mu);
    rpc_user_enter(c);
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
        if (ferry_clock_us() >= deadline)
            break;
        ferry_cond_wait_until(&c->cv, &c->mu, deadline);
    }
    rpc_user_leave(c);
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

/* Hand a built request to the transport; its deadline starts now. */
static ferry_err submit(struct ferry_rpc *c, struct ferry_rpc_pending *r, uint32_t timeout_ms)
{
    r->deadline_us = ferry_deadline_ms(timeout_ms);
    return c->tr->submit(c, r, timeout_ms);
}

/* Wait until r is done or its deadline passes; afterwards r is on no list. */
static void wait_done(struct ferry_rpc *c, struct ferry_rpc_pending *r)
{
    pthread_mutex_lock(&c->mu);
    rpc_user_enter(c);
    while (!r->done && ferry_clock_us() < r->deadline_us)
        ferry_cond_wait_until(&c->cv, &c->mu, r->deadline_us);
    if (!r->done) {
        bool never_sent = r->where == WHERE_QUEUED && c->conn != CONN_OPEN;
        rpc_list_unlink(c, r);
        rpc_req_fail(r, never_sent ? FERRY_E_NET : FERRY_E_TIMEOUT);
        if (r->kind == REQ_SUB)
            rpc_early_prune(c);
    }
    rpc_user_leave(c);
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

/* Build and queue one call; want_bytes: its answer is a hex string wanted as bytes, keep_cap:
 * in its receive buffer unshrunk (both set before it can be answered). Out: *out, the caller's
 * until ferry_rpc_wait-like collection. */
static ferry_err send_one(struct ferry_rpc *c, const char *method, const char *params_json,
                          uint32_t timeout_ms, bool want_bytes, bool keep_cap,
                          struct ferry_rpc_pending **out)
{
    *out = NULL;
    if (!valid_method(method) || (params_json && !valid_params(params_json)))
        return FERRY_E_ARG;
    struct ferry_rpc_pending *r = rpc_req_new(c, REQ_CALL, 1);
    if (!r)
        return FERRY_E_NOMEM;
    r->slots[0].want_bytes = want_bytes;
    r->slots[0].keep_cap = keep_cap;
    const char *m[1] = {method};
    const char *p[1] = {params_json};
    ferry_err err = rpc_req_build(c, r, m, p, false);
    if (!err)
        err = submit(c, r, timeout_ms);
    if (err) {
        rpc_req_free(r);
        return err;
    }
    *out = r;
    return FERRY_OK;
}

ferry_err ferry_rpc_send(struct ferry_rpc *c, const char *method, const char *params_json,
                         uint32_t timeout_ms, struct ferry_rpc_pending **out)
{
    return send_one(c, method, params_json, timeout_ms, false, false, out);
}

ferry_err ferry_rpc_wait(struct ferry_rpc_pending *p, cJSON **result,
                         struct ferry_rpc_error *rpc_error)
{
    if (result)
        *result = NULL;
    if (rpc_error)
        memset(rpc_error, 0, sizeof *rpc_error);
    /* orphaned: the close failed it; finished: answered (or failed) before; either way c may be
     * gone, and there is nothing to wait for */
    if (!atomic_load(&p->orphaned) && !atomic_load(&p->finished))
        wait_done(p->c, p);
    ferry_err err = take_slot(&p->slots[0], result, rpc_error);
    rpc_req_free(p);
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

ferry_err ferry_rpc_call_hex(struct ferry_rpc *c, const char *method, const char *params_json,
                             uint32_t timeout_ms, uint8_t **out, size_t *len,
                             struct ferry_rpc_error *rpc_error)
{
    return rpc_call_hex(c, method, params_json, timeout_ms, false, out, len, rpc_error);
}

ferry_err rpc_call_hex(struct ferry_rpc *c, const char *method, const char *params_json,
                       uint32_t timeout_ms, bool keep_cap, uint8_t **out, size_t *len,
                       struct ferry_rpc_error *rpc_error)
{
    *out = NULL;
    *len = 0;
    if (rpc_error)
        memset(rpc_error, 0, sizeof *rpc_error);
    struct ferry_rpc_pending *r;
    ferry_err err = send_one(c, method, params_json, timeout_ms, true, keep_cap, &r);
    if (err)
        return err;
    if (!atomic_load(&r->orphaned) && !atomic_load(&r->finished)) /* as ferry_rpc_wait */
        wait_done(c, r);
    struct rpc_slot *s = &r->slots[0];
    cJSON *result = NULL;
    err = take_slot(s, &result, rpc_error);
    if (!err && s->bytes) {
        *out = s->bytes;
        *len = s->bytes_len;
        s->bytes = NULL;
    } else if (!err) {
        /* answered through cJSON (short, or not in the fast path's shape): the same decoding */
        if (!cJSON_IsString(result))
            err = cJSON_IsNull(result) ? FERRY_E_NOT_FOUND : FERRY_E_JSON;
        else
            err = ferry_hex_decode(result->valuestring, strlen(result->valuestring), out, len);
    }
    cJSON_Delete(result);
    rpc_req_free(r);
    return err;
}

void rpc_spare_sweep(struct ferry_rpc *c, int64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n_spares; i++) {
        if (now == INT64_MAX || now - c->spares[i].since_us >= RPC_SPARE_IDLE_US)
            free(c->spares[i].buf);
        else
            c->spares[k++] = c->spares[i];
    }
    c->n_spares = k;
}

unsigned char *rpc_spare_take(struct ferry_rpc *c, size_t want, size_t *cap)
{
    rpc_spare_sweep(c, ferry_clock_us());
    if (want < RPC_SPARE_MIN || !c->n_spares)
        return NULL;
    size_t best = 0;
    for (size_t i = 1; i < c->n_spares; i++)
        if (c->spares[i].cap > c->spares[best].cap)
            best = i;
    struct rpc_spare sp = c->spares[best];
    if (sp.cap < want) {
        /* a large block is grown in place or by moving its pages (mremap): the pages it had
         * stay mapped, only the added tail is new */
        unsigned char *nb = realloc(sp.buf, want);
        if (!nb)
            return NULL; /* it stays kept; the caller allocates as before */
        sp.buf = nb;
        sp.cap = want;
    }
    c->spares[best] = c->spares[--c->n_spares];
    *cap = sp.cap;
    return sp.buf;
}

void ferry_rpc_bytes_release(struct ferry_rpc *c, uint8_t *bytes)
{
    if (!bytes)
        return;
    /* the bytes are one malloc'd block (ferry_rpc_call_hex): its usable size is its capacity */
    size_t cap = malloc_usable_size(bytes);
    if (!c || !c->tr->streams || cap < RPC_SPARE_MIN || cap > RPC_SPARE_MAX_CAP) {
        free(bytes);
        return;
    }
    int64_t now = ferry_clock_us();
    unsigned char *drop = NULL;
    pthread_mutex_lock(&c->mu);
    rpc_spare_sweep(c, now);
    if (c->closing) {
        drop = bytes;
    } else {
        struct rpc_spare in = {bytes, cap, now};
        if (c->n_spares < RPC_SPARE_MAX) {
            c->spares[c->n_spares++] = in;
        } else {
            /* full: the smallest goes (the larger ones fit more of the messages to come) */
            size_t small = 0;
            for (size_t i = 1; i < c->n_spares; i++)
                if (c->spares[i].cap < c->spares[small].cap)
                    small = i;
            if (c->spares[small].cap < cap) {
                drop = c->spares[small].buf;
                c->spares[small] = in;
            } else {
                drop = bytes;
            }
        }
    }
    pthread_mutex_unlock(&c->mu);
    free(drop);
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
    r = rpc_req_new(c, REQ_CALL, n);
    if (!m || !p || !r) {
        err = FERRY_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        m[i] = items[i].method;
        p[i] = items[i].params_json;
    }
    err = rpc_req_build(c, r, m, p, true);
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
    rpc_req_free(r);
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
    if (!c->tr->streams)
        return FERRY_E_UNSUPPORTED;
    if (!valid_method(method) || !valid_method(unsub_method) ||
        (params_json && !valid_params(params_json)))
        return FERRY_E_ARG;
    struct rpc_sub *s = calloc(1, sizeof *s);
    struct ferry_rpc_pending *r = rpc_req_new(c, REQ_SUB, 1);
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
    err = rpc_req_build(c, r, m, p, false);
    if (err)
        goto fail;
    r->sub = s;
    pthread_mutex_lock(&c->mu);
    if (c->closing) {
        pthread_mutex_unlock(&c->mu);
        err = FERRY_E_STATE;
        goto fail;
    }
    rpc_user_enter(c); /* until s is off c->subs again or handed over */
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
        rpc_sub_remove(c, s);
    else
        *sub = s->handle;
    rpc_user_leave(c);
    pthread_mutex_unlock(&c->mu);
    if (err)
        rpc_sub_free(s);
    rpc_req_free(r);
    return err;
fail:
    rpc_sub_free(s);
    rpc_req_free(r);
    return err;
}

ferry_err ferry_rpc_unsubscribe(struct ferry_rpc *c, uint64_t handle, uint32_t timeout_ms)
{
    if (!c->tr->streams)
        return FERRY_E_UNSUPPORTED;
    pthread_mutex_lock(&c->mu);
    struct rpc_sub *s = rpc_sub_find(c, handle);
    if (!s) {
        pthread_mutex_unlock(&c->mu);
        return FERRY_E_NOT_FOUND;
    }
    rpc_user_enter(c);
    while (c->delivering_sub == handle)
        pthread_cond_wait(&c->cv, &c->mu);
    rpc_sub_remove(c, s);
    bool tell_node = s->state == SUB_ACTIVE && s->remote_id && c->conn == CONN_OPEN;
    if (!tell_node)
        rpc_user_leave(c);
    pthread_mutex_unlock(&c->mu);
    ferry_err err = FERRY_OK;
    if (tell_node) {
        struct ferry_rpc_params params;
        ferry_rpc_params_init(&params);
        ferry_rpc_params_raw(&params, s->remote_id); /* compact JSON text of the node's id */
        const char *text = ferry_rpc_params_text(&params);
        if (!text) {
            err = FERRY_E_NOMEM;
        } else {
            cJSON *res = NULL;
            err = ferry_rpc_call(c, s->unsub_method, text, timeout_ms, &res, NULL);
            cJSON_Delete(res);
        }
        ferry_rpc_params_free(&params);
        pthread_mutex_lock(&c->mu);
        rpc_user_leave(c);
        pthread_mutex_unlock(&c->mu);
    }
    rpc_sub_free(s);
    return err;
}

ferry_err ferry_rpc_next_event(struct ferry_rpc *c, uint32_t timeout_ms, struct ferry_rpc_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (!c->tr->streams)
        return FERRY_E_UNSUPPORTED;
    int64_t deadline = ferry_deadline_ms(timeout_ms);
    ferry_err err = FERRY_E_TIMEOUT;
    pthread_mutex_lock(&c->mu);
    rpc_user_enter(c);
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
        if (ferry_clock_us() >= deadline)
            break;
        ferry_cond_wait_until(&c->cv, &c->mu, deadline);
    }
    rpc_user_leave(c);
    pthread_mutex_unlock(&c->mu);
    return err;
}
