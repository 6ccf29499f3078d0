/* The relay loop's chain steps, in pherry's order: init the worker, relay headers, para headers,
 * dispatch blocks; and the read proofs of pushed finalized blocks asked ahead of need. */
#include <stdlib.h>
#include <string.h>

#include "ferry/clock.h"
#include "ferry/egress.h"
#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/metrics.h"
#include "ferry/source.h"
#include "ferry/workerapi.h"

#include "src/relay/internal.h"

/* ---- steps
 * ---------------------------------------------------------------------------------------- */

ferry_err step_init(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why)
{
    uint8_t *gi;
    size_t gi_len;
    bool from_cp = false;
    ferry_err err = trust_root(r, &gi, &gi_len, &from_cp, why);
    if (err && from_cp && (err == FERRY_E_STATE || err == FERRY_E_INVALID))
        return relay_fail(r, fault, FERRY_FAULT_CHAIN,
                          err); /* the checkpoint is not of this chain */
    if (err)
        return relay_fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    if (from_cp) {
        /* the worker will name the checkpoint block as its genesis: remember it is ours */
        err = ferry_outbox_kv_put(r->ob, "worker_root", r->cp_header.hash, 32, why);
        if (err) {
            free(gi);
            return relay_fail(r, fault, FERRY_FAULT_IO, err);
        }
    }
    int provider = -1;
    if (!strcmp(r->cfg->attestation, "ias"))
        provider = 1;
    else if (!strcmp(r->cfg->attestation, "dcap"))
        provider = 2;
    uint8_t pk[32];
    err = ferry_wc_init_runtime(&r->wc, gi, gi_len, r->parachain, r->para_id, NULL, provider, pk,
                                why);
    free(gi);
    if (err)
        return relay_fail(r, fault, ferry_fault_classify(FERRY_ORIGIN_WORKER, err), err);
    char hex[67];
    ferry_hex_encode(pk, 32, hex);
    if (from_cp)
        ferry_log_info(LOG, "worker initialised at checkpoint #%u; its identity key is %s",
                       r->cp_header.number, hex);
    else
        ferry_log_info(LOG, "worker initialised at genesis; its identity key is %s", hex);
    relay_save_state(r, true);
    return FERRY_OK;
}

/* SyncHeader with b->headers[i..k], the last carrying just[len]; on success r->info.headernum
 * follows the worker. */
static ferry_err sync_chunk(struct relay *r, const struct ferry_source_batch *b, size_t i, size_t k,
                            const uint8_t *just, size_t just_len, enum ferry_fault_class *fault,
                            struct ferry_reason *why)
{
    /* Vec<HeaderToSync>: only the last carries the justification */
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_compact(&w, k - i + 1);
    for (size_t j = i; j <= k; j++) {
        ferry_header_encode(&b->headers[j], &w);
        if (j == k) {
            ferry_scale_put_u8(&w, 1);
            ferry_scale_put_byte_vec(&w, just, just_len);
        } else {
            ferry_scale_put_u8(&w, 0);
        }
    }
    size_t len;
    uint8_t *enc = ferry_scale_writer_take(&w, &len);
    if (!enc)
        return relay_fail(r, fault, FERRY_FAULT_INTERNAL, FERRY_E_NOMEM);
    uint32_t to = 0;
    ferry_err err = ferry_wc_sync_header(&r->wc, enc, len, &to, why);
    free(enc);
    if (err)
        return worker_fault(r, err, fault, why);
    ferry_log_debug(LOG, "worker synced relay headers #%u..#%u", b->headers[i].number, to);
    /* relay_save_state saves only what the worker has: a saved lc ahead of the worker would have to
     * verify again from the trust root at the next start */
    if (to + 1 > r->info.headernum)
        r->info.headernum = to + 1;
    return FERRY_OK;
}

/* Looking for a stored justification to end a chunk, at most this many blocks are asked (from
 * the highest allowed down): Substrate stores one at least every justification_period (512 by
 * default) blocks besides set changes. */
#define CHUNK_SCAN_MAX 1024

/* The highest header k in b->headers[lo..hi] whose stored GRANDPA justification (chain_getBlock)
 * verifies for it with the set `pre` in force. Out: *k, *just (malloc'd), *just_len.
 * Returns: FERRY_OK; FERRY_E_NOT_FOUND (none in the scanned range); an RPC error. */
