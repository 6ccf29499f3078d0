/* The light-client core (see lc.h): verified finality of one chain and its parachain, no I/O.
 *
 * Atomicity is kept by construction: every operation works on copies (the batch's working
 * authority set, the decoded para head) and reserves the memory its commit needs before it
 * changes anything, so the commit itself cannot fail half-way.
 *
 * Retained state roots are kept per chain as a ring of consecutive block numbers
 * [lo, lo + count): relay blocks are verified one after the other, and so are para blocks after
 * the first para import. The ring grows on demand up to keep_roots and then drops its oldest.
 */
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/lc.h"

#define DEFAULT_KEEP_ROOTS 65536u
#define LC_VERSION         1u
/* A verified batch never spans more blocks than this (the worst Substrate serves is a session's
 * worth; a larger one is a caller mistake or a lie, refused before it eats memory). */
#define MAX_BATCH 1048576u

struct root_entry {
    uint8_t hash[32];
    uint8_t root[32];
};

struct roots {
    uint32_t lo;    /* number of the oldest entry */
    uint32_t count; /* entries held: lo .. lo + count - 1 */
    uint32_t start; /* index of the oldest entry in e[] */
    uint32_t alloc; /* allocated entries */
    uint32_t cap;   /* keep at most this many */
    struct root_entry *e;
};

struct ferry_lc {
    struct ferry_lc_config cfg;
    uint8_t genesis[32];
    uint32_t number;
    uint8_t hash[32];
    uint8_t state_root[32];
    struct ferry_authority_set set;
    bool has_para;
    uint32_t para_number;
    uint8_t para_hash[32];
    uint8_t para_state_root[32];
    struct roots relay, para;
};

/* ---- retained roots ------------------------------------------------------------------------- */

static void roots_free(struct roots *r)
{
    free(r->e);
    memset(r, 0, sizeof *r);
}

/* Make room so that `extra` pushes will not allocate. Returns FERRY_OK or FERRY_E_NOMEM (then
 * nothing changed). */
static ferry_err roots_reserve(struct roots *r, uint64_t extra)
{
    uint64_t want = (uint64_t)r->count + extra;
    if (want > r->cap)
        want = r->cap;
    if (want <= r->alloc)
        return FERRY_OK;
    uint64_t n = r->alloc ? (uint64_t)r->alloc * 2 : 64;
    if (n < want)
        n = want;
    if (n > r->cap)
        n = r->cap;
    struct root_entry *e = malloc((size_t)n * sizeof *e);
    if (!e)
        return FERRY_E_NOMEM;
    for (uint32_t i = 0; i < r->count; i++)
        e[i] = r->e[(r->start + i) % r->alloc];
    free(r->e);
    r->e = e;
    r->start = 0;
    r->alloc = (uint32_t)n;
    return FERRY_OK;
}

/* Append block `number`; must not allocate (roots_reserve first). A number that does not follow
 * the newest restarts the ring at it. */
static void roots_push(struct roots *r, uint32_t number, const uint8_t hash[32],
                       const uint8_t root[32])
{
    if (r->count && r->lo + r->count != number) {
        r->count = 0;
        r->start = 0;
    }
    if (r->count == r->cap) {
        r->start = (r->start + 1) % r->alloc;
        r->lo++;
        r->count--;
    }
    if (!r->count)
        r->lo = number;
    struct root_entry *slot = &r->e[(r->start + r->count) % r->alloc];
    memcpy(slot->hash, hash, 32);
    memcpy(slot->root, root, 32);
    r->count++;
}

static const struct root_entry *roots_find(const struct roots *r, uint32_t number)
{
    if (!r->count || number < r->lo || number - r->lo >= r->count)
        return NULL;
    return &r->e[(r->start + (number - r->lo)) % r->alloc];
}

/* Drop entries below `number`, always keeping the newest. */
static void roots_forget_below(struct roots *r, uint32_t number)
{
    while (r->count > 1 && r->lo < number) {
        r->start = (r->start + 1) % r->alloc;
        r->lo++;
        r->count--;
    }
}

/* ---- construction --------------------------------------------------------------------------- */

