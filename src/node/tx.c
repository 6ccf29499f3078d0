/* Submitting signed extrinsics and reading their outcome. See include/ferry/tx.h.
 *
 * The client's signing state (metadata, versions, format, nonce) changes only in the caller's
 * thread. Two things arrive on the rpc service thread through callbacks: runtime-version
 * notifications (which only record "the chain now runs spec X" under `mu`; the caller's next
 * build notices and refreshes) and the status updates of watched submissions (recorded in the
 * pending submission under its own lock, which ferry_tx_wait sleeps on).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/hash.h"
#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/chain_view.h"
#include "ferry/clock.h"
#include "ferry/tx.h"

#define LOG                "tx"
#define DEFAULT_PERIOD     64
#define DEFAULT_TIMEOUT_MS 120000

struct ferry_tx_client {
    struct ferry_rpc *rpc;
    struct ferry_keypair kp;
    uint8_t account[32];
    struct ferry_tx_options opt;
    uint8_t genesis[32];

    struct ferry_metadata *md;
    struct ferry_xt_format fmt;
    uint32_t spec_version, tx_version;
    unsigned refreshes;

    bool have_nonce;
    uint64_t next_nonce;

    uint64_t rv_sub; /* runtime-version subscription, 0 when none */
    pthread_mutex_t mu;
    pthread_cond_t rv_cv; /* signalled on each runtime-version notification */
    bool rv_seen;         /* guarded by mu: a notification arrived */
    uint32_t rv_spec, rv_tx;

    struct ferry_md_cache events_md;
};

struct ferry_tx_pending {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t sub;
    uint8_t hash[32];
    uint64_t nonce;
    /* guarded by mu */
    bool ready, in_block, finalized, ended;
    uint8_t block[32], fin_block[32];
    char terminal[256]; /* non-empty: dropped / invalid / usurped / subscription ended */
    ferry_err end_err;
};

static bool scheme_signable(const struct ferry_xt_format *f, enum ferry_scheme s)
{
    if (!f->multi_signature)
        return s == FERRY_SCHEME_ED25519;
    if (s == FERRY_SCHEME_SR25519)
        return f->sig_sr25519 >= 0;
    return s == FERRY_SCHEME_ECDSA ? f->sig_ecdsa >= 0 : f->sig_ed25519 >= 0;
}

/* Fetch version and metadata at one block (the best), so the two cannot straddle an upgrade. */
static ferry_err load_runtime(struct ferry_tx_client *c, struct ferry_reason *why)
{
    struct ferry_rpc_error e = {0};
    struct ferry_header best;
    ferry_err err = ferry_rpc_get_header(c->rpc, NULL, &best, &e);
    if (err) {
        ferry_reason_rpc(why, err, "chain_getHeader", &e);
        ferry_rpc_error_clear(&e);
        return err;
    }
    uint8_t at[32];
    memcpy(at, best.hash, 32);
    ferry_header_free(&best);
    struct ferry_runtime_version v;
    err = ferry_rpc_get_runtime_version(c->rpc, at, &v, &e);
    if (err) {
        ferry_reason_rpc(why, err, "state_getRuntimeVersion", &e);
        ferry_rpc_error_clear(&e);
        return err;
    }
    struct ferry_metadata *md = NULL;
    err = ferry_chain_fetch_metadata(c->rpc, at, &md, why);
    if (err)
        return err;
    struct ferry_xt_format f;
    err = ferry_xt_format_from_metadata(md, &f, why);
    if (!err && !scheme_signable(&f, c->kp.scheme))
        err = ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                               "the runtime's MultiSignature has no %s variant",
                               ferry_scheme_name(c->kp.scheme));
    if (err) {
        ferry_reason_prefix(why, err, "cannot sign for spec %u: ", v.spec_version);
        ferry_metadata_free(md);
        return err;
    }
    ferry_metadata_free(c->md);
    c->md = md;
    c->fmt = f;
    c->spec_version = v.spec_version;
    c->tx_version = v.transaction_version;
    c->refreshes++;
    c->have_nonce = false;
    ferry_log_debug(LOG, "signing for %s spec %u tx %u (metadata v%u, %zu signed extensions)",
                    v.spec_name, v.spec_version, v.transaction_version, ferry_metadata_version(md),
                    f.n_ext);
    return FERRY_OK;
}

