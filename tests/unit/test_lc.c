/* The light-client core (lc.h) against in-process generated chains: GRANDPA voters with
 * deterministic ed25519 keys sign justifications exactly as test_grandpa's generator does, relay
 * headers carry FRNK set changes (delay 0 and > 0), and relay state roots commit to generated
 * tries holding Paras::Heads. Every lie is refused with its reason and leaves the state
 * byte-identical (ferry_lc_encode before and after). No node, no network, no files. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/lc.h"

/* ---- generator ------------------------------------------------------------------------------- */

#define NV    4 /* voters per set: threshold 3 */
#define ROUND 11

struct voter {
    uint8_t pk[32];
    uint8_t sk[64];
};

struct vset {
    struct voter v[NV];
    uint64_t id;
};

static void gen_set(struct vset *s, uint32_t tag, uint64_t id)
{
    for (size_t i = 0; i < NV; i++) {
        uint8_t seed[32] = {0};
        memcpy(seed, &tag, 4);
        memcpy(seed + 4, &i, sizeof i);
        crypto_sign_seed_keypair(s->v[i].pk, s->v[i].sk, seed);
    }
    s->id = id;
}

/* FRNK log payloads. kind 1 = ScheduledChange(next, delay), 2 = ForcedChange(median, next, d). */
static void frnk_change(struct ferry_scale_writer *d, int kind, const struct vset *next,
                        uint32_t delay)
{
    struct ferry_scale_writer p;
    ferry_scale_writer_init(&p);
    ferry_scale_put_u8(&p, (uint8_t)kind);
    if (kind == 2)
        ferry_scale_put_u32(&p, 0);
    ferry_scale_put_compact(&p, NV);
    for (size_t i = 0; i < NV; i++) {
        ferry_scale_put_bytes(&p, next->v[i].pk, 32);
        ferry_scale_put_u64(&p, 1);
    }
    ferry_scale_put_u32(&p, delay);
    ferry_scale_writer_init(d);
    ferry_scale_put_compact(d, 1);
    ferry_scale_put_u8(d, 4);
    ferry_scale_put_bytes(d, "FRNK", 4);
    ferry_scale_put_byte_vec(d, p.buf, p.len);
    ferry_scale_writer_free(&p);
}

/* A header; root NULL = a made-up state root from (salt, number). digest NULL = no logs. */
static void mk_header(struct ferry_header *h, const uint8_t parent[32], uint32_t number,
                      const uint8_t *root, uint8_t salt, const struct ferry_scale_writer *digest)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_bytes(&w, parent, 32);
    ferry_scale_put_compact(&w, number);
    uint8_t r[32] = {salt, (uint8_t)number, (uint8_t)(number >> 8), 0x5a};
    ferry_scale_put_bytes(&w, root ? root : r, 32);
    ferry_scale_put_bytes(&w, r, 32);
    if (digest)
        ferry_scale_put_bytes(&w, digest->buf, digest->len);
    else
        ferry_scale_put_compact(&w, 0);
    ck_assert_int_eq(ferry_header_decode(h, w.buf, w.len, NULL), FERRY_OK);
    ferry_scale_writer_free(&w);
}

/* Encoded justification of (hash, number) precommitted by the first `signers` voters of s,
 * signed for set id `set_id`. */
static uint8_t *mk_just(const struct vset *s, size_t signers, uint64_t set_id,
                        const uint8_t hash[32], uint32_t number, size_t *len)
{
    struct ferry_grandpa_justification j;
    memset(&j, 0, sizeof j);
    j.round = ROUND;
    memcpy(j.target_hash, hash, 32);
    j.target_number = number;
    j.precommits = calloc(NV, sizeof *j.precommits);
    for (size_t i = 0; i < signers; i++) {
        struct ferry_grandpa_precommit *p = &j.precommits[j.n_precommits++];
        uint8_t msg[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN];
        memcpy(p->target_hash, hash, 32);
        p->target_number = number;
        memcpy(p->id, s->v[i].pk, 32);
        ferry_grandpa_precommit_payload(msg, hash, number, ROUND, set_id);
        crypto_sign_detached(p->signature, NULL, msg, sizeof msg, s->v[i].sk);
    }
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_grandpa_justification_encode(&j, &w);
    ferry_grandpa_justification_free(&j);
    return ferry_scale_writer_take(&w, len);
}

static uint8_t *just_for(const struct vset *s, const struct ferry_header *h, size_t *len)
{
    return mk_just(s, NV, s->id, h->hash, h->number, len);
}

/* A run of headers above `parent`, numbers from+0 .. from+n-1, salt distinguishing forks. */
struct run {
    struct ferry_header *h;
    size_t n;
};

static void mk_run(struct run *r, const uint8_t parent[32], uint32_t from, size_t n, uint8_t salt)
{
    r->h = calloc(n ? n : 1, sizeof *r->h);
    r->n = n;
    for (size_t i = 0; i < n; i++)
        mk_header(&r->h[i], i ? r->h[i - 1].hash : parent, from + (uint32_t)i, NULL, salt, NULL);
}

static void free_run(struct run *r)
{
    for (size_t i = 0; i < r->n; i++)
        ferry_header_free(&r->h[i]);
    free(r->h);
    memset(r, 0, sizeof *r);
}

/* Snapshot of the encoded state. */
struct snap {
    uint8_t *p;
    size_t len;
};

static struct snap snap_take(const struct ferry_lc *lc)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_lc_encode(lc, &w);
    ck_assert_int_eq(ferry_scale_writer_error(&w), FERRY_OK);
    struct snap s;
    s.p = ferry_scale_writer_take(&w, &s.len);
    return s;
}

static void snap_same(const struct ferry_lc *lc, struct snap *s)
{
    struct snap now = snap_take(lc);
    ck_assert_uint_eq(now.len, s->len);
    ck_assert_int_eq(memcmp(now.p, s->p, s->len), 0);
    free(now.p);
    free(s->p);
    s->p = NULL;
}

/* The reason must mention `needle`. */
#define ck_reason(why, needle)                                                                     \
    ck_assert_msg(strstr((why).text, needle) != NULL, "reason \"%s\" lacks \"%s\"", (why).text,    \
                  needle)

