/* ferry rpc — early notifications: those that arrive before the answer naming their
 * subscription id (chopsticks sends them; jsonrpsee may interleave). Held (bounded) only while a
 * subscribe or re-subscribe is in flight; claimed by the answer that assigns their id; dropped
 * as unknown once no subscribe is in flight, and on disconnect. See rpc/client.h. */
#include <stdlib.h>
#include <string.h>

#include "rpc/client.h"

bool rpc_sub_request_inflight(const struct ferry_rpc *c)
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
void rpc_early_gap_note(struct ferry_rpc *c, const char *subid, size_t len,
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
void rpc_early_clear(struct ferry_rpc *c, bool count_unknown)
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
void rpc_early_prune(struct ferry_rpc *c)
{
    if ((c->early_head || c->n_early_gaps) && !rpc_sub_request_inflight(c))
        rpc_early_clear(c, true);
}

/* Hold a notification for an id no subscription has (yet), taking params out of message o.
 * bytes is its size when known, else 0. The oldest held ones make room. */
void rpc_early_hold(struct ferry_rpc *c, cJSON *o, cJSON *params, const cJSON *subid, size_t bytes)
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
        rpc_early_gap_note(c, idtext, strlen(idtext), FERRY_RPC_GAP_OVERFLOW);
        free(idtext);
        return;
    }
    while (c->early_head &&
           (c->n_early >= EARLY_MAX_NOTES || c->early_bytes + bytes > EARLY_MAX_BYTES)) {
        struct early_note *old = early_pop(c);
        c->stats.early_dropped++;
        rpc_early_gap_note(c, old->subid, strlen(old->subid), FERRY_RPC_GAP_OVERFLOW);
        early_note_free(old);
    }
    struct early_note *n = calloc(1, sizeof *n);
    if (!n) {
        c->stats.early_dropped++;
        rpc_early_gap_note(c, idtext, strlen(idtext), FERRY_RPC_GAP_OVERFLOW);
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
void rpc_early_claim(struct ferry_rpc *c, struct rpc_sub *s)
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
        rpc_emit(c, s, &ev);
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
            rpc_deliver_notification(c, s, n->params);
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
