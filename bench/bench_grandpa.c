/* GRANDPA justification verification at Polkadot size (297 voters, 199 precommits) and Kusama
 * size (1000 voters, 667 precommits), generated and signed here with libsodium. Printed next to
 * the same number of bare crypto_sign_verify_detached calls measured in the same run: the ratio
 * is ferry's overhead (decode excluded; aim <= 1.05 single-threaded). Also the speed-up with 2
 * and 4 threads, and decode+verify from bytes. Each figure is the minimum over REPS runs. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ferry/grandpa.h"

#define REPS 15

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct fixture {
    struct ferry_voter_set vs;
    struct ferry_grandpa_justification j;
    uint8_t (*msgs)[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN];
    uint8_t *encoded;
    size_t encoded_len;
};

static void build(struct fixture *f, size_t voters, size_t signers, uint64_t set_id)
{
    struct ferry_authority *a = calloc(voters, sizeof *a);
    uint8_t(*sk)[64] = calloc(voters, 64);
    for (size_t i = 0; i < voters; i++) {
        uint8_t seed[32] = {0};
        memcpy(seed, &i, sizeof i);
        seed[31] = 0xbe;
        crypto_sign_seed_keypair(a[i].id, sk[i], seed);
        a[i].weight = 1;
    }
    if (ferry_voter_set_init(&f->vs, a, voters))
        abort();
    memset(&f->j, 0, sizeof f->j);
    f->j.round = 4242;
    memset(f->j.target_hash, 0x5a, 32);
    f->j.target_number = 20000000;
    f->j.precommits = calloc(signers, sizeof *f->j.precommits);
    f->j.n_precommits = signers;
    f->msgs = calloc(signers, sizeof *f->msgs);
    for (size_t i = 0; i < signers; i++) {
        struct ferry_grandpa_precommit *p = &f->j.precommits[i];
        memcpy(p->target_hash, f->j.target_hash, 32);
        p->target_number = f->j.target_number;
        memcpy(p->id, a[i].id, 32);
        ferry_grandpa_precommit_payload(f->msgs[i], p->target_hash, p->target_number, f->j.round,
                                        set_id);
        crypto_sign_detached(p->signature, NULL, f->msgs[i], sizeof f->msgs[i], sk[i]);
    }
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_grandpa_justification_encode(&f->j, &w);
    f->encoded = ferry_scale_writer_take(&w, &f->encoded_len);
    free(a);
    free(sk);
}

static void release(struct fixture *f)
{
    ferry_voter_set_free(&f->vs);
    free(f->j.precommits);
    free(f->msgs);
    free(f->encoded);
}

static double time_bare(const struct fixture *f)
{
    double t0 = now();
    int ok = 0;
    for (size_t i = 0; i < f->j.n_precommits; i++) {
        const struct ferry_grandpa_precommit *p = &f->j.precommits[i];
        ok += crypto_sign_verify_detached(p->signature, f->msgs[i], sizeof f->msgs[i], p->id) == 0;
    }
    double t = now() - t0;
    if ((size_t)ok != f->j.n_precommits)
        abort();
    return t;
}

static double time_ferry(const struct fixture *f, unsigned threads, uint64_t set_id,
                         bool from_bytes)
{
    struct ferry_grandpa_verify_opts opts = {.threads = threads};
    struct ferry_grandpa_verdict v;
    double t0 = now();
    ferry_err err = from_bytes ? ferry_grandpa_verify_encoded(f->encoded, f->encoded_len, &f->vs,
                                                              set_id, &opts, &v, NULL, NULL)
                               : ferry_grandpa_verify(&f->j, &f->vs, set_id, &opts, &v);
    double t = now() - t0;
    if (err) {
        fprintf(stderr, "bench_grandpa: verification failed: %s\n", v.detail);
        exit(1);
    }
    return t;
}

static double min(double a, double b)
{
    return a < b ? a : b;
}

static void run(const char *name, size_t voters, size_t signers)
{
    struct fixture f;
    const uint64_t set_id = 777;
    build(&f, voters, signers, set_id);
    double bare = 1e9, one = 1e9, two = 1e9, four = 1e9, bytes = 1e9;
    time_ferry(&f, 1, set_id, false); /* warm-up */
    for (int r = 0; r < REPS; r++) {  /* interleaved so drift hits every figure alike */
        bare = min(bare, time_bare(&f));
        one = min(one, time_ferry(&f, 1, set_id, false));
        two = min(two, time_ferry(&f, 2, set_id, false));
        four = min(four, time_ferry(&f, 4, set_id, false));
        bytes = min(bytes, time_ferry(&f, 1, set_id, true));
    }
    printf("%-8s %4zu voters %4zu precommits (%zu bytes)\n", name, voters, signers, f.encoded_len);
    printf("  bare libsodium verify x%-4zu %8.3f ms  (%.1f us/sig)\n", signers, bare * 1e3,
           bare * 1e6 / (double)signers);
    printf("  ferry verify, 1 thread    %8.3f ms  ratio %.3f vs bare\n", one * 1e3, one / bare);
    printf("  ferry verify, 2 threads   %8.3f ms  speed-up %.2fx vs 1 thread\n", two * 1e3,
           one / two);
    printf("  ferry verify, 4 threads   %8.3f ms  speed-up %.2fx vs 1 thread\n", four * 1e3,
           one / four);
    printf("  decode+verify, 1 thread   %8.3f ms  ratio %.3f vs bare\n", bytes * 1e3, bytes / bare);
    release(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    printf("bench_grandpa: min of %d runs each; ratio = ferry time / bare signature time\n", REPS);
    /* thread speed-up needs idle cores: say how busy the machine was */
    FILE *la = fopen("/proc/loadavg", "r");
    double load = -1;
    if (la) {
        if (fscanf(la, "%lf", &load) != 1)
            load = -1;
        fclose(la);
    }
    printf("cpus online %ld, load average %.2f\n", sysconf(_SC_NPROCESSORS_ONLN), load);
    run("polkadot", 297, 199);
    run("kusama", 1000, 667);
    return 0;
}