static ferry_err find_justified(struct relay *r, const struct ferry_source_batch *b,
                                const struct ferry_authority_set *pre, size_t lo, size_t hi,
                                size_t *k, uint8_t **just, size_t *just_len,
                                struct ferry_reason *why)
{
    *just = NULL;
    struct ferry_voter_set vs = {0};
    ferry_err err = ferry_voter_set_init(&vs, pre->authorities, pre->n_authorities);
    if (err)
        return ferry_reason_set(why, err, "the authority set in force is not a voter set");
    struct ferry_rpc *rpc;
    err = ferry_source_rpc(r->rs, &rpc, why);
    size_t scanned = 0;
    for (size_t j = hi + 1; !err && j-- > lo && scanned < CHUNK_SCAN_MAX; scanned++) {
        struct ferry_block blk;
        struct ferry_rpc_error e = {0};
        err = ferry_rpc_get_block(rpc, b->headers[j].hash, &blk, &e);
        if (err) {
            ferry_reason_set(why, err, "chain_getBlock #%u at %s: %s", b->headers[j].number,
                             ferry_source_url(r->rs), e.message ? e.message : ferry_strerror(err));
            ferry_rpc_error_clear(&e);
            break;
        }
        for (size_t x = 0; x < blk.n_justifications && !*just; x++) {
            const struct ferry_block_justification *bj = &blk.justifications[x];
            if (memcmp(bj->engine, "FRNK", 4))
                continue;
            struct ferry_grandpa_verify_opts o = {0};
            o.flags = FERRY_GRANDPA_CHECK_TARGET;
            memcpy(o.expected_hash, b->headers[j].hash, 32);
            o.expected_number = b->headers[j].number;
            struct ferry_grandpa_verdict v;
            if (ferry_grandpa_verify_encoded(bj->data.p, bj->data.len, &vs, pre->set_id, &o, &v,
                                             NULL, NULL) == FERRY_OK) {
                *just = malloc(bj->data.len ? bj->data.len : 1);
                if (!*just) {
                    err = FERRY_E_NOMEM;
                    break;
                }
                memcpy(*just, bj->data.p, bj->data.len);
                *just_len = bj->data.len;
                *k = j;
            } else {
                ferry_log_warn(LOG, "the justification stored with #%u at %s does not verify: %s",
                               b->headers[j].number, ferry_source_url(r->rs), v.detail);
            }
        }
        ferry_block_free(&blk);
        if (*just)
            break;
    }
    ferry_voter_set_free(&vs);
    if (err)
        return err;
    return *just ? FERRY_OK : FERRY_E_NOT_FOUND;
}

/* Forward the verified batch b from index `from` (the worker's next header) to the worker in
 * SyncHeader calls of at most header_batch_max headers. The worker, like ferry's lc, accepts a
 * batch only when its last header carries a justification, so a chunk can only end at a header
 * that has one: the node's stored justifications (chain_getBlock) are searched for the highest
 * one within the limit, and verified by ferry (set `pre`, in force before the batch) before
 * anything is forwarded. Where the node stores none within the limit (header_batch_max below its
 * justification spacing), the rest goes in one call, with a warning: the limit is the node's to
 * keep then. */
static ferry_err forward_chunks(struct relay *r, const struct ferry_source_batch *b,
                                const struct ferry_authority_set *pre, size_t from,
                                enum ferry_fault_class *fault, struct ferry_reason *why)
{
    size_t max = r->cfg->header_batch_max ? r->cfg->header_batch_max : b->n;
    size_t i = from;
    while (b->n - i > max) {
        size_t k = 0;
        uint8_t *just = NULL;
        size_t just_len = 0;
        ferry_err err = find_justified(r, b, pre, i, i + max - 1, &k, &just, &just_len, why);
        if (err == FERRY_E_NOT_FOUND) {
            ferry_log_warn(LOG,
                           "no stored justification among relay blocks #%u..#%u at %s: "
                           "forwarding #%u..#%u (%zu headers, above header_batch_max %zu) in "
                           "one call",
                           b->headers[i].number, b->headers[i + max - 1].number,
                           ferry_source_url(r->rs), b->headers[i].number,
                           b->headers[b->n - 1].number, b->n - i, max);
            break;
        }
        if (err == FERRY_E_NOMEM)
            return relay_fail(r, fault, FERRY_FAULT_INTERNAL, err);
        if (err)
            return node_fault(r, r->rs, err, fault, why);
        err = sync_chunk(r, b, i, k, just, just_len, fault, why);
        free(just);
        if (err)
            return err;
        ferry_metrics_add(r->m, "ferry_relay_steps_total", "step=\"headers\"", 1);
        i = k + 1;
    }
    return sync_chunk(r, b, i, b->n - 1, b->justification, b->justification_len, fault, why);
}

