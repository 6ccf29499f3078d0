/* Egress: the worker's messages onto the chain, exactly once (include/ferry/egress.h). */
#include <stdlib.h>
#include <string.h>

#include "ferry/egress.h"
#include "ferry/log.h"
#include "ferry/scale.h"

#define LOG "egress"

/* ---- decoding -------------------------------------------------------------------------------- */

static ferry_err skip_origin(struct ferry_scale_reader *r)
{
    uint8_t tag;
    ferry_err err = ferry_scale_u8(r, &tag);
    if (err)
        return err;
    const uint8_t *p;
    size_t n;
    switch (tag) {
    case 0: /* Pallet(Vec<u8>) */
    case 4: /* MultiLocation(Vec<u8>) */
        return ferry_scale_byte_vec(r, &p, &n);
    case 1: /* Contract */
    case 2: /* Worker */
    case 3: /* AccountId */
    case 6: /* Cluster */
        return ferry_scale_skip(r, 32);
    case 5:   /* Gatekeeper */
    case 255: /* Reserved */
        return FERRY_OK;
    default:
        return ferry_scale_fail(r, FERRY_E_INVALID, "unknown MessageOrigin variant");
    }
}

/* SignedMessage = Message{origin, Vec<u8> destination, Vec<u8> payload} ‖ u64 ‖ Vec<u8> sig */
static ferry_err skip_signed_message(struct ferry_scale_reader *r, size_t *origin_len,
                                     uint64_t *seq)
{
    size_t start = r->pos;
    ferry_err err = skip_origin(r);
    if (err)
        return err;
    *origin_len = r->pos - start;
    const uint8_t *p;
    size_t n;
    if (ferry_scale_byte_vec(r, &p, &n) || ferry_scale_byte_vec(r, &p, &n) ||
        ferry_scale_u64(r, seq) || ferry_scale_byte_vec(r, &p, &n))
        return r->err;
    return FERRY_OK;
}

ferry_err ferry_signed_message_id(const uint8_t *payload, size_t len, size_t *sender_len,
                                  uint64_t *seq)
{
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, payload, len);
    ferry_err err = skip_signed_message(&r, sender_len, seq);
    return err ? err : ferry_scale_finish(&r);
}

struct offered {
    size_t sender_off, sender_len; /* into the batch */
    size_t msg_off, msg_len;
    uint64_t seq;
};

ferry_err ferry_egress_offer(struct ferry_outbox *ob, const uint8_t *encoded, size_t len,
                             size_t *added, struct ferry_reason *why)
{
    if (added)
        *added = 0;
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, encoded, len);
    struct offered *v = NULL;
    size_t n = 0, cap = 0;
    size_t groups;
    ferry_err err = ferry_scale_vec_len(&r, 2, &groups);
    for (size_t g = 0; !err && g < groups; g++) {
        size_t so = r.pos;
        err = skip_origin(&r);
        size_t sl = r.pos - so;
        size_t count = 0;
        if (!err)
            err = ferry_scale_vec_len(&r, sl + 11, &count);
        for (size_t i = 0; !err && i < count; i++) {
            struct offered o = {so, sl, r.pos, 0, 0};
            size_t inner_len;
            err = skip_signed_message(&r, &inner_len, &o.seq);
            if (err)
                break;
            o.msg_len = r.pos - o.msg_off;
            if (inner_len != sl || memcmp(encoded + o.msg_off, encoded + so, sl)) {
                err = ferry_scale_fail(&r, FERRY_E_INVALID,
                                       "a message's sender differs from its group's");
                break;
            }
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 16;
                struct offered *nv = realloc(v, nc * sizeof *nv);
                if (!nv) {
                    err = FERRY_E_NOMEM;
                    break;
                }
                v = nv;
                cap = nc;
            }
            v[n++] = o;
        }
    }
    if (!err)
        err = ferry_scale_finish(&r);
    if (err) {
        free(v);
        if (err == FERRY_E_NOMEM)
            return err;
        char d[128];
        return ferry_reason_set(why, err, "egress messages from the worker: %s",
                                ferry_scale_describe(&r, d, sizeof d));
    }
    for (size_t i = 0; i < n; i++) {
        bool was_new = false;
        err = ferry_outbox_enqueue(ob, encoded + v[i].sender_off, v[i].sender_len, v[i].seq,
                                   encoded + v[i].msg_off, v[i].msg_len, &was_new, why);
        if (err)
            break;
        if (was_new && added)
            (*added)++;
    }
    free(v);
    return err;
}

/* ---- the round ------------------------------------------------------------------------------- */

struct sender_view {
    const uint8_t *sender;
    size_t len;
    uint64_t best_next; /* next sequence at the best block */
};

static struct sender_view *find_sender(struct sender_view *sv, size_t n, const uint8_t *s,
                                       size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (sv[i].len == len && !memcmp(sv[i].sender, s, len))
            return &sv[i];
    return NULL;
}

