/* The client-side GRANDPA authority set: follows FRNK consensus logs header by header, enacts
 * scheduled (and, by policy, forced) changes, tracks pause/resume, persists itself as SCALE and
 * bootstraps from a storage read proof. The rules are documented at struct ferry_authority_set
 * in include/ferry/grandpa.h.
 *
 * apply_header is transactional: it decodes and checks every FRNK log of the header before it
 * changes anything, and the only allocations (the decoded logs) happen before that point, so a
 * failure leaves the set exactly as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "ferry/grandpa.h"
#include "ferry/hash.h"
#include "ferry/trie.h"
#include "ferry/authority_set.h"

#include "internal.h"

#define AUTHORITY_SIZE (32 + 8)

static ferry_err dup_list(struct ferry_authority **out, const struct ferry_authority *src, size_t n)
{
    *out = NULL;
    if (n == 0)
        return FERRY_OK;
    *out = malloc(n * sizeof **out);
    if (!*out)
        return FERRY_E_NOMEM;
    memcpy(*out, src, n * sizeof **out);
    return FERRY_OK;
}

ferry_err ferry_authority_set_init(struct ferry_authority_set *set, uint64_t set_id,
                                   const struct ferry_authority *list, size_t n, uint32_t number,
                                   const uint8_t hash[32])
{
    memset(set, 0, sizeof *set);
    if (n == 0)
        return FERRY_E_INVALID;
    if (dup_list(&set->authorities, list, n))
        return FERRY_E_NOMEM;
    set->n_authorities = n;
    set->set_id = set_id;
    set->number = number;
    memcpy(set->hash, hash, 32);
    return FERRY_OK;
}

void ferry_authority_set_free(struct ferry_authority_set *set)
{
    free(set->authorities);
    free(set->scheduled.next);
    free(set->forced.next);
    memset(set, 0, sizeof *set);
}

ferry_err ferry_authority_set_copy(struct ferry_authority_set *dst,
                                   const struct ferry_authority_set *src)
{
    *dst = *src;
    dst->authorities = dst->scheduled.next = dst->forced.next = NULL;
    if (dup_list(&dst->authorities, src->authorities, src->n_authorities) ||
        dup_list(&dst->scheduled.next, src->scheduled.next, src->scheduled.n_next) ||
        dup_list(&dst->forced.next, src->forced.next, src->forced.n_next)) {
        ferry_authority_set_free(dst);
        return FERRY_E_NOMEM;
    }
    return FERRY_OK;
}

ferry_err ferry_authority_set_voters(const struct ferry_authority_set *set,
                                     struct ferry_voter_set *vs)
{
    return ferry_voter_set_init(vs, set->authorities, set->n_authorities);
}

/* ---- following headers ----------------------------------------------------------------------- */

static void free_logs(struct ferry_grandpa_log *logs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ferry_grandpa_log_free(&logs[i]);
    free(logs);
}

static ferry_err fail(const char **why, const char *reason, ferry_err err)
{
    if (why)
        *why = reason;
    return err;
}

/* Check the logs against the set without changing it. On success *sched / *forced say which
 * log (index) signals a change (SIZE_MAX: none) and *pause / *pause_at the pause state after
 * the signals. */
