/* Trie proofs and roots: every vector in vectors/trie (node decodings, present/absent/incomplete
 * lookups, wrong root, tampered node, the continuation-byte header, the 423-node proof, the
 * prefix-scan union, the two-step relay→parachain proofs), real header chains from
 * vectors/headers, and hand-made cases (labelled) for what the vectors do not reach. Hand-made
 * roots were cross-checked with an independent implementation: chopsticks-core's
 * calculateStateRoot (smoldot's trie), see tests/unit/oracle/trie_roots.js.
 */
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/header.h"
#include "ferry/hex.h"
#include "ferry/scale.h"
#include "ferry/trie.h"
#include "ferry/para_head.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* A proof from a JSON array of hex nodes (the `proof_nodes` shape). */
static struct ferry_trie_proof *proof_from_nodes(const cJSON *nodes)
{
    char *text = cJSON_PrintUnformatted(nodes);
    ck_assert_ptr_nonnull(text);
    struct ferry_trie_proof *p;
    struct ferry_reason why = {""};
    ck_assert_int_eq(ferry_trie_proof_from_json(text, strlen(text), &p, &why), FERRY_OK);
    free(text);
    return p;
}

static struct ferry_trie_proof *proof_from_scale_hex(const char *hex)
{
    size_t len;
    uint8_t *buf = tu_hex(hex, &len);
    struct ferry_trie_proof *p;
    ck_assert_int_eq(ferry_trie_proof_from_scale(buf, len, &p, NULL), FERRY_OK);
    free(buf);
    return p;
}

static ferry_err expected_err(const char *expected)
{
    if (strcmp(expected, "present") == 0)
        return FERRY_OK;
    if (strcmp(expected, "absent") == 0)
        return FERRY_E_NOT_FOUND;
    ck_assert_str_eq(expected, "incomplete_proof");
    return FERRY_E_INCOMPLETE;
}

/* Run every lookup of a vector proof object against p; returns the number run. */
static int run_lookups(const struct ferry_trie_proof *p, const cJSON *proof_obj)
{
    uint8_t root[32];
    int n = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(proof_obj, "lookups"))
    {
        const cJSON *ovr = cJSON_GetObjectItem(l, "state_root_override");
        tu_hex_exact(ovr ? ovr->valuestring : tu_str(proof_obj, "state_root"), root, 32);
        size_t klen;
        uint8_t *key = tu_hex(tu_str(l, "key"), &klen);
        const uint8_t *v;
        size_t vlen;
        struct ferry_reason why = {""};
        ferry_err want = expected_err(tu_str(l, "expected"));
        ferry_err got = ferry_trie_proof_lookup(p, root, key, klen, &v, &vlen, &why);
        ck_assert_msg(got == want, "key %s: got %s (%s), want %s", tu_str(l, "key"),
                      ferry_strerror(got), why.text, tu_str(l, "expected"));
        if (want == FERRY_OK)
            ck_assert_str_eq(tu_tohex(v, vlen), tu_str(l, "value"));
        else
            ck_assert(v == NULL && vlen == 0);
        free(key);
        n++;
    }
    return n;
}

/* Both encodings of a vector proof give the same set and the same answers. */
static int check_proof_object(const cJSON *proof_obj)
{
    struct ferry_trie_proof *a = proof_from_nodes(cJSON_GetObjectItem(proof_obj, "proof_nodes"));
    struct ferry_trie_proof *b = proof_from_scale_hex(tu_str(proof_obj, "proof_scale_vec"));
    ck_assert_uint_eq(ferry_trie_proof_count(a), ferry_trie_proof_count(b));
    ck_assert_uint_eq(ferry_trie_proof_count(a),
                      cJSON_GetArraySize(cJSON_GetObjectItem(proof_obj, "proof_nodes")));
    int n = run_lookups(a, proof_obj);
    ck_assert_int_eq(run_lookups(b, proof_obj), n);
    /* Real read proofs are minimal: every entry is reached from the root. */
    uint8_t root[32];
    size_t unused = 99;
    tu_hex_exact(tu_str(proof_obj, "state_root"), root, 32);
    ck_assert_int_eq(ferry_trie_proof_check(a, root, &unused, NULL), FERRY_OK);
    ck_assert_uint_eq(unused, 0);
    ferry_trie_proof_free(a);
    ferry_trie_proof_free(b);
    return n;
}

static char *nibbles_of(const struct ferry_trie_node *node)
{
    static char buf[2 * 65536 + 1];
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < node->partial_nibbles; i++)
        buf[i] = digits[ferry_trie_node_partial_nibble(node, i)];
    buf[node->partial_nibbles] = 0;
    return buf;
}

/* Decode every node of a vector proof and compare with its `nodes_decoded` description. */
static int check_nodes_decoded(const cJSON *proof_obj)
{
    int n = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(proof_obj, "nodes_decoded"))
    {
        const cJSON *nodes = cJSON_GetObjectItem(proof_obj, "proof_nodes");
        const char *hex = cJSON_GetArrayItem(nodes, n)->valuestring;
        size_t len;
        uint8_t *buf = tu_hex(hex, &len);
        const char *type = tu_str(d, "type");
        if (strcmp(type, "raw_value") == 0) {
            /* A V1 hashed value carried as its own entry: it is keyed by its blake2 hash. */
            uint8_t h[32];
            ferry_blake2b_256(h, buf, len);
            ck_assert_str_eq(tu_tohex(h, 32), tu_str(d, "blake2_256"));
            free(buf);
            n++;
            continue;
        }
        struct ferry_trie_node node;
        struct ferry_scale_reader diag;
        ck_assert_int_eq(ferry_trie_node_decode(buf, len, &node, &diag), FERRY_OK);
        ck_assert_str_eq(ferry_trie_node_type_name(&node), type);
        ck_assert_str_eq(tu_tohex(&node.header, 1), tu_str(d, "header_byte"));
        ck_assert_str_eq(nibbles_of(&node), tu_str(d, "partial_key_nibbles"));
        uint8_t h[32];
        ferry_blake2b_256(h, buf, len);
        ck_assert_str_eq(tu_tohex(h, 32), tu_str(d, "hash"));
        const cJSON *jv = cJSON_GetObjectItem(d, "value");
        const cJSON *jvh = cJSON_GetObjectItem(d, "value_hash");
        if (jv)
            ck_assert_str_eq(tu_tohex(node.value, node.value_len), jv->valuestring);
        if (jvh) {
            ck_assert(node.value_hashed);
            ck_assert_str_eq(tu_tohex(node.value, 32), jvh->valuestring);
        }
        ck_assert(node.has_value == (jv || jvh));
        const cJSON *children = cJSON_GetObjectItem(d, "children");
        uint16_t bitmap = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, children)
        {
            int i = atoi(c->string);
            bitmap |= (uint16_t)(1u << i);
            const cJSON *ch = cJSON_GetObjectItem(c, "hash");
            const cJSON *ci = cJSON_GetObjectItem(c, "inline");
            if (ch) {
                ck_assert_uint_eq(node.child_len[i], 32);
                ck_assert_str_eq(tu_tohex(node.child[i], 32), ch->valuestring);
            } else {
                ck_assert_ptr_nonnull(ci);
                ck_assert_uint_lt(node.child_len[i], 32);
                ck_assert_str_eq(tu_tohex(node.child[i], node.child_len[i]), ci->valuestring);
            }
        }
        ck_assert_uint_eq(node.children_bitmap, bitmap);
        free(buf);
        n++;
    }
    return n;
}

