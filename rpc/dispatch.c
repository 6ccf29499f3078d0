/* ferry rpc — routing what arrives: responses to the requests they answer (by id, batches
 * included), notifications to their subscriptions, and events to the bounded queue or to the
 * subscription's callback. Transport-independent: the transports hand complete messages to
 * rpc_dispatch_text with c->mu held. See rpc/client.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/client.h"

/* ---- events ---------------------------------------------------------------------------------- */

/* Route an event: to the subscription's callback (delivered once the lock is dropped) or to the
 * bounded event queue. Takes ownership of what ev holds. */
void rpc_emit(struct ferry_rpc *c, struct rpc_sub *s, struct ferry_rpc_event *ev)
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
void rpc_flush_callbacks(struct ferry_rpc *c)
{
    while (c->cb_head) {
        struct ev_node *n = c->cb_head;
        c->cb_head = n->next;
        if (!c->cb_head)
            c->cb_tail = NULL;
        if (rpc_sub_find(c, n->ev.sub) && !c->closing) {
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

void rpc_conn_event(struct ferry_rpc *c, enum ferry_rpc_event_kind kind, ferry_err err)
{
    struct ferry_rpc_event ev = {.kind = kind, .err = err};
    snprintf(ev.url, sizeof ev.url, "%s", rpc_url(c, c->url_index));
    rpc_emit(c, NULL, &ev);
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

struct rpc_sub *rpc_sub_by_remote(struct ferry_rpc *c, const cJSON *subid)
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
void rpc_deliver_notification(struct ferry_rpc *c, struct rpc_sub *s, cJSON *params)
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
    rpc_emit(c, s, &ev);
}

static void dispatch_notification(struct ferry_rpc *c, cJSON *o, cJSON *params, size_t bytes)
{
    cJSON *subid = cJSON_GetObjectItemCaseSensitive(params, "subscription");
    struct rpc_sub *s = subid ? rpc_sub_by_remote(c, subid) : NULL;
    if (s) {
        rpc_deliver_notification(c, s, params);
        return;
    }
    if (subid && (cJSON_IsString(subid) || cJSON_IsNumber(subid)) && rpc_sub_request_inflight(c)) {
        rpc_early_hold(c, o, params, subid, bytes);
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
    rpc_req_complete(c, r);
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
    struct ferry_rpc_pending *r = rpc_find_inflight(c, id);
    if (!r || r->slots[id - r->first_id].done) {
        c->stats.unknown_ids++;
        return 0;
    }
    uint64_t first = r->first_id;
    fill_slot(&r->slots[id - r->first_id], o);
    if (++r->n_done == r->n)
        rpc_req_complete(c, r);
    return first;
}

/* Batches one array answer may touch and have its missing items failed (more are left to their
 * deadline). */
#define MAX_BATCHES_PER_ANSWER 16

size_t rpc_json_node_bound(const char *text, size_t len)
{
    size_t n = 1, depth = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        char ch = *p++;
        if (ch == '[' || ch == '{') {
            /* cJSON parses in order and gives up past its nesting limit: nothing after counts */
            if (++depth > CJSON_NESTING_LIMIT)
                return n;
            n++;
        } else if (ch == ']' || ch == '}') {
            depth -= depth > 0;
        } else if (ch == ',') {
            n++;
        } else if (ch == '"') {
            /* skip to the closing quote: one not preceded by an odd run of backslashes */
            for (;;) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                if (!q)
                    return n; /* unterminated: cJSON refuses it */
                size_t bs = 0;
                while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
                    bs++;
                p = q + 1;
                if (bs % 2 == 0)
                    break;
            }
        }
    }
    return n;
}

/* Parse one complete message and route it; owner as for dispatch_one. Called with mu held. */
void rpc_dispatch_text(struct ferry_rpc *c, const char *text, size_t len,
                       struct ferry_rpc_pending *owner)
{
    if (rpc_json_node_bound(text, len) > RPC_JSON_MAX_NODES(len)) {
        /* Too many values for its size to parse in bounded memory: fail what it answers. */
        c->stats.messages_in++;
        size_t hl = len < RPC_OVERSIZE_HEAD ? len : RPC_OVERSIZE_HEAD;
        size_t tl = len < RPC_OVERSIZE_TAIL ? len : RPC_OVERSIZE_TAIL;
        rpc_handle_too_large(c, text, hl, text + len - tl, tl);
        return;
    }
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
            struct ferry_rpc_pending *r = rpc_find_inflight(c, batches[i]);
            if (r && r->first_id == batches[i] && r->n > 1)
                fail_rest(c, r, NULL);
        }
    } else {
        dispatch_one(c, msg, len, owner);
    }
    cJSON_Delete(msg);
}

bool rpc_dispatch_rx(struct ferry_rpc *c, struct rpc_rx_hex *h, unsigned char *buf, size_t len,
                     struct ferry_rpc_pending *owner)
{
    uint64_t id = 0;
    enum rpc_rx_kind kind = rpc_rx_hex_check(h, buf, len, &id);
    if (kind == RPC_RX_FAST) {
        struct ferry_rpc_pending *r = rpc_find_inflight(c, id);
        struct rpc_slot *slot = r ? &r->slots[id - r->first_id] : NULL;
        if (slot && !slot->done && slot->want_bytes) {
            /* what dispatch_one + fill_slot would do with the parsed answer, minus the tree */
            c->stats.messages_in++;
            size_t n = rpc_rx_hex_bytes(h, buf, len);
            /* kept as is for reuse (ferry_rpc_bytes_release): its pages stay mapped; else the
             * text's tail is given back */
            bool keep = slot->keep_cap && n <= FERRY_RPC_REUSE_MAX;
            unsigned char *shrunk = keep ? buf : realloc(buf, n ? n : 1);
            slot->done = true;
            slot->err = FERRY_OK;
            slot->bytes = shrunk ? shrunk : buf;
            slot->bytes_len = n;
            if (++r->n_done == r->n)
                rpc_req_complete(c, r);
            return true;
        }
        /* anyone else gets the answer as cJSON would parse it */
        if (!h->n_dec) {
            rpc_dispatch_text(c, (const char *)buf, len, owner);
            return false;
        }
        kind = RPC_RX_RESTORE;
    }
    if (kind == RPC_RX_PLAIN) {
        rpc_dispatch_text(c, (const char *)buf, len, owner);
        return false;
    }
    size_t tl = 0;
    char *text = rpc_rx_hex_restore(h, buf, len, &tl);
    if (!text) {
        /* cannot restore it to parse: fail what it answers, like a message over the limit */
        c->stats.messages_in++;
        char head[RPC_OVERSIZE_HEAD], tail[RPC_OVERSIZE_TAIL];
        size_t hl = len < sizeof head ? len : sizeof head;
        size_t tll = len < sizeof tail ? len : sizeof tail;
        memcpy(head, buf, hl);
        memcpy(tail, buf + len - tll, tll);
        rpc_handle_too_large(c, head, hl, tail, tll);
        return false;
    }
    rpc_dispatch_text(c, text, tl, owner);
    free(text);
    return false;
}