static ferry_err lc_alloc(struct ferry_lc **out, const struct ferry_lc_config *cfg,
                          struct ferry_reason *why)
{
    *out = NULL;
    if (!cfg)
        return ferry_reason_set(why, FERRY_E_ARG, "no light-client configuration given");
    struct ferry_lc *lc = calloc(1, sizeof *lc);
    if (!lc)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    lc->cfg = *cfg;
    if (!lc->cfg.keep_roots)
        lc->cfg.keep_roots = DEFAULT_KEEP_ROOTS;
    if (!lc->cfg.parachain)
        lc->cfg.para_id = 0;
    lc->relay.cap = lc->cfg.keep_roots;
    lc->para.cap = lc->cfg.keep_roots;
    *out = lc;
    return FERRY_OK;
}

/* Set the trust root (number, hash, root) once the set is in place. */
static ferry_err lc_root(struct ferry_lc *lc, const struct ferry_header *h,
                         struct ferry_reason *why)
{
    if (roots_reserve(&lc->relay, 1))
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    lc->set.accept_forced = lc->cfg.accept_forced;
    lc->number = h->number;
    memcpy(lc->hash, h->hash, 32);
    memcpy(lc->state_root, h->state_root, 32);
    roots_push(&lc->relay, h->number, h->hash, h->state_root);
    return FERRY_OK;
}

ferry_err ferry_lc_new_genesis(struct ferry_lc **out, const struct ferry_lc_config *cfg,
                               const struct ferry_header *genesis,
                               const struct ferry_trie_proof *authorities_proof,
                               struct ferry_reason *why)
{
    struct ferry_lc *lc;
    ferry_err err = lc_alloc(&lc, cfg, why);
    if (err)
        return err;
    if (!genesis || !authorities_proof) {
        ferry_lc_free(lc);
        return ferry_reason_set(why, FERRY_E_ARG, "genesis header or authority proof missing");
    }
    if (genesis->number != 0) {
        ferry_lc_free(lc);
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "trust root header is block %u, not the genesis block",
                                genesis->number);
    }
    struct ferry_reason r = {{0}};
    err = ferry_authority_set_from_proof(&lc->set, authorities_proof, genesis->state_root, 0,
                                         genesis->hash, &r);
    if (err) {
        ferry_lc_free(lc);
        if (err == FERRY_E_NOMEM)
            return ferry_reason_set(why, err, "out of memory");
        if (err != FERRY_E_INCOMPLETE)
            err = FERRY_E_INVALID;
        return ferry_reason_set(why, err, "genesis authority set not proven: %s",
                                r.text[0] ? r.text : ferry_strerror(err));
    }
    err = lc_root(lc, genesis, why);
    if (err) {
        ferry_lc_free(lc);
        return err;
    }
    memcpy(lc->genesis, genesis->hash, 32);
    *out = lc;
    return FERRY_OK;
}

ferry_err ferry_lc_new_checkpoint(struct ferry_lc **out, const struct ferry_lc_config *cfg,
                                  const uint8_t genesis_hash[32], const struct ferry_header *header,
                                  const struct ferry_authority_set *set, struct ferry_reason *why)
{
    struct ferry_lc *lc;
    ferry_err err = lc_alloc(&lc, cfg, why);
    if (err)
        return err;
    if (!genesis_hash || !header || !set) {
        ferry_lc_free(lc);
        return ferry_reason_set(why, FERRY_E_ARG, "checkpoint incomplete");
    }
    if (set->number != header->number || memcmp(set->hash, header->hash, 32) != 0) {
        ferry_lc_free(lc);
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "checkpoint authority set is at block %u, not at its header #%u",
                                set->number, header->number);
    }
    if (!set->n_authorities) {
        ferry_lc_free(lc);
        return ferry_reason_set(why, FERRY_E_INVALID, "checkpoint authority set is empty");
    }
    if (header->number == 0 && memcmp(header->hash, genesis_hash, 32) != 0) {
        ferry_lc_free(lc);
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "checkpoint header is block 0 but not the genesis block");
    }
    if (ferry_authority_set_copy(&lc->set, set)) {
        ferry_lc_free(lc);
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    }
    err = lc_root(lc, header, why);
    if (err) {
        ferry_lc_free(lc);
        return err;
    }
    memcpy(lc->genesis, genesis_hash, 32);
    *out = lc;
    return FERRY_OK;
}

void ferry_lc_free(struct ferry_lc *lc)
{
    if (!lc)
        return;
    ferry_authority_set_free(&lc->set);
    roots_free(&lc->relay);
    roots_free(&lc->para);
    free(lc);
}

/* ---- relay batches --------------------------------------------------------------------------- */

