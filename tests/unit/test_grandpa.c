/* GRANDPA: every vector in vectors/grandpa (real Polkadot/Westend justifications, commits and
 * precommits, the derived negatives, the threshold table, checkpoint authority sets), the real
 * FRNK set-change headers in vectors/headers, and generated cases for what real data lacks
 * (signed here with libsodium: many voters with unequal weights, votes on descendants,
 * equivocations, unknown voters, set changes with delays, forced changes, pause/resume).
 *
 * FERRY_GRANDPA_DUMP=<dir>, when set, makes the generated-justification test write its cases
 * there for tests/integration/t_grandpa_oracle.sh to re-check with an independent
 * implementation (@polkadot/util-crypto). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/grandpa.h"
#include "ferry/hash.h"
#include "ferry/hex.h"
#include "ferry/trie.h"
#include "ferry/authority_set.h"
#include "testutil.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static struct ferry_authority *authorities_from_json(const cJSON *arr, size_t *n)
{
    *n = (size_t)cJSON_GetArraySize(arr);
    struct ferry_authority *a = calloc(*n ? *n : 1, sizeof *a);
    ck_assert_ptr_nonnull(a);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        tu_hex_exact(tu_str(it, "id"), a[i].id, 32);
        a[i].weight = (uint64_t)cJSON_GetObjectItem(it, "weight")->valuedouble;
        i++;
    }
    return a;
}

static void voter_set_json(struct ferry_voter_set *vs, const cJSON *arr)
{
    size_t n;
    struct ferry_authority *a = authorities_from_json(arr, &n);
    ck_assert_int_eq(ferry_voter_set_init(vs, a, n), FERRY_OK);
    free(a);
}

static void decode_hex_justification(struct ferry_grandpa_justification *j, const char *hex)
{
    size_t len;
    uint8_t *buf = tu_hex(hex, &len);
    struct ferry_scale_reader diag;
    ck_assert_int_eq(ferry_grandpa_justification_decode(j, buf, len, &diag), FERRY_OK);
    free(buf);
}

static uint64_t num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    ck_assert_ptr_nonnull(v);
    return (uint64_t)v->valuedouble;
}

/* ---- generator ---------------------------------------------------------------------------------
 */

struct gvoter {
    uint8_t pk[32];
    uint8_t sk[64];
    uint64_t weight;
};

/* Deterministic keys: seed = (tag, index) so runs are reproducible. */
static struct gvoter *gen_voters(size_t n, uint32_t tag, uint64_t (*weight)(size_t))
{
    struct gvoter *v = calloc(n, sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++) {
        uint8_t seed[32] = {0};
        memcpy(seed, &tag, 4);
        memcpy(seed + 4, &i, sizeof i);
        crypto_sign_seed_keypair(v[i].pk, v[i].sk, seed);
        v[i].weight = weight ? weight(i) : 1;
    }
    return v;
}

static void gen_voter_set(struct ferry_voter_set *vs, const struct gvoter *v, size_t n)
{
    struct ferry_authority *a = calloc(n, sizeof *a);
    for (size_t i = 0; i < n; i++) {
        memcpy(a[i].id, v[i].pk, 32);
        a[i].weight = v[i].weight;
    }
    ck_assert_int_eq(ferry_voter_set_init(vs, a, n), FERRY_OK);
    free(a);
}

/* A header with the given parent and number; `salt` goes into the state root so siblings
 * differ; `digest` (may be NULL) is an encoded Vec<DigestItem>. */
static void gen_header(struct ferry_header *h, const uint8_t parent[32], uint32_t number,
                       uint8_t salt, const uint8_t *digest, size_t digest_len)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_bytes(&w, parent, 32);
    ferry_scale_put_compact(&w, number);
    uint8_t root[32] = {salt, (uint8_t)number};
    ferry_scale_put_bytes(&w, root, 32);
    ferry_scale_put_bytes(&w, root, 32);
    if (digest)
        ferry_scale_put_bytes(&w, digest, digest_len);
    else
        ferry_scale_put_compact(&w, 0);
    ck_assert_int_eq(ferry_header_decode(h, w.buf, w.len, NULL), FERRY_OK);
    ferry_scale_writer_free(&w);
}

/* A small block tree above the commit target T (#100):
 *   T ← A1 ← A2 ← A3       (main chain)
 *   T ← B1 ← B2            (fork)  */
struct gtree {
    struct ferry_header t, a1, a2, a3, b1, b2;
};

static void gen_tree(struct gtree *g)
{
    uint8_t genesis[32] = {0x99};
    gen_header(&g->t, genesis, 100, 0, NULL, 0);
    gen_header(&g->a1, g->t.hash, 101, 1, NULL, 0);
    gen_header(&g->a2, g->a1.hash, 102, 1, NULL, 0);
    gen_header(&g->a3, g->a2.hash, 103, 1, NULL, 0);
    gen_header(&g->b1, g->t.hash, 101, 2, NULL, 0);
    gen_header(&g->b2, g->b1.hash, 102, 2, NULL, 0);
}

static void free_tree(struct gtree *g)
{
    ferry_header_free(&g->t);
    ferry_header_free(&g->a1);
    ferry_header_free(&g->a2);
    ferry_header_free(&g->a3);
    ferry_header_free(&g->b1);
    ferry_header_free(&g->b2);
}

#define GROUND 7777
#define GSET   42

static void gen_justification(struct ferry_grandpa_justification *j, const struct ferry_header *t,
                              size_t max_precommits)
{
    memset(j, 0, sizeof *j);
    j->round = GROUND;
    memcpy(j->target_hash, t->hash, 32);
    j->target_number = t->number;
    j->precommits = calloc(max_precommits ? max_precommits : 1, sizeof *j->precommits);
    j->ancestries = calloc(8, sizeof *j->ancestries);
}

static void gen_vote(struct ferry_grandpa_justification *j, const struct gvoter *v,
                     const struct ferry_header *target, uint64_t set_id)
{
    struct ferry_grandpa_precommit *p = &j->precommits[j->n_precommits++];
    uint8_t msg[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN];
    memcpy(p->target_hash, target->hash, 32);
    p->target_number = target->number;
    memcpy(p->id, v->pk, 32);
    ferry_grandpa_precommit_payload(msg, p->target_hash, p->target_number, j->round, set_id);
    crypto_sign_detached(p->signature, NULL, msg, sizeof msg, v->sk);
}

static void gen_ancestry(struct ferry_grandpa_justification *j, const struct ferry_header *h)
{
    ck_assert_int_eq(ferry_header_copy(&j->ancestries[j->n_ancestries++], h), FERRY_OK);
}

/* Encode, decode again (the decoder must accept what the encoder writes) and verify. */
static ferry_err verify_roundtrip(const struct ferry_grandpa_justification *j,
                                  const struct ferry_voter_set *vs, uint64_t set_id,
                                  unsigned threads, unsigned flags, struct ferry_grandpa_verdict *v)
{
    struct ferry_scale_writer w;
    struct ferry_grandpa_justification d;
    struct ferry_grandpa_verify_opts opts = {.threads = threads, .flags = flags};
    ferry_scale_writer_init(&w);
    ferry_grandpa_justification_encode(j, &w);
    ck_assert_int_eq(ferry_grandpa_justification_decode(&d, w.buf, w.len, NULL), FERRY_OK);
    ck_assert_uint_eq(d.n_precommits, j->n_precommits);
    ck_assert_uint_eq(d.n_ancestries, j->n_ancestries);
    ferry_err err = ferry_grandpa_verify(&d, vs, set_id, &opts, v);
    /* the same verdict with 4 threads */
    struct ferry_grandpa_verdict v4;
    opts.threads = 4;
    ck_assert_int_eq(ferry_grandpa_verify(&d, vs, set_id, &opts, &v4), err);
    ck_assert_int_eq(v4.reason, v->reason);
    ck_assert_uint_eq(v4.index, v->index);
    ferry_grandpa_justification_free(&d);
    ferry_scale_writer_free(&w);
    return err;
}

/* ---- real vectors -------------------------------------------------------------------------- */