/* ---- vectors: proofs and lookups ------------------------------------------------------------ */

START_TEST(polkadot_genesis_v0_present_absent_incomplete_wrong_root)
{
    TU_VECTOR_OR_SKIP(v, "trie/polkadot-genesis-v0-claims.json");
    ck_assert_int_eq(check_proof_object(v), 4);
    ck_assert_int_eq(check_nodes_decoded(v), 6);
}
END_TEST

START_TEST(tampered_node_never_yields_the_altered_value)
{
    TU_VECTOR_OR_SKIP(v, "trie/polkadot-genesis-v0-claims.json");
    const cJSON *neg = cJSON_GetObjectItem(v, "derived_negative");
    struct ferry_trie_proof *p = proof_from_nodes(cJSON_GetObjectItem(neg, "proof_nodes"));
    uint8_t root[32];
    tu_hex_exact(tu_str(v, "state_root"), root, 32);
    size_t klen;
    uint8_t *key = tu_hex(tu_str(neg, "key"), &klen);
    const uint8_t *val;
    size_t vlen;
    /* The altered leaf no longer hashes to its parent's reference: the path has a hole. */
    ck_assert_int_eq(ferry_trie_proof_lookup(p, root, key, klen, &val, &vlen, NULL),
                     FERRY_E_INCOMPLETE);
    ck_assert_ptr_null(val);
    /* And the strict check sees the tampered entry as unused. */
    size_t unused = 0;
    ck_assert_int_eq(ferry_trie_proof_check(p, root, &unused, NULL), FERRY_OK);
    ck_assert_uint_eq(unused, 1);
    free(key);
    ferry_trie_proof_free(p);
}
END_TEST

START_TEST(rococo_local_continuation_byte_header)
{
    TU_VECTOR_OR_SKIP(v, "trie/rococo-local-v1-paras-heads-2000.json");
    ck_assert_int_eq(check_proof_object(v), 1);
    ck_assert_int_eq(check_nodes_decoded(v), 5);
    /* The hashed-value leaf with header 0x3f 0x18: 31 + 24 = 55 nibbles. */
    int seen = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(v, "nodes_decoded"))
    {
        const cJSON *hb = cJSON_GetObjectItem(d, "header_byte");
        if (hb && strcmp(hb->valuestring, "0x3f") == 0) {
            ck_assert_uint_eq(strlen(tu_str(d, "partial_key_nibbles")), 55);
            seen++;
        }
    }
    ck_assert_int_eq(seen, 1);
}
END_TEST

START_TEST(large_v0_proof_all_92_lookups)
{
    TU_VECTOR_OR_SKIP(v, "trie/large-v0-proof.json");
    ck_assert_int_eq(check_proof_object(v), 92);
}
END_TEST

START_TEST(two_step_proofs_decode_and_look_up)
{
    static const char *const files[] = {"trie/polkadot-v1-paras-heads-1000-assethub-account.json",
                                        "trie/rococo-v1-paras-heads-1013-bridgehub.json"};
    for (size_t f = 0; f < 2; f++) {
        TU_VECTOR_OR_SKIP(v, files[f]);
        const cJSON *relay = cJSON_GetObjectItem(v, "relay_proof");
        const cJSON *para = cJSON_GetObjectItem(v, "parachain_proof");
        ck_assert_int_eq(check_proof_object(relay), 1);
        ck_assert_int_eq(check_proof_object(para), 1);
        ck_assert_int_ge(check_nodes_decoded(relay), 7);
        ck_assert_int_ge(check_nodes_decoded(para), 4);
    }
}
END_TEST

/* Parse a SCALE Vec<Vec<u8>> proof into `out` entries (appended; pointers into buf). */
static void collect_entries(const uint8_t *buf, size_t len, const uint8_t **ptrs, size_t *lens,
                            size_t *n, size_t cap)
{
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, buf, len);
    size_t count;
    ck_assert_int_eq(ferry_scale_vec_len(&r, 1, &count), FERRY_OK);
    for (size_t i = 0; i < count; i++) {
        ck_assert_uint_lt(*n, cap);
        ck_assert_int_eq(ferry_scale_byte_vec(&r, &ptrs[*n], &lens[*n]), FERRY_OK);
        (*n)++;
    }
    ck_assert_int_eq(ferry_scale_finish(&r), FERRY_OK);
}

START_TEST(prefix_scan_union_proves_922_pairs_and_gaps)
{
    TU_VECTOR_OR_SKIP(v, "trie/staking-validators-prefix.json");
    enum { CAP = 8192 };
    const uint8_t **ptrs = calloc(CAP, sizeof *ptrs);
    size_t *lens = calloc(CAP, sizeof *lens);
    uint8_t *bufs[16];
    size_t nb = 0, n = 0;
    const cJSON *ph;
    cJSON_ArrayForEach(ph, cJSON_GetObjectItem(v, "proofs"))
    {
        size_t len;
        bufs[nb] = tu_hex(ph->valuestring, &len);
        collect_entries(bufs[nb], len, ptrs, lens, &n, CAP);
        nb++;
    }
    ck_assert_uint_eq(nb, 6);
    struct ferry_trie_proof *p;
    ck_assert_int_eq(ferry_trie_proof_build(ptrs, lens, n, &p), FERRY_OK);
    ck_assert_uint_le(ferry_trie_proof_count(p), n); /* rounds overlap near the root */
    uint8_t root[32];
    tu_hex_exact(tu_str(v, "state_root"), root, 32);
    int present = 0, absent = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(v, "entries"))
    {
        size_t klen;
        uint8_t *key = tu_hex(tu_str(e, "key"), &klen);
        const uint8_t *val;
        size_t vlen;
        ck_assert_int_eq(ferry_trie_proof_lookup(p, root, key, klen, &val, &vlen, NULL), FERRY_OK);
        ck_assert_str_eq(tu_tohex(val, vlen), tu_str(e, "value"));
        present++;
        /* Under the scanned prefix other keys are provably absent: the same key with its last
         * byte changed (unless that happens to be another entry). */
        key[klen - 1] ^= 0x5a;
        ferry_err err = ferry_trie_proof_lookup(p, root, key, klen, &val, &vlen, NULL);
        ck_assert(err == FERRY_E_NOT_FOUND || err == FERRY_OK);
        absent += err == FERRY_E_NOT_FOUND;
        free(key);
    }
    ck_assert_int_eq(present, 922);
    ck_assert_int_ge(absent, 900);
    /* The union is minimal too: every entry is on some scanned path. */
    size_t unused = 99;
    ck_assert_int_eq(ferry_trie_proof_check(p, root, &unused, NULL), FERRY_OK);
    ck_assert_uint_eq(unused, 0);
    ferry_trie_proof_free(p);
    for (size_t i = 0; i < nb; i++)
        free(bufs[i]);
    free(ptrs);
    free(lens);
}
END_TEST

/* ---- vectors: parachain heads ---------------------------------------------------------------- */

