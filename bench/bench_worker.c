/* Benchmark: SyncHeader throughput of ferry-worker through the real HTTP API (loopback, a server
 * thread in this process, protobuf bodies, libcurl client), against the same headers imported
 * in-process with ferry_lc_import_relay in the same run: the difference is the API's overhead
 * (encoding, HTTP, decoding, and — in the sealed variant — sealing with fsync after every batch).
 * The chain is generated: NHDR headers, a justification by 4 ed25519 voters on every BATCH-th. */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "ferry/grandpa.h"
#include "ferry/hash.h"
#include "ferry/header.h"
#include "ferry/lc.h"
#include "ferry/scale.h"
#include "ferry/trie.h"
#include "ferry/worker.h"
#include "ferry/workerapi.h"
#include "pruntime_rpc.pb-c.h"

#define NV    4
#define NHDR  4000
#define BATCH 200

static uint8_t vpk[NV][32], vsk[NV][64];
static struct ferry_header hdr[NHDR + 1];
static uint8_t *just[NHDR + 1];
static size_t just_len[NHDR + 1];

static void put_tree(struct ferry_scale_writer *w, const struct ferry_trie_proof *p,
                     const uint8_t *node, size_t len, size_t *count, int add)
{
    if (add) {
        ferry_scale_put_byte_vec(w, node, len);
        (*count)++;
    }
    struct ferry_trie_node nd;
    if (ferry_trie_node_decode(node, len, &nd, NULL))
        return;
    for (int i = 0; i < 16; i++) {
        const uint8_t *d;
        size_t l;
        if (nd.child_len[i] == 32 && ferry_trie_proof_get(p, nd.child[i], &d, &l))
            put_tree(w, p, d, l, count, 1);
        else if (nd.child_len[i] && nd.child_len[i] < 32)
            put_tree(w, p, nd.child[i], nd.child_len[i], count, 0);
    }
}

static void make_header(struct ferry_header *h, const uint8_t parent[32], uint32_t n,
                        const uint8_t root[32])
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_bytes(&w, parent, 32);
    ferry_scale_put_compact(&w, n);
    ferry_scale_put_bytes(&w, root, 32);
    ferry_scale_put_bytes(&w, root, 32);
    ferry_scale_put_compact(&w, 0);
    if (ferry_header_decode(h, w.buf, w.len, NULL))
        abort();
    ferry_scale_writer_free(&w);
}

static void make_just(uint32_t n)
{
    struct ferry_grandpa_justification j;
    memset(&j, 0, sizeof j);
    j.round = 1;
    memcpy(j.target_hash, hdr[n].hash, 32);
    j.target_number = n;
    j.precommits = calloc(NV, sizeof *j.precommits);
    for (int i = 0; i < NV; i++) {
        struct ferry_grandpa_precommit *p = &j.precommits[j.n_precommits++];
        uint8_t msg[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN];
        memcpy(p->target_hash, hdr[n].hash, 32);
        p->target_number = n;
        memcpy(p->id, vpk[i], 32);
        ferry_grandpa_precommit_payload(msg, p->target_hash, n, 1, 0);
        crypto_sign_detached(p->signature, NULL, msg, sizeof msg, vsk[i]);
    }
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_grandpa_justification_encode(&j, &w);
    just[n] = ferry_scale_writer_take(&w, &just_len[n]);
    free(j.precommits);
}

static uint8_t *genesis_info(size_t *len, struct ferry_trie_proof **proof_out)
{
    uint8_t k_auth[32];
    ferry_storage_prefix(k_auth, "Grandpa", "Authorities");
    struct ferry_scale_writer av, nodes, gi;
    ferry_scale_writer_init(&av);
    ferry_scale_put_compact(&av, NV);
    for (int i = 0; i < NV; i++) {
        ferry_scale_put_bytes(&av, vpk[i], 32);
        ferry_scale_put_u64(&av, 1);
    }
    struct ferry_trie_kv kv = {k_auth, 32, av.buf, av.len};
    uint8_t root[32], zero[32] = {0};
    struct ferry_trie_proof *p = NULL;
    if (ferry_trie_build_proof(&kv, 1, FERRY_TRIE_V0, root, &p))
        abort();
    make_header(&hdr[0], zero, 0, root);
    const uint8_t *d;
    size_t l, count = 0;
    ferry_scale_writer_init(&nodes);
    if (!ferry_trie_proof_get(p, root, &d, &l))
        abort();
    put_tree(&nodes, p, d, l, &count, 1);
    ferry_scale_writer_init(&gi);
    ferry_scale_put_bytes(&gi, hdr[0].encoded, hdr[0].encoded_len);
    ferry_scale_put_bytes(&gi, av.buf, av.len);
    ferry_scale_put_u64(&gi, 0);
    ferry_scale_put_compact(&gi, count);
    ferry_scale_put_bytes(&gi, nodes.buf, nodes.len);
    ferry_scale_writer_free(&av);
    ferry_scale_writer_free(&nodes);
    *proof_out = p;
    return ferry_scale_writer_take(&gi, len);
}