START_TEST(polkadot_302592_set0_verifies)
{
    TU_VECTOR_OR_SKIP(v, "grandpa/polkadot-302592-set0.json");
    struct ferry_grandpa_justification j;
    struct ferry_voter_set vs;
    struct ferry_grandpa_verdict verdict;
    const cJSON *dec = cJSON_GetObjectItem(v, "decoded");
    decode_hex_justification(&j, tu_str(v, "justification"));
    voter_set_json(&vs, cJSON_GetObjectItem(v, "authorities"));

    ck_assert_uint_eq(j.round, num(dec, "round"));
    ck_assert_uint_eq(j.target_number, num(dec, "commit_target_number"));
    ck_assert_str_eq(tu_tohex(j.target_hash, 32), tu_str(dec, "commit_target_hash"));
    ck_assert_uint_eq(j.n_precommits, num(dec, "num_precommits"));
    ck_assert_uint_eq(j.n_ancestries, num(dec, "num_votes_ancestries"));
    ck_assert_uint_eq(vs.total_weight, num(v, "total_weight"));
    ck_assert_uint_eq(vs.threshold, num(v, "threshold"));

    /* the payload we build is byte-for-byte the one each voter signed */
    size_t i = 0;
    const cJSON *pl;
    cJSON_ArrayForEach(pl, cJSON_GetObjectItem(v, "precommit_signing_payloads"))
    {
        uint8_t msg[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN];
        const struct ferry_grandpa_precommit *p = &j.precommits[i++];
        ferry_grandpa_precommit_payload(msg, p->target_hash, p->target_number, j.round, 0);
        ck_assert_str_eq(tu_tohex(msg, sizeof msg), tu_str(pl, "signed_payload"));
        ck_assert_str_eq(tu_tohex(p->id, 32), tu_str(pl, "signer"));
        ck_assert_str_eq(tu_tohex(p->signature, 64), tu_str(pl, "signature"));
    }

    /* re-encoding is byte-exact */
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_grandpa_justification_encode(&j, &w);
    ck_assert_str_eq(tu_tohex(w.buf, w.len), tu_str(v, "justification"));
    ferry_scale_writer_free(&w);

    struct ferry_grandpa_verify_opts opts = {.threads = 2, .flags = FERRY_GRANDPA_CHECK_TARGET};
    const cJSON *fin = cJSON_GetObjectItem(cJSON_GetObjectItem(v, "expected"), "finalizes");
    tu_hex_exact(tu_str(fin, "hash"), opts.expected_hash, 32);
    opts.expected_number = (uint32_t)num(fin, "number");
    ck_assert_int_eq(ferry_grandpa_verify(&j, &vs, num(v, "set_id"), &opts, &verdict), FERRY_OK);
    ck_assert_int_eq(verdict.reason, FERRY_GRANDPA_VALID);
    ck_assert_uint_eq(verdict.signatures, 5);
    ck_assert_uint_eq(verdict.weight, 5);
    ck_assert_uint_eq(verdict.threshold, 5);
    ck_assert_uint_eq(verdict.voters, 5);

    /* rule 1: asking about another block fails with its own reason */
    opts.expected_number++;
    ck_assert_int_eq(ferry_grandpa_verify(&j, &vs, 0, &opts, &verdict), FERRY_E_VERIFY);
    ck_assert_int_eq(verdict.reason, FERRY_GRANDPA_TARGET_MISMATCH);
    ck_assert_str_eq(ferry_grandpa_reason_name(verdict.reason), "commit_target_mismatch");

    ferry_voter_set_free(&vs);
    ferry_grandpa_justification_free(&j);
}
END_TEST

/* expected.reason in the vectors, mapped to ferry's reasons ("a_or_b": Substrate says a). */
static enum ferry_grandpa_reason expected_reason(const char *name)
{
    if (strcmp(name, "bad_signature") == 0)
        return FERRY_GRANDPA_BAD_SIGNATURE;
    if (strncmp(name, "below_threshold", 15) == 0)
        return FERRY_GRANDPA_BELOW_THRESHOLD;
    if (strcmp(name, "precommit_not_descendant_of_target") == 0)
        return FERRY_GRANDPA_NOT_DESCENDANT;
    if (strcmp(name, "unused_votes_ancestries") == 0)
        return FERRY_GRANDPA_UNUSED_ANCESTRIES;
    ck_abort_msg("unmapped expected reason %s", name);
    return FERRY_GRANDPA_VALID;
}

START_TEST(polkadot_302592_negatives_fail_for_their_reason)
{
    TU_VECTOR_OR_SKIP(v, "grandpa/polkadot-302592-set0-negatives.json");
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(v, "cases"))
    {
        struct ferry_voter_set vs;
        struct ferry_grandpa_verdict verdict;
        const cJSON *exp = cJSON_GetObjectItem(c, "expected");
        ck_assert(!cJSON_IsTrue(cJSON_GetObjectItem(exp, "valid")));
        voter_set_json(&vs, cJSON_GetObjectItem(c, "authorities"));
        size_t len;
        uint8_t *buf = tu_hex(tu_str(c, "justification"), &len);
        ferry_err err = ferry_grandpa_verify_encoded(buf, len, &vs, num(c, "set_id"), NULL,
                                                     &verdict, NULL, NULL);
        ck_assert_msg(err == FERRY_E_VERIFY, "%s: accepted", tu_str(c, "name"));
        ck_assert_msg(verdict.reason == expected_reason(tu_str(exp, "reason")), "%s: got %s (%s)",
                      tu_str(c, "name"), ferry_grandpa_reason_name(verdict.reason), verdict.detail);
        ck_assert(verdict.detail[0]);
        if (verdict.reason == FERRY_GRANDPA_BAD_SIGNATURE)
            ck_assert_uint_lt(verdict.index, 5);
        free(buf);
        ferry_voter_set_free(&vs);
        n++;
    }
    ck_assert_int_eq(n, 8);
}
END_TEST

START_TEST(polkadot_4635975_set450_signatures_and_threshold)
{
    TU_VECTOR_OR_SKIP(v, "grandpa/polkadot-4635975-set450.json");
    struct ferry_grandpa_justification j;
    struct ferry_grandpa_verdict verdict;
    const cJSON *dec = cJSON_GetObjectItem(v, "decoded");
    decode_hex_justification(&j, tu_str(v, "justification"));
    ck_assert_uint_eq(j.round, num(dec, "round"));
    ck_assert_uint_eq(j.target_number, 4635975);
    ck_assert_uint_eq(j.n_precommits, 199);
    ck_assert_uint_eq(j.n_ancestries, 0);
    uint64_t set_id = num(cJSON_GetObjectItem(v, "expected"), "all_signatures_valid_with_set_id");
    ck_assert_uint_eq(set_id, 450);

    /* The full set is not available. 297 voters then: the 199 signers + 98 others. */
    size_t n_signers = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(v, "signers"));
    ck_assert_uint_eq(n_signers, 199);
    struct ferry_authority *a = calloc(300, sizeof *a);
    size_t i = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(v, "signers"))
    {
        tu_hex_exact(s->valuestring, a[i].id, 32);
        a[i++].weight = 1;
    }
    for (; i < 300; i++) {
        memset(a[i].id, 0xee, 32);
        memcpy(a[i].id, &i, sizeof i);
        a[i].weight = 1;
    }
    struct ferry_voter_set vs;
    const size_t sizes[] = {199, 297, 298, 299};
    const bool valid[] = {true, true, true, false}; /* threshold 133/199/199/200 */
    for (size_t k = 0; k < 4; k++) {
        ck_assert_int_eq(ferry_voter_set_init(&vs, a, sizes[k]), FERRY_OK);
        struct ferry_grandpa_verify_opts opts = {.threads = (unsigned)k + 1};
        ferry_err err = ferry_grandpa_verify(&j, &vs, set_id, &opts, &verdict);
        ck_assert_uint_eq(verdict.signatures, 199);
        ck_assert_uint_eq(verdict.weight, 199);
        if (valid[k]) {
            ck_assert_msg(err == FERRY_OK, "%zu voters: %s", sizes[k], verdict.detail);
        } else {
            ck_assert_int_eq(err, FERRY_E_VERIFY);
            ck_assert_int_eq(verdict.reason, FERRY_GRANDPA_BELOW_THRESHOLD);
            ck_assert_uint_eq(verdict.threshold, 200);
        }
        ferry_voter_set_free(&vs);
    }
    /* the next set_id signs nothing here */
    ck_assert_int_eq(ferry_voter_set_init(&vs, a, 297), FERRY_OK);
    ck_assert_int_eq(ferry_grandpa_verify(&j, &vs, set_id + 1, NULL, &verdict), FERRY_E_VERIFY);
    ck_assert_int_eq(verdict.reason, FERRY_GRANDPA_BAD_SIGNATURE);
    ck_assert_uint_eq(verdict.index, 0);
    ferry_voter_set_free(&vs);
    free(a);
    ferry_grandpa_justification_free(&j);
}
END_TEST