static void check_para_head(const cJSON *relay, uint32_t para_id, const cJSON *decoded)
{
    struct ferry_trie_proof *p = proof_from_nodes(cJSON_GetObjectItem(relay, "proof_nodes"));
    uint8_t root[32];
    tu_hex_exact(tu_str(relay, "state_root"), root, 32);
    struct ferry_header h;
    struct ferry_reason why = {""};
    ck_assert_int_eq(ferry_para_head_verify(p, root, para_id, &h, &why), FERRY_OK);
    ck_assert_int_eq(h.number,
                     cJSON_GetObjectItem(decoded, "parachain_header_number")->valuedouble);
    ck_assert_str_eq(tu_tohex(h.hash, 32), tu_str(decoded, "parachain_header_hash"));
    const cJSON *sr = cJSON_GetObjectItem(decoded, "parachain_state_root");
    if (sr)
        ck_assert_str_eq(tu_tohex(h.state_root, 32), sr->valuestring);
    ferry_header_free(&h);
    /* A wrong root proves nothing. */
    root[0] ^= 1;
    ck_assert_int_eq(ferry_para_head_verify(p, root, para_id, &h, &why), FERRY_E_INCOMPLETE);
    ck_assert_uint_eq(h.encoded_len, 0);
    ferry_trie_proof_free(p);
}

START_TEST(paras_heads_keys_match_the_vectors)
{
    static const char *const files[] = {"trie/polkadot-v1-paras-heads-1000-assethub-account.json",
                                        "trie/rococo-v1-paras-heads-1013-bridgehub.json"};
    for (size_t f = 0; f < 2; f++) {
        TU_VECTOR_OR_SKIP(v, files[f]);
        const cJSON *relay = cJSON_GetObjectItem(v, "relay_proof");
        uint8_t key[FERRY_PARAS_HEADS_KEY_LEN];
        ferry_paras_heads_key((uint32_t)cJSON_GetObjectItem(relay, "para_id")->valueint, key);
        const cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(relay, "lookups"), 0);
        ck_assert_str_eq(tu_tohex(key, sizeof key), tu_str(l, "key"));
    }
    TU_VECTOR_OR_SKIP(rl, "trie/rococo-local-v1-paras-heads-2000.json");
    uint8_t key[FERRY_PARAS_HEADS_KEY_LEN];
    ferry_paras_heads_key(2000, key);
    const cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(rl, "lookups"), 0);
    ck_assert_str_eq(tu_tohex(key, sizeof key), tu_str(l, "key"));
}
END_TEST

START_TEST(relay_to_parachain_two_step_verification)
{
    static const char *const files[] = {"trie/polkadot-v1-paras-heads-1000-assethub-account.json",
                                        "trie/rococo-v1-paras-heads-1013-bridgehub.json"};
    for (size_t f = 0; f < 2; f++) {
        TU_VECTOR_OR_SKIP(v, files[f]);
        const cJSON *relay = cJSON_GetObjectItem(v, "relay_proof");
        const cJSON *para = cJSON_GetObjectItem(v, "parachain_proof");
        uint32_t id = (uint32_t)cJSON_GetObjectItem(relay, "para_id")->valueint;
        check_para_head(relay, id, cJSON_GetObjectItem(relay, "decoded_value"));
        /* Step 2: the proven header's state root anchors the parachain proof. */
        struct ferry_trie_proof *rp = proof_from_nodes(cJSON_GetObjectItem(relay, "proof_nodes"));
        uint8_t root[32];
        tu_hex_exact(tu_str(relay, "state_root"), root, 32);
        struct ferry_header h;
        ck_assert_int_eq(ferry_para_head_verify(rp, root, id, &h, NULL), FERRY_OK);
        struct ferry_trie_proof *pp = proof_from_nodes(cJSON_GetObjectItem(para, "proof_nodes"));
        const cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(para, "lookups"), 0);
        size_t klen;
        uint8_t *key = tu_hex(tu_str(l, "key"), &klen);
        const uint8_t *val;
        size_t vlen;
        ck_assert_int_eq(ferry_trie_proof_lookup(pp, h.state_root, key, klen, &val, &vlen, NULL),
                         FERRY_OK);
        ck_assert_str_eq(tu_tohex(val, vlen), tu_str(l, "value"));
        free(key);
        ferry_header_free(&h);
        ferry_trie_proof_free(pp);
        ferry_trie_proof_free(rp);
    }
}
END_TEST

START_TEST(rococo_local_para_2000_head)
{
    TU_VECTOR_OR_SKIP(v, "trie/rococo-local-v1-paras-heads-2000.json");
    check_para_head(v, 2000, cJSON_GetObjectItem(v, "decoded_value"));
}
END_TEST

START_TEST(para_head_of_other_para_is_not_proven)
{
    TU_VECTOR_OR_SKIP(v, "trie/polkadot-v1-paras-heads-1000-assethub-account.json");
    const cJSON *relay = cJSON_GetObjectItem(v, "relay_proof");
    struct ferry_trie_proof *p = proof_from_nodes(cJSON_GetObjectItem(relay, "proof_nodes"));
    uint8_t root[32];
    tu_hex_exact(tu_str(relay, "state_root"), root, 32);
    struct ferry_header h;
    ck_assert_int_ne(ferry_para_head_verify(p, root, 2004, &h, NULL), FERRY_OK);
    ck_assert_uint_eq(h.encoded_len, 0);
    ferry_trie_proof_free(p);
}
END_TEST

static void header_from_vector(const cJSON *hs, const char *name, struct ferry_header *h)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, hs)
    {
        if (strcmp(tu_str(e, "name"), name) != 0)
            continue;
        size_t len;
        uint8_t *buf = tu_hex(tu_str(e, "encoded"), &len);
        ck_assert_int_eq(ferry_header_decode(h, buf, len, NULL), FERRY_OK);
        free(buf);
        return;
    }
    ck_abort_msg("header %s not in vectors", name);
}

START_TEST(header_chain_by_parent_hash_real_polkadot_blocks)
{
    TU_VECTOR_OR_SKIP(v, "headers/headers.json");
    const cJSON *hs = cJSON_GetObjectItem(v, "headers");
    struct ferry_header g, chain[2];
    header_from_vector(hs, "polkadot-genesis", &g);
    header_from_vector(hs, "polkadot-1", &chain[0]);
    header_from_vector(hs, "polkadot-2", &chain[1]);
    size_t bad = 99;
    struct ferry_reason why = {""};
    ck_assert_int_eq(ferry_para_chain_verify(g.hash, 0, chain, 2, chain[1].hash, &bad, &why),
                     FERRY_OK);
    ck_assert_int_eq(ferry_para_chain_verify(g.hash, 0, chain, 1, chain[0].hash, &bad, &why),
                     FERRY_OK);
    ck_assert_int_eq(ferry_para_chain_verify(g.hash, 0, NULL, 0, g.hash, &bad, &why), FERRY_OK);
    /* Hand-made negatives on the real headers: wrong target, gap, wrong anchor number, order. */
    ck_assert_int_eq(ferry_para_chain_verify(g.hash, 0, chain, 2, chain[0].hash, &bad, &why),
                     FERRY_E_VERIFY);
    ck_assert_uint_eq(bad, 2);
    ck_assert_int_eq(ferry_para_chain_verify(g.hash, 0, chain + 1, 1, chain[1].hash, &bad, &why),
                     FERRY_E_VERIFY);
    ck_assert_uint_eq(bad, 0);
    ck_assert_int_eq(ferry_para_chain_verify(g.hash, 5, chain, 2, chain[1].hash, &bad, &why),
                     FERRY_E_VERIFY);
    ck_assert_uint_eq(bad, 0);
    struct ferry_header swapped[2] = {chain[1], chain[0]};
    ck_assert_int_eq(
        ferry_para_chain_verify(chain[0].hash, 1, swapped, 2, chain[0].hash, &bad, &why),
        FERRY_E_VERIFY);
    ck_assert_uint_eq(bad, 1);
    ferry_header_free(&g);
    ferry_header_free(&chain[0]);
    ferry_header_free(&chain[1]);
}
END_TEST