static ferry_err plan(const struct ferry_authority_set *set, const struct ferry_header *h,
                      const struct ferry_grandpa_log *logs, size_t n, size_t *sched, size_t *forced,
                      enum ferry_grandpa_pause_state *pause, uint32_t *pause_at, const char **why)
{
    *sched = *forced = SIZE_MAX;
    *pause = set->pause;
    *pause_at = set->pause_at;
    for (size_t i = 0; i < n; i++) {
        const struct ferry_grandpa_log *l = &logs[i];
        if (l->kind != FERRY_GRANDPA_ON_DISABLED && l->delay > UINT32_MAX - h->number)
            return fail(why, "FRNK log delay overflows the block number", FERRY_E_INVALID);
        switch (l->kind) {
        case FERRY_GRANDPA_SCHEDULED_CHANGE:
            if (set->has_scheduled || *sched != SIZE_MAX)
                return fail(why, "a second scheduled change while one is pending", FERRY_E_STATE);
            if (l->n_authorities == 0)
                return fail(why, "scheduled change to an empty authority list", FERRY_E_INVALID);
            *sched = i;
            break;
        case FERRY_GRANDPA_FORCED_CHANGE:
            if (!set->accept_forced)
                return fail(why,
                            "forced authority change: not accepted by this set (accept_forced "
                            "is off; see grandpa.h)",
                            FERRY_E_UNSUPPORTED);
            if (set->has_forced || *forced != SIZE_MAX)
                return fail(why, "a second forced change while one is pending", FERRY_E_STATE);
            if (l->n_authorities == 0)
                return fail(why, "forced change to an empty authority list", FERRY_E_INVALID);
            *forced = i;
            break;
        case FERRY_GRANDPA_ON_DISABLED:
            break;
        case FERRY_GRANDPA_PAUSE:
            if (*pause != FERRY_GRANDPA_LIVE)
                return fail(why, "pause signalled while not live", FERRY_E_STATE);
            *pause = FERRY_GRANDPA_PAUSE_PENDING;
            *pause_at = h->number + l->delay;
            break;
        case FERRY_GRANDPA_RESUME:
            if (*pause != FERRY_GRANDPA_PAUSED)
                return fail(why, "resume signalled while not paused", FERRY_E_STATE);
            *pause = FERRY_GRANDPA_RESUME_PENDING;
            *pause_at = h->number + l->delay;
            break;
        }
    }
    /* A forced change enacted here must not skip a scheduled change that the old set should have
     * finalized first (Substrate: ForcedAuthoritySetChangeDependencyUnsatisfied). */
    bool f_enacts = false;
    uint32_t f_median = 0;
    if (*forced != SIZE_MAX && logs[*forced].delay == 0) {
        f_enacts = true;
        f_median = logs[*forced].median;
    } else if (set->has_forced && set->forced.signal_number + set->forced.delay == h->number) {
        f_enacts = true;
        f_median = set->forced.median;
    }
    if (f_enacts) {
        uint32_t s_at = 0;
        bool s_pending = false;
        if (set->has_scheduled) {
            s_pending = true;
            s_at = set->scheduled.signal_number + set->scheduled.delay;
        } else if (*sched != SIZE_MAX) {
            s_pending = true;
            s_at = h->number + logs[*sched].delay;
        }
        if (s_pending && s_at <= f_median)
            return fail(why,
                        "forced change would skip a scheduled change enacted at or below its "
                        "median",
                        FERRY_E_STATE);
    }
    return FERRY_OK;
}

static void take_change(struct ferry_grandpa_pending_change *pc, const struct ferry_header *h,
                        struct ferry_grandpa_log *l)
{
    pc->signal_number = h->number;
    memcpy(pc->signal_hash, h->hash, 32);
    pc->delay = l->delay;
    pc->median = l->median;
    pc->next = l->authorities; /* ownership moves from the log */
    pc->n_next = l->n_authorities;
    l->authorities = NULL;
    l->n_authorities = 0;
}

static void enact(struct ferry_authority_set *set, struct ferry_grandpa_pending_change *pc)
{
    free(set->authorities);
    set->authorities = pc->next;
    set->n_authorities = pc->n_next;
    set->set_id++;
    memset(pc, 0, sizeof *pc);
}