/* Trie nodes → a proof for lookups. */
static ferry_err nodes_proof(const struct ferry_bytes_list *nodes, struct ferry_trie_proof **proof)
{
    const uint8_t **ptrs = calloc(nodes->n ? nodes->n : 1, sizeof *ptrs);
    size_t *lens = calloc(nodes->n ? nodes->n : 1, sizeof *lens);
    ferry_err err = ptrs && lens ? FERRY_OK : FERRY_E_NOMEM;
    for (size_t i = 0; !err && i < nodes->n; i++) {
        ptrs[i] = nodes->items[i].p;
        lens[i] = nodes->items[i].len;
    }
    if (!err)
        err = ferry_trie_proof_build(ptrs, lens, nodes->n, proof);
    free(ptrs);
    free(lens);
    return err;
}

/* ---- read proofs asked ahead ------------------------------------------------------------------
 * When the node pushes a finalized header, the read proofs that block will need are asked at
 * once, before its header is even fetched and verified: the worker's keys at the block to
 * dispatch (the pushed tip of the chain whose blocks are dispatched) and, in parachain mode,
 * Paras::Heads at the pushed relay block. A proof is used only for the very block ferry's lc
 * verified (matched by hash) and is checked against that block's state root like any other. */

void cancel_prefetch(struct relay *r, size_t i)
{
    ferry_source_read_proof_cancel(r->prefetch[i].q);
    r->prefetch[i].q = NULL;
}

/* The proof of `kind` asked ahead at block hash `at`, taken out of its slot, or NULL. */
static struct ferry_source_proof_req *take_prefetch(struct relay *r, enum prefetch_kind kind,
                                                    const uint8_t at[32])
{
    for (size_t i = 0; i < PREFETCH_SLOTS; i++) {
        struct ferry_source_proof_req *q = r->prefetch[i].q;
        if (q && r->prefetch[i].kind == kind && !memcmp(ferry_source_proof_req_at(q), at, 32)) {
            r->prefetch[i].q = NULL;
            return q;
        }
    }
    return NULL;
}

/* Ask the proof of `kind` at the block (n, hash) on s unless it is asked already. */
static void prefetch_one(struct relay *r, enum prefetch_kind kind, struct ferry_source *s,
                         const struct ferry_bytes *keys, size_t n_keys, uint32_t n,
                         const uint8_t hash[32])
{
    size_t free_slot = PREFETCH_SLOTS;
    for (size_t i = 0; i < PREFETCH_SLOTS; i++) {
        if (!r->prefetch[i].q)
            free_slot = i;
        else if (r->prefetch[i].kind == kind &&
                 !memcmp(ferry_source_proof_req_at(r->prefetch[i].q), hash, 32))
            return;
    }
    if (free_slot == PREFETCH_SLOTS ||
        ferry_source_read_proof_send(s, keys, n_keys, hash, &r->prefetch[free_slot].q, NULL))
        return; /* the step asks when it gets there */
    r->prefetch[free_slot].kind = kind;
    r->prefetch[free_slot].number = n;
}

/* relay_read_proof(), taking the answer of a proof asked ahead when there is one. */
static ferry_err read_proof_ahead(struct relay *r, enum prefetch_kind kind, struct ferry_source *s,
                                  const struct ferry_bytes *keys, size_t n, const uint8_t at[32],
                                  struct ferry_bytes_list *nodes, struct ferry_trie_proof **proof,
                                  struct ferry_reason *why)
{
    struct ferry_source_proof_req *q = take_prefetch(r, kind, at);
    if (!q || ferry_source_read_proof_wait(q, nodes, why))
        return relay_read_proof(s, keys, n, at, nodes, proof,
                                why); /* none, or its connection died */
    ferry_err err = nodes_proof(nodes, proof);
    if (err)
        ferry_bytes_list_free(nodes);
    return err;
}

