/* The crypto floor of a `ferry follow` catch-up, for bench/follow_bench.sh: the bare cost of the
 * work no light client can skip — one blake2b-256 per header (over the header's bytes) and one
 * ed25519 verification per precommit signature — measured in the same run as ferry, with the
 * signatures split over T threads (default 1; the hashing stays on one), so "ferry time / floor
 * time" says how close ferry is to the floor.
 *
 * usage: follow_floor [--headers N] [--header-bytes TOTAL] [--signatures S] [--reps R]
 *                     [--threads T]
 * Defaults: the replay chain of bench/replay-server.js at 100 000 blocks (19 068 999 header
 * bytes, 820 signatures). Prints one line of key=value figures (the minimum over R runs):
 *   floor headers=… header_bytes=… signatures=… hash_ms=… verify_ms=… floor_ms=…
 */
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "bench/bench.h"
#include "ferry/hash.h"

static unsigned long long arg(int argc, char **argv, const char *name, unsigned long long def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtoull(argv[i + 1], NULL, 10);
    return def;
}

/* CPU time of the calling thread: the floor is what the work costs with a CPU of its own, so
 * that a loaded machine (time spent waiting for a CPU) does not inflate it. */
static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct slice {
    const uint8_t (*sig)[64], (*msg)[53], (*pk)[32];
    size_t from, to;
    int bad;
    double cpu;
};

static void *verify_slice(void *arg)
{
    struct slice *s = arg;
    double t0 = thread_cpu();
    for (size_t i = s->from; i < s->to; i++)
        s->bad += crypto_sign_verify_detached(s->sig[i], s->msg[i], 53, s->pk[i]) != 0;
    s->cpu = thread_cpu() - t0;
    return NULL;
}

int main(int argc, char **argv)
{
    size_t headers = (size_t)arg(argc, argv, "--headers", 100000);
    size_t bytes = (size_t)arg(argc, argv, "--header-bytes", 19068999);
    size_t sigs = (size_t)arg(argc, argv, "--signatures", 820);
    int reps = (int)arg(argc, argv, "--reps", 3);
    unsigned threads = (unsigned)arg(argc, argv, "--threads", 1);
    if (threads < 1 || threads > 64)
        threads = 1;
    if (!headers || bytes < headers || reps < 1 || sodium_init() < 0) {
        fprintf(stderr, "usage: follow_floor [--headers N] [--header-bytes TOTAL] "
                        "[--signatures S] [--reps R]\n");
        return 2;
    }
    /* Headers: one buffer of the total size cut into `headers` pieces of the average size. */
    uint8_t *buf = malloc(bytes);
    uint8_t(*sig)[64] = calloc(sigs ? sigs : 1, 64);
    uint8_t(*pk)[32] = calloc(sigs ? sigs : 1, 32);
    uint8_t(*msg)[53] = calloc(sigs ? sigs : 1, 53);
    if (!buf || !sig || !pk || !msg)
        return 3;
    for (size_t i = 0; i < bytes; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    /* Signatures: 4 keys as in the replay chain's voter sets, distinct messages. */
    uint8_t sk[4][64], pub[4][32];
    for (int k = 0; k < 4; k++) {
        uint8_t seed[32];
        memset(seed, 0x40 + k, sizeof seed);
        crypto_sign_seed_keypair(pub[k], sk[k], seed);
    }
    for (size_t i = 0; i < sigs; i++) {
        memset(msg[i], 0, 53);
        msg[i][0] = 1;
        memcpy(msg[i] + 1, &i, sizeof i);
        memcpy(pk[i], pub[i % 4], 32);
        crypto_sign_detached(sig[i], NULL, msg[i], 53, sk[i % 4]);
    }
    double best_hash = 1e9, best_verify = 1e9;
    uint8_t out[32], acc = 0;
    int bad = 0;
    for (int r = 0; r < reps; r++) {
        size_t avg = bytes / headers;
        double t0 = thread_cpu();
        for (size_t h = 0; h < headers; h++) {
            size_t off = h * avg, len = h + 1 == headers ? bytes - off : avg;
            ferry_blake2b_256(out, buf + off, len);
            acc ^= out[0];
        }
        double t1 = thread_cpu();
        struct slice sl[64];
        pthread_t th[64];
        for (unsigned t = 0; t < threads; t++) {
            sl[t] = (struct slice){(const uint8_t(*)[64])sig,
                                   (const uint8_t(*)[53])msg,
                                   (const uint8_t(*)[32])pk,
                                   sigs * t / threads,
                                   sigs * (t + 1) / threads,
                                   0,
                                   0};
            if (t > 0 && pthread_create(&th[t], NULL, verify_slice, &sl[t]) != 0)
                return 3;
        }
        verify_slice(&sl[0]);
        double slowest = 0; /* the threads' critical path, each on a CPU of its own */
        for (unsigned t = 0; t < threads; t++) {
            if (t > 0)
                pthread_join(th[t], NULL);
            bad += sl[t].bad;
            if (sl[t].cpu > slowest)
                slowest = sl[t].cpu;
        }
        if (t1 - t0 < best_hash)
            best_hash = t1 - t0;
        if (slowest < best_verify)
            best_verify = slowest;
    }
    if (bad) {
        fprintf(stderr, "follow_floor: %d signatures did not verify\n", bad);
        return 1;
    }
    printf("floor headers=%zu header_bytes=%zu signatures=%zu threads=%u hash_ms=%.1f "
           "verify_ms=%.1f floor_ms=%.1f (x%02x)\n",
           headers, bytes, sigs, threads, best_hash * 1e3, best_verify * 1e3,
           (best_hash + best_verify) * 1e3, acc);
    free(buf);
    free(sig);
    free(pk);
    free(msg);
    return 0;
}