static uint8_t *batch_body(uint32_t from, uint32_t to, size_t *len)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_compact(&w, to - from + 1);
    for (uint32_t i = from; i <= to; i++) {
        ferry_scale_put_bytes(&w, hdr[i].encoded, hdr[i].encoded_len);
        if (i == to) {
            ferry_scale_put_u8(&w, 1);
            ferry_scale_put_byte_vec(&w, just[i], just_len[i]);
        } else {
            ferry_scale_put_u8(&w, 0);
        }
    }
    size_t sl;
    uint8_t *scale = ferry_scale_writer_take(&w, &sl);
    PruntimeRpc__HeadersToSync req = PRUNTIME_RPC__HEADERS_TO_SYNC__INIT;
    req.encoded_headers = (ProtobufCBinaryData){sl, scale};
    *len = pruntime_rpc__headers_to_sync__get_packed_size(&req);
    uint8_t *b = malloc(*len);
    pruntime_rpc__headers_to_sync__pack(&req, b);
    free(scale);
    return b;
}

static void *serve(void *arg)
{
    ferry_workerapi_server_run(arg);
    return NULL;
}

static double run_http(const char *data_dir, const uint8_t *gi, size_t gi_len)
{
    struct ferry_worker_config cfg = {.data_dir = data_dir};
    memset(cfg.seal_key, 7, 32);
    struct ferry_worker *w;
    struct ferry_reason why;
    if (ferry_worker_open(&w, &cfg, &why)) {
        fprintf(stderr, "%s\n", why.text);
        abort();
    }
    struct ferry_worker_init in = {.genesis_info = gi, .genesis_info_len = gi_len};
    if (ferry_worker_init_runtime(w, &in, &why)) {
        fprintf(stderr, "%s\n", why.text);
        abort();
    }
    struct ferry_workerapi_server *s;
    struct ferry_workerapi_server_config sc = {0};
    if (ferry_workerapi_server_start(&s, w, &sc, &why))
        abort();
    pthread_t th;
    pthread_create(&th, NULL, serve, s);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", ferry_workerapi_server_port(s));
    double t0 = bench_now();
    for (uint32_t from = 1; from <= NHDR; from += BATCH) {
        size_t bl;
        uint8_t *b = batch_body(from, from + BATCH - 1, &bl);
        int status;
        uint8_t *resp;
        size_t rl;
        if (ferry_workerapi_call(url, "SyncHeader", b, bl, false, 60000, &status, &resp, &rl,
                                 &why) ||
            status != 200) {
            fprintf(stderr, "SyncHeader %u: HTTP %d\n", from, status);
            abort();
        }
        free(resp);
        free(b);
    }
    double t = bench_now() - t0;
    ferry_workerapi_server_stop(s);
    pthread_join(th, NULL);
    ferry_workerapi_server_free(s);
    (void)ferry_worker_close(w, NULL);
    return t;
}

int main(void)
{
    if (sodium_init() < 0)
        abort();
    for (int i = 0; i < NV; i++) {
        uint8_t seed[32] = {0x42, (uint8_t)i};
        crypto_sign_seed_keypair(vpk[i], vsk[i], seed);
    }
    struct ferry_trie_proof *gproof;
    size_t gi_len;
    uint8_t *gi = genesis_info(&gi_len, &gproof);
    for (uint32_t n = 1; n <= NHDR; n++) {
        uint8_t root[32] = {(uint8_t)n, (uint8_t)(n >> 8)};
        make_header(&hdr[n], hdr[n - 1].hash, n, root);
        if (n % BATCH == 0)
            make_just(n);
    }
    /* in-process lc */
    struct ferry_lc_config cfg = {.threads = 1, .keep_roots = 4096};
    struct ferry_lc *lc;
    struct ferry_reason why;
    if (ferry_lc_new_genesis(&lc, &cfg, &hdr[0], gproof, &why)) {
        fprintf(stderr, "%s\n", why.text);
        abort();
    }
    double t0 = bench_now();
    for (uint32_t from = 1; from <= NHDR; from += BATCH) {
        uint32_t to = from + BATCH - 1;
        if (ferry_lc_import_relay(lc, &hdr[from], BATCH, just[to], just_len[to], NULL, &why)) {
            fprintf(stderr, "%s\n", why.text);
            abort();
        }
    }
    double t_lc = bench_now() - t0;
    ferry_lc_free(lc);
    double t_http = run_http(NULL, gi, gi_len);
    char dir[] = "/tmp/ferry-bench-worker-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    double t_sealed = run_http(dir, gi, gi_len);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        abort();
    printf("SyncHeader, %d headers in batches of %d, %d voters:\n", NHDR, BATCH, NV);
    printf("  in-process lc (baseline): %.0f headers/s\n", NHDR / t_lc);
    printf("  HTTP API, unsealed worker: %.0f headers/s (%.2fx the lc time)\n", NHDR / t_http,
           t_http / t_lc);
    printf("  HTTP API, sealed after every batch: %.0f headers/s (%.2fx the lc time)\n",
           NHDR / t_sealed, t_sealed / t_lc);
    for (uint32_t n = 0; n <= NHDR; n++) {
        ferry_header_free(&hdr[n]);
        free(just[n]);
    }
    free(gi);
    ferry_trie_proof_free(gproof);
    return 0;
}