/* Genesis with set s proven in its state (Grandpa::Authorities, CurrentSetId absent = 0). */
static struct ferry_lc *lc_genesis(const struct ferry_lc_config *cfg, const struct vset *s,
                                   struct ferry_header *genesis)
{
    uint8_t key[32], root[32];
    ferry_storage_prefix(key, "Grandpa", "Authorities");
    struct ferry_scale_writer v;
    ferry_scale_writer_init(&v);
    ferry_scale_put_compact(&v, NV);
    for (size_t i = 0; i < NV; i++) {
        ferry_scale_put_bytes(&v, s->v[i].pk, 32);
        ferry_scale_put_u64(&v, 1);
    }
    struct ferry_trie_kv kv = {key, 32, v.buf, v.len};
    struct ferry_trie_proof *proof;
    ck_assert_int_eq(ferry_trie_build_proof(&kv, 1, FERRY_TRIE_V1, root, &proof), FERRY_OK);
    uint8_t zero[32] = {0};
    mk_header(genesis, zero, 0, root, 0, NULL);
    struct ferry_lc *lc = NULL;
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(ferry_lc_new_genesis(&lc, cfg, genesis, proof, &why), FERRY_OK);
    ferry_trie_proof_free(proof);
    ferry_scale_writer_free(&v);
    return lc;
}

/* Import run r (all of it) justified by set s; must succeed. */
static void import_ok(struct ferry_lc *lc, const struct run *r, const struct vset *s,
                      struct ferry_lc_change *ch)
{
    size_t jl;
    uint8_t *j = just_for(s, &r->h[r->n - 1], &jl);
    struct ferry_reason why = {{0}};
    ferry_err err = ferry_lc_import_relay(lc, r->h, r->n, j, jl, ch, &why);
    ck_assert_msg(err == FERRY_OK, "import refused: %s", why.text);
    free(j);
}

static uint32_t lc_number(const struct ferry_lc *lc)
{
    struct ferry_lc_status st;
    ferry_lc_status(lc, &st);
    return st.number;
}

static const uint8_t *lc_hash(const struct ferry_lc *lc)
{
    static struct ferry_lc_status st;
    ferry_lc_status(lc, &st);
    return st.hash;
}

/* ---- tests ----------------------------------------------------------------------------------- */

START_TEST(genesis_and_batches)
{
    struct vset a;
    gen_set(&a, 1, 0);
    struct ferry_lc_config cfg = {0};
    struct ferry_header g;
    struct ferry_lc *lc = lc_genesis(&cfg, &a, &g);
    struct ferry_lc_status st;
    ferry_lc_status(lc, &st);
    ck_assert_uint_eq(st.number, 0);
    ck_assert_int_eq(memcmp(st.genesis_hash, g.hash, 32), 0);
    ck_assert_int_eq(memcmp(st.hash, g.hash, 32), 0);
    ck_assert_uint_eq(st.set_id, 0);
    ck_assert_uint_eq(st.n_authorities, NV);
    ck_assert(!st.parachain);

    struct run r;
    mk_run(&r, g.hash, 1, 10, 1);
    struct ferry_lc_change ch;
    import_ok(lc, &r, &a, &ch);
    ck_assert_uint_eq(ch.finalized_from, 1);
    ck_assert_uint_eq(ch.finalized_count, 10);
    ck_assert(!ch.set_enacted);
    ck_assert_uint_eq(ch.signatures, NV);
    ck_assert_uint_eq(lc_number(lc), 10);
    /* every block of the batch is retained */
    for (uint32_t n = 0; n <= 10; n++) {
        uint8_t root[32], hash[32];
        ck_assert_int_eq(ferry_lc_state_root(lc, FERRY_LC_RELAY, n, root, hash), FERRY_OK);
        ck_assert_int_eq(memcmp(hash, n ? r.h[n - 1].hash : g.hash, 32), 0);
    }
    uint8_t root[32];
    ck_assert_int_eq(ferry_lc_state_root(lc, FERRY_LC_RELAY, 11, root, NULL), FERRY_E_NOT_FOUND);
    ck_assert_int_eq(ferry_lc_state_root(lc, FERRY_LC_PARA, 0, root, NULL), FERRY_E_NOT_FOUND);

    /* streamed batch, with the verdict */
    struct run r2;
    mk_run(&r2, r.h[9].hash, 11, 3, 1);
    struct ferry_lc_batch *b;
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(ferry_lc_batch_begin(lc, &b, &why), FERRY_OK);
    for (size_t i = 0; i < r2.n; i++)
        ck_assert_int_eq(ferry_lc_batch_add(b, &r2.h[i], &why), FERRY_OK);
    size_t jl;
    uint8_t *j = just_for(&a, &r2.h[2], &jl);
    struct ferry_grandpa_verdict v;
    ck_assert_int_eq(ferry_lc_batch_finish(b, j, jl, &ch, &v, &why), FERRY_OK);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_VALID);
    ck_assert_uint_eq(ch.finalized_from, 11);
    ck_assert_uint_eq(ch.finalized_count, 3);
    ck_assert_uint_eq(lc_number(lc), 13);
    free(j);
    /* threshold: 3 of 4 signers is enough */
    struct run r3;
    mk_run(&r3, r2.h[2].hash, 14, 1, 1);
    j = mk_just(&a, 3, 0, r3.h[0].hash, 14, &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, r3.h, 1, j, jl, &ch, &why), FERRY_OK);
    ck_assert_uint_eq(ch.signatures, 3);
    free(j);
    free_run(&r);
    free_run(&r2);
    free_run(&r3);
    ferry_header_free(&g);
    ferry_lc_free(lc);
}
END_TEST

