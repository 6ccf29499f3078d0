/* The relay loop's egress step: the egress engine's chain interface (egress.h) over a node —
 * ingress sequence, best block, nonces, the pool, signing and submitting — and the step that runs
 * it. */
#include <stdlib.h>
#include <string.h>

#include "ferry/egress.h"
#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/metrics.h"
#include "ferry/source.h"
#include "ferry/tx.h"

#include "src/relay/internal.h"

/* ---- egress: the engine's chain interface over a node -----------------------------------------
 */

static void ingress_key(const uint8_t *sender, size_t len, uint8_t *out, size_t *out_len)
{
    ferry_storage_prefix(out, "PhalaMq", "OffchainIngress");
    ferry_twox64(out + 32, sender, len);
    memcpy(out + 40, sender, len);
    *out_len = 40 + len;
}

static ferry_err e_ingress(void *user, const uint8_t *sender, size_t len, bool finalized,
                           uint64_t *next, struct ferry_reason *why)
{
    struct relay *r = user;
    *next = 0;
    if (len > 64)
        return ferry_reason_set(why, FERRY_E_ARG, "sender too long");
    uint8_t key[40 + 64];
    size_t klen;
    ingress_key(sender, len, key, &klen);
    const uint8_t *v = NULL;
    size_t vl = 0;
    ferry_err err;
    struct ferry_trie_proof *proof = NULL;
    struct ferry_bytes_list nodes = {0};
    uint8_t *raw = NULL;
    if (finalized) {
        /* proven at the last block ferry verified on the pallets' chain */
        struct ferry_lc_status ls;
        ferry_lc_status(r->lc, &ls);
        enum ferry_lc_chain c = r->parachain ? FERRY_LC_PARA : FERRY_LC_RELAY;
        uint32_t at = r->parachain ? ls.para_number : ls.number;
        if (r->parachain && !ls.has_para)
            return FERRY_OK;
        struct ferry_bytes k = {key, klen};
        err = relay_read_proof(relay_tx_source(r), &k, 1, r->parachain ? ls.para_hash : ls.hash,
                               &nodes, &proof, why);
        if (!err)
            err = ferry_lc_read(r->lc, c, at, proof, key, klen, &v, &vl, why);
    } else {
        struct ferry_rpc *rpc;
        err = ferry_source_rpc(relay_tx_source(r), &rpc, why);
        struct ferry_rpc_error e = {0};
        if (!err)
            err = ferry_rpc_get_storage(rpc, key, klen, NULL, &raw, &vl, &e);
        ferry_rpc_error_clear(&e);
        v = raw;
    }
    if (err == FERRY_E_NOT_FOUND)
        err = FERRY_OK; /* no message from this sender yet */
    else if (!err) {
        struct ferry_scale_reader rd;
        ferry_scale_reader_init(&rd, v, vl);
        err = ferry_scale_u64(&rd, next);
        if (!err)
            err = ferry_scale_finish(&rd);
        if (err)
            ferry_reason_set(why, err, "PhalaMq.OffchainIngress does not decode as u64");
    }
    ferry_trie_proof_free(proof);
    ferry_bytes_list_free(&nodes);
    free(raw);
    return err;
}

static ferry_err e_best(void *user, uint32_t *number, struct ferry_reason *why)
{
    struct relay *r = user;
    struct ferry_rpc *rpc;
    ferry_err err = ferry_source_rpc(relay_tx_source(r), &rpc, why);
    if (err)
        return err;
    struct ferry_header h;
    struct ferry_rpc_error e = {0};
    err = ferry_rpc_get_header(rpc, NULL, &h, &e);
    ferry_rpc_error_clear(&e);
    if (err)
        return ferry_reason_set(why, err, "chain_getHeader (best)");
    *number = h.number;
    ferry_header_free(&h);
    return FERRY_OK;
}

static ferry_err e_nonce(void *user, bool pool, uint64_t *nonce, struct ferry_reason *why)
{
    struct relay *r = user;
    (void)pool; /* system_accountNextIndex counts the ready pool; good for both uses */
    struct ferry_rpc *rpc;
    ferry_err err = ferry_source_rpc(relay_tx_source(r), &rpc, why);
    if (err)
        return err;
    uint8_t acct[32];
    ferry_keypair_account_id(&r->kp, acct);
    char hex[67];
    ferry_hex_encode(acct, 32, hex);
    struct ferry_rpc_error e = {0};
    err = ferry_rpc_account_next_index(rpc, hex, nonce, &e);
    ferry_rpc_error_clear(&e);
    if (err)
        ferry_reason_set(why, err, "system_accountNextIndex");
    return err;
}