/* The network CompactCommit (round, set_id, target, Vec<Precommit>, Vec<(sig, id)>) carries the
 * same signatures as a justification; rebuild one and verify it. */
START_TEST(westend_compact_commit_signatures)
{
    TU_VECTOR_OR_SKIP(v, "grandpa/westend-commit-5105457-set3490.json");
    size_t len;
    uint8_t *buf = tu_hex(tu_str(v, "message"), &len);
    struct ferry_scale_reader r;
    struct ferry_grandpa_justification j = {0};
    uint64_t set_id;
    size_t n, m;
    ferry_scale_reader_init(&r, buf, len);
    ferry_scale_u64(&r, &j.round);
    ferry_scale_u64(&r, &set_id);
    ferry_scale_copy(&r, j.target_hash, 32);
    ferry_scale_u32(&r, &j.target_number);
    ck_assert_int_eq(ferry_scale_vec_len(&r, 36, &n), FERRY_OK);
    j.precommits = calloc(n, sizeof *j.precommits);
    j.n_precommits = n;
    for (size_t i = 0; i < n; i++) {
        ferry_scale_copy(&r, j.precommits[i].target_hash, 32);
        ferry_scale_u32(&r, &j.precommits[i].target_number);
    }
    ck_assert_int_eq(ferry_scale_vec_len(&r, 96, &m), FERRY_OK);
    ck_assert_uint_eq(m, n);
    for (size_t i = 0; i < m; i++) {
        ferry_scale_copy(&r, j.precommits[i].signature, 64);
        ferry_scale_copy(&r, j.precommits[i].id, 32);
    }
    ck_assert_int_eq(ferry_scale_finish(&r), FERRY_OK);
    const cJSON *dec = cJSON_GetObjectItem(v, "decoded");
    ck_assert_uint_eq(set_id, num(dec, "set_id"));
    ck_assert_uint_eq(j.round, num(dec, "round"));
    ck_assert_uint_eq(n, 7);

    size_t i = 0;
    const cJSON *pc;
    struct ferry_authority ids[7];
    cJSON_ArrayForEach(pc, cJSON_GetObjectItem(v, "precommits"))
    {
        uint8_t msg[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN];
        const struct ferry_grandpa_precommit *p = &j.precommits[i];
        ferry_grandpa_precommit_payload(msg, p->target_hash, p->target_number, j.round, set_id);
        ck_assert_str_eq(tu_tohex(msg, sizeof msg), tu_str(pc, "signed_payload"));
        ck_assert_str_eq(tu_tohex(p->id, 32), tu_str(pc, "id"));
        memcpy(ids[i].id, p->id, 32);
        ids[i++].weight = 1;
    }
    struct ferry_voter_set vs;
    struct ferry_grandpa_verdict verdict;
    ck_assert_int_eq(ferry_voter_set_init(&vs, ids, 7), FERRY_OK);
    ck_assert_int_eq(ferry_grandpa_verify(&j, &vs, set_id, NULL, &verdict), FERRY_OK);
    ck_assert_uint_eq(verdict.signatures, 7);
    ck_assert_int_eq(ferry_grandpa_verify(&j, &vs, set_id - 1, NULL, &verdict), FERRY_E_VERIFY);
    ck_assert_int_eq(verdict.reason, FERRY_GRANDPA_BAD_SIGNATURE);
    ferry_voter_set_free(&vs);
    ferry_grandpa_justification_free(&j);
    free(buf);
}
END_TEST

START_TEST(westend_single_precommit_and_negative)
{
    TU_VECTOR_OR_SKIP(v, "grandpa/westend-precommit-15693226-set6414.json");
    const cJSON *dec = cJSON_GetObjectItem(v, "decoded");
    uint8_t hash[32], pk[32], sig[64], msg[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN];
    tu_hex_exact(tu_str(dec, "target_hash"), hash, 32);
    tu_hex_exact(tu_str(v, "public_key"), pk, 32);
    tu_hex_exact(tu_str(v, "signature"), sig, 64);
    ferry_grandpa_precommit_payload(msg, hash, (uint32_t)num(dec, "target_number"),
                                    num(dec, "round"), num(dec, "set_id"));
    ck_assert_str_eq(tu_tohex(msg, sizeof msg), tu_str(v, "signed_payload"));

    /* as a one-voter justification: valid with set 6414, bad signature with 6415 */
    struct ferry_grandpa_justification j = {.round = num(dec, "round"),
                                            .target_number = (uint32_t)num(dec, "target_number")};
    struct ferry_grandpa_precommit p = {.target_number = j.target_number};
    memcpy(j.target_hash, hash, 32);
    memcpy(p.target_hash, hash, 32);
    memcpy(p.id, pk, 32);
    memcpy(p.signature, sig, 64);
    j.precommits = &p;
    j.n_precommits = 1;
    struct ferry_authority a = {.weight = 1};
    memcpy(a.id, pk, 32);
    struct ferry_voter_set vs;
    struct ferry_grandpa_verdict verdict;
    ck_assert_int_eq(ferry_voter_set_init(&vs, &a, 1), FERRY_OK);
    ck_assert_int_eq(ferry_grandpa_verify(&j, &vs, num(dec, "set_id"), NULL, &verdict), FERRY_OK);
    ferry_grandpa_precommit_payload(msg, hash, j.target_number, j.round, num(dec, "set_id") + 1);
    ck_assert_str_eq(tu_tohex(msg, sizeof msg),
                     tu_str(cJSON_GetObjectItem(v, "negative"), "signed_payload_with_set_id_6415"));
    ck_assert_int_eq(ferry_grandpa_verify(&j, &vs, num(dec, "set_id") + 1, NULL, &verdict),
                     FERRY_E_VERIFY);
    ck_assert_int_eq(verdict.reason, FERRY_GRANDPA_BAD_SIGNATURE);
    ferry_voter_set_free(&vs);
}
END_TEST

START_TEST(threshold_table)
{
    TU_VECTOR_OR_SKIP(v, "grandpa/threshold.json");
    const char *lists[] = {"cases", "computed_extra"};
    int n = 0;
    for (int l = 0; l < 2; l++) {
        const cJSON *row;
        cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, lists[l]))
        {
            uint64_t total = (uint64_t)cJSON_GetArrayItem(row, 0)->valuedouble;
            uint64_t want = (uint64_t)cJSON_GetArrayItem(row, 1)->valuedouble;
            ck_assert_uint_eq(ferry_grandpa_threshold(total), want);
            n++;
        }
    }
    ck_assert_int_eq(n, 17);
    ck_assert_uint_eq(ferry_grandpa_threshold(UINT64_MAX),
                      UINT64_MAX - (UINT64_MAX - 1) / 3); /* no overflow */
}
END_TEST

START_TEST(checkpoint_sets_serialise_and_threshold)
{
    TU_VECTOR_OR_SKIP(v, "grandpa/checkpoints.json");
    const char *chains[] = {"polkadot", "kusama", "westend"};
    const uint64_t thresholds[] = {401, 666, 14};
    for (int c = 0; c < 3; c++) {
        const cJSON *ch = cJSON_GetObjectItem(cJSON_GetObjectItem(v, "chains"), chains[c]);
        size_t n;
        struct ferry_authority *a =
            authorities_from_json(cJSON_GetObjectItem(ch, "authorities"), &n);
        uint8_t hash[32];
        tu_hex_exact(tu_str(ch, "finalized_header_hash"), hash, 32);
        struct ferry_authority_set set, back;
        ck_assert_int_eq(ferry_authority_set_init(&set, num(ch, "set_id"), a, n,
                                                  (uint32_t)num(ch, "finalized_header_number"),
                                                  hash),
                         FERRY_OK);
        struct ferry_voter_set vs;
        ck_assert_int_eq(ferry_authority_set_voters(&set, &vs), FERRY_OK);
        ck_assert_uint_eq(vs.n_voters, n);
        ck_assert_uint_eq(vs.threshold, thresholds[c]);
        ferry_voter_set_free(&vs);

        struct ferry_scale_writer w;
        ferry_scale_writer_init(&w);
        ferry_authority_set_encode(&set, &w);
        ck_assert_uint_eq(w.len, 1 + 8 + ferry_scale_compact_size(n) + 40 * n + 4 + 32 + 1 + 1 + 1 +
                                     4 + 1);
        ck_assert_int_eq(ferry_authority_set_decode(&back, w.buf, w.len, NULL), FERRY_OK);
        ck_assert_uint_eq(back.set_id, set.set_id);
        ck_assert_uint_eq(back.number, set.number);
        ck_assert_uint_eq(back.n_authorities, n);
        ck_assert_mem_eq(back.authorities, a, n * sizeof *a);
        ck_assert_mem_eq(back.hash, hash, 32);
        /* every truncation is an error, never a crash */
        for (size_t cut = 0; cut < w.len; cut += 1 + cut / 8) {
            struct ferry_authority_set t;
            ck_assert_int_ne(ferry_authority_set_decode(&t, w.buf, cut, NULL), FERRY_OK);
        }
        ferry_authority_set_free(&back);
        ferry_authority_set_free(&set);
        ferry_scale_writer_free(&w);
        free(a);
    }
}
END_TEST

