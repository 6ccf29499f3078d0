/* `ferry follow` (see follow.h for the trust model): a driver of the light-client core.
 *
 *     node source (source.h) → lc (lc.h) → store (store.h) → callbacks
 *
 * The loop is single-threaded: each iteration learns the node's finalized height (only once
 * caught up with the last one seen), hands at most one batch (relay headers ending in a
 * justified block) to lc, commits what lc verified to the store and reports it, then proves the
 * parachain head at the batch's last block. Every error path comes back to the top of the loop,
 * so a reconnect, a lying node or a restart of the node all resume from the last committed block
 * by number. Verification lives in lc; fetching, endpoint rotation and backoff in the source.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/clock.h"
#include "ferry/authority_set.h"
#include "ferry/follow.h"
#include "ferry/hash.h"
#include "ferry/hex.h"
#include "ferry/lc.h"
#include "ferry/log.h"
#include "ferry/para_head.h"
#include "ferry/source.h"
#include "ferry/store.h"

#define LOG "follow"
/* Para headers fetched in one walk; a longer jump reports the proven head alone. */
#define MAX_PARA_WALK 65536
/* State roots lc retains: follow only proves para heads at the last verified block. */
#define KEEP_ROOTS 16

/* The next relay batch, fetched on a thread of its own while the current one is verified and
 * committed (catch-up with grandpa_proveFinality only; see relay_step). While `running`, only
 * that thread uses the relay source; the loop joins it before any other use. */
struct prefetch {
    pthread_t thread;
    bool running, ready;
    struct ferry_source *src;
    uint32_t after; /* the batch must start at after + 1 and link to after_hash */
    uint8_t after_hash[32];
    struct ferry_source_stream *st;
    ferry_err err;
};

/* Old relay headers are pruned once this many more may go (see relay_step). */
#define PRUNE_STEP 4096u

/* Verified batches written in one store transaction, each in a savepoint of its own, while
 * catching up (see group_due): one commit, with its log sync, per GROUP_S instead of per batch.
 * Their reports wait for the commit. */
struct group {
    bool open;
    double t0;
    uint8_t parent[32];    /* of the first block */
    uint32_t first;        /* its number */
    uint8_t (*hashes)[32]; /* hashes[i]: block first + i */
    size_t n, cap;
    struct group_run {
        size_t end; /* hashes[..end) not in an earlier run */
        uint64_t signed_by;
    } * runs;
    size_t n_runs, cap_runs;
};

struct follower {
    const struct ferry_follow_config *cfg;
    struct prefetch pf;
    struct ferry_source *relay;
    struct ferry_source *para; /* NULL: relay only */
    struct ferry_store *store;
    struct ferry_lc *lc;
    uint8_t genesis[32];
    uint32_t target;          /* the node's finalized height as last seen */
    uint32_t para_checked_at; /* relay block whose Paras::Heads was last proven */
    bool para_checked;
    unsigned rpc_errors; /* steps in a row that failed with a node error */
    uint32_t pruned_to;  /* relay headers below this were last pruned (0: not yet) */
    double rate_t0;
    uint32_t rate_n0;
    double rate;
    struct group grp;
};

static bool stopped(const struct follower *f)
{
    return f->cfg->stop && *f->cfg->stop;
}

static void status(const struct follower *f, struct ferry_lc_status *st)
{
    ferry_lc_status(f->lc, st);
}

static uint32_t verified(const struct follower *f)
{
    struct ferry_lc_status st;
    status(f, &st);
    return st.number;
}

static struct ferry_lc_config lc_config(const struct follower *f)
{
    struct ferry_lc_config c = {0};
    c.parachain = f->cfg->n_para_urls > 0;
    c.para_id = f->cfg->para_id;
    c.threads = f->cfg->threads;
    c.keep_roots = KEEP_ROOTS;
    return c;
}

/* ---- trust root ------------------------------------------------------------------------------ */

/* Persist the trust root: its header and the authority set in force there. */
static ferry_err commit_start(struct follower *f, const struct ferry_header *h)
{
    const struct ferry_authority_set *set = ferry_lc_authority_set(f->lc);
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_authority_set_encode(set, &w);
    ferry_err err = ferry_scale_writer_error(&w);
    if (!err)
        err = ferry_store_begin(f->store);
    if (!err)
        err = ferry_store_put_relay(f->store, h->number, h->hash, h->encoded, h->encoded_len,
                                    set->set_id);
    if (!err)
        err = ferry_store_put_authorities(f->store, w.buf, w.len);
    if (!err)
        err = ferry_store_commit(f->store);
    if (err)
        ferry_store_rollback(f->store);
    ferry_scale_writer_free(&w);
    return err;
}

