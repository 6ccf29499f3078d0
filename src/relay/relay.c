/* `ferry relay`'s loop (include/ferry/relay.h): pre-flight, init, the pherry-ordered steps, and
 * the binding of the egress engine (egress.h) to a node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ferry/clock.h"
#include "ferry/chain_view.h"
#include "ferry/dyncodec.h"
#include "ferry/egress.h"
#include "ferry/follow.h"
#include "ferry/extrinsic.h"
#include "ferry/hash.h"
#include "ferry/header.h"
#include "ferry/hex.h"
#include "ferry/keys.h"
#include "ferry/lc.h"
#include "ferry/log.h"
#include "ferry/metadata.h"
#include "ferry/metrics.h"
#include "ferry/outbox.h"
#include "ferry/para_head.h"
#include "ferry/relay.h"
#include "ferry/rpc.h"
#include "ferry/scale.h"
#include "ferry/source.h"
#include "ferry/trie.h"
#include "ferry/tx.h"
#include "ferry/workerapi.h"
#include "ferry/workerclient.h"

#define LOG "relay"

/* Read proofs in flight at once while a dispatch range is fetched. */
#define PROOF_WINDOW 32
/* Read proofs of pushed finalized blocks asked ahead of need. */
#define PREFETCH_SLOTS 8

enum prefetch_kind {
    PF_BLOCK,     /* the worker's keys at a block to dispatch */
    PF_PARA_HEAD, /* Paras::Heads(para_id) at a relay block */
};

struct prefetch {
    struct ferry_source_proof_req *q; /* NULL: a free slot */
    enum prefetch_kind kind;
    uint32_t number;
};

#define CALL_REGISTER "PhalaRegistry.register_worker_v2"
#define CALL_EGRESS   "PhalaMq.sync_offchain_message"

struct relay {
    const struct ferry_relay_config *cfg;
    volatile sig_atomic_t *stop;
    ferry_relay_progress_fn progress;
    void *user;
    struct ferry_metrics *m;
    struct ferry_httpd *httpd;
    struct ferry_outbox *ob;
    struct ferry_source *rs; /* relay (or solo) chain */
    struct ferry_source *ps; /* parachain, NULL in solo mode */
    struct ferry_wclient wc;
    struct ferry_lc *lc;
    bool parachain;
    uint32_t para_id;
    uint8_t genesis[32]; /* relay (solo) genesis */
    uint8_t *relay_genesis_header;
    /* signing */
    bool have_key;
    struct ferry_keypair kp;
    struct ferry_tx_client *tx;
    struct ferry_rpc *tx_rpc; /* the rpc the tx client was opened on */
    struct ferry_u128 tip;
    /* what we know */
    struct ferry_wc_info info;
    bool info_known;   /* info is usable; false: ask GetInfo first (start, errors, init) */
    bool info_tracked; /* heights in info come from sync answers since the last GetInfo */
    uint32_t finalized;
    double finalized_at;
    double news_at; /* when the last wait for news returned (for the tip timing log) */
    /* read proofs of finalized blocks the node pushed, asked before their headers are even
     * verified (the dispatch takes one when the lc verifies that very block) */
    struct prefetch prefetch[PREFETCH_SLOTS];
    bool registered_now;
    struct ferry_relay_progress prog;
    double rate_t0;
    uint32_t rate_n0;
    struct ferry_backoff bo;
    double node_s, verify_s; /* time split (ferry_relay_seconds_total; worker: wc.seconds) */
    /* the trust root given by --checkpoint (have_cp), its file's genesis hash */
    bool have_cp;
    uint8_t cp_genesis[32];
    struct ferry_header cp_header;
    struct ferry_authority_set cp_set;
    /* lc.state in the data directory (relaystate.c) */
    bool lc_dirty;
    double lc_saved_at;
    /* parachain mode: ParachainInfo::ParachainId read from the para chain (para_id_read), and
     * whether it was checked against a para state root ferry's lc verified */
    bool para_id_read;
    bool para_id_checked;
};

/* Adds the time since t0 to one part of the time split. */
static void time_part(double *part, double t0)
{
    *part += ferry_clock_s() - t0;
}

/* The chain that carries the Phala pallets (para in parachain mode, else the solo chain). */
static struct ferry_source *tx_source(struct relay *r)
{
    return r->ps ? r->ps : r->rs;
}

/* A failure: its class decides between backoff and stopping. */
static ferry_err fail(struct relay *r, enum ferry_fault_class *fault, enum ferry_fault_class c,
                      ferry_err err)
{
    *fault = c;
    ferry_metrics_add(r->m, "ferry_relay_errors_total",
                      c == FERRY_FAULT_TRANSIENT ? "class=\"transient\"" : "class=\"permanent\"",
                      1);
    return err;
}

/* ---- metrics ----------------------------------------------------------------------------------
 */

static void declare_metrics(struct ferry_metrics *m)
{
    static const struct {
        const char *name;
        enum ferry_metric_type type;
        const char *help;
    } fams[] = {
        {"ferry_relay_verified_height", FERRY_METRIC_GAUGE,
         "Last block verified by ferry's light client, by chain"},
        {"ferry_relay_finalized_height", FERRY_METRIC_GAUGE, "The node's finalized relay block"},
        {"ferry_relay_worker_height", FERRY_METRIC_GAUGE,
         "Last header (relay, para) and block (dispatched) the worker has"},
        {"ferry_relay_lag_blocks", FERRY_METRIC_GAUGE,
         "Finalized relay block minus the worker's last relay header"},
        {"ferry_relay_blocks_per_second", FERRY_METRIC_GAUGE,
         "Relay headers the worker advanced per second (recent)"},
        {"ferry_relay_set_id", FERRY_METRIC_GAUGE, "GRANDPA authority set id in force"},
        {"ferry_relay_outbox_messages", FERRY_METRIC_GAUGE, "Egress messages by outbox state"},
        {"ferry_relay_submissions_total", FERRY_METRIC_COUNTER,
         "Egress submissions by result (submitted, rebroadcast, expired, rejected, finalized)"},
        {"ferry_relay_steps_total", FERRY_METRIC_COUNTER, "Loop steps by kind"},
        {"ferry_relay_worker_calls_total", FERRY_METRIC_COUNTER, "Worker API calls"},
        {"ferry_relay_seconds_total", FERRY_METRIC_COUNTER,
         "Seconds spent, by part (node: node requests with decoding; verify: ferry's light "
         "client checks; worker: worker API calls)"},
        {"ferry_relay_reconnects_total", FERRY_METRIC_COUNTER,
         "Endpoints abandoned for the next one (lying or failing nodes)"},
        {"ferry_relay_errors_total", FERRY_METRIC_COUNTER, "Failures by class"},
        {"ferry_relay_last_error_class", FERRY_METRIC_GAUGE,
         "1 for the class of the last failure (transient, chain, worker, ...)"},
        {"ferry_relay_registered", FERRY_METRIC_GAUGE, "1 when the worker is registered on chain"},
    };
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
        if (ferry_metrics_declare(m, fams[i].name, fams[i].type, fams[i].help))
            ferry_log_warn(LOG, "metric %s not declared", fams[i].name);
}