struct ferry_lc_batch {
    struct ferry_lc *lc;
    struct ferry_authority_set work; /* lc->set with the batch's headers applied */
    struct root_entry *e;            /* per header: hash and state root */
    size_t n, cap;
    uint32_t first;   /* number of the first header */
    uint8_t last[32]; /* hash of the last header added (lc->hash when none) */
    uint32_t last_number;
    bool dead;    /* a header was refused: only abort remains */
    bool enacted; /* the last header added enacted a set change */
    bool forced;  /* ... a forced one (verified with the new set) */
};

ferry_err ferry_lc_batch_begin(struct ferry_lc *lc, struct ferry_lc_batch **out,
                               struct ferry_reason *why)
{
    *out = NULL;
    struct ferry_lc_batch *b = calloc(1, sizeof *b);
    if (!b || ferry_authority_set_copy(&b->work, &lc->set)) {
        free(b);
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    }
    b->lc = lc;
    b->first = lc->number + 1;
    memcpy(b->last, lc->hash, 32);
    b->last_number = lc->number;
    *out = b;
    return FERRY_OK;
}

static ferry_err batch_refuse(struct ferry_lc_batch *b, struct ferry_reason *why, ferry_err err,
                              uint32_t number, const char *reason)
{
    b->dead = true;
    return ferry_reason_set(why, err, "header #%u: %s", number, reason);
}

ferry_err ferry_lc_batch_add(struct ferry_lc_batch *b, const struct ferry_header *h,
                             struct ferry_reason *why)
{
    if (b->dead)
        return ferry_reason_set(why, FERRY_E_STATE, "the batch was refused earlier: abort it");
    if (b->enacted)
        return batch_refuse(b, why, FERRY_E_STATE, h->number,
                            "follows the enactment of an authority-set change in the same batch "
                            "(a batch must end at the enactment block)");
    if (h->number <= b->last_number)
        return batch_refuse(b, why, FERRY_E_STATE, h->number,
                            h->number == b->last_number ? "repeats the previous block"
                                                        : "goes back below the previous block");
    if (h->number != b->last_number + 1)
        return batch_refuse(b, why, FERRY_E_STATE, h->number,
                            "skips blocks after the previous one");
    if (memcmp(h->parent_hash, b->last, 32) != 0)
        return batch_refuse(b, why, FERRY_E_VERIFY, h->number,
                            "parent hash is not the hash of the previous block");
    if (b->n >= MAX_BATCH)
        return batch_refuse(b, why, FERRY_E_TOO_LARGE, h->number, "batch too long");
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        struct root_entry *e = realloc(b->e, nc * sizeof *e);
        if (!e)
            return batch_refuse(b, why, FERRY_E_NOMEM, h->number, "out of memory");
        b->e = e;
        b->cap = nc;
    }
    struct ferry_authority_set_event ev = {0};
    struct ferry_reason r = {{0}};
    ferry_err err = ferry_authority_set_apply_header(&b->work, h, &ev, &r);
    if (err)
        return batch_refuse(b, why, err, h->number, r.text[0] ? r.text : ferry_strerror(err));
    memcpy(b->e[b->n].hash, h->hash, 32);
    memcpy(b->e[b->n].root, h->state_root, 32);
    b->n++;
    memcpy(b->last, h->hash, 32);
    b->last_number = h->number;
    b->enacted = ev.enacted;
    b->forced = ev.enacted && ev.forced;
    return FERRY_OK;
}

void ferry_lc_batch_abort(struct ferry_lc_batch *b)
{
    if (!b)
        return;
    ferry_authority_set_free(&b->work);
    free(b->e);
    free(b);
}

