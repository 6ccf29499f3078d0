/* A node source (see source.h): the fetching half of a light client.
 *
 * Memory is bounded by one batch (at most MAX_BATCH headers); a streamed batch
 * (ferry_source_relay_stream) by its proof bytes, given back as they are read. Nothing here is
 * trusted by what it returns to: lc.h verifies.
 */
#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ferry/clock.h"
#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/source.h"

/* The most headers one batch may span: Substrate's grandpa_proveFinality serves up to
 * MAX_UNKNOWN_HEADERS = 100 000 unknown headers (sc-consensus-grandpa finality_proof.rs), so an
 * honest node's answer must fit; more is refused as a lie. Walking back by parent hash (no
 * proveFinality) never holds more than this at once either. */
#define MAX_BATCH      100000
#define BACKOFF_MAX_MS 30000
#define MAX_URLS       64

/* A connection's RPC client shared with the read proofs sent on it (ferry_source_read_proof_send):
 * closed when the source has left it (endpoint switch, close) and the last of them was collected,
 * since a request answered before its client closed must not be waited for after. */
struct rpc_ref {
    struct ferry_rpc *rpc;
    atomic_size_t refs; /* a stream may be freed on one thread while another uses the source */
};

static void rpc_ref_drop(struct rpc_ref *r)
{
    if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
        ferry_rpc_close(r->rpc);
        free(r);
    }
}

struct ferry_source {
    struct ferry_source_config cfg;
    const char *log;
    struct ferry_rpc *rpc;
    struct rpc_ref *ref; /* rpc's, shared with proof requests in flight */
    size_t rotation;     /* index of the URL tried first */
    uint32_t backoff_ms;
    bool no_prove_finality; /* the node does not serve grandpa_proveFinality */
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
    uint32_t verified; /* the last block a batch was asked after */
    /* The newest header pushed by chain_subscribeFinalizedHeads (hostile like any answer: it
     * saves round trips at the tip, lc verifies it with its batch). */
    struct ferry_header tip;
    bool has_tip, tip_fresh; /* fresh: not yet handed out by ferry_source_finalized */
};

bool ferry_source_stopped(const struct ferry_source *s)
{
    return s->cfg.stop && *s->cfg.stop;
}

void ferry_source_pause(const struct ferry_source *s, uint32_t ms)
{
    while (ms > 0 && !ferry_source_stopped(s)) {
        uint32_t slice = ms < 100 ? ms : 100;
        ferry_sleep_ms(slice);
        ms -= slice;
    }
}

bool ferry_source_is_malformed(ferry_err err)
{
    return err == FERRY_E_JSON || err == FERRY_E_HEX || err == FERRY_E_TRUNCATED ||
           err == FERRY_E_NONCANONICAL || err == FERRY_E_OVERFLOW || err == FERRY_E_INVALID ||
           err == FERRY_E_UTF8 || err == FERRY_E_TRAILING;
}

/* Fill why from an RPC failure of `what`; returns err. */
static ferry_err rpc_fail(struct ferry_reason *why, ferry_err err, struct ferry_rpc_error *re,
                          const char *what)
{
    if (err == FERRY_E_RPC && re->message)
        ferry_reason_set(why, err, "%s: %s (code %lld)", what, re->message, (long long)re->code);
    else
        ferry_reason_set(why, err, "%s: %s", what, ferry_strerror(err));
    ferry_rpc_error_clear(re);
    return err;
}

/* ---- connections ---------------------------------------------------------------------------- */

ferry_err ferry_source_open(const struct ferry_source_config *cfg, struct ferry_source **out,
                            struct ferry_reason *why)
{
    *out = NULL;
    if (!cfg || !cfg->n_urls)
        return ferry_reason_set(why, FERRY_E_ARG, "no URL given");
    struct ferry_source *s = calloc(1, sizeof *s);
    if (!s)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    s->cfg = *cfg;
    if (s->cfg.n_urls > MAX_URLS)
        s->cfg.n_urls = MAX_URLS;
    s->log = cfg->log_label ? cfg->log_label : "source";
    *out = s;
    return FERRY_OK;
}

static void forget_tip(struct ferry_source *s)
{
    if (s->has_tip)
        ferry_header_free(&s->tip);
    s->has_tip = s->tip_fresh = false;
}

static void disconnect(struct ferry_source *s)
{
    if (s->ref)
        rpc_ref_drop(s->ref); /* closes rpc unless proof requests still hold it */
    else
        ferry_rpc_close(s->rpc);
    s->ref = NULL;
    s->rpc = NULL;
    s->subscribed = false;
    s->just_subscribed = false;
    forget_tip(s); /* another endpoint may be on another fork */
}

void ferry_source_close(struct ferry_source *s)
{
    if (!s)
        return;
    disconnect(s);
    free(s->live_just);
    free(s);
}

static ferry_err connect_rpc(struct ferry_source *s, struct ferry_reason *why)
{
    if (s->rpc)
        return FERRY_OK;
    const char *rotated[MAX_URLS];
    size_t n = s->cfg.n_urls;
    for (size_t i = 0; i < n; i++)
        rotated[i] = s->cfg.urls[(i + s->rotation) % n];
    struct ferry_rpc_config rc = {0};
    rc.urls = rotated;
    rc.n_urls = n;
    rc.insecure = s->cfg.insecure;
    rc.request_timeout_ms = s->cfg.timeout_ms;
    rc.max_message_bytes = s->cfg.max_message_bytes;
    ferry_err err = ferry_rpc_open(&rc, &s->rpc);
    if (err)
        return ferry_reason_set(why, err, "cannot create the RPC client: %s", ferry_strerror(err));
    s->ref = calloc(1, sizeof *s->ref);
    if (!s->ref) {
        ferry_rpc_close(s->rpc);
        s->rpc = NULL;
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    }
    s->ref->rpc = s->rpc;
    atomic_init(&s->ref->refs, 1);
    return FERRY_OK;
}