static ferry_err init_from_genesis(struct follower *f, char *why, size_t whylen)
{
    struct ferry_header h;
    struct ferry_reason r = {{0}};
    ferry_err err = ferry_source_header(f->relay, f->genesis, &h, &r);
    if (ferry_source_is_malformed(err)) {
        snprintf(why, whylen, "the node's genesis header is malformed (%s)", ferry_strerror(err));
        return FERRY_E_VERIFY;
    }
    if (err == FERRY_E_VERIFY || (!err && h.number != 0)) {
        snprintf(why, whylen, "the node's genesis header does not hash to its genesis hash");
        ferry_header_free(&h);
        return FERRY_E_VERIFY;
    }
    if (err) {
        ferry_log_warn(LOG, "cannot fetch the genesis header: %s", r.text);
        return FERRY_E_RETRY;
    }
    uint8_t auth_key[32], set_key[32];
    ferry_storage_prefix(auth_key, "Grandpa", "Authorities");
    ferry_storage_prefix(set_key, "Grandpa", "CurrentSetId");
    static const char legacy[] = ":grandpa_authorities";
    struct ferry_bytes keys[3] = {
        {auth_key, 32}, {(uint8_t *)legacy, sizeof legacy - 1}, {set_key, 32}};
    struct ferry_trie_proof *proof;
    err = ferry_source_read_proof(f->relay, keys, 3, f->genesis, &proof, &r);
    if (err && err != FERRY_E_NOMEM) {
        ferry_log_warn(LOG, "cannot fetch the genesis authority proof: %s", r.text);
        ferry_header_free(&h);
        return FERRY_E_RETRY;
    }
    struct ferry_lc_config c = lc_config(f);
    if (!err)
        err = ferry_lc_new_genesis(&f->lc, &c, &h, proof, &r);
    ferry_trie_proof_free(proof);
    if (err) {
        snprintf(why, whylen, "%s", r.text[0] ? r.text : ferry_strerror(err));
        ferry_header_free(&h);
        return err == FERRY_E_NOMEM ? err : FERRY_E_VERIFY;
    }
    err = commit_start(f, &h);
    if (!err) {
        const struct ferry_authority_set *set = ferry_lc_authority_set(f->lc);
        ferry_log_info(LOG, "trust root: genesis, set_id %llu with %zu authorities",
                       (unsigned long long)set->set_id, set->n_authorities);
        if (f->cfg->on_relay)
            f->cfg->on_relay(f->cfg->user, &h, set->set_id);
    }
    ferry_header_free(&h);
    return err;
}

static ferry_err load_checkpoint(struct follower *f, char *why, size_t whylen)
{
    uint8_t genesis[32];
    struct ferry_header h;
    struct ferry_authority_set set;
    struct ferry_reason cr = {""};
    ferry_err err = ferry_follow_read_checkpoint(f->cfg->checkpoint_path, genesis, &h, &set, &cr);
    if (err) {
        snprintf(why, whylen, "%s", cr.text);
        return err;
    }
    struct ferry_lc_config c = lc_config(f);
    if (memcmp(genesis, f->genesis, 32) != 0) {
        snprintf(why, whylen, "checkpoint %s is for another chain (genesis differs)",
                 f->cfg->checkpoint_path);
        err = FERRY_E_STATE;
    } else if (ferry_lc_new_checkpoint(&f->lc, &c, genesis, &h, &set, NULL) != FERRY_OK) {
        snprintf(why, whylen,
                 "checkpoint %s: header or authority set is malformed or they do not match",
                 f->cfg->checkpoint_path);
        err = FERRY_E_INVALID;
    }
    ferry_authority_set_free(&set);
    if (!err)
        err = commit_start(f, &h);
    if (!err)
        ferry_log_info(LOG, "trust root: checkpoint #%u, set_id %llu", h.number,
                       (unsigned long long)ferry_lc_authority_set(f->lc)->set_id);
    ferry_header_free(&h);
    return err;
}

