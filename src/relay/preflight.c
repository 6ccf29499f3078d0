/* The relay loop's pre-flight (ferry_relay_preflight, and before every run): the nodes serve the
 * RPC methods and the Phala runtime ferry needs, the para id read from the parachain, the worker
 * answers, the --checkpoint file is readable. */
#include <stdlib.h>
#include <string.h>

#include "ferry/egress.h"
#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/source.h"

#include "src/relay/internal.h"

/* ---- pre-flight -------------------------------------------------------------------------------
 */

static ferry_err require_methods(struct ferry_source *s, const char *const *methods,
                                 const char *which, struct ferry_reason *why)
{
    struct ferry_rpc *rpc;
    ferry_err err = ferry_source_rpc(s, &rpc, why);
    if (err)
        return err;
    cJSON *res = NULL;
    struct ferry_rpc_error e = {0};
    err = ferry_rpc_call(rpc, "rpc_methods", "[]", 30000, &res, &e);
    if (err) {
        ferry_err out = ferry_reason_set(why, err, "%s node %s: rpc_methods failed: %s", which,
                                         ferry_source_url(s), e.message ? e.message : "");
        ferry_rpc_error_clear(&e);
        return out;
    }
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(res, "methods");
    for (; *methods; methods++) {
        bool found = false;
        const cJSON *it;
        cJSON_ArrayForEach(it, list)
        {
            if (cJSON_IsString(it) && !strcmp(it->valuestring, *methods))
                found = true;
        }
        if (!found) {
            cJSON_Delete(res);
            return ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                                    "%s node %s does not serve %s, which ferry relay needs", which,
                                    ferry_source_url(s), *methods);
        }
    }
    cJSON_Delete(res);
    return FERRY_OK;
}

/* Whether the register call's attestation argument can carry an SgxDcap report. */
static bool dcap_encodable(const struct ferry_metadata *md, const struct ferry_md_call *call)
{
    if (call->variant->n_fields < 2)
        return false;
    const struct ferry_md_type *t = ferry_md_type(md, call->variant->fields[1].type);
    /* Option<AttestationReport>: Some's field is the report */
    if (t && t->kind == FERRY_MD_VARIANT)
        for (size_t i = 0; i < t->n_variants; i++)
            if (!strcmp(t->variants[i].name, "Some") && t->variants[i].n_fields == 1)
                t = ferry_md_type(md, t->variants[i].fields[0].type);
    if (!t || t->kind != FERRY_MD_VARIANT)
        return false;
    for (size_t i = 0; i < t->n_variants; i++)
        if (!strcmp(t->variants[i].name, "SgxDcap"))
            return true;
    return false;
}

static ferry_err check_runtime(struct relay *r, struct ferry_reason *why,
                               enum ferry_fault_class *fault)
{
    struct ferry_rpc *rpc;
    ferry_err err = ferry_source_rpc(relay_tx_source(r), &rpc, why);
    if (err)
        return relay_fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    struct ferry_metadata *md = NULL;
    struct ferry_reason w = {""};
    err = ferry_chain_fetch_metadata(rpc, NULL, &md, &w);
    if (err) {
        ferry_reason_set(why, err, "metadata of %s: %s", ferry_source_url(relay_tx_source(r)),
                         w.text);
        return relay_fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    }
    struct ferry_md_call call;
    const char *missing = NULL;
    if (ferry_md_find_call(md, CALL_EGRESS, &call))
        missing = CALL_EGRESS;
    else if (ferry_md_find_call(md, CALL_REGISTER, &call))
        missing = CALL_REGISTER;
    else if (!ferry_md_find_storage(md, "PhalaMq", "OffchainIngress"))
        missing = "the storage PhalaMq.OffchainIngress";
    if (missing) {
        ferry_metadata_free(md);
        ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                         "the runtime at %s has no %s: not a Phala runtime ferry relay can serve",
                         ferry_source_url(relay_tx_source(r)), missing);
        return relay_fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_UNSUPPORTED);
    }
    bool dcap = !strcmp(r->cfg->attestation, "dcap");
    if (dcap && !dcap_encodable(md, &call)) {
        ferry_metadata_free(md);
        ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                         "attestation is dcap, but this runtime's AttestationReport has no SgxDcap "
                         "variant (the Phala dev runtime knows IAS only): registering would fail "
                         "on chain; use --attestation none on a dev chain");
        return relay_fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_UNSUPPORTED);
    }
    ferry_metadata_free(md);
    return FERRY_OK;
}