ferry_err ferry_source_rpc(struct ferry_source *s, struct ferry_rpc **rpc, struct ferry_reason *why)
{
    ferry_err err = connect_rpc(s, why);
    *rpc = err ? NULL : s->rpc;
    return err;
}

const char *ferry_source_url(const struct ferry_source *s)
{
    return s->cfg.urls[s->rotation % s->cfg.n_urls];
}

void ferry_source_penalise(struct ferry_source *s, const char *what)
{
    ferry_log_warn(s->log, "%s from %s; switching endpoint and retrying", what,
                   ferry_source_url(s));
    s->rotation = (s->rotation + 1) % s->cfg.n_urls;
    disconnect(s);
}

void ferry_source_backoff(struct ferry_source *s)
{
    s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 250;
    if (s->backoff_ms > BACKOFF_MAX_MS)
        s->backoff_ms = BACKOFF_MAX_MS;
    /* full jitter keeps a fleet from reconnecting in lockstep */
    uint32_t ms = s->backoff_ms / 2 + (uint32_t)(rand() % (int)(s->backoff_ms / 2 + 1));
    ferry_source_pause(s, ms);
}

void ferry_source_backoff_reset(struct ferry_source *s)
{
    s->backoff_ms = 0;
}

const char *ferry_source_last_error(struct ferry_source *s, char *buf, size_t cap)
{
    if (!s->rpc) {
        if (cap)
            buf[0] = 0;
        return buf;
    }
    return ferry_rpc_last_error(s->rpc, buf, cap);
}

/* ---- queries -------------------------------------------------------------------------------- */

ferry_err ferry_source_genesis(struct ferry_source *s, uint8_t hash[32], struct ferry_reason *why)
{
    ferry_err err = connect_rpc(s, why);
    if (err)
        return err;
    struct ferry_rpc_error re = {0};
    err = ferry_rpc_get_block_hash(s->rpc, 0, hash, &re);
    return err ? rpc_fail(why, err, &re, "chain_getBlockHash(0)") : FERRY_OK;
}

ferry_err ferry_source_header(struct ferry_source *s, const uint8_t hash[32],
                              struct ferry_header *h, struct ferry_reason *why)
{
    memset(h, 0, sizeof *h);
    ferry_err err = connect_rpc(s, why);
    if (err)
        return err;
    struct ferry_rpc_error re = {0};
    err = ferry_rpc_get_header(s->rpc, hash, h, &re);
    if (err)
        return rpc_fail(why, err, &re, "chain_getHeader");
    if (memcmp(h->hash, hash, 32) != 0) {
        char hx[67];
        ferry_hex_encode(hash, 32, hx);
        ferry_header_free(h);
        return ferry_reason_set(why, FERRY_E_VERIFY, "chain_getHeader(%s) answered another header",
                                hx);
    }
    return FERRY_OK;
}

ferry_err ferry_source_finalized(struct ferry_source *s, uint32_t *number, uint8_t hash[32],
                                 struct ferry_reason *why)
{
    ferry_err err = connect_rpc(s, why);
    if (err)
        return err;
    if (s->has_tip && s->tip_fresh) {
        /* a finalized head the node pushed since the last call: its hash is that of its own
         * bytes, so it is as good as asking again (two round trips fewer at the tip) */
        s->tip_fresh = false;
        *number = s->tip.number;
        if (hash)
            memcpy(hash, s->tip.hash, 32);
        return FERRY_OK;
    }
    uint8_t head[32];
    struct ferry_rpc_error re = {0};
    err = ferry_rpc_get_finalized_head(s->rpc, head, &re);
    if (err)
        return rpc_fail(why, err, &re, "chain_getFinalizedHead");
    struct ferry_header h;
    err = ferry_rpc_get_header(s->rpc, head, &h, &re);
    if (err)
        return rpc_fail(why, err, &re, "chain_getHeader");
    bool same = memcmp(h.hash, head, 32) == 0;
    *number = h.number;
    ferry_header_free(&h);
    if (!same) {
        char hx[67];
        ferry_hex_encode(head, 32, hx);
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "chain_getHeader(%s) (the finalized head) answered another header",
                                hx);
    }
    if (hash)
        memcpy(hash, head, 32);
    return FERRY_OK;
}

ferry_err ferry_source_read_proof(struct ferry_source *s, const struct ferry_bytes *keys,
                                  size_t n_keys, const uint8_t at[32],
                                  struct ferry_trie_proof **proof, struct ferry_reason *why)
{
    *proof = NULL;
    ferry_err err = connect_rpc(s, why);
    if (err)
        return err;
    struct ferry_bytes_list nodes = {0};
    struct ferry_rpc_error re = {0};
    err = ferry_rpc_get_read_proof(s->rpc, keys, n_keys, at, &nodes, NULL, &re);
    if (err)
        return rpc_fail(why, err, &re, "state_getReadProof");
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
    if (err)
        ferry_reason_set(why, err, "out of memory");
    return err;
}