/* Set changes: delay 0 (enacted at the signal block, which the old set signs) and delay 3. */
START_TEST(set_changes)
{
    struct vset a, b, c, d;
    gen_set(&a, 1, 0);
    gen_set(&b, 2, 1);
    gen_set(&c, 3, 2);
    gen_set(&d, 4, 3);
    struct ferry_lc_config cfg = {0};
    struct ferry_header g;
    struct ferry_lc *lc = lc_genesis(&cfg, &a, &g);
    struct ferry_reason why = {{0}};
    struct ferry_lc_change ch;

    /* #1 signals A -> B with delay 0: enacted at #1, #1 signed by A (set 0) */
    struct ferry_scale_writer dg;
    frnk_change(&dg, 1, &b, 0);
    struct ferry_header h1, h2;
    mk_header(&h1, g.hash, 1, NULL, 1, &dg);
    ferry_scale_writer_free(&dg);
    size_t jl;
    /* signed by the new set: refused, state unchanged */
    struct snap s = snap_take(lc);
    uint8_t *j = mk_just(&b, NV, 0, h1.hash, 1, &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, &h1, 1, j, jl, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "below_threshold");
    snap_same(lc, &s);
    free(j);
    j = just_for(&a, &h1, &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, &h1, 1, j, jl, &ch, &why), FERRY_OK);
    ck_assert(ch.set_enacted);
    ck_assert_uint_eq(ch.new_set_id, 1);
    ck_assert_mem_eq(ferry_lc_authority_set(lc)->authorities[0].id, b.v[0].pk, 32);
    free(j);
    /* #2 must now be signed by B with set id 1; A is refused */
    mk_header(&h2, h1.hash, 2, NULL, 1, NULL);
    s = snap_take(lc);
    j = mk_just(&a, NV, 1, h2.hash, 2, &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, &h2, 1, j, jl, &ch, &why), FERRY_E_VERIFY);
    snap_same(lc, &s);
    free(j);
    /* B's keys but the old set id: the signatures do not verify */
    s = snap_take(lc);
    j = mk_just(&b, NV, 0, h2.hash, 2, &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, &h2, 1, j, jl, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "bad_signature");
    snap_same(lc, &s);
    free(j);
    j = just_for(&b, &h2, &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, &h2, 1, j, jl, &ch, &why), FERRY_OK);
    ck_assert(!ch.set_enacted);
    free(j);

    /* #3 signals B -> C with delay 3: enacted at #6, which B (set 1) signs */
    frnk_change(&dg, 1, &c, 3);
    struct ferry_header hs[6];
    mk_header(&hs[0], h2.hash, 3, NULL, 1, &dg);
    ferry_scale_writer_free(&dg);
    for (int i = 1; i < 6; i++)
        mk_header(&hs[i], hs[i - 1].hash, 3 + (uint32_t)i, NULL, 1, NULL);
    /* a batch that runs past the enactment (#3..#7) is refused at #7 */
    s = snap_take(lc);
    j = just_for(&b, &hs[4], &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, hs, 5, j, jl, &ch, &why), FERRY_E_STATE);
    ck_reason(why, "#7");
    ck_reason(why, "enactment");
    snap_same(lc, &s);
    free(j);
    /* #3..#4 (signal, no enactment yet) then #5..#6 (enactment at the end) */
    j = just_for(&b, &hs[1], &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, hs, 2, j, jl, &ch, &why), FERRY_OK);
    ck_assert(!ch.set_enacted);
    ck_assert_uint_eq(ferry_lc_authority_set(lc)->set_id, 1);
    ck_assert(ferry_lc_authority_set(lc)->has_scheduled);
    free(j);
    /* a round-trip in the middle of a pending change keeps it */
    struct snap mid = snap_take(lc);
    struct ferry_lc *lc2;
    ck_assert_int_eq(ferry_lc_decode(&lc2, mid.p, mid.len, &why), FERRY_OK);
    snap_same(lc2, &mid);
    ferry_lc_free(lc);
    lc = lc2;
    j = just_for(&b, &hs[3], &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, hs + 2, 2, j, jl, &ch, &why), FERRY_OK);
    ck_assert(ch.set_enacted);
    ck_assert_uint_eq(ch.new_set_id, 2);
    ck_assert_uint_eq(ch.finalized_from, 5);
    free(j);
    /* #7 by C */
    j = mk_just(&c, NV, 2, hs[4].hash, 7, &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, hs + 4, 1, j, jl, &ch, &why), FERRY_OK);
    free(j);

    /* a forced change is refused without accept_forced, at the header that carries it */
    frnk_change(&dg, 2, &d, 0);
    struct ferry_header hf;
    mk_header(&hf, hs[4].hash, 8, NULL, 1, &dg);
    ferry_scale_writer_free(&dg);
    s = snap_take(lc);
    j = mk_just(&d, NV, 3, hf.hash, 8, &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, &hf, 1, j, jl, &ch, &why), FERRY_E_UNSUPPORTED);
    ck_reason(why, "#8");
    snap_same(lc, &s);
    free(j);

    ferry_header_free(&hf);
    for (int i = 0; i < 6; i++)
        ferry_header_free(&hs[i]);
    ferry_header_free(&h1);
    ferry_header_free(&h2);
    ferry_header_free(&g);
    ferry_lc_free(lc);
}
END_TEST

/* With accept_forced, a forced change with delay 0 is signed by the new set. */
START_TEST(forced_change_accepted)
{
    struct vset a, d;
    gen_set(&a, 1, 0);
    gen_set(&d, 4, 1);
    struct ferry_lc_config cfg = {0};
    cfg.accept_forced = true;
    struct ferry_header g, hf;
    struct ferry_lc *lc = lc_genesis(&cfg, &a, &g);
    struct ferry_scale_writer dg;
    frnk_change(&dg, 2, &d, 0);
    mk_header(&hf, g.hash, 1, NULL, 1, &dg);
    ferry_scale_writer_free(&dg);
    struct ferry_reason why = {{0}};
    struct ferry_lc_change ch;
    size_t jl;
    struct snap s = snap_take(lc);
    uint8_t *j = mk_just(&a, NV, 0, hf.hash, 1, &jl); /* the stalled set: refused */
    ck_assert_int_eq(ferry_lc_import_relay(lc, &hf, 1, j, jl, &ch, &why), FERRY_E_VERIFY);
    snap_same(lc, &s);
    free(j);
    j = mk_just(&d, NV, 1, hf.hash, 1, &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, &hf, 1, j, jl, &ch, &why), FERRY_OK);
    ck_assert(ch.set_enacted);
    ck_assert_uint_eq(ch.new_set_id, 1);
    free(j);
    ferry_header_free(&hf);
    ferry_header_free(&g);
    ferry_lc_free(lc);
}
END_TEST