static void last_error_class(struct relay *r, enum ferry_fault_class c)
{
    static const enum ferry_fault_class all[] = {
        FERRY_FAULT_TRANSIENT, FERRY_FAULT_USAGE,   FERRY_FAULT_IO,     FERRY_FAULT_CHAIN,
        FERRY_FAULT_WORKER,    FERRY_FAULT_ACCOUNT, FERRY_FAULT_ATTEST, FERRY_FAULT_INTERNAL};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        char labels[48];
        snprintf(labels, sizeof labels, "class=\"%s\"", ferry_fault_name(all[i]));
        ferry_metrics_set(r->m, "ferry_relay_last_error_class", labels, all[i] == c ? 1 : 0);
    }
}

static void publish(struct relay *r, const char *phase)
{
    struct ferry_lc_status ls;
    memset(&ls, 0, sizeof ls);
    if (r->lc)
        ferry_lc_status(r->lc, &ls);
    struct ferry_relay_progress *p = &r->prog;
    p->phase = phase;
    p->verified = ls.number;
    p->set_id = ls.set_id;
    p->finalized = r->finalized;
    p->worker_header = r->info.headernum ? r->info.headernum - 1 : 0;
    p->worker_para = r->info.para_headernum ? r->info.para_headernum - 1 : 0;
    p->worker_block = r->info.blocknum ? r->info.blocknum - 1 : 0;
    p->registered = r->info.registered || r->registered_now;
    double t = ferry_clock_s();
    if (!r->rate_t0 || p->worker_header < r->rate_n0) {
        r->rate_t0 = t;
        r->rate_n0 = p->worker_header;
    } else if (t - r->rate_t0 >= 5) {
        p->blocks_per_s = (double)(p->worker_header - r->rate_n0) / (t - r->rate_t0);
        r->rate_t0 = t;
        r->rate_n0 = p->worker_header;
    }
    uint64_t counts[FERRY_OUTBOX_STATES];
    if (r->ob && ferry_outbox_counts(r->ob, counts, NULL) == FERRY_OK) {
        p->outbox_pending = counts[FERRY_OUTBOX_PENDING];
        p->outbox_inflight = counts[FERRY_OUTBOX_INFLIGHT];
        for (int s = 0; s < FERRY_OUTBOX_STATES; s++) {
            char labels[32];
            snprintf(labels, sizeof labels, "state=\"%s\"",
                     ferry_outbox_state_name((enum ferry_outbox_state)s));
            ferry_metrics_set(r->m, "ferry_relay_outbox_messages", labels, (double)counts[s]);
        }
    }
    ferry_metrics_set(r->m, "ferry_relay_verified_height", "chain=\"relay\"", ls.number);
    if (ls.has_para)
        ferry_metrics_set(r->m, "ferry_relay_verified_height", "chain=\"para\"", ls.para_number);
    ferry_metrics_set(r->m, "ferry_relay_finalized_height", NULL, r->finalized);
    ferry_metrics_set(r->m, "ferry_relay_worker_height", "chain=\"relay\"", p->worker_header);
    ferry_metrics_set(r->m, "ferry_relay_worker_height", "chain=\"para\"", p->worker_para);
    ferry_metrics_set(r->m, "ferry_relay_worker_height", "chain=\"blocks\"", p->worker_block);
    uint32_t lag = r->finalized > p->worker_header ? r->finalized - p->worker_header : 0;
    ferry_metrics_set(r->m, "ferry_relay_lag_blocks", NULL, lag);
    ferry_metrics_set(r->m, "ferry_relay_blocks_per_second", NULL, p->blocks_per_s);
    ferry_metrics_set(r->m, "ferry_relay_set_id", NULL, (double)ls.set_id);
    ferry_metrics_set(r->m, "ferry_relay_registered", NULL, p->registered ? 1 : 0);
    ferry_metrics_set(r->m, "ferry_relay_worker_calls_total", NULL, (double)r->wc.calls);
    ferry_metrics_set(r->m, "ferry_relay_seconds_total", "part=\"worker\"", r->wc.seconds);
    ferry_metrics_set(r->m, "ferry_relay_seconds_total", "part=\"node\"", r->node_s);
    ferry_metrics_set(r->m, "ferry_relay_seconds_total", "part=\"verify\"", r->verify_s);
    char reason[160];
    bool ready = r->info.initialized && r->finalized && lag <= r->cfg->ready_lag;
    snprintf(reason, sizeof reason, "worker at relay #%u, finalized #%u (lag %u, limit %u)",
             p->worker_header, r->finalized, lag, r->cfg->ready_lag);
    ferry_metrics_set_ready(r->m, ready, reason);
    ferry_metrics_heartbeat(r->m);
    if (r->progress)
        r->progress(r->user, p);
}

/* ---- setup --------------------------------------------------------------------------------------
 */

static ferry_err open_sources(struct relay *r, struct ferry_reason *why)
{
    const struct ferry_relay_config *c = r->cfg;
    struct ferry_source_config sc = {0};
    sc.urls = (const char *const *)c->relay_url.v;
    sc.n_urls = c->relay_url.n;
    sc.timeout_ms = c->rpc_timeout_ms;
    sc.max_message_bytes = (size_t)c->max_message_mib << 20;
    sc.stop = r->stop;
    sc.log_label = "relay-chain";
    ferry_err err = ferry_source_open(&sc, &r->rs, why);
    if (err || !c->para_url.n)
        return err;
    sc.urls = (const char *const *)c->para_url.v;
    sc.n_urls = c->para_url.n;
    sc.log_label = "para-chain";
    return ferry_source_open(&sc, &r->ps, why);
}