ferry_err ferry_source_headers_back(struct ferry_source *s, const struct ferry_header *top,
                                    uint32_t from, struct ferry_header **out, size_t *n,
                                    struct ferry_reason *why)
{
    *out = NULL;
    *n = 0;
    if (from > top->number)
        return FERRY_OK;
    size_t count = (size_t)(top->number - from) + 1;
    if (count > MAX_BATCH)
        return ferry_reason_set(why, FERRY_E_TOO_LARGE, "%zu headers are more than one walk",
                                count);
    struct ferry_header *chain = calloc(count, sizeof *chain);
    if (!chain)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    ferry_err err = ferry_header_copy(&chain[count - 1], top);
    if (err)
        ferry_reason_set(why, err, "out of memory");
    for (size_t i = count - 1; !err && i-- > 0;) {
        if (ferry_source_stopped(s)) {
            err = ferry_reason_set(why, FERRY_E_RETRY, "stopped");
            break;
        }
        err = ferry_source_header(s, chain[i + 1].parent_hash, &chain[i], why);
        if (err == FERRY_E_NOT_FOUND)
            err = ferry_reason_set(why, FERRY_E_VERIFY, "no header for the parent of #%u",
                                   chain[i + 1].number);
    }
    if (err) {
        for (size_t i = 0; i < count; i++)
            ferry_header_free(&chain[i]);
        free(chain);
        return err;
    }
    *out = chain;
    *n = count;
    return FERRY_OK;
}

/* ---- relay batches -------------------------------------------------------------------------- */

void ferry_source_batch_free(struct ferry_source_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        ferry_header_free(&b->headers[i]);
    free(b->headers);
    free(b->justification);
    memset(b, 0, sizeof *b);
}

/* Collect the headers from verified+1 up to the block (top_hash, top_number) by walking back by
 * parent hash, taking them from `known` where present and asking the node otherwise.
 * FERRY_E_INVALID: the headers do not link (the caller turns it into a lie). */
static ferry_err collect_back(struct ferry_source *s, uint32_t verified,
                              const uint8_t verified_hash[32], const uint8_t top_hash[32],
                              uint32_t top_number, struct ferry_header *known, size_t n_known,
                              struct ferry_source_batch *b)
{
    if (top_number <= verified || top_number - verified > MAX_BATCH)
        return FERRY_E_INVALID;
    size_t n = top_number - verified;
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
        if (ferry_source_stopped(s))
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
        } else if (s->has_tip && memcmp(s->tip.hash, want, 32) == 0) {
            ferry_err err = ferry_header_copy(slot, &s->tip); /* pushed: no round trip */
            if (err)
                return err;
        } else {
            struct ferry_rpc_error re = {0};
            ferry_err err = ferry_rpc_get_header(s->rpc, want, slot, &re);
            ferry_rpc_error_clear(&re);
            if (err)
                return err == FERRY_E_NOT_FOUND ? FERRY_E_INVALID : err;
            if (memcmp(slot->hash, want, 32) != 0)
                return FERRY_E_INVALID; /* the node answered with another header */
        }
        if (slot->number != verified + 1 + k)
            return FERRY_E_INVALID;
        memcpy(want, slot->parent_hash, 32);
    }
    /* The bottom of the walk must be the child of the last verified block. */
    return memcmp(want, verified_hash, 32) == 0 ? FERRY_OK : FERRY_E_INVALID;
}

/* What a grandpa_proveFinality(verified + 1) call that returned err means: FERRY_E_UNSUPPORTED
 * when the node does not serve it (for this block, or at all: then it is not asked again). */
static ferry_err prove_finality_outcome(struct ferry_source *s, uint32_t verified, ferry_err err,
                                        struct ferry_rpc_error *re)
{
    if (err == FERRY_E_RPC && re->code == -32601) {
        /* Method not found: this node never serves it; stop asking. */
        ferry_log_warn(s->log,
                       "node does not serve grandpa_proveFinality (%s (code %lld)); falling back "
                       "to chain_getBlock justifications",
                       re->message ? re->message : "", (long long)re->code);
        s->no_prove_finality = true;
    } else if (err == FERRY_E_RPC) {
        /* e.g. "not covered by authority set changes": blocks of the current set that no set
         * change covers yet; the stored justification of a later block serves instead. */
        ferry_log_debug(s->log, "grandpa_proveFinality(%u): %s (code %lld); using chain_getBlock",
                        verified + 1, re->message ? re->message : "", (long long)re->code);
    }
    ferry_rpc_error_clear(re);
    if (err == FERRY_E_RPC || err == FERRY_E_NOT_FOUND)
        return FERRY_E_UNSUPPORTED;
    return err;
}

