/* The relay loop's own light client: its trust root (the chain's genesis, or --checkpoint), and
 * its state saved in and loaded from the data directory (relaystate.c). */
#include <stdlib.h>
#include <string.h>

#include "ferry/clock.h"
#include "ferry/log.h"
#include "ferry/source.h"

#include "src/relay/internal.h"

/* ---- the light client ----------------------------------------------------------------------- */

static void authority_keys(uint8_t k0[32], uint8_t k2[32])
{
    ferry_storage_prefix(k0, "Grandpa", "Authorities");
    ferry_storage_prefix(k2, "Grandpa", "CurrentSetId");
}

/* Whether the --checkpoint trust root applies: to initialise a worker (init), or to verify again
 * for an initialised worker whose next expected header is past it (a worker initialised at or
 * after the checkpoint, or at genesis and already beyond it). */
bool checkpoint_applies(const struct relay *r, bool init)
{
    if (!r->have_cp)
        return false;
    if (init)
        return true;
    return r->info.initialized && r->cp_header.number < r->info.headernum;
}

/* The trust root → a fresh lc (replacing r->lc); with genesis_info, also the GenesisBlockInfo for
 * InitRuntime. The root is the --checkpoint when it applies (checkpoint_applies), else the
 * chain's genesis: its header, and the authority set read from a proof against its state root.
 * Out: *from_cp (when non-NULL) whether the checkpoint was used. */
ferry_err trust_root(struct relay *r, uint8_t **genesis_info, size_t *gi_len, bool *from_cp,
                     struct ferry_reason *why)
{
    if (genesis_info)
        *genesis_info = NULL;
    bool cp = checkpoint_applies(r, genesis_info != NULL);
    if (from_cp)
        *from_cp = cp;
    struct ferry_header g;
    ferry_err err;
    if (cp)
        err = ferry_header_copy(&g, &r->cp_header);
    else
        err = ferry_source_header(r->rs, r->genesis, &g, why);
    if (err)
        return err;
    uint8_t k0[32], k2[32];
    authority_keys(k0, k2);
    static const char legacy[] = ":grandpa_authorities";
    struct ferry_bytes keys[3] = {{k0, 32}, {(uint8_t *)legacy, sizeof legacy - 1}, {k2, 32}};
    struct ferry_bytes_list nodes = {0};
    struct ferry_trie_proof *proof = NULL;
    /* a checkpoint needs no proof for ferry's own lc (the operator trusts it); the worker gets
     * one, which it checks against the checkpoint header's state root */
    if (!cp || genesis_info)
        err = relay_read_proof(r->rs, keys, 3, g.hash, &nodes, &proof, why);
    if (err) {
        ferry_header_free(&g);
        return err;
    }
    struct ferry_lc_config lcc = {0};
    lcc.parachain = r->parachain;
    lcc.para_id = r->para_id;
    struct ferry_lc *lc = NULL;
    struct ferry_authority_set proven = {0};
    if (!cp) {
        err = ferry_lc_new_genesis(&lc, &lcc, &g, proof, why);
    } else {
        err = ferry_lc_new_checkpoint(&lc, &lcc, r->genesis, &g, &r->cp_set, why);
        if (err)
            ferry_reason_prefix(why, err, "checkpoint %s: ", r->cfg->checkpoint);
    }
    if (!err && cp && genesis_info) {
        /* what the worker will derive from the proof must be the checkpoint's set */
        struct ferry_reason pw = {""};
        err = ferry_authority_set_from_proof(&proven, proof, g.state_root, g.number, g.hash, &pw);
        bool same = !err && proven.set_id == r->cp_set.set_id &&
                    proven.n_authorities == r->cp_set.n_authorities;
        for (size_t i = 0; same && i < proven.n_authorities; i++)
            same = !memcmp(proven.authorities[i].id, r->cp_set.authorities[i].id, 32) &&
                   proven.authorities[i].weight == r->cp_set.authorities[i].weight;
        if (err)
            ferry_reason_set(why, err,
                             "the authority set proof at checkpoint #%u from %s does not "
                             "verify: %s",
                             g.number, ferry_source_url(r->rs), pw.text);
        else if (!same)
            err = ferry_reason_set(why, FERRY_E_STATE,
                                   "the authority set proven at checkpoint #%u (id %llu) is not "
                                   "the checkpoint's (id %llu)",
                                   g.number, (unsigned long long)proven.set_id,
                                   (unsigned long long)r->cp_set.set_id);
    }
    ferry_trie_proof_free(proof);
    if (!err && genesis_info) {
        /* GenesisBlockInfo = Header ‖ AuthoritySet{Vec<(id, u64)>, u64 id} ‖ Vec<Vec<u8>> */
        const struct ferry_authority_set *set = ferry_lc_authority_set(lc);
        struct ferry_scale_writer w;
        ferry_scale_writer_init(&w);
        ferry_header_encode(&g, &w);
        ferry_scale_put_compact(&w, set->n_authorities);
        for (size_t i = 0; i < set->n_authorities; i++) {
            ferry_scale_put_bytes(&w, set->authorities[i].id, 32);
            ferry_scale_put_u64(&w, set->authorities[i].weight);
        }
        ferry_scale_put_u64(&w, set->set_id);
        ferry_scale_put_compact(&w, nodes.n);
        for (size_t i = 0; i < nodes.n; i++)
            ferry_scale_put_byte_vec(&w, nodes.items[i].p, nodes.items[i].len);
        *genesis_info = ferry_scale_writer_take(&w, gi_len);
        if (!*genesis_info)
            err = FERRY_E_NOMEM;
    }
    ferry_authority_set_free(&proven);
    ferry_bytes_list_free(&nodes);
    ferry_header_free(&g);
    if (err) {
        ferry_lc_free(lc);
        if (genesis_info) {
            free(*genesis_info);
            *genesis_info = NULL;
        }
        return err;
    }
    ferry_lc_free(r->lc);
    r->lc = lc;
    r->lc_dirty = true;
    return FERRY_OK;
}

