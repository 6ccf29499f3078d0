/* The relay loop's registration step: the worker's registration (PhalaRegistry.register_worker_v2)
 * signed and submitted when the worker asks for it. */
#include <stdlib.h>
#include <string.h>

#include "ferry/egress.h"
#include "ferry/log.h"
#include "ferry/tx.h"

#include "src/relay/internal.h"

/* ---- registration ---------------------------------------------------------------------------- */

ferry_err step_register(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why)
{
    uint8_t *info = NULL, *report = NULL;
    size_t info_len = 0, report_len = 0;
    ferry_err err =
        ferry_wc_get_runtime_info(&r->wc, NULL, &info, &info_len, &report, &report_len, NULL, why);
    if (err)
        return worker_fault(r, err, fault, why);
    uint8_t fp[32];
    ferry_blake2b_256(fp, info, info_len);
    uint8_t *known = NULL;
    size_t known_len = 0;
    bool same =
        ferry_outbox_kv_get(r->ob, "registered_info", &known, &known_len, NULL) == FERRY_OK &&
        known_len == 32 && !memcmp(known, fp, 32);
    free(known);
    /* registered with this very info: by this process (the worker sees it once it dispatches
     * that block), or earlier and the worker confirms it */
    if (same && (r->info.registered || r->registered_now)) {
        free(info);
        free(report);
        r->registered_now = true;
        return FERRY_OK;
    }
    if (!report_len) {
        free(info);
        ferry_log_info(LOG, "the worker has no attestation yet; registering at a later round");
        return FERRY_OK;
    }
    if (ferry_relay_dcap_needs_collateral(report, report_len)) {
        /* as pherry: collateral from the PCCS; unlike pherry: verified before any fee is spent */
        uint8_t *full = NULL;
        size_t full_len = 0;
        err = ferry_relay_dcap_complete(report, report_len, info, info_len, r->cfg->pccs_url,
                                        (long)r->cfg->pccs_timeout_s * 1000, &full, &full_len, why);
        free(report);
        if (err) {
            free(info);
            return relay_fail(r, fault,
                              err == FERRY_E_NET || err == FERRY_E_TIMEOUT || err == FERRY_E_RPC
                                  ? FERRY_FAULT_TRANSIENT
                                  : FERRY_FAULT_ATTEST,
                              err);
        }
        report = full;
        report_len = full_len;
    }
    struct ferry_tx_client *tx;
    err = relay_tx_client(r, &tx, why);
    if (err) {
        free(info);
        free(report);
        return relay_fail(r, fault, ferry_fault_classify(FERRY_ORIGIN_NODE, err), err);
    }
    cJSON *a0 = NULL, *a1 = NULL;
    err = relay_arg_json(ferry_tx_metadata(tx), CALL_REGISTER, 0, info, info_len, &a0, why);
    if (!err)
        err = relay_arg_json(ferry_tx_metadata(tx), CALL_REGISTER, 1, report, report_len, &a1, why);
    free(report);
    if (err) {
        free(info);
        cJSON_Delete(a0);
        cJSON_Delete(a1);
        return relay_fail(r, fault, FERRY_FAULT_CHAIN, err);
    }
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, a0);
    cJSON_AddItemToArray(args, a1);
    struct ferry_tx_result res = {0};
    struct ferry_reason w = {""};
    err = ferry_tx_submit(tx, CALL_REGISTER, args, FERRY_TX_WAIT_FINALIZED, &res, &w);
    cJSON_Delete(args);
    if (err) {
        free(info);
        ferry_tx_result_clear(&res);
        ferry_reason_set(why, err, "%s: %s", CALL_REGISTER, w.text);
        enum ferry_fault_class c = ferry_fault_classify(FERRY_ORIGIN_CHAIN, err);
        if (strstr(w.text, "Inability to pay"))
            c = FERRY_FAULT_ACCOUNT;
        return relay_fail(r, fault, c, err);
    }
    if (!res.success) {
        char *e = res.error ? cJSON_PrintUnformatted(res.error) : NULL;
        ferry_reason_set(why, FERRY_E_STATE, "%s failed on chain in block #%u: %s", CALL_REGISTER,
                         res.number, e ? e : "?");
        free(e);
        free(info);
        ferry_tx_result_clear(&res);
        return relay_fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_STATE);
    }
    ferry_log_info(LOG, "worker registered (%s in finalized block #%u)", CALL_REGISTER, res.number);
    ferry_tx_result_clear(&res);
    free(info);
    r->registered_now = true;
    if (ferry_outbox_kv_put(r->ob, "registered_info", fp, 32, why))
        return relay_fail(r, fault, FERRY_FAULT_IO, FERRY_E_IO);
    return FERRY_OK;
}