/* The storage keys DispatchBlocks proves at every block for this worker, and views of them. */
static void dispatch_keys(const struct relay *r, uint8_t keys[][FERRY_WORKER_KEY_MAX],
                          size_t klens[], struct ferry_bytes kb[])
{
    ferry_worker_dispatch_keys(r->info.public_key, keys, klens);
    for (int i = 0; i < FERRY_WORKER_N_KEYS; i++) {
        kb[i].p = keys[i];
        kb[i].len = klens[i];
    }
}

void prefetch_tip(struct relay *r)
{
    if (r->ps)
        ferry_source_poll_news(r->ps);
    /* drop what the worker got without (another fork?): long answered */
    for (size_t i = 0; i < PREFETCH_SLOTS; i++) {
        const struct prefetch *p = &r->prefetch[i];
        if (p->q && (p->kind == PF_BLOCK ? p->number < r->info.blocknum
                                         : p->number + 1 < r->info.headernum))
            cancel_prefetch(r, i);
    }
    if (!r->info.has_public_key)
        return;
    uint32_t n;
    uint8_t hash[32];
    struct ferry_source *src = relay_tx_source(r);
    if (ferry_source_pushed_tip(src, &n, hash) && n >= r->info.blocknum &&
        n - r->info.blocknum < r->cfg->dispatch_batch) { /* else step_blocks pipelines a range */
        uint8_t keys[FERRY_WORKER_N_KEYS][FERRY_WORKER_KEY_MAX];
        size_t klens[FERRY_WORKER_N_KEYS];
        struct ferry_bytes kb[FERRY_WORKER_N_KEYS];
        dispatch_keys(r, keys, klens, kb);
        prefetch_one(r, PF_BLOCK, src, kb, FERRY_WORKER_N_KEYS, n, hash);
    }
    if (r->parachain && ferry_source_pushed_tip(r->rs, &n, hash) && n >= r->info.headernum) {
        uint8_t key[FERRY_PARAS_HEADS_KEY_LEN];
        ferry_paras_heads_key(r->para_id, key);
        struct ferry_bytes k = {key, sizeof key};
        prefetch_one(r, PF_PARA_HEAD, r->rs, &k, 1, n, hash);
    }
}

/* Relay headers: fetch the next batch after the lc, verify it, forward what the worker lacks.
 * Returns FERRY_E_RETRY when there is nothing new (at the tip). */
ferry_err step_headers(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why)
{
    uint32_t next = r->info.headernum; /* the worker's next expected header */
    struct ferry_lc_status ls;
    ferry_lc_status(r->lc, &ls);
    if (ls.number + 1 > next) {
        /* the worker went back (restored an older state), or ferry's saved lc is ahead of it:
         * verify again from the trust root (the checkpoint when the worker is past it) */
        ferry_log_warn(LOG,
                       "worker expects header #%u but ferry verified up to #%u; verifying "
                       "again from %s",
                       next, ls.number,
                       checkpoint_applies(r, false) ? "the checkpoint" : "genesis");
        ferry_err err = trust_genesis(r, NULL, NULL, why);
        if (err)
            return node_fault(r, r->rs, err, fault, why);
        ferry_lc_status(r->lc, &ls);
    }
    struct ferry_source_batch b = {0};
    double t0 = ferry_clock_s();
    ferry_err err = ferry_source_relay_batch(r->rs, ferry_lc_authority_set(r->lc), &b, why);
    relay_time_part(&r->node_s, t0);
    if (err == FERRY_E_RETRY)
        return FERRY_E_RETRY;
    if (err)
        return node_fault(r, r->rs, err, fault, why);
    /* the set in force before the batch: it finalizes every header of it but the last (a
     * change is enacted at a batch's last header at the earliest) */
    struct ferry_authority_set pre = {0};
    if (ferry_authority_set_copy(&pre, ferry_lc_authority_set(r->lc))) {
        ferry_source_batch_free(&b);
        return relay_fail(r, fault, FERRY_FAULT_INTERNAL, FERRY_E_NOMEM);
    }
    struct ferry_lc_change ch;
    t0 = ferry_clock_s();
    err = ferry_lc_import_relay(r->lc, b.headers, b.n, b.justification, b.justification_len, &ch,
                                why);
    relay_time_part(&r->verify_s, t0);
    if (err) {
        ferry_reason_prefix(why, err, "batch from %s rejected: ", ferry_source_url(r->rs));
        ferry_source_batch_free(&b);
        ferry_authority_set_free(&pre);
        return node_fault(r, r->rs, err, fault, why);
    }
    uint32_t first = b.headers[0].number, last = b.headers[b.n - 1].number;
    if (last > r->finalized)
        r->finalized = last;
    r->lc_dirty = true;
    if (ch.set_enacted)
        ferry_log_info(LOG, "authority set %llu enacted at #%u", (unsigned long long)ch.new_set_id,
                       last);
    if (last < next) { /* catching up to the worker: nothing to forward */
        ferry_source_batch_free(&b);
        ferry_authority_set_free(&pre);
        relay_save_state(r, false);
        return FERRY_OK;
    }
    /* from the worker's next header, in chunks of at most header_batch_max (forward_chunks) */
    err = forward_chunks(r, &b, &pre, next - first, fault, why);
    ferry_source_batch_free(&b);
    ferry_authority_set_free(&pre);
    if (err)
        return err;
    relay_save_state(r, last >= r->finalized); /* throttled while catching up, always at the tip */
    ferry_metrics_add(r->m, "ferry_relay_steps_total", "step=\"headers\"", 1);
    return FERRY_OK;
}