/* The trust root for an lc without a worker to initialise (see trust_root). */
ferry_err trust_genesis(struct relay *r, uint8_t **genesis_info, size_t *gi_len,
                        struct ferry_reason *why)
{
    return trust_root(r, genesis_info, gi_len, NULL, why);
}

/* Save ferry's lc to the data directory when it changed: at most about once a second while
 * catching up (force: at the tip, and when stopping). A failure is logged, not fatal: the next
 * start verifies again from the trust root or from the last state saved. */
void relay_save_state(struct relay *r, bool force)
{
    if (!r->lc || !r->lc_dirty || !r->cfg->data_dir)
        return;
    struct ferry_lc_status st;
    ferry_lc_status(r->lc, &st);
    if (r->info.initialized && st.number >= r->info.headernum)
        return; /* ahead of the worker (a SyncHeader not accepted yet): not a state to resume */
    double t = ferry_clock_s();
    if (!force && t - r->lc_saved_at < 1.0)
        return;
    struct ferry_reason w = {""};
    if (ferry_relay_state_save(r->cfg->data_dir, r->lc, &w)) {
        ferry_log_warn(LOG, "saving the light-client state: %s", w.text);
        r->lc_saved_at = t; /* do not retry at every step */
        return;
    }
    r->lc_dirty = false;
    r->lc_saved_at = t;
}

/* Resume ferry's lc from the data directory. A missing, corrupt or foreign file, or one made
 * for another mode or para id, is logged and ignored (the lc starts again from the trust root);
 * a valid state of another chain is a permanent error, as the outbox's. */
ferry_err relay_load_state(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why)
{
    struct ferry_lc *lc = NULL;
    struct ferry_reason w = {""};
    ferry_err err = ferry_relay_state_load(r->cfg->data_dir, r->genesis, &lc, &w);
    if (err == FERRY_E_NOT_FOUND)
        return FERRY_OK;
    if (err == FERRY_E_STATE) {
        ferry_reason_set(why, err, "%s", w.text);
        return relay_fail(r, fault, FERRY_FAULT_CHAIN, err);
    }
    if (err == FERRY_E_NOMEM)
        return relay_fail(r, fault, FERRY_FAULT_INTERNAL, err);
    if (err) {
        ferry_log_warn(LOG,
                       "ignoring the saved light-client state: %s; verifying again from "
                       "the trust root",
                       w.text);
        return FERRY_OK;
    }
    struct ferry_lc_status st;
    ferry_lc_status(lc, &st);
    if (st.parachain != r->parachain || (r->parachain && st.para_id != r->para_id)) {
        ferry_log_warn(LOG,
                       "ignoring the saved light-client state: it follows %s mode (para id %u), "
                       "ferry relay is configured for %s mode (para id %u)",
                       st.parachain ? "parachain" : "solo", st.para_id,
                       r->parachain ? "parachain" : "solo", r->para_id);
        ferry_lc_free(lc);
        return FERRY_OK;
    }
    ferry_lc_free(r->lc);
    r->lc = lc;
    r->lc_saved_at = ferry_clock_s();
    if (st.has_para)
        ferry_log_info(LOG, "resuming from the saved light-client state: relay #%u, para #%u",
                       st.number, st.para_number);
    else
        ferry_log_info(LOG, "resuming from the saved light-client state: relay #%u", st.number);
    return FERRY_OK;
}
