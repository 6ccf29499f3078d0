/* Benchmark: header decode + hash throughput on the real headers of vectors/headers, and SCALE
 * compact decode throughput. Baselines measured in the same run: blake2b-256 alone over the same
 * header bytes (so the ratio is the cost of decoding on top of the unavoidable hash), and
 * fixed-width u32 reads over the same number of values. */
#include <stdint.h>
#include <string.h>

#include "bench/bench.h"
#include "ferry/hash.h"
#include "ferry/header.h"
#include "ferry/hex.h"
#include "ferry/scale.h"

static void bench_headers(void)
{
    cJSON *v = bench_vector("headers/headers.json");
    if (!v)
        return;
    uint8_t *bufs[32];
    size_t lens[32], n = 0, total = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "headers"))
    {
        const char *hex = cJSON_GetObjectItem(row, "encoded")->valuestring;
        if (n < 32 && ferry_hex_decode(hex, strlen(hex), &bufs[n], &lens[n]) == FERRY_OK)
            total += lens[n++];
    }
    cJSON_Delete(v);
    const int rounds = 2000;
    uint8_t sink[32] = {0};
    double t0 = bench_now();
    for (int i = 0; i < rounds; i++) {
        for (size_t k = 0; k < n; k++) {
            struct ferry_header h;
            if (ferry_header_decode(&h, bufs[k], lens[k], NULL) != FERRY_OK)
                abort();
            sink[0] ^= h.hash[0];
            ferry_header_free(&h);
        }
    }
    double t_dec = bench_now() - t0;
    t0 = bench_now();
    for (int i = 0; i < rounds; i++)
        for (size_t k = 0; k < n; k++) {
            uint8_t out[32];
            ferry_blake2b_256(out, bufs[k], lens[k]);
            sink[1] ^= out[0];
        }
    double t_hash = bench_now() - t0;
    double headers = (double)rounds * (double)n;
    double bytes = (double)rounds * (double)total;
    printf("header decode+hash (%zu real headers, %zu bytes, x%d):\n", n, total, rounds);
    printf("  decode+hash: %.0f headers/s, %.1f MB/s\n", headers / t_dec, bytes / t_dec / 1e6);
    printf("  blake2b-256 only (baseline): %.1f MB/s\n", bytes / t_hash / 1e6);
    printf("  ratio decode+hash / hash-only time: %.3f\n", t_dec / t_hash);
    /* Small headers alone (everything but the 72 KB Kusama one) show per-header overhead. */
    size_t small = 0, small_bytes = 0;
    t0 = bench_now();
    for (int i = 0; i < rounds * 10; i++)
        for (size_t k = 0; k < n; k++) {
            if (lens[k] > 4096)
                continue;
            struct ferry_header h;
            if (ferry_header_decode(&h, bufs[k], lens[k], NULL) != FERRY_OK)
                abort();
            small++;
            small_bytes += lens[k];
            ferry_header_free(&h);
        }
    double t_small = bench_now() - t0;
    printf("  typical headers (<4 KiB, avg %zu B): %.0f headers/s\n", small_bytes / small,
           (double)small / t_small);
    for (size_t k = 0; k < n; k++)
        free(bufs[k]);
    if (sink[0] == 0x5a && sink[1] == 0xa5)
        puts("");
}

static void bench_compact(void)
{
    enum { N = 1 << 20 };
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* mix of widths like real data: mostly small, some large */
        uint64_t v = x >> (i % 4 == 0 ? 0 : i % 4 == 1 ? 34 : i % 4 == 2 ? 50 : 58);
        ferry_scale_put_compact(&w, v);
    }
    uint64_t sum = 0;
    double t0 = bench_now();
    for (int round = 0; round < 5; round++) {
        struct ferry_scale_reader r;
        ferry_scale_reader_init(&r, w.buf, w.len);
        for (int i = 0; i < N; i++) {
            uint64_t v;
            ferry_scale_compact_u64(&r, &v);
            sum += v;
        }
        if (r.err)
            abort();
    }
    double t_c = bench_now() - t0;
    t0 = bench_now();
    for (int round = 0; round < 5; round++) {
        struct ferry_scale_reader r;
        ferry_scale_reader_init(&r, w.buf, (size_t)N * 4 < w.len ? (size_t)N * 4 : w.len);
        for (int i = 0; i < N && ferry_scale_remaining(&r) >= 4; i++) {
            uint32_t v;
            ferry_scale_u32(&r, &v);
            sum += v;
        }
    }
    double t_u = bench_now() - t0;
    printf("compact decode (%d mixed-width values, %.1f MB, x5):\n", N, (double)w.len / 1e6);
    printf("  compact<u64>: %.1f M values/s, %.1f MB/s\n", 5.0 * N / t_c / 1e6,
           5.0 * (double)w.len / t_c / 1e6);
    printf("  fixed u32 reads (baseline): %.1f M values/s\n", 5.0 * N / t_u / 1e6);
    printf("  ratio compact / fixed time per value: %.2f\n", t_c / t_u);
    ferry_scale_writer_free(&w);
    if (sum == 42)
        puts("");
}

int main(void)
{
    bench_headers();
    bench_compact();
    return 0;
}
