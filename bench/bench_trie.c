/* Benchmark: trie-proof lookups and trie-root computation.
 *
 * - lookups/s on the real 423-node V0 proof (its 92 keys) and on real V1 relay proofs
 *   (Paras::Heads with a hashed value), plus a synthetic 10k-key V1 trie;
 * - proof indexing (hash + sort) of the 423 nodes;
 * - trie-root throughput in pairs/s for 10k pseudo-random pairs, V0 and V1.
 * Baseline measured in the same run: blake2b-256 over the same bytes, since hashing bounds both
 * indexing and root computation.
 */
#include <stdint.h>
#include <string.h>

#include "bench.h"
#include "ferry/hash.h"
#include "ferry/header.h"
#include "ferry/hex.h"
#include "ferry/trie.h"
#include "ferry/para_head.h"

struct keyset {
    uint8_t **keys;
    size_t *lens;
    size_t n;
};

static int decode_hex(const char *s, uint8_t **out, size_t *len)
{
    return ferry_hex_decode(s, strlen(s), out, len) == FERRY_OK;
}

/* Build the proof and the key list of a vector proof object. Returns 0 on failure. */
static int load(const cJSON *obj, struct ferry_trie_proof **p, uint8_t root[32], struct keyset *ks,
                size_t *bytes)
{
    const cJSON *nodes = cJSON_GetObjectItem(obj, "proof_nodes");
    size_t n = (size_t)cJSON_GetArraySize(nodes);
    uint8_t **bufs = calloc(n, sizeof *bufs);
    size_t *lens = calloc(n, sizeof *lens);
    size_t i = 0;
    *bytes = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, nodes)
    {
        if (!decode_hex(it->valuestring, &bufs[i], &lens[i]))
            return 0;
        *bytes += lens[i++];
    }
    ferry_err err = ferry_trie_proof_build((const uint8_t *const *)bufs, lens, n, p);
    for (i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(lens);
    if (err ||
        ferry_hex_decode_exact(cJSON_GetObjectItem(obj, "state_root")->valuestring, root, 32))
        return 0;
    const cJSON *ls = cJSON_GetObjectItem(obj, "lookups");
    ks->n = (size_t)cJSON_GetArraySize(ls);
    ks->keys = calloc(ks->n, sizeof *ks->keys);
    ks->lens = calloc(ks->n, sizeof *ks->lens);
    i = 0;
    cJSON_ArrayForEach(it, ls)
    {
        if (!decode_hex(cJSON_GetObjectItem(it, "key")->valuestring, &ks->keys[i], &ks->lens[i]))
            return 0;
        i++;
    }
    return 1;
}

static void free_keys(struct keyset *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->keys[i]);
    free(ks->keys);
    free(ks->lens);
}

/* Time `rounds` passes of looking up every key. Returns lookups/s (0 when one fails). */
static double lookup_rate(const struct ferry_trie_proof *p, const uint8_t root[32],
                          const struct keyset *ks, int rounds)
{
    double t = bench_now();
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < ks->n; i++) {
            const uint8_t *v;
            size_t vlen;
            if (ferry_trie_proof_lookup(p, root, ks->keys[i], ks->lens[i], &v, &vlen, NULL))
                return 0;
        }
    }
    t = bench_now() - t;
    return (double)rounds * (double)ks->n / t;
}

static void bench_large_v0(void)
{
    cJSON *v = bench_vector("trie/large-v0-proof.json");
    if (!v)
        return;
    struct ferry_trie_proof *p;
    uint8_t root[32];
    struct keyset ks;
    size_t bytes;
    if (!load(v, &p, root, &ks, &bytes)) {
        fprintf(stderr, "bench_trie: cannot load the large proof\n");
        exit(1);
    }
    double rate = lookup_rate(p, root, &ks, 2000);
    /* Indexing: rebuild the proof from its nodes (hash every node, sort). */
    const cJSON *nodes = cJSON_GetObjectItem(v, "proof_nodes");
    size_t n = (size_t)cJSON_GetArraySize(nodes);
    uint8_t **bufs = calloc(n, sizeof *bufs);
    size_t *lens = calloc(n, sizeof *lens);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, nodes)
    {
        if (!decode_hex(it->valuestring, &bufs[i], &lens[i]))
            exit(1);
        i++;
    }
    int rounds = 500;
    double t_idx = bench_now();
    for (int r = 0; r < rounds; r++) {
        struct ferry_trie_proof *q;
        if (ferry_trie_proof_build((const uint8_t *const *)bufs, lens, n, &q))
            exit(1);
        ferry_trie_proof_free(q);
    }
    t_idx = bench_now() - t_idx;
    double t_hash = bench_now();
    uint8_t h[32];
    for (int r = 0; r < rounds; r++) {
        for (i = 0; i < n; i++)
            ferry_blake2b_256(h, bufs[i], lens[i]);
    }
    t_hash = bench_now() - t_hash;
    printf("large V0 proof (%zu nodes, %zu bytes, %zu keys):\n", n, bytes, ks.n);
    printf("  lookups: %.0f lookups/s\n", rate);
    printf("  proof indexing (hash+sort): %.0f proofs/s, %.1f MB/s\n", rounds / t_idx,
           (double)bytes * rounds / t_idx / 1e6);
    printf("  blake2b-256 of the nodes only (baseline): %.1f MB/s\n",
           (double)bytes * rounds / t_hash / 1e6);
    printf("  ratio indexing / hashing time: %.2f\n", t_idx / t_hash);
    for (i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(lens);
    free_keys(&ks);
    ferry_trie_proof_free(p);
    cJSON_Delete(v);
}