/* Parachain mode: the para id, from the parachain itself.
 *
 * Trust argument. Paras::Heads(para_id) is what ties the parachain to the verified relay chain,
 * so the id cannot come from a proof that needs it. It is read here as ParachainInfo::ParachainId
 * with a read proof at the para node's genesis block, checked against the state root of the
 * genesis header (which must hash to the genesis hash the node names, pinned by
 * expect_para_genesis when set). That binds the id to the parachain's genesis, not to the relay
 * chain's finality; then, once ferry's lc has verified a para head (through Paras::Heads(id)
 * proven on the verified relay chain and the para headers linking to it),
 * check_para_id_verified reads ParachainId again, proven against that verified para state root,
 * and stops (exit 4) on a difference. So a para node that lies about the id can at most point
 * ferry at another parachain registered on the same relay chain whose own verified state holds
 * that id, i.e. it must serve that other parachain: the same trust as choosing the para node
 * (and expect_para_genesis removes it). --para-id remains an override that must match. A node
 * that cannot prove its genesis state (pruned) is asked at its finalized head instead; the
 * check against the verified para head then carries the whole argument. */
static ferry_err para_id_from_chain(struct relay *r, enum ferry_fault_class *fault,
                                    struct ferry_reason *why)
{
    uint8_t pg[32];
    ferry_err err = ferry_source_genesis(r->ps, pg, why);
    if (err)
        return relay_fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    uint8_t key[32];
    ferry_storage_prefix(key, "ParachainInfo", "ParachainId");
    struct ferry_bytes k = {key, 32};
    const char *where = "genesis";
    uint8_t at[32];
    memcpy(at, pg, 32);
    struct ferry_header h;
    err = ferry_source_header(r->ps, at, &h, why);
    struct ferry_bytes_list nodes = {0};
    struct ferry_trie_proof *proof = NULL;
    if (!err) {
        err = relay_read_proof(r->ps, &k, 1, at, &nodes, &proof, why);
        if (err == FERRY_E_RPC) { /* genesis state pruned: the finalized head instead */
            ferry_header_free(&h);
            uint32_t n;
            where = "its finalized head";
            err = ferry_source_finalized(r->ps, &n, at, why);
            if (!err)
                err = ferry_source_header(r->ps, at, &h, why);
            if (!err)
                err = relay_read_proof(r->ps, &k, 1, at, &nodes, &proof, why);
        }
        if (err)
            ferry_header_free(&h);
    }
    if (err)
        return node_fault(r, r->ps, err, fault, why);
    const uint8_t *v = NULL;
    size_t vl = 0;
    struct ferry_reason lw = {""};
    err = ferry_trie_proof_lookup(proof, h.state_root, key, 32, &v, &vl, &lw);
    uint32_t id = 0;
    if (!err && vl == 4)
        id = relay_u32_le(v);
    else if (!err)
        err = FERRY_E_INVALID;
    uint32_t number = h.number;
    ferry_trie_proof_free(proof);
    ferry_bytes_list_free(&nodes);
    ferry_header_free(&h);
    if (err == FERRY_E_NOT_FOUND && r->cfg->para_id) {
        ferry_log_warn(LOG, "the parachain has no ParachainInfo::ParachainId: using --para-id %u",
                       r->cfg->para_id);
        r->para_id = r->cfg->para_id;
        return FERRY_OK;
    }
    if (err == FERRY_E_NOT_FOUND) {
        ferry_reason_set(why, err,
                         "the parachain at %s has no ParachainInfo::ParachainId (at %s): give "
                         "--para-id",
                         ferry_source_url(r->ps), where);
        return relay_fail(r, fault, FERRY_FAULT_CHAIN, err);
    }
    if (err) {
        ferry_reason_set(why, err, "ParachainInfo::ParachainId at #%u from %s: %s", number,
                         ferry_source_url(r->ps), err == FERRY_E_INVALID ? "not a u32" : lw.text);
        return node_fault(r, r->ps, err, fault, why);
    }
    if (r->cfg->para_id && r->cfg->para_id != id) {
        ferry_reason_set(why, FERRY_E_VERIFY,
                         "--para-id %u, but the parachain at %s holds ParachainInfo::ParachainId "
                         "%u",
                         r->cfg->para_id, ferry_source_url(r->ps), id);
        return relay_fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_VERIFY);
    }
    if (!r->para_id_read)
        ferry_log_info(LOG, "para id %u (ParachainInfo::ParachainId at the parachain's %s #%u)", id,
                       where, number);
    r->para_id = id;
    r->para_id_read = true;
    return FERRY_OK;
}