/* Every lie about relay headers and justifications: refused with a reason, state unchanged. */
START_TEST(relay_lies)
{
    struct vset a, x;
    gen_set(&a, 1, 0);
    gen_set(&x, 99, 0); /* a foreign set */
    struct ferry_lc_config cfg = {0};
    struct ferry_header g;
    struct ferry_lc *lc = lc_genesis(&cfg, &a, &g);
    struct run r, fork;
    mk_run(&r, g.hash, 1, 5, 1);
    import_ok(lc, &r, &a, NULL);
    struct run next;
    mk_run(&next, r.h[4].hash, 6, 4, 1); /* #6..#9 */
    mk_run(&fork, r.h[4].hash, 6, 4, 2); /* a sibling branch #6'..#9' */
    struct ferry_reason why;
    struct ferry_lc_change ch;
    size_t jl;
    uint8_t *j;
    struct snap s;

    /* altered header: #7's state root changed (so its hash), the batch no longer links */
    struct ferry_header alt[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(ferry_header_copy(&alt[i], &next.h[i]), FERRY_OK);
    ferry_header_free(&alt[1]);
    uint8_t bogus[32] = {0xee};
    mk_header(&alt[1], next.h[0].hash, 7, bogus, 1, NULL);
    s = snap_take(lc);
    j = just_for(&a, &next.h[3], &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, alt, 4, j, jl, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "#8");
    ck_reason(why, "parent hash");
    snap_same(lc, &s);
    /* altered last header: the justification is for another block */
    ferry_header_free(&alt[3]);
    mk_header(&alt[3], next.h[2].hash, 9, bogus, 1, NULL);
    ferry_header_free(&alt[1]);
    ck_assert_int_eq(ferry_header_copy(&alt[1], &next.h[1]), FERRY_OK);
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, alt, 4, j, jl, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "commit_target_mismatch");
    snap_same(lc, &s);
    free(j);
    for (int i = 0; i < 4; i++)
        ferry_header_free(&alt[i]);

    /* forged signature: one byte of one signature flipped */
    j = just_for(&a, &next.h[3], &jl);
    /* round u64, hash 32, number u32, Compact(4) = 1, then precommit 0: hash 32, number 4,
     * signature 64 */
    j[8 + 32 + 4 + 1 + 32 + 4 + 10] ^= 1;
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, next.h, 4, j, jl, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "bad_signature");
    snap_same(lc, &s);
    free(j);

    /* foreign signers: a well-formed justification by a set this state does not know */
    j = just_for(&x, &next.h[3], &jl);
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, next.h, 4, j, jl, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "below_threshold");
    snap_same(lc, &s);
    free(j);

    /* too few of the right signers */
    j = mk_just(&a, 2, 0, next.h[3].hash, 9, &jl);
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, next.h, 4, j, jl, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "below_threshold");
    snap_same(lc, &s);
    free(j);

    /* justification for another block: #8 (an ancestor) and #9' (the fork) */
    j = just_for(&a, &next.h[2], &jl);
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, next.h, 4, j, jl, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "commit_target_mismatch");
    snap_same(lc, &s);
    free(j);
    j = just_for(&a, &fork.h[3], &jl);
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, next.h, 4, j, jl, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "commit_target_mismatch");
    snap_same(lc, &s);
    free(j);

    /* garbage and empty justifications */
    uint8_t junk[7] = {1, 2, 3};
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, next.h, 4, junk, sizeof junk, &ch, &why),
                     FERRY_E_VERIFY);
    ck_reason(why, "decode");
    ck_assert_int_eq(ferry_lc_import_relay(lc, next.h, 4, NULL, 0, &ch, &why), FERRY_E_VERIFY);
    snap_same(lc, &s);

    /* batches that skip, repeat, go back or are empty */
    j = just_for(&a, &next.h[3], &jl);
    struct ferry_header skip[3] = {next.h[0], next.h[2], next.h[3]};
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, skip, 3, j, jl, &ch, &why), FERRY_E_STATE);
    ck_reason(why, "#8");
    ck_reason(why, "skips");
    snap_same(lc, &s);
    struct ferry_header rep[5] = {next.h[0], next.h[1], next.h[1], next.h[2], next.h[3]};
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, rep, 5, j, jl, &ch, &why), FERRY_E_STATE);
    ck_reason(why, "repeats");
    snap_same(lc, &s);
    /* starting again at the last verified block */
    s = snap_take(lc);
    uint8_t *j5 = just_for(&a, &r.h[4], &jl);
    ck_assert_int_eq(ferry_lc_import_relay(lc, &r.h[4], 1, j5, jl, &ch, &why), FERRY_E_STATE);
    ck_reason(why, "#5");
    snap_same(lc, &s);
    free(j5);
    /* a batch starting at #7 (skipping #6) */
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, next.h + 1, 3, j, jl, &ch, &why), FERRY_E_STATE);
    ck_reason(why, "skips");
    snap_same(lc, &s);
    /* a batch mixing both branches: #6 then #7' does not link */
    struct ferry_header mix[4] = {next.h[0], fork.h[1], fork.h[2], fork.h[3]};
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, mix, 4, j, jl, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "#7");
    snap_same(lc, &s);
    /* empty batch */
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, NULL, 0, j, jl, &ch, &why), FERRY_E_STATE);
    ck_reason(why, "empty");
    snap_same(lc, &s);
    /* a dead batch refuses further headers and its finish */
    struct ferry_lc_batch *b;
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_batch_begin(lc, &b, &why), FERRY_OK);
    ck_assert_int_eq(ferry_lc_batch_add(b, &next.h[1], &why), FERRY_E_STATE);
    ck_assert_int_eq(ferry_lc_batch_add(b, &next.h[0], &why), FERRY_E_STATE);
    ck_assert_int_eq(ferry_lc_batch_finish(b, j, jl, &ch, NULL, &why), FERRY_E_STATE);
    snap_same(lc, &s);
    /* an aborted batch leaves nothing behind */
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_batch_begin(lc, &b, &why), FERRY_OK);
    ck_assert_int_eq(ferry_lc_batch_add(b, &next.h[0], &why), FERRY_OK);
    ferry_lc_batch_abort(b);
    snap_same(lc, &s);

    /* a fork is followed when it is the one justified */
    free(j);
    import_ok(lc, &fork, &a, &ch);
    ck_assert_int_eq(memcmp(lc_hash(lc), fork.h[3].hash, 32), 0);
    /* ... after which the other branch does not link */
    j = just_for(&a, &next.h[3], &jl);
    struct run after;
    mk_run(&after, next.h[3].hash, 10, 1, 1);
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_relay(lc, after.h, 1, j, jl, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "#10");
    snap_same(lc, &s);
    free(j);
    free_run(&after);

    free_run(&r);
    free_run(&next);
    free_run(&fork);
    ferry_header_free(&g);
    ferry_lc_free(lc);
}
END_TEST