/* Resume from the store, or establish the trust root. */
static ferry_err load_state(struct follower *f, char *why, size_t whylen)
{
    ferry_err err = ferry_store_bind_genesis(f->store, f->genesis);
    if (err == FERRY_E_STATE) {
        char g[67];
        ferry_hex_encode(f->genesis, 32, g);
        snprintf(why, whylen,
                 "store %s was written for another chain (node genesis %s); use another --db",
                 f->cfg->db_path, g);
        return err;
    }
    if (err) {
        snprintf(why, whylen, "store %s: cannot record genesis", f->cfg->db_path);
        return err;
    }
    uint8_t *state;
    size_t len;
    err = ferry_store_get_authorities(f->store, &state, &len);
    if (err == FERRY_E_NOT_FOUND)
        return f->cfg->checkpoint_path ? load_checkpoint(f, why, whylen)
                                       : init_from_genesis(f, why, whylen);
    if (err) {
        snprintf(why, whylen, "store %s: cannot read the authority set", f->cfg->db_path);
        return err;
    }
    if (f->cfg->checkpoint_path)
        ferry_log_warn(LOG, "store %s already holds verified state; --checkpoint %s is ignored",
                       f->cfg->db_path, f->cfg->checkpoint_path);
    /* The store is a checkpoint ferry wrote itself: its last header and the set in force. */
    struct ferry_authority_set set = {0};
    err = ferry_authority_set_decode(&set, state, len, NULL);
    free(state);
    uint8_t *hdr = NULL;
    size_t hl = 0;
    uint32_t number = 0;
    uint8_t hash[32];
    struct ferry_header h = {0};
    if (!err)
        err = ferry_store_last_relay(f->store, &number, hash, &hdr, &hl, NULL);
    if (!err)
        err = ferry_header_decode(&h, hdr, hl, NULL);
    free(hdr);
    struct ferry_lc_config c = lc_config(f);
    if (!err && (set.number != number || memcmp(set.hash, hash, 32) != 0 ||
                 ferry_lc_new_checkpoint(&f->lc, &c, f->genesis, &h, &set, NULL) != FERRY_OK))
        err = FERRY_E_STATE;
    ferry_authority_set_free(&set);
    ferry_header_free(&h);
    if (err) {
        snprintf(why, whylen, "store %s is inconsistent (%s); move it aside to start again",
                 f->cfg->db_path, ferry_strerror(err));
        return FERRY_E_IO;
    }
    /* The para head verified before: the next para headers must link to it. */
    bool has_para = false;
    uint8_t *phdr = NULL;
    size_t phl = 0;
    uint32_t pn;
    uint8_t ph[32];
    if (f->para &&
        ferry_store_last_para(f->store, f->cfg->para_id, &pn, ph, &phdr, &phl) == FERRY_OK) {
        struct ferry_header p;
        if (ferry_header_decode(&p, phdr, phl, NULL) == FERRY_OK && memcmp(p.hash, ph, 32) == 0 &&
            ferry_lc_trust_para(f->lc, &p, NULL) == FERRY_OK)
            has_para = true;
        ferry_header_free(&p);
        free(phdr);
    }
    ferry_log_info(LOG, "resuming at #%u (set_id %llu)%s", number,
                   (unsigned long long)ferry_lc_authority_set(f->lc)->set_id,
                   has_para ? ", para known" : "");
    return FERRY_OK;
}

/* ---- relay ------------------------------------------------------------------------------------
 */

static void *prefetch_main(void *arg)
{
    struct prefetch *pf = arg;
    pf->err = ferry_source_relay_stream_after(pf->src, pf->after, pf->after_hash, &pf->st, NULL);
    return NULL;
}

/* Wait for a prefetch in flight; its batch (if any) stays in f->pf until taken or dropped. */
static void prefetch_join(struct follower *f)
{
    if (!f->pf.running)
        return;
    pthread_join(f->pf.thread, NULL);
    f->pf.running = false;
    f->pf.ready = true;
}

static void prefetch_drop(struct follower *f)
{
    prefetch_join(f);
    if (f->pf.ready && !f->pf.err)
        ferry_source_stream_free(f->pf.st);
    f->pf.st = NULL;
    f->pf.ready = false;
}

/* Start fetching the batch after `last` (the batch about to be verified ends there) when more
 * is known to be finalized: relay only (the para step uses the relay source between batches),
 * and only after a batch of at most PREFETCH_MAX_BATCH headers. A streamed batch holds its
 * decoded bytes only (~200 B a header, given back as they are read), so while the next batch
 * arrives the current one adds at most ~3 MiB at this limit; the limit keeps two batches of up to
 * 65 536 headers (12.5 MiB each) from being held at once. */
#define PREFETCH_MAX_BATCH 16384
static void prefetch_start(struct follower *f, uint32_t last, const uint8_t last_hash[32], size_t n)
{
    if (f->para || n > PREFETCH_MAX_BATCH || last >= f->target ||
        (f->cfg->has_until && last >= f->cfg->until))
        return;
    struct prefetch *pf = &f->pf;
    pf->src = f->relay;
    pf->after = last;
    memcpy(pf->after_hash, last_hash, 32);
    pf->ready = false;
    pf->st = NULL;
    pf->running = pthread_create(&pf->thread, NULL, prefetch_main, pf) == 0;
}

/* The prefetched batch when it starts right after the last verified block. */
static bool prefetch_take(struct follower *f, struct ferry_source_stream **out)
{
    prefetch_join(f);
    struct ferry_lc_status st;
    status(f, &st);
    bool usable = f->pf.ready && !f->pf.err && f->pf.after == st.number &&
                  memcmp(f->pf.after_hash, st.hash, 32) == 0;
    if (!usable) {
        prefetch_drop(f);
        return false;
    }
    *out = f->pf.st;
    f->pf.st = NULL;
    f->pf.ready = false;
    return true;
}