ferry_err ferry_lc_batch_finish(struct ferry_lc_batch *b, const uint8_t *just, size_t len,
                                struct ferry_lc_change *ch, struct ferry_grandpa_verdict *v,
                                struct ferry_reason *why)
{
    struct ferry_grandpa_verdict local;
    if (!v)
        v = &local;
    memset(v, 0, sizeof *v);
    v->reason = FERRY_GRANDPA_DECODE;
    if (ch)
        memset(ch, 0, sizeof *ch);
    struct ferry_lc *lc = b->lc;
    ferry_err err = FERRY_OK;
    if (b->dead)
        err = ferry_reason_set(why, FERRY_E_STATE, "the batch was refused earlier");
    else if (!b->n)
        err = ferry_reason_set(why, FERRY_E_STATE, "empty batch: no header to finalize");
    if (err) {
        ferry_lc_batch_abort(b);
        return err;
    }
    /* The set in force signs the last block (a scheduled change enacted there is signed by the
     * old set); a forced change exists to replace a stalled set, so the new one signs. */
    const struct ferry_authority_set *signer = b->forced ? &b->work : &lc->set;
    struct ferry_voter_set vs;
    if (ferry_authority_set_voters(signer, &vs)) {
        ferry_lc_batch_abort(b);
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    }
    struct ferry_grandpa_verify_opts opts = {0};
    opts.threads = lc->cfg.threads;
    opts.flags = FERRY_GRANDPA_CHECK_TARGET;
    memcpy(opts.expected_hash, b->last, 32);
    opts.expected_number = b->last_number;
    err = ferry_grandpa_verify_encoded(just, len, &vs, signer->set_id, &opts, v, NULL, NULL);
    ferry_voter_set_free(&vs);
    if (err) {
        if (err != FERRY_E_NOMEM)
            err = FERRY_E_VERIFY;
        ferry_reason_set(why, err, "justification for #%u rejected (set_id %llu): %s: %s",
                         b->last_number, (unsigned long long)signer->set_id,
                         ferry_grandpa_reason_name(v->reason), v->detail);
        ferry_lc_batch_abort(b);
        return err;
    }
    if (roots_reserve(&lc->relay, b->n)) {
        ferry_lc_batch_abort(b);
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    }
    /* Commit: nothing below can fail. */
    uint64_t old_id = lc->set.set_id;
    for (size_t i = 0; i < b->n; i++)
        roots_push(&lc->relay, b->first + (uint32_t)i, b->e[i].hash, b->e[i].root);
    ferry_authority_set_free(&lc->set);
    lc->set = b->work;
    memset(&b->work, 0, sizeof b->work);
    lc->number = b->last_number;
    memcpy(lc->hash, b->last, 32);
    memcpy(lc->state_root, b->e[b->n - 1].root, 32);
    if (ch) {
        ch->finalized_from = b->first;
        ch->finalized_count = (uint32_t)b->n;
        ch->set_enacted = lc->set.set_id != old_id;
        ch->new_set_id = lc->set.set_id;
        ch->signatures = v->signatures;
    }
    ferry_lc_batch_abort(b);
    return FERRY_OK;
}

ferry_err ferry_lc_import_relay(struct ferry_lc *lc, const struct ferry_header *headers, size_t n,
                                const uint8_t *just, size_t just_len, struct ferry_lc_change *ch,
                                struct ferry_reason *why)
{
    struct ferry_lc_batch *b;
    ferry_err err = ferry_lc_batch_begin(lc, &b, why);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++) {
        err = ferry_lc_batch_add(b, &headers[i], why);
        if (err) {
            ferry_lc_batch_abort(b);
            return err;
        }
    }
    return ferry_lc_batch_finish(b, just, just_len, ch, NULL, why);
}

/* ---- parachain ------------------------------------------------------------------------------- */

static ferry_err prove_para_head(const struct ferry_lc *lc, uint32_t relay_number,
                                 const struct ferry_trie_proof *proof, struct ferry_header *head,
                                 struct ferry_reason *why);