START_TEST(para_chain_from_proven_asset_hub_head)
{
    /* The Asset Hub header proven through Paras::Heads links to its parent by hash. */
    TU_VECTOR_OR_SKIP(v, "headers/headers.json");
    struct ferry_header h;
    header_from_vector(cJSON_GetObjectItem(v, "headers"), "polkadot-asset-hub-from-paras-heads",
                       &h);
    ck_assert_int_eq(
        ferry_para_chain_verify(h.parent_hash, h.number - 1, &h, 1, h.hash, NULL, NULL), FERRY_OK);
    ferry_header_free(&h);
}
END_TEST

/* ---- hand-made: node decoder negatives ---------------------------------------------------------
 */

static ferry_err decode_hex(const char *hex, struct ferry_trie_node *node)
{
    size_t len;
    uint8_t *buf = tu_hex(hex, &len);
    static uint8_t keep[4096];
    ck_assert_uint_le(len, sizeof keep);
    memcpy(keep, buf, len); /* node points into keep, which outlives this call */
    free(buf);
    return ferry_trie_node_decode(keep, len, node, NULL);
}

START_TEST(node_decoder_rejects_malformed_nodes_handmade)
{
    struct ferry_trie_node n;
    ck_assert_int_eq(decode_hex("", &n), FERRY_E_TRUNCATED);
    ck_assert_int_eq(decode_hex("01", &n), FERRY_E_INVALID);    /* compact-proof escape */
    ck_assert_int_eq(decode_hex("0f", &n), FERRY_E_INVALID);    /* undefined 0000_xxxx */
    ck_assert_int_eq(decode_hex("0000", &n), FERRY_E_TRAILING); /* empty node + junk */
    ck_assert_int_eq(decode_hex("7f", &n), FERRY_E_TRUNCATED);  /* missing continuation */
    ck_assert_int_eq(decode_hex("7fff", &n), FERRY_E_TRUNCATED);
    ck_assert_int_eq(decode_hex("4110", &n), FERRY_E_INVALID);   /* bad padding nibble */
    ck_assert_int_eq(decode_hex("4301", &n), FERRY_E_TRUNCATED); /* partial key short */
    ck_assert_int_eq(decode_hex("4010", &n), FERRY_E_TRUNCATED); /* value length 4, no bytes */
    ck_assert_int_eq(decode_hex("800000", &n), FERRY_E_INVALID); /* zero bitmap */
    ck_assert_int_eq(decode_hex("80", &n), FERRY_E_TRUNCATED);
    ck_assert_int_eq(decode_hex("80010084", &n), FERRY_E_INVALID);       /* child of 33 bytes */
    ck_assert_int_eq(decode_hex("80010000", &n), FERRY_E_INVALID);       /* empty child reference */
    ck_assert_int_eq(decode_hex("8001000c0102", &n), FERRY_E_TRUNCATED); /* child cut short */
    ck_assert_int_eq(decode_hex("400000", &n), FERRY_E_TRAILING);
    ck_assert_int_eq(decode_hex("20", &n), FERRY_E_TRUNCATED);        /* hashed leaf, no hash */
    ck_assert_int_eq(decode_hex("400100", &n), FERRY_E_NONCANONICAL); /* 0 in 2-byte compact */
    /* A nibble count past 65535: 0x7f then 258 bytes of 0xff. */
    char big[2 + 2 * 300 + 1];
    strcpy(big, "7f");
    for (int i = 0; i < 258; i++)
        strcat(big, "ff");
    ck_assert_int_eq(decode_hex(big, &n), FERRY_E_INVALID);
}
END_TEST

START_TEST(node_decoder_accepts_every_kind_handmade)
{
    struct ferry_trie_node n;
    ck_assert_int_eq(decode_hex("00", &n), FERRY_OK);
    ck_assert_str_eq(ferry_trie_node_type_name(&n), "empty");
    ck_assert_int_eq(decode_hex("410000", &n), FERRY_OK); /* leaf, nibble 0, empty value */
    ck_assert_str_eq(ferry_trie_node_type_name(&n), "leaf");
    ck_assert_uint_eq(n.partial_nibbles, 1);
    ck_assert_int_eq(decode_hex("c2ab0100040c", &n), FERRY_E_TRUNCATED); /* child 0 missing */
    ck_assert_int_eq(decode_hex("c2ab01000408044100", &n), FERRY_E_TRAILING);
    ck_assert_int_eq(decode_hex("c2ab010004080841000000", &n), FERRY_E_TRAILING);
    ck_assert_int_eq(decode_hex("c2ab010004080c41000000", &n), FERRY_E_TRAILING);
    ck_assert_int_eq(decode_hex("c2ab0100040c084100", &n), FERRY_OK); /* inline child 0x4100 */
    ck_assert_str_eq(ferry_trie_node_type_name(&n), "branch_with_value");
    ck_assert_uint_eq(n.partial_nibbles, 2);
    ck_assert_uint_eq(n.value_len, 1);
    ck_assert_uint_eq(n.value[0], 0x0c);
    ck_assert_uint_eq(n.children_bitmap, 1);
    ck_assert_uint_eq(n.child_len[0], 2);
    ck_assert_uint_eq(n.child_len[1], 0);
    char hashed[200];
    strcpy(hashed, "1000010000000000000000000000000000000000000000000000000000000000000000");
    ck_assert_int_eq(decode_hex(hashed, &n), FERRY_E_TRUNCATED); /* no child after the hash */
    strcat(hashed, "084100");
    ck_assert_int_eq(decode_hex(hashed, &n), FERRY_OK);
    ck_assert_str_eq(ferry_trie_node_type_name(&n), "branch_hashed_value");
    ck_assert(n.value_hashed && n.value_len == 32);
    /* A nibble count of exactly 63 needs a 0x00 continuation byte. */
    char leaf63[300] = "7f00";
    for (int i = 0; i < 32; i++)
        strcat(leaf63, "0a");
    strcat(leaf63, "00");
    ck_assert_int_eq(decode_hex(leaf63, &n), FERRY_OK);
    ck_assert_uint_eq(n.partial_nibbles, 63);
}
END_TEST

/* ---- hand-made: lookups on built tries --------------------------------------------------------
 */

static struct ferry_trie_kv kv_str(const char *k, const char *v)
{
    struct ferry_trie_kv kv = {(const uint8_t *)k, strlen(k), (const uint8_t *)v, strlen(v)};
    return kv;
}

