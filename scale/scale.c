/* SCALE decoder cursor and encoder.
 *
 * The reader never reads past base+len and never allocates; errors are sticky (see scale.h).
 * The compact decoder follows parity-scale-codec's canonical rules: every mode rejects values
 * that a shorter mode could hold, and big mode rejects a zero most-significant byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/scale.h"

char *ferry_u128_to_string(struct ferry_u128 v, char out[40])
{
    char tmp[40];
    size_t n = 0;
    do {
        /* Divide the 128-bit value by 10 in 32-bit limbs, most significant first. */
        uint64_t limbs[4] = {v.hi >> 32, v.hi & 0xffffffffu, v.lo >> 32, v.lo & 0xffffffffu};
        uint64_t rem = 0;
        for (int i = 0; i < 4; i++) {
            uint64_t cur = rem << 32 | limbs[i];
            limbs[i] = cur / 10;
            rem = cur % 10;
        }
        tmp[n++] = (char)('0' + rem);
        v.hi = limbs[0] << 32 | limbs[1];
        v.lo = limbs[2] << 32 | limbs[3];
    } while (v.hi || v.lo);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return out;
}

ferry_err ferry_u128_from_string(const char *s, struct ferry_u128 *v)
{
    v->lo = v->hi = 0;
    if (!*s)
        return FERRY_E_ARG;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return FERRY_E_ARG;
        /* v = v * 10 + digit, detecting overflow past 2^128. */
        uint64_t d = (uint64_t)(*s - '0');
        uint64_t lo_hi = (v->lo >> 32) * 10, lo_lo = (v->lo & 0xffffffffu) * 10 + d;
        uint64_t carry_mid = (lo_lo >> 32) + lo_hi;
        uint64_t new_lo = (carry_mid << 32) | (lo_lo & 0xffffffffu);
        uint64_t carry = carry_mid >> 32;
        if (v->hi > (UINT64_MAX - carry) / 10)
            return FERRY_E_OVERFLOW;
        v->hi = v->hi * 10 + carry;
        v->lo = new_lo;
    }
    return FERRY_OK;
}

void ferry_scale_reader_init(struct ferry_scale_reader *r, const uint8_t *buf, size_t len)
{
    r->base = buf;
    r->len = buf ? len : 0;
    r->pos = 0;
    r->err = FERRY_OK;
    r->err_pos = 0;
    r->why = NULL;
}

size_t ferry_scale_remaining(const struct ferry_scale_reader *r)
{
    return r->err ? 0 : r->len - r->pos;
}

ferry_err ferry_scale_fail(struct ferry_scale_reader *r, ferry_err err, const char *why)
{
    if (r->err == FERRY_OK) {
        r->err = err;
        r->err_pos = r->pos;
        r->why = why;
    }
    return r->err;
}

ferry_err ferry_scale_finish(struct ferry_scale_reader *r)
{
    if (r->err)
        return r->err;
    if (r->pos != r->len)
        return ferry_scale_fail(r, FERRY_E_TRAILING, "trailing bytes after value");
    return FERRY_OK;
}

char *ferry_scale_describe(const struct ferry_scale_reader *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s at byte %zu", r->why ? r->why : ferry_strerror(r->err), r->err_pos);
    return buf;
}

ferry_err ferry_reason_from_scale(struct ferry_reason *why, const struct ferry_scale_reader *r,
                                  const char *what)
{
    if (!r->err)
        return FERRY_OK;
    const char *reason = r->why ? r->why : ferry_strerror(r->err);
    if (what)
        return ferry_reason_set(why, r->err, "%s: %s at byte %zu", what, reason, r->err_pos);
    return ferry_reason_set(why, r->err, "%s at byte %zu", reason, r->err_pos);
}