static ferry_err authority_set_apply_header_static(struct ferry_authority_set *set,
                                                   const struct ferry_header *h,
                                                   struct ferry_authority_set_event *ev,
                                                   const char **why)
{
    struct ferry_authority_set_event local;
    if (!ev)
        ev = &local;
    memset(ev, 0, sizeof *ev);
    if (set->number == UINT32_MAX || h->number != set->number + 1 ||
        memcmp(h->parent_hash, set->hash, 32) != 0)
        return fail(why, "header is not the child of the last block applied", FERRY_E_STATE);

    /* Decode every FRNK consensus log first. */
    size_t n = 0, from = 0;
    while (ferry_header_find_digest(h, FERRY_DIGEST_CONSENSUS, "FRNK", &from))
        n++;
    struct ferry_grandpa_log *logs = n ? calloc(n, sizeof *logs) : NULL;
    if (n && !logs)
        return fail(why, "out of memory", FERRY_E_NOMEM);
    from = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ferry_digest_item *it =
            ferry_header_find_digest(h, FERRY_DIGEST_CONSENSUS, "FRNK", &from);
        ferry_err err = ferry_grandpa_log_decode(it->data, it->data_len, &logs[i]);
        if (err) {
            free_logs(logs, i);
            return fail(
                why, err == FERRY_E_NOMEM ? "out of memory" : "FRNK consensus log does not decode",
                err == FERRY_E_NOMEM ? FERRY_E_NOMEM : FERRY_E_INVALID);
        }
    }
    size_t sched, forced;
    enum ferry_grandpa_pause_state pause;
    uint32_t pause_at;
    ferry_err err = plan(set, h, logs, n, &sched, &forced, &pause, &pause_at, why);
    if (err) {
        free_logs(logs, n);
        return err;
    }

    /* From here on nothing can fail. Signals first, then what is enacted at this block. */
    for (size_t i = 0; i < n; i++)
        if (logs[i].kind == FERRY_GRANDPA_ON_DISABLED)
            ev->disabled++;
    if (sched != SIZE_MAX) {
        take_change(&set->scheduled, h, &logs[sched]);
        set->has_scheduled = true;
        ev->signalled = true;
    }
    if (forced != SIZE_MAX) {
        take_change(&set->forced, h, &logs[forced]);
        set->has_forced = true;
        ev->signalled = true;
    }
    free_logs(logs, n);

    if (set->has_forced && set->forced.signal_number + set->forced.delay == h->number) {
        enact(set, &set->forced);
        set->has_forced = false;
        /* a new set starts with no pending changes */
        free(set->scheduled.next);
        memset(&set->scheduled, 0, sizeof set->scheduled);
        set->has_scheduled = false;
        ev->enacted = ev->forced = true;
    } else if (set->has_scheduled &&
               set->scheduled.signal_number + set->scheduled.delay == h->number) {
        enact(set, &set->scheduled);
        set->has_scheduled = false;
        ev->enacted = true;
    }
    if (pause != set->pause)
        ev->pause_changed = true;
    set->pause = pause;
    set->pause_at = pause_at;
    if ((set->pause == FERRY_GRANDPA_PAUSE_PENDING || set->pause == FERRY_GRANDPA_RESUME_PENDING) &&
        set->pause_at == h->number) {
        set->pause =
            set->pause == FERRY_GRANDPA_PAUSE_PENDING ? FERRY_GRANDPA_PAUSED : FERRY_GRANDPA_LIVE;
        set->pause_at = 0;
        ev->pause_changed = true;
    }
    set->number = h->number;
    memcpy(set->hash, h->hash, 32);
    return FERRY_OK;
}

ferry_err ferry_authority_set_apply_header(struct ferry_authority_set *set,
                                           const struct ferry_header *h,
                                           struct ferry_authority_set_event *ev,
                                           struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err = authority_set_apply_header_static(set, h, ev, why ? &reason : NULL);
    if (err && reason)
        ferry_reason_set(why, err, "%s", reason);
    return err;
}

/* ---- persistence ----------------------------------------------------------------------------- */

#define STATE_VERSION 1

static void put_list(struct ferry_scale_writer *w, const struct ferry_authority *l, size_t n)
{
    ferry_scale_put_compact(w, n);
    for (size_t i = 0; i < n; i++) {
        ferry_scale_put_bytes(w, l[i].id, 32);
        ferry_scale_put_u64(w, l[i].weight);
    }
}

static void put_pending(struct ferry_scale_writer *w, bool has,
                        const struct ferry_grandpa_pending_change *pc)
{
    ferry_scale_put_u8(w, has ? 1 : 0);
    if (!has)
        return;
    ferry_scale_put_u32(w, pc->signal_number);
    ferry_scale_put_bytes(w, pc->signal_hash, 32);
    ferry_scale_put_u32(w, pc->delay);
    ferry_scale_put_u32(w, pc->median);
    put_list(w, pc->next, pc->n_next);
}