static bool nonce_held(const struct ferry_outbox_msg *v, size_t n, uint64_t nonce)
{
    for (size_t i = 0; i < n; i++)
        if ((v[i].state == FERRY_OUTBOX_INFLIGHT || v[i].state == FERRY_OUTBOX_INCLUDED) &&
            v[i].nonce == nonce)
            return true;
    return false;
}

/* Step 2 for one sender. */
static ferry_err settle_sender(struct ferry_outbox *ob, const struct ferry_egress_chain *c,
                               struct sender_view *s, struct ferry_egress_stats *st,
                               struct ferry_reason *why)
{
    uint64_t fin;
    ferry_err err = c->ingress_seq(c->user, s->sender, s->len, true, &fin, why);
    if (err)
        return err;
    size_t settled = 0;
    err = ferry_outbox_settle(ob, s->sender, s->len, fin, &settled, why);
    if (err)
        return err;
    st->finalized += settled;
    err = c->ingress_seq(c->user, s->sender, s->len, false, &s->best_next, why);
    if (!err && s->best_next < fin)
        s->best_next = fin; /* a node whose best lags its finalized view */
    return err;
}

ferry_err ferry_egress_round(struct ferry_outbox *ob, const struct ferry_egress_chain *c,
                             const struct ferry_egress_limits *lim, struct ferry_egress_stats *st,
                             struct ferry_reason *why)
{
    struct ferry_egress_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    uint32_t max_inflight = lim && lim->max_inflight ? lim->max_inflight : 16;
    uint32_t max_round = lim && lim->max_per_round ? lim->max_per_round : 200;

    uint8_t **senders = NULL;
    size_t *lens = NULL, ns = 0;
    struct sender_view *sv = NULL;
    struct ferry_outbox_msg *fl = NULL, *pend = NULL;
    size_t nfl = 0, npend = 0;
    ferry_err err = ferry_outbox_open_senders(ob, &senders, &lens, &ns, why);
    if (err)
        return err;
    if (!ns)
        goto out;
    sv = calloc(ns, sizeof *sv);
    if (!sv) {
        err = FERRY_E_NOMEM;
        goto out;
    }
    /* 2. settle what the chain finalized, note what its best block holds */
    for (size_t i = 0; i < ns && !err; i++) {
        sv[i].sender = senders[i];
        sv[i].len = lens[i];
        err = settle_sender(ob, c, &sv[i], st, why);
    }
    if (err)
        goto out;
    uint32_t best;
    err = c->best_number(c->user, &best, why);
    uint64_t pool_nonce = 0;
    if (!err)
        err = c->account_nonce(c->user, true, &pool_nonce, why);
    if (!err)
        err = ferry_outbox_list(ob, -1, SIZE_MAX, &fl, &nfl, why);
    if (err)
        goto out;

    /* 3. resolve what is in flight */
    size_t inflight = 0;
    uint64_t max_nonce_plus1 = 0;
    for (size_t i = 0; i < nfl && !err; i++) {
        struct ferry_outbox_msg *m = &fl[i];
        if (m->state != FERRY_OUTBOX_INFLIGHT && m->state != FERRY_OUTBOX_INCLUDED)
            continue;
        struct sender_view *s = find_sender(sv, ns, m->sender, m->sender_len);
        if (s && m->seq < s->best_next) {
            if (m->state == FERRY_OUTBOX_INFLIGHT) {
                err = ferry_outbox_mark_included(ob, m->sender, m->sender_len, m->seq,
                                                 (const uint8_t[32]){0}, best, why);
                m->state = FERRY_OUTBOX_INCLUDED;
                st->included++;
            }
            if (m->nonce + 1 > max_nonce_plus1)
                max_nonce_plus1 = m->nonce + 1;
            continue;
        }
        bool present = false;
        err = c->in_pool(c->user, m->tx_hash, &present, why);
        if (err)
            break;
        if (present) {
            inflight++;
            if (m->nonce + 1 > max_nonce_plus1)
                max_nonce_plus1 = m->nonce + 1;
            continue;
        }
        if (best >= m->era_death || !m->xt_len) {
            ferry_log_info(LOG,
                           "message %llu: its era ended at #%u without inclusion; signing "
                           "it again",
                           (unsigned long long)m->seq, m->era_death);
            err = ferry_outbox_mark_pending(ob, m->sender, m->sender_len, m->seq, why);
            m->state = FERRY_OUTBOX_PENDING;
            st->expired++;
            continue;
        }
        enum ferry_submit_verdict verdict;
        err = c->submit(c->user, m->xt, m->xt_len, &verdict, why);
        if (err)
            break;
        st->rebroadcast++;
        /* unless it is returned to pending below, the row keeps its nonce reserved: a fresh
         * signature must never take it (two transactions, one nonce: one of them is lost and
         * the message order behind it breaks) */
        if (m->nonce + 1 > max_nonce_plus1)
            max_nonce_plus1 = m->nonce + 1;
        if (verdict == FERRY_SUBMIT_ACCEPTED || verdict == FERRY_SUBMIT_STALE_SEQ) {
            /* in the pool again, or the chain has the sequence: settles later */
            inflight++;
        } else if (verdict == FERRY_SUBMIT_STALE_NONCE || verdict == FERRY_SUBMIT_OUTDATED) {
            err = ferry_outbox_mark_pending(ob, m->sender, m->sender_len, m->seq, why);
            m->state = FERRY_OUTBOX_PENDING;
            st->expired++;
        } else if (verdict == FERRY_SUBMIT_UNKNOWN) {
            err = ferry_reason_set(why, FERRY_E_NET,
                                   "egress: the node did not answer a "
                                   "re-broadcast");
        } else {
            inflight++; /* refused for another reason: keep it, the era decides */
            st->rejected++;
        }
    }
    if (err)
        goto out;

