/* What every part of the relay loop uses: the time split, the transaction chain and its tx client,
 * read proofs, failure classes (relay_fail, node_fault, worker_fault) and small decoders. */
#include <stdlib.h>
#include <string.h>

#include "ferry/clock.h"
#include "ferry/dyncodec.h"
#include "ferry/log.h"
#include "ferry/metrics.h"
#include "ferry/source.h"
#include "ferry/tx.h"

#include "src/relay/internal.h"

/* Adds the time since t0 to one part of the time split. */
void relay_time_part(double *part, double t0)
{
    *part += ferry_clock_s() - t0;
}

/* The chain that carries the Phala pallets (para in parachain mode, else the solo chain). */
struct ferry_source *relay_tx_source(struct relay *r)
{
    return r->ps ? r->ps : r->rs;
}

/* A failure: its class decides between backoff and stopping. */
ferry_err relay_fail(struct relay *r, enum ferry_fault_class *fault, enum ferry_fault_class c,
                     ferry_err err)
{
    *fault = c;
    ferry_metrics_add(r->m, "ferry_relay_errors_total",
                      c == FERRY_FAULT_TRANSIENT ? "class=\"transient\"" : "class=\"permanent\"",
                      1);
    return err;
}

/* The tx client on the current connection of the transaction chain (re-opened after an
 * endpoint switch). */
ferry_err relay_tx_client(struct relay *r, struct ferry_tx_client **out, struct ferry_reason *why)
{
    struct ferry_rpc *rpc;
    ferry_err err = ferry_source_rpc(relay_tx_source(r), &rpc, why);
    if (err)
        return err;
    if (r->tx && r->tx_rpc == rpc) {
        *out = r->tx;
        return FERRY_OK;
    }
    ferry_tx_client_close(r->tx);
    r->tx = NULL;
    struct ferry_tx_options opt = {0};
    opt.immortal = r->cfg->mortality == 0;
    opt.period = r->cfg->mortality;
    opt.tip = r->tip;
    opt.timeout_ms = 120000;
    struct ferry_reason w = {""};
    err = ferry_tx_client_open(rpc, &r->kp, &opt, &r->tx, &w);
    if (err) {
        /* The client reads the version and metadata at the hash of the best header the node
         * served; a node that refuses its own block (or serves garbage) is not usable for
         * submissions: move to the next endpoint instead of retrying the same one forever. */
        if (err == FERRY_E_RPC || err == FERRY_E_VERIFY || ferry_source_is_malformed(err))
            ferry_source_penalise(relay_tx_source(r), w.text);
        return ferry_reason_set(why, err, "opening the transaction client: %s", w.text);
    }
    r->tx_rpc = rpc;
    *out = r->tx;
    return FERRY_OK;
}