/* Bad trust roots. */
START_TEST(trust_roots)
{
    struct vset a;
    gen_set(&a, 1, 0);
    struct ferry_lc_config cfg = {0};
    struct ferry_header g;
    struct ferry_lc *lc = lc_genesis(&cfg, &a, &g);
    struct ferry_reason why;
    /* a proof against another root: the genesis header's root is not the proof's */
    uint8_t key[32] = {1}, root[32], val[3] = {1, 2, 3};
    struct ferry_trie_kv kv = {key, 32, val, 3};
    struct ferry_trie_proof *other;
    ck_assert_int_eq(ferry_trie_build_proof(&kv, 1, FERRY_TRIE_V1, root, &other), FERRY_OK);
    struct ferry_lc *bad = NULL;
    ck_assert_int_eq(ferry_lc_new_genesis(&bad, &cfg, &g, other, &why), FERRY_E_INCOMPLETE);
    ck_assert_ptr_null(bad);
    ck_reason(why, "not proven");
    /* a proof of a state without the authority keys */
    struct ferry_header g2;
    uint8_t zero[32] = {0};
    mk_header(&g2, zero, 0, root, 0, NULL);
    ck_assert_int_eq(ferry_lc_new_genesis(&bad, &cfg, &g2, other, &why), FERRY_E_INVALID);
    ck_assert_ptr_null(bad);
    /* not block 0 */
    struct ferry_header h1;
    mk_header(&h1, g.hash, 1, root, 0, NULL);
    ck_assert_int_eq(ferry_lc_new_genesis(&bad, &cfg, &h1, other, &why), FERRY_E_INVALID);
    ck_reason(why, "block 1");
    ferry_trie_proof_free(other);

    /* checkpoint: the set must be at the header */
    struct run r;
    mk_run(&r, g.hash, 1, 3, 1);
    import_ok(lc, &r, &a, NULL);
    const struct ferry_authority_set *set = ferry_lc_authority_set(lc);
    struct ferry_lc *cp;
    ck_assert_int_eq(ferry_lc_new_checkpoint(&cp, &cfg, g.hash, &r.h[1], set, &why),
                     FERRY_E_INVALID);
    ck_reason(why, "not at its header");
    ck_assert_int_eq(ferry_lc_new_checkpoint(&cp, &cfg, g.hash, &r.h[2], set, &why), FERRY_OK);
    /* the checkpoint and the state it came from are the same state (but for retained roots) */
    struct ferry_lc_status s1, s2;
    ferry_lc_status(lc, &s1);
    ferry_lc_status(cp, &s2);
    ck_assert_int_eq(memcmp(&s1, &s2, sizeof s1), 0);
    /* and it continues like it */
    struct run r2;
    mk_run(&r2, r.h[2].hash, 4, 2, 1);
    import_ok(cp, &r2, &a, NULL);
    ck_assert_uint_eq(lc_number(cp), 5);
    ferry_lc_free(cp);
    free_run(&r);
    free_run(&r2);
    ferry_header_free(&g);
    ferry_header_free(&g2);
    ferry_header_free(&h1);
    ferry_lc_free(lc);
}
END_TEST

/* ---- parachain ------------------------------------------------------------------------------- */

#define PARA 2000

/* A relay state holding Paras::Heads(id) = HeadData(head) for each (id, head); root + proof. */
static struct ferry_trie_proof *paras_state(const uint32_t *ids,
                                            const struct ferry_header *const *heads, size_t n,
                                            uint8_t root[32])
{
    uint8_t keys[4][FERRY_PARAS_HEADS_KEY_LEN];
    struct ferry_scale_writer vals[4];
    struct ferry_trie_kv kv[5];
    ck_assert_uint_le(n, 4);
    for (size_t i = 0; i < n; i++) {
        ferry_paras_heads_key(ids[i], keys[i]);
        ferry_scale_writer_init(&vals[i]);
        ferry_scale_put_byte_vec(&vals[i], heads[i]->encoded, heads[i]->encoded_len);
        kv[i] = (struct ferry_trie_kv){keys[i], sizeof keys[i], vals[i].buf, vals[i].len};
    }
    static const uint8_t filler_key[] = "some:other:key";
    kv[n] = (struct ferry_trie_kv){filler_key, sizeof filler_key - 1, (const uint8_t *)"v", 1};
    struct ferry_trie_proof *p;
    ck_assert_int_eq(ferry_trie_build_proof(kv, n + 1, FERRY_TRIE_V1, root, &p), FERRY_OK);
    for (size_t i = 0; i < n; i++)
        ferry_scale_writer_free(&vals[i]);
    return p;
}

/* Append one relay block whose state root is `root`, justified by a. */
static void relay_block(struct ferry_lc *lc, const struct vset *a, const uint8_t root[32],
                        struct ferry_header *out)
{
    struct ferry_lc_status st;
    ferry_lc_status(lc, &st);
    mk_header(out, st.hash, st.number + 1, root, 3, NULL);
    size_t jl;
    uint8_t *j = just_for(a, out, &jl);
    struct ferry_reason why;
    ck_assert_int_eq(ferry_lc_import_relay(lc, out, 1, j, jl, NULL, &why), FERRY_OK);
    free(j);
}