/* Real set changes: Polkadot #512271 (last block of set 50, ScheduledChange delay 0 → set 51
 * with 197 keys) and Kusama #7472481 (11 FRNK OnDisabled + ScheduledChange → set 2879, 900 keys).
 */
START_TEST(real_scheduled_changes_enact_at_signal_block)
{
    TU_VECTOR_OR_SKIP(v, "headers/headers.json");
    const struct {
        const char *name;
        uint64_t set_before;
        size_t n_after;
        size_t disabled;
    } cases[] = {{"polkadot-512271", 50, 197, 0}, {"kusama-7472481", 2878, 900, 11}};
    /* (the vector notes say 12 OnDisabled; its digest holds 11 FRNK + 11 BABE ones) */
    for (int c = 0; c < 2; c++) {
        const cJSON *hj = NULL, *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(v, "headers"))
        {
            if (strcmp(tu_str(it, "name"), cases[c].name) == 0)
                hj = it;
        }
        ck_assert_ptr_nonnull(hj);
        size_t len;
        uint8_t *buf = tu_hex(tu_str(hj, "encoded"), &len);
        struct ferry_header h;
        ck_assert_int_eq(ferry_header_decode(&h, buf, len, NULL), FERRY_OK);
        struct ferry_authority old = {.id = {1}, .weight = 1};
        struct ferry_authority_set set;
        struct ferry_authority_set_event ev;
        ck_assert_int_eq(ferry_authority_set_init(&set, cases[c].set_before, &old, 1, h.number - 1,
                                                  h.parent_hash),
                         FERRY_OK);
        ck_assert_int_eq(ferry_authority_set_apply_header(&set, &h, &ev, NULL), FERRY_OK);
        ck_assert(ev.signalled && ev.enacted && !ev.forced);
        ck_assert_uint_eq(ev.disabled, cases[c].disabled);
        ck_assert_uint_eq(set.set_id, cases[c].set_before + 1);
        ck_assert_uint_eq(set.n_authorities, cases[c].n_after);
        ck_assert(!set.has_scheduled);
        ck_assert_uint_eq(set.number, h.number);
        ck_assert_mem_eq(set.hash, h.hash, 32);
        /* applying the same header again is out of order */
        struct ferry_reason why = {""};
        ck_assert_int_eq(ferry_authority_set_apply_header(&set, &h, NULL, &why), FERRY_E_STATE);
        ck_assert(why.text[0] != 0);
        ferry_authority_set_free(&set);
        ferry_header_free(&h);
        free(buf);
    }
}
END_TEST

/* ---- generated justifications ------------------------------------------------------------- */

static uint64_t unequal_weight(size_t i)
{
    return 1 + (i * 7919) % 13;
}

static FILE *dump_open(const char *name)
{
    const char *dir = getenv("FERRY_GRANDPA_DUMP");
    if (!dir)
        return NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    return fopen(path, "w");
}

/* One case for the oracle: voters, set_id, justification and our verdict. */
static void dump_case(const char *name, const struct gvoter *gv, size_t n, uint64_t set_id,
                      const struct ferry_grandpa_justification *j, bool valid)
{
    FILE *f = dump_open(name);
    if (!f)
        return;
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_grandpa_justification_encode(j, &w);
    char *hex = ferry_hex_alloc(w.buf, w.len);
    fprintf(f, "{\"set_id\":%llu,\"valid\":%s,\"authorities\":[", (unsigned long long)set_id,
            valid ? "true" : "false");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s{\"id\":\"%s\",\"weight\":%llu}", i ? "," : "", tu_tohex(gv[i].pk, 32),
                (unsigned long long)gv[i].weight);
    fprintf(f, "],\"justification\":\"%s\"}\n", hex);
    free(hex);
    fclose(f);
    ferry_scale_writer_free(&w);
}

START_TEST(many_unequal_voters_with_descendant_votes)
{
    enum { N = 400 };
    struct gvoter *gv = gen_voters(N, 1, unequal_weight);
    struct ferry_voter_set vs;
    struct gtree g;
    gen_tree(&g);
    gen_voter_set(&vs, gv, N);

    /* Votes spread over T, A1, A2, A3 until just above the threshold, with no child of T
     * reaching it alone: T gets every fourth vote. */
    struct ferry_grandpa_justification j;
    gen_justification(&j, &g.t, N);
    const struct ferry_header *targets[] = {&g.t, &g.a1, &g.a2, &g.a3};
    uint64_t w = 0;
    for (size_t i = 0; i < N && w < vs.threshold; i++) {
        gen_vote(&j, &gv[i], targets[i % 4], GSET);
        w += gv[i].weight;
    }
    gen_ancestry(&j, &g.a3);
    gen_ancestry(&j, &g.a1);
    gen_ancestry(&j, &g.a2);
    struct ferry_grandpa_verdict v;
    ck_assert_msg(verify_roundtrip(&j, &vs, GSET, 1, 0, &v) == FERRY_OK, "%s", v.detail);
    ck_assert_uint_eq(v.weight, w);
    ck_assert_uint_eq(v.signatures, j.n_precommits);
    dump_case("valid_unequal_descendants", gv, N, GSET, &j, true);

    /* one vote fewer is below the threshold (weights differ, so drop the last) */
    j.n_precommits--;
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_BELOW_THRESHOLD);
    dump_case("below_threshold_unequal", gv, N, GSET, &j, false);
    j.n_precommits++;

    /* an ancestry header nobody needs */
    gen_ancestry(&j, &g.b1);
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_UNUSED_ANCESTRIES);
    ck_assert_uint_eq(v.index, 3);
    dump_case("unused_ancestry", gv, N, GSET, &j, false);
    ferry_header_free(&j.ancestries[--j.n_ancestries]);

    /* a missing one: without A2 neither A2 nor A3 links to T */
    struct ferry_header a2 = j.ancestries[2];
    j.n_ancestries = 2;
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_NOT_DESCENDANT);
    ck_assert_uint_eq(v.index, 2); /* the first vote on A2 */
    dump_case("missing_ancestry", gv, N, GSET, &j, false);
    j.n_ancestries = 3;
    j.ancestries[2] = a2;

    /* a duplicated header is the same header (set semantics) */
    gen_ancestry(&j, &g.a2);
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_OK);

    /* a corrupted signature deep in the list is found and named */
    j.precommits[123].signature[10] ^= 1;
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_BAD_SIGNATURE);
    ck_assert_uint_eq(v.index, 123);
    ck_assert_ptr_nonnull(strstr(v.detail, "precommit 123"));
    dump_case("bad_signature_123", gv, N, GSET, &j, false);

    ferry_grandpa_justification_free(&j);
    ferry_voter_set_free(&vs);
    free_tree(&g);
    free(gv);
}
END_TEST