ferry_err preflight_nodes(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why)
{
    static const char *const relay_methods[] = {"chain_getBlockHash", "chain_getHeader",
                                                "chain_getFinalizedHead", "state_getReadProof",
                                                NULL};
    static const char *const tx_methods[] = {"author_submitExtrinsic",
                                             "author_pendingExtrinsics",
                                             "system_accountNextIndex",
                                             "state_getMetadata",
                                             "state_getRuntimeVersion",
                                             "state_getStorage",
                                             NULL};
    ferry_err err = ferry_source_genesis(r->rs, r->genesis, why);
    if (err)
        return relay_fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    if (r->cfg->expect_genesis) {
        uint8_t want[32];
        if (ferry_hex_decode_exact(r->cfg->expect_genesis, want, 32) ||
            memcmp(want, r->genesis, 32)) {
            char have[67];
            ferry_hex_encode(r->genesis, 32, have);
            ferry_reason_set(why, FERRY_E_VERIFY,
                             "%s has genesis %s, not the configured expect_genesis %s",
                             ferry_source_url(r->rs), have, r->cfg->expect_genesis);
            return relay_fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_VERIFY);
        }
    }
    if (r->ps && r->cfg->expect_para_genesis) {
        uint8_t pg[32], want[32];
        err = ferry_source_genesis(r->ps, pg, why);
        if (err)
            return relay_fail(r, fault, FERRY_FAULT_TRANSIENT, err);
        if (ferry_hex_decode_exact(r->cfg->expect_para_genesis, want, 32) || memcmp(want, pg, 32)) {
            ferry_reason_set(why, FERRY_E_VERIFY,
                             "%s is not the parachain of expect_para_genesis %s",
                             ferry_source_url(r->ps), r->cfg->expect_para_genesis);
            return relay_fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_VERIFY);
        }
    }
    err = require_methods(r->rs, relay_methods, "relay", why);
    if (!err && (r->have_key || !r->ps))
        err = require_methods(relay_tx_source(r), tx_methods, r->ps ? "parachain" : "solo", why);
    if (err)
        return relay_fail(
            r, fault, err == FERRY_E_UNSUPPORTED ? FERRY_FAULT_CHAIN : FERRY_FAULT_TRANSIENT, err);
    /* the Phala pallets are needed to register and to carry messages, not to sync a worker */
    if (r->have_key && (r->cfg->do_register || r->cfg->egress))
        err = check_runtime(r, why, fault);
    if (!err && r->parachain)
        err = para_id_from_chain(r, fault, why);
    if (err || r->parachain || r->para_id)
        return err;
    /* solo mode: the registration info carries the runtime's ParachainInfo::ParachainId (the
     * pallet checks it); read it once (unverified: the chain checks it again) */
    struct ferry_rpc *rpc;
    err = ferry_source_rpc(r->rs, &rpc, why);
    if (err)
        return relay_fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    uint8_t key[32];
    ferry_storage_prefix(key, "ParachainInfo", "ParachainId");
    uint8_t *v = NULL;
    size_t vl = 0;
    struct ferry_rpc_error e = {0};
    err = ferry_rpc_get_storage(rpc, key, 32, NULL, &v, &vl, &e);
    ferry_rpc_error_clear(&e);
    if (!err && vl == 4)
        r->para_id =
            (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
    free(v);
    if (err && err != FERRY_E_NOT_FOUND)
        return relay_fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    return FERRY_OK;
}

/* The outbox belongs to one chain; the worker must serve this chain in this mode. */
ferry_err check_worker(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why)
{
    const struct ferry_wc_info *i = &r->info;
    if (!i->initialized)
        return FERRY_OK;
    if (i->is_parachain != r->parachain || (r->parachain && i->para_id != r->para_id)) {
        ferry_reason_set(why, FERRY_E_STATE,
                         "the worker at %s was initialised in %s mode (para id %u); ferry relay is "
                         "configured for %s mode (para id %u)",
                         r->cfg->worker_url, i->is_parachain ? "parachain" : "solo", i->para_id,
                         r->parachain ? "parachain" : "solo", r->para_id);
        return relay_fail(r, fault, FERRY_FAULT_WORKER, FERRY_E_STATE);
    }
    bool ours = !i->has_genesis || !memcmp(i->genesis, r->genesis, 32) ||
                (r->have_cp && !memcmp(i->genesis, r->cp_header.hash, 32));
    if (!ours && r->ob) {
        /* initialised by this relayer from a checkpoint in an earlier run */
        uint8_t *v = NULL;
        size_t vl = 0;
        if (ferry_outbox_kv_get(r->ob, "worker_root", &v, &vl, NULL) == FERRY_OK && vl == 32 &&
            !memcmp(v, i->genesis, 32))
            ours = true;
        free(v);
    }
    if (!ours) {
        char a[67], b[67];
        ferry_hex_encode(i->genesis, 32, a);
        ferry_hex_encode(r->genesis, 32, b);
        ferry_reason_set(why, FERRY_E_STATE,
                         "the worker at %s was initialised at block %s, which is neither the "
                         "genesis %s of this chain nor the configured checkpoint",
                         r->cfg->worker_url, a, b);
        return relay_fail(r, fault, FERRY_FAULT_WORKER, FERRY_E_STATE);
    }
    return FERRY_OK;
}

/* The --checkpoint must be of the chain the node serves (after pre-flight: r->genesis known). */
ferry_err check_checkpoint(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why)
{
    if (!r->have_cp || !memcmp(r->cp_genesis, r->genesis, 32))
        return FERRY_OK;
    char a[67], b[67];
    ferry_hex_encode(r->cp_genesis, 32, a);
    ferry_hex_encode(r->genesis, 32, b);
    ferry_reason_set(why, FERRY_E_VERIFY,
                     "checkpoint %s is for another chain: its genesis is %s, %s serves %s",
                     r->cfg->checkpoint, a, ferry_source_url(r->rs), b);
    return relay_fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_VERIFY);
}