uint32_t relay_u32_le(const uint8_t *v)
{
    return (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
}

/* Read proof at `at` on source s: the raw nodes and a proof for lookups. */
ferry_err relay_read_proof(struct ferry_source *s, const struct ferry_bytes *keys, size_t n,
                           const uint8_t at[32], struct ferry_bytes_list *nodes,
                           struct ferry_trie_proof **proof, struct ferry_reason *why)
{
    *proof = NULL;
    memset(nodes, 0, sizeof *nodes);
    struct ferry_rpc *rpc;
    ferry_err err = ferry_source_rpc(s, &rpc, why);
    if (err)
        return err;
    struct ferry_rpc_error e = {0};
    err = ferry_rpc_get_read_proof(rpc, keys, n, at, nodes, NULL, &e);
    if (err) {
        ferry_reason_set(why, err, "state_getReadProof at %s: %s", ferry_source_url(s),
                         e.message ? e.message : ferry_strerror(err));
        ferry_rpc_error_clear(&e);
        return err;
    }
    const uint8_t **ptrs = calloc(nodes->n ? nodes->n : 1, sizeof *ptrs);
    size_t *lens = calloc(nodes->n ? nodes->n : 1, sizeof *lens);
    if (!ptrs || !lens) {
        free(ptrs);
        free(lens);
        ferry_bytes_list_free(nodes);
        return FERRY_E_NOMEM;
    }
    for (size_t i = 0; i < nodes->n; i++) {
        ptrs[i] = nodes->items[i].p;
        lens[i] = nodes->items[i].len;
    }
    err = ferry_trie_proof_build(ptrs, lens, nodes->n, proof);
    free(ptrs);
    free(lens);
    if (err)
        ferry_bytes_list_free(nodes);
    return err;
}

/* A node's answer failed verification or could not be used: next endpoint, backoff. */
ferry_err node_fault(struct relay *r, struct ferry_source *s, ferry_err err,
                     enum ferry_fault_class *fault, struct ferry_reason *why)
{
    if (err == FERRY_E_VERIFY || err == FERRY_E_INCOMPLETE || ferry_source_is_malformed(err)) {
        if (s == relay_tx_source(r)) {
            /* the tx client borrows that connection, which the switch frees: close it first
             * (it is re-opened on the next connection when needed) */
            ferry_tx_client_close(r->tx);
            r->tx = NULL;
            r->tx_rpc = NULL;
        }
        ferry_source_penalise(s, why ? why->text : "unusable data");
        ferry_metrics_add(r->m, "ferry_relay_reconnects_total", NULL, 1);
    }
    return relay_fail(r, fault, ferry_fault_classify(FERRY_ORIGIN_NODE, err), err);
}

/* After the worker refused a call: whether its state is not what ferry last knew of it (heights
 * tracked from its answers, or a GetInfo of an earlier round: it restarted empty, was restored
 * from an older copy, another relayer fed it, a retried request was applied twice): then the
 * refusal is ferry's stale view, not the worker's fault. */
static bool worker_moved(struct relay *r)
{
    struct ferry_wc_info now;
    struct ferry_reason w = {""};
    if (ferry_wc_get_info(&r->wc, &now, &w))
        return false;
    bool moved = now.initialized != r->info.initialized || now.headernum != r->info.headernum ||
                 now.para_headernum != r->info.para_headernum || now.blocknum != r->info.blocknum;
    if (moved)
        ferry_log_warn(LOG,
                       "the worker is at header %u, para header %u, block %u, not where its "
                       "answers left it (%u, %u, %u): re-reading its state",
                       now.headernum, now.para_headernum, now.blocknum, r->info.headernum,
                       r->info.para_headernum, r->info.blocknum);
    r->info = now;
    r->info_tracked = false;
    return moved;
}

ferry_err worker_fault(struct relay *r, ferry_err err, enum ferry_fault_class *fault,
                       struct ferry_reason *why)
{
    enum ferry_fault_class c = ferry_fault_classify(FERRY_ORIGIN_WORKER, err);
    if (c == FERRY_FAULT_WORKER && worker_moved(r))
        c = FERRY_FAULT_TRANSIENT;
    if (c == FERRY_FAULT_WORKER)
        ferry_reason_prefix(why, err, "the worker refused data ferry verified: ");
    return relay_fail(r, fault, c, err);
}
/* Decode SCALE bytes as the type of argument `arg` of call into JSON (for ferry_tx_submit). */
ferry_err relay_arg_json(const struct ferry_metadata *md, const char *dotted, size_t arg,
                         const uint8_t *buf, size_t len, cJSON **out, struct ferry_reason *why)
{
    struct ferry_md_call call;
    ferry_err err = ferry_md_find_call(md, dotted, &call);
    if (err || call.variant->n_fields <= arg)
        return ferry_reason_set(why, FERRY_E_NOT_FOUND, "%s has no argument %zu", dotted, arg);
    struct ferry_reason w = {""};
    err = ferry_md_decode(md, call.variant->fields[arg].type, buf, len, out, &w);
    if (err)
        ferry_reason_set(why, err, "%s argument %zu does not decode with this runtime: %s", dotted,
                         arg, w.text);
    return err;
}