ferry_err ferry_tx_refresh(struct ferry_tx_client *c, struct ferry_reason *why)
{
    return load_runtime(c, why);
}

/* Refresh when a runtime-version notification announced versions we do not sign with. */
static ferry_err refresh_if_upgraded(struct ferry_tx_client *c, struct ferry_reason *why)
{
    pthread_mutex_lock(&c->mu);
    bool stale = c->rv_seen && (c->rv_spec != c->spec_version || c->rv_tx != c->tx_version);
    uint32_t spec = c->rv_spec;
    pthread_mutex_unlock(&c->mu);
    if (!stale)
        return FERRY_OK;
    ferry_log_info(LOG, "runtime upgraded to spec %u: fetching its metadata", spec);
    return load_runtime(c, why);
}

static void runtime_version_cb(void *user, struct ferry_rpc_event *ev)
{
    struct ferry_tx_client *c = user;
    if (ev->kind != FERRY_RPC_EV_NOTIFICATION || !cJSON_IsObject(ev->result))
        return;
    const cJSON *spec = cJSON_GetObjectItem(ev->result, "specVersion");
    const cJSON *txv = cJSON_GetObjectItem(ev->result, "transactionVersion");
    if (!cJSON_IsNumber(spec) || !cJSON_IsNumber(txv))
        return;
    pthread_mutex_lock(&c->mu);
    c->rv_seen = true;
    c->rv_spec = (uint32_t)spec->valuedouble;
    c->rv_tx = (uint32_t)txv->valuedouble;
    pthread_cond_broadcast(&c->rv_cv);
    pthread_mutex_unlock(&c->mu);
}

/* ---- lifetime -----------------------------------------------------------------------------------
 */

ferry_err ferry_tx_client_open(struct ferry_rpc *rpc, const struct ferry_keypair *kp,
                               const struct ferry_tx_options *opt, struct ferry_tx_client **out,
                               struct ferry_reason *why)
{
    *out = NULL;
    struct ferry_tx_client *c = calloc(1, sizeof *c);
    if (!c)
        return FERRY_E_NOMEM;
    c->rpc = rpc;
    c->kp = *kp;
    ferry_keypair_account_id(kp, c->account);
    if (opt)
        c->opt = *opt;
    if (!c->opt.period)
        c->opt.period = DEFAULT_PERIOD;
    if (!c->opt.timeout_ms)
        c->opt.timeout_ms = DEFAULT_TIMEOUT_MS;
    pthread_mutex_init(&c->mu, NULL);
    ferry_cond_init_monotonic(&c->rv_cv);