/* The batch after set->number from the FinalityProof raw[len] (not taken), held in memory. */
static ferry_err batch_from_proof_bytes(struct ferry_source *s,
                                        const struct ferry_authority_set *set, const uint8_t *raw,
                                        size_t len, struct ferry_source_batch *b)
{
    struct ferry_grandpa_finality_proof fp;
    ferry_err err = ferry_grandpa_finality_proof_decode(&fp, raw, len, NULL);
    if (err)
        return FERRY_E_INVALID;
    struct ferry_grandpa_justification j;
    err = ferry_grandpa_justification_decode(&j, fp.justification, fp.justification_len, NULL);
    if (!err) {
        err = collect_back(s, set->number, set->hash, j.target_hash, j.target_number,
                           fp.unknown_headers, fp.n_unknown_headers, b);
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

/* Batch from grandpa_proveFinality(verified + 1). FERRY_E_UNSUPPORTED: use the fallback. */
static ferry_err batch_from_prove_finality(struct ferry_source *s,
                                           const struct ferry_authority_set *set,
                                           struct ferry_source_batch *b)
{
    uint8_t *raw;
    size_t len;
    struct ferry_rpc_error re = {0};
    ferry_err err = ferry_rpc_prove_finality(s->rpc, set->number + 1, &raw, &len, &re);
    err = prove_finality_outcome(s, set->number, err, &re);
    if (err)
        return err;
    err = batch_from_proof_bytes(s, set, raw, len, b);
    ferry_rpc_bytes_release(s->rpc, raw); /* its buffer receives a later answer */
    return err;
}

/* ---- streamed relay batches ---------------------------------------------------------------- */

#define MIN_HEADER_SIZE (32 + 1 + 32 + 32 + 1)
/* stream_from_proof: not Substrate's shape, build the batch in memory (never returned out) */
#define SHAPE_AGAIN FERRY_E__COUNT
/* Consumed proof bytes are given back to the system in steps of at least this much. */
#define RELEASE_STEP ((size_t)1 << 20)

struct ferry_source_stream {
    /* a batch held in memory (the fallback, or a proof not in Substrate's shape) */
    struct ferry_source_batch mem;
    size_t mem_next;
    bool in_mem;
    /* else: the FinalityProof, its headers read one at a time */
    uint8_t *raw;
    size_t raw_len;
    struct rpc_ref *ref;         /* the client raw came from (given back to it), held until freed */
    struct ferry_scale_reader r; /* at the next unknown header */
    size_t left;                 /* unknown headers not read yet */
    size_t released;             /* raw[0..released) given back to the system */
    struct ferry_header first;   /* the batch's first block, fetched at open when the proof */
    bool has_first;              /* starts one above it (Substrate's proofs do) */
    uint8_t *just;
    size_t just_len;
    uint32_t next_number; /* the number the next header must have */
    uint32_t top_number;  /* the justification's target: the batch ends there */
    uint8_t top_hash[32];
};

void ferry_source_stream_free(struct ferry_source_stream *st)
{
    if (!st)
        return;
    ferry_source_batch_free(&st->mem);
    if (st->ref)
        ferry_rpc_bytes_release(st->ref->rpc, st->raw);
    else
        free(st->raw);
    rpc_ref_drop(st->ref);
    ferry_header_free(&st->first);
    free(st->just);
    free(st);
}

uint32_t ferry_source_stream_top(const struct ferry_source_stream *st, uint8_t hash[32])
{
    memcpy(hash, st->top_hash, 32);
    return st->top_number;
}

const uint8_t *ferry_source_stream_justification(const struct ferry_source_stream *st, size_t *len)
{
    *len = st->just_len;
    return st->just;
}

/* Give the pages of raw already read back to the system: the batch never holds a header twice
 * (once as proof bytes, once in the store). Whole pages strictly inside the allocation only, so
 * the allocator's own bookkeeping around it is untouched; they read as zeros if touched again,
 * and they are not: the reader only moves forward. */
static void release_consumed(struct ferry_source_stream *st)
{
#ifdef MADV_DONTNEED
    /* A proof this small is given back whole to the RPC client when the batch ends, to receive
     * a later one into its pages (ferry_rpc_bytes_release): none is returned to the system. */
    if (st->raw_len <= FERRY_RPC_REUSE_MAX)
        return;
    long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0)
        return;
    uintptr_t page = (uintptr_t)ps;
    uintptr_t base = (uintptr_t)st->raw;
    uintptr_t from = (base + st->released + page - 1) / page * page;
    uintptr_t to = (base + st->r.pos) / page * page;
    if (to <= from || to - from < RELEASE_STEP)
        return;
    if (madvise((void *)from, to - from, MADV_DONTNEED) == 0)
        st->released = to - base;
#else
    (void)st;
#endif
}

/* The batch from the FinalityProof raw[len] (taken) for the block after (verified,
 * verified_hash). Returns: FERRY_OK; FERRY_E_INVALID (malformed, or not linking); SHAPE_AGAIN
 * when the proof is not in Substrate's shape (the caller builds the batch in memory); an RPC
 * error fetching the first header; FERRY_E_NOMEM. */
static ferry_err stream_from_proof(struct ferry_source *s, struct ferry_source_stream *st,
                                   uint32_t verified, const uint8_t verified_hash[32])
{
    struct ferry_scale_reader *r = &st->r;
    const uint8_t *just;
    uint8_t block[32];
    size_t count = 0;
    ferry_scale_reader_init(r, st->raw, st->raw_len);
    (void)ferry_scale_copy(r, block, 32);
    if (!ferry_scale_byte_vec(r, &just, &st->just_len)) {
        st->just = malloc(st->just_len ? st->just_len : 1);
        if (!st->just)
            return FERRY_E_NOMEM;
        memcpy(st->just, just, st->just_len);
    }
    if (!r->err)
        (void)ferry_scale_vec_len(r, MIN_HEADER_SIZE, &count);
    if (r->err)
        return r->err == FERRY_E_NOMEM ? FERRY_E_NOMEM : FERRY_E_INVALID;
    struct ferry_grandpa_justification j;
    if (ferry_grandpa_justification_decode(&j, st->just, st->just_len, NULL))
        return FERRY_E_INVALID;
    st->top_number = j.target_number;
    memcpy(st->top_hash, j.target_hash, 32);
    ferry_grandpa_justification_free(&j);
    if (st->top_number <= verified || st->top_number - verified > MAX_BATCH)
        return FERRY_E_INVALID;
    st->left = count;
    st->next_number = verified + 1;
    /* Substrate's unknown_headers: ascending, from the block above the one asked for (so from
     * verified + 2) up to the target. The first block comes from the node (or the pushed tip). */
    uint8_t want[32];
    if (count) {
        struct ferry_scale_reader peek = *r;
        struct ferry_header h0;
        if (ferry_header_read(&peek, &h0))
            return FERRY_E_INVALID;
        uint32_t n0 = h0.number;
        memcpy(want, h0.parent_hash, 32);
        ferry_header_free(&h0);
        if (n0 == verified + 1)
            return FERRY_OK;
        if (n0 != verified + 2)
            return SHAPE_AGAIN;
    } else if (st->top_number == verified + 1) {
        memcpy(want, st->top_hash, 32);
    } else {
        return SHAPE_AGAIN; /* headers to walk back for: the in-memory batch does that */
    }
    if (s->has_tip && memcmp(s->tip.hash, want, 32) == 0) {
        if (ferry_header_copy(&st->first, &s->tip))
            return FERRY_E_NOMEM;
    } else {
        struct ferry_rpc_error re = {0};
        ferry_err err = ferry_rpc_get_header(s->rpc, want, &st->first, &re);
        ferry_rpc_error_clear(&re);
        if (err)
            return err == FERRY_E_NOT_FOUND ? FERRY_E_INVALID : err;
        if (memcmp(st->first.hash, want, 32) != 0) {
            ferry_header_free(&st->first);
            return FERRY_E_INVALID; /* the node answered with another header */
        }
    }
    st->has_first = true;
    if (st->first.number != verified + 1 || memcmp(st->first.parent_hash, verified_hash, 32) != 0)
        return FERRY_E_INVALID;
    return FERRY_OK;
}

ferry_err ferry_source_stream_next(struct ferry_source_stream *st, struct ferry_header *h,
                                   struct ferry_reason *why)
{
    memset(h, 0, sizeof *h);
    if (st->in_mem) {
        if (st->mem_next >= st->mem.n)
            return FERRY_E_NOT_FOUND;
        *h = st->mem.headers[st->mem_next];
        memset(&st->mem.headers[st->mem_next++], 0, sizeof *h);
        return FERRY_OK;
    }
    if (st->next_number > st->top_number || st->next_number == 0)
        return FERRY_E_NOT_FOUND;
    if (st->has_first) {
        *h = st->first;
        memset(&st->first, 0, sizeof st->first);
        st->has_first = false;
    } else {
        if (!st->left)
            return ferry_reason_set(why, FERRY_E_INVALID,
                                    "the finality proof's headers end at #%u, below its target #%u",
                                    st->next_number - 1, st->top_number);
        st->left--;
        ferry_err err = ferry_header_read(&st->r, h);
        if (err)
            return ferry_reason_set(why, err == FERRY_E_NOMEM ? err : FERRY_E_INVALID,
                                    "header #%u of the finality proof is malformed",
                                    st->next_number);
        release_consumed(st);
    }
    if (h->number != st->next_number ||
        (h->number == st->top_number && memcmp(h->hash, st->top_hash, 32) != 0)) {
        uint32_t got = h->number;
        ferry_header_free(h);
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "the finality proof's headers are not #%u..#%u in order (#%u)",
                                st->next_number - (st->next_number > 0), st->top_number, got);
    }
    st->next_number++;
    return FERRY_OK;
}