ferry_err ferry_lc_import_para(struct ferry_lc *lc, uint32_t relay_number,
                               const struct ferry_trie_proof *proof,
                               const struct ferry_header *headers, size_t n,
                               struct ferry_lc_change *ch, struct ferry_reason *why)
{
    if (ch)
        memset(ch, 0, sizeof *ch);
    struct ferry_header head;
    struct ferry_reason r = {{0}};
    ferry_err err = prove_para_head(lc, relay_number, proof, &head, why);
    if (err)
        return err;
    uint32_t head_number = head.number;
    uint8_t head_hash[32];
    memcpy(head_hash, head.hash, 32);
    ferry_header_free(&head);
    if (lc->has_para && head_number < lc->para_number)
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "para head went back: relay #%u proves para #%u, below the "
                                "verified para #%u",
                                relay_number, head_number, lc->para_number);
    if (lc->has_para && head_number == lc->para_number) {
        if (memcmp(head_hash, lc->para_hash, 32) != 0)
            return ferry_reason_set(why, FERRY_E_VERIFY,
                                    "relay #%u proves another para #%u than the verified one",
                                    relay_number, head_number);
        if (n)
            return ferry_reason_set(why, FERRY_E_VERIFY,
                                    "para headers given above the proven head #%u", head_number);
        return FERRY_OK; /* nothing new */
    }
    if (!n)
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "relay #%u proves para #%u but no para headers were given",
                                relay_number, head_number);
    size_t bad = 0;
    if (lc->has_para) {
        err = ferry_para_chain_verify(lc->para_hash, lc->para_number, headers, n, head_hash, &bad,
                                      &r);
    } else {
        /* First para import: the proven head vouches for the headers linking back from it. */
        err = ferry_para_chain_verify(headers[0].hash, headers[0].number, headers + 1, n - 1,
                                      head_hash, &bad, &r);
        bad = bad + 1 > n ? n : bad + 1;
    }
    if (!err && headers[n - 1].number != head_number) {
        err = FERRY_E_VERIFY;
        ferry_reason_set(&r, err, "last header's number is not the proven head's");
        bad = n - 1;
    }
    if (err)
        return ferry_reason_set(
            why, FERRY_E_VERIFY, "para headers below the proven head #%u do not link (at %s%u): %s",
            head_number, bad < n ? "#" : "index ", bad < n ? headers[bad].number : (uint32_t)bad,
            r.text[0] ? r.text : "broken chain");
    if (roots_reserve(&lc->para, n))
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        roots_push(&lc->para, headers[i].number, headers[i].hash, headers[i].state_root);
    lc->has_para = true;
    lc->para_number = head_number;
    memcpy(lc->para_hash, head_hash, 32);
    memcpy(lc->para_state_root, headers[n - 1].state_root, 32);
    if (ch) {
        ch->para_advanced = true;
        ch->para_from = headers[0].number;
        ch->para_to = head_number;
    }
    return FERRY_OK;
}

/* Prove the para head at relay_number. Returns as ferry_lc_import_para. */
static ferry_err prove_para_head(const struct ferry_lc *lc, uint32_t relay_number,
                                 const struct ferry_trie_proof *proof, struct ferry_header *head,
                                 struct ferry_reason *why)
{
    memset(head, 0, sizeof *head);
    if (!lc->cfg.parachain)
        return ferry_reason_set(why, FERRY_E_STATE, "not following a parachain");
    const struct root_entry *at = roots_find(&lc->relay, relay_number);
    if (!at)
        return ferry_reason_set(why, FERRY_E_STATE,
                                "relay block #%u is not a verified block this state retains",
                                relay_number);
    struct ferry_reason r = {{0}};
    ferry_err err = ferry_para_head_verify(proof, at->root, lc->cfg.para_id, head, &r);
    if (err == FERRY_E_NOT_FOUND)
        return ferry_reason_set(why, err, "Paras::Heads(%u) at relay #%u: %s", lc->cfg.para_id,
                                relay_number, r.text[0] ? r.text : "absent");
    if (err) {
        /* A proof against another root is indistinguishable from an incomplete one: both are
         * a proof that does not prove the head at this block. */
        if (err != FERRY_E_NOMEM)
            err = FERRY_E_VERIFY;
        return ferry_reason_set(why, err, "Paras::Heads(%u) at relay #%u not proven: %s",
                                lc->cfg.para_id, relay_number,
                                r.text[0] ? r.text : ferry_strerror(err));
    }
    return FERRY_OK;
}

ferry_err ferry_lc_import_para_head(struct ferry_lc *lc, uint32_t relay_number,
                                    const struct ferry_trie_proof *proof, struct ferry_header *head,
                                    struct ferry_lc_change *ch, struct ferry_reason *why)
{
    if (ch)
        memset(ch, 0, sizeof *ch);
    struct ferry_header h;
    ferry_err err = prove_para_head(lc, relay_number, proof, &h, why);
    if (head)
        memset(head, 0, sizeof *head);
    if (err)
        return err;
    if (lc->has_para && h.number <= lc->para_number) {
        err = ferry_reason_set(why, FERRY_E_VERIFY,
                               "relay #%u proves para #%u, not above the verified para #%u",
                               relay_number, h.number, lc->para_number);
        ferry_header_free(&h);
        return err;
    }
    if (roots_reserve(&lc->para, 1)) {
        ferry_header_free(&h);
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    }
    if (lc->para.count && lc->para.lo + lc->para.count != h.number) {
        lc->para.count = 0; /* a gap: the older roots no longer lead anywhere */
        lc->para.start = 0;
    }
    roots_push(&lc->para, h.number, h.hash, h.state_root);
    lc->has_para = true;
    lc->para_number = h.number;
    memcpy(lc->para_hash, h.hash, 32);
    memcpy(lc->para_state_root, h.state_root, 32);
    if (ch) {
        ch->para_advanced = true;
        ch->para_from = h.number;
        ch->para_to = h.number;
    }
    if (head)
        *head = h;
    else
        ferry_header_free(&h);
    return FERRY_OK;
}