/* Verify a batch header by header as the stream hands them out (lc keeps only linkage data) and
 * write each to the store inside one transaction, committed with the new authority set only
 * once the justification verified and rolled back otherwise: the batch is never in memory as a
 * whole, only its hashes for the reports. Out: hashes[i] the hash of block first + i.
 * Returns: FERRY_OK; FERRY_E_VERIFY (why: the lie); FERRY_E_IO (the store); FERRY_E_NOMEM. */
static ferry_err verify_and_store(struct follower *f, struct ferry_source_stream *st,
                                  uint8_t (*hashes)[32], size_t cap, size_t *n, uint64_t signed_by,
                                  struct ferry_lc_change *ch, char *why, size_t whylen)
{
    struct ferry_reason r = {{0}};
    struct ferry_lc_batch *lb;
    *n = 0;
    ferry_err err = ferry_lc_batch_begin(f->lc, &lb, &r);
    if (err) {
        snprintf(why, whylen, "%s", r.text);
        return err;
    }
    bool io = false;
    if (!f->grp.open) {
        io = ferry_store_begin(f->store) != FERRY_OK;
        f->grp.open = !io;
        f->grp.t0 = ferry_clock_s();
    }
    io = io || ferry_store_savepoint(f->store) != FERRY_OK;
    while (!io) {
        struct ferry_header h;
        err = ferry_source_stream_next(st, &h, &r);
        if (err == FERRY_E_NOT_FOUND) {
            err = FERRY_OK;
            break;
        }
        if (!err && *n >= cap)
            err = ferry_reason_set(&r, FERRY_E_INVALID, "more headers than the batch holds");
        if (!err)
            err = ferry_lc_batch_add(lb, &h, &r);
        if (!err) {
            io = ferry_store_put_relay(f->store, h.number, h.hash, h.encoded, h.encoded_len,
                                       signed_by) != FERRY_OK;
            memcpy(hashes[(*n)++], h.hash, 32);
        }
        ferry_header_free(&h);
        if (err)
            break;
    }
    if (io || err) {
        ferry_lc_batch_abort(lb);
        ferry_store_rollback_to(f->store);
        if (io) {
            snprintf(why, whylen, "store %s: cannot write verified headers", f->cfg->db_path);
            return FERRY_E_IO;
        }
        snprintf(why, whylen, "%s", r.text);
        return err == FERRY_E_NOMEM ? err : FERRY_E_VERIFY;
    }
    size_t jl;
    const uint8_t *just = ferry_source_stream_justification(st, &jl);
    err = ferry_lc_batch_finish(lb, just, jl, ch, NULL, &r);
    if (err) {
        ferry_store_rollback_to(f->store);
        snprintf(why, whylen, "%s", r.text);
        return err == FERRY_E_NOMEM ? err : FERRY_E_VERIFY;
    }
    /* lc moved on: the set in force after the batch goes with its headers */
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_authority_set_encode(ferry_lc_authority_set(f->lc), &w);
    err = ferry_scale_writer_error(&w);
    if (!err)
        err = ferry_store_put_authorities(f->store, w.buf, w.len);
    if (!err)
        err = ferry_store_release(f->store);
    ferry_scale_writer_free(&w);
    if (err) {
        ferry_store_rollback_to(f->store);
        snprintf(why, whylen, "store %s: cannot write verified headers", f->cfg->db_path);
        return FERRY_E_IO;
    }
    return FERRY_OK;
}

#define GROUP_S   0.1
#define GROUP_MAX 65536

/* Room for a batch of up to n more hashes after the group's (verify_and_store writes them at
 * hashes + n). */
static ferry_err group_reserve(struct follower *f, size_t n)
{
    struct group *g = &f->grp;
    if (g->cap - g->n >= n)
        return FERRY_OK;
    size_t cap = g->n + n;
    if (cap < 2 * g->cap && g->cap < GROUP_MAX)
        cap = 2 * g->cap; /* grow geometrically while small */
    uint8_t(*h)[32] = realloc(g->hashes, cap * sizeof *h);
    if (!h)
        return FERRY_E_NOMEM;
    g->hashes = h;
    g->cap = cap;
    return FERRY_OK;
}

/* Add the verified batch whose n hashes verify_and_store wrote after the group's (blocks
 * first..first+n-1, finalized by set signed_by) to the group's reports. */
static ferry_err group_add(struct follower *f, uint32_t first, const uint8_t parent[32], size_t n,
                           uint64_t signed_by)
{
    struct group *g = &f->grp;
    if (!g->n) {
        g->first = first;
        memcpy(g->parent, parent, 32);
        g->n_runs = 0;
    }
    if (g->n_runs == g->cap_runs) {
        size_t cap = g->cap_runs ? 2 * g->cap_runs : 16;
        struct group_run *r = realloc(g->runs, cap * sizeof *r);
        if (!r)
            return FERRY_E_NOMEM;
        g->runs = r;
        g->cap_runs = cap;
    }
    g->n += n;
    g->runs[g->n_runs].end = g->n;
    g->runs[g->n_runs].signed_by = signed_by;
    g->n_runs++;
    return FERRY_OK;
}