void ferry_authority_set_encode(const struct ferry_authority_set *set, struct ferry_scale_writer *w)
{
    ferry_scale_put_u8(w, STATE_VERSION);
    ferry_scale_put_u64(w, set->set_id);
    put_list(w, set->authorities, set->n_authorities);
    ferry_scale_put_u32(w, set->number);
    ferry_scale_put_bytes(w, set->hash, 32);
    put_pending(w, set->has_scheduled, &set->scheduled);
    put_pending(w, set->has_forced, &set->forced);
    ferry_scale_put_u8(w, (uint8_t)set->pause);
    ferry_scale_put_u32(w, set->pause_at);
    ferry_scale_put_bool(w, set->accept_forced);
}

/* Vec<(id[32], u64)>; an empty list is FERRY_E_INVALID when nonempty is set. */
static ferry_err read_list(struct ferry_scale_reader *r, struct ferry_authority **out, size_t *n,
                           bool nonempty)
{
    size_t count;
    *out = NULL;
    *n = 0;
    if (ferry_scale_vec_len(r, AUTHORITY_SIZE, &count))
        return r->err;
    if (count == 0)
        return nonempty ? ferry_scale_fail(r, FERRY_E_INVALID, "empty authority list") : FERRY_OK;
    struct ferry_authority *l = malloc(count * sizeof *l);
    if (!l)
        return ferry_scale_fail(r, FERRY_E_NOMEM, "out of memory for authorities");
    for (size_t i = 0; i < count; i++) {
        ferry_scale_copy(r, l[i].id, 32);
        ferry_scale_u64(r, &l[i].weight);
    }
    if (r->err) {
        free(l);
        return r->err;
    }
    *out = l;
    *n = count;
    return FERRY_OK;
}

static ferry_err read_pending(struct ferry_scale_reader *r, bool *has,
                              struct ferry_grandpa_pending_change *pc)
{
    memset(pc, 0, sizeof *pc);
    if (ferry_scale_option(r, has) || !*has)
        return r->err;
    ferry_scale_u32(r, &pc->signal_number);
    ferry_scale_copy(r, pc->signal_hash, 32);
    ferry_scale_u32(r, &pc->delay);
    ferry_scale_u32(r, &pc->median);
    if (!r->err && pc->delay > UINT32_MAX - pc->signal_number)
        return ferry_scale_fail(r, FERRY_E_INVALID, "pending change delay overflows");
    return read_list(r, &pc->next, &pc->n_next, true);
}

ferry_err ferry_authority_set_decode(struct ferry_authority_set *set, const uint8_t *buf,
                                     size_t len, struct ferry_scale_reader *diag)
{
    struct ferry_scale_reader r;
    uint8_t version = 0, pause = 0;
    memset(set, 0, sizeof *set);
    ferry_scale_reader_init(&r, buf, len);
    if (!ferry_scale_u8(&r, &version) && version != STATE_VERSION)
        ferry_scale_fail(&r, FERRY_E_UNSUPPORTED, "unknown authority set state version");
    ferry_scale_u64(&r, &set->set_id);
    if (!r.err)
        read_list(&r, &set->authorities, &set->n_authorities, true);
    ferry_scale_u32(&r, &set->number);
    ferry_scale_copy(&r, set->hash, 32);
    if (!r.err)
        read_pending(&r, &set->has_scheduled, &set->scheduled);
    if (!r.err)
        read_pending(&r, &set->has_forced, &set->forced);
    if (!ferry_scale_u8(&r, &pause) && pause > FERRY_GRANDPA_RESUME_PENDING)
        ferry_scale_fail(&r, FERRY_E_INVALID, "bad pause state");
    set->pause = (enum ferry_grandpa_pause_state)pause;
    ferry_scale_u32(&r, &set->pause_at);
    ferry_scale_bool(&r, &set->accept_forced);
    ferry_err err = ferry_scale_finish(&r);
    if (err)
        ferry_authority_set_free(set);
    if (diag)
        *diag = r;
    return err;
}