/* Open a stream for the batch after (number, hash): from the proof when the node serves it for
 * that block; FERRY_E_UNSUPPORTED when it does not (set as for batch_from_prove_finality). */
static ferry_err stream_open(struct ferry_source *s, const struct ferry_authority_set *set,
                             struct ferry_source_stream *st)
{
    struct ferry_rpc_error re = {0};
    ferry_err err = ferry_rpc_prove_finality(s->rpc, set->number + 1, &st->raw, &st->raw_len, &re);
    err = prove_finality_outcome(s, set->number, err, &re);
    if (err)
        return err;
    st->ref = s->ref;
    if (st->ref)
        atomic_fetch_add(&st->ref->refs, 1);
    err = stream_from_proof(s, st, set->number, set->hash);
    if (err != SHAPE_AGAIN)
        return err;
    /* not Substrate's shape: the whole batch in memory, as ferry_source_relay_batch builds it */
    err = batch_from_proof_bytes(s, set, st->raw, st->raw_len, &st->mem);
    ferry_rpc_bytes_release(s->rpc, st->raw);
    st->raw = NULL;
    st->in_mem = !err;
    if (!err)
        st->top_number = st->mem.headers[st->mem.n - 1].number;
    if (!err)
        memcpy(st->top_hash, st->mem.headers[st->mem.n - 1].hash, 32);
    if (!err) {
        free(st->just);
        st->just = st->mem.justification;
        st->just_len = st->mem.justification_len;
        st->mem.justification = NULL;
    }
    return err;
}

