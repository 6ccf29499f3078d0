/* Shared helpers for the Check unit suites: vector loading and hex conversion.
 *
 * Vectors live in ../shared/vectors (FERRY_VECTORS overrides). When they are absent (a plain
 * clone) a test that needs them prints a notice once and returns without failing; CI always has
 * them, and tests/integration checks that they were found there.
 */
#ifndef FERRY_TESTUTIL_H
#define FERRY_TESTUTIL_H

#include <check.h>
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* Returns: the parsed JSON of vectors/<rel> (cached for the process; do not delete), or NULL
 * when the vectors directory is absent (a notice is printed). A present but unreadable or
 * malformed file fails the running test. */
cJSON *tu_vector(const char *rel);

/* Skip the rest of the current test when the vector is absent. */
#define TU_VECTOR_OR_SKIP(var, rel)                                                                \
    cJSON *var = tu_vector(rel);                                                                   \
    if (!var)                                                                                      \
        return;

/* Decode hex (with or without 0x) into a malloc'd buffer; fails the test on bad hex. */
uint8_t *tu_hex(const char *s, size_t *len);

/* Decode hex that must be exactly n bytes into out. */
void tu_hex_exact(const char *s, uint8_t *out, size_t n);

/* Returns: a static buffer holding "0x…" for in[len] (up to 64 KiB of input). */
const char *tu_tohex(const uint8_t *in, size_t len);

/* Returns: the string member `name` of obj; fails the test when absent. */
const char *tu_str(const cJSON *obj, const char *name);

/* Returns: the path of the ferry binary (FERRY_BIN) or NULL. */
const char *tu_ferry_bin(void);

#endif