static void bench_real_v1(void)
{
    static const char *const files[] = {"trie/polkadot-v1-paras-heads-1000-assethub-account.json",
                                        "trie/rococo-v1-paras-heads-1013-bridgehub.json"};
    for (size_t f = 0; f < 2; f++) {
        cJSON *v = bench_vector(files[f]);
        if (!v)
            return;
        struct ferry_trie_proof *p;
        uint8_t root[32];
        struct keyset ks;
        size_t bytes;
        if (!load(cJSON_GetObjectItem(v, "relay_proof"), &p, root, &ks, &bytes))
            exit(1);
        double rate = lookup_rate(p, root, &ks, 200000);
        uint32_t id =
            (uint32_t)cJSON_GetObjectItem(cJSON_GetObjectItem(v, "relay_proof"), "para_id")
                ->valueint;
        int rounds = 100000;
        double t = bench_now();
        for (int r = 0; r < rounds; r++) {
            struct ferry_header h;
            if (ferry_para_head_verify(p, root, id, &h, NULL))
                exit(1);
            ferry_header_free(&h);
        }
        t = bench_now() - t;
        printf("real V1 relay proof, para %u (%zu bytes, hashed value):\n", id, bytes);
        printf("  Paras::Heads lookups: %.0f lookups/s\n", rate);
        printf("  para head verify (lookup + HeadData + header decode): %.0f heads/s\n",
               rounds / t);
        free_keys(&ks);
        ferry_trie_proof_free(p);
        cJSON_Delete(v);
    }
}

/* n pseudo-random pairs: 32-byte keys (like hashed storage keys), values of 1..100 bytes. */
static struct ferry_trie_kv *random_pairs(size_t n, uint8_t **store)
{
    struct ferry_trie_kv *kv = calloc(n, sizeof *kv);
    *store = malloc(n * (32 + 100));
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < n; i++) {
        uint8_t *k = *store + i * 132;
        for (size_t j = 0; j < 132; j++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            k[j] = (uint8_t)s;
        }
        kv[i].key = k;
        kv[i].key_len = 32;
        kv[i].value = k + 32;
        kv[i].value_len = 1 + k[32] % 100;
    }
    return kv;
}

static void bench_roots(void)
{
    enum { N = 10000 };
    uint8_t *store;
    struct ferry_trie_kv *kv = random_pairs(N, &store);
    int rounds = 20;
    uint8_t root[32];
    double t0 = bench_now();
    for (int r = 0; r < rounds; r++) {
        if (ferry_trie_root(kv, N, FERRY_TRIE_V0, root))
            exit(1);
    }
    t0 = bench_now() - t0;
    double t1 = bench_now();
    for (int r = 0; r < rounds; r++) {
        if (ferry_trie_root(kv, N, FERRY_TRIE_V1, root))
            exit(1);
    }
    t1 = bench_now() - t1;
    /* Baseline: one blake2b-256 per pair over key and value (a lower bound on the work). */
    double th = bench_now();
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < N; i++)
            ferry_blake2b_256(root, kv[i].key, 32 + kv[i].value_len);
    }
    th = bench_now() - th;
    printf("trie root (%d pseudo-random pairs, 32-byte keys, values 1..100 B, x%d):\n", N, rounds);
    printf("  V0: %.0f pairs/s (%.2f ms per root)\n", (double)N * rounds / t0, t0 / rounds * 1e3);
    printf("  V1: %.0f pairs/s (%.2f ms per root)\n", (double)N * rounds / t1, t1 / rounds * 1e3);
    printf("  one blake2b-256 per pair (baseline): %.0f pairs/s\n", (double)N * rounds / th);
    printf("  ratio V0 root / baseline time: %.2f\n", t0 / th);

    /* Synthetic V1 proof of the whole 10k-pair trie: lookups of every key. */
    struct ferry_trie_proof *p;
    if (ferry_trie_build_proof(kv, N, FERRY_TRIE_V1, root, &p))
        exit(1);
    struct keyset ks = {NULL, NULL, N};
    ks.keys = calloc(N, sizeof *ks.keys);
    ks.lens = calloc(N, sizeof *ks.lens);
    for (size_t i = 0; i < N; i++) {
        ks.keys[i] = (uint8_t *)kv[i].key;
        ks.lens[i] = 32;
    }
    double rate = lookup_rate(p, root, &ks, 20);
    printf("synthetic V1 proof of the whole trie (%zu entries):\n", ferry_trie_proof_count(p));
    printf("  lookups: %.0f lookups/s\n", rate);
    free(ks.keys);
    free(ks.lens);
    ferry_trie_proof_free(p);
    free(kv);
    free(store);
}

int main(void)
{
    bench_large_v0();
    bench_real_v1();
    bench_roots();
    return 0;
}