START_TEST(built_tries_prove_present_and_absent_keys_handmade)
{
    static const char long_value[] = "a value long enough to be hashed in a V1 trie (>= 33)";
    struct ferry_trie_kv kv[] = {
        kv_str("", "empty key"),
        kv_str("a", "1"),
        kv_str("ab", long_value),
        kv_str("abc", "3"),
        kv_str("abd", long_value),
        kv_str("b", ""),
        kv_str("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "long key"),
    };
    size_t n = sizeof kv / sizeof kv[0];
    for (int version = 0; version <= 1; version++) {
        uint8_t root[32], root2[32];
        struct ferry_trie_proof *p;
        ck_assert_int_eq(ferry_trie_build_proof(kv, n, (enum ferry_trie_version)version, root, &p),
                         FERRY_OK);
        ck_assert_int_eq(ferry_trie_root(kv, n, (enum ferry_trie_version)version, root2), FERRY_OK);
        ck_assert_mem_eq(root, root2, 32);
        for (size_t i = 0; i < n; i++) {
            const uint8_t *v;
            size_t vlen;
            ck_assert_int_eq(
                ferry_trie_proof_lookup(p, root, kv[i].key, kv[i].key_len, &v, &vlen, NULL),
                FERRY_OK);
            ck_assert_uint_eq(vlen, kv[i].value_len);
            ck_assert(vlen == 0 || memcmp(v, kv[i].value, vlen) == 0);
        }
        static const char *const absent[] = {"aa", "abcd", "c", "zz", "ab\x01", "\x01"};
        for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
            const uint8_t *v;
            size_t vlen;
            ck_assert_int_eq(ferry_trie_proof_lookup(p, root, (const uint8_t *)absent[i],
                                                     strlen(absent[i]), &v, &vlen, NULL),
                             FERRY_E_NOT_FOUND);
        }
        size_t unused = 99;
        ck_assert_int_eq(ferry_trie_proof_check(p, root, &unused, NULL), FERRY_OK);
        ck_assert_uint_eq(unused, 0);
        ferry_trie_proof_free(p);
    }
}
END_TEST

START_TEST(v1_hashed_value_missing_is_incomplete_handmade)
{
    static const char long_value[] = "0123456789abcdef0123456789abcdef0"; /* 33 bytes */
    struct ferry_trie_kv kv[] = {kv_str("k1", long_value), kv_str("k2", "short")};
    uint8_t root[32];
    struct ferry_trie_proof *full;
    ck_assert_int_eq(ferry_trie_build_proof(kv, 2, FERRY_TRIE_V1, root, &full), FERRY_OK);
    /* Rebuild the proof without the raw value entry. */
    uint8_t vh[32];
    ferry_blake2b_256(vh, long_value, 33);
    const uint8_t *d;
    size_t l;
    ck_assert(ferry_trie_proof_get(full, vh, &d, &l));
    ck_assert(ferry_trie_proof_get(full, root, &d, &l));
    struct ferry_trie_proof *p;
    ck_assert_int_eq(ferry_trie_proof_build(&d, &l, 1, &p), FERRY_OK);
    const uint8_t *v;
    size_t vlen;
    ck_assert_int_eq(ferry_trie_proof_lookup(p, root, (const uint8_t *)"k1", 2, &v, &vlen, NULL),
                     FERRY_E_INCOMPLETE);
    ck_assert_int_eq(ferry_trie_proof_lookup(p, root, (const uint8_t *)"k2", 2, &v, &vlen, NULL),
                     FERRY_OK);
    ck_assert_int_eq(ferry_trie_proof_lookup(p, root, (const uint8_t *)"k3", 2, &v, &vlen, NULL),
                     FERRY_E_NOT_FOUND);
    ferry_trie_proof_free(p);
    ferry_trie_proof_free(full);
}
END_TEST

START_TEST(undecodable_node_on_path_is_invalid_handmade)
{
    /* A "root" whose bytes are not a node: the hash matches, the content is garbage. */
    static const uint8_t junk[] = {0x01, 0x02, 0x03};
    const uint8_t *d = junk;
    size_t l = sizeof junk;
    struct ferry_trie_proof *p;
    ck_assert_int_eq(ferry_trie_proof_build(&d, &l, 1, &p), FERRY_OK);
    uint8_t root[32];
    ferry_blake2b_256(root, junk, sizeof junk);
    const uint8_t *v;
    size_t vlen;
    struct ferry_reason why = {""};
    ck_assert_int_eq(ferry_trie_proof_lookup(p, root, (const uint8_t *)"k", 1, &v, &vlen, &why),
                     FERRY_E_INVALID);
    ck_assert_int_eq(ferry_trie_proof_check(p, root, NULL, &why), FERRY_E_INVALID);
    ferry_trie_proof_free(p);
    /* The empty node as a root means an empty trie; as a child it is invalid. */
    static const uint8_t empty = 0;
    d = &empty;
    l = 1;
    ck_assert_int_eq(ferry_trie_proof_build(&d, &l, 1, &p), FERRY_OK);
    ck_assert_int_eq(
        ferry_trie_proof_lookup(p, ferry_trie_empty_root, (const uint8_t *)"k", 1, &v, &vlen, NULL),
        FERRY_E_NOT_FOUND);
    ferry_trie_proof_free(p);
    uint8_t branch[40] = {0x80, 0x01, 0x00, 0x80};
    ferry_blake2b_256(branch + 4, &empty, 1);
    const uint8_t *two[2] = {branch, &empty};
    size_t lens[2] = {36, 1};
    ck_assert_int_eq(ferry_trie_proof_build(two, lens, 2, &p), FERRY_OK);
    ferry_blake2b_256(root, branch, 36);
    ck_assert_int_eq(ferry_trie_proof_lookup(p, root, (const uint8_t *)"\x01", 1, &v, &vlen, NULL),
                     FERRY_E_INVALID);
    ck_assert_int_eq(ferry_trie_proof_check(p, root, NULL, NULL), FERRY_E_INVALID);
    ferry_trie_proof_free(p);
}
END_TEST

START_TEST(para_head_absent_and_malformed_handmade)
{
    uint8_t key[FERRY_PARAS_HEADS_KEY_LEN];
    ferry_paras_heads_key(2000, key);
    /* A tiny para header: parent, number 7, roots, no digest. */
    uint8_t header[32 + 1 + 32 + 32 + 1] = {0};
    header[32] = 7 << 2;
    /* HeadData = Compact(98) (two-byte mode: 98 << 2 | 1 = 0x0189) ‖ header. */
    uint8_t head_data[2 + sizeof header] = {0x89, 0x01};
    memcpy(head_data + 2, header, sizeof header);
    struct ferry_trie_kv kv[] = {{key, sizeof key, head_data, sizeof head_data}};
    uint8_t root[32];
    struct ferry_trie_proof *p;
    ck_assert_int_eq(ferry_trie_build_proof(kv, 1, FERRY_TRIE_V1, root, &p), FERRY_OK);
    struct ferry_header h;
    ck_assert_int_eq(ferry_para_head_verify(p, root, 2000, &h, NULL), FERRY_OK);
    ck_assert_uint_eq(h.number, 7);
    ferry_header_free(&h);
    ck_assert_int_eq(ferry_para_head_verify(p, root, 2001, &h, NULL), FERRY_E_NOT_FOUND);
    ferry_trie_proof_free(p);
    /* HeadData with a wrong length prefix, and HeadData holding a non-header. */
    head_data[0] = 0x85; /* Compact(97): one byte is left over */
    ck_assert_int_eq(ferry_trie_build_proof(kv, 1, FERRY_TRIE_V1, root, &p), FERRY_OK);
    ck_assert_int_eq(ferry_para_head_verify(p, root, 2000, &h, NULL), FERRY_E_TRAILING);
    ferry_trie_proof_free(p);
    kv[0].value_len = 4;
    head_data[0] = 3 << 2;
    ck_assert_int_eq(ferry_trie_build_proof(kv, 1, FERRY_TRIE_V1, root, &p), FERRY_OK);
    ck_assert_int_ne(ferry_para_head_verify(p, root, 2000, &h, NULL), FERRY_OK); /* 3 bytes */
    ck_assert_uint_eq(h.encoded_len, 0);
    ferry_trie_proof_free(p);
}
END_TEST