/* Paras::Heads(para_id) proven at verified relay block `at`: the para head header. */
static ferry_err proven_para_head(struct relay *r, uint32_t at, struct ferry_header *head,
                                  struct ferry_bytes_list *nodes, enum ferry_fault_class *fault,
                                  struct ferry_reason *why)
{
    uint8_t root[32], hash[32];
    if (ferry_lc_state_root(r->lc, FERRY_LC_RELAY, at, root, hash)) {
        ferry_reason_set(why, FERRY_E_STATE,
                         "relay block #%u is not retained by ferry's light "
                         "client",
                         at);
        return relay_fail(r, fault, FERRY_FAULT_TRANSIENT, FERRY_E_STATE);
    }
    uint8_t key[FERRY_PARAS_HEADS_KEY_LEN];
    ferry_paras_heads_key(r->para_id, key);
    struct ferry_bytes k = {key, sizeof key};
    struct ferry_trie_proof *proof;
    ferry_err err = read_proof_ahead(r, PF_PARA_HEAD, r->rs, &k, 1, hash, nodes, &proof, why);
    if (err)
        return node_fault(r, r->rs, err, fault, why);
    const uint8_t *v;
    size_t vlen;
    err = ferry_lc_read(r->lc, FERRY_LC_RELAY, at, proof, key, sizeof key, &v, &vlen, why);
    if (!err) {
        struct ferry_scale_reader rd;
        ferry_scale_reader_init(&rd, v, vlen);
        const uint8_t *hb;
        size_t hl;
        err = ferry_scale_byte_vec(&rd, &hb, &hl);
        if (!err)
            err = ferry_scale_finish(&rd);
        if (!err)
            err = ferry_header_decode(head, hb, hl, NULL);
        if (err)
            ferry_reason_set(why, err, "Paras::Heads(%u) at #%u does not decode", r->para_id, at);
    } else if (err == FERRY_E_NOT_FOUND) {
        ferry_reason_set(why, err, "relay block #%u has no head for para %u", at, r->para_id);
    }
    ferry_trie_proof_free(proof);
    if (err) {
        ferry_bytes_list_free(nodes);
        if (err == FERRY_E_NOT_FOUND)
            return relay_fail(r, fault, FERRY_FAULT_TRANSIENT, err); /* not onboarded yet */
        return node_fault(r, r->rs, err, fault, why);
    }
    return FERRY_OK;
}

static void free_headers(struct ferry_header *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        ferry_header_free(&v[i]);
    free(v);
}

/* The para id read from the parachain (para_id_from_chain), checked once against the state root
 * of the para head ferry's lc verified. */
