/* Benchmark: SyncHeader throughput of ferry-worker through the real HTTP API (loopback, a server
 * thread in this process, protobuf bodies, libcurl client), against the same headers imported
 * in-process with ferry_lc_import_relay in the same run: the difference is the API's overhead
 * (encoding, HTTP, decoding, and — in the sealed variant — sealing with fsync after every batch).
 * The chain is generated: NHDR headers, a justification by 4 ed25519 voters on every BATCH-th.
 *
 * Then the cost of one DispatchBlocks call (16 blocks, as ferry relay sends them, followed by
 * ferry_worker_seal as the API does) in-process against how many synced-but-undispatched
 * headers the worker retains: DN headers whose state root is genesis's (a one-leaf trie, so
 * each block's read proof is a real proof of absence of the worker's three keys) synced first,
 * then dispatched 16 at a time; wall and CPU time per call while ~DN roots are retained (the
 * first tenth of the calls) and while few are (the last tenth), sealing with fsync after every
 * call (seal interval 0) and with the ferry-worker default (1000 ms). Build with -DBENCH_OLD
 * against a library without seal_interval_ms to measure the code before it. */
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
#define DN    10000 /* dispatch part: headers synced, then dispatched */
#define DSYNC 1000  /* ... synced in batches of DSYNC */
#define DB    16    /* ... dispatched in batches of DB (ferry relay's default) */

static uint8_t vpk[NV][32], vsk[NV][64];
static struct ferry_header hdr[NHDR + 1];
static uint8_t *just[NHDR + 1];
static size_t just_len[NHDR + 1];
static struct ferry_header dhdr[DN + 1];
static uint8_t *djust[DN + 1];
static size_t djust_len[DN + 1];
static uint8_t *gnodes; /* the genesis proof's nodes: SCALE Vec<Vec<u8>> */
static size_t gnodes_len;

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

static void make_just_for(const struct ferry_header *hs, uint8_t **js, size_t *jl, uint32_t n)
{
    struct ferry_grandpa_justification j;
    memset(&j, 0, sizeof j);
    j.round = 1;
    memcpy(j.target_hash, hs[n].hash, 32);
    j.target_number = n;
    j.precommits = calloc(NV, sizeof *j.precommits);
    for (int i = 0; i < NV; i++) {
        struct ferry_grandpa_precommit *p = &j.precommits[j.n_precommits++];
        uint8_t msg[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN];
        memcpy(p->target_hash, hs[n].hash, 32);
        p->target_number = n;
        memcpy(p->id, vpk[i], 32);
        ferry_grandpa_precommit_payload(msg, p->target_hash, n, 1, 0);
        crypto_sign_detached(p->signature, NULL, msg, sizeof msg, vsk[i]);
    }
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_grandpa_justification_encode(&j, &w);
    js[n] = ferry_scale_writer_take(&w, &jl[n]);
    free(j.precommits);
}