    struct ferry_rpc_error e = {0};
    ferry_err err = ferry_rpc_get_block_hash(rpc, 0, c->genesis, &e);
    if (err) {
        ferry_reason_rpc(why, err, "chain_getBlockHash(0)", &e);
        ferry_rpc_error_clear(&e);
        ferry_tx_client_close(c);
        return err;
    }
    err = load_runtime(c, why);
    if (err) {
        ferry_tx_client_close(c);
        return err;
    }
    if (!c->opt.no_runtime_follow) {
        err = ferry_rpc_subscribe(rpc, "state_subscribeRuntimeVersion", "[]",
                                  "state_unsubscribeRuntimeVersion", 0, runtime_version_cb, c,
                                  c->opt.timeout_ms, &c->rv_sub, &e);
        if (err) {
            /* HTTP, or a node without the method: the retry on "bad proof" still covers an
             * upgrade. */
            ferry_log_warn(LOG,
                           "cannot follow runtime versions (%s); relying on retry after a "
                           "rejected signature",
                           ferry_strerror(err));
            ferry_rpc_error_clear(&e);
            c->rv_sub = 0;
        } else {
            /* Nodes send the current version at once. Waiting for it closes the window between
             * load_runtime and the subscription: an upgrade in between is caught here. */
            int64_t end = ferry_deadline_ms(1000);
            pthread_mutex_lock(&c->mu);
            while (!c->rv_seen && ferry_cond_wait_until(&c->rv_cv, &c->mu, end) == 0)
                ;
            pthread_mutex_unlock(&c->mu);
            err = refresh_if_upgraded(c, why);
            if (err) {
                ferry_tx_client_close(c);
                return err;
            }
        }
    }
    *out = c;
    return FERRY_OK;
}