START_TEST(ghost_must_be_the_commit_target)
{
    enum { N = 10 }; /* threshold 7 */
    struct gvoter *gv = gen_voters(N, 2, NULL);
    struct ferry_voter_set vs;
    struct gtree g;
    struct ferry_grandpa_verdict v;
    gen_tree(&g);
    gen_voter_set(&vs, gv, N);

    /* 7 votes on A1 with T as the commit target: the votes finalize A1, not T */
    struct ferry_grandpa_justification j;
    gen_justification(&j, &g.t, N);
    for (int i = 0; i < 7; i++)
        gen_vote(&j, &gv[i], &g.a1, GSET);
    gen_ancestry(&j, &g.a1);
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_GHOST_BEYOND);
    dump_case("ghost_beyond_target", gv, N, GSET, &j, false);
    ferry_grandpa_justification_free(&j);

    /* 4 on A1 and 3 on B1 (siblings, no vote on T): GHOST = T, but neither target reaches the
     * lowest one, so Substrate's ancestry-route rule rejects it */
    gen_justification(&j, &g.t, N);
    for (int i = 0; i < 7; i++)
        gen_vote(&j, &gv[i], i < 4 ? &g.a1 : &g.b1, GSET);
    gen_ancestry(&j, &g.a1);
    gen_ancestry(&j, &g.b1);
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_ANCESTRY_ROUTE);
    ck_assert_uint_eq(v.index, 4);
    dump_case("sibling_routes", gv, N, GSET, &j, false);
    ferry_grandpa_justification_free(&j);

    /* the same split with one vote on T: valid, and B1/A1 both route to T */
    gen_justification(&j, &g.t, N);
    gen_vote(&j, &gv[9], &g.t, GSET);
    for (int i = 0; i < 7; i++)
        gen_vote(&j, &gv[i], i < 4 ? &g.a1 : &g.b2, GSET);
    gen_ancestry(&j, &g.a1);
    gen_ancestry(&j, &g.b2);
    gen_ancestry(&j, &g.b1);
    ck_assert_msg(verify_roundtrip(&j, &vs, GSET, 1, 0, &v) == FERRY_OK, "%s", v.detail);
    dump_case("valid_fork_votes", gv, N, GSET, &j, true);

    /* a precommit below the target number */
    j.precommits[0].target_number = 99;
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_BAD_SIGNATURE); /* signatures come first */
    gen_vote(&j, &gv[9], &g.t, GSET);                        /* re-sign at index 8 */
    j.precommits[0] = j.precommits[--j.n_precommits];
    j.precommits[0].target_number = 99;
    uint8_t msg[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN];
    ferry_grandpa_precommit_payload(msg, j.precommits[0].target_hash, 99, GROUND, GSET);
    crypto_sign_detached(j.precommits[0].signature, NULL, msg, sizeof msg, gv[9].sk);
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_NOT_DESCENDANT);
    ck_assert_uint_eq(v.index, 0);
    ferry_grandpa_justification_free(&j);

    ferry_voter_set_free(&vs);
    free_tree(&g);
    free(gv);
}
END_TEST

START_TEST(equivocations_duplicates_and_unknown_voters)
{
    enum { N = 10 }; /* threshold 7 */
    struct gvoter *gv = gen_voters(N + 3, 3, NULL);
    struct ferry_voter_set vs;
    struct gtree g;
    struct ferry_grandpa_verdict v;
    gen_tree(&g);
    gen_voter_set(&vs, gv, N); /* gv[10..12] are not voters */

    struct ferry_grandpa_justification j;
    gen_justification(&j, &g.t, 32);
    for (int i = 0; i < 7; i++)
        gen_vote(&j, &gv[i], &g.t, GSET);
    gen_vote(&j, &gv[0], &g.b1, GSET); /* voter 0 equivocates: tolerated */
    gen_ancestry(&j, &g.b1);
    ck_assert_msg(verify_roundtrip(&j, &vs, GSET, 1, 0, &v) == FERRY_OK, "%s", v.detail);
    ck_assert_uint_eq(v.equivocators, 1);
    ck_assert_uint_eq(v.weight, 7);
    dump_case("valid_one_equivocation", gv, N, GSET, &j, true);

    /* a third distinct vote from voter 0: Substrate ignores it; strict mode rejects it */
    gen_vote(&j, &gv[0], &g.b2, GSET);
    gen_ancestry(&j, &g.b2);
    ck_assert_msg(verify_roundtrip(&j, &vs, GSET, 1, 0, &v) == FERRY_OK, "%s", v.detail);
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, FERRY_GRANDPA_STRICT_EQUIVOCATIONS, &v),
                     FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_EQUIVOCATIONS);
    ck_assert_uint_eq(v.index, 8);

    /* exact duplicates count once: 6 distinct voters + a copy is below 7 */
    j.n_precommits = 6;
    j.n_ancestries = 0;
    ferry_header_free(&j.ancestries[0]);
    ferry_header_free(&j.ancestries[1]);
    j.precommits[j.n_precommits++] = j.precommits[2];
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_BELOW_THRESHOLD);
    ck_assert_uint_eq(v.duplicates, 1);
    ck_assert_uint_eq(v.weight, 6);
    dump_case("below_threshold_duplicate", gv, N, GSET, &j, false);

    /* unknown voters are ignored, not rejected... */
    j.n_precommits = 7;
    gen_vote(&j, &gv[10], &g.t, GSET);
    gen_vote(&j, &gv[11], &g.t, GSET);
    j.precommits[6] = j.precommits[--j.n_precommits]; /* replace the duplicate */
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_BELOW_THRESHOLD);
    ck_assert_uint_eq(v.unknown, 2);
    gen_vote(&j, &gv[6], &g.t, GSET);
    ck_assert_msg(verify_roundtrip(&j, &vs, GSET, 1, 0, &v) == FERRY_OK, "%s", v.detail);
    ck_assert_uint_eq(v.unknown, 2);
    dump_case("valid_unknown_voters", gv, N + 3, GSET, &j, true);
    /* ...but their signatures must verify */
    j.precommits[6].signature[0] ^= 0x80;
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_BAD_SIGNATURE);
    ck_assert_uint_eq(v.index, 6);
    j.precommits[6].signature[0] ^= 0x80;
    /* ...and their targets must descend from the commit target */
    gen_vote(&j, &gv[12], &g.a1, GSET);
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_NOT_DESCENDANT);
    ferry_grandpa_justification_free(&j);

    /* equivocators count for every block: 4 honest votes on A1 + 3 equivocators (first vote on
     * A1, second on T) push A1 to 7 = threshold, so the GHOST moves past T */
    gen_justification(&j, &g.t, 32);
    for (int i = 0; i < 7; i++)
        gen_vote(&j, &gv[i], &g.a1, GSET);
    for (int i = 4; i < 7; i++)
        gen_vote(&j, &gv[i], &g.t, GSET);
    gen_vote(&j, &gv[7], &g.t, GSET);
    gen_ancestry(&j, &g.a1);
    ck_assert_int_eq(verify_roundtrip(&j, &vs, GSET, 1, 0, &v), FERRY_E_VERIFY);
    ck_assert_int_eq(v.reason, FERRY_GRANDPA_GHOST_BEYOND);
    ck_assert_uint_eq(v.equivocators, 3);
    dump_case("equivocators_move_ghost", gv, N, GSET, &j, false);
    ferry_grandpa_justification_free(&j);

    ferry_voter_set_free(&vs);
    free_tree(&g);
    free(gv);
}
END_TEST

START_TEST(voter_set_rules)
{
    struct ferry_authority a[4] = {{.id = {3}, .weight = 2},
                                   {.id = {1}, .weight = 0},
                                   {.id = {3}, .weight = 5},
                                   {.id = {2}, .weight = 1}};
    struct ferry_voter_set vs;
    ck_assert_int_eq(ferry_voter_set_init(&vs, a, 4), FERRY_OK);
    ck_assert_uint_eq(vs.n_voters, 2); /* zero weight dropped, repeats merged */
    ck_assert_uint_eq(vs.total_weight, 8);
    ck_assert_uint_eq(vs.threshold, 6);
    ck_assert_ptr_null(ferry_voter_set_find(&vs, a[1].id));
    ck_assert_uint_eq(ferry_voter_set_find(&vs, a[0].id)->weight, 7);
    ferry_voter_set_free(&vs);
    ck_assert_int_eq(ferry_voter_set_init(&vs, a + 1, 1), FERRY_E_INVALID);
    ck_assert_int_eq(ferry_voter_set_init(&vs, a, 0), FERRY_E_INVALID);
    a[0].weight = UINT64_MAX;
    ck_assert_int_eq(ferry_voter_set_init(&vs, a, 4), FERRY_E_OVERFLOW);
}
END_TEST