/* Commit the group's transaction and report its blocks (reports only after the commit). A
 * failed commit loses the group's batches, which are verified again from the store's state.
 * Returns: FERRY_OK or FERRY_E_IO (why says so). */
static ferry_err group_commit(struct follower *f, char *why, size_t whylen)
{
    struct group *g = &f->grp;
    if (!g->open)
        return FERRY_OK;
    g->open = false;
    ferry_err err = ferry_store_commit(f->store);
    if (err) {
        ferry_store_rollback(f->store);
        g->n = 0;
        snprintf(why, whylen, "store %s: cannot commit verified headers", f->cfg->db_path);
        return FERRY_E_IO;
    }
    if (f->cfg->on_relay) {
        /* the batch is in the store, not in memory: reports carry number, hash and parent */
        struct ferry_header h;
        memset(&h, 0, sizeof h);
        size_t run = 0;
        for (size_t i = 0; i < g->n; i++) {
            while (run + 1 < g->n_runs && i >= g->runs[run].end)
                run++;
            h.number = g->first + (uint32_t)i;
            memcpy(h.parent_hash, i ? g->hashes[i - 1] : g->parent, 32);
            memcpy(h.hash, g->hashes[i], 32);
            f->cfg->on_relay(f->cfg->user, &h, g->runs[run].signed_by);
        }
    }
    g->n = 0;
    /* a long catch-up's largest group is not kept once it is over */
    if (g->cap > 4096) {
        free(g->hashes);
        g->hashes = NULL;
        g->cap = 0;
    }
    return FERRY_OK;
}

/* Does the group end with the batch that ended at last? It stays open only while catching up
 * (more is known to be finalized), in relay-only mode, for at most GROUP_S seconds and
 * GROUP_MAX headers: a crash loses at most that much verified (not reported) work, which is
 * verified again on restart. */
static bool group_due(const struct follower *f, uint32_t last)
{
    return f->para || last >= f->target || (f->cfg->has_until && last >= f->cfg->until) ||
           f->grp.n >= GROUP_MAX || ferry_clock_s() - f->grp.t0 >= GROUP_S || stopped(f);
}

/* One relay step: fetch one batch (or take the one prefetched), start fetching the next, have
 * lc verify this one while it is written to the store, commit and report it. */
static ferry_err relay_step(struct follower *f, char *why, size_t whylen)
{
    struct ferry_source_stream *st = NULL;
    struct ferry_reason r = {{0}};
    ferry_err err = FERRY_OK;
    uint32_t first = verified(f) + 1;
    if (!prefetch_take(f, &st))
        err = ferry_source_relay_stream(f->relay, ferry_lc_authority_set(f->lc), &st, &r);
    if (err) {
        /* what the source says about a lie is the reason; network trouble is logged by the
         * loop with the error alone, as before */
        if (err == FERRY_E_VERIFY)
            snprintf(why, whylen, "%s", r.text);
        return err;
    }
    uint8_t top_hash[32];
    uint32_t top = ferry_source_stream_top(st, top_hash);
    size_t cap = top >= first ? (size_t)(top - first) + 1 : 0;
    prefetch_start(f, top, top_hash, cap);
    if (group_reserve(f, cap ? cap : 1)) {
        ferry_source_stream_free(st);
        return FERRY_E_NOMEM;
    }
    uint64_t signed_by = ferry_lc_authority_set(f->lc)->set_id;
    struct ferry_lc_status before;
    status(f, &before);
    uint8_t parent[32];
    memcpy(parent, before.hash, 32);
    struct ferry_lc_change ch = {0};
    size_t n = 0;
    err = verify_and_store(f, st, f->grp.hashes + f->grp.n, cap, &n, signed_by, &ch, why, whylen);
    ferry_source_stream_free(st);
    if (!err)
        err = group_add(f, first, parent, n, signed_by);
    if (err)
        return err;
    uint32_t last = first + (uint32_t)n - 1;
    if (ch.set_enacted) {
        const struct ferry_authority_set *set = ferry_lc_authority_set(f->lc);
        ferry_log_info(LOG, "authority set %llu enacted at #%u (%zu authorities)",
                       (unsigned long long)set->set_id, last, set->n_authorities);
    }
    /* Pruned in steps of PRUNE_STEP headers: deleting one batch's worth per batch, in a
     * transaction of its own, was ~7 % of a catch-up's CPU; the store keeps at most PRUNE_STEP
     * headers more than keep_headers in between. */
    uint32_t keep_from = last > f->cfg->keep_headers ? last - f->cfg->keep_headers + 1 : 0;
    if (f->cfg->keep_headers && keep_from &&
        (!f->pruned_to || keep_from >= f->pruned_to + PRUNE_STEP)) {
        if (ferry_store_prune_relay(f->store, keep_from))
            ferry_log_warn(LOG, "store %s: cannot prune old headers", f->cfg->db_path);
        else
            f->pruned_to = keep_from;
    }
    return group_due(f, last) ? group_commit(f, why, whylen) : FERRY_OK;
}