/* Borrow n bytes or fail with a reason. */
static const uint8_t *take(struct ferry_scale_reader *r, size_t n, const char *why)
{
    if (r->err)
        return NULL;
    if (n > r->len - r->pos) {
        ferry_scale_fail(r, FERRY_E_TRUNCATED, why);
        return NULL;
    }
    const uint8_t *p = r->base + r->pos;
    r->pos += n;
    return p;
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

#define DEFINE_UINT(name, type, n)                                                                 \
    ferry_err ferry_scale_##name(struct ferry_scale_reader *r, type *out)                          \
    {                                                                                              \
        const uint8_t *p = take(r, n, "truncated " #name);                                         \
        *out = p ? (type)load_le(p, n) : 0;                                                        \
        return r->err;                                                                             \
    }

DEFINE_UINT(u8, uint8_t, 1)
DEFINE_UINT(u16, uint16_t, 2)
DEFINE_UINT(u32, uint32_t, 4)
DEFINE_UINT(u64, uint64_t, 8)

/* Signed values reuse the unsigned readers; the conversion is two's complement on every
 * platform ferry targets (C11 leaves it implementation-defined, gcc/clang define it). */
#define DEFINE_SINT(name, type, utype, uname)                                                      \
    ferry_err ferry_scale_##name(struct ferry_scale_reader *r, type *out)                          \
    {                                                                                              \
        utype u;                                                                                   \
        ferry_err e = ferry_scale_##uname(r, &u);                                                  \
        *out = (type)u;                                                                            \
        return e;                                                                                  \
    }

DEFINE_SINT(i8, int8_t, uint8_t, u8)
DEFINE_SINT(i16, int16_t, uint16_t, u16)
DEFINE_SINT(i32, int32_t, uint32_t, u32)
DEFINE_SINT(i64, int64_t, uint64_t, u64)

ferry_err ferry_scale_u128(struct ferry_scale_reader *r, struct ferry_u128 *out)
{
    const uint8_t *p = take(r, 16, "truncated u128");
    out->lo = p ? load_le(p, 8) : 0;
    out->hi = p ? load_le(p + 8, 8) : 0;
    return r->err;
}

ferry_err ferry_scale_i128(struct ferry_scale_reader *r, struct ferry_u128 *out)
{
    return ferry_scale_u128(r, out);
}

ferry_err ferry_scale_bool(struct ferry_scale_reader *r, bool *out)
{
    const uint8_t *p = take(r, 1, "truncated bool");
    *out = false;
    if (!p)
        return r->err;
    if (*p > 1) {
        r->pos--;
        return ferry_scale_fail(r, FERRY_E_INVALID, "bool byte is neither 0 nor 1");
    }
    *out = *p == 1;
    return FERRY_OK;
}

ferry_err ferry_scale_compact_u128(struct ferry_scale_reader *r, struct ferry_u128 *out)
{
    size_t start = r->pos;
    out->lo = out->hi = 0;
    const uint8_t *p = take(r, 1, "truncated compact");
    if (!p)
        return r->err;
    unsigned mode = p[0] & 3;
    if (mode == 0) {
        out->lo = p[0] >> 2;
        return FERRY_OK;
    }
    if (mode == 1) {
        r->pos = start;
        p = take(r, 2, "truncated compact (2-byte mode)");
        if (!p)
            return r->err;
        uint64_t v = load_le(p, 2) >> 2;
        if (v < 64) {
            r->pos = start;
            return ferry_scale_fail(r, FERRY_E_NONCANONICAL, "non-canonical compact (2-byte mode)");
        }
        out->lo = v;
        return FERRY_OK;
    }
    if (mode == 2) {
        r->pos = start;
        p = take(r, 4, "truncated compact (4-byte mode)");
        if (!p)
            return r->err;
        uint64_t v = load_le(p, 4) >> 2;
        if (v < (1u << 14)) {
            r->pos = start;
            return ferry_scale_fail(r, FERRY_E_NONCANONICAL, "non-canonical compact (4-byte mode)");
        }
        out->lo = v;
        return FERRY_OK;
    }
    size_t n = (size_t)(p[0] >> 2) + 4;
    if (n > 16) {
        r->pos = start;
        return ferry_scale_fail(r, FERRY_E_OVERFLOW, "compact wider than 128 bits");
    }
    p = take(r, n, "truncated compact (big mode)");
    if (!p)
        return r->err;
    if (p[n - 1] == 0) {
        r->pos = start;
        return ferry_scale_fail(r, FERRY_E_NONCANONICAL, "non-canonical compact (zero top byte)");
    }
    out->lo = load_le(p, n < 8 ? n : 8);
    out->hi = n > 8 ? load_le(p + 8, n - 8) : 0;
    if (n == 4 && out->lo < (1u << 30)) {
        r->pos = start;
        return ferry_scale_fail(r, FERRY_E_NONCANONICAL, "non-canonical compact (big mode)");
    }
    return FERRY_OK;
}

/* Narrow a compact to max; out-of-range values fail at the compact's first byte. */
static ferry_err compact_max(struct ferry_scale_reader *r, uint64_t max, uint64_t *out)
{
    size_t start = r->pos;
    struct ferry_u128 v;
    *out = 0;
    if (ferry_scale_compact_u128(r, &v))
        return r->err;
    if (v.hi != 0 || v.lo > max) {
        r->pos = start;
        return ferry_scale_fail(r, FERRY_E_OVERFLOW, "compact value too large for its type");
    }
    *out = v.lo;
    return FERRY_OK;
}

#define DEFINE_COMPACT(name, type, max)                                                            \
    ferry_err ferry_scale_compact_##name(struct ferry_scale_reader *r, type *out)                  \
    {                                                                                              \
        uint64_t v;                                                                                \
        ferry_err e = compact_max(r, max, &v);                                                     \
        *out = (type)v;                                                                            \
        return e;                                                                                  \
    }

DEFINE_COMPACT(u8, uint8_t, UINT8_MAX)
DEFINE_COMPACT(u16, uint16_t, UINT16_MAX)
DEFINE_COMPACT(u32, uint32_t, UINT32_MAX)
DEFINE_COMPACT(u64, uint64_t, UINT64_MAX)

ferry_err ferry_scale_bytes(struct ferry_scale_reader *r, size_t n, const uint8_t **out)
{
    *out = take(r, n, "truncated byte array");
    return r->err;
}

ferry_err ferry_scale_copy(struct ferry_scale_reader *r, void *out, size_t n)
{
    const uint8_t *p = take(r, n, "truncated byte array");
    if (p)
        memcpy(out, p, n);
    else
        memset(out, 0, n);
    return r->err;
}

ferry_err ferry_scale_vec_len(struct ferry_scale_reader *r, size_t min_item_size, size_t *count)
{
    size_t start = r->pos;
    uint32_t n;
    *count = 0;
    if (ferry_scale_compact_u32(r, &n))
        return r->err;
    size_t left = r->len - r->pos;
    if (min_item_size && n > left / min_item_size) {
        r->pos = start;
        return ferry_scale_fail(r, FERRY_E_TOO_LARGE, "length prefix exceeds remaining input");
    }
    *count = n;
    return FERRY_OK;
}

ferry_err ferry_scale_byte_vec(struct ferry_scale_reader *r, const uint8_t **out, size_t *len)
{
    size_t n;
    *out = NULL;
    *len = 0;
    if (ferry_scale_vec_len(r, 1, &n))
        return r->err;
    *out = take(r, n, "truncated byte vector");
    *len = n;
    return r->err;
}

bool ferry_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n > len - i - 1)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

ferry_err ferry_scale_string(struct ferry_scale_reader *r, const uint8_t **out, size_t *len)
{
    size_t start = r->pos;
    if (ferry_scale_byte_vec(r, out, len))
        return r->err;
    if (!ferry_utf8_valid(*out, *len)) {
        r->pos = start;
        *out = NULL;
        *len = 0;
        return ferry_scale_fail(r, FERRY_E_UTF8, "string is not valid UTF-8");
    }
    return FERRY_OK;
}

ferry_err ferry_scale_option(struct ferry_scale_reader *r, bool *present)
{
    uint8_t tag;
    *present = false;
    if (ferry_scale_u8(r, &tag))
        return r->err;
    if (tag > 1) {
        r->pos--;
        return ferry_scale_fail(r, FERRY_E_INVALID, "option tag is neither 0 nor 1");
    }
    *present = tag == 1;
    return FERRY_OK;
}

ferry_err ferry_scale_enum(struct ferry_scale_reader *r, const uint8_t *allowed, size_t n,
                           uint8_t *index)
{
    if (ferry_scale_u8(r, index))
        return r->err;
    if (!allowed)
        return FERRY_OK;
    for (size_t i = 0; i < n; i++)
        if (allowed[i] == *index)
            return FERRY_OK;
    r->pos--;
    return ferry_scale_fail(r, FERRY_E_INVALID, "unknown enum variant index");
}

ferry_err ferry_scale_skip(struct ferry_scale_reader *r, size_t n)
{
    take(r, n, "truncated input while skipping");
    return r->err;
}

/* ---- encoder -------------------------------------------------------------------------------- */

void ferry_scale_writer_init(struct ferry_scale_writer *w)
{
    memset(w, 0, sizeof *w);
}

void ferry_scale_writer_free(struct ferry_scale_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

ferry_err ferry_scale_writer_error(const struct ferry_scale_writer *w)
{
    return w->oom ? FERRY_E_NOMEM : FERRY_OK;
}

uint8_t *ferry_scale_writer_take(struct ferry_scale_writer *w, size_t *len)
{
    if (w->oom) {
        ferry_scale_writer_free(w);
        *len = 0;
        return NULL;
    }
    uint8_t *buf = w->buf ? w->buf : malloc(1);
    *len = w->len;
    memset(w, 0, sizeof *w);
    return buf;
}

static uint8_t *reserve(struct ferry_scale_writer *w, size_t n)
{
    if (w->oom)
        return NULL;
    if (n > w->cap - w->len) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap - w->len < n) {
            if (cap > SIZE_MAX / 2) {
                w->oom = true;
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb) {
            w->oom = true;
            return NULL;
        }
        w->buf = nb;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

static void put_le(struct ferry_scale_writer *w, uint64_t v, size_t n)
{
    uint8_t *p = reserve(w, n);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void ferry_scale_put_u8(struct ferry_scale_writer *w, uint8_t v)
{
    put_le(w, v, 1);
}

void ferry_scale_put_u16(struct ferry_scale_writer *w, uint16_t v)
{
    put_le(w, v, 2);
}

void ferry_scale_put_u32(struct ferry_scale_writer *w, uint32_t v)
{
    put_le(w, v, 4);
}

void ferry_scale_put_u64(struct ferry_scale_writer *w, uint64_t v)
{
    put_le(w, v, 8);
}

void ferry_scale_put_u128(struct ferry_scale_writer *w, struct ferry_u128 v)
{
    put_le(w, v.lo, 8);
    put_le(w, v.hi, 8);
}

void ferry_scale_put_bool(struct ferry_scale_writer *w, bool v)
{
    put_le(w, v ? 1 : 0, 1);
}

void ferry_scale_put_compact_u128(struct ferry_scale_writer *w, struct ferry_u128 v)
{
    if (v.hi == 0 && v.lo < (1u << 30)) {
        ferry_scale_put_compact(w, v.lo);
        return;
    }
    size_t n = 16;
    while (n > 4 && (n > 8 ? (v.hi >> (8 * (n - 9))) & 0xff : (v.lo >> (8 * (n - 1))) & 0xff) == 0)
        n--;
    put_le(w, ((n - 4) << 2) | 3, 1);
    put_le(w, v.lo, n < 8 ? n : 8);
    if (n > 8)
        put_le(w, v.hi, n - 8);
}

void ferry_scale_put_compact(struct ferry_scale_writer *w, uint64_t v)
{
    if (v < 64) {
        put_le(w, v << 2, 1);
    } else if (v < (1u << 14)) {
        put_le(w, v << 2 | 1, 2);
    } else if (v < (1u << 30)) {
        put_le(w, v << 2 | 2, 4);
    } else {
        struct ferry_u128 x = {v, 0};
        ferry_scale_put_compact_u128(w, x);
    }
}

size_t ferry_scale_compact_size(uint64_t v)
{
    if (v < 64)
        return 1;
    if (v < (1u << 14))
        return 2;
    if (v < (1u << 30))
        return 4;
    size_t n = 8;
    while (n > 4 && (v >> (8 * (n - 1))) == 0)
        n--;
    return 1 + n;
}

void ferry_scale_put_bytes(struct ferry_scale_writer *w, const void *p, size_t n)
{
    uint8_t *d = reserve(w, n);
    if (d && n)
        memcpy(d, p, n);
}

void ferry_scale_put_byte_vec(struct ferry_scale_writer *w, const void *p, size_t n)
{
    ferry_scale_put_compact(w, n);
    ferry_scale_put_bytes(w, p, n);
}