START_TEST(hostile_encodings_are_rejected_with_reasons)
{
    TU_VECTOR_OR_SKIP(v, "grandpa/polkadot-302592-set0-negatives.json");
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(v, "cases"), 7); /* has ancestries */
    size_t len;
    uint8_t *buf = tu_hex(tu_str(c, "justification"), &len);
    struct ferry_grandpa_justification j;
    struct ferry_scale_reader diag;
    ck_assert_int_eq(ferry_grandpa_justification_decode(&j, buf, len, &diag), FERRY_OK);
    ck_assert_uint_eq(j.n_ancestries, 1);
    ferry_grandpa_justification_free(&j);
    for (size_t cut = 0; cut < len; cut++)
        ck_assert_int_ne(ferry_grandpa_justification_decode(&j, buf, cut, NULL), FERRY_OK);
    uint8_t *more = malloc(len + 1);
    memcpy(more, buf, len);
    more[len] = 0;
    ck_assert_int_eq(ferry_grandpa_justification_decode(&j, more, len + 1, &diag),
                     FERRY_E_TRAILING);
    /* a precommit count far beyond the input: refused before any allocation */
    uint8_t huge[8 + 32 + 4 + 5] = {0};
    huge[44] = 0x03; /* big-mode compact: 4 bytes follow */
    memset(huge + 45, 0xff, 4);
    ck_assert_int_eq(ferry_grandpa_justification_decode(&j, huge, sizeof huge, &diag),
                     FERRY_E_TOO_LARGE);
    char why[100];
    ferry_scale_describe(&diag, why, sizeof why);
    ck_assert_ptr_nonnull(strstr(why, "byte"));

    struct ferry_voter_set vs;
    struct ferry_grandpa_verdict verdict;
    struct ferry_authority one = {.id = {1}, .weight = 1};
    ck_assert_int_eq(ferry_voter_set_init(&vs, &one, 1), FERRY_OK);
    ck_assert_int_eq(
        ferry_grandpa_verify_encoded(huge, sizeof huge, &vs, 0, NULL, &verdict, NULL, NULL),
        FERRY_E_VERIFY);
    ck_assert_int_eq(verdict.reason, FERRY_GRANDPA_DECODE);
    ck_assert_ptr_nonnull(strstr(verdict.detail, "byte"));
    ferry_voter_set_free(&vs);
    free(more);
    free(buf);
}
END_TEST

START_TEST(finality_proof_decodes)
{
    TU_VECTOR_OR_SKIP(v, "grandpa/polkadot-302592-set0.json");
    size_t jlen;
    uint8_t *just = tu_hex(tu_str(v, "justification"), &jlen);
    struct gtree g;
    gen_tree(&g);
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_bytes(&w, g.a1.hash, 32);
    ferry_scale_put_byte_vec(&w, just, jlen);
    ferry_scale_put_compact(&w, 2);
    ferry_scale_put_bytes(&w, g.a1.encoded, g.a1.encoded_len);
    ferry_scale_put_bytes(&w, g.a2.encoded, g.a2.encoded_len);
    struct ferry_grandpa_finality_proof p;
    ck_assert_int_eq(ferry_grandpa_finality_proof_decode(&p, w.buf, w.len, NULL), FERRY_OK);
    ck_assert_mem_eq(p.block, g.a1.hash, 32);
    ck_assert_uint_eq(p.justification_len, jlen);
    ck_assert_mem_eq(p.justification, just, jlen);
    ck_assert_uint_eq(p.n_unknown_headers, 2);
    ck_assert_mem_eq(p.unknown_headers[1].hash, g.a2.hash, 32);
    ferry_grandpa_finality_proof_free(&p);
    for (size_t cut = 0; cut < w.len; cut += 7)
        ck_assert_int_ne(ferry_grandpa_finality_proof_decode(&p, w.buf, cut, NULL), FERRY_OK);
    ferry_scale_writer_free(&w);
    free_tree(&g);
    free(just);
}
END_TEST

/* ---- authority set tracking ------------------------------------------------------------- */

/* Encoded Vec<DigestItem> with FRNK consensus logs given as raw payloads. */
static void frnk_digest(struct ferry_scale_writer *w, const struct ferry_scale_writer *logs,
                        size_t n)
{
    ferry_scale_put_compact(w, n);
    for (size_t i = 0; i < n; i++) {
        ferry_scale_put_u8(w, 4);
        ferry_scale_put_bytes(w, "FRNK", 4);
        ferry_scale_put_byte_vec(w, logs[i].buf, logs[i].len);
    }
}

static void log_change(struct ferry_scale_writer *w, int kind, const struct gvoter *next, size_t n,
                       uint32_t delay, uint32_t median)
{
    ferry_scale_writer_init(w);
    ferry_scale_put_u8(w, (uint8_t)kind);
    if (kind == 2)
        ferry_scale_put_u32(w, median);
    ferry_scale_put_compact(w, n);
    for (size_t i = 0; i < n; i++) {
        ferry_scale_put_bytes(w, next[i].pk, 32);
        ferry_scale_put_u64(w, next[i].weight);
    }
    ferry_scale_put_u32(w, delay);
}

static void log_simple(struct ferry_scale_writer *w, int kind, uint64_t arg)
{
    ferry_scale_writer_init(w);
    ferry_scale_put_u8(w, (uint8_t)kind);
    if (kind == 3)
        ferry_scale_put_u64(w, arg);
    else
        ferry_scale_put_u32(w, (uint32_t)arg);
}

/* Next header on top of the set's last block, with the given FRNK logs (consumed). */
static void next_header(struct ferry_header *h, const struct ferry_authority_set *set,
                        struct ferry_scale_writer *logs, size_t n)
{
    struct ferry_scale_writer d;
    ferry_scale_writer_init(&d);
    frnk_digest(&d, logs, n);
    gen_header(h, set->hash, set->number + 1, 7, d.buf, d.len);
    ferry_scale_writer_free(&d);
    for (size_t i = 0; i < n; i++)
        ferry_scale_writer_free(&logs[i]);
}

static ferry_err apply(struct ferry_authority_set *set, struct ferry_scale_writer *logs, size_t n,
                       struct ferry_authority_set_event *ev)
{
    struct ferry_header h;
    next_header(&h, set, logs, n);
    ferry_err err = ferry_authority_set_apply_header(set, &h, ev, NULL);
    ferry_header_free(&h);
    return err;
}

static void set_bytes(const struct ferry_authority_set *set, struct ferry_scale_writer *w)
{
    ferry_scale_writer_init(w);
    ferry_authority_set_encode(set, w);
}