START_TEST(parachain)
{
    struct vset a;
    gen_set(&a, 1, 0);
    struct ferry_lc_config cfg = {0};
    cfg.parachain = true;
    cfg.para_id = PARA;
    struct ferry_header g;
    struct ferry_lc *lc = lc_genesis(&cfg, &a, &g);
    struct ferry_reason why;
    struct ferry_lc_change ch;
    struct snap s;

    /* the para chain p[0..7] = para #100..#107 and a para fork q at #104.. */
    struct run p, q, other;
    uint8_t pgen[32] = {0x77};
    mk_run(&p, pgen, 100, 8, 9);
    mk_run(&q, p.h[3].hash, 104, 4, 10);
    mk_run(&other, pgen, 100, 8, 11); /* another para's chain */

    /* relay #1 proves para #102 (p[2]) for PARA and other's #105 for PARA + 1 */
    uint8_t root1[32];
    uint32_t ids[2] = {PARA, PARA + 1};
    const struct ferry_header *heads1[2] = {&p.h[2], &other.h[5]};
    struct ferry_trie_proof *pr1 = paras_state(ids, heads1, 2, root1);
    struct ferry_header r1;
    relay_block(lc, &a, root1, &r1);

    /* proof at a relay block this state does not have */
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_para(lc, 2, pr1, p.h, 3, &ch, &why), FERRY_E_STATE);
    ck_reason(why, "#2");
    snap_same(lc, &s);
    /* against another root: genesis's state does not hold it */
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_para(lc, 0, pr1, p.h, 3, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "not proven");
    snap_same(lc, &s);
    /* the head of another para id: its headers do not end at PARA's proven head */
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_para(lc, 1, pr1, other.h + 3, 3, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "do not link");
    snap_same(lc, &s);
    /* headers that do not link: p[0], p[2] */
    struct ferry_header gap[2] = {p.h[0], p.h[2]};
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_para(lc, 1, pr1, gap, 2, &ch, &why), FERRY_E_VERIFY);
    snap_same(lc, &s);
    /* no headers for a new head */
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_para(lc, 1, pr1, NULL, 0, &ch, &why), FERRY_E_VERIFY);
    snap_same(lc, &s);
    /* the first import may start anywhere below the head: #101..#102 */
    ck_assert_int_eq(ferry_lc_import_para(lc, 1, pr1, p.h + 1, 2, &ch, &why), FERRY_OK);
    ck_assert(ch.para_advanced);
    ck_assert_uint_eq(ch.para_from, 101);
    ck_assert_uint_eq(ch.para_to, 102);
    struct ferry_lc_status st;
    ferry_lc_status(lc, &st);
    ck_assert(st.has_para);
    ck_assert_uint_eq(st.para_number, 102);
    ck_assert_int_eq(memcmp(st.para_hash, p.h[2].hash, 32), 0);
    ck_assert_int_eq(memcmp(st.para_state_root, p.h[2].state_root, 32), 0);
    /* the same proof again: nothing new */
    ck_assert_int_eq(ferry_lc_import_para(lc, 1, pr1, NULL, 0, &ch, &why), FERRY_OK);
    ck_assert(!ch.para_advanced);

    /* relay #2 proves para #106 */
    uint8_t root2[32];
    const struct ferry_header *heads2[1] = {&p.h[6]};
    struct ferry_trie_proof *pr2 = paras_state(ids, heads2, 1, root2);
    struct ferry_header r2;
    relay_block(lc, &a, root2, &r2);
    /* skipping #103 */
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_para(lc, 2, pr2, p.h + 4, 3, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "#104");
    snap_same(lc, &s);
    /* repeating #102 */
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_para(lc, 2, pr2, p.h + 2, 5, &ch, &why), FERRY_E_VERIFY);
    snap_same(lc, &s);
    /* the fork's headers do not end at the proven head */
    struct ferry_header fk[4] = {p.h[3], q.h[0], q.h[1], q.h[2]};
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_para(lc, 2, pr2, fk, 4, &ch, &why), FERRY_E_VERIFY);
    snap_same(lc, &s);
    ck_assert_int_eq(ferry_lc_import_para(lc, 2, pr2, p.h + 3, 4, &ch, &why), FERRY_OK);
    ck_assert_uint_eq(ch.para_from, 103);
    ck_assert_uint_eq(ch.para_to, 106);

    /* relay #3 proves para #105 (going back) and relay #4 the fork's #106 (another head) */
    uint8_t root3[32], root4[32];
    const struct ferry_header *heads3[1] = {&p.h[5]};
    const struct ferry_header *heads4[1] = {&q.h[2]};
    struct ferry_trie_proof *pr3 = paras_state(ids, heads3, 1, root3);
    struct ferry_trie_proof *pr4 = paras_state(ids, heads4, 1, root4);
    struct ferry_header r3, r4;
    relay_block(lc, &a, root3, &r3);
    relay_block(lc, &a, root4, &r4);
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_para(lc, 3, pr3, NULL, 0, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "went back");
    ck_assert_int_eq(ferry_lc_import_para(lc, 4, pr4, NULL, 0, &ch, &why), FERRY_E_VERIFY);
    ck_reason(why, "another para");
    snap_same(lc, &s);

    /* reads against verified relay and para roots */
    const uint8_t *val;
    size_t vl;
    uint8_t key[FERRY_PARAS_HEADS_KEY_LEN];
    ferry_paras_heads_key(PARA + 1, key);
    ck_assert_int_eq(ferry_lc_read(lc, FERRY_LC_RELAY, 1, pr1, key, sizeof key, &val, &vl, &why),
                     FERRY_OK);
    ck_assert_uint_gt(vl, other.h[5].encoded_len);
    ck_assert_int_eq(ferry_lc_read(lc, FERRY_LC_RELAY, 2, pr2, key, sizeof key, &val, &vl, &why),
                     FERRY_E_NOT_FOUND);
    ck_assert_int_eq(ferry_lc_read(lc, FERRY_LC_RELAY, 2, pr1, key, sizeof key, &val, &vl, &why),
                     FERRY_E_INCOMPLETE);
    ck_assert_int_eq(ferry_lc_read(lc, FERRY_LC_RELAY, 9, pr1, key, sizeof key, &val, &vl, &why),
                     FERRY_E_STATE);
    ck_reason(why, "#9");
    uint8_t proot[32], phash[32];
    ck_assert_int_eq(ferry_lc_state_root(lc, FERRY_LC_PARA, 104, proot, phash), FERRY_OK);
    ck_assert_int_eq(memcmp(phash, p.h[4].hash, 32), 0);
    ck_assert_int_eq(memcmp(proot, p.h[4].state_root, 32), 0);
    ck_assert_int_eq(ferry_lc_state_root(lc, FERRY_LC_PARA, 100, proot, phash), FERRY_E_NOT_FOUND);
    ck_assert_int_eq(ferry_lc_read(lc, FERRY_LC_PARA, 107, pr1, key, sizeof key, &val, &vl, &why),
                     FERRY_E_STATE);

    /* round trip, then forget */
    struct snap all = snap_take(lc);
    struct ferry_lc *lc2;
    ck_assert_int_eq(ferry_lc_decode(&lc2, all.p, all.len, &why), FERRY_OK);
    snap_same(lc2, &all);
    ferry_lc_forget_below(lc2, 3, 105);
    ck_assert_int_eq(ferry_lc_state_root(lc2, FERRY_LC_RELAY, 2, proot, NULL), FERRY_E_NOT_FOUND);
    ck_assert_int_eq(ferry_lc_state_root(lc2, FERRY_LC_RELAY, 3, proot, NULL), FERRY_OK);
    ck_assert_int_eq(ferry_lc_state_root(lc2, FERRY_LC_PARA, 104, proot, NULL), FERRY_E_NOT_FOUND);
    ck_assert_int_eq(ferry_lc_state_root(lc2, FERRY_LC_PARA, 105, proot, NULL), FERRY_OK);
    /* forgetting past the head keeps the head */
    ferry_lc_forget_below(lc2, 100, 1000);
    ck_assert_int_eq(ferry_lc_state_root(lc2, FERRY_LC_RELAY, 4, proot, NULL), FERRY_OK);
    ck_assert_int_eq(ferry_lc_state_root(lc2, FERRY_LC_PARA, 106, proot, NULL), FERRY_OK);
    struct snap s2 = snap_take(lc2);
    struct ferry_lc *lc3;
    ck_assert_int_eq(ferry_lc_decode(&lc3, s2.p, s2.len, &why), FERRY_OK);
    snap_same(lc3, &s2);
    ferry_lc_free(lc3);
    ferry_lc_free(lc2);

    /* para import on a relay-only state */
    struct ferry_lc_config rc = {0};
    struct ferry_header g2;
    struct ferry_lc *relay_only = lc_genesis(&rc, &a, &g2);
    ck_assert_int_eq(ferry_lc_import_para(relay_only, 0, pr1, p.h, 1, &ch, &why), FERRY_E_STATE);
    ferry_lc_free(relay_only);
    ferry_header_free(&g2);

    /* the para id is not in the proven state */
    cfg.para_id = PARA + 7;
    struct ferry_header g3, r5;
    struct ferry_lc *lc7 = lc_genesis(&cfg, &a, &g3);
    relay_block(lc7, &a, root1, &r5);
    s = snap_take(lc7);
    ck_assert_int_eq(ferry_lc_import_para(lc7, 1, pr1, p.h, 3, &ch, &why), FERRY_E_NOT_FOUND);
    snap_same(lc7, &s);
    ferry_lc_free(lc7);
    ferry_header_free(&g3);
    ferry_header_free(&r5);

    ferry_trie_proof_free(pr1);
    ferry_trie_proof_free(pr2);
    ferry_trie_proof_free(pr3);
    ferry_trie_proof_free(pr4);
    ferry_header_free(&r1);
    ferry_header_free(&r2);
    ferry_header_free(&r3);
    ferry_header_free(&r4);
    free_run(&p);
    free_run(&q);
    free_run(&other);
    ferry_header_free(&g);
    ferry_lc_free(lc);
}
END_TEST