/* Returns: the GRANDPA justification stored with block `hash`, or FERRY_E_NOT_FOUND. */
static ferry_err block_justification(struct ferry_source *s, const uint8_t hash[32], uint8_t **out,
                                     size_t *len)
{
    struct ferry_block blk;
    struct ferry_rpc_error re = {0};
    ferry_err err = ferry_rpc_get_block(s->rpc, hash, &blk, &re);
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
static ferry_err batch_from_blocks(struct ferry_source *s, const struct ferry_authority_set *set,
                                   struct ferry_source_batch *b)
{
    uint32_t verified = set->number;
    uint8_t head[32];
    uint32_t top_number;
    ferry_err err;
    if (s->has_tip && s->tip.number > verified) {
        /* the finalized header the node pushed: two round trips fewer at the tip */
        memcpy(head, s->tip.hash, 32);
        top_number = s->tip.number;
    } else {
        struct ferry_rpc_error re = {0};
        err = ferry_rpc_get_finalized_head(s->rpc, head, &re);
        ferry_rpc_error_clear(&re);
        if (err)
            return err;
        struct ferry_header top;
        err = ferry_rpc_get_header(s->rpc, head, &top, &re);
        ferry_rpc_error_clear(&re);
        if (err)
            return err;
        top_number = top.number;
        bool same = memcmp(top.hash, head, 32) == 0;
        ferry_header_free(&top);
        if (!same)
            return FERRY_E_INVALID; /* the node answered with another header */
    }
    /* A pushed justification for a block between the last verified one and the head ends the
     * batch there (it is checked against the headers and the set like any other). */
    bool use_live =
        s->live_just && s->live_just_number > verified && s->live_just_number <= top_number;
    if (use_live) {
        memcpy(head, s->live_just_hash, 32);
        top_number = s->live_just_number;
    }
    ferry_log_debug(s->log, "fallback: finalized #%u, pushed justification %s#%u", top_number,
                    use_live       ? "used, "
                    : s->live_just ? "not usable, "
                                   : "none, ",
                    s->live_just ? s->live_just_number : 0);
    if (top_number <= verified)
        return FERRY_E_RETRY;
    if (top_number - verified > MAX_BATCH) {
        ferry_log_error(s->log,
                        "without grandpa_proveFinality ferry can bridge at most %d blocks at "
                        "once; %u are missing. Use a node that serves it, or a newer checkpoint",
                        MAX_BATCH, top_number - verified);
        return FERRY_E_UNSUPPORTED;
    }
    err = collect_back(s, verified, set->hash, head, top_number, NULL, 0, b);
    if (err)
        return err;
    /* Find the first header that enacts a change, applying headers to a scratch copy. */
    struct ferry_authority_set scratch;
    size_t end = b->n - 1;
    if (ferry_authority_set_copy(&scratch, set))
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
        b->justification = s->live_just;
        b->justification_len = s->live_just_len;
        s->live_just = NULL;
        return FERRY_OK;
    }
    return block_justification(s, b->headers[end].hash, &b->justification, &b->justification_len);
}

/* ---- live ----------------------------------------------------------------------------------- */

/* Keep a justification pushed by grandpa_subscribeJustifications if it is newer than what is
 * kept and beyond the verified height; its target is read from the (hostile) bytes, which only
 * decides where a batch ends: verification proper happens later. */
static void keep_live_justification(struct ferry_source *s, uint32_t verified, const cJSON *result)
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
    if (j.target_number > verified && (!s->live_just || j.target_number > s->live_just_number)) {
        free(s->live_just);
        s->live_just = bytes;
        s->live_just_len = len;
        s->live_just_number = j.target_number;
        memcpy(s->live_just_hash, j.target_hash, 32);
        bytes = NULL;
    }
    ferry_grandpa_justification_free(&j);
    free(bytes);
}

/* Keep a pushed finalized header when it is above the one kept. */
static void keep_tip(struct ferry_source *s, const cJSON *result)
{
    struct ferry_header h;
    if (ferry_rpc_header_from_json(result, &h) != FERRY_OK)
        return;
    if (s->has_tip && h.number <= s->tip.number) {
        ferry_header_free(&h);
        return;
    }
    if (s->has_tip)
        ferry_header_free(&s->tip);
    s->tip = h;
    s->has_tip = s->tip_fresh = true;
}

static void subscribe_live(struct ferry_source *s)
{
    struct ferry_rpc_error re = {0};
    if (!s->subscribed &&
        ferry_rpc_subscribe_finalized_heads(s->rpc, NULL, NULL, &s->sub, &re) == FERRY_OK)
        s->subscribed = true;
    ferry_rpc_error_clear(&re);
    /* Only worth it where grandpa_proveFinality is missing; asked once per connection. */
    if (s->no_prove_finality && !s->just_subscribed && !s->just_unsupported) {
        ferry_err err = ferry_rpc_subscribe(
            s->rpc, "grandpa_subscribeJustifications", "[]", "grandpa_unsubscribeJustifications", 0,
            NULL, NULL, s->cfg.timeout_ms ? s->cfg.timeout_ms : 30000, &s->just_sub, &re);
        if (!err)
            s->just_subscribed = true;
        else if (err == FERRY_E_RPC && re.code == -32601)
            s->just_unsupported = true;
        if (err)
            ferry_log_debug(s->log, "grandpa_subscribeJustifications: %s",
                            re.message ? re.message : ferry_strerror(err));
        ferry_rpc_error_clear(&re);
    }
}

static bool live_usable(const struct ferry_source *s, uint32_t verified)
{
    return s->live_just && s->live_just_number > verified;
}

/* Wait up to timeout_ms for an event, then drain what is queued: finalized-head notifications
 * only wake the caller; pushed justifications are kept. With want_justification, keep waiting
 * (until timeout_ms in all) for a usable pushed justification instead of returning after the
 * first event. */
static void poll_events(struct ferry_source *s, uint32_t verified, uint32_t timeout_ms,
                        bool want_justification)
{
    double deadline = ferry_clock_s() + timeout_ms / 1000.0;
    bool woke = false;
    for (int i = 0; i < 512 && !ferry_source_stopped(s); i++) {
        if (want_justification && live_usable(s, verified))
            break;
        double left = deadline - ferry_clock_s();
        uint32_t wait = !woke || want_justification ? (left > 0 ? (uint32_t)(left * 1000) : 0) : 0;
        /* waits are sliced so that a stop request is honoured within 100 ms */
        if (wait > 100)
            wait = 100;
        struct ferry_rpc_event ev;
        ferry_err err = ferry_rpc_next_event(s->rpc, wait, &ev);
        if (err == FERRY_E_TIMEOUT && wait > 0 && ferry_clock_s() < deadline)
            continue;
        if (err != FERRY_OK)
            break;
        woke = true;
        if (ev.kind == FERRY_RPC_EV_NOTIFICATION && s->subscribed && ev.sub == s->sub)
            keep_tip(s, ev.result);
        else if (ev.kind == FERRY_RPC_EV_DISCONNECTED || ev.kind == FERRY_RPC_EV_CONNECTED ||
                 (ev.sub == s->sub &&
                  (ev.kind == FERRY_RPC_EV_GAP || ev.kind == FERRY_RPC_EV_SUB_ENDED)))
            forget_tip(s); /* a restarted node may be on another chain (or fork) now */
        if (ev.kind == FERRY_RPC_EV_SUB_ENDED && ev.sub == s->sub)
            s->subscribed = false;
        if (ev.kind == FERRY_RPC_EV_SUB_ENDED && ev.sub == s->just_sub)
            s->just_subscribed = false;
        if (ev.kind == FERRY_RPC_EV_NOTIFICATION && s->just_subscribed && ev.sub == s->just_sub)
            keep_live_justification(s, verified, ev.result);
        ferry_rpc_event_clear(&ev);
    }
}