/* The tx client on the current connection of the transaction chain (re-opened after an
 * endpoint switch). */
static ferry_err tx_client(struct relay *r, struct ferry_tx_client **out, struct ferry_reason *why)
{
    struct ferry_rpc *rpc;
    ferry_err err = ferry_source_rpc(tx_source(r), &rpc, why);
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
            ferry_source_penalise(tx_source(r), w.text);
        return ferry_reason_set(why, err, "opening the transaction client: %s", w.text);
    }
    r->tx_rpc = rpc;
    *out = r->tx;
    return FERRY_OK;
}

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
    ferry_err err = ferry_source_rpc(tx_source(r), &rpc, why);
    if (err)
        return fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    struct ferry_metadata *md = NULL;
    struct ferry_reason w = {""};
    err = ferry_chain_fetch_metadata(rpc, NULL, &md, &w);
    if (err) {
        ferry_reason_set(why, err, "metadata of %s: %s", ferry_source_url(tx_source(r)), w.text);
        return fail(r, fault, FERRY_FAULT_TRANSIENT, err);
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
                         ferry_source_url(tx_source(r)), missing);
        return fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_UNSUPPORTED);
    }
    bool dcap = !strcmp(r->cfg->attestation, "dcap");
    if (dcap && !dcap_encodable(md, &call)) {
        ferry_metadata_free(md);
        ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                         "attestation is dcap, but this runtime's AttestationReport has no SgxDcap "
                         "variant (the Phala dev runtime knows IAS only): registering would fail "
                         "on chain; use --attestation none on a dev chain");
        return fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_UNSUPPORTED);
    }
    ferry_metadata_free(md);
    return FERRY_OK;
}

static ferry_err read_proof(struct ferry_source *s, const struct ferry_bytes *keys, size_t n,
                            const uint8_t at[32], struct ferry_bytes_list *nodes,
                            struct ferry_trie_proof **proof, struct ferry_reason *why);

static ferry_err node_fault(struct relay *r, struct ferry_source *s, ferry_err err,
                            enum ferry_fault_class *fault, struct ferry_reason *why);

static uint32_t u32_le(const uint8_t *v)
{
    return (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
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
        return fail(r, fault, FERRY_FAULT_TRANSIENT, err);
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
        err = read_proof(r->ps, &k, 1, at, &nodes, &proof, why);
        if (err == FERRY_E_RPC) { /* genesis state pruned: the finalized head instead */
            ferry_header_free(&h);
            uint32_t n;
            where = "its finalized head";
            err = ferry_source_finalized(r->ps, &n, at, why);
            if (!err)
                err = ferry_source_header(r->ps, at, &h, why);
            if (!err)
                err = read_proof(r->ps, &k, 1, at, &nodes, &proof, why);
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
        id = u32_le(v);
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
        return fail(r, fault, FERRY_FAULT_CHAIN, err);
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
        return fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_VERIFY);
    }
    if (!r->para_id_read)
        ferry_log_info(LOG, "para id %u (ParachainInfo::ParachainId at the parachain's %s #%u)", id,
                       where, number);
    r->para_id = id;
    r->para_id_read = true;
    return FERRY_OK;
}

static ferry_err preflight_nodes(struct relay *r, enum ferry_fault_class *fault,
                                 struct ferry_reason *why)
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
        return fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    if (r->cfg->expect_genesis) {
        uint8_t want[32];
        if (ferry_hex_decode_exact(r->cfg->expect_genesis, want, 32) ||
            memcmp(want, r->genesis, 32)) {
            char have[67];
            ferry_hex_encode(r->genesis, 32, have);
            ferry_reason_set(why, FERRY_E_VERIFY,
                             "%s has genesis %s, not the configured expect_genesis %s",
                             ferry_source_url(r->rs), have, r->cfg->expect_genesis);
            return fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_VERIFY);
        }
    }
    if (r->ps && r->cfg->expect_para_genesis) {
        uint8_t pg[32], want[32];
        err = ferry_source_genesis(r->ps, pg, why);
        if (err)
            return fail(r, fault, FERRY_FAULT_TRANSIENT, err);
        if (ferry_hex_decode_exact(r->cfg->expect_para_genesis, want, 32) || memcmp(want, pg, 32)) {
            ferry_reason_set(why, FERRY_E_VERIFY,
                             "%s is not the parachain of expect_para_genesis %s",
                             ferry_source_url(r->ps), r->cfg->expect_para_genesis);
            return fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_VERIFY);
        }
    }
    err = require_methods(r->rs, relay_methods, "relay", why);
    if (!err && (r->have_key || !r->ps))
        err = require_methods(tx_source(r), tx_methods, r->ps ? "parachain" : "solo", why);
    if (err)
        return fail(r, fault,
                    err == FERRY_E_UNSUPPORTED ? FERRY_FAULT_CHAIN : FERRY_FAULT_TRANSIENT, err);
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
        return fail(r, fault, FERRY_FAULT_TRANSIENT, err);
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
        return fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    return FERRY_OK;
}

/* The outbox belongs to one chain; the worker must serve this chain in this mode. */
static ferry_err check_worker(struct relay *r, enum ferry_fault_class *fault,
                              struct ferry_reason *why)
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
        return fail(r, fault, FERRY_FAULT_WORKER, FERRY_E_STATE);
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
        return fail(r, fault, FERRY_FAULT_WORKER, FERRY_E_STATE);
    }
    return FERRY_OK;
}

/* The --checkpoint must be of the chain the node serves (after pre-flight: r->genesis known). */
static ferry_err check_checkpoint(struct relay *r, enum ferry_fault_class *fault,
                                  struct ferry_reason *why)
{
    if (!r->have_cp || !memcmp(r->cp_genesis, r->genesis, 32))
        return FERRY_OK;
    char a[67], b[67];
    ferry_hex_encode(r->cp_genesis, 32, a);
    ferry_hex_encode(r->genesis, 32, b);
    ferry_reason_set(why, FERRY_E_VERIFY,
                     "checkpoint %s is for another chain: its genesis is %s, %s serves %s",
                     r->cfg->checkpoint, a, ferry_source_url(r->rs), b);
    return fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_VERIFY);
}

/* ---- the light client ----------------------------------------------------------------------- */

static void authority_keys(uint8_t k0[32], uint8_t k2[32])
{
    ferry_storage_prefix(k0, "Grandpa", "Authorities");
    ferry_storage_prefix(k2, "Grandpa", "CurrentSetId");
}