static ferry_err e_in_pool(void *user, const uint8_t hash[32], bool *present,
                           struct ferry_reason *why)
{
    struct relay *r = user;
    *present = false;
    struct ferry_rpc *rpc;
    ferry_err err = ferry_source_rpc(relay_tx_source(r), &rpc, why);
    if (err)
        return err;
    cJSON *res = NULL;
    struct ferry_rpc_error e = {0};
    err = ferry_rpc_call(rpc, "author_pendingExtrinsics", "[]", r->cfg->rpc_timeout_ms, &res, &e);
    ferry_rpc_error_clear(&e);
    if (err)
        return ferry_reason_set(why, err, "author_pendingExtrinsics");
    const cJSON *it;
    cJSON_ArrayForEach(it, res)
    {
        if (!cJSON_IsString(it))
            continue;
        uint8_t *xt;
        size_t len;
        if (ferry_hex_decode(it->valuestring, strlen(it->valuestring), &xt, &len))
            continue;
        uint8_t h[32];
        ferry_blake2b_256(h, xt, len);
        free(xt);
        if (!memcmp(h, hash, 32)) {
            *present = true;
            break;
        }
    }
    cJSON_Delete(res);
    return FERRY_OK;
}

static ferry_err e_sign(void *user, const uint8_t *payload, size_t len, uint64_t nonce,
                        uint8_t **xt, size_t *xt_len, uint8_t hash[32], uint32_t *birth,
                        uint32_t *death, struct ferry_reason *why)
{
    struct relay *r = user;
    struct ferry_tx_client *tx;
    ferry_err err = relay_tx_client(r, &tx, why);
    if (err)
        return err;
    const struct ferry_metadata *md = ferry_tx_metadata(tx);
    cJSON *msg = NULL;
    err = relay_arg_json(md, CALL_EGRESS, 0, payload, len, &msg, why);
    if (err)
        return err;
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, msg);
    struct ferry_xt_params p = {0};
    p.spec_version = ferry_tx_spec_version(tx);
    p.tx_version = ferry_tx_transaction_version(tx);
    memcpy(p.genesis_hash, r->ps ? (uint8_t[32]){0} : r->genesis, 32);
    if (r->ps) {
        err = ferry_source_genesis(r->ps, p.genesis_hash, why);
        if (err) {
            cJSON_Delete(args);
            return err;
        }
    }
    p.nonce = nonce;
    p.tip = r->tip;
    struct ferry_rpc *rpc = r->tx_rpc;
    if (r->cfg->mortality == 0) {
        p.era.immortal = true;
        memcpy(p.birth_hash, p.genesis_hash, 32);
        *birth = 0;
        *death = UINT32_MAX;
    } else {
        struct ferry_header best;
        struct ferry_rpc_error e = {0};
        err = ferry_rpc_get_header(rpc, NULL, &best, &e);
        ferry_rpc_error_clear(&e);
        if (err) {
            cJSON_Delete(args);
            return ferry_reason_set(why, err, "chain_getHeader (era checkpoint)");
        }
        ferry_era_mortal(r->cfg->mortality, best.number, &p.era);
        uint64_t b = ferry_era_birth(&p.era, best.number);
        if (b == best.number) {
            memcpy(p.birth_hash, best.hash, 32);
        } else {
            err = ferry_rpc_get_block_hash(rpc, (uint32_t)b, p.birth_hash, &e);
            ferry_rpc_error_clear(&e);
        }
        ferry_header_free(&best);
        *birth = (uint32_t)b;
        *death = (uint32_t)(b + p.era.period);
        if (err) {
            cJSON_Delete(args);
            return ferry_reason_set(why, err, "chain_getBlockHash (era birth)");
        }
    }
    struct ferry_reason w = {""};
    err = ferry_xt_build_call(md, &r->kp, &p, CALL_EGRESS, args, xt, xt_len, hash, &w);
    cJSON_Delete(args);
    if (err)
        ferry_reason_set(why, err, "signing %s: %s", CALL_EGRESS, w.text);
    return err;
}