START_TEST(scheduled_change_with_delay_and_justifications_across_it)
{
    struct gvoter *old = gen_voters(4, 10, NULL), *next = gen_voters(5, 11, unequal_weight);
    struct ferry_authority a[4];
    for (int i = 0; i < 4; i++) {
        memcpy(a[i].id, old[i].pk, 32);
        a[i].weight = 1;
    }
    uint8_t h0[32] = {5};
    struct ferry_authority_set set;
    struct ferry_authority_set_event ev;
    struct ferry_scale_writer logs[2];
    ck_assert_int_eq(ferry_authority_set_init(&set, 7, a, 4, 1000, h0), FERRY_OK);

    log_change(&logs[0], 1, next, 5, 3, 0); /* signalled at #1001, enacted at #1004 */
    ck_assert_int_eq(apply(&set, logs, 1, &ev), FERRY_OK);
    ck_assert(ev.signalled && !ev.enacted);
    ck_assert(set.has_scheduled);
    ck_assert_uint_eq(set.scheduled.signal_number, 1001);

    /* persisted mid-change and restored */
    struct ferry_scale_writer w1, w2;
    struct ferry_authority_set back;
    set_bytes(&set, &w1);
    ck_assert_int_eq(ferry_authority_set_decode(&back, w1.buf, w1.len, NULL), FERRY_OK);
    set_bytes(&back, &w2);
    ck_assert_uint_eq(w1.len, w2.len);
    ck_assert_mem_eq(w1.buf, w2.buf, w1.len);
    ferry_authority_set_free(&back);
    ferry_scale_writer_free(&w2);

    /* a second scheduled change while one is pending is refused and changes nothing */
    log_change(&logs[0], 1, next, 2, 0, 0);
    ck_assert_int_eq(apply(&set, logs, 1, &ev), FERRY_E_STATE);
    set_bytes(&set, &w2);
    ck_assert_mem_eq(w1.buf, w2.buf, w1.len);
    ferry_scale_writer_free(&w2);
    ferry_scale_writer_free(&w1);

    ck_assert_int_eq(apply(&set, NULL, 0, &ev), FERRY_OK); /* #1002 */
    ck_assert_int_eq(apply(&set, NULL, 0, &ev), FERRY_OK); /* #1003 */
    ck_assert_uint_eq(set.set_id, 7);

    /* #1004 is the last block of set 7: its justification is signed with set_id 7 by the old
     * voters; then applying it enacts set 8, whose voters sign #1005 */
    struct ferry_header h1004, h1005;
    next_header(&h1004, &set, NULL, 0);
    struct ferry_voter_set vs;
    struct ferry_grandpa_justification j;
    struct ferry_grandpa_verdict v;
    ck_assert_int_eq(ferry_authority_set_voters(&set, &vs), FERRY_OK);
    gen_justification(&j, &h1004, 4);
    for (int i = 0; i < 3; i++)
        gen_vote(&j, &old[i], &h1004, set.set_id);
    ck_assert_int_eq(ferry_grandpa_verify(&j, &vs, set.set_id, NULL, &v), FERRY_OK);
    ferry_grandpa_justification_free(&j);
    ferry_voter_set_free(&vs);
    ck_assert_int_eq(ferry_authority_set_apply_header(&set, &h1004, &ev, NULL), FERRY_OK);
    ck_assert(ev.enacted && !ev.forced);
    ck_assert_uint_eq(set.set_id, 8);
    ck_assert_uint_eq(set.n_authorities, 5);
    ck_assert(!set.has_scheduled);

    next_header(&h1005, &set, NULL, 0);
    ck_assert_int_eq(ferry_authority_set_voters(&set, &vs), FERRY_OK);
    gen_justification(&j, &h1005, 5);
    uint64_t w = 0;
    for (int i = 0; i < 5 && w < vs.threshold; i++) {
        gen_vote(&j, &next[i], &h1005, set.set_id);
        w += next[i].weight;
    }
    ck_assert_int_eq(ferry_grandpa_verify(&j, &vs, 8, NULL, &v), FERRY_OK);
    ck_assert_int_eq(ferry_grandpa_verify(&j, &vs, 7, NULL, &v), FERRY_E_VERIFY);
    ferry_grandpa_justification_free(&j);
    ferry_voter_set_free(&vs);

    ferry_header_free(&h1004);
    ferry_header_free(&h1005);
    ferry_authority_set_free(&set);
    free(old);
    free(next);
}
END_TEST

START_TEST(forced_changes_need_opt_in)
{
    struct gvoter *next = gen_voters(3, 12, NULL);
    struct ferry_authority a = {.id = {9}, .weight = 1};
    uint8_t h0[32] = {6};
    struct ferry_authority_set set;
    struct ferry_authority_set_event ev;
    struct ferry_scale_writer logs[2];
    ck_assert_int_eq(ferry_authority_set_init(&set, 3, &a, 1, 50, h0), FERRY_OK);

    log_change(&logs[0], 2, next, 3, 2, 40);
    ck_assert_int_eq(apply(&set, logs, 1, &ev), FERRY_E_UNSUPPORTED);
    ck_assert_uint_eq(set.number, 50);

    set.accept_forced = true;
    log_change(&logs[0], 2, next, 3, 2, 40); /* signalled #51, enacted on import of #53 */
    ck_assert_int_eq(apply(&set, logs, 1, &ev), FERRY_OK);
    ck_assert(set.has_forced && ev.signalled);
    log_change(&logs[0], 2, next, 3, 2, 40);
    ck_assert_int_eq(apply(&set, logs, 1, &ev), FERRY_E_STATE); /* one pending at a time */

    /* a forced change enacted below a pending scheduled change's block is a dependency error */
    struct ferry_authority_set dep;
    ck_assert_int_eq(ferry_authority_set_copy(&dep, &set), FERRY_OK);
    dep.forced.median = 60;
    log_change(&logs[0], 1, next, 2, 0, 0); /* scheduled, enacted at #52 <= median 60 */
    ck_assert_int_eq(apply(&dep, logs, 1, &ev), FERRY_OK);
    ck_assert_uint_eq(dep.set_id, 4); /* delay 0: enacted at once */
    ferry_authority_set_free(&dep);

    ck_assert_int_eq(ferry_authority_set_copy(&dep, &set), FERRY_OK);
    dep.forced.median = 60;
    log_change(&logs[0], 1, next, 2, 5, 0); /* scheduled for #57, forced enacts at #53 */
    ck_assert_int_eq(apply(&dep, logs, 1, &ev), FERRY_OK);
    ck_assert_int_eq(apply(&dep, NULL, 0, &ev), FERRY_E_STATE);
    ferry_authority_set_free(&dep);

    ck_assert_int_eq(apply(&set, NULL, 0, &ev), FERRY_OK); /* #52 */
    ck_assert_int_eq(apply(&set, NULL, 0, &ev), FERRY_OK); /* #53 */
    ck_assert(ev.enacted && ev.forced);
    ck_assert_uint_eq(set.set_id, 4);
    ck_assert_uint_eq(set.n_authorities, 3);
    ck_assert(!set.has_forced && !set.has_scheduled);

    /* the policy survives persistence */
    struct ferry_scale_writer w;
    struct ferry_authority_set back;
    set_bytes(&set, &w);
    ck_assert_int_eq(ferry_authority_set_decode(&back, w.buf, w.len, NULL), FERRY_OK);
    ck_assert(back.accept_forced);
    ferry_authority_set_free(&back);
    w.buf[0] = 2;
    ck_assert_int_eq(ferry_authority_set_decode(&back, w.buf, w.len, NULL), FERRY_E_UNSUPPORTED);
    ferry_scale_writer_free(&w);
    ferry_authority_set_free(&back);
    ferry_authority_set_free(&set);
    free(next);
}
END_TEST

START_TEST(pause_resume_and_disabled_keep_set_id)
{
    struct ferry_authority a = {.id = {9}, .weight = 1};
    uint8_t h0[32] = {7};
    struct ferry_authority_set set;
    struct ferry_authority_set_event ev;
    struct ferry_scale_writer logs[2];
    ck_assert_int_eq(ferry_authority_set_init(&set, 11, &a, 1, 0, h0), FERRY_OK);

    log_simple(&logs[0], 5, 0); /* resume while live */
    ck_assert_int_eq(apply(&set, logs, 1, &ev), FERRY_E_STATE);
    log_simple(&logs[0], 4, 2); /* pause at #1 + 2 */
    log_simple(&logs[1], 3, 0); /* OnDisabled(0) */
    ck_assert_int_eq(apply(&set, logs, 2, &ev), FERRY_OK);
    ck_assert_int_eq(set.pause, FERRY_GRANDPA_PAUSE_PENDING);
    ck_assert_uint_eq(set.pause_at, 3);
    ck_assert_uint_eq(ev.disabled, 1);
    ck_assert_int_eq(apply(&set, NULL, 0, &ev), FERRY_OK);
    ck_assert_int_eq(set.pause, FERRY_GRANDPA_PAUSE_PENDING);
    ck_assert_int_eq(apply(&set, NULL, 0, &ev), FERRY_OK);
    ck_assert_int_eq(set.pause, FERRY_GRANDPA_PAUSED);
    ck_assert(ev.pause_changed);
    log_simple(&logs[0], 5, 0); /* resume at once */
    ck_assert_int_eq(apply(&set, logs, 1, &ev), FERRY_OK);
    ck_assert_int_eq(set.pause, FERRY_GRANDPA_LIVE);
    ck_assert_uint_eq(set.set_id, 11);

    /* an FRNK log that does not decode stops the set instead of being skipped */
    ferry_scale_writer_init(&logs[0]);
    ferry_scale_put_u8(&logs[0], 9);
    struct ferry_reason why = {""};
    struct ferry_header h;
    next_header(&h, &set, logs, 1);
    ck_assert_int_eq(ferry_authority_set_apply_header(&set, &h, &ev, &why), FERRY_E_INVALID);
    ck_assert(why.text[0] != 0);
    ferry_header_free(&h);
    /* a delay that overflows the block number */
    set.number = UINT32_MAX - 2;
    log_simple(&logs[0], 4, UINT32_MAX);
    ck_assert_int_eq(apply(&set, logs, 1, &ev), FERRY_E_INVALID);
    ferry_authority_set_free(&set);
}
END_TEST

/* ---- bootstrap from a read proof ----------------------------------------------------------- */

