/* ferry rpc — over-limit messages. A message larger than max_message_bytes is not kept; the
 * transport keeps its first and last bytes and this file finds, by scanning them as text, the
 * request it answers (its "id") or the subscription it belongs to ("subscription"), so only
 * that request fails (FERRY_E_TOO_LARGE) or that subscription gets a gap event.
 * See rpc/client.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/client.h"
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

void rpc_handle_too_large(struct ferry_rpc *c, const char *head, size_t head_len, const char *tail,
                          size_t tail_len)
{
    c->stats.too_large++;
    const char *sp = find_key(head, head_len, "\"subscription\"", false);
    if (sp) {
        const char *end = head + head_len;
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
                    rpc_emit(c, s, &ev);
                    return;
                }
            }
            /* A notification ({"method":..,"params":{"subscription":..; no "id" before) ahead
             * of the answer naming its id: the subscription starts with a gap and no request is
             * failed for it. */
            const char *mp = find_key(head, head_len, "\"method\"", false);
            const char *pp = find_key(head, head_len, "\"params\"", false);
            const char *ip = find_key(head, head_len, "\"id\"", false);
            if (mp && pp && mp < sp && pp < sp && (!ip || ip > sp) && rpc_sub_request_inflight(c)) {
                c->stats.early_buffered++;
                c->stats.early_dropped++;
                rpc_early_gap_note(c, sp, (size_t)(e - sp), FERRY_RPC_GAP_TOO_LARGE);
                return;
            }
        }
    }
    uint64_t id;
    struct ferry_rpc_pending *r = NULL;
    if (scan_id(tail, tail_len, true, &id))
        r = rpc_find_inflight(c, id);
    if (!r && scan_id(head, head_len, false, &id))
        r = rpc_find_inflight(c, id);
    if (!r && c->in_head && !c->in_head->next)
        r = c->in_head; /* the only request in flight */
    if (!r)
        return;
    rpc_req_fail(r, FERRY_E_TOO_LARGE);
    r->done = false;
    rpc_req_complete(c, r);
}