static ferry_err e_submit(void *user, const uint8_t *xt, size_t len, enum ferry_submit_verdict *v,
                          struct ferry_reason *why)
{
    struct relay *r = user;
    struct ferry_rpc *rpc;
    ferry_err err = ferry_source_rpc(relay_tx_source(r), &rpc, why);
    if (err) {
        *v = FERRY_SUBMIT_UNKNOWN;
        return FERRY_OK;
    }
    uint8_t hash[32];
    struct ferry_rpc_error e = {0};
    err = ferry_rpc_submit_extrinsic(rpc, xt, len, hash, &e);
    if (!err) {
        *v = FERRY_SUBMIT_ACCEPTED;
    } else if (err != FERRY_E_RPC) {
        *v = FERRY_SUBMIT_UNKNOWN;
    } else {
        const char *m = e.message ? e.message : "";
        const char *d = e.data ? e.data : "";
        if (strstr(m, "already imported") || strstr(d, "already imported") ||
            strstr(m, "Already Imported"))
            *v = FERRY_SUBMIT_ACCEPTED;
        else if (strstr(d, "outdated") || strstr(m, "outdated") || strstr(d, "Stale"))
            *v = FERRY_SUBMIT_STALE_NONCE; /* nonce or mq sequence: either way not this one */
        else if (strstr(d, "ancient birth") || strstr(m, "ancient birth"))
            *v = FERRY_SUBMIT_OUTDATED;
        else
            *v = FERRY_SUBMIT_REJECTED;
        if (*v == FERRY_SUBMIT_REJECTED)
            ferry_reason_set(why, FERRY_E_RPC, "%s %s", m, d);
    }
    ferry_rpc_error_clear(&e);
    return FERRY_OK;
}

ferry_err step_egress(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why)
{
    uint8_t *enc;
    size_t len;
    ferry_err err = ferry_wc_get_egress(&r->wc, &enc, &len, why);
    if (err)
        return worker_fault(r, err, fault, why);
    size_t added = 0;
    err = ferry_egress_offer(r->ob, enc, len, &added, why);
    free(enc);
    if (err)
        return relay_fail(r, fault, err == FERRY_E_IO ? FERRY_FAULT_IO : FERRY_FAULT_WORKER, err);
    struct ferry_egress_chain c = {r, e_ingress, e_best, e_nonce, e_in_pool, e_sign, e_submit};
    struct ferry_egress_limits lim = {r->cfg->max_inflight, r->cfg->egress_max_per_round};
    struct ferry_egress_stats st;
    err = ferry_egress_round(r->ob, &c, &lim, &st, why);
    ferry_metrics_add(r->m, "ferry_relay_submissions_total", "result=\"submitted\"",
                      (double)st.submitted);
    ferry_metrics_add(r->m, "ferry_relay_submissions_total", "result=\"rebroadcast\"",
                      (double)st.rebroadcast);
    ferry_metrics_add(r->m, "ferry_relay_submissions_total", "result=\"expired\"",
                      (double)st.expired);
    ferry_metrics_add(r->m, "ferry_relay_submissions_total", "result=\"rejected\"",
                      (double)st.rejected);
    ferry_metrics_add(r->m, "ferry_relay_submissions_total", "result=\"finalized\"",
                      (double)st.finalized);
    if (added || st.submitted || st.finalized)
        ferry_log_info(LOG,
                       "egress: %zu new from the worker, %zu submitted, %zu re-broadcast, %zu "
                       "finalized, %zu pending, %zu in flight",
                       added, st.submitted, st.rebroadcast, st.finalized, st.pending, st.inflight);
    if (err == FERRY_E_IO)
        return relay_fail(r, fault, FERRY_FAULT_IO, err);
    if (err == FERRY_E_RPC && strstr(why->text, "Inability to pay"))
        return relay_fail(r, fault, FERRY_FAULT_ACCOUNT, err);
    /* a read the node could not prove, or an answer that does not parse: the next endpoint */
    if (err == FERRY_E_VERIFY || err == FERRY_E_INCOMPLETE || ferry_source_is_malformed(err))
        return node_fault(r, relay_tx_source(r), err, fault, why);
    if (err)
        return relay_fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    return FERRY_OK;
}