ferry_err ferry_lc_trust_para(struct ferry_lc *lc, const struct ferry_header *head,
                              struct ferry_reason *why)
{
    if (!lc->cfg.parachain)
        return ferry_reason_set(why, FERRY_E_STATE, "not following a parachain");
    if (lc->has_para)
        return ferry_reason_set(why, FERRY_E_STATE, "a para head is already verified");
    if (roots_reserve(&lc->para, 1))
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    lc->para.count = 0;
    lc->para.start = 0;
    roots_push(&lc->para, head->number, head->hash, head->state_root);
    lc->has_para = true;
    lc->para_number = head->number;
    memcpy(lc->para_hash, head->hash, 32);
    memcpy(lc->para_state_root, head->state_root, 32);
    return FERRY_OK;
}

/* ---- reads ---------------------------------------------------------------------------------- */

ferry_err ferry_lc_state_root(const struct ferry_lc *lc, enum ferry_lc_chain c, uint32_t number,
                              uint8_t root[32], uint8_t hash[32])
{
    const struct root_entry *e = roots_find(c == FERRY_LC_PARA ? &lc->para : &lc->relay, number);
    if (!e)
        return FERRY_E_NOT_FOUND;
    if (root)
        memcpy(root, e->root, 32);
    if (hash)
        memcpy(hash, e->hash, 32);
    return FERRY_OK;
}

ferry_err ferry_lc_read(const struct ferry_lc *lc, enum ferry_lc_chain c, uint32_t number,
                        const struct ferry_trie_proof *proof, const uint8_t *key, size_t key_len,
                        const uint8_t **value, size_t *value_len, struct ferry_reason *why)
{
    *value = NULL;
    *value_len = 0;
    const char *name = c == FERRY_LC_PARA ? "para" : "relay";
    const struct root_entry *e = roots_find(c == FERRY_LC_PARA ? &lc->para : &lc->relay, number);
    if (!e)
        return ferry_reason_set(why, FERRY_E_STATE,
                                "%s block #%u is not a verified block this state retains", name,
                                number);
    struct ferry_reason r = {{0}};
    ferry_err err = ferry_trie_proof_lookup(proof, e->root, key, key_len, value, value_len, &r);
    if (err)
        ferry_reason_set(why, err, "read at %s #%u: %s", name, number,
                         r.text[0] ? r.text : ferry_strerror(err));
    return err;
}

void ferry_lc_forget_below(struct ferry_lc *lc, uint32_t relay_number, uint32_t para_number)
{
    roots_forget_below(&lc->relay, relay_number);
    roots_forget_below(&lc->para, para_number);
}

/* ---- accessors ------------------------------------------------------------------------------ */

void ferry_lc_status(const struct ferry_lc *lc, struct ferry_lc_status *st)
{
    memset(st, 0, sizeof *st);
    memcpy(st->genesis_hash, lc->genesis, 32);
    st->number = lc->number;
    memcpy(st->hash, lc->hash, 32);
    memcpy(st->state_root, lc->state_root, 32);
    st->set_id = lc->set.set_id;
    st->n_authorities = lc->set.n_authorities;
    st->parachain = lc->cfg.parachain;
    st->para_id = lc->cfg.para_id;
    st->has_para = lc->has_para;
    st->para_number = lc->para_number;
    memcpy(st->para_hash, lc->para_hash, 32);
    memcpy(st->para_state_root, lc->para_state_root, 32);
}

const struct ferry_authority_set *ferry_lc_authority_set(const struct ferry_lc *lc)
{
    return &lc->set;
}

void ferry_lc_config_get(const struct ferry_lc *lc, struct ferry_lc_config *cfg)
{
    *cfg = lc->cfg;
}

/* ---- persistence ---------------------------------------------------------------------------- *
 *
 * v1: version u8 = 1 ‖ genesis[32] ‖ parachain bool ‖ para_id u32 ‖ accept_forced bool
 *     ‖ threads u32 ‖ keep_roots u32 ‖ number u32 ‖ hash[32] ‖ state_root[32]
 *     ‖ authority set (Vec<u8> of ferry_authority_set_encode)
 *     ‖ has_para bool ‖ para_number u32 ‖ para_hash[32] ‖ para_state_root[32]
 *     ‖ relay roots ‖ para roots ‖ blake2b-256 of everything before it
 * roots: lo u32 ‖ Compact count ‖ count × (hash[32] ‖ root[32]), oldest first.
 */

