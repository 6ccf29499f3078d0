/* `ferry relay`'s loop (include/ferry/relay.h): its metrics, setup and teardown, the pherry-ordered
 * round of steps (steps.c, register.c, egresschain.c), the pre-flight retry and the public entry
 * points. The parts share struct relay through internal.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ferry/clock.h"
#include "ferry/egress.h"
#include "ferry/follow.h"
#include "ferry/log.h"
#include "ferry/metrics.h"
#include "ferry/source.h"
#include "ferry/tx.h"

#include "src/relay/internal.h"

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
        return relay_fail(r, fault, ferry_fault_classify(FERRY_ORIGIN_WORKER, err), err);
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
        return relay_fail(r, fault, FERRY_FAULT_USAGE, FERRY_E_ARG);
    }
    if (c->checkpoint) {
        /* decoded here; its genesis is checked against the chain's after pre-flight
         * (check_checkpoint), header and set together by the lc when it is trusted */
        struct ferry_reason cw = {""};
        ferry_err err = ferry_follow_read_checkpoint(c->checkpoint, r->cp_genesis, &r->cp_header,
                                                     &r->cp_set, &cw);
        if (err) {
            ferry_reason_set(why, err, "%s", cw.text);
            return relay_fail(r, fault,
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
            return relay_fail(r, fault, FERRY_FAULT_USAGE, FERRY_E_INVALID);
        }
    }
    if (c->key_file && (c->do_register || c->egress)) {
        enum ferry_scheme scheme;
        ferry_err err = ferry_scheme_parse(c->key_scheme, &scheme);
        if (err) {
            ferry_reason_set(why, err, "key_scheme %s: not sr25519, ed25519 or ecdsa",
                             c->key_scheme);
            return relay_fail(r, fault, FERRY_FAULT_USAGE, err);
        }
        struct ferry_reason kw = {""};
        err = ferry_keyfile_load(c->key_file, scheme, &r->kp, &kw);
        if (err) {
            ferry_reason_set(why, err, "key_file %s: %s", c->key_file,
                             kw.text[0] ? kw.text : "unusable");
            return relay_fail(r, fault, ferry_fault_classify(FERRY_ORIGIN_CONFIG, err), err);
        }
        r->have_key = true;
    }
    ferry_err err = open_sources(r, why);
    if (err)
        return relay_fail(r, fault, FERRY_FAULT_USAGE, err);
    return FERRY_OK;
}

static void teardown(struct relay *r)
{
    relay_save_state(r, true);
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
                relay_fail(r, fault, ferry_fault_classify(FERRY_ORIGIN_WORKER, err), err);
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
        return relay_fail(r, fault, FERRY_FAULT_IO, FERRY_E_IO);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/outbox.db", r->cfg->data_dir);
    ferry_err err = ferry_outbox_open(path, &r->ob, why);
    if (err)
        return relay_fail(r, fault, FERRY_FAULT_IO, err);
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
            relay_fail(&r, fault, ferry_fault_classify(FERRY_ORIGIN_WORKER, err), err);
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
            relay_fail(&r, fault, FERRY_FAULT_USAGE, err);
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
        relay_fail(&r, fault, FERRY_FAULT_CHAIN, err);
    }
    if (!err)
        err = check_checkpoint(&r, fault, why);
    if (!err)
        err = relay_load_state(&r, fault, why);
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