/* Hand-encoded V0 leaf with nibbles [skip, 2*key_len) of key, the value inline. */
static void leaf_node(struct ferry_scale_writer *w, const uint8_t *key, size_t key_len, size_t skip,
                      const uint8_t *val, size_t val_len)
{
    size_t nib = 2 * key_len - skip;
    ferry_scale_writer_init(w);
    if (nib < 63) {
        ferry_scale_put_u8(w, (uint8_t)(0x40 | nib));
    } else {
        ferry_scale_put_u8(w, 0x7f);
        ferry_scale_put_u8(w, (uint8_t)(nib - 63)); /* < 255 here */
    }
    size_t i = skip;
    if (nib % 2) {
        ferry_scale_put_u8(w, key[i / 2] & 0x0f);
        i++;
    }
    for (; i < 2 * key_len; i += 2)
        ferry_scale_put_u8(w, key[i / 2]);
    ferry_scale_put_byte_vec(w, val, val_len);
}

static void authorities_value(struct ferry_scale_writer *w, bool versioned, size_t n)
{
    ferry_scale_writer_init(w);
    if (versioned)
        ferry_scale_put_u8(w, 1);
    ferry_scale_put_compact(w, n);
    for (size_t i = 0; i < n; i++) {
        uint8_t id[32] = {(uint8_t)i, 0xaa};
        ferry_scale_put_bytes(w, id, 32);
        ferry_scale_put_u64(w, 1);
    }
}

START_TEST(bootstrap_from_read_proof)
{
    uint8_t k_auth[32], k_set[32], root[32], check[32], blk[32] = {1};
    ferry_storage_prefix(k_auth, "Grandpa", "Authorities");
    ferry_storage_prefix(k_set, "Grandpa", "CurrentSetId");
    ck_assert_int_eq(memcmp(k_auth, k_set, 16), 0);
    ck_assert_int_ne(k_auth[16] >> 4, k_set[16] >> 4); /* they branch at nibble 32 */
    struct ferry_scale_writer val, setv, la, ls, br;
    authorities_value(&val, false, 5);
    ferry_scale_writer_init(&setv);
    ferry_scale_put_u64(&setv, 1234);
    leaf_node(&la, k_auth, 32, 33, val.buf, val.len);
    leaf_node(&ls, k_set, 32, 33, setv.buf, setv.len);
    /* branch: 32-nibble partial key (the shared prefix), two children, no value */
    ferry_scale_writer_init(&br);
    ferry_scale_put_u8(&br, 0x80 | 32);
    ferry_scale_put_bytes(&br, k_auth, 16);
    ferry_scale_put_u16(&br, (uint16_t)((1u << (k_auth[16] >> 4)) | (1u << (k_set[16] >> 4))));
    const struct ferry_scale_writer *kids[2] = {&la, &ls};
    if ((k_set[16] >> 4) < (k_auth[16] >> 4)) {
        kids[0] = &ls;
        kids[1] = &la;
    }
    for (int i = 0; i < 2; i++) {
        uint8_t hsh[32];
        if (kids[i]->len < 32) { /* the CurrentSetId leaf (26 bytes) is inlined */
            ferry_scale_put_byte_vec(&br, kids[i]->buf, kids[i]->len);
            continue;
        }
        ferry_blake2b_256(hsh, kids[i]->buf, kids[i]->len);
        ferry_scale_put_byte_vec(&br, hsh, 32);
    }
    ferry_blake2b_256(root, br.buf, br.len);
    /* the hand-made trie is the one the trie module computes for these two pairs */
    struct ferry_trie_kv kv[2] = {{k_auth, 32, val.buf, val.len}, {k_set, 32, setv.buf, setv.len}};
    ck_assert_int_eq(ferry_trie_root(kv, 2, FERRY_TRIE_V0, check), FERRY_OK);
    ck_assert_mem_eq(root, check, 32);

    ck_assert_uint_lt(ls.len, 32);
    const uint8_t *entries[2] = {br.buf, la.buf};
    size_t lens[2] = {br.len, la.len};
    struct ferry_trie_proof *proof;
    struct ferry_authority_set set;
    struct ferry_reason why = {""};
    ck_assert_int_eq(ferry_trie_proof_build(entries, lens, 2, &proof), FERRY_OK);
    ck_assert_int_eq(ferry_authority_set_from_proof(&set, proof, root, 77, blk, &why), FERRY_OK);
    ck_assert_uint_eq(set.set_id, 1234);
    ck_assert_uint_eq(set.n_authorities, 5);
    ck_assert_uint_eq(set.authorities[3].id[0], 3);
    ck_assert_uint_eq(set.number, 77);
    ferry_authority_set_free(&set);
    ferry_trie_proof_free(proof);

    /* without the authorities leaf the proof is incomplete for that key */
    ck_assert_int_eq(ferry_trie_proof_build(entries, lens, 1, &proof), FERRY_OK);
    ck_assert_int_eq(ferry_authority_set_from_proof(&set, proof, root, 77, blk, &why),
                     FERRY_E_INCOMPLETE);
    ck_assert_ptr_nonnull(strstr(why.text, "authorities"));
    ferry_trie_proof_free(proof);

    /* legacy key alone: versioned value, set_id absent = 0 */
    struct ferry_scale_writer lv, ll;
    static const char legacy[] = ":grandpa_authorities";
    authorities_value(&lv, true, 2);
    leaf_node(&ll, (const uint8_t *)legacy, sizeof legacy - 1, 0, lv.buf, lv.len);
    ferry_blake2b_256(root, ll.buf, ll.len);
    ck_assert_int_eq(ferry_trie_proof_build((const uint8_t *const *)&ll.buf, &ll.len, 1, &proof),
                     FERRY_OK);
    ck_assert_int_eq(ferry_authority_set_from_proof(&set, proof, root, 1, blk, &why), FERRY_OK);
    ck_assert_uint_eq(set.set_id, 0);
    ck_assert_uint_eq(set.n_authorities, 2);
    ferry_authority_set_free(&set);
    ferry_trie_proof_free(proof);

    /* decoding rules for the two value forms */
    struct ferry_authority *list;
    size_t n;
    ck_assert_int_eq(ferry_grandpa_authorities_decode(lv.buf, lv.len, true, &list, &n), FERRY_OK);
    free(list);
    ck_assert_int_ne(ferry_grandpa_authorities_decode(lv.buf, lv.len, false, &list, &n), FERRY_OK);
    lv.buf[0] = 2;
    ck_assert_int_eq(ferry_grandpa_authorities_decode(lv.buf, lv.len, true, &list, &n),
                     FERRY_E_UNSUPPORTED);

    ferry_scale_writer_free(&lv);
    ferry_scale_writer_free(&ll);
    ferry_scale_writer_free(&val);
    ferry_scale_writer_free(&setv);
    ferry_scale_writer_free(&la);
    ferry_scale_writer_free(&ls);
    ferry_scale_writer_free(&br);
}
END_TEST

Suite *grandpa_suite(void)
{
    Suite *s = suite_create("grandpa");
    TCase *tc = tcase_create("vectors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, polkadot_302592_set0_verifies);
    tcase_add_test(tc, polkadot_302592_negatives_fail_for_their_reason);
    tcase_add_test(tc, polkadot_4635975_set450_signatures_and_threshold);
    tcase_add_test(tc, westend_compact_commit_signatures);
    tcase_add_test(tc, westend_single_precommit_and_negative);
    tcase_add_test(tc, threshold_table);
    tcase_add_test(tc, checkpoint_sets_serialise_and_threshold);
    tcase_add_test(tc, real_scheduled_changes_enact_at_signal_block);
    suite_add_tcase(s, tc);
    TCase *gen = tcase_create("generated");
    tcase_set_timeout(gen, 60);
    tcase_add_test(gen, many_unequal_voters_with_descendant_votes);
    tcase_add_test(gen, ghost_must_be_the_commit_target);
    tcase_add_test(gen, equivocations_duplicates_and_unknown_voters);
    tcase_add_test(gen, voter_set_rules);
    tcase_add_test(gen, hostile_encodings_are_rejected_with_reasons);
    tcase_add_test(gen, finality_proof_decodes);
    tcase_add_test(gen, scheduled_change_with_delay_and_justifications_across_it);
    tcase_add_test(gen, forced_changes_need_opt_in);
    tcase_add_test(gen, pause_resume_and_disabled_keep_set_id);
    tcase_add_test(gen, bootstrap_from_read_proof);
    suite_add_tcase(s, gen);
    return s;
}