/* ---- parachain --------------------------------------------------------------------------------
 */

static ferry_err store_para(struct follower *f, const struct ferry_header *chain, size_t n,
                            uint32_t relay_number)
{
    ferry_err err = ferry_store_begin(f->store);
    for (size_t i = 0; !err && i < n; i++)
        err = ferry_store_put_para(f->store, f->cfg->para_id, chain[i].number, chain[i].hash,
                                   chain[i].encoded, chain[i].encoded_len,
                                   i + 1 == n ? relay_number : 0);
    if (!err)
        err = ferry_store_commit(f->store);
    if (err)
        ferry_store_rollback(f->store);
    return err;
}

/* Prove the para head at the last verified relay block and report the para headers up to it. */
static ferry_err para_step(struct follower *f, char *why, size_t whylen)
{
    struct ferry_lc_status st;
    status(f, &st);
    uint8_t key[FERRY_PARAS_HEADS_KEY_LEN];
    ferry_paras_heads_key(f->cfg->para_id, key);
    struct ferry_bytes k = {key, sizeof key};
    struct ferry_reason r = {{0}};
    struct ferry_trie_proof *proof;
    ferry_err err = ferry_source_read_proof(f->relay, &k, 1, st.hash, &proof, &r);
    if (err)
        return err;
    /* The head is proven here (lc proves it again on import) to know which headers to fetch. */
    struct ferry_header head;
    err = ferry_para_head_verify(proof, st.state_root, f->cfg->para_id, &head, &r);
    if (err == FERRY_E_NOT_FOUND) {
        ferry_trie_proof_free(proof);
        return FERRY_OK; /* para not registered (yet) at this block */
    }
    if (err) {
        snprintf(why, whylen, "Paras::Heads(%u) at relay #%u not proven: %s", f->cfg->para_id,
                 st.number, r.text[0] ? r.text : ferry_strerror(err));
        ferry_trie_proof_free(proof);
        return err == FERRY_E_NOMEM ? err : FERRY_E_VERIFY;
    }
    if (st.has_para && head.number <= st.para_number) {
        /* The relay chain itself (proven) says the para head is at or below what was reported:
         * nothing new, or a para head that went back, which ferry cannot un-report. Say so. */
        if (head.number < st.para_number ||
            (head.number == st.para_number && memcmp(head.hash, st.para_hash, 32) != 0))
            ferry_log_warn(LOG,
                           "Paras::Heads(%u) at relay #%u is para #%u, not the verified para #%u; "
                           "waiting for it to pass",
                           f->cfg->para_id, st.number, head.number, st.para_number);
        ferry_header_free(&head);
        ferry_trie_proof_free(proof);
        return FERRY_OK;
    }
    /* Walk back on the parachain from the proven head to the last verified para block. */
    uint32_t from = st.has_para ? st.para_number + 1 : head.number;
    struct ferry_header *chain = NULL;
    size_t n = 0;
    struct ferry_lc_change ch;
    if ((size_t)(head.number - from) + 1 > MAX_PARA_WALK) {
        ferry_log_warn(LOG, "para head jumped %u blocks; reporting the proven head only",
                       head.number - from + 1);
        struct ferry_header proven;
        err = ferry_lc_import_para_head(f->lc, st.number, proof, &proven, &ch, &r);
        if (!err) {
            chain = calloc(1, sizeof *chain);
            if (chain) {
                chain[0] = proven;
                n = 1;
            } else {
                ferry_header_free(&proven);
                err = FERRY_E_NOMEM; /* lc moved on: the store will catch up at the next head */
            }
        }
    } else {
        err = ferry_source_headers_back(f->para, &head, from, &chain, &n, &r);
        if (ferry_source_is_malformed(err)) {
            snprintf(why, whylen, "para node answered a malformed header below #%u: %s",
                     head.number, ferry_strerror(err));
            err = FERRY_E_VERIFY;
        } else if (err == FERRY_E_VERIFY) {
            snprintf(why, whylen, "para headers below the proven head #%u do not link: %s",
                     head.number, r.text);
        } else if (!err) {
            err = ferry_lc_import_para(f->lc, st.number, proof, chain, n, &ch, &r);
            if (err && err != FERRY_E_NOMEM) {
                /* lc's reason names the para headers, or the relay proof (Paras::Heads) */
                snprintf(why, whylen, "%s", r.text);
                err = FERRY_E_VERIFY;
            }
        }
    }
    ferry_header_free(&head);
    ferry_trie_proof_free(proof);
    if (!err && store_para(f, chain, n, st.number)) {
        snprintf(why, whylen, "store %s: cannot commit verified para headers", f->cfg->db_path);
        err = FERRY_E_IO;
    }
    if (!err && f->cfg->on_para)
        for (size_t i = 0; i < n; i++)
            f->cfg->on_para(f->cfg->user, f->cfg->para_id, &chain[i]);
    for (size_t i = 0; i < n; i++)
        ferry_header_free(&chain[i]);
    free(chain);
    return err;
}