void ferry_source_wait_news(struct ferry_source *s)
{
    if (connect_rpc(s, NULL)) {
        ferry_source_pause(s, 1000);
        return;
    }
    subscribe_live(s);
    if (!s->subscribed) {
        ferry_source_pause(s, 1000);
        return;
    }
    poll_events(s, s->verified, 2000, false);
}

/* Turn a batch error into its reason; frees b on error. */
static ferry_err batch_reason(uint32_t number, ferry_err err, struct ferry_source_batch *b,
                              struct ferry_reason *why)
{
    if (err == FERRY_E_INVALID || err == FERRY_E_NOT_FOUND)
        err = ferry_reason_set(why, FERRY_E_VERIFY,
                               "headers or justification for #%u onwards are malformed, missing "
                               "or do not link to #%u",
                               number + 1, number);
    else if (err == FERRY_E_UNSUPPORTED)
        ferry_reason_set(why, err, "more blocks missing than one batch can bridge");
    else if (err == FERRY_E_RETRY)
        ferry_reason_set(why, err, "nothing new past #%u", number);
    else if (err)
        ferry_reason_set(why, err, "fetching the batch after #%u: %s", number, ferry_strerror(err));
    if (err)
        ferry_source_batch_free(b);
    return err;
}

ferry_err ferry_source_relay_batch_after(struct ferry_source *s, uint32_t number,
                                         const uint8_t hash[32], struct ferry_source_batch *b,
                                         struct ferry_reason *why)
{
    memset(b, 0, sizeof *b);
    if (s->no_prove_finality)
        return ferry_reason_set(why, FERRY_E_UNSUPPORTED, "grandpa_proveFinality not served");
    ferry_err err = connect_rpc(s, why);
    if (err)
        return err;
    /* batch_from_prove_finality reads only where the batch must link */
    struct ferry_authority_set at = {0};
    at.number = number;
    memcpy(at.hash, hash, 32);
    err = batch_from_prove_finality(s, &at, b);
    if (err == FERRY_E_UNSUPPORTED) {
        ferry_source_batch_free(b);
        return ferry_reason_set(why, err, "grandpa_proveFinality(%u) not served", number + 1);
    }
    return batch_reason(number, err, b, why);
}

ferry_err ferry_source_relay_batch(struct ferry_source *s, const struct ferry_authority_set *set,
                                   struct ferry_source_batch *b, struct ferry_reason *why)
{
    memset(b, 0, sizeof *b);
    s->verified = set->number;
    ferry_err err = connect_rpc(s, why);
    if (err)
        return err;
    err = FERRY_E_UNSUPPORTED;
    if (!s->no_prove_finality)
        err = batch_from_prove_finality(s, set, b);
    if (err == FERRY_E_UNSUPPORTED) {
        ferry_source_batch_free(b);
        /* Without proofs, a justification the node pushes may be the only one to be had: a
         * real node stores one only every few hundred blocks and at set changes. */
        if (s->no_prove_finality) {
            subscribe_live(s);
            poll_events(s, set->number, s->just_subscribed ? 3000 : 0, true);
        }
        err = batch_from_blocks(s, set, b);
    }
    return batch_reason(set->number, err, b, why);
}

/* A stream over an in-memory batch (the fallback without proofs). */
static void stream_take_batch(struct ferry_source_stream *st, struct ferry_source_batch *b)
{
    st->mem = *b;
    memset(b, 0, sizeof *b);
    st->in_mem = true;
    if (st->mem.n) {
        st->top_number = st->mem.headers[st->mem.n - 1].number;
        memcpy(st->top_hash, st->mem.headers[st->mem.n - 1].hash, 32);
    }
    st->just = st->mem.justification;
    st->just_len = st->mem.justification_len;
    st->mem.justification = NULL;
}

ferry_err ferry_source_relay_stream(struct ferry_source *s, const struct ferry_authority_set *set,
                                    struct ferry_source_stream **out, struct ferry_reason *why)
{
    *out = NULL;
    struct ferry_source_stream *st = calloc(1, sizeof *st);
    if (!st)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    s->verified = set->number;
    ferry_err err = connect_rpc(s, why);
    if (err) {
        free(st);
        return err;
    }
    err = FERRY_E_UNSUPPORTED;
    if (!s->no_prove_finality)
        err = stream_open(s, set, st);
    struct ferry_source_batch b = {0};
    if (err == FERRY_E_UNSUPPORTED) {
        ferry_source_stream_free(st);
        st = calloc(1, sizeof *st);
        if (!st)
            return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
        if (s->no_prove_finality) {
            subscribe_live(s);
            poll_events(s, set->number, s->just_subscribed ? 3000 : 0, true);
        }
        err = batch_from_blocks(s, set, &b);
        if (!err)
            stream_take_batch(st, &b);
    }
    err = batch_reason(set->number, err, &b, why);
    if (err) {
        ferry_source_stream_free(st);
        return err;
    }
    *out = st;
    return FERRY_OK;
}

