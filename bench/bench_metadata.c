/* Benchmark: metadata parse time for each fixture (ms per parse, MB/s), dynamic decoding of
 * every constant (values/s) and System.Events decoding of the oracle's 4-record sample
 * (events/s). Baseline in the same run: one linear pass of the SCALE cursor over the same bytes
 * (reading every byte as u8), so "parse / scan" is the cost of building the registry. Run from
 * the repository root (fixtures in tests/unit/fixtures/metadata). */
#include <stdint.h>
#include <string.h>

#include "bench/bench.h"
#include "ferry/hex.h"
#include "ferry/metadata.h"
#include "ferry/scale.h"
#include "ferry/dyncodec.h"

#define FIXDIR "tests/unit/fixtures/metadata/"

static uint8_t *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, FIXDIR "%s", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "notice: %s not found (run from the repository root); skipped\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        abort();
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static void bench_parse(const char *name, int rounds)
{
    size_t len;
    uint8_t *buf = load(name, &len);
    if (!buf)
        return;
    double t0 = bench_now();
    for (int i = 0; i < rounds; i++) {
        struct ferry_metadata *md;
        if (ferry_metadata_parse(buf, len, &md, NULL) != FERRY_OK)
            abort();
        ferry_metadata_free(md);
    }
    double t_parse = (bench_now() - t0) / rounds;
    unsigned sink = 0;
    t0 = bench_now();
    for (int i = 0; i < rounds; i++) {
        struct ferry_scale_reader r;
        ferry_scale_reader_init(&r, buf, len);
        uint8_t b;
        while (ferry_scale_u8(&r, &b) == FERRY_OK)
            sink += b;
    }
    double t_scan = (bench_now() - t0) / rounds;
    printf("parse %s (%zu bytes): %.3f ms/parse, %.1f MB/s; byte-scan baseline %.3f ms; "
           "ratio %.1f\n",
           name, len, t_parse * 1e3, (double)len / t_parse / 1e6, t_scan * 1e3, t_parse / t_scan);
    if (sink == 1)
        puts("");
    free(buf);
}

static void bench_values(const char *name, int rounds)
{
    size_t len;
    uint8_t *buf = load(name, &len);
    if (!buf)
        return;
    struct ferry_metadata *md;
    if (ferry_metadata_parse(buf, len, &md, NULL) != FERRY_OK)
        abort();
    size_t values = 0, bytes = 0;
    double t0 = bench_now();
    for (int i = 0; i < rounds; i++)
        for (size_t p = 0; p < ferry_md_pallet_count(md); p++) {
            const struct ferry_md_pallet *pl = ferry_md_pallet_at(md, p);
            for (size_t k = 0; k < pl->n_constants; k++) {
                cJSON *j;
                const struct ferry_md_constant *c = &pl->constants[k];
                if (ferry_md_decode(md, c->type, c->value, c->value_len, &j, NULL) != FERRY_OK)
                    abort();
                cJSON_Delete(j);
                values++;
                bytes += c->value_len;
            }
        }
    double t = bench_now() - t0;
    printf("decode constants of %s: %.0f values/s (%.1f MB/s, avg %zu B)\n", name,
           (double)values / t, (double)bytes / t / 1e6, bytes / (values ? values : 1));

    /* the events sample from the oracle */
    char oracle[512];
    snprintf(oracle, sizeof oracle, "%s", name);
    char *dot = strstr(oracle, ".scale");
    if (dot && strstr(oracle, "polkadot-v14")) {
        size_t olen;
        uint8_t *text = load("polkadot-v14.oracle.json", &olen);
        cJSON *o = cJSON_Parse((const char *)text);
        const char *hex =
            cJSON_GetObjectItem(cJSON_GetObjectItem(o, "events_sample"), "bytes")->valuestring;
        uint8_t *ev;
        size_t evlen;
        if (ferry_hex_decode(hex, strlen(hex), &ev, &evlen) != FERRY_OK)
            abort();
        int n = rounds * 200;
        t0 = bench_now();
        for (int i = 0; i < n; i++) {
            cJSON *j;
            if (ferry_metadata_decode_events(md, ev, evlen, &j, NULL) != FERRY_OK)
                abort();
            cJSON_Delete(j);
        }
        t = bench_now() - t0;
        printf("decode System.Events (4 records, %zu B): %.0f events/s\n", evlen, 4.0 * n / t);
        free(ev);
        cJSON_Delete(o);
        free(text);
    }
    ferry_metadata_free(md);
    free(buf);
}

int main(void)
{
    bench_parse("contracts-node-v14.scale", 200);
    bench_parse("polkadot-v14.scale", 50);
    bench_parse("polkadot-v15-opaque.scale", 50);
    bench_values("polkadot-v14.scale", 200);
    bench_values("contracts-node-v14.scale", 200);
    return 0;
}
