/* Tiny helpers shared by the benchmarks: a monotonic clock, a vector loader and a result line.
 * Every benchmark prints "name: value unit" lines and, where it has one, the ratio against a
 * baseline measured in the same run, so figures from different machines stay comparable. */
#ifndef FERRY_BENCH_H
#define FERRY_BENCH_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Returns: the parsed vector file (caller deletes) or NULL (with a notice) when absent. */
static inline cJSON *bench_vector(const char *rel)
{
    const char *dir = getenv("FERRY_VECTORS");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "../shared/vectors", rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "notice: %s not found; benchmark skipped\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    cJSON *json = NULL;
    if (buf && got == (size_t)n) {
        buf[n] = 0;
        json = cJSON_Parse(buf);
    }
    free(buf);
    return json;
}

#endif