static ferry_err check_para_id_verified(struct relay *r, enum ferry_fault_class *fault,
                                        struct ferry_reason *why)
{
    struct ferry_lc_status ls;
    ferry_lc_status(r->lc, &ls);
    if (r->para_id_checked || !ls.has_para)
        return FERRY_OK;
    uint8_t key[32];
    ferry_storage_prefix(key, "ParachainInfo", "ParachainId");
    struct ferry_bytes k = {key, 32};
    struct ferry_bytes_list nodes;
    struct ferry_trie_proof *proof;
    ferry_err err = relay_read_proof(r->ps, &k, 1, ls.para_hash, &nodes, &proof, why);
    if (err)
        return node_fault(r, r->ps, err, fault, why);
    const uint8_t *v = NULL;
    size_t vl = 0;
    err = ferry_lc_read(r->lc, FERRY_LC_PARA, ls.para_number, proof, key, 32, &v, &vl, why);
    uint32_t id = !err && vl == 4 ? relay_u32_le(v) : 0;
    ferry_trie_proof_free(proof);
    ferry_bytes_list_free(&nodes);
    if (err == FERRY_E_NOT_FOUND && !r->para_id_read) {
        r->para_id_checked = true; /* --para-id given for a runtime without ParachainInfo */
        return FERRY_OK;
    }
    if (err)
        return node_fault(r, r->ps, err, fault, why);
    if (vl != 4 || id != r->para_id) {
        ferry_reason_set(why, FERRY_E_VERIFY,
                         "the verified para head #%u holds ParachainInfo::ParachainId %u, not the "
                         "para id %u ferry follows",
                         ls.para_number, id, r->para_id);
        return relay_fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_VERIFY);
    }
    r->para_id_checked = true;
    ferry_log_debug(LOG, "para id %u proven at the verified para head #%u", id, ls.para_number);
    return FERRY_OK;
}

/* Parachain headers. want_from: the lowest para block ferry's lc needs (roots for dispatch).
 * send: forward to the worker the part it lacks. Returns FERRY_E_RETRY when nothing is new. */
ferry_err step_para(struct relay *r, bool send, enum ferry_fault_class *fault,
                    struct ferry_reason *why)
{
    if (!r->info.headernum)
        return FERRY_E_RETRY;
    uint32_t at = r->info.headernum - 1;
    struct ferry_header head;
    struct ferry_bytes_list nodes;
    ferry_err err = proven_para_head(r, at, &head, &nodes, fault, why);
    if (err)
        return err;
    uint32_t p = head.number;
    uint32_t worker_next = r->info.para_headernum; /* 0 before the first para import */
    struct ferry_lc_status ls;
    ferry_lc_status(r->lc, &ls);
    uint32_t lc_next = ls.has_para ? ls.para_number + 1 : 0;
    uint32_t need_lc = r->info.blocknum < worker_next ? r->info.blocknum : worker_next;
    if (!ls.has_para)
        lc_next = need_lc < p ? need_lc : p; /* a first import may start at the proven head */
    bool lc_behind = !ls.has_para || ls.para_number < p;
    bool worker_behind = send && worker_next <= p;
    if (!lc_behind && !worker_behind) {
        ferry_header_free(&head);
        ferry_bytes_list_free(&nodes);
        return FERRY_E_RETRY;
    }
    uint32_t from = lc_behind ? lc_next : worker_next;
    if (worker_behind && worker_next < from)
        from = worker_next;
    struct ferry_header *hs = NULL;
    size_t n = 0;
    err = ferry_source_headers_back(r->ps, &head, from, &hs, &n, why);
    ferry_header_free(&head);
    if (err) {
        ferry_bytes_list_free(&nodes);
        return node_fault(r, r->ps, err, fault, why);
    }
    if (lc_behind) {
        /* the lc takes the part after its own last para header */
        size_t skip = lc_next > from ? lc_next - from : 0;
        const uint8_t **ptrs = calloc(nodes.n ? nodes.n : 1, sizeof *ptrs);
        size_t *lens = calloc(nodes.n ? nodes.n : 1, sizeof *lens);
        struct ferry_trie_proof *proof = NULL;
        err = ptrs && lens ? FERRY_OK : FERRY_E_NOMEM;
        for (size_t i = 0; !err && i < nodes.n; i++) {
            ptrs[i] = nodes.items[i].p;
            lens[i] = nodes.items[i].len;
        }
        if (!err)
            err = ferry_trie_proof_build(ptrs, lens, nodes.n, &proof);
        free(ptrs);
        free(lens);
        struct ferry_lc_change ch;
        if (!err)
            err = ferry_lc_import_para(r->lc, at, proof, hs + skip, n - skip, &ch, why);
        ferry_trie_proof_free(proof);
        if (err) {
            free_headers(hs, n);
            ferry_bytes_list_free(&nodes);
            return node_fault(r, r->ps, err, fault, why);
        }
        r->lc_dirty = true;
        relay_save_state(r, false);
        err = check_para_id_verified(r, fault, why);
        if (err) {
            free_headers(hs, n);
            ferry_bytes_list_free(&nodes);
            return err;
        }
    }
    if (worker_behind) {
        size_t skip = worker_next - from;
        if (n - skip > r->cfg->para_batch_max)
            ferry_log_warn(LOG,
                           "forwarding %zu para headers, above para_batch_max %u: a "
                           "SyncParaHeader must end at the head proven at the worker's last "
                           "relay header and cannot be cut (a smaller header_batch_max bounds it)",
                           n - skip, r->cfg->para_batch_max);
        struct ferry_scale_writer w;
        ferry_scale_writer_init(&w);
        ferry_scale_put_compact(&w, n - skip);
        for (size_t i = skip; i < n; i++)
            ferry_header_encode(&hs[i], &w);
        size_t len;
        uint8_t *enc = ferry_scale_writer_take(&w, &len);
        const uint8_t **ptrs = calloc(nodes.n ? nodes.n : 1, sizeof *ptrs);
        size_t *lens = calloc(nodes.n ? nodes.n : 1, sizeof *lens);
        err = enc && ptrs && lens ? FERRY_OK : FERRY_E_NOMEM;
        for (size_t i = 0; !err && i < nodes.n; i++) {
            ptrs[i] = nodes.items[i].p;
            lens[i] = nodes.items[i].len;
        }
        uint32_t to = 0;
        if (!err)
            err = ferry_wc_sync_para_header(&r->wc, enc, len, ptrs, lens, nodes.n, &to, why);
        free(enc);
        free(ptrs);
        free(lens);
        if (err) {
            free_headers(hs, n);
            ferry_bytes_list_free(&nodes);
            return err == FERRY_E_NOMEM ? relay_fail(r, fault, FERRY_FAULT_INTERNAL, err)
                                        : worker_fault(r, err, fault, why);
        }
        ferry_log_debug(LOG, "worker synced para headers #%u..#%u", worker_next, to);
        ferry_metrics_add(r->m, "ferry_relay_steps_total", "step=\"para\"", 1);
    }
    free_headers(hs, n);
    ferry_bytes_list_free(&nodes);
    return FERRY_OK;
}