/* ---- the loop ---------------------------------------------------------------------------------
 */

static void report_progress(struct follower *f)
{
    struct ferry_lc_status st;
    status(f, &st);
    double t = ferry_clock_s();
    if (f->rate_t0 == 0 || t - f->rate_t0 > 5) {
        if (f->rate_t0 != 0 && st.number >= f->rate_n0)
            f->rate = (st.number - f->rate_n0) / (t - f->rate_t0);
        f->rate_t0 = t;
        f->rate_n0 = st.number;
    }
    if (!f->cfg->on_progress)
        return;
    struct ferry_follow_progress p = {st.number, f->target,   st.set_id,
                                      f->rate,   st.has_para, st.para_number};
    f->cfg->on_progress(f->cfg->user, &p);
}

static bool is_network(ferry_err err)
{
    return err == FERRY_E_NET || err == FERRY_E_TIMEOUT || err == FERRY_E_RETRY ||
           err == FERRY_E_RPC || err == FERRY_E_STATE || err == FERRY_E_TOO_LARGE;
}

static ferry_err open_sources(struct follower *f, char *why, size_t whylen)
{
    const struct ferry_follow_config *cfg = f->cfg;
    struct ferry_source_config sc = {0};
    sc.urls = cfg->urls;
    sc.n_urls = cfg->n_urls;
    sc.insecure = cfg->insecure;
    sc.timeout_ms = cfg->timeout_ms;
    sc.max_message_bytes = cfg->max_message_bytes;
    sc.stop = cfg->stop;
    sc.log_label = LOG;
    struct ferry_reason r = {{0}};
    ferry_err err = ferry_source_open(&sc, &f->relay, &r);
    if (!err && cfg->n_para_urls) {
        sc.urls = cfg->para_urls;
        sc.n_urls = cfg->n_para_urls;
        err = ferry_source_open(&sc, &f->para, &r);
    }
    if (err)
        snprintf(why, whylen, "%s", r.text);
    return err;
}

/* Make sure both clients exist (they connect lazily). */
static ferry_err connect_sources(struct follower *f)
{
    struct ferry_rpc *rpc;
    ferry_err err = ferry_source_rpc(f->relay, &rpc, NULL);
    if (!err && f->para)
        err = ferry_source_rpc(f->para, &rpc, NULL);
    return err;
}