/* ---- bootstrapping from storage -------------------------------------------------------------- */

ferry_err ferry_grandpa_authorities_decode(const uint8_t *buf, size_t len, bool versioned,
                                           struct ferry_authority **list, size_t *n)
{
    struct ferry_scale_reader r;
    uint8_t version;
    ferry_scale_reader_init(&r, buf, len);
    *list = NULL;
    *n = 0;
    if (versioned && !ferry_scale_u8(&r, &version) && version != 1)
        ferry_scale_fail(&r, FERRY_E_UNSUPPORTED, "unknown :grandpa_authorities version");
    if (!r.err)
        read_list(&r, list, n, false);
    ferry_err err = ferry_scale_finish(&r);
    if (err) {
        free(*list);
        *list = NULL;
        *n = 0;
    }
    return err;
}

static const char legacy_key[] = ":grandpa_authorities";

static ferry_err authority_set_from_proof_static(struct ferry_authority_set *set,
                                                 const struct ferry_trie_proof *proof,
                                                 const uint8_t state_root[32], uint32_t number,
                                                 const uint8_t hash[32], const char **why)
{
    uint8_t key[32];
    const uint8_t *value;
    size_t value_len;
    const char *lookup_why;
    struct ferry_authority *list = NULL;
    size_t n = 0;
    bool versioned = false;
    memset(set, 0, sizeof *set);

    ferry_storage_prefix(key, "Grandpa", "Authorities");
    ferry_err err = chain_trie_proof_lookup(proof, state_root, key, sizeof key, &value, &value_len,
                                            &lookup_why);
    if (err == FERRY_E_NOT_FOUND) {
        versioned = true;
        err = chain_trie_proof_lookup(proof, state_root, (const uint8_t *)legacy_key,
                                      sizeof legacy_key - 1, &value, &value_len, &lookup_why);
        if (err == FERRY_E_NOT_FOUND)
            return fail(why,
                        "neither Grandpa::Authorities nor :grandpa_authorities is in the state",
                        FERRY_E_NOT_FOUND);
    }
    if (err == FERRY_E_INCOMPLETE)
        return fail(why, "the proof does not cover the GRANDPA authorities key", err);
    if (err)
        return fail(why, lookup_why, err);
    err = ferry_grandpa_authorities_decode(value, value_len, versioned, &list, &n);
    if (err)
        return fail(why, "GRANDPA authorities value does not decode", err);

    uint64_t set_id = 0;
    ferry_storage_prefix(key, "Grandpa", "CurrentSetId");
    err = chain_trie_proof_lookup(proof, state_root, key, sizeof key, &value, &value_len,
                                  &lookup_why);
    if (err == FERRY_OK) {
        struct ferry_scale_reader r;
        ferry_scale_reader_init(&r, value, value_len);
        ferry_scale_u64(&r, &set_id);
        err = ferry_scale_finish(&r);
        if (err) {
            free(list);
            return fail(why, "Grandpa::CurrentSetId is not a u64", err);
        }
    } else if (err != FERRY_E_NOT_FOUND) {
        free(list);
        return fail(why,
                    err == FERRY_E_INCOMPLETE ? "the proof does not cover Grandpa::CurrentSetId"
                                              : lookup_why,
                    err);
    }
    err = ferry_authority_set_init(set, set_id, list, n, number, hash);
    free(list);
    if (err)
        return fail(why, err == FERRY_E_INVALID ? "empty GRANDPA authority list" : "out of memory",
                    err);
    return FERRY_OK;
}

ferry_err ferry_authority_set_from_proof(struct ferry_authority_set *set,
                                         const struct ferry_trie_proof *proof,
                                         const uint8_t state_root[32], uint32_t number,
                                         const uint8_t hash[32], struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err =
        authority_set_from_proof_static(set, proof, state_root, number, hash, why ? &reason : NULL);
    if (err && reason)
        ferry_reason_set(why, err, "%s", reason);
    return err;
}