START_TEST(proof_json_shapes_handmade)
{
    struct ferry_trie_proof *p;
    struct ferry_reason why = {""};
    const char *ok1 = "[\"0x00\", \"0x4100\"]";
    ck_assert_int_eq(ferry_trie_proof_from_json(ok1, strlen(ok1), &p, &why), FERRY_OK);
    ck_assert_uint_eq(ferry_trie_proof_count(p), 2);
    ferry_trie_proof_free(p);
    const char *ok2 = "{\"at\":\"0x12\",\"proof\":[\"0x00\",\"0x00\"]}";
    ck_assert_int_eq(ferry_trie_proof_from_json(ok2, strlen(ok2), &p, &why), FERRY_OK);
    ck_assert_uint_eq(ferry_trie_proof_count(p), 1); /* duplicates kept once */
    ferry_trie_proof_free(p);
    static const char *const bad_json[] = {"", "{", "{\"at\":1}", "42", "[1]", "{\"proof\":{}}"};
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        ck_assert_int_eq(ferry_trie_proof_from_json(bad_json[i], strlen(bad_json[i]), &p, &why),
                         FERRY_E_JSON);
        ck_assert_ptr_null(p);
        ck_assert(why.text[0] != 0);
    }
    static const char *const bad_hex[] = {"[\"00\"]", "[\"0x0\"]", "[\"0xzz\"]"};
    for (size_t i = 0; i < sizeof bad_hex / sizeof bad_hex[0]; i++) {
        ck_assert_int_eq(ferry_trie_proof_from_json(bad_hex[i], strlen(bad_hex[i]), &p, &why),
                         FERRY_E_HEX);
        ck_assert_ptr_null(p);
    }
    /* SCALE form: a count larger than the input, trailing bytes. */
    static const uint8_t too_many[] = {0x10, 0x04, 0x00};
    ck_assert_int_eq(ferry_trie_proof_from_scale(too_many, sizeof too_many, &p, NULL),
                     FERRY_E_TOO_LARGE);
    static const uint8_t trailing[] = {0x04, 0x04, 0x00, 0x00};
    ck_assert_int_eq(ferry_trie_proof_from_scale(trailing, sizeof trailing, &p, NULL),
                     FERRY_E_TRAILING);
    ck_assert_ptr_null(p);
}
END_TEST

/* ---- roots ----------------------------------------------------------------------------------- */

START_TEST(empty_trie_root_is_blake2_of_zero_byte)
{
    uint8_t r[32], z = 0, h[32];
    ferry_blake2b_256(h, &z, 1);
    ck_assert_mem_eq(h, ferry_trie_empty_root, 32);
    ck_assert_int_eq(ferry_trie_root(NULL, 0, FERRY_TRIE_V0, r), FERRY_OK);
    ck_assert_str_eq(tu_tohex(r, 32),
                     "0x03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314");
    ck_assert_int_eq(ferry_trie_ordered_root(NULL, NULL, 0, FERRY_TRIE_V0, r), FERRY_OK);
    ck_assert_mem_eq(r, ferry_trie_empty_root, 32);
}
END_TEST

START_TEST(polkadot_genesis_extrinsics_root_is_the_empty_ordered_root)
{
    TU_VECTOR_OR_SKIP(v, "headers/headers.json");
    struct ferry_header g;
    header_from_vector(cJSON_GetObjectItem(v, "headers"), "polkadot-genesis", &g);
    uint8_t r[32];
    ck_assert_int_eq(ferry_trie_ordered_root(NULL, NULL, 0, FERRY_TRIE_V0, r), FERRY_OK);
    ck_assert_mem_eq(r, g.extrinsics_root, 32);
    ferry_header_free(&g);
}
END_TEST

START_TEST(large_v0_proof_pairs_root_matches_smoldot)
{
    /* The 423-node proof is partial (its branches reference ~2400 nodes it does not carry), so
     * its 92 pairs are not the whole trie and their own root differs from the state root. That
     * root is still a real-data cross-check: smoldot (tests/unit/oracle) gives the same value. */
    TU_VECTOR_OR_SKIP(v, "trie/large-v0-proof.json");
    const cJSON *ls = cJSON_GetObjectItem(v, "lookups");
    size_t n = (size_t)cJSON_GetArraySize(ls);
    struct ferry_trie_kv *kv = calloc(n, sizeof *kv);
    uint8_t **bufs = calloc(2 * n, sizeof *bufs);
    size_t i = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, ls)
    {
        bufs[2 * i] = tu_hex(tu_str(l, "key"), &kv[i].key_len);
        bufs[2 * i + 1] = tu_hex(tu_str(l, "value"), &kv[i].value_len);
        kv[i].key = bufs[2 * i];
        kv[i].value = bufs[2 * i + 1];
        i++;
    }
    uint8_t state_root[32], got[32];
    tu_hex_exact(tu_str(v, "state_root"), state_root, 32);
    ck_assert_int_eq(ferry_trie_root(kv, n, FERRY_TRIE_V0, got), FERRY_OK);
    ck_assert_str_eq(tu_tohex(got, 32),
                     "0x27878a6724b8dcdf9b6f6d7465a5d013ebe1f5a547f955cdb1ed9ac11e5a838d");
    ck_assert(memcmp(got, state_root, 32) != 0);
    for (i = 0; i < 2 * n; i++)
        free(bufs[i]);
    free(bufs);
    free(kv);
}
END_TEST

static void lcg_pairs(uint32_t seed, size_t count, struct ferry_trie_kv *kv, uint8_t *store)
{
    /* Same generator as tests/unit/oracle/trie_roots.js. */
    uint32_t s = seed;
    size_t n = 0, off = 0;
    while (n < count) {
#define NEXT() (s = (s * 1103515245u + 12345u) & 0x7fffffffu, s >> 16)
        size_t klen = 2 + NEXT() % 39;
        size_t vlen = NEXT() % 80;
        uint8_t *k = store + off;
        for (size_t i = 0; i < klen; i++)
            k[i] = (uint8_t)(NEXT() & 0xff);
        uint8_t *val = k + klen;
        for (size_t i = 0; i < vlen; i++)
            val[i] = (uint8_t)(NEXT() & 0xff);
#undef NEXT
        int dup = 0;
        for (size_t j = 0; j < n && !dup; j++)
            dup = kv[j].key_len == klen && memcmp(kv[j].key, k, klen) == 0;
        if (dup)
            continue;
        kv[n].key = k;
        kv[n].key_len = klen;
        kv[n].value = val;
        kv[n].value_len = vlen;
        off += klen + vlen;
        n++;
    }
}