    /* 4. sign and submit pending rows, in (sender, sequence) order */
    err = ferry_outbox_list(ob, FERRY_OUTBOX_PENDING, SIZE_MAX, &pend, &npend, why);
    if (err)
        goto out;
    uint64_t next_fresh = pool_nonce > max_nonce_plus1 ? pool_nonce : max_nonce_plus1;
    for (size_t i = 0; i < npend && !err; i++) {
        if (inflight >= max_inflight || st->submitted >= max_round)
            break;
        struct ferry_outbox_msg *m = &pend[i];
        struct sender_view *s = find_sender(sv, ns, m->sender, m->sender_len);
        if (s && m->seq < s->best_next)
            continue; /* the chain has it; it settles at finality */
        /* an expired row takes its own nonce back while nobody used it: no gap behind */
        uint64_t nonce;
        bool reused = m->attempts > 0 && m->nonce >= pool_nonce && m->nonce < next_fresh &&
                      !nonce_held(fl, nfl, m->nonce);
        nonce = reused ? m->nonce : next_fresh;
        uint8_t *xt = NULL;
        size_t xt_len = 0;
        uint8_t hash[32];
        uint32_t birth = 0, death = 0;
        err = c->sign(c->user, m->payload, m->payload_len, nonce, &xt, &xt_len, hash, &birth,
                      &death, why);
        if (err)
            break;
        err = ferry_outbox_mark_inflight(ob, m->sender, m->sender_len, m->seq, xt, xt_len, hash,
                                         nonce, birth, death, why);
        if (err) {
            free(xt);
            break;
        }
        if (!reused)
            next_fresh++;
        enum ferry_submit_verdict verdict;
        err = c->submit(c->user, xt, xt_len, &verdict, why);
        free(xt);
        if (err)
            break;
        switch (verdict) {
        case FERRY_SUBMIT_ACCEPTED:
            st->submitted++;
            inflight++;
            break;
        case FERRY_SUBMIT_STALE_SEQ:
            /* the chain already has it: leave it in flight, settled by the sequence */
            break;
        case FERRY_SUBMIT_STALE_NONCE:
        case FERRY_SUBMIT_OUTDATED:
            err = ferry_outbox_mark_pending(ob, m->sender, m->sender_len, m->seq, why);
            st->expired++;
            if (!err)
                err = ferry_reason_set(why, FERRY_E_RETRY,
                                       "egress: nonce %llu refused as %s; re-reading the "
                                       "account's nonce next round",
                                       (unsigned long long)nonce,
                                       verdict == FERRY_SUBMIT_OUTDATED ? "outdated" : "stale");
            break;
        case FERRY_SUBMIT_REJECTED:
            st->rejected++;
            if (ferry_outbox_mark_pending(ob, m->sender, m->sender_len, m->seq, NULL))
                ferry_log_warn(LOG, "message %llu: could not return it to pending",
                               (unsigned long long)m->seq);
            err = ferry_reason_prefix(why, FERRY_E_RPC,
                                      "egress: message %llu refused: ", (unsigned long long)m->seq);
            break;
        case FERRY_SUBMIT_UNKNOWN:
            /* it may have arrived: stays INFLIGHT, resolved next round */
            err = ferry_reason_set(why, FERRY_E_NET,
                                   "egress: submission of message %llu lost "
                                   "with the connection",
                                   (unsigned long long)m->seq);
            break;
        }
    }
out:
    if (!err || err == FERRY_E_RETRY || err == FERRY_E_NET || err == FERRY_E_RPC) {
        uint64_t counts[FERRY_OUTBOX_STATES];
        if (ferry_outbox_counts(ob, counts, NULL) == FERRY_OK) {
            st->pending = counts[FERRY_OUTBOX_PENDING];
            st->inflight = counts[FERRY_OUTBOX_INFLIGHT];
        }
    }
    ferry_outbox_msgs_free(fl, nfl);
    ferry_outbox_msgs_free(pend, npend);
    ferry_outbox_senders_free(senders, lens, ns);
    free(sv);
    return err;
}