/* Resuming from a trusted para head, and jumping the head without the headers in between. */
START_TEST(para_trust_and_jump)
{
    struct vset a;
    gen_set(&a, 1, 0);
    struct ferry_lc_config cfg = {0};
    cfg.parachain = true;
    cfg.para_id = PARA;
    struct ferry_header g;
    struct ferry_lc *lc = lc_genesis(&cfg, &a, &g);
    struct ferry_reason why;
    struct ferry_lc_change ch;
    struct run p;
    uint8_t pgen[32] = {0x77};
    mk_run(&p, pgen, 50, 10, 9); /* para #50..#59 */
    uint32_t ids[1] = {PARA};
    uint8_t root1[32], root2[32];
    const struct ferry_header *h1[1] = {&p.h[4]};
    const struct ferry_header *h2[1] = {&p.h[9]};
    struct ferry_trie_proof *pr1 = paras_state(ids, h1, 1, root1);
    struct ferry_trie_proof *pr2 = paras_state(ids, h2, 1, root2);
    struct ferry_header r1, r2;
    relay_block(lc, &a, root1, &r1);
    relay_block(lc, &a, root2, &r2);

    /* trusted para head #52: the next import must link to it */
    ck_assert_int_eq(ferry_lc_trust_para(lc, &p.h[2], &why), FERRY_OK);
    ck_assert_int_eq(ferry_lc_trust_para(lc, &p.h[2], &why), FERRY_E_STATE);
    struct snap s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_para(lc, 1, pr1, p.h + 4, 1, &ch, &why), FERRY_E_VERIFY);
    snap_same(lc, &s);
    ck_assert_int_eq(ferry_lc_import_para(lc, 1, pr1, p.h + 3, 2, &ch, &why), FERRY_OK);
    ck_assert_uint_eq(ch.para_from, 53);

    /* jump to #59 on relay #2's proof alone */
    struct ferry_header head;
    ck_assert_int_eq(ferry_lc_import_para_head(lc, 2, pr2, &head, &ch, &why), FERRY_OK);
    ck_assert_int_eq(memcmp(head.hash, p.h[9].hash, 32), 0);
    ck_assert_uint_eq(ch.para_from, 59);
    ck_assert_uint_eq(ch.para_to, 59);
    ferry_header_free(&head);
    uint8_t root[32];
    ck_assert_int_eq(ferry_lc_state_root(lc, FERRY_LC_PARA, 59, root, NULL), FERRY_OK);
    ck_assert_int_eq(ferry_lc_state_root(lc, FERRY_LC_PARA, 54, root, NULL), FERRY_E_NOT_FOUND);
    /* not above: refused */
    s = snap_take(lc);
    ck_assert_int_eq(ferry_lc_import_para_head(lc, 2, pr2, &head, &ch, &why), FERRY_E_VERIFY);
    ck_assert_int_eq(ferry_lc_import_para_head(lc, 1, pr1, NULL, &ch, &why), FERRY_E_VERIFY);
    ck_assert_int_eq(ferry_lc_import_para_head(lc, 0, pr1, NULL, &ch, &why), FERRY_E_VERIFY);
    snap_same(lc, &s);
    struct snap all = snap_take(lc);
    struct ferry_lc *lc2;
    ck_assert_int_eq(ferry_lc_decode(&lc2, all.p, all.len, &why), FERRY_OK);
    snap_same(lc2, &all);
    ferry_lc_free(lc2);

    ferry_trie_proof_free(pr1);
    ferry_trie_proof_free(pr2);
    ferry_header_free(&r1);
    ferry_header_free(&r2);
    free_run(&p);
    ferry_header_free(&g);
    ferry_lc_free(lc);
}
END_TEST

