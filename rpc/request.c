/* ferry rpc — request bookkeeping: a request is reachable by the transport exactly while it is
 * on the send queue or the in-flight list; whoever removes it under the mutex decides its fate,
 * so a waiter that times out and a response that arrives late can never both touch it. Also the
 * client's subscription list. See rpc/client.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/client.h"

void rpc_list_unlink(struct ferry_rpc *c, struct ferry_rpc_pending *r)
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

void rpc_queue_push_back(struct ferry_rpc *c, struct ferry_rpc_pending *r)
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

void rpc_queue_push_front(struct ferry_rpc *c, struct ferry_rpc_pending *r)
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

void rpc_inflight_push(struct ferry_rpc *c, struct ferry_rpc_pending *r)
{
    r->where = WHERE_INFLIGHT;
    r->prev = NULL;
    r->next = c->in_head;
    if (c->in_head)
        c->in_head->prev = r;
    c->in_head = r;
}

void rpc_req_free(struct ferry_rpc_pending *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        cJSON_Delete(r->slots[i].result);
        free(r->slots[i].bytes);
        ferry_rpc_error_clear(&r->slots[i].error);
    }
    free(r->slots);
    free(r->frame);
    free(r);
}

/* Allocate a request of n calls; frame text is appended later. */
struct ferry_rpc_pending *rpc_req_new(struct ferry_rpc *c, enum req_kind kind, size_t n)
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

/* Write the frame of r (ids first_id ..) after the headroom. */
static ferry_err frame_write(struct ferry_rpc_pending *r, const char *const *methods,
                             const char *const *params, bool batch)
{
    size_t cap = RPC_FRAME_HEADROOM + 4;
    for (size_t i = 0; i < r->n; i++)
        cap += 64 + strlen(methods[i]) + strlen(params[i] ? params[i] : "[]");
    r->frame = malloc(cap);
    if (!r->frame)
        return FERRY_E_NOMEM;
    char *p = rpc_req_text(r);
    size_t left = cap - RPC_FRAME_HEADROOM;
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

ferry_err rpc_req_build_locked(struct ferry_rpc *c, struct ferry_rpc_pending *r,
                               const char *const *methods, const char *const *params, bool batch)
{
    r->first_id = c->next_id;
    c->next_id += r->n;
    return frame_write(r, methods, params, batch);
}

ferry_err rpc_req_build(struct ferry_rpc *c, struct ferry_rpc_pending *r,
                        const char *const *methods, const char *const *params, bool batch)
{
    pthread_mutex_lock(&c->mu);
    r->first_id = c->next_id;
    c->next_id += r->n;
    pthread_mutex_unlock(&c->mu);
    return frame_write(r, methods, params, batch);
}

/* Fail every slot not yet answered with err and mark the request done. */
void rpc_req_fail(struct ferry_rpc_pending *r, ferry_err err)
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

static void sub_detach_reqs(struct ferry_rpc *c, struct rpc_sub *s)
{
    for (struct ferry_rpc_pending *r = c->q_head; r; r = r->next)
        if (r->sub == s)
            r->sub = NULL;
    for (struct ferry_rpc_pending *r = c->in_head; r; r = r->next)
        if (r->sub == s)
            r->sub = NULL;
}

void rpc_sub_free(struct rpc_sub *s)
{
    if (!s)
        return;
    free(s->method);
    free(s->params);
    free(s->unsub_method);
    free(s->remote_id);
    free(s);
}

struct rpc_sub *rpc_sub_find(struct ferry_rpc *c, uint64_t handle)
{
    for (struct rpc_sub *s = c->subs; s; s = s->next)
        if (s->handle == handle)
            return s;
    return NULL;
}

void rpc_sub_remove(struct ferry_rpc *c, struct rpc_sub *s)
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
void rpc_req_complete(struct ferry_rpc *c, struct ferry_rpc_pending *r)
{
    rpc_list_unlink(c, r);
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
                rpc_emit(c, s, &ev);
                rpc_early_claim(c, s); /* after the gap: they are news of the new subscription */
            } else if (s) {
                s->state = SUB_DEAD;
                struct ferry_rpc_event ev = {.kind = FERRY_RPC_EV_SUB_ENDED, .err = s0->err};
                ev.error = s0->error;
                memset(&s0->error, 0, sizeof s0->error);
                rpc_emit(c, s, &ev);
            }
            rpc_req_free(r);
            rpc_early_prune(c);
            return;
        }
        /* Notifications that beat this answer go out first, before any that follow it. */
        if (s && s->state == SUB_ACTIVE)
            rpc_early_claim(c, s);
        rpc_early_prune(c);
    }
    r->done = true;
    atomic_store(&r->finished, true); /* the last touch of r here */
    pthread_cond_broadcast(&c->cv);
}

struct ferry_rpc_pending *rpc_find_inflight(struct ferry_rpc *c, uint64_t id)
{
    for (struct ferry_rpc_pending *r = c->in_head; r; r = r->next)
        if (id >= r->first_id && id - r->first_id < r->n)
            return r;
    return NULL;
}