/* Read proof at `at` on source s: the raw nodes and a proof for lookups. */
static ferry_err read_proof(struct ferry_source *s, const struct ferry_bytes *keys, size_t n,
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

/* Whether the --checkpoint trust root applies: to initialise a worker (init), or to verify again
 * for an initialised worker whose next expected header is past it (a worker initialised at or
 * after the checkpoint, or at genesis and already beyond it). */
static bool checkpoint_applies(const struct relay *r, bool init)
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
static ferry_err trust_root(struct relay *r, uint8_t **genesis_info, size_t *gi_len, bool *from_cp,
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
        err = read_proof(r->rs, keys, 3, g.hash, &nodes, &proof, why);
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
static ferry_err trust_genesis(struct relay *r, uint8_t **genesis_info, size_t *gi_len,
                               struct ferry_reason *why)
{
    return trust_root(r, genesis_info, gi_len, NULL, why);
}

/* Save ferry's lc to the data directory when it changed: at most about once a second while
 * catching up (force: at the tip, and when stopping). A failure is logged, not fatal: the next
 * start verifies again from the trust root or from the last state saved. */
static void save_state(struct relay *r, bool force)
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
static ferry_err load_state(struct relay *r, enum ferry_fault_class *fault,
                            struct ferry_reason *why)
{
    struct ferry_lc *lc = NULL;
    struct ferry_reason w = {""};
    ferry_err err = ferry_relay_state_load(r->cfg->data_dir, r->genesis, &lc, &w);
    if (err == FERRY_E_NOT_FOUND)
        return FERRY_OK;
    if (err == FERRY_E_STATE) {
        ferry_reason_set(why, err, "%s", w.text);
        return fail(r, fault, FERRY_FAULT_CHAIN, err);
    }
    if (err == FERRY_E_NOMEM)
        return fail(r, fault, FERRY_FAULT_INTERNAL, err);
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

/* ---- steps
 * ---------------------------------------------------------------------------------------- */

static ferry_err step_init(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why)
{
    uint8_t *gi;
    size_t gi_len;
    bool from_cp = false;
    ferry_err err = trust_root(r, &gi, &gi_len, &from_cp, why);
    if (err && from_cp && (err == FERRY_E_STATE || err == FERRY_E_INVALID))
        return fail(r, fault, FERRY_FAULT_CHAIN, err); /* the checkpoint is not of this chain */
    if (err)
        return fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    if (from_cp) {
        /* the worker will name the checkpoint block as its genesis: remember it is ours */
        err = ferry_outbox_kv_put(r->ob, "worker_root", r->cp_header.hash, 32, why);
        if (err) {
            free(gi);
            return fail(r, fault, FERRY_FAULT_IO, err);
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
        return fail(r, fault, ferry_fault_classify(FERRY_ORIGIN_WORKER, err), err);
    char hex[67];
    ferry_hex_encode(pk, 32, hex);
    if (from_cp)
        ferry_log_info(LOG, "worker initialised at checkpoint #%u; its identity key is %s",
                       r->cp_header.number, hex);
    else
        ferry_log_info(LOG, "worker initialised at genesis; its identity key is %s", hex);
    save_state(r, true);
    return FERRY_OK;
}

/* A node's answer failed verification or could not be used: next endpoint, backoff. */
static ferry_err node_fault(struct relay *r, struct ferry_source *s, ferry_err err,
                            enum ferry_fault_class *fault, struct ferry_reason *why)
{
    if (err == FERRY_E_VERIFY || err == FERRY_E_INCOMPLETE || ferry_source_is_malformed(err)) {
        if (s == tx_source(r)) {
            /* the tx client borrows that connection, which the switch frees: close it first
             * (it is re-opened on the next connection when needed) */
            ferry_tx_client_close(r->tx);
            r->tx = NULL;
            r->tx_rpc = NULL;
        }
        ferry_source_penalise(s, why ? why->text : "unusable data");
        ferry_metrics_add(r->m, "ferry_relay_reconnects_total", NULL, 1);
    }
    return fail(r, fault, ferry_fault_classify(FERRY_ORIGIN_NODE, err), err);
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

static ferry_err worker_fault(struct relay *r, ferry_err err, enum ferry_fault_class *fault,
                              struct ferry_reason *why)
{
    enum ferry_fault_class c = ferry_fault_classify(FERRY_ORIGIN_WORKER, err);
    if (c == FERRY_FAULT_WORKER && worker_moved(r))
        c = FERRY_FAULT_TRANSIENT;
    if (c == FERRY_FAULT_WORKER)
        ferry_reason_prefix(why, err, "the worker refused data ferry verified: ");
    return fail(r, fault, c, err);
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
        return fail(r, fault, FERRY_FAULT_INTERNAL, FERRY_E_NOMEM);
    uint32_t to = 0;
    ferry_err err = ferry_wc_sync_header(&r->wc, enc, len, &to, why);
    free(enc);
    if (err)
        return worker_fault(r, err, fault, why);
    ferry_log_debug(LOG, "worker synced relay headers #%u..#%u", b->headers[i].number, to);
    /* save_state saves only what the worker has: a saved lc ahead of the worker would have to
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
            return fail(r, fault, FERRY_FAULT_INTERNAL, err);
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

static void cancel_prefetch(struct relay *r, size_t i)
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

/* read_proof(), taking the answer of a proof asked ahead when there is one. */
static ferry_err read_proof_ahead(struct relay *r, enum prefetch_kind kind, struct ferry_source *s,
                                  const struct ferry_bytes *keys, size_t n, const uint8_t at[32],
                                  struct ferry_bytes_list *nodes, struct ferry_trie_proof **proof,
                                  struct ferry_reason *why)
{
    struct ferry_source_proof_req *q = take_prefetch(r, kind, at);
    if (!q || ferry_source_read_proof_wait(q, nodes, why))
        return read_proof(s, keys, n, at, nodes, proof, why); /* none, or its connection died */
    ferry_err err = nodes_proof(nodes, proof);
    if (err)
        ferry_bytes_list_free(nodes);
    return err;
}

static void prefetch_tip(struct relay *r)
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
    struct ferry_source *src = tx_source(r);
    if (ferry_source_pushed_tip(src, &n, hash) && n >= r->info.blocknum &&
        n - r->info.blocknum < r->cfg->dispatch_batch) { /* else step_blocks pipelines a range */
        uint8_t keys[FERRY_WORKER_N_KEYS][FERRY_WORKER_KEY_MAX];
        size_t klens[FERRY_WORKER_N_KEYS];
        ferry_worker_dispatch_keys(r->info.public_key, keys, klens);
        struct ferry_bytes kb[FERRY_WORKER_N_KEYS];
        for (int i = 0; i < FERRY_WORKER_N_KEYS; i++) {
            kb[i].p = keys[i];
            kb[i].len = klens[i];
        }
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
static ferry_err step_headers(struct relay *r, enum ferry_fault_class *fault,
                              struct ferry_reason *why)
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
    time_part(&r->node_s, t0);
    if (err == FERRY_E_RETRY)
        return FERRY_E_RETRY;
    if (err)
        return node_fault(r, r->rs, err, fault, why);
    /* the set in force before the batch: it finalizes every header of it but the last (a
     * change is enacted at a batch's last header at the earliest) */
    struct ferry_authority_set pre = {0};
    if (ferry_authority_set_copy(&pre, ferry_lc_authority_set(r->lc))) {
        ferry_source_batch_free(&b);
        return fail(r, fault, FERRY_FAULT_INTERNAL, FERRY_E_NOMEM);
    }
    struct ferry_lc_change ch;
    t0 = ferry_clock_s();
    err = ferry_lc_import_relay(r->lc, b.headers, b.n, b.justification, b.justification_len, &ch,
                                why);
    time_part(&r->verify_s, t0);
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
        save_state(r, false);
        return FERRY_OK;
    }
    /* from the worker's next header, in chunks of at most header_batch_max (forward_chunks) */
    err = forward_chunks(r, &b, &pre, next - first, fault, why);
    ferry_source_batch_free(&b);
    ferry_authority_set_free(&pre);
    if (err)
        return err;
    save_state(r, last >= r->finalized); /* throttled while catching up, always at the tip */
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
        return fail(r, fault, FERRY_FAULT_TRANSIENT, FERRY_E_STATE);
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
            return fail(r, fault, FERRY_FAULT_TRANSIENT, err); /* not onboarded yet */
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
    ferry_err err = read_proof(r->ps, &k, 1, ls.para_hash, &nodes, &proof, why);
    if (err)
        return node_fault(r, r->ps, err, fault, why);
    const uint8_t *v = NULL;
    size_t vl = 0;
    err = ferry_lc_read(r->lc, FERRY_LC_PARA, ls.para_number, proof, key, 32, &v, &vl, why);
    uint32_t id = !err && vl == 4 ? u32_le(v) : 0;
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
        return fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_VERIFY);
    }
    r->para_id_checked = true;
    ferry_log_debug(LOG, "para id %u proven at the verified para head #%u", id, ls.para_number);
    return FERRY_OK;
}

/* Parachain headers. want_from: the lowest para block ferry's lc needs (roots for dispatch).
 * send: forward to the worker the part it lacks. Returns FERRY_E_RETRY when nothing is new. */
static ferry_err step_para(struct relay *r, bool send, enum ferry_fault_class *fault,
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
        save_state(r, false);
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
            return err == FERRY_E_NOMEM ? fail(r, fault, FERRY_FAULT_INTERNAL, err)
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
static ferry_err step_blocks(struct relay *r, uint32_t upto, enum ferry_fault_class *fault,
                             struct ferry_reason *why)
{
    if (!r->info.has_public_key) {
        ferry_reason_set(why, FERRY_E_STATE, "the worker reports no public key");
        return fail(r, fault, FERRY_FAULT_WORKER, FERRY_E_STATE);
    }
    enum ferry_lc_chain chain = r->parachain ? FERRY_LC_PARA : FERRY_LC_RELAY;
    struct ferry_source *src = tx_source(r);
    uint32_t from = r->info.blocknum;
    uint32_t to = upto;
    if (to - from + 1 > r->cfg->dispatch_batch)
        to = from + r->cfg->dispatch_batch - 1;
    size_t nb = (size_t)(to - from) + 1;
    uint8_t keys[FERRY_WORKER_N_KEYS][FERRY_WORKER_KEY_MAX];
    size_t klens[FERRY_WORKER_N_KEYS];
    ferry_worker_dispatch_keys(r->info.public_key, keys, klens);
    struct ferry_bytes kb[FERRY_WORKER_N_KEYS];
    for (int i = 0; i < FERRY_WORKER_N_KEYS; i++) {
        kb[i].p = keys[i];
        kb[i].len = klens[i];
    }
    /* the verified hashes first: a block ferry's lc lacks changes the plan before anything is
     * asked */
    uint8_t(*hashes)[32] = calloc(nb, sizeof *hashes);
    struct ferry_source_proof_req **reqs = calloc(nb, sizeof *reqs);
    if (!hashes || !reqs) {
        free(hashes);
        free(reqs);
        return fail(r, fault, FERRY_FAULT_INTERNAL, FERRY_E_NOMEM);
    }
    for (uint32_t b = from; b <= to; b++) {
        uint8_t root[32];
        if (ferry_lc_state_root(r->lc, chain, b, root, hashes[b - from])) {
            free(hashes);
            free(reqs);
            if (r->parachain) {
                /* ferry's lc lacks that para block (a restart): fetch it without forwarding */
                ferry_err err = step_para(r, false, fault, why);
                return err == FERRY_E_RETRY ? fail(r, fault, FERRY_FAULT_TRANSIENT, FERRY_E_STATE)
                                            : err;
            }
            ferry_reason_set(why, FERRY_E_STATE, "block #%u is not retained by ferry's lc", b);
            return fail(r, fault, FERRY_FAULT_TRANSIENT, FERRY_E_STATE);
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
        time_part(&r->node_s, t0);
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
        time_part(&r->verify_s, t0);
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
            return fail(r, fault, FERRY_FAULT_INTERNAL, err);
        return node_fault(r, src, err, fault, why);
    }
    size_t len;
    uint8_t *enc = ferry_scale_writer_take(&w, &len);
    if (!enc)
        return fail(r, fault, FERRY_FAULT_INTERNAL, FERRY_E_NOMEM);
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

/* ---- registration ---------------------------------------------------------------------------- */

/* Decode SCALE bytes as the type of argument `arg` of call into JSON (for ferry_tx_submit). */
static ferry_err arg_json(const struct ferry_metadata *md, const char *dotted, size_t arg,
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

static ferry_err step_register(struct relay *r, enum ferry_fault_class *fault,
                               struct ferry_reason *why)
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
            return fail(r, fault,
                        err == FERRY_E_NET || err == FERRY_E_TIMEOUT || err == FERRY_E_RPC
                            ? FERRY_FAULT_TRANSIENT
                            : FERRY_FAULT_ATTEST,
                        err);
        }
        report = full;
        report_len = full_len;
    }
    struct ferry_tx_client *tx;
    err = tx_client(r, &tx, why);
    if (err) {
        free(info);
        free(report);
        return fail(r, fault, ferry_fault_classify(FERRY_ORIGIN_NODE, err), err);
    }
    cJSON *a0 = NULL, *a1 = NULL;
    err = arg_json(ferry_tx_metadata(tx), CALL_REGISTER, 0, info, info_len, &a0, why);
    if (!err)
        err = arg_json(ferry_tx_metadata(tx), CALL_REGISTER, 1, report, report_len, &a1, why);
    free(report);
    if (err) {
        free(info);
        cJSON_Delete(a0);
        cJSON_Delete(a1);
        return fail(r, fault, FERRY_FAULT_CHAIN, err);
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
        return fail(r, fault, c, err);
    }
    if (!res.success) {
        char *e = res.error ? cJSON_PrintUnformatted(res.error) : NULL;
        ferry_reason_set(why, FERRY_E_STATE, "%s failed on chain in block #%u: %s", CALL_REGISTER,
                         res.number, e ? e : "?");
        free(e);
        free(info);
        ferry_tx_result_clear(&res);
        return fail(r, fault, FERRY_FAULT_CHAIN, FERRY_E_STATE);
    }
    ferry_log_info(LOG, "worker registered (%s in finalized block #%u)", CALL_REGISTER, res.number);
    ferry_tx_result_clear(&res);
    free(info);
    r->registered_now = true;
    if (ferry_outbox_kv_put(r->ob, "registered_info", fp, 32, why))
        return fail(r, fault, FERRY_FAULT_IO, FERRY_E_IO);
    return FERRY_OK;
}

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
        err = read_proof(tx_source(r), &k, 1, r->parachain ? ls.para_hash : ls.hash, &nodes, &proof,
                         why);
        if (!err)
            err = ferry_lc_read(r->lc, c, at, proof, key, klen, &v, &vl, why);
    } else {
        struct ferry_rpc *rpc;
        err = ferry_source_rpc(tx_source(r), &rpc, why);
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
    ferry_err err = ferry_source_rpc(tx_source(r), &rpc, why);
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
    ferry_err err = ferry_source_rpc(tx_source(r), &rpc, why);
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
    ferry_err err = ferry_source_rpc(tx_source(r), &rpc, why);
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
    ferry_err err = tx_client(r, &tx, why);
    if (err)
        return err;
    const struct ferry_metadata *md = ferry_tx_metadata(tx);
    cJSON *msg = NULL;
    err = arg_json(md, CALL_EGRESS, 0, payload, len, &msg, why);
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
    ferry_err err = ferry_source_rpc(tx_source(r), &rpc, why);
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

static ferry_err step_egress(struct relay *r, enum ferry_fault_class *fault,
                             struct ferry_reason *why)
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
        return fail(r, fault, err == FERRY_E_IO ? FERRY_FAULT_IO : FERRY_FAULT_WORKER, err);
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
        return fail(r, fault, FERRY_FAULT_IO, err);
    if (err == FERRY_E_RPC && strstr(why->text, "Inability to pay"))
        return fail(r, fault, FERRY_FAULT_ACCOUNT, err);
    /* a read the node could not prove, or an answer that does not parse: the next endpoint */
    if (err == FERRY_E_VERIFY || err == FERRY_E_INCOMPLETE || ferry_source_is_malformed(err))
        return node_fault(r, tx_source(r), err, fault, why);
    if (err)
        return fail(r, fault, FERRY_FAULT_TRANSIENT, err);
    return FERRY_OK;
}

/* ---- the loop -------------------------------------------------------------------------------- */

/* The node's finalized height, for progress and readiness (the steps find their own work):
 * taken from the header the node pushed when there is one (no round trip), else asked at most
 * once a second. */
static void refresh_finalized(struct relay *r)
{
    uint32_t n;
    uint8_t hash[32];
    if (ferry_source_pushed_tip(r->rs, &n, hash)) {
        if (n > r->finalized)
            r->finalized = n;
        return;
    }
    double t = ferry_clock_s();
    if (t - r->finalized_at < 1.0)
        return;
    if (ferry_source_finalized(r->rs, &n, NULL, NULL) == FERRY_OK) {
        r->finalized = n;
        r->finalized_at = t;
    }
}

/* GetInfo into r->info. */
static ferry_err ask_info(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why)
{
    ferry_err err = ferry_wc_get_info(&r->wc, &r->info, why);
    if (err) {
        r->info_known = false;
        return fail(r, fault, ferry_fault_classify(FERRY_ORIGIN_WORKER, err), err);
    }
    r->info_known = true;
    r->info_tracked = false;
    return check_worker(r, fault, why);
}

/* The worker's heights after a sync call it answered (its SyncedTo: the last header or block it
 * took), instead of asking GetInfo before the next step. A first para import also moves the
 * worker's next block, and an answer that goes backwards is not understood: GetInfo then. */
static void track_sync(struct relay *r)
{
    const char *m = r->wc.last_sync;
    if (!m)
        return;
    uint32_t next = r->wc.last_synced_to + 1;
    uint32_t *field = NULL;
    if (!strcmp(m, "SyncHeader"))
        field = &r->info.headernum;
    else if (!strcmp(m, "SyncParaHeader") && r->info.para_headernum)
        field = &r->info.para_headernum;
    else if (!strcmp(m, "DispatchBlocks"))
        field = &r->info.blocknum;
    if (!field || next < *field) {
        r->info_known = false;
        return;
    }
    *field = next;
    r->info_tracked = true;
}

static ferry_err step_once(struct relay *r, bool *at_tip, enum ferry_fault_class *fault,
                           struct ferry_reason *why)
{
    ferry_err err;
    if (!r->info_known) {
        err = ask_info(r, fault, why);
        if (err)
            return err;
    }
    if (!r->info.initialized) {
        publish(r, "init");
        r->info_known = false; /* InitRuntime changes everything GetInfo says */
        return step_init(r, fault, why);
    }
    if (!r->lc) {
        err = trust_genesis(r, NULL, NULL, why);
        if (err)
            return node_fault(r, r->rs, err, fault, why);
    }
    refresh_finalized(r);
    prefetch_tip(r);
    /* 0. ferry's own light client behind the worker (a restart: it starts again from genesis):
     * catch up first, verifying; the blocks and para steps read proofs at blocks it must hold */
    struct ferry_lc_status ls;
    ferry_lc_status(r->lc, &ls);
    if (ls.number + 1 < r->info.headernum) {
        publish(r, "catch-up");
        err = step_headers(r, fault, why);
        if (err == FERRY_E_RETRY) { /* the node is behind the worker: wait for it */
            *at_tip = true;
            return FERRY_OK;
        }
        return err;
    }
    /* 1. blocks whose headers the worker validated */
    uint32_t next_block_limit = r->parachain ? r->info.para_headernum : r->info.headernum;
    if (r->info.blocknum < next_block_limit && !(r->parachain && !r->info.para_headernum)) {
        publish(r, "blocks");
        return step_blocks(r, next_block_limit - 1, fault, why);
    }
    /* 2. para headers proven at the last relay block the worker validated */
    if (r->parachain) {
        err = step_para(r, true, fault, why);
        if (err != FERRY_E_RETRY) {
            publish(r, "para");
            return err;
        }
    }
    /* 3. relay headers up to finality */
    publish(r, "headers");
    err = step_headers(r, fault, why);
    if (!err && r->news_at > 0)
        ferry_log_debug(LOG, "relay headers done %.1f ms after the news",
                        (ferry_clock_s() - r->news_at) * 1e3);
    if (err != FERRY_E_RETRY)
        return err;
    /* 4. at the tip: nothing new. The worker's own word once per round (its heights were
     * tracked from its answers; registration shows in GetInfo only) */
    if (r->info_tracked) {
        struct ferry_wc_info before = r->info;
        err = ask_info(r, fault, why);
        if (err)
            return err;
        if (before.headernum != r->info.headernum ||
            before.para_headernum != r->info.para_headernum ||
            before.blocknum != r->info.blocknum) {
            ferry_log_warn(LOG, "the worker is not where its answers left it: re-reading");
            return FERRY_OK; /* another round with its real heights */
        }
    }
    *at_tip = true;
    publish(r, "tip");
    if (r->cfg->do_register && r->have_key) {
        err = step_register(r, fault, why);
        if (err)
            return err;
    }
    if (r->cfg->egress && r->have_key) {
        err = step_egress(r, fault, why);
        if (err)
            return err;
    }
    return FERRY_OK;
}

/* One step; the worker's state is asked again after any failure (it may have restarted, or
 * refused something) and otherwise followed from its answers. */
static ferry_err one_step(struct relay *r, bool *at_tip, enum ferry_fault_class *fault,
                          struct ferry_reason *why)
{
    *at_tip = false;
    r->wc.last_sync = NULL;
    ferry_err err = step_once(r, at_tip, fault, why);
    if (err)
        r->info_known = false;
    else
        track_sync(r);
    return err;
}

static ferry_err setup(struct relay *r, enum ferry_fault_class *fault, struct ferry_reason *why)
{
    const struct ferry_relay_config *c = r->cfg;
    r->parachain = c->para_url.n > 0;
    r->para_id = c->para_id;
    r->wc.url = c->worker_url;
    r->wc.timeout_ms = c->worker_timeout_ms;
    ferry_backoff_init(&r->bo, 250, c->backoff_max_ms, 0);
    if (ferry_u128_from_string(c->tip, &r->tip)) {
        ferry_reason_set(why, FERRY_E_ARG, "tip: not a decimal u128");
        return fail(r, fault, FERRY_FAULT_USAGE, FERRY_E_ARG);
    }
    if (c->checkpoint) {
        /* decoded here; its genesis is checked against the chain's after pre-flight
         * (check_checkpoint), header and set together by the lc when it is trusted */
        struct ferry_reason cw = {""};
        ferry_err err = ferry_follow_read_checkpoint(c->checkpoint, r->cp_genesis, &r->cp_header,
                                                     &r->cp_set, &cw);
        if (err) {
            ferry_reason_set(why, err, "%s", cw.text);
            return fail(r, fault,
                        err == FERRY_E_IO      ? FERRY_FAULT_IO
                        : err == FERRY_E_NOMEM ? FERRY_FAULT_INTERNAL
                                               : FERRY_FAULT_USAGE,
                        err);
        }
        r->have_cp = true;
        if (r->cp_set.has_scheduled || r->cp_set.has_forced) {
            /* a worker initialised there proves the set from storage and would not know the
             * pending change: it would refuse the justifications after its enactment */
            ferry_reason_set(why, FERRY_E_INVALID,
                             "checkpoint %s (#%u) has an authority-set change pending: export one "
                             "at another block",
                             c->checkpoint, r->cp_header.number);
            return fail(r, fault, FERRY_FAULT_USAGE, FERRY_E_INVALID);
        }
    }
    if (c->key_file && (c->do_register || c->egress)) {
        enum ferry_scheme scheme;
        ferry_err err = ferry_scheme_parse(c->key_scheme, &scheme);
        if (err) {
            ferry_reason_set(why, err, "key_scheme %s: not sr25519, ed25519 or ecdsa",
                             c->key_scheme);
            return fail(r, fault, FERRY_FAULT_USAGE, err);
        }
        struct ferry_reason kw = {""};
        err = ferry_keyfile_load(c->key_file, scheme, &r->kp, &kw);
        if (err) {
            ferry_reason_set(why, err, "key_file %s: %s", c->key_file,
                             kw.text[0] ? kw.text : "unusable");
            return fail(r, fault, ferry_fault_classify(FERRY_ORIGIN_CONFIG, err), err);
        }
        r->have_key = true;
    }
    ferry_err err = open_sources(r, why);
    if (err)
        return fail(r, fault, FERRY_FAULT_USAGE, err);
    return FERRY_OK;
}

static void teardown(struct relay *r)
{
    save_state(r, true);
    ferry_header_free(&r->cp_header);
    ferry_authority_set_free(&r->cp_set);
    ferry_tx_client_close(r->tx);
    ferry_source_close(r->rs);
    ferry_source_close(r->ps);
    for (size_t i = 0; i < PREFETCH_SLOTS; i++)
        cancel_prefetch(r, i); /* their answers are due (or their timeouts) */
    ferry_wc_close(&r->wc);
    ferry_lc_free(r->lc);
    ferry_outbox_close(r->ob);
    ferry_httpd_stop(r->httpd);
    ferry_metrics_free(r->m);
    if (r->have_key)
        ferry_keypair_clear(&r->kp);
}

static void sleep_ms_stoppable(struct relay *r, uint32_t ms)
{
    ferry_source_pause(r->rs, ms);
}

/* Pre-flight, retried while the failures are transient (a node or worker still starting). */
static ferry_err preflight_loop(struct relay *r, enum ferry_fault_class *fault,
                                struct ferry_reason *why)
{
    for (;;) {
        *fault = FERRY_FAULT_NONE;
        ferry_err err = preflight_nodes(r, fault, why);
        if (!err) {
            err = ferry_wc_get_info(&r->wc, &r->info, why);
            if (err)
                fail(r, fault, ferry_fault_classify(FERRY_ORIGIN_WORKER, err), err);
            else
                err = check_worker(r, fault, why);
        }
        if (!err)
            return FERRY_OK;
        if (ferry_fault_is_permanent(*fault))
            return err;
        if (*r->stop)
            return FERRY_E_RETRY;
        uint32_t d = ferry_backoff_next(&r->bo);
        ferry_log_warn(LOG, "pre-flight: %s; retrying in %u ms", why->text, d);
        publish(r, "preflight");
        sleep_ms_stoppable(r, d);
    }
}

static ferry_err open_data_dir(struct relay *r, enum ferry_fault_class *fault,
                               struct ferry_reason *why)
{
    if (mkdir(r->cfg->data_dir, 0700) && errno != EEXIST) {
        ferry_reason_set(why, FERRY_E_IO, "data_dir %s: %s", r->cfg->data_dir, strerror(errno));
        return fail(r, fault, FERRY_FAULT_IO, FERRY_E_IO);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/outbox.db", r->cfg->data_dir);
    ferry_err err = ferry_outbox_open(path, &r->ob, why);
    if (err)
        return fail(r, fault, FERRY_FAULT_IO, err);
    return FERRY_OK;
}

ferry_err ferry_relay_preflight(const struct ferry_relay_config *cfg, volatile sig_atomic_t *stop,
                                enum ferry_fault_class *fault, struct ferry_reason *why)
{
    struct relay r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    r.stop = stop;
    *fault = FERRY_FAULT_NONE;
    r.m = ferry_metrics_new();
    if (!r.m)
        return FERRY_E_NOMEM;
    ferry_err err = setup(&r, fault, why);
    if (!err)
        err = preflight_nodes(&r, fault, why);
    if (!err)
        err = check_checkpoint(&r, fault, why);
    if (!err) {
        err = ferry_wc_get_info(&r.wc, &r.info, why);
        if (err)
            fail(&r, fault, ferry_fault_classify(FERRY_ORIGIN_WORKER, err), err);
        else
            err = check_worker(&r, fault, why);
    }
    teardown(&r);
    return err;
}

ferry_err ferry_relay_run(const struct ferry_relay_config *cfg, volatile sig_atomic_t *stop,
                          ferry_relay_progress_fn progress, void *user,
                          enum ferry_fault_class *fault, struct ferry_reason *why)
{
    struct relay r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    r.stop = stop;
    r.progress = progress;
    r.user = user;
    *fault = FERRY_FAULT_NONE;
    r.m = ferry_metrics_new();
    if (!r.m)
        return FERRY_E_NOMEM;
    declare_metrics(r.m);
    ferry_err err = FERRY_OK;
    if (strcmp(cfg->metrics_addr, "off")) {
        char host[64];
        uint16_t port;
        err = ferry_parse_hostport(cfg->metrics_addr, host, sizeof host, &port);
        if (!err)
            err = ferry_httpd_start(host, port, r.m, cfg->stall_s, &r.httpd, why);
        if (err) {
            fail(&r, fault, FERRY_FAULT_USAGE, err);
            goto out;
        }
        ferry_log_info(LOG, "metrics on http://%s:%u/metrics (/healthz, /readyz)", host,
                       ferry_httpd_port(r.httpd));
    }
    err = setup(&r, fault, why);
    if (!err)
        err = open_data_dir(&r, fault, why);
    if (!err)
        err = preflight_loop(&r, fault, why);
    if (!err && ferry_outbox_bind_genesis(r.ob, r.genesis, why)) {
        err = FERRY_E_STATE;
        fail(&r, fault, FERRY_FAULT_CHAIN, err);
    }
    if (!err)
        err = check_checkpoint(&r, fault, why);
    if (!err)
        err = load_state(&r, fault, why);
    if (err)
        goto out;
    ferry_log_info(LOG, "pre-flight passed: %s mode, worker at %s",
                   r.parachain ? "parachain" : "solo", cfg->worker_url);
    while (!*stop) {
        bool at_tip = false;
        enum ferry_fault_class c = FERRY_FAULT_NONE;
        struct ferry_reason w = {{0}};
        err = one_step(&r, &at_tip, &c, &w);
        if (err) {
            last_error_class(&r, c);
            if (ferry_fault_is_permanent(c)) {
                *fault = c;
                *why = w;
                goto out;
            }
            uint32_t d = ferry_backoff_next(&r.bo);
            ferry_log_warn(LOG, "%s; retrying in %u ms", w.text[0] ? w.text : ferry_strerror(err),
                           d);
            publish(&r, "backoff");
            sleep_ms_stoppable(&r, d);
            continue;
        }
        ferry_backoff_reset(&r.bo);
        publish(&r, at_tip ? "tip" : "sync");
        if (cfg->until_block && r.info.headernum && r.info.headernum - 1 >= cfg->until_block &&
            r.info.blocknum >= (r.parachain ? r.info.para_headernum : r.info.headernum)) {
            ferry_log_info(LOG,
                           "the worker has relay block #%u: stopping as asked (time in node "
                           "requests %.3f s, verification %.3f s, worker calls %.3f s)",
                           cfg->until_block, r.node_s, r.verify_s, r.wc.seconds);
            break;
        }
        if (at_tip) {
            ferry_source_wait_news(r.rs);
            r.news_at = ferry_clock_s();
        }
    }
    err = FERRY_OK;
    *fault = FERRY_FAULT_NONE;
out:
    teardown(&r);
    return err;
}
