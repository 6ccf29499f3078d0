/* The light client loop behind `ferry follow` (see follow.h for the trust model).
 *
 * The loop is a single-threaded state machine: each iteration learns the node's finalized
 * height, then verifies and commits at most one batch (relay headers ending in a justified
 * block), then the parachain heads that batch's last block proves. Every error path comes back
 * to the top of the loop, so a reconnect, a lying node or a restart of the node all resume from
 * the last committed block by number. Memory is bounded by one batch.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/follow.h"
#include "ferry/grandpa.h"
#include "ferry/hash.h"
#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/rpc.h"
#include "ferry/store.h"
#include "ferry/trie.h"

#define LOG "follow"
/* Walking back from a justified block never holds more headers than this at once. */
#define MAX_BATCH      65536
#define BACKOFF_MAX_MS 30000

struct follower {
    const struct ferry_follow_config *cfg;
    struct ferry_rpc *rpc;
    struct ferry_rpc *para_rpc;
    size_t rotation;      /* index of the relay URL tried first */
    size_t para_rotation; /* same for the parachain */
    struct ferry_store *store;
    uint8_t genesis[32];
    struct ferry_authority_set set;
    uint32_t verified;
    uint8_t verified_hash[32];
    uint8_t verified_state_root[32];
    uint32_t target;
    bool no_prove_finality; /* the node does not serve grandpa_proveFinality */
    bool has_para;
    uint32_t para_number;
    uint8_t para_hash[32];
    uint64_t sub;
    bool subscribed;
    /* grandpa_subscribeJustifications: the newest justification pushed by the node, kept (not
     * trusted: it is verified like any other) so a node without grandpa_proveFinality can be
     * followed live without waiting for a block that stores one. */
    uint64_t just_sub;
    bool just_subscribed;
    bool just_unsupported;
    uint8_t *live_just;
    size_t live_just_len;
    uint32_t live_just_number;
    uint8_t live_just_hash[32];
    uint32_t para_checked_at; /* relay block whose Paras::Heads was last proven */
    bool para_checked;
    uint32_t backoff_ms;
    unsigned rpc_errors; /* steps in a row that failed with a node error */
    double rate_t0;
    uint32_t rate_n0;
    double rate;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool stopped(const struct follower *f)
{
    return f->cfg->stop && *f->cfg->stop;
}

/* Sleep in short slices so a stop request is honoured within 100 ms. */
static void pause_ms(const struct follower *f, uint32_t ms)
{
    while (ms > 0 && !stopped(f)) {
        uint32_t slice = ms < 100 ? ms : 100;
        struct timespec ts = {0, (long)slice * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

static void hexs(const uint8_t *p, size_t n, char *out)
{
    ferry_hex_encode(p, n, out);
}

/* ---- connections ------------------------------------------------------------------------------
 */

static ferry_err open_client(const struct follower *f, const char *const *urls, size_t n,
                             size_t rotation, struct ferry_rpc **out)
{
    const char *rotated[64];
    if (n > 64)
        n = 64;
    for (size_t i = 0; i < n; i++)
        rotated[i] = urls[(i + rotation) % n];
    struct ferry_rpc_config rc = {0};
    rc.urls = rotated;
    rc.n_urls = n;
    rc.insecure = f->cfg->insecure;
    rc.request_timeout_ms = f->cfg->timeout_ms;
    rc.max_message_bytes = f->cfg->max_message_bytes;
    return ferry_rpc_open(&rc, out);
}

static void close_clients(struct follower *f)
{
    ferry_rpc_close(f->rpc);
    ferry_rpc_close(f->para_rpc);
    f->rpc = NULL;
    f->para_rpc = NULL;
    f->subscribed = false;
    f->just_subscribed = false;
}

static ferry_err connect_clients(struct follower *f)
{
    ferry_err err = FERRY_OK;
    if (!f->rpc)
        err = open_client(f, f->cfg->urls, f->cfg->n_urls, f->rotation, &f->rpc);
    if (!err && f->cfg->n_para_urls && !f->para_rpc)
        err =
            open_client(f, f->cfg->para_urls, f->cfg->n_para_urls, f->para_rotation, &f->para_rpc);
    return err;
}

/* A node gave us something that does not verify: log it, abandon that endpoint for the next
 * URL and slow down. */
static void penalise(struct follower *f, bool para, const char *what)
{
    const char *const *urls = para ? f->cfg->para_urls : f->cfg->urls;
    size_t n = para ? f->cfg->n_para_urls : f->cfg->n_urls;
    size_t *rot = para ? &f->para_rotation : &f->rotation;
    ferry_log_warn(LOG, "%s from %s; switching endpoint and retrying", what, urls[*rot % n]);
    *rot = (*rot + 1) % n;
    close_clients(f);
}

static void backoff(struct follower *f)
{
    f->backoff_ms = f->backoff_ms ? f->backoff_ms * 2 : 250;
    if (f->backoff_ms > BACKOFF_MAX_MS)
        f->backoff_ms = BACKOFF_MAX_MS;
    /* full jitter keeps a fleet from reconnecting in lockstep */
    uint32_t ms = f->backoff_ms / 2 + (uint32_t)(rand() % (int)(f->backoff_ms / 2 + 1));
    pause_ms(f, ms);
}

/* Errors that mean the node answered with something malformed (bad JSON shape, bad hex, a header
 * that does not decode): a broken or lying node, to be abandoned like one that fails
 * verification rather than retried forever. */
static bool is_malformed(ferry_err err)
{
    return err == FERRY_E_JSON || err == FERRY_E_HEX || err == FERRY_E_TRUNCATED ||
           err == FERRY_E_NONCANONICAL || err == FERRY_E_OVERFLOW || err == FERRY_E_INVALID ||
           err == FERRY_E_UTF8 || err == FERRY_E_TRAILING;
}

static const char *rpc_err_text(ferry_err err, const struct ferry_rpc_error *e, char *buf,
                                size_t cap)
{
    if (err == FERRY_E_RPC && e->message)
        snprintf(buf, cap, "%s (code %lld)", e->message, (long long)e->code);
    else
        snprintf(buf, cap, "%s", ferry_strerror(err));
    return buf;
}

/* state_getReadProof(keys, at) as a proof ready for lookups (free with ferry_trie_proof_free).
 * Returns: FERRY_OK, the RPC error (re filled for FERRY_E_RPC), or FERRY_E_NOMEM. */
static ferry_err fetch_proof(struct follower *f, const struct ferry_bytes *keys, size_t n_keys,
                             const uint8_t at[32], struct ferry_trie_proof **proof,
                             struct ferry_rpc_error *re)
{
    struct ferry_bytes_list nodes = {0};
    *proof = NULL;
    ferry_err err = ferry_rpc_get_read_proof(f->rpc, keys, n_keys, at, &nodes, NULL, re);
    if (err)
        return err;
    const uint8_t **entries = calloc(nodes.n ? nodes.n : 1, sizeof *entries);
    size_t *lens = calloc(nodes.n ? nodes.n : 1, sizeof *lens);
    err = entries && lens ? FERRY_OK : FERRY_E_NOMEM;
    for (size_t i = 0; !err && i < nodes.n; i++) {
        entries[i] = nodes.items[i].p;
        lens[i] = nodes.items[i].len;
    }
    if (!err)
        err = ferry_trie_proof_build(entries, lens, nodes.n, proof);
    free(entries);
    free(lens);
    ferry_bytes_list_free(&nodes);
    return err;
}

/* ---- trust root ---------------------------------------------------------------------------------
 */

static ferry_err commit_start(struct follower *f, const struct ferry_header *h)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_authority_set_encode(&f->set, &w);
    ferry_err err = ferry_scale_writer_error(&w);
    if (!err)
        err = ferry_store_begin(f->store);
    if (!err)
        err = ferry_store_put_relay(f->store, h->number, h->hash, h->encoded, h->encoded_len,
                                    f->set.set_id);
    if (!err)
        err = ferry_store_put_authorities(f->store, w.buf, w.len);
    if (!err)
        err = ferry_store_commit(f->store);
    if (err)
        ferry_store_rollback(f->store);
    ferry_scale_writer_free(&w);
    return err;
}

/* Keys whose proof at genesis gives the first authority set. */
static void authority_keys(uint8_t auth[32], uint8_t set_id[32])
{
    ferry_storage_prefix(auth, "Grandpa", "Authorities");
    ferry_storage_prefix(set_id, "Grandpa", "CurrentSetId");
}

static ferry_err init_from_genesis(struct follower *f, char *why, size_t whylen)
{
    struct ferry_header h;
    struct ferry_rpc_error re = {0};
    char msg[256];
    ferry_err err = ferry_rpc_get_header(f->rpc, f->genesis, &h, &re);
    if (is_malformed(err)) {
        snprintf(why, whylen, "the node's genesis header is malformed (%s)", ferry_strerror(err));
        return FERRY_E_VERIFY;
    }
    if (err) {
        ferry_log_warn(LOG, "cannot fetch the genesis header: %s",
                       rpc_err_text(err, &re, msg, sizeof msg));
        ferry_rpc_error_clear(&re);
        return FERRY_E_RETRY;
    }
    if (memcmp(h.hash, f->genesis, 32) != 0 || h.number != 0) {
        snprintf(why, whylen, "the node's genesis header does not hash to its genesis hash");
        ferry_header_free(&h);
        return FERRY_E_VERIFY;
    }
    uint8_t auth_key[32], set_key[32];
    authority_keys(auth_key, set_key);
    static const char legacy[] = ":grandpa_authorities";
    struct ferry_bytes keys[3] = {
        {auth_key, 32}, {(uint8_t *)legacy, sizeof legacy - 1}, {set_key, 32}};
    struct ferry_trie_proof *proof;
    err = fetch_proof(f, keys, 3, f->genesis, &proof, &re);
    if (err && err != FERRY_E_NOMEM) {
        ferry_log_warn(LOG, "cannot fetch the genesis authority proof: %s",
                       rpc_err_text(err, &re, msg, sizeof msg));
        ferry_rpc_error_clear(&re);
        ferry_header_free(&h);
        return FERRY_E_RETRY;
    }
    const char *reason = NULL;
    if (!err)
        err = ferry_authority_set_from_proof(&f->set, proof, h.state_root, 0, h.hash, &reason);
    ferry_trie_proof_free(proof);
    if (err) {
        snprintf(why, whylen, "genesis authority set not proven: %s",
                 reason ? reason : ferry_strerror(err));
        ferry_header_free(&h);
        return err == FERRY_E_NOMEM ? err : FERRY_E_VERIFY;
    }
    err = commit_start(f, &h);
    if (!err) {
        f->verified = 0;
        memcpy(f->verified_hash, h.hash, 32);
        memcpy(f->verified_state_root, h.state_root, 32);
        ferry_log_info(LOG, "trust root: genesis, set_id %llu with %zu authorities",
                       (unsigned long long)f->set.set_id, f->set.n_authorities);
        if (f->cfg->on_relay)
            f->cfg->on_relay(f->cfg->user, &h, f->set.set_id);
    }
    ferry_header_free(&h);
    return err;
}

static ferry_err load_checkpoint(struct follower *f, char *why, size_t whylen)
{
    FILE *fp = fopen(f->cfg->checkpoint_path, "rb");
    if (!fp) {
        snprintf(why, whylen, "cannot read checkpoint %s: %s", f->cfg->checkpoint_path,
                 strerror(errno));
        return FERRY_E_IO;
    }
    /* A checkpoint of even a 1000-voter set is ~100 KB; anything past 16 MiB is not one. */
    enum { MAX_CHECKPOINT = 16 << 20 };
    char *text = NULL;
    size_t cap = 0, len = 0;
    bool oom = false;
    for (;;) {
        if (cap - len < 4096) {
            char *nt = cap < MAX_CHECKPOINT ? realloc(text, cap + 65536) : NULL;
            if (!nt) {
                oom = cap < MAX_CHECKPOINT;
                break;
            }
            text = nt;
            cap += 65536;
        }
        size_t got = fread(text + len, 1, cap - len - 1, fp);
        len += got;
        if (!got)
            break;
    }
    bool too_big = !oom && text && !feof(fp);
    fclose(fp);
    if (oom || !text || too_big) {
        free(text);
        snprintf(why, whylen,
                 too_big ? "checkpoint %s is larger than 16 MiB: not a checkpoint"
                         : "out of memory reading checkpoint %s",
                 f->cfg->checkpoint_path);
        return too_big ? FERRY_E_INVALID : FERRY_E_NOMEM;
    }
    text[len] = 0;
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "genesis_hash");
    const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(j, "header");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "authority_set");
    uint8_t genesis[32];
    uint8_t *hb = NULL, *sb = NULL;
    size_t hl = 0, sl = 0;
    ferry_err err = FERRY_OK;
    if (!cJSON_IsString(g) || !cJSON_IsString(hdr) || !cJSON_IsString(st) ||
        ferry_hex_decode_exact(g->valuestring, genesis, 32) ||
        ferry_hex_decode(hdr->valuestring, strlen(hdr->valuestring), &hb, &hl) ||
        ferry_hex_decode(st->valuestring, strlen(st->valuestring), &sb, &sl)) {
        snprintf(why, whylen,
                 "checkpoint %s is not a ferry checkpoint (genesis_hash, header, "
                 "authority_set)",
                 f->cfg->checkpoint_path);
        err = FERRY_E_INVALID;
    }
    cJSON_Delete(j);
    struct ferry_header h = {0};
    if (!err && memcmp(genesis, f->genesis, 32) != 0) {
        snprintf(why, whylen, "checkpoint %s is for another chain (genesis differs)",
                 f->cfg->checkpoint_path);
        err = FERRY_E_STATE;
    }
    if (!err && (ferry_header_decode(&h, hb, hl, NULL) ||
                 ferry_authority_set_decode(&f->set, sb, sl, NULL) ||
                 memcmp(f->set.hash, h.hash, 32) != 0)) {
        snprintf(why, whylen,
                 "checkpoint %s: header or authority set is malformed or they do "
                 "not match",
                 f->cfg->checkpoint_path);
        err = FERRY_E_INVALID;
    }
    free(hb);
    free(sb);
    if (!err)
        err = commit_start(f, &h);
    if (!err) {
        f->verified = h.number;
        memcpy(f->verified_hash, h.hash, 32);
        memcpy(f->verified_state_root, h.state_root, 32);
        ferry_log_info(LOG, "trust root: checkpoint #%u, set_id %llu", h.number,
                       (unsigned long long)f->set.set_id);
    }
    ferry_header_free(&h);
    return err;
}

/* Resume from the store, or establish the trust root. */
static ferry_err load_state(struct follower *f, char *why, size_t whylen)
{
    ferry_err err = ferry_store_bind_genesis(f->store, f->genesis);
    if (err == FERRY_E_STATE) {
        char g[67];
        hexs(f->genesis, 32, g);
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
    err = ferry_authority_set_decode(&f->set, state, len, NULL);
    free(state);
    uint8_t *hdr = NULL;
    size_t hl = 0;
    struct ferry_header h = {0};
    if (!err)
        err = ferry_store_last_relay(f->store, &f->verified, f->verified_hash, &hdr, &hl, NULL);
    if (!err)
        err = ferry_header_decode(&h, hdr, hl, NULL);
    free(hdr);
    if (!err && (f->set.number != f->verified || memcmp(f->set.hash, f->verified_hash, 32))) {
        err = FERRY_E_STATE;
    }
    if (err) {
        snprintf(why, whylen, "store %s is inconsistent (%s); move it aside to start again",
                 f->cfg->db_path, ferry_strerror(err));
        ferry_header_free(&h);
        return FERRY_E_IO;
    }
    memcpy(f->verified_state_root, h.state_root, 32);
    ferry_header_free(&h);
    if (f->cfg->n_para_urls && ferry_store_last_para(f->store, f->cfg->para_id, &f->para_number,
                                                     f->para_hash, NULL, NULL) == FERRY_OK)
        f->has_para = true;
    ferry_log_info(LOG, "resuming at #%u (set_id %llu)%s", f->verified,
                   (unsigned long long)f->set.set_id, f->has_para ? ", para known" : "");
    return FERRY_OK;
}

/* ---- relay batches ------------------------------------------------------------------------- */

struct batch {
    struct ferry_header *headers; /* ascending, verified+1 .. target */
    size_t n;
    uint8_t *justification;
    size_t justification_len;
};

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        ferry_header_free(&b->headers[i]);
    free(b->headers);
    free(b->justification);
    memset(b, 0, sizeof *b);
}

/* Collect the headers from verified+1 up to the block (top_hash, top_number) by walking back by
 * parent hash, taking them from `known` where present and asking the node otherwise. */
static ferry_err collect_back(struct follower *f, const uint8_t top_hash[32], uint32_t top_number,
                              struct ferry_header *known, size_t n_known, struct batch *b)
{
    if (top_number <= f->verified || top_number - f->verified > MAX_BATCH)
        return FERRY_E_INVALID;
    size_t n = top_number - f->verified;
    b->headers = calloc(n, sizeof *b->headers);
    if (!b->headers)
        return FERRY_E_NOMEM;
    b->n = n;
    uint8_t want[32];
    memcpy(want, top_hash, 32);
    /* `known` (unknown_headers) is normally ascending and ends at the top, so the entry below
     * the last one taken is tried first: the walk stays linear for a 10 000-header batch
     * instead of scanning `known` once per header (which was ~45% of catch-up CPU). */
    size_t hint = n_known;
    for (size_t k = n; k-- > 0;) {
        if (stopped(f))
            return FERRY_E_RETRY; /* a walk can take 65 536 round trips: honour a stop */
        struct ferry_header *slot = &b->headers[k];
        size_t i = n_known;
        if (hint > 0 && known[hint - 1].encoded && memcmp(known[hint - 1].hash, want, 32) == 0)
            i = hint - 1;
        else
            for (i = 0; i < n_known; i++)
                if (known[i].encoded && memcmp(known[i].hash, want, 32) == 0)
                    break;
        if (i < n_known) {
            *slot = known[i]; /* take ownership */
            memset(&known[i], 0, sizeof known[i]);
            hint = i;
        } else {
            struct ferry_rpc_error re = {0};
            ferry_err err = ferry_rpc_get_header(f->rpc, want, slot, &re);
            ferry_rpc_error_clear(&re);
            if (err)
                return err == FERRY_E_NOT_FOUND ? FERRY_E_INVALID : err;
            if (memcmp(slot->hash, want, 32) != 0)
                return FERRY_E_INVALID; /* the node answered with another header */
        }
        if (slot->number != f->verified + 1 + k)
            return FERRY_E_INVALID;
        memcpy(want, slot->parent_hash, 32);
    }
    /* The bottom of the walk must be the child of the last verified block. */
    return memcmp(want, f->verified_hash, 32) == 0 ? FERRY_OK : FERRY_E_INVALID;
}

/* Batch from grandpa_proveFinality(verified + 1). FERRY_E_UNSUPPORTED: use the fallback. */
static ferry_err batch_from_prove_finality(struct follower *f, struct batch *b)
{
    uint8_t *raw;
    size_t len;
    struct ferry_rpc_error re = {0};
    ferry_err err = ferry_rpc_prove_finality(f->rpc, f->verified + 1, &raw, &len, &re);
    if (err == FERRY_E_RPC && re.code == -32601) {
        /* Method not found: this node never serves it; stop asking. */
        char msg[256];
        ferry_log_warn(LOG,
                       "node does not serve grandpa_proveFinality (%s); falling back to "
                       "chain_getBlock justifications",
                       rpc_err_text(err, &re, msg, sizeof msg));
        f->no_prove_finality = true;
    } else if (err == FERRY_E_RPC) {
        /* e.g. "not covered by authority set changes": blocks of the current set that no set
         * change covers yet; the stored justification of a later block serves instead. */
        char msg[256];
        ferry_log_debug(LOG, "grandpa_proveFinality(%u): %s; using chain_getBlock", f->verified + 1,
                        rpc_err_text(err, &re, msg, sizeof msg));
    }
    ferry_rpc_error_clear(&re);
    if (err == FERRY_E_RPC || err == FERRY_E_NOT_FOUND)
        return FERRY_E_UNSUPPORTED;
    if (err)
        return err;
    struct ferry_grandpa_finality_proof fp;
    err = ferry_grandpa_finality_proof_decode(&fp, raw, len, NULL);
    free(raw);
    if (err)
        return FERRY_E_INVALID;
    struct ferry_grandpa_justification j;
    err = ferry_grandpa_justification_decode(&j, fp.justification, fp.justification_len, NULL);
    if (!err) {
        err = collect_back(f, j.target_hash, j.target_number, fp.unknown_headers,
                           fp.n_unknown_headers, b);
        ferry_grandpa_justification_free(&j);
    } else {
        err = FERRY_E_INVALID;
    }
    if (!err) {
        b->justification = fp.justification;
        b->justification_len = fp.justification_len;
        fp.justification = NULL;
    }
    ferry_grandpa_finality_proof_free(&fp);
    return err;
}

/* Returns: the GRANDPA justification stored with block `hash`, or FERRY_E_NOT_FOUND. */
static ferry_err block_justification(struct follower *f, const uint8_t hash[32], uint8_t **out,
                                     size_t *len)
{
    struct ferry_block blk;
    struct ferry_rpc_error re = {0};
    ferry_err err = ferry_rpc_get_block(f->rpc, hash, &blk, &re);
    ferry_rpc_error_clear(&re);
    if (err)
        return err;
    err = FERRY_E_NOT_FOUND;
    for (size_t i = 0; i < blk.n_justifications; i++) {
        if (memcmp(blk.justifications[i].engine, "FRNK", 4) == 0) {
            *out = blk.justifications[i].data.p;
            *len = blk.justifications[i].data.len;
            blk.justifications[i].data.p = NULL;
            err = FERRY_OK;
            break;
        }
    }
    ferry_block_free(&blk);
    return err;
}

/* Fallback without grandpa_proveFinality: walk back from the finalized head to verified+1, then
 * end the batch at the first block that enacts an authority-set change (its justification is
 * always stored) or, when none, at the finalized head, with the justification stored there. */
static ferry_err batch_from_blocks(struct follower *f, struct batch *b)
{
    uint8_t head[32];
    struct ferry_rpc_error re = {0};
    ferry_err err = ferry_rpc_get_finalized_head(f->rpc, head, &re);
    ferry_rpc_error_clear(&re);
    if (err)
        return err;
    struct ferry_header top;
    err = ferry_rpc_get_header(f->rpc, head, &top, &re);
    ferry_rpc_error_clear(&re);
    if (err)
        return err;
    uint32_t top_number = top.number;
    bool same = memcmp(top.hash, head, 32) == 0;
    ferry_header_free(&top);
    if (!same)
        return FERRY_E_INVALID; /* the node answered with another header */
    /* A pushed justification for a block between the last verified one and the head ends the
     * batch there (it is checked against the headers and the set like any other). */
    bool use_live =
        f->live_just && f->live_just_number > f->verified && f->live_just_number <= top_number;
    if (use_live) {
        memcpy(head, f->live_just_hash, 32);
        top_number = f->live_just_number;
    }
    ferry_log_debug(LOG, "fallback: finalized #%u, pushed justification %s#%u", top_number,
                    use_live       ? "used, "
                    : f->live_just ? "not usable, "
                                   : "none, ",
                    f->live_just ? f->live_just_number : 0);
    if (top_number <= f->verified)
        return FERRY_E_RETRY;
    if (top_number - f->verified > MAX_BATCH) {
        ferry_log_error(LOG,
                        "without grandpa_proveFinality ferry can bridge at most %d blocks at "
                        "once; %u are missing. Use a node that serves it, or a newer checkpoint",
                        MAX_BATCH, top_number - f->verified);
        return FERRY_E_UNSUPPORTED;
    }
    err = collect_back(f, head, top_number, NULL, 0, b);
    if (err)
        return err;
    /* Find the first header that enacts a change, applying headers to a scratch copy. */
    struct ferry_authority_set scratch;
    size_t end = b->n - 1;
    if (ferry_authority_set_copy(&scratch, &f->set))
        return FERRY_E_NOMEM;
    for (size_t i = 0; i < b->n; i++) {
        struct ferry_authority_set_event ev = {0};
        if (ferry_authority_set_apply_header(&scratch, &b->headers[i], &ev, NULL))
            break; /* verification proper will report it */
        if (ev.enacted) {
            end = i;
            break;
        }
    }
    ferry_authority_set_free(&scratch);
    bool whole = end + 1 == b->n;
    for (size_t i = end + 1; i < b->n; i++)
        ferry_header_free(&b->headers[i]);
    b->n = end + 1;
    if (use_live && whole) {
        b->justification = f->live_just;
        b->justification_len = f->live_just_len;
        f->live_just = NULL;
        return FERRY_OK;
    }
    return block_justification(f, b->headers[end].hash, &b->justification, &b->justification_len);
}

/* Verify a batch against the tracked set; on success commit it and advance. */
static ferry_err verify_and_commit(struct follower *f, struct batch *b, char *why, size_t whylen)
{
    const struct ferry_header *last = &b->headers[b->n - 1];
    struct ferry_voter_set vs;
    if (ferry_authority_set_voters(&f->set, &vs))
        return FERRY_E_NOMEM;
    struct ferry_grandpa_verify_opts opts = {0};
    opts.threads = f->cfg->threads;
    opts.flags = FERRY_GRANDPA_CHECK_TARGET;
    memcpy(opts.expected_hash, last->hash, 32);
    opts.expected_number = last->number;
    struct ferry_grandpa_verdict v;
    ferry_err err = ferry_grandpa_verify_encoded(b->justification, b->justification_len, &vs,
                                                 f->set.set_id, &opts, &v, NULL, NULL);
    ferry_voter_set_free(&vs);
    if (err) {
        snprintf(why, whylen, "justification for #%u rejected (set_id %llu): %s: %s", last->number,
                 (unsigned long long)f->set.set_id, ferry_grandpa_reason_name(v.reason), v.detail);
        return err == FERRY_E_NOMEM ? err : FERRY_E_VERIFY;
    }
    /* Apply the batch's digests to a copy; only the last block may enact a change. */
    struct ferry_authority_set next;
    if (ferry_authority_set_copy(&next, &f->set))
        return FERRY_E_NOMEM;
    for (size_t i = 0; i < b->n; i++) {
        struct ferry_authority_set_event ev = {0};
        const char *reason = NULL;
        err = ferry_authority_set_apply_header(&next, &b->headers[i], &ev, &reason);
        if (!err && ev.enacted && i + 1 < b->n) {
            reason = "an authority-set change is enacted inside the batch, not at its end";
            err = FERRY_E_STATE;
        }
        if (err) {
            snprintf(why, whylen, "header #%u: %s", b->headers[i].number,
                     reason ? reason : ferry_strerror(err));
            ferry_authority_set_free(&next);
            return err == FERRY_E_NOMEM ? err : FERRY_E_VERIFY;
        }
        if (ev.enacted)
            ferry_log_info(LOG, "authority set %llu enacted at #%u (%zu authorities)",
                           (unsigned long long)next.set_id, b->headers[i].number,
                           next.n_authorities);
    }
    uint64_t signed_by = f->set.set_id;
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_authority_set_encode(&next, &w);
    err = ferry_scale_writer_error(&w);
    if (!err)
        err = ferry_store_begin(f->store);
    for (size_t i = 0; !err && i < b->n; i++)
        err = ferry_store_put_relay(f->store, b->headers[i].number, b->headers[i].hash,
                                    b->headers[i].encoded, b->headers[i].encoded_len, signed_by);
    if (!err)
        err = ferry_store_put_authorities(f->store, w.buf, w.len);
    if (!err)
        err = ferry_store_commit(f->store);
    ferry_scale_writer_free(&w);
    if (err) {
        ferry_store_rollback(f->store);
        ferry_authority_set_free(&next);
        snprintf(why, whylen, "store %s: cannot commit verified headers", f->cfg->db_path);
        return FERRY_E_IO;
    }
    if (f->cfg->keep_headers && last->number > f->cfg->keep_headers &&
        ferry_store_prune_relay(f->store, last->number - f->cfg->keep_headers + 1))
        ferry_log_warn(LOG, "store %s: cannot prune old headers", f->cfg->db_path);
    ferry_authority_set_free(&f->set);
    f->set = next;
    f->verified = last->number;
    memcpy(f->verified_hash, last->hash, 32);
    memcpy(f->verified_state_root, last->state_root, 32);
    if (f->cfg->on_relay)
        for (size_t i = 0; i < b->n; i++)
            f->cfg->on_relay(f->cfg->user, &b->headers[i], signed_by);
    return FERRY_OK;
}

/* ---- parachain ------------------------------------------------------------------------------- */

/* Prove the para head at the last verified relay block and report the para headers up to it. */
static ferry_err para_step(struct follower *f, char *why, size_t whylen)
{
    uint8_t key[FERRY_PARAS_HEADS_KEY_LEN];
    ferry_paras_heads_key(f->cfg->para_id, key);
    struct ferry_bytes k = {key, sizeof key};
    struct ferry_rpc_error re = {0};
    struct ferry_trie_proof *proof;
    ferry_err err = fetch_proof(f, &k, 1, f->verified_hash, &proof, &re);
    ferry_rpc_error_clear(&re);
    if (err)
        return err;
    struct ferry_header head;
    const char *reason = NULL;
    err = ferry_para_head_verify(proof, f->verified_state_root, f->cfg->para_id, &head, &reason);
    ferry_trie_proof_free(proof);
    if (err == FERRY_E_NOT_FOUND)
        return FERRY_OK; /* para not registered (yet) at this block */
    if (err) {
        snprintf(why, whylen, "Paras::Heads(%u) at relay #%u not proven: %s", f->cfg->para_id,
                 f->verified, reason ? reason : ferry_strerror(err));
        return err == FERRY_E_NOMEM ? err : FERRY_E_VERIFY;
    }
    if (f->has_para && head.number <= f->para_number) {
        /* The relay chain itself (proven) says the para head is at or below what was reported:
         * nothing new, or a para head that went back, which ferry cannot un-report. Say so. */
        if (head.number < f->para_number ||
            (head.number == f->para_number && memcmp(head.hash, f->para_hash, 32) != 0))
            ferry_log_warn(LOG,
                           "Paras::Heads(%u) at relay #%u is para #%u, not the verified para #%u; "
                           "waiting for it to pass",
                           f->cfg->para_id, f->verified, head.number, f->para_number);
        ferry_header_free(&head);
        return FERRY_OK;
    }
    /* Walk back on the parachain from the proven head to the last verified para block. */
    uint32_t from = f->has_para ? f->para_number + 1 : head.number;
    size_t n = head.number - from + 1;
    if (n > MAX_BATCH) {
        ferry_log_warn(LOG, "para head jumped %zu blocks; reporting the proven head only", n);
        from = head.number;
        n = 1;
        f->has_para = false;
    }
    struct ferry_header *chain = calloc(n, sizeof *chain);
    if (!chain) {
        ferry_header_free(&head);
        return FERRY_E_NOMEM;
    }
    chain[n - 1] = head;
    for (size_t i = n - 1; !err && i-- > 0;) {
        if (stopped(f)) {
            err = FERRY_E_RETRY;
            break;
        }
        err = ferry_rpc_get_header(f->para_rpc, chain[i + 1].parent_hash, &chain[i], &re);
        ferry_rpc_error_clear(&re);
    }
    if (is_malformed(err)) {
        snprintf(why, whylen, "para node answered a malformed header below #%u: %s", head.number,
                 ferry_strerror(err));
        err = FERRY_E_VERIFY;
    } else if (!err && f->has_para)
        err = ferry_para_chain_verify(f->para_hash, f->para_number, chain, n, head.hash, NULL,
                                      &reason);
    else if (err == FERRY_E_NOT_FOUND)
        err = FERRY_E_VERIFY;
    if (err == FERRY_E_VERIFY || err == FERRY_E_INVALID || err == FERRY_E_STATE)
        snprintf(why, whylen, "para headers below the proven head #%u do not link: %s",
                 chain[n - 1].number, reason ? reason : ferry_strerror(err));
    if (!err)
        err = ferry_store_begin(f->store);
    for (size_t i = 0; !err && i < n; i++)
        err = ferry_store_put_para(f->store, f->cfg->para_id, chain[i].number, chain[i].hash,
                                   chain[i].encoded, chain[i].encoded_len,
                                   i + 1 == n ? f->verified : 0);
    if (!err && (err = ferry_store_commit(f->store)) != FERRY_OK)
        ferry_store_rollback(f->store);
    if (err == FERRY_E_IO)
        snprintf(why, whylen, "store %s: cannot commit verified para headers", f->cfg->db_path);
    if (!err) {
        f->has_para = true;
        f->para_number = chain[n - 1].number;
        memcpy(f->para_hash, chain[n - 1].hash, 32);
        if (f->cfg->on_para)
            for (size_t i = 0; i < n; i++)
                f->cfg->on_para(f->cfg->user, f->cfg->para_id, &chain[i]);
    } else {
        ferry_store_rollback(f->store);
    }
    for (size_t i = 0; i < n; i++)
        ferry_header_free(&chain[i]);
    free(chain);
    return err == FERRY_E_INVALID || err == FERRY_E_STATE ? FERRY_E_VERIFY : err;
}

/* ---- the loop ---------------------------------------------------------------------------------
 */

static void report_progress(struct follower *f)
{
    double t = now_s();
    if (f->rate_t0 == 0 || t - f->rate_t0 > 5) {
        if (f->rate_t0 != 0 && f->verified >= f->rate_n0)
            f->rate = (f->verified - f->rate_n0) / (t - f->rate_t0);
        f->rate_t0 = t;
        f->rate_n0 = f->verified;
    }
    if (!f->cfg->on_progress)
        return;
    struct ferry_follow_progress p = {f->verified, f->target,   f->set.set_id,
                                      f->rate,     f->has_para, f->para_number};
    f->cfg->on_progress(f->cfg->user, &p);
}

/* Learn the node's finalized height. A header that does not hash to the finalized head is a lie
 * (a made-up height would otherwise steer the loop): FERRY_E_VERIFY with why set. */
static ferry_err refresh_target(struct follower *f, char *why, size_t whylen)
{
    uint8_t head[32];
    struct ferry_rpc_error re = {0};
    ferry_err err = ferry_rpc_get_finalized_head(f->rpc, head, &re);
    struct ferry_header h;
    if (!err)
        err = ferry_rpc_get_header(f->rpc, head, &h, &re);
    ferry_rpc_error_clear(&re);
    if (err)
        return err;
    bool same = memcmp(h.hash, head, 32) == 0;
    uint32_t number = h.number;
    ferry_header_free(&h);
    if (!same) {
        char hx[67];
        hexs(head, 32, hx);
        snprintf(why, whylen, "chain_getHeader(%s) (the finalized head) answered another header",
                 hx);
        return FERRY_E_VERIFY;
    }
    f->target = number;
    return FERRY_OK;
}

/* Wait for the next finalized-head notification (or a timeout, which polls). */
/* Keep a justification pushed by grandpa_subscribeJustifications if it is newer than what is
 * kept and beyond the verified height; its target is read from the (hostile) bytes, which only
 * decides where a batch ends: verification proper happens later. */
static void keep_live_justification(struct follower *f, const cJSON *result)
{
    uint8_t *bytes;
    size_t len;
    if (!cJSON_IsString(result) ||
        ferry_hex_decode(result->valuestring, strlen(result->valuestring), &bytes, &len))
        return;
    struct ferry_grandpa_justification j;
    if (ferry_grandpa_justification_decode(&j, bytes, len, NULL)) {
        free(bytes);
        return;
    }
    if (j.target_number > f->verified && (!f->live_just || j.target_number > f->live_just_number)) {
        free(f->live_just);
        f->live_just = bytes;
        f->live_just_len = len;
        f->live_just_number = j.target_number;
        memcpy(f->live_just_hash, j.target_hash, 32);
        bytes = NULL;
    }
    ferry_grandpa_justification_free(&j);
    free(bytes);
}

static void subscribe_live(struct follower *f)
{
    struct ferry_rpc_error re = {0};
    if (!f->subscribed &&
        ferry_rpc_subscribe_finalized_heads(f->rpc, NULL, NULL, &f->sub, &re) == FERRY_OK)
        f->subscribed = true;
    ferry_rpc_error_clear(&re);
    /* Only worth it where grandpa_proveFinality is missing; asked once per connection. */
    if (f->no_prove_finality && !f->just_subscribed && !f->just_unsupported) {
        ferry_err err = ferry_rpc_subscribe(
            f->rpc, "grandpa_subscribeJustifications", "[]", "grandpa_unsubscribeJustifications", 0,
            NULL, NULL, f->cfg->timeout_ms ? f->cfg->timeout_ms : 30000, &f->just_sub, &re);
        if (!err)
            f->just_subscribed = true;
        else if (err == FERRY_E_RPC && re.code == -32601)
            f->just_unsupported = true;
        if (err)
            ferry_log_debug(LOG, "grandpa_subscribeJustifications: %s",
                            re.message ? re.message : ferry_strerror(err));
        ferry_rpc_error_clear(&re);
    }
}

/* Wait up to timeout_ms for an event, then drain what is queued (at most 64): finalized-head
 * notifications only wake the loop; pushed justifications are kept. */
static bool live_usable(const struct follower *f)
{
    return f->live_just && f->live_just_number > f->verified;
}

/* With want_justification, keep waiting (until timeout_ms in all) for a usable pushed
 * justification instead of returning after the first event. */
static void poll_events(struct follower *f, uint32_t timeout_ms, bool want_justification)
{
    double deadline = now_s() + timeout_ms / 1000.0;
    for (int i = 0; i < 256 && !stopped(f); i++) {
        if (want_justification && live_usable(f))
            break;
        double left = deadline - now_s();
        uint32_t wait = i == 0 || want_justification ? (left > 0 ? (uint32_t)(left * 1000) : 0) : 0;
        struct ferry_rpc_event ev;
        if (ferry_rpc_next_event(f->rpc, wait, &ev) != FERRY_OK)
            break;
        if (ev.kind == FERRY_RPC_EV_SUB_ENDED && ev.sub == f->sub)
            f->subscribed = false;
        if (ev.kind == FERRY_RPC_EV_SUB_ENDED && ev.sub == f->just_sub)
            f->just_subscribed = false;
        if (ev.kind == FERRY_RPC_EV_NOTIFICATION && f->just_subscribed && ev.sub == f->just_sub)
            keep_live_justification(f, ev.result);
        ferry_rpc_event_clear(&ev);
    }
}

static void wait_for_news(struct follower *f)
{
    subscribe_live(f);
    if (!f->subscribed) {
        pause_ms(f, 1000);
        return;
    }
    poll_events(f, 2000, false);
}

static bool is_network(ferry_err err)
{
    return err == FERRY_E_NET || err == FERRY_E_TIMEOUT || err == FERRY_E_RETRY ||
           err == FERRY_E_RPC || err == FERRY_E_STATE || err == FERRY_E_TOO_LARGE;
}

/* One relay step: one batch (and the para heads it proves). */
static ferry_err relay_step(struct follower *f, char *why, size_t whylen)
{
    struct batch b = {0};
    ferry_err err = FERRY_E_UNSUPPORTED;
    if (!f->no_prove_finality)
        err = batch_from_prove_finality(f, &b);
    if (err == FERRY_E_UNSUPPORTED) {
        batch_free(&b);
        /* Without proofs, a justification the node pushes may be the only one to be had: a
         * real node stores one only every few hundred blocks and at set changes. */
        if (f->no_prove_finality) {
            subscribe_live(f);
            poll_events(f, f->just_subscribed ? 3000 : 0, true);
        }
        err = batch_from_blocks(f, &b);
    }
    if (err == FERRY_E_INVALID || err == FERRY_E_NOT_FOUND) {
        snprintf(why, whylen,
                 "headers or justification for #%u onwards are malformed, missing "
                 "or do not link to #%u",
                 f->verified + 1, f->verified);
        err = FERRY_E_VERIFY;
    }
    if (!err)
        err = verify_and_commit(f, &b, why, whylen);
    batch_free(&b);
    return err;
}

ferry_err ferry_follow_run(const struct ferry_follow_config *cfg, char *why, size_t whylen)
{
    if (!cfg->n_urls) {
        snprintf(why, whylen, "no relay URL given");
        return FERRY_E_ARG;
    }
    struct follower f;
    memset(&f, 0, sizeof f);
    f.cfg = cfg;
    srand((unsigned)time(NULL) ^ (unsigned)(uintptr_t)&f);
    ferry_err err = ferry_store_open(cfg->db_path, &f.store, why, whylen);
    if (err)
        return err;
    bool initialised = false;
    char step_why[512];
    while (!stopped(&f)) {
        step_why[0] = 0;
        err = connect_clients(&f);
        if (err) {
            snprintf(why, whylen, "cannot create the RPC client: %s", ferry_strerror(err));
            break;
        }
        if (!initialised) {
            struct ferry_rpc_error re = {0};
            if (whylen)
                why[0] = 0;
            err = ferry_rpc_get_block_hash(f.rpc, 0, f.genesis, &re);
            ferry_rpc_error_clear(&re);
            /* Only the node's answer is worth waiting for: everything load_state returns
             * except FERRY_E_RETRY is final (FERRY_E_STATE there means another chain's store or
             * checkpoint, not a client that is closing). */
            bool node_failed = err != FERRY_OK;
            if (!err)
                err = load_state(&f, why, whylen);
            if (!err) {
                initialised = true;
                f.backoff_ms = 0;
                f.rpc_errors = 0;
                continue;
            }
            if ((err == FERRY_E_VERIFY || (node_failed && is_malformed(err))) && cfg->n_urls > 1) {
                /* This node's trust root is a lie; another URL may tell the truth. */
                penalise(&f, false, why[0] ? why : ferry_strerror(err));
                backoff(&f);
                continue;
            }
            if (node_failed ? !is_network(err) && !is_malformed(err) : err != FERRY_E_RETRY) {
                if (!why[0])
                    snprintf(why, whylen, "cannot read the genesis hash: %s", ferry_strerror(err));
                break; /* a bad store, checkpoint or trust root needs the operator */
            }
            char last[256];
            ferry_log_warn(LOG, "waiting for the node: %s (%s)", ferry_strerror(err),
                           ferry_rpc_last_error(f.rpc, last, sizeof last));
            backoff(&f);
            err = FERRY_OK;
            continue;
        }
        if (cfg->has_until && f.verified >= cfg->until)
            break;
        /* The node's finalized height is only re-read once ferry has caught up with the last
         * one seen: during catch-up that saves two round trips per batch. */
        if (f.verified >= f.target)
            err = refresh_target(&f, step_why, sizeof step_why);
        bool at_tip = !err && f.verified >= f.target;
        if (!err && !at_tip) {
            err = relay_step(&f, step_why, sizeof step_why);
            /* Report (and so flush) the batch before the para step's round trips: a kill in
             * between must not lose printed lines of blocks that are already committed. */
            if (!err)
                report_progress(&f);
        }
        /* The para head is proven at every relay block a step ends on, once. */
        if (!err && cfg->n_para_urls && (!f.para_checked || f.para_checked_at != f.verified)) {
            err = para_step(&f, step_why, sizeof step_why);
            if (!err) {
                f.para_checked = true;
                f.para_checked_at = f.verified;
            }
        }
        if (!err && at_tip) {
            f.backoff_ms = 0;
            f.rpc_errors = 0;
            report_progress(&f);
            wait_for_news(&f);
            continue;
        }
        if (!err) {
            f.backoff_ms = 0;
            f.rpc_errors = 0;
            report_progress(&f);
            continue;
        }
        if (stopped(&f)) {
            err = FERRY_OK; /* a step cut short by a stop request is not a failure */
            break;
        }
        if (err == FERRY_E_IO || err == FERRY_E_NOMEM) {
            snprintf(why, whylen, "%s", step_why[0] ? step_why : ferry_strerror(err));
            break;
        }
        if (is_malformed(err)) {
            /* para_step labels its own; what is left came from the relay node */
            if (!step_why[0])
                snprintf(step_why, sizeof step_why, "malformed answer at #%u: %s", f.verified + 1,
                         ferry_strerror(err));
            err = FERRY_E_VERIFY;
        }
        /* The RPC client rotates URLs on connection trouble by itself; a node that stays up
         * but keeps answering with errors (a pruned node: "State already discarded") is left
         * for the next URL after a few steps in a row. */
        f.rpc_errors = err == FERRY_E_RPC ? f.rpc_errors + 1 : 0;
        if (err == FERRY_E_VERIFY) {
            penalise(&f, strncmp(step_why, "para", 4) == 0, step_why);
        } else if (err == FERRY_E_RPC && f.rpc_errors >= 3 && cfg->n_urls > 1) {
            char what[600];
            snprintf(what, sizeof what, "%u errors in a row (%s)", f.rpc_errors,
                     step_why[0] ? step_why : ferry_strerror(err));
            f.rpc_errors = 0;
            penalise(&f, false, what);
        } else {
            ferry_log_warn(LOG, "step at #%u failed: %s%s%s; retrying", f.verified + 1,
                           ferry_strerror(err), step_why[0] ? ": " : "", step_why);
        }
        err = FERRY_OK;
        backoff(&f);
    }
    close_clients(&f);
    ferry_authority_set_free(&f.set);
    free(f.live_just);
    ferry_store_close(f.store);
    return err;
}

/* ---- checkpoints -------------------------------------------------------------------------------
 */

ferry_err ferry_follow_export_checkpoint(const char *db_path, const char *out_path, char *why,
                                         size_t whylen)
{
    struct ferry_store *s;
    ferry_err err = ferry_store_open(db_path, &s, why, whylen);
    if (err)
        return err;
    uint8_t *genesis = NULL, *hdr = NULL, *state = NULL;
    size_t gl = 0, hl = 0, sl = 0;
    uint32_t number = 0;
    uint8_t hash[32];
    uint64_t set_id = 0;
    /* One read transaction: a ferry following on this store commits header and authority set
     * together, and the export must not take the header of one commit and the set of the next
     * (such a checkpoint would be refused when loaded). */
    err = ferry_store_begin_read(s);
    if (!err)
        err = ferry_store_get_meta(s, "genesis_hash", &genesis, &gl);
    if (!err)
        err = ferry_store_last_relay(s, &number, hash, &hdr, &hl, &set_id);
    if (!err)
        err = ferry_store_get_authorities(s, &state, &sl);
    ferry_store_rollback(s);
    ferry_store_close(s);
    struct ferry_authority_set set = {0};
    bool bad = false;
    if (!err && (gl != 32 || ferry_authority_set_decode(&set, state, sl, NULL) ||
                 set.number != number || memcmp(set.hash, hash, 32) != 0)) {
        bad = true;
        err = FERRY_E_IO;
    }
    if (err) {
        if (bad)
            snprintf(why, whylen,
                     "store %s is inconsistent (its authority set is not at its last header "
                     "#%u); not exporting it",
                     db_path, number);
        else
            snprintf(why, whylen, "store %s holds no verified state to export (%s)", db_path,
                     ferry_strerror(err));
        ferry_authority_set_free(&set);
        free(genesis);
        free(hdr);
        free(state);
        return err == FERRY_E_NOT_FOUND ? err : FERRY_E_IO;
    }
    cJSON *o = cJSON_CreateObject();
    char *g = ferry_hex_alloc(genesis, 32), *hh = ferry_hex_alloc(hash, 32),
         *he = ferry_hex_alloc(hdr, hl), *st = ferry_hex_alloc(state, sl);
    cJSON_AddStringToObject(o, "genesis_hash", g);
    cJSON_AddNumberToObject(o, "number", number);
    cJSON_AddStringToObject(o, "hash", hh);
    cJSON_AddStringToObject(o, "header", he);
    cJSON_AddNumberToObject(o, "set_id", (double)set.set_id);
    cJSON *auth = cJSON_AddArrayToObject(o, "authorities");
    for (size_t i = 0; i < set.n_authorities; i++) {
        cJSON *a = cJSON_CreateObject();
        char id[67];
        hexs(set.authorities[i].id, 32, id);
        cJSON_AddStringToObject(a, "id", id);
        cJSON_AddNumberToObject(a, "weight", (double)set.authorities[i].weight);
        cJSON_AddItemToArray(auth, a);
    }
    cJSON_AddStringToObject(o, "authority_set", st);
    free(g);
    free(hh);
    free(he);
    free(st);
    free(genesis);
    free(hdr);
    free(state);
    ferry_authority_set_free(&set);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        return FERRY_E_NOMEM;
    FILE *out = strcmp(out_path, "-") == 0 ? stdout : fopen(out_path, "wx");
    if (!out) {
        snprintf(why, whylen, "cannot create %s: %s", out_path, strerror(errno));
        free(text);
        return FERRY_E_IO;
    }
    int ok = fprintf(out, "%s\n", text) > 0;
    ok = (out == stdout ? fflush(out) : fclose(out)) == 0 && ok;
    free(text);
    if (!ok) {
        snprintf(why, whylen, "cannot write %s", out_path);
        return FERRY_E_IO;
    }
    return FERRY_OK;
}