static const struct {
    const char *name;
    uint32_t seed;
    size_t count;
    const char *v0, *v1;
} lcg_roots[] = {
    {"lcg_1_200", 1, 200, "0xe602f6be346e55f04bea536ddc1fe9afec6056ef06677e0928af86bfb72e7a59",
     "0xaf1b63d340e05592103517bfaf9c2a524435cf1cb44ee04854f1e7fec96657c9"},
    {"lcg_42_1000", 42, 1000, "0x024c27001ffd2cbb060a7a62fc91d429cba2629896db3f5bd5e5dc54c8453c71",
     "0xd403015998ab5c67f41489865b58836319f8b7edd54b4a0024e4dd3f6a2d9425"},
};

START_TEST(pseudo_random_roots_match_smoldot_handmade)
{
    for (size_t c = 0; c < sizeof lcg_roots / sizeof lcg_roots[0]; c++) {
        struct ferry_trie_kv *kv = calloc(lcg_roots[c].count, sizeof *kv);
        uint8_t *store = malloc(lcg_roots[c].count * 120);
        lcg_pairs(lcg_roots[c].seed, lcg_roots[c].count, kv, store);
        uint8_t r[32];
        ck_assert_int_eq(ferry_trie_root(kv, lcg_roots[c].count, FERRY_TRIE_V0, r), FERRY_OK);
        ck_assert_str_eq(tu_tohex(r, 32), lcg_roots[c].v0);
        ck_assert_int_eq(ferry_trie_root(kv, lcg_roots[c].count, FERRY_TRIE_V1, r), FERRY_OK);
        ck_assert_str_eq(tu_tohex(r, 32), lcg_roots[c].v1);
        /* Every pair is provable from the built proof. */
        struct ferry_trie_proof *p;
        ck_assert_int_eq(ferry_trie_build_proof(kv, lcg_roots[c].count, FERRY_TRIE_V1, r, &p),
                         FERRY_OK);
        for (size_t i = 0; i < lcg_roots[c].count; i++) {
            const uint8_t *v;
            size_t vlen;
            ck_assert_int_eq(
                ferry_trie_proof_lookup(p, r, kv[i].key, kv[i].key_len, &v, &vlen, NULL), FERRY_OK);
            ck_assert_uint_eq(vlen, kv[i].value_len);
            ck_assert(vlen == 0 || memcmp(v, kv[i].value, vlen) == 0);
        }
        ferry_trie_proof_free(p);
        free(kv);
        free(store);
    }
}
END_TEST

#define REP(byte, n) rep_buf(byte, n)
static const uint8_t *rep_buf(uint8_t byte, size_t n)
{
    static uint8_t bufs[8][320];
    static int next;
    uint8_t *b = bufs[next++ % 8];
    memset(b, byte, n);
    return b;
}

static void assert_root(struct ferry_trie_kv *kv, size_t n, const char *v0, const char *v1)
{
    uint8_t r[32];
    ck_assert_int_eq(ferry_trie_root(kv, n, FERRY_TRIE_V0, r), FERRY_OK);
    ck_assert_str_eq(tu_tohex(r, 32), v0);
    ck_assert_int_eq(ferry_trie_root(kv, n, FERRY_TRIE_V1, r), FERRY_OK);
    ck_assert_str_eq(tu_tohex(r, 32), v1);
}

static struct ferry_trie_kv kvb(const void *k, size_t kl, const void *v, size_t vl)
{
    struct ferry_trie_kv kv = {k, kl, v, vl};
    return kv;
}

START_TEST(small_roots_match_smoldot_handmade)
{
    struct ferry_trie_kv a[] = {kvb("\x01", 1, "\x02", 1)};
    assert_root(a, 1, "0xb702cfc0277a95e40d55cf7128e1e83a24ed70dabb92340a06b68bc4599fbb61",
                "0xb702cfc0277a95e40d55cf7128e1e83a24ed70dabb92340a06b68bc4599fbb61");
    struct ferry_trie_kv b[] = {kvb("", 0, "", 0)};
    assert_root(b, 1, "0xd60cac7859387608244c41b9d61c1ade74c3e9fea8a68b74f3ad9ab716d46f0a",
                "0xd60cac7859387608244c41b9d61c1ade74c3e9fea8a68b74f3ad9ab716d46f0a");
    /* Given out of order on purpose: the root does not depend on input order. */
    struct ferry_trie_kv c[] = {kvb("\x02\x04", 2, "\x05", 1), kvb("\x01\x02", 2, "\x03", 1),
                                kvb("\x01\x03", 2, "\x04", 1)};
    assert_root(c, 3, "0x7442fc9c956dce4a904a7dd4b37839d4edbc95ef4e91b5153c5487ad826fc754",
                "0x7442fc9c956dce4a904a7dd4b37839d4edbc95ef4e91b5153c5487ad826fc754");
    struct ferry_trie_kv d[] = {kvb("\x01", 1, "\xaa", 1), kvb("\x01\x02", 2, "\xbb", 1),
                                kvb("\x01\x03", 2, "\xcc", 1)};
    assert_root(d, 3, "0x44524e49a3962eb56760ffea9ca8289f42763f47ebcf3edd968fc4bfe1cf2fb6",
                "0x44524e49a3962eb56760ffea9ca8289f42763f47ebcf3edd968fc4bfe1cf2fb6");
    struct ferry_trie_kv e[] = {kvb("\x12\x34", 2, "\x01", 1), kvb("\x12\x35", 2, "\x02", 1),
                                kvb("\x12", 1, "\x03", 1), kvb("\x56\x78", 2, "\x04", 1)};
    assert_root(e, 4, "0xd84f5a2e3c4907d3a589ed4300d065b21bef8090654c8e122059ef2de8428bb0",
                "0xd84f5a2e3c4907d3a589ed4300d065b21bef8090654c8e122059ef2de8428bb0");
}
END_TEST