ferry_err ferry_source_relay_stream_after(struct ferry_source *s, uint32_t number,
                                          const uint8_t hash[32], struct ferry_source_stream **out,
                                          struct ferry_reason *why)
{
    *out = NULL;
    if (s->no_prove_finality)
        return ferry_reason_set(why, FERRY_E_UNSUPPORTED, "grandpa_proveFinality not served");
    ferry_err err = connect_rpc(s, why);
    if (err)
        return err;
    struct ferry_source_stream *st = calloc(1, sizeof *st);
    if (!st)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    struct ferry_authority_set at = {0};
    at.number = number;
    memcpy(at.hash, hash, 32);
    err = stream_open(s, &at, st);
    if (err == FERRY_E_UNSUPPORTED) {
        ferry_source_stream_free(st);
        return ferry_reason_set(why, err, "grandpa_proveFinality(%u) not served", number + 1);
    }
    struct ferry_source_batch none = {0};
    err = batch_reason(number, err, &none, why);
    if (err) {
        ferry_source_stream_free(st);
        return err;
    }
    *out = st;
    return FERRY_OK;
}

/* ---- pipelined read proofs and the pushed tip ------------------------------------------------
 * Added for `ferry relay` at the tip: every state_getReadProof of a dispatch range is sent before
 * the first answer is awaited (and the one for a freshly finalized block as soon as its header
 * is pushed), so a range costs one round trip instead of one per block. */

struct ferry_source_proof_req {
    struct ferry_rpc_pending *pending;
    struct rpc_ref *ref; /* the client it was sent on, kept open until it is collected */
    uint8_t at[32];
};

ferry_err ferry_source_read_proof_send(struct ferry_source *s, const struct ferry_bytes *keys,
                                       size_t n_keys, const uint8_t at[32],
                                       struct ferry_source_proof_req **out,
                                       struct ferry_reason *why)
{
    *out = NULL;
    ferry_err err = connect_rpc(s, why);
    if (err)
        return err;
    struct ferry_source_proof_req *q = calloc(1, sizeof *q);
    if (!q)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    memcpy(q->at, at, 32);
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    ferry_rpc_params_array_begin(&p);
    for (size_t i = 0; i < n_keys; i++)
        ferry_rpc_params_hex(&p, keys[i].p, keys[i].len);
    ferry_rpc_params_array_end(&p);
    ferry_rpc_params_hex(&p, at, 32);
    const char *params = ferry_rpc_params_text(&p);
    err = params ? ferry_rpc_send(s->rpc, "state_getReadProof", params,
                                  ferry_rpc_request_timeout(s->rpc), &q->pending)
                 : FERRY_E_NOMEM;
    ferry_rpc_params_free(&p);
    if (err) {
        free(q);
        return ferry_reason_set(why, err, "state_getReadProof: %s", ferry_strerror(err));
    }
    q->ref = s->ref;
    atomic_fetch_add(&q->ref->refs, 1);
    *out = q;
    return FERRY_OK;
}

const uint8_t *ferry_source_proof_req_at(const struct ferry_source_proof_req *q)
{
    return q->at;
}

/* The `proof` array of a state_getReadProof answer ({"at": …, "proof": ["0x…", …]}). */
static ferry_err decode_read_proof(const cJSON *r, struct ferry_bytes_list *nodes)
{
    if (!cJSON_IsObject(r))
        return cJSON_IsNull(r) ? FERRY_E_NOT_FOUND : FERRY_E_JSON;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, "proof");
    if (!cJSON_IsArray(arr))
        return FERRY_E_JSON;
    int n = cJSON_GetArraySize(arr);
    nodes->items = calloc(n > 0 ? (size_t)n : 1, sizeof *nodes->items);
    if (!nodes->items)
        return FERRY_E_NOMEM;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        if (!cJSON_IsString(v) || nodes->n >= (size_t)n)
            return FERRY_E_JSON;
        struct ferry_bytes *b = &nodes->items[nodes->n];
        ferry_err err = ferry_hex_decode(v->valuestring, strlen(v->valuestring), &b->p, &b->len);
        if (err)
            return err;
        nodes->n++;
    }
    return FERRY_OK;
}

ferry_err ferry_source_read_proof_wait(struct ferry_source_proof_req *q,
                                       struct ferry_bytes_list *nodes, struct ferry_reason *why)
{
    memset(nodes, 0, sizeof *nodes);
    cJSON *res = NULL;
    struct ferry_rpc_error re = {0};
    ferry_err err = ferry_rpc_wait(q->pending, &res, &re);
    rpc_ref_drop(q->ref);
    free(q);
    if (err)
        return rpc_fail(why, err, &re, "state_getReadProof");
    err = decode_read_proof(res, nodes);
    cJSON_Delete(res);
    if (err) {
        ferry_bytes_list_free(nodes);
        ferry_reason_set(why, err, "state_getReadProof: the answer does not decode (%s)",
                         ferry_strerror(err));
    }
    return err;
}

void ferry_source_read_proof_cancel(struct ferry_source_proof_req *q)
{
    if (!q)
        return;
    struct ferry_bytes_list nodes;
    (void)!ferry_source_read_proof_wait(q, &nodes, NULL);
    ferry_bytes_list_free(&nodes);
}

bool ferry_source_pushed_tip(const struct ferry_source *s, uint32_t *number, uint8_t hash[32])
{
    if (!s->rpc || !s->has_tip)
        return false;
    *number = s->tip.number;
    memcpy(hash, s->tip.hash, 32);
    return true;
}

void ferry_source_poll_news(struct ferry_source *s)
{
    if (connect_rpc(s, NULL))
        return;
    subscribe_live(s);
    if (s->subscribed)
        poll_events(s, s->verified, 0, false);
}