static void make_just(uint32_t n)
{
    make_just_for(hdr, just, just_len, n);
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
    struct ferry_scale_writer gn;
    ferry_scale_writer_init(&gn);
    ferry_scale_put_compact(&gn, count);
    ferry_scale_put_bytes(&gn, nodes.buf, nodes.len);
    gnodes = ferry_scale_writer_take(&gn, &gnodes_len);
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

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die_on(ferry_err err, const struct ferry_reason *why)
{
    if (err) {
        fprintf(stderr, "%s\n", why->text);
        abort();
    }
}

struct dispatch_cost {
    double wall_first, cpu_first, wall_last, cpu_last; /* seconds per call */
};

/* DN headers synced, then dispatched DB at a time, sealed after each call as the API does. */
static void run_dispatch(const char *data_dir, uint32_t interval_ms, const uint8_t *gi,
                         size_t gi_len, struct dispatch_cost *out)
{
    struct ferry_worker_config cfg = {.data_dir = data_dir};
#ifndef BENCH_OLD
    cfg.seal_interval_ms = interval_ms;
#else
    (void)interval_ms;
#endif
    memset(cfg.seal_key, 7, 32);
    struct ferry_worker *w;
    struct ferry_reason why = {{0}};
    die_on(ferry_worker_open(&w, &cfg, &why), &why);
    struct ferry_worker_init in = {.genesis_info = gi, .genesis_info_len = gi_len};
    die_on(ferry_worker_init_runtime(w, &in, &why), &why);
    die_on(ferry_worker_seal(w, &why), &why);
    for (uint32_t from = 1; from <= DN; from += DSYNC) {
        uint32_t to = from + DSYNC - 1, synced = 0;
        struct ferry_scale_writer sw;
        ferry_scale_writer_init(&sw);
        ferry_scale_put_compact(&sw, DSYNC);
        for (uint32_t i = from; i <= to; i++) {
            ferry_scale_put_bytes(&sw, dhdr[i].encoded, dhdr[i].encoded_len);
            ferry_scale_put_u8(&sw, i == to);
            if (i == to)
                ferry_scale_put_byte_vec(&sw, djust[i], djust_len[i]);
        }
        die_on(ferry_worker_sync_header(w, sw.buf, sw.len, &synced, &why), &why);
        die_on(ferry_worker_seal(w, &why), &why);
        ferry_scale_writer_free(&sw);
    }
    const uint32_t calls = DN / DB, tenth = calls / 10;
    double wf = 0, cf = 0, wl = 0, cl = 0;
    for (uint32_t k = 0; k < calls; k++) {
        struct ferry_scale_writer bw;
        ferry_scale_writer_init(&bw);
        ferry_scale_put_compact(&bw, DB);
        for (uint32_t i = 1 + k * DB; i <= (k + 1) * DB; i++) {
            ferry_scale_put_compact(&bw, i);
            ferry_scale_put_bytes(&bw, gnodes, gnodes_len);
        }
        uint32_t synced = 0;
        double w0 = bench_now(), c0 = cpu_now();
        die_on(ferry_worker_dispatch_blocks(w, bw.buf, bw.len, &synced, &why), &why);
        die_on(ferry_worker_seal(w, &why), &why);
        double dw = bench_now() - w0, dc = cpu_now() - c0;
        if (k < tenth) {
            wf += dw;
            cf += dc;
        } else if (k >= calls - tenth) {
            wl += dw;
            cl += dc;
        }
        ferry_scale_writer_free(&bw);
    }
    out->wall_first = wf / tenth;
    out->cpu_first = cf / tenth;
    out->wall_last = wl / tenth;
    out->cpu_last = cl / tenth;
    die_on(ferry_worker_close(w, &why), &why);
}

static void dispatch_part(const uint8_t *gi, size_t gi_len)
{
    for (uint32_t n = 1; n <= DN; n++) {
        make_header(&dhdr[n], dhdr[n - 1].hash, n, dhdr[0].state_root);
        if (n % DSYNC == 0)
            make_just_for(dhdr, djust, djust_len, n);
    }
    printf("DispatchBlocks, %d blocks per call + seal, after %d headers synced (in-process, "
           "wall / CPU per call; the first tenth of the calls retain ~%d roots, the last tenth "
           "~%d):\n",
           DB, DN, DN, DN / 10);
    static const uint32_t intervals[] = {0, 1000};
    for (size_t i = 0; i < sizeof intervals / sizeof *intervals; i++) {
#ifdef BENCH_OLD
        if (intervals[i])
            break;
#endif
        char dir[] = "/tmp/ferry-bench-worker-XXXXXX";
        if (!mkdtemp(dir))
            abort();
        struct dispatch_cost c;
        run_dispatch(dir, intervals[i], gi, gi_len, &c);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            abort();
        printf("  seal interval %4u ms: %7.0f / %5.0f us per call at ~%d roots, %7.0f / %5.0f us "
               "at ~%d roots\n",
               intervals[i], c.wall_first * 1e6, c.cpu_first * 1e6, DN, c.wall_last * 1e6,
               c.cpu_last * 1e6, DN / 10);
    }
    for (uint32_t n = 1; n <= DN; n++) {
        ferry_header_free(&dhdr[n]);
        free(djust[n]);
    }
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
    dhdr[0] = hdr[0];
    dispatch_part(gi, gi_len);
    memset(&dhdr[0], 0, sizeof dhdr[0]);
    for (uint32_t n = 0; n <= NHDR; n++) {
        ferry_header_free(&hdr[n]);
        free(just[n]);
    }
    free(gnodes);
    free(gi);
    ferry_trie_proof_free(gproof);
    return 0;
}