START_TEST(header_continuations_and_v1_thresholds_match_smoldot_handmade)
{
    struct ferry_trie_kv a[] = {kvb(REP(0xab, 40), 40, "\x01", 1)};
    assert_root(a, 1, "0xea39633232d382b9c2685dd3de99f263ace5d13166585dce13aa8a2c5d169e86",
                "0xea39633232d382b9c2685dd3de99f263ace5d13166585dce13aa8a2c5d169e86");
    uint8_t k2[300];
    memset(k2, 0xcd, 300);
    k2[299] = 0x01;
    struct ferry_trie_kv b[] = {kvb(REP(0xcd, 300), 300, "\x02", 1), kvb(k2, 300, "\x03", 1)};
    assert_root(b, 2, "0xa78a329a01128318c96d8416c5f4ade0abc98c05c94ca11af685c0e38154005b",
                "0xa78a329a01128318c96d8416c5f4ade0abc98c05c94ca11af685c0e38154005b");
    struct ferry_trie_kv c[] = {kvb("\x0a", 1, REP(7, 32), 32), kvb("\x0b", 1, REP(8, 33), 33),
                                kvb("\x0c", 1, REP(9, 64), 64)};
    assert_root(c, 3, "0xd2551ec1d021a447ceb0c805c426865843cbc2fdb442ff40abf76f73a57bd23d",
                "0x4945968562c8ba7bd3ea42d7377e236105ac4780eff9ac3987a4ad79a04a06af");
    struct ferry_trie_kv d[] = {kvb("\x0a", 1, REP(7, 33), 33), kvb("\x0a\x01", 2, "\x01", 1),
                                kvb("\x0a\x02", 2, REP(6, 40), 40)};
    assert_root(d, 3, "0x9dd02c818988c3e70e84874252ada8d801bcb1896780aeacd1d698455cc74625",
                "0x58ffb2178bf5eebdd5499677f02dac4b0fe03ac3cebf3f1ad530e43321dd0d84");
    struct ferry_trie_kv e[] = {kvb(REP(0x11, 20), 20, REP(1, 50), 50)};
    assert_root(e, 1, "0x350fc5943fe188d109d47d08181af9803a41e27cb57342128e2d84068b0db49a",
                "0xb20c5837971329dab2f5e23dd0e0567d18b48863285d1d8ca81ce03f0b910fec");
    uint8_t k13a[13], k13b[13];
    memset(k13a, 0x22, 12);
    memset(k13b, 0x22, 12);
    k13a[12] = 1;
    k13b[12] = 2;
    struct ferry_trie_kv f[] = {kvb(REP(0x22, 12), 12, REP(2, 50), 50), kvb(k13a, 13, "\x00", 1),
                                kvb(k13b, 13, "\x00", 1)};
    assert_root(f, 3, "0xe83e2b383993613ea32d701c0c0075c3fae5edf78ed610b39906f35db63bf400",
                "0xc5edb515f78432d28b349088b57b36b990ae3a6ccb5a066e91553fde6b06a9f8");
}
END_TEST

START_TEST(ordered_roots_match_smoldot_handmade)
{
    static const struct {
        size_t n;
        const char *v0, *v1;
    } cases[] = {
        {1, "0x27ca70a13c772e41e0f81ec9353f1b4f6a2b82b08d87a57e97e40036d16d997b",
         "0x27ca70a13c772e41e0f81ec9353f1b4f6a2b82b08d87a57e97e40036d16d997b"},
        {3, "0xab939767a9d5ba13793e3985e457a518a9a7e36f1c58512a0697e08c848a5304",
         "0xab939767a9d5ba13793e3985e457a518a9a7e36f1c58512a0697e08c848a5304"},
        {70, "0x6cc44c7e2f4f33dbcd32dc7603af13d907dbc116cb361cc25268a9cbffcf1854",
         "0xf5eeea5ed3ccf3e4b0c42b1326daf8136ecd1fd32e1034d817ce3d05289d11dd"},
        {300, "0x1408e166ba14505599ad9a05564f3c1b9ccbec1be3887f6c4f876c7be49ef631",
         "0x410412cdee11932128731912f3174b01fd0439549f737c15193d53128a30be60"},
    };
    static uint8_t items[300][50];
    const uint8_t *ptrs[300];
    size_t lens[300];
    for (size_t i = 0; i < 300; i++) {
        memset(items[i], (int)(i & 0xff), 50);
        ptrs[i] = items[i];
        lens[i] = 1 + i % 50;
    }
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t r[32];
        ck_assert_int_eq(ferry_trie_ordered_root(ptrs, lens, cases[c].n, FERRY_TRIE_V0, r),
                         FERRY_OK);
        ck_assert_str_eq(tu_tohex(r, 32), cases[c].v0);
        ck_assert_int_eq(ferry_trie_ordered_root(ptrs, lens, cases[c].n, FERRY_TRIE_V1, r),
                         FERRY_OK);
        ck_assert_str_eq(tu_tohex(r, 32), cases[c].v1);
    }
}
END_TEST

START_TEST(root_rejects_duplicate_and_oversized_keys_handmade)
{
    struct ferry_trie_kv dup[] = {kvb("k", 1, "1", 1), kvb("j", 1, "0", 1), kvb("k", 1, "2", 1)};
    uint8_t r[32];
    ck_assert_int_eq(ferry_trie_root(dup, 3, FERRY_TRIE_V0, r), FERRY_E_ARG);
    uint8_t *big = calloc(32768, 1);
    struct ferry_trie_kv huge[] = {kvb(big, 32768, "1", 1)};
    ck_assert_int_eq(ferry_trie_root(huge, 1, FERRY_TRIE_V0, r), FERRY_E_UNSUPPORTED);
    huge[0].key_len = 32767;
    ck_assert_int_eq(ferry_trie_root(huge, 1, FERRY_TRIE_V0, r), FERRY_OK);
    struct ferry_trie_proof *p;
    ck_assert_int_eq(ferry_trie_build_proof(huge, 1, FERRY_TRIE_V0, r, &p), FERRY_OK);
    const uint8_t *v;
    size_t vlen;
    ck_assert_int_eq(ferry_trie_proof_lookup(p, r, big, 32767, &v, &vlen, NULL), FERRY_OK);
    ferry_trie_proof_free(p);
    free(big);
}
END_TEST

Suite *trie_suite(void)
{
    Suite *s = suite_create("trie");
    TCase *tc = tcase_create("vectors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, polkadot_genesis_v0_present_absent_incomplete_wrong_root);
    tcase_add_test(tc, tampered_node_never_yields_the_altered_value);
    tcase_add_test(tc, rococo_local_continuation_byte_header);
    tcase_add_test(tc, large_v0_proof_all_92_lookups);
    tcase_add_test(tc, two_step_proofs_decode_and_look_up);
    tcase_add_test(tc, prefix_scan_union_proves_922_pairs_and_gaps);
    tcase_add_test(tc, paras_heads_keys_match_the_vectors);
    tcase_add_test(tc, relay_to_parachain_two_step_verification);
    tcase_add_test(tc, rococo_local_para_2000_head);
    tcase_add_test(tc, para_head_of_other_para_is_not_proven);
    tcase_add_test(tc, header_chain_by_parent_hash_real_polkadot_blocks);
    tcase_add_test(tc, para_chain_from_proven_asset_hub_head);
    tcase_add_test(tc, polkadot_genesis_extrinsics_root_is_the_empty_ordered_root);
    tcase_add_test(tc, large_v0_proof_pairs_root_matches_smoldot);
    suite_add_tcase(s, tc);
    TCase *hm = tcase_create("handmade");
    tcase_set_timeout(hm, 60);
    tcase_add_test(hm, node_decoder_rejects_malformed_nodes_handmade);
    tcase_add_test(hm, node_decoder_accepts_every_kind_handmade);
    tcase_add_test(hm, built_tries_prove_present_and_absent_keys_handmade);
    tcase_add_test(hm, v1_hashed_value_missing_is_incomplete_handmade);
    tcase_add_test(hm, undecodable_node_on_path_is_invalid_handmade);
    tcase_add_test(hm, para_head_absent_and_malformed_handmade);
    tcase_add_test(hm, proof_json_shapes_handmade);
    tcase_add_test(hm, empty_trie_root_is_blake2_of_zero_byte);
    tcase_add_test(hm, pseudo_random_roots_match_smoldot_handmade);
    tcase_add_test(hm, small_roots_match_smoldot_handmade);
    tcase_add_test(hm, header_continuations_and_v1_thresholds_match_smoldot_handmade);
    tcase_add_test(hm, ordered_roots_match_smoldot_handmade);
    tcase_add_test(hm, root_rejects_duplicate_and_oversized_keys_handmade);
    suite_add_tcase(s, hm);
    return s;
}