void ferry_tx_client_close(struct ferry_tx_client *c)
{
    if (!c)
        return;
    if (c->rv_sub)
        (void)ferry_rpc_unsubscribe(c->rpc, c->rv_sub, 2000);
    ferry_metadata_free(c->md);
    ferry_md_cache_clear(&c->events_md);
    ferry_keypair_clear(&c->kp);
    pthread_cond_destroy(&c->rv_cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const struct ferry_metadata *ferry_tx_metadata(const struct ferry_tx_client *c)
{
    return c->md;
}

uint32_t ferry_tx_spec_version(const struct ferry_tx_client *c)
{
    return c->spec_version;
}

uint32_t ferry_tx_transaction_version(const struct ferry_tx_client *c)
{
    return c->tx_version;
}

unsigned ferry_tx_refresh_count(const struct ferry_tx_client *c)
{
    return c->refreshes;
}

void ferry_tx_account(const struct ferry_tx_client *c, uint8_t account[32])
{
    memcpy(account, c->account, 32);
}

/* ---- building
 * ------------------------------------------------------------------------------------ */

static ferry_err sync_nonce(struct ferry_tx_client *c, struct ferry_reason *why)
{
    char acct[67];
    ferry_hex_encode(c->account, 32, acct);
    struct ferry_rpc_error e = {0};
    uint64_t n;
    ferry_err err = ferry_rpc_account_next_index(c->rpc, acct, &n, &e);
    if (err) {
        ferry_reason_rpc(why, err, "system_accountNextIndex", &e);
        ferry_rpc_error_clear(&e);
        return err;
    }
    c->next_nonce = n;
    c->have_nonce = true;
    return FERRY_OK;
}

static ferry_err checkpoint(struct ferry_tx_client *c, struct ferry_xt_params *p,
                            struct ferry_reason *why)
{
    if (c->opt.immortal) {
        p->era.immortal = true;
        memcpy(p->birth_hash, c->genesis, 32);
        return FERRY_OK;
    }
    struct ferry_rpc_error e = {0};
    uint8_t fin[32];
    ferry_err err = ferry_rpc_get_finalized_head(c->rpc, fin, &e);
    struct ferry_header h;
    if (!err)
        err = ferry_rpc_get_header(c->rpc, fin, &h, &e);
    if (err) {
        ferry_reason_rpc(why, err, "reading the finalized head for the era checkpoint", &e);
        ferry_rpc_error_clear(&e);
        return err;
    }
    uint32_t n = h.number;
    ferry_header_free(&h);
    /* A finalized head further behind the best block than the era lasts (stalled finality)
     * would give a transaction that is dead on arrival: take the best block instead. */
    struct ferry_header best;
    if (ferry_rpc_get_header(c->rpc, NULL, &best, &e) == FERRY_OK) {
        if (best.number > n && best.number - n + 4 > c->opt.period) {
            ferry_log_warn(LOG,
                           "finalized head #%u is %u blocks behind the best; using best block "
                           "#%u as the era checkpoint",
                           n, best.number - n, best.number);
            n = best.number;
            memcpy(fin, best.hash, 32);
        }
        ferry_header_free(&best);
    }
    ferry_rpc_error_clear(&e);
    ferry_era_mortal(c->opt.period, n, &p->era);
    uint64_t birth = ferry_era_birth(&p->era, n);
    if (birth == n) {
        memcpy(p->birth_hash, fin, 32);
        return FERRY_OK;
    }
    /* a quantized phase (period > 4096): the era is born a few blocks before the checkpoint */
    err = ferry_rpc_get_block_hash(c->rpc, (uint32_t)birth, p->birth_hash, &e);
    if (err) {
        ferry_reason_rpc(why, err, "chain_getBlockHash(era birth)", &e);
        ferry_rpc_error_clear(&e);
    }
    return err;
}

static ferry_err build(struct ferry_tx_client *c, const char *dotted, const cJSON *args,
                       uint8_t **xt, size_t *xt_len, uint8_t hash[32], uint64_t *nonce,
                       struct ferry_reason *why)
{
    *xt = NULL;
    ferry_err err = refresh_if_upgraded(c, why);
    if (!err && !c->opt.fixed_nonce && !c->have_nonce)
        err = sync_nonce(c, why);
    struct ferry_xt_params p = {0};
    if (!err)
        err = checkpoint(c, &p, why);
    if (err)
        return err;
    p.spec_version = c->spec_version;
    p.tx_version = c->tx_version;
    memcpy(p.genesis_hash, c->genesis, 32);
    p.nonce = c->opt.fixed_nonce ? c->opt.nonce : c->next_nonce;
    p.tip = c->opt.tip;
    if (nonce)
        *nonce = p.nonce;
    return ferry_xt_build_call(c->md, &c->kp, &p, dotted, args, xt, xt_len, hash, why);
}

ferry_err ferry_tx_build(struct ferry_tx_client *c, const char *dotted, const cJSON *args,
                         uint8_t **xt, size_t *xt_len, uint8_t hash[32], uint64_t *nonce,
                         struct ferry_reason *why)
{
    return build(c, dotted, args, xt, xt_len, hash, nonce, why);
}

/* ---- submitting and watching ------------------------------------------------------------------
 */

static void watch_cb(void *user, struct ferry_rpc_event *ev)
{
    struct ferry_tx_pending *p = user;
    pthread_mutex_lock(&p->mu);
    if (ev->kind == FERRY_RPC_EV_NOTIFICATION) {
        const cJSON *r = ev->result;
        const char *status = NULL;
        const cJSON *val = NULL;
        if (cJSON_IsString(r)) {
            status = r->valuestring;
        } else if (cJSON_IsObject(r) && r->child) {
            status = r->child->string;
            val = r->child;
        }
        uint8_t h[32];
        bool has_hash = val && cJSON_IsString(val) &&
                        ferry_hex_decode_exact(val->valuestring, h, 32) == FERRY_OK;
        if (!status) {
            /* unknown shape: keep waiting */
        } else if (!strcmp(status, "ready") || !strcmp(status, "future") ||
                   !strcmp(status, "broadcast")) {
            p->ready = true;
        } else if (!strcmp(status, "inBlock") && has_hash) {
            p->ready = p->in_block = true;
            memcpy(p->block, h, 32);
        } else if (!strcmp(status, "retracted")) {
            p->in_block = false;
        } else if (!strcmp(status, "finalized") && has_hash) {
            p->ready = p->in_block = p->finalized = true;
            memcpy(p->fin_block, h, 32);
            memcpy(p->block, h, 32);
        } else if (!p->terminal[0]) {
            /* dropped, invalid, usurped, finalityTimeout, or a node-specific failure report */
            char *text = cJSON_PrintUnformatted(r);
            snprintf(p->terminal, sizeof p->terminal, "the node reported %s after accepting it",
                     text ? text : status);
            free(text);
        }
    } else if (ev->kind == FERRY_RPC_EV_SUB_ENDED) {
        p->ended = true;
        p->end_err = ev->err;
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static struct ferry_tx_pending *pending_new(void)
{
    struct ferry_tx_pending *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    ferry_cond_init_monotonic(&p->cv);
    return p;
}

static void pending_free(struct ferry_tx_pending *p)
{
    if (!p)
        return;
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Submit xt and install the watch. On an rpc error *e is filled (caller clears). */
static ferry_err submit_watch(struct ferry_tx_client *c, const uint8_t *xt, size_t len,
                              struct ferry_tx_pending *p, struct ferry_rpc_error *e)
{
    struct ferry_rpc_params params;
    ferry_rpc_params_init(&params);
    ferry_rpc_params_hex(&params, xt, len);
    const char *text = ferry_rpc_params_text(&params);
    ferry_err err =
        !text ? FERRY_E_NOMEM
              : ferry_rpc_subscribe(c->rpc, "author_submitAndWatchExtrinsic", text,
                                    "author_unwatchExtrinsic", FERRY_RPC_SUB_NO_RESUBSCRIBE,
                                    watch_cb, p, c->opt.timeout_ms, &p->sub, e);
    ferry_rpc_params_free(&params);
    return err;
}

/* Rejections that a refresh (versions, metadata, nonce) and one retry can cure. */
static bool retryable(const struct ferry_rpc_error *e)
{
    /* Substrate: "Transaction has a bad signature" / "is outdated" / "will be valid in the
     * future" / "has an ancient birth block"; chopsticks: {"invalid":{"badProof":null}} … */
    static const char *const words[] = {
        "bad signature", "badproof",      "outdated",         "stale",
        "future",        "ancient birth", "ancientbirthblock"};
    const char *texts[] = {e->message, e->data};
    for (size_t t = 0; t < 2; t++)
        for (size_t i = 0; texts[t] && i < sizeof words / sizeof words[0]; i++)
            if (strcasestr(texts[t], words[i]))
                return true;
    return false;
}

/* Whether the node now runs another runtime than the one we signed for. A transaction built for
 * an older runtime can fail in ways no message names (renumbered calls, a new signed extension:
 * the new runtime may not even decode it), so any rejection is followed by this check. */
static bool runtime_changed(struct ferry_tx_client *c)
{
    struct ferry_runtime_version v;
    struct ferry_rpc_error e = {0};
    ferry_err err = ferry_rpc_get_runtime_version(c->rpc, NULL, &v, &e);
    ferry_rpc_error_clear(&e);
    return !err && (v.spec_version != c->spec_version || v.transaction_version != c->tx_version);
}

ferry_err ferry_tx_send(struct ferry_tx_client *c, const char *dotted, const cJSON *args,
                        struct ferry_tx_pending **out, struct ferry_reason *why)
{
    *out = NULL;
    struct ferry_tx_pending *p = pending_new();
    if (!p)
        return FERRY_E_NOMEM;
    ferry_err err = FERRY_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        uint8_t *xt = NULL;
        size_t len = 0;
        err = build(c, dotted, args, &xt, &len, p->hash, &p->nonce, why);
        if (err)
            break;
        struct ferry_rpc_error e = {0};
        err = submit_watch(c, xt, len, p, &e);
        free(xt);
        if (!err) {
            if (!c->opt.fixed_nonce)
                c->next_nonce = p->nonce + 1;
            ferry_log_debug(LOG, "submitted %s with nonce %llu", dotted,
                            (unsigned long long)p->nonce);
            *out = p;
            return FERRY_OK;
        }
        c->have_nonce = false;
        if (err == FERRY_E_RPC)
            ferry_reason_rpc(why, err, "the node rejected the transaction", &e);
        else
            ferry_reason_rpc(why, err, "author_submitAndWatchExtrinsic", &e);
        bool again = err == FERRY_E_RPC && attempt == 0 && !c->opt.fixed_nonce &&
                     (retryable(&e) || runtime_changed(c));
        ferry_rpc_error_clear(&e);
        if (!again)
            break;
        ferry_log_warn(LOG, "%s; refreshing runtime and nonce and retrying once",
                       why ? why->text : "rejected");
        struct ferry_reason rwhy = {""};
        if (load_runtime(c, &rwhy) != FERRY_OK)
            ferry_log_warn(LOG, "refresh failed: %s", rwhy.text);
    }
    if (err == FERRY_E_RPC && c->opt.fixed_nonce && why) {
        /* say what the node expects, the usual cause of a rejected fixed nonce */
        if (sync_nonce(c, NULL) == FERRY_OK) {
            struct ferry_reason node = *why;
            ferry_reason_set(
                why, err, "%s [signed with nonce %llu; the account's next nonce is %llu]",
                node.text, (unsigned long long)c->opt.nonce, (unsigned long long)c->next_nonce);
        }
    }
    pending_free(p);
    return err;
}

ferry_err ferry_tx_send_raw(struct ferry_tx_client *c, const uint8_t *xt, size_t len,
                            struct ferry_tx_pending **out, struct ferry_reason *why)
{
    *out = NULL;
    struct ferry_tx_pending *p = pending_new();
    if (!p)
        return FERRY_E_NOMEM;
    ferry_blake2b_256(p->hash, xt, len);
    struct ferry_rpc_error e = {0};
    ferry_err err = submit_watch(c, xt, len, p, &e);
    if (err) {
        ferry_reason_rpc(why, err,
                         err == FERRY_E_RPC ? "the node rejected the transaction"
                                            : "author_submitAndWatchExtrinsic",
                         &e);
        ferry_rpc_error_clear(&e);
        c->have_nonce = false;
        pending_free(p);
        return err;
    }
    *out = p;
    return FERRY_OK;
}

void ferry_tx_result_clear(struct ferry_tx_result *r)
{
    cJSON_Delete(r->error);
    cJSON_Delete(r->events);
    memset(r, 0, sizeof *r);
}

static bool reached(const struct ferry_tx_pending *p, enum ferry_tx_wait w)
{
    switch (w) {
    case FERRY_TX_WAIT_READY:
        return p->ready || p->in_block || p->finalized;
    case FERRY_TX_WAIT_IN_BLOCK:
        return p->in_block || p->finalized;
    case FERRY_TX_WAIT_FINALIZED:
        return p->finalized;
    }
    return false;
}

/* Some nodes (chopsticks) announce "finalized" as soon as a block is built. Confirm against
 * the chain's finalized head: the block must be canonical at its height and the finalized head
 * at or beyond it. */
static ferry_err confirm_finalized(struct ferry_tx_client *c, const uint8_t block[32],
                                   uint32_t number, struct ferry_reason *why)
{
    int64_t end = ferry_deadline_ms(c->opt.timeout_ms);
    for (;;) {
        struct ferry_rpc_error e = {0};
        uint8_t fin[32];
        struct ferry_header h;
        ferry_err err = ferry_rpc_get_finalized_head(c->rpc, fin, &e);
        if (!err)
            err = ferry_rpc_get_header(c->rpc, fin, &h, &e);
        if (err) {
            ferry_reason_rpc(why, err, "confirming finality", &e);
            ferry_rpc_error_clear(&e);
            return err;
        }
        uint32_t fin_n = h.number;
        ferry_header_free(&h);
        if (fin_n >= number) {
            uint8_t canon[32];
            err = ferry_rpc_get_block_hash(c->rpc, number, canon, &e);
            if (err) {
                ferry_reason_rpc(why, err, "chain_getBlockHash", &e);
                ferry_rpc_error_clear(&e);
                return err;
            }
            if (memcmp(canon, block, 32) != 0) {
                return ferry_reason_set(
                    why, FERRY_E_STATE,
                    "block #%u holding the transaction is not on the finalized chain", number);
            }
            return FERRY_OK;
        }
        if (ferry_deadline_passed(end)) {
            return ferry_reason_set(why, FERRY_E_TIMEOUT,
                                    "block #%u was not finalized in time (finalized head #%u)",
                                    number, fin_n);
        }
        ferry_sleep_ms(250);
    }
}

/* Find the extrinsic in the block and its System events. */
static ferry_err read_outcome(struct ferry_tx_client *c, struct ferry_tx_result *res,
                              struct ferry_reason *why)
{
    struct ferry_rpc_error e = {0};
    struct ferry_block b;
    ferry_err err = ferry_rpc_get_block(c->rpc, res->block, &b, &e);
    if (err) {
        ferry_reason_rpc(why, err, "chain_getBlock", &e);
        ferry_rpc_error_clear(&e);
        return err;
    }
    res->number = b.header.number;
    bool found = false;
    for (size_t i = 0; i < b.extrinsics.n && !found; i++) {
        uint8_t h[32];
        ferry_blake2b_256(h, b.extrinsics.items[i].p, b.extrinsics.items[i].len);
        if (memcmp(h, res->hash, 32) == 0) {
            res->index = (uint32_t)i;
            found = true;
        }
    }
    ferry_block_free(&b);
    if (!found) {
        return ferry_reason_set(why, FERRY_E_NOT_FOUND,
                                "block #%u does not contain the transaction", res->number);
    }
    res->included = true;
    cJSON *events = NULL;
    err = ferry_chain_block_events(c->rpc, res->block, &c->events_md, &events, NULL, why);
    if (err)
        return err;
    res->events = cJSON_CreateArray();
    const cJSON *ev;
    const cJSON *outcome = NULL;
    cJSON_ArrayForEach(ev, events)
    {
        const cJSON *ph = cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "phase"), "ApplyExtrinsic");
        if (!cJSON_IsNumber(ph) || (uint32_t)ph->valuedouble != res->index)
            continue;
        cJSON_AddItemToArray(res->events, cJSON_Duplicate(ev, 1));
        const cJSON *pallet = cJSON_GetObjectItem(ev, "pallet");
        const cJSON *name = cJSON_GetObjectItem(ev, "event");
        if (cJSON_IsString(pallet) && !strcmp(pallet->valuestring, "System") &&
            cJSON_IsString(name) &&
            (!strcmp(name->valuestring, "ExtrinsicSuccess") ||
             !strcmp(name->valuestring, "ExtrinsicFailed")))
            outcome = ev;
    }
    if (!outcome) {
        cJSON_Delete(events);
        return ferry_reason_set(
            why, FERRY_E_NOT_FOUND,
            "no ExtrinsicSuccess/ExtrinsicFailed event for extrinsic %u of block #%u", res->index,
            res->number);
    }
    if (!strcmp(cJSON_GetObjectItem(outcome, "event")->valuestring, "ExtrinsicSuccess")) {
        res->success = true;
        cJSON_Delete(events);
        return FERRY_OK;
    }
    /* ExtrinsicFailed(DispatchError, DispatchInfo) or {dispatch_error, dispatch_info} */
    const cJSON *fields = cJSON_GetObjectItem(outcome, "fields");
    const cJSON *de = cJSON_IsArray(fields) ? cJSON_GetArrayItem(fields, 0)
                                            : cJSON_GetObjectItem(fields, "dispatch_error");
    res->error = cJSON_CreateObject();
    const cJSON *mod = cJSON_GetObjectItem(de, "Module");
    if (mod) {
        const cJSON *idx = cJSON_GetObjectItem(mod, "index");
        const cJSON *er = cJSON_GetObjectItem(mod, "error");
        uint8_t raw[4] = {0};
        bool ok = cJSON_IsNumber(idx);
        if (cJSON_IsNumber(er))
            raw[0] = (uint8_t)er->valuedouble;
        else if (cJSON_IsString(er))
            ok = ok && ferry_hex_decode_exact(er->valuestring, raw, 4) == FERRY_OK;
        else
            ok = false;
        const char *pn = NULL, *en = NULL;
        if (ok && c->events_md.md &&
            ferry_md_module_error(c->events_md.md, (uint8_t)idx->valuedouble, raw, &pn, &en) ==
                FERRY_OK) {
            char full[160];
            snprintf(full, sizeof full, "%s.%s", pn, en);
            cJSON_AddStringToObject(res->error, "module", full);
            cJSON_AddStringToObject(res->error, "pallet", pn);
            cJSON_AddStringToObject(res->error, "name", en);
        }
    }
    cJSON_AddItemToObject(res->error, "dispatch_error",
                          de ? cJSON_Duplicate(de, 1) : cJSON_CreateNull());
    cJSON_Delete(events);
    return FERRY_OK;
}

ferry_err ferry_tx_wait(struct ferry_tx_client *c, struct ferry_tx_pending *p,
                        enum ferry_tx_wait wait, struct ferry_tx_result *res,
                        struct ferry_reason *why)
{
    memset(res, 0, sizeof *res);
    memcpy(res->hash, p->hash, 32);
    res->nonce = p->nonce;
    int64_t end = ferry_deadline_ms(c->opt.timeout_ms);
    ferry_err err = FERRY_OK;
    pthread_mutex_lock(&p->mu);
    while (!reached(p, wait) && !p->terminal[0] && !p->ended) {
        if (ferry_cond_wait_until(&p->cv, &p->mu, end) != 0 && !reached(p, wait)) {
            err = FERRY_E_TIMEOUT;
            break;
        }
    }
    bool ok = reached(p, wait);
    if (ok) {
        memcpy(res->block, wait == FERRY_TX_WAIT_FINALIZED ? p->fin_block : p->block, 32);
        res->finalized = p->finalized;
    } else if (p->terminal[0]) {
        err = FERRY_E_STATE;
        ferry_reason_set(why, err, "%s", p->terminal);
    } else if (p->ended) {
        err = p->end_err ? p->end_err : FERRY_E_STATE;
        ferry_reason_set(why, err, "the watch of the transaction ended before it was %s (%s)",
                         wait == FERRY_TX_WAIT_FINALIZED ? "finalized" : "included",
                         ferry_strerror(p->end_err));
    } else {
        ferry_reason_set(why, err, "no %s status within %u ms",
                         wait == FERRY_TX_WAIT_FINALIZED ? "finalized" : "inBlock",
                         c->opt.timeout_ms);
    }
    pthread_mutex_unlock(&p->mu);
    (void)ferry_rpc_unsubscribe(c->rpc, p->sub, 2000);
    pending_free(p);
    if (!ok) {
        c->have_nonce = false; /* what happened to the nonce is unknown: ask the node next time */
        return err;
    }
    if (wait == FERRY_TX_WAIT_READY)
        return FERRY_OK;
    err = read_outcome(c, res, why);
    if (!err && wait == FERRY_TX_WAIT_FINALIZED)
        err = confirm_finalized(c, res->block, res->number, why);
    return err;
}

ferry_err ferry_tx_submit(struct ferry_tx_client *c, const char *dotted, const cJSON *args,
                          enum ferry_tx_wait wait, struct ferry_tx_result *res,
                          struct ferry_reason *why)
{
    memset(res, 0, sizeof *res);
    struct ferry_tx_pending *p;
    ferry_err err = ferry_tx_send(c, dotted, args, &p, why);
    if (err)
        return err;
    return ferry_tx_wait(c, p, wait, res, why);
}