static void roots_encode(const struct roots *r, struct ferry_scale_writer *w)
{
    ferry_scale_put_u32(w, r->count ? r->lo : 0);
    ferry_scale_put_compact(w, r->count);
    for (uint32_t i = 0; i < r->count; i++) {
        const struct root_entry *e = &r->e[(r->start + i) % r->alloc];
        ferry_scale_put_bytes(w, e->hash, 32);
        ferry_scale_put_bytes(w, e->root, 32);
    }
}

void ferry_lc_encode(const struct ferry_lc *lc, struct ferry_scale_writer *w)
{
    size_t from = w->len;
    ferry_scale_put_u8(w, LC_VERSION);
    ferry_scale_put_bytes(w, lc->genesis, 32);
    ferry_scale_put_bool(w, lc->cfg.parachain);
    ferry_scale_put_u32(w, lc->cfg.para_id);
    ferry_scale_put_bool(w, lc->cfg.accept_forced);
    ferry_scale_put_u32(w, lc->cfg.threads);
    ferry_scale_put_u32(w, lc->cfg.keep_roots);
    ferry_scale_put_u32(w, lc->number);
    ferry_scale_put_bytes(w, lc->hash, 32);
    ferry_scale_put_bytes(w, lc->state_root, 32);
    struct ferry_scale_writer sw;
    ferry_scale_writer_init(&sw);
    ferry_authority_set_encode(&lc->set, &sw);
    if (ferry_scale_writer_error(&sw))
        w->oom = true;
    ferry_scale_put_byte_vec(w, sw.buf, sw.len);
    ferry_scale_writer_free(&sw);
    ferry_scale_put_bool(w, lc->has_para);
    ferry_scale_put_u32(w, lc->para_number);
    ferry_scale_put_bytes(w, lc->para_hash, 32);
    ferry_scale_put_bytes(w, lc->para_state_root, 32);
    roots_encode(&lc->relay, w);
    roots_encode(&lc->para, w);
    if (ferry_scale_writer_error(w))
        return;
    uint8_t digest[32];
    ferry_blake2b_256(digest, w->buf + from, w->len - from);
    ferry_scale_put_bytes(w, digest, 32);
}

static bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static ferry_err roots_decode(struct ferry_scale_reader *r, struct roots *out)
{
    uint32_t lo = 0;
    size_t count = 0;
    (void)ferry_scale_u32(r, &lo);
    if (ferry_scale_vec_len(r, 64, &count))
        return r->err;
    if (count > out->cap)
        return ferry_scale_fail(r, FERRY_E_INVALID, "more retained roots than keep_roots");
    if (count && (uint64_t)lo + count - 1 > UINT32_MAX)
        return ferry_scale_fail(r, FERRY_E_INVALID, "retained roots run past block 2^32-1");
    if (count) {
        out->e = malloc(count * sizeof *out->e);
        if (!out->e)
            return ferry_scale_fail(r, FERRY_E_NOMEM, "out of memory");
        out->alloc = (uint32_t)count;
    }
    for (size_t i = 0; i < count; i++) {
        (void)ferry_scale_copy(r, out->e[i].hash, 32);
        (void)ferry_scale_copy(r, out->e[i].root, 32);
    }
    out->lo = count ? lo : 0;
    out->count = (uint32_t)count;
    out->start = 0;
    return r->err;
}

