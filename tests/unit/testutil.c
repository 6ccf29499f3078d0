/* Vector loading and hex helpers for the unit suites (see testutil.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "testutil.h"

struct cached {
    char *rel;
    cJSON *json;
};

static struct cached cache[64];
static size_t n_cache;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = (size_t)n;
    }
    return buf;
}

cJSON *tu_vector(const char *rel)
{
    static int warned;
    for (size_t i = 0; i < n_cache; i++)
        if (strcmp(cache[i].rel, rel) == 0)
            return cache[i].json;
    const char *dir = getenv("FERRY_VECTORS");
    if (!dir)
        dir = "../shared/vectors";
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    size_t len;
    char *text = slurp(path, &len);
    if (!text) {
        if (!warned++)
            fprintf(stderr, "notice: vectors not found under %s; vector tests skipped\n", dir);
        return NULL;
    }
    cJSON *json = cJSON_ParseWithLength(text, len);
    free(text);
    ck_assert_msg(json != NULL, "vector %s is not valid JSON", path);
    if (n_cache < sizeof cache / sizeof cache[0]) {
        cache[n_cache].rel = strdup(rel);
        cache[n_cache].json = json;
        n_cache++;
    }
    return json;
}

uint8_t *tu_hex(const char *s, size_t *len)
{
    uint8_t *out;
    ck_assert_msg(ferry_hex_decode(s, strlen(s), &out, len) == FERRY_OK, "bad hex in vector: %.60s",
                  s);
    return out;
}

void tu_hex_exact(const char *s, uint8_t *out, size_t n)
{
    ck_assert_msg(ferry_hex_decode_exact(s, out, n) == FERRY_OK, "bad %zu-byte hex: %.80s", n, s);
}

const char *tu_tohex(const uint8_t *in, size_t len)
{
    static char buf[2 * 65536 + 3];
    ck_assert(len <= 65536);
    return ferry_hex_encode(in, len, buf);
}

const char *tu_str(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    ck_assert_msg(cJSON_IsString(item), "vector field %s missing", name);
    return item->valuestring;
}

const char *tu_ferry_bin(void)
{
    return getenv("FERRY_BIN");
}