/* keep_roots bounds what is retained; the oldest go first. */
START_TEST(retention)
{
    struct vset a;
    gen_set(&a, 1, 0);
    struct ferry_lc_config cfg = {0};
    cfg.keep_roots = 4;
    struct ferry_header g;
    struct ferry_lc *lc = lc_genesis(&cfg, &a, &g);
    struct run r;
    mk_run(&r, g.hash, 1, 10, 1);
    import_ok(lc, &r, &a, NULL);
    uint8_t root[32];
    for (uint32_t n = 0; n <= 10; n++)
        ck_assert_int_eq(ferry_lc_state_root(lc, FERRY_LC_RELAY, n, root, NULL),
                         n >= 7 ? FERRY_OK : FERRY_E_NOT_FOUND);
    struct ferry_lc_config got;
    ferry_lc_config_get(lc, &got);
    ck_assert_uint_eq(got.keep_roots, 4);
    struct snap s = snap_take(lc);
    struct ferry_lc *lc2;
    struct ferry_reason why;
    ck_assert_int_eq(ferry_lc_decode(&lc2, s.p, s.len, &why), FERRY_OK);
    snap_same(lc2, &s);
    struct run r2;
    mk_run(&r2, r.h[9].hash, 11, 2, 1);
    import_ok(lc2, &r2, &a, NULL);
    for (uint32_t n = 0; n <= 12; n++)
        ck_assert_int_eq(ferry_lc_state_root(lc2, FERRY_LC_RELAY, n, root, NULL),
                         n >= 9 ? FERRY_OK : FERRY_E_NOT_FOUND);
    ferry_lc_free(lc2);
    free_run(&r);
    free_run(&r2);
    ferry_header_free(&g);
    ferry_lc_free(lc);
}
END_TEST

/* The serialised state: every truncation and every single-byte change is refused. */
START_TEST(serialised_state)
{
    struct vset a;
    gen_set(&a, 1, 0);
    struct ferry_lc_config cfg = {0};
    cfg.parachain = true;
    cfg.para_id = PARA;
    struct ferry_header g;
    struct ferry_lc *lc = lc_genesis(&cfg, &a, &g);
    struct run r;
    mk_run(&r, g.hash, 1, 3, 1);
    import_ok(lc, &r, &a, NULL);
    struct snap s = snap_take(lc);
    struct ferry_lc *out;
    struct ferry_reason why;
    for (size_t n = 0; n < s.len; n++) {
        out = (struct ferry_lc *)1;
        ferry_err err = ferry_lc_decode(&out, s.p, n, &why);
        ck_assert_int_ne(err, FERRY_OK);
        ck_assert_ptr_null(out);
    }
    uint8_t *m = malloc(s.len + 1);
    for (size_t i = 0; i < s.len; i++) {
        memcpy(m, s.p, s.len);
        m[i] ^= 0x01;
        ferry_err err = ferry_lc_decode(&out, m, s.len, &why);
        ck_assert_msg(err == (i == 0 ? FERRY_E_UNSUPPORTED : FERRY_E_VERIFY),
                      "byte %zu altered: %s", i, ferry_strerror(err));
        ck_assert_ptr_null(out);
    }
    ck_assert_int_eq(ferry_lc_decode(&out, s.p, s.len - 1, &why), FERRY_E_VERIFY);
    ck_reason(why, "truncated or altered");
    /* trailing byte */
    memcpy(m, s.p, s.len);
    m[s.len] = 0;
    ck_assert_int_eq(ferry_lc_decode(&out, m, s.len + 1, &why), FERRY_E_VERIFY);
    /* a well-sealed blob whose pieces disagree (the set moved to another block) is refused */
    ck_assert_int_eq(ferry_lc_decode(&out, s.p, s.len, &why), FERRY_OK);
    ferry_lc_free(out);
    free(m);
    free(s.p);
    free_run(&r);
    ferry_header_free(&g);
    ferry_lc_free(lc);
}
END_TEST

/* A state whose digest is right but whose content is inconsistent is refused too. */
START_TEST(serialised_inconsistent)
{
    struct vset a;
    gen_set(&a, 1, 0);
    struct ferry_lc_config cfg = {0};
    struct ferry_header g;
    struct ferry_lc *lc = lc_genesis(&cfg, &a, &g);
    struct snap s = snap_take(lc);
    /* change the last verified number (bytes 1+32+1+4+1+4+4 .. +4) and reseal */
    size_t off = 1 + 32 + 1 + 4 + 1 + 4 + 4;
    s.p[off] ^= 1;
    ferry_blake2b_256(s.p + s.len - 32, s.p, s.len - 32);
    struct ferry_lc *out;
    struct ferry_reason why;
    ck_assert_int_eq(ferry_lc_decode(&out, s.p, s.len, &why), FERRY_E_INVALID);
    ck_reason(why, "authority set");
    s.p[off] ^= 1;
    /* version 2 */
    s.p[0] = 2;
    ck_assert_int_eq(ferry_lc_decode(&out, s.p, s.len, &why), FERRY_E_UNSUPPORTED);
    free(s.p);
    ferry_header_free(&g);
    ferry_lc_free(lc);
}
END_TEST

/* A long batch streamed through the core: memory stays with the batch's roots. */
START_TEST(long_batch)
{
    struct vset a;
    gen_set(&a, 1, 0);
    struct ferry_lc_config cfg = {0};
    struct ferry_header g;
    struct ferry_lc *lc = lc_genesis(&cfg, &a, &g);
    struct ferry_lc_batch *b;
    struct ferry_reason why;
    ck_assert_int_eq(ferry_lc_batch_begin(lc, &b, &why), FERRY_OK);
    struct ferry_header prev, cur;
    ck_assert_int_eq(ferry_header_copy(&prev, &g), FERRY_OK);
    for (uint32_t n = 1; n <= 5000; n++) {
        mk_header(&cur, prev.hash, n, NULL, 1, NULL);
        ck_assert_int_eq(ferry_lc_batch_add(b, &cur, &why), FERRY_OK);
        ferry_header_free(&prev);
        prev = cur;
    }
    size_t jl;
    uint8_t *j = just_for(&a, &prev, &jl);
    struct ferry_lc_change ch;
    ck_assert_int_eq(ferry_lc_batch_finish(b, j, jl, &ch, NULL, &why), FERRY_OK);
    ck_assert_uint_eq(ch.finalized_count, 5000);
    ck_assert_uint_eq(lc_number(lc), 5000);
    free(j);
    ferry_header_free(&prev);
    ferry_header_free(&g);
    ferry_lc_free(lc);
}
END_TEST

Suite *lc_suite(void)
{
    Suite *s = suite_create("lc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, genesis_and_batches);
    tcase_add_test(tc, set_changes);
    tcase_add_test(tc, forced_change_accepted);
    tcase_add_test(tc, relay_lies);
    tcase_add_test(tc, trust_roots);
    tcase_add_test(tc, parachain);
    tcase_add_test(tc, para_trust_and_jump);
    tcase_add_test(tc, retention);
    tcase_add_test(tc, serialised_state);
    tcase_add_test(tc, serialised_inconsistent);
    tcase_add_test(tc, long_batch);
    suite_add_tcase(s, tc);
    return s;
}