/* Blocks: read proofs of the worker's keys at each block, verified, then DispatchBlocks. The
 * proofs of the range are asked all at once (at most PROOF_WINDOW in flight), then verified in
 * order as they come. */
ferry_err step_blocks(struct relay *r, uint32_t upto, enum ferry_fault_class *fault,
                      struct ferry_reason *why)
{
    if (!r->info.has_public_key) {
        ferry_reason_set(why, FERRY_E_STATE, "the worker reports no public key");
        return relay_fail(r, fault, FERRY_FAULT_WORKER, FERRY_E_STATE);
    }
    enum ferry_lc_chain chain = r->parachain ? FERRY_LC_PARA : FERRY_LC_RELAY;
    struct ferry_source *src = relay_tx_source(r);
    uint32_t from = r->info.blocknum;
    uint32_t to = upto;
    if (to - from + 1 > r->cfg->dispatch_batch)
        to = from + r->cfg->dispatch_batch - 1;
    size_t nb = (size_t)(to - from) + 1;
    uint8_t keys[FERRY_WORKER_N_KEYS][FERRY_WORKER_KEY_MAX];
    size_t klens[FERRY_WORKER_N_KEYS];
    struct ferry_bytes kb[FERRY_WORKER_N_KEYS];
    dispatch_keys(r, keys, klens, kb);
    /* the verified hashes first: a block ferry's lc lacks changes the plan before anything is
     * asked */
    uint8_t(*hashes)[32] = calloc(nb, sizeof *hashes);
    struct ferry_source_proof_req **reqs = calloc(nb, sizeof *reqs);
    if (!hashes || !reqs) {
        free(hashes);
        free(reqs);
        return relay_fail(r, fault, FERRY_FAULT_INTERNAL, FERRY_E_NOMEM);
    }
    for (uint32_t b = from; b <= to; b++) {
        uint8_t root[32];
        if (ferry_lc_state_root(r->lc, chain, b, root, hashes[b - from])) {
            free(hashes);
            free(reqs);
            if (r->parachain) {
                /* ferry's lc lacks that para block (a restart): fetch it without forwarding */
                ferry_err err = step_para(r, false, fault, why);
                return err == FERRY_E_RETRY
                           ? relay_fail(r, fault, FERRY_FAULT_TRANSIENT, FERRY_E_STATE)
                           : err;
            }
            ferry_reason_set(why, FERRY_E_STATE, "block #%u is not retained by ferry's lc", b);
            return relay_fail(r, fault, FERRY_FAULT_TRANSIENT, FERRY_E_STATE);
        }
    }
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_compact(&w, (uint64_t)nb);
    ferry_err err = FERRY_OK;
    size_t sent = 0, ahead = 0;
    for (size_t i = 0; i < nb && !err; i++) {
        /* keep the window full */
        for (; !err && sent < nb && sent < i + PROOF_WINDOW; sent++) {
            reqs[sent] = take_prefetch(r, PF_BLOCK, hashes[sent]); /* asked at the push */
            if (reqs[sent])
                ahead++;
            else
                err = ferry_source_read_proof_send(src, kb, FERRY_WORKER_N_KEYS, hashes[sent],
                                                   &reqs[sent], why);
        }
        if (err)
            break;
        uint32_t b = from + (uint32_t)i;
        struct ferry_bytes_list nodes;
        double t0 = ferry_clock_s();
        err = ferry_source_read_proof_wait(reqs[i], &nodes, why);
        reqs[i] = NULL;
        if (err == FERRY_E_STATE || err == FERRY_E_RETRY) {
            /* sent on a connection since closed (a prefetch before an endpoint switch): once
             * more on the current one */
            struct ferry_source_proof_req *q;
            err = ferry_source_read_proof_send(src, kb, FERRY_WORKER_N_KEYS, hashes[i], &q, why);
            if (!err)
                err = ferry_source_read_proof_wait(q, &nodes, why);
        }
        relay_time_part(&r->node_s, t0);
        if (err) {
            ferry_reason_prefix(why, err, "block #%u at %s: ", b, ferry_source_url(src));
            break;
        }
        t0 = ferry_clock_s();
        struct ferry_trie_proof *proof = NULL;
        err = nodes_proof(&nodes, &proof);
        for (int k = 0; k < FERRY_WORKER_N_KEYS && !err; k++) {
            const uint8_t *v;
            size_t vl;
            err = ferry_lc_read(r->lc, chain, b, proof, keys[k], klens[k], &v, &vl, why);
            if (err == FERRY_E_NOT_FOUND)
                err = FERRY_OK; /* proven absent is an answer */
        }
        relay_time_part(&r->verify_s, t0);
        ferry_trie_proof_free(proof);
        if (!err) {
            ferry_scale_put_compact(&w, b);
            ferry_scale_put_compact(&w, nodes.n);
            for (size_t k = 0; k < nodes.n; k++)
                ferry_scale_put_byte_vec(&w, nodes.items[k].p, nodes.items[k].len);
        }
        ferry_bytes_list_free(&nodes);
    }
    for (size_t i = 0; i < nb; i++)
        ferry_source_read_proof_cancel(reqs[i]);
    free(reqs);
    free(hashes);
    if (err) {
        ferry_scale_writer_free(&w);
        if (err == FERRY_E_NOMEM)
            return relay_fail(r, fault, FERRY_FAULT_INTERNAL, err);
        return node_fault(r, src, err, fault, why);
    }
    size_t len;
    uint8_t *enc = ferry_scale_writer_take(&w, &len);
    if (!enc)
        return relay_fail(r, fault, FERRY_FAULT_INTERNAL, FERRY_E_NOMEM);
    uint32_t synced = 0;
    double t_proofs = ferry_clock_s();
    err = ferry_wc_dispatch_blocks(&r->wc, enc, len, &synced, why);
    free(enc);
    if (err)
        return worker_fault(r, err, fault, why);
    double t_done = ferry_clock_s();
    if (r->news_at > 0)
        ferry_log_debug(LOG,
                        "worker dispatched blocks #%u..#%u: %.1f ms after the news (proofs "
                        "verified at %.1f ms, %zu of %zu asked ahead)",
                        from, synced, (t_done - r->news_at) * 1e3, (t_proofs - r->news_at) * 1e3,
                        ahead, nb);
    else
        ferry_log_debug(LOG, "worker dispatched blocks #%u..#%u", from, synced);
    ferry_metrics_add(r->m, "ferry_relay_steps_total", "step=\"blocks\"", 1);
    return FERRY_OK;
}