static ferry_err follow_run(const struct ferry_follow_config *cfg, char *why, size_t whylen)
{
    if (!cfg->n_urls) {
        snprintf(why, whylen, "no relay URL given");
        return FERRY_E_ARG;
    }
    struct follower f;
    memset(&f, 0, sizeof f);
    f.cfg = cfg;
    srand((unsigned)time(NULL) ^ (unsigned)(uintptr_t)&f);
    struct ferry_reason r = {{0}};
    ferry_err err = ferry_store_open(cfg->db_path, &f.store, &r);
    if (err) {
        snprintf(why, whylen, "%s", r.text);
        return err;
    }
    err = open_sources(&f, why, whylen);
    char step_why[512];
    while (!err && !stopped(&f)) {
        step_why[0] = 0;
        /* a batch fetched ahead is kept for relay_step; nothing else shares the source */
        prefetch_join(&f);
        err = connect_sources(&f);
        if (err) {
            snprintf(why, whylen, "cannot create the RPC client: %s", ferry_strerror(err));
            break;
        }
        if (!f.lc) {
            if (whylen)
                why[0] = 0;
            err = ferry_source_genesis(f.relay, f.genesis, NULL);
            /* Only the node's answer is worth waiting for: everything load_state returns
             * except FERRY_E_RETRY is final (FERRY_E_STATE there means another chain's store or
             * checkpoint, not a client that is closing). */
            bool node_failed = err != FERRY_OK;
            if (!err)
                err = load_state(&f, why, whylen);
            if (!err) {
                ferry_source_backoff_reset(f.relay);
                f.rpc_errors = 0;
                continue;
            }
            ferry_lc_free(f.lc); /* a trust root whose commit failed is not one */
            f.lc = NULL;
            if ((err == FERRY_E_VERIFY || (node_failed && ferry_source_is_malformed(err))) &&
                cfg->n_urls > 1) {
                /* This node's trust root is a lie; another URL may tell the truth. */
                ferry_source_penalise(f.relay, why[0] ? why : ferry_strerror(err));
                ferry_source_backoff(f.relay);
                err = FERRY_OK;
                continue;
            }
            if (node_failed ? !is_network(err) && !ferry_source_is_malformed(err)
                            : err != FERRY_E_RETRY) {
                if (!why[0])
                    snprintf(why, whylen, "cannot read the genesis hash: %s", ferry_strerror(err));
                break; /* a bad store, checkpoint or trust root needs the operator */
            }
            char last[256];
            ferry_log_warn(LOG, "waiting for the node: %s (%s)", ferry_strerror(err),
                           ferry_source_last_error(f.relay, last, sizeof last));
            ferry_source_backoff(f.relay);
            err = FERRY_OK;
            continue;
        }
        if (cfg->has_until && verified(&f) >= cfg->until)
            break;
        /* The node's finalized height is only re-read once ferry has caught up with the last
         * one seen: during catch-up that saves two round trips per batch. */
        if (verified(&f) >= f.target) {
            struct ferry_reason fr = {{0}};
            err = ferry_source_finalized(f.relay, &f.target, NULL, &fr);
            if (err == FERRY_E_VERIFY)
                snprintf(step_why, sizeof step_why, "%s", fr.text);
        }
        bool at_tip = !err && verified(&f) >= f.target;
        if (!err && !at_tip) {
            err = relay_step(&f, step_why, sizeof step_why);
            if (err) {
                prefetch_drop(&f); /* before penalise/backoff touch the source */
                /* what was verified before the failed batch is kept and reported */
                char cwhy[256];
                if (group_commit(&f, cwhy, sizeof cwhy)) {
                    err = FERRY_E_IO;
                    snprintf(step_why, sizeof step_why, "%s", cwhy);
                }
            }
            /* Report (and so flush) the batch before the para step's round trips: a kill in
             * between must not lose printed lines of blocks that are already committed. */
            if (!err)
                report_progress(&f);
        }
        /* The para head is proven at every relay block a step ends on, once. */
        if (!err && f.para && (!f.para_checked || f.para_checked_at != verified(&f))) {
            err = para_step(&f, step_why, sizeof step_why);
            if (!err) {
                f.para_checked = true;
                f.para_checked_at = verified(&f);
            }
        }
        if (!err) {
            ferry_source_backoff_reset(f.relay);
            f.rpc_errors = 0;
            report_progress(&f);
            if (at_tip)
                ferry_source_wait_news(f.relay);
            continue;
        }
        if (stopped(&f)) {
            err = FERRY_OK; /* a step cut short by a stop request is not a failure */
            break;
        }
        if (err == FERRY_E_IO || err == FERRY_E_NOMEM) {
            const char *src = step_why[0] ? step_why : ferry_strerror(err);
            if (whylen) {
                size_t n = strnlen(src, whylen - 1);
                memcpy(why, src, n);
                why[n] = '\0';
            }
            break;
        }
        if (ferry_source_is_malformed(err)) {
            /* para_step labels its own; what is left came from the relay node */
            if (!step_why[0])
                snprintf(step_why, sizeof step_why, "malformed answer at #%u: %s", verified(&f) + 1,
                         ferry_strerror(err));
            err = FERRY_E_VERIFY;
        }
        /* The RPC client rotates URLs on connection trouble by itself; a node that stays up
         * but keeps answering with errors (a pruned node: "State already discarded") is left
         * for the next URL after a few steps in a row. */
        f.rpc_errors = err == FERRY_E_RPC ? f.rpc_errors + 1 : 0;
        if (err == FERRY_E_VERIFY) {
            bool para = f.para && strncmp(step_why, "para", 4) == 0;
            ferry_source_penalise(para ? f.para : f.relay, step_why);
        } else if (err == FERRY_E_RPC && f.rpc_errors >= 3 && cfg->n_urls > 1) {
            char what[600];
            snprintf(what, sizeof what, "%u errors in a row (%s)", f.rpc_errors,
                     step_why[0] ? step_why : ferry_strerror(err));
            f.rpc_errors = 0;
            ferry_source_penalise(f.relay, what);
        } else {
            ferry_log_warn(LOG, "step at #%u failed: %s%s%s; retrying", verified(&f) + 1,
                           ferry_strerror(err), step_why[0] ? ": " : "", step_why);
        }
        err = FERRY_OK;
        ferry_source_backoff(f.relay);
    }
    prefetch_drop(&f);
    char cwhy[256];
    if (group_commit(&f, cwhy, sizeof cwhy) && !err) {
        err = FERRY_E_IO;
        snprintf(why, whylen, "%s", cwhy);
    }
    free(f.grp.hashes);
    free(f.grp.runs);
    ferry_source_close(f.relay);
    ferry_source_close(f.para);
    ferry_lc_free(f.lc);
    ferry_store_close(f.store);
    return err;
}

ferry_err ferry_follow_run(const struct ferry_follow_config *cfg, struct ferry_reason *why)
{
    char buf[FERRY_REASON_MAX] = "";
    ferry_err err = follow_run(cfg, buf, sizeof buf);
    if (err)
        ferry_reason_set(why, err, "%s", buf[0] ? buf : ferry_strerror(err));
    return err;
}