ferry_err ferry_lc_decode(struct ferry_lc **out, const uint8_t *buf, size_t len,
                          struct ferry_reason *why)
{
    *out = NULL;
    if (len < 1 + 32)
        return ferry_reason_set(why, FERRY_E_TRUNCATED,
                                "light-client state of %zu bytes is truncated", len);
    if (buf[0] != LC_VERSION)
        return ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                                "light-client state version %u is not supported (ferry writes %u)",
                                buf[0], LC_VERSION);
    uint8_t digest[32];
    ferry_blake2b_256(digest, buf, len - 32);
    if (memcmp(digest, buf + len - 32, 32) != 0)
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "light-client state digest does not match: truncated or altered");
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, buf + 1, len - 1 - 32);
    struct ferry_lc_config cfg = {0};
    uint8_t genesis[32];
    (void)ferry_scale_copy(&r, genesis, 32);
    (void)ferry_scale_bool(&r, &cfg.parachain);
    (void)ferry_scale_u32(&r, &cfg.para_id);
    (void)ferry_scale_bool(&r, &cfg.accept_forced);
    uint32_t threads = 0;
    (void)ferry_scale_u32(&r, &threads);
    cfg.threads = threads;
    (void)ferry_scale_u32(&r, &cfg.keep_roots);
    if (r.err) {
        char d[128];
        return ferry_reason_set(why, r.err, "light-client state: %s",
                                ferry_scale_describe(&r, d, sizeof d));
    }
    struct ferry_lc *lc;
    ferry_err err = lc_alloc(&lc, &cfg, why);
    if (err)
        return err;
    memcpy(lc->genesis, genesis, 32);
    const char *bad = NULL;
    if (!cfg.keep_roots || (!cfg.parachain && cfg.para_id))
        bad = "configuration is not one ferry writes";
    (void)ferry_scale_u32(&r, &lc->number);
    (void)ferry_scale_copy(&r, lc->hash, 32);
    (void)ferry_scale_copy(&r, lc->state_root, 32);
    const uint8_t *sb = NULL;
    size_t sl = 0;
    if (!ferry_scale_byte_vec(&r, &sb, &sl)) {
        err = ferry_authority_set_decode(&lc->set, sb, sl, NULL);
        if (err)
            (void)ferry_scale_fail(&r, err == FERRY_E_NOMEM ? err : FERRY_E_INVALID,
                                   "authority set does not decode");
    }
    (void)ferry_scale_bool(&r, &lc->has_para);
    (void)ferry_scale_u32(&r, &lc->para_number);
    (void)ferry_scale_copy(&r, lc->para_hash, 32);
    (void)ferry_scale_copy(&r, lc->para_state_root, 32);
    if (!r.err)
        (void)roots_decode(&r, &lc->relay);
    if (!r.err)
        (void)roots_decode(&r, &lc->para);
    if (!r.err)
        if (ferry_scale_finish(&r)) {
            /* r.err says why */
        }
    if (r.err) {
        char d[128];
        err = ferry_reason_set(why, r.err, "light-client state: %s",
                               ferry_scale_describe(&r, d, sizeof d));
        ferry_lc_free(lc);
        return err;
    }
    /* The pieces must describe one state. */
    const struct root_entry *top = roots_find(&lc->relay, lc->number);
    if (!bad && (lc->set.number != lc->number || memcmp(lc->set.hash, lc->hash, 32) != 0))
        bad = "authority set is not at the last verified block";
    if (!bad && lc->set.accept_forced != cfg.accept_forced)
        bad = "authority set policy differs from the configuration";
    if (!bad && (!top || lc->relay.lo + lc->relay.count - 1 != lc->number ||
                 memcmp(top->hash, lc->hash, 32) != 0 || memcmp(top->root, lc->state_root, 32)))
        bad = "retained relay roots do not end at the last verified block";
    if (!bad && lc->has_para && !cfg.parachain)
        bad = "para head in a state that follows no parachain";
    if (!bad && lc->has_para) {
        const struct root_entry *pt = roots_find(&lc->para, lc->para_number);
        if (!pt || lc->para.lo + lc->para.count - 1 != lc->para_number ||
            memcmp(pt->hash, lc->para_hash, 32) != 0 ||
            memcmp(pt->root, lc->para_state_root, 32) != 0)
            bad = "retained para roots do not end at the last verified para block";
    }
    if (!bad && !lc->has_para &&
        (lc->para.count || lc->para_number || !is_zero(lc->para_hash, 32) ||
         !is_zero(lc->para_state_root, 32)))
        bad = "para roots without a para head";
    /* One state, one encoding: what ferry did not write (a non-canonical authority set, say)
     * is refused rather than silently rewritten. */
    if (!bad) {
        struct ferry_scale_writer w;
        ferry_scale_writer_init(&w);
        ferry_lc_encode(lc, &w);
        err = ferry_scale_writer_error(&w);
        if (!err && (w.len != len || memcmp(w.buf, buf, len) != 0))
            bad = "not in the form ferry writes";
        ferry_scale_writer_free(&w);
        if (err) {
            ferry_lc_free(lc);
            return ferry_reason_set(why, err, "out of memory");
        }
    }
    if (bad) {
        ferry_lc_free(lc);
        return ferry_reason_set(why, FERRY_E_INVALID, "light-client state: %s", bad);
    }
    *out = lc;
    return FERRY_OK;
}
