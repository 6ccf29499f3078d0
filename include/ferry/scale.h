/* ferry — SCALE codec (Substrate's Simple Concatenated Aggregate Little-Endian encoding).
 *
 * Decoding is a cursor over a caller-owned buffer. Every read checks the bytes that remain, and
 * the first failure is sticky: it records an error code, the byte offset where it happened and
 * a static reason, and every later read on the same cursor fails with the same error. So a
 * decoder can read a whole structure and check the cursor once at the end, and a caller can
 * always report "bad compact prefix at byte 17".
 *
 * Compact integers are decoded canonically only (as parity-scale-codec does): a value encoded in
 * a longer mode than needed, or a big-mode value with a zero top byte, is FERRY_E_NONCANONICAL.
 *
 * Encoding appends to a growable buffer; an allocation failure is sticky too and is reported by
 * ferry_scale_writer_error().
 */
#ifndef FERRY_SCALE_H
#define FERRY_SCALE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

/* A 128-bit unsigned integer as two 64-bit halves (value = hi * 2^64 + lo). */
struct ferry_u128 {
    uint64_t lo;
    uint64_t hi;
};

/* Format v in decimal into out[40]. Returns: out. */
char *ferry_u128_to_string(struct ferry_u128 v, char out[40]);

/* Parse a decimal string (digits only, no sign) into *v.
 * Returns: FERRY_OK, FERRY_E_ARG (empty or non-digit) or FERRY_E_OVERFLOW (> 2^128-1). */
FERRY_WARN_UNUSED ferry_err ferry_u128_from_string(const char *s, struct ferry_u128 *v);

/* ---- decoding ------------------------------------------------------------------------------- */

struct ferry_scale_reader {
    const uint8_t *base; /* start of the input */
    size_t len;          /* total input length */
    size_t pos;          /* bytes consumed */
    ferry_err err;       /* first error, or FERRY_OK */
    size_t err_pos;      /* offset of the first error */
    const char *why;     /* static reason for the first error, or NULL */
};

/* Start a cursor over buf[len]. buf may be NULL when len is 0. */
void ferry_scale_reader_init(struct ferry_scale_reader *r, const uint8_t *buf, size_t len);

/* Returns: the number of bytes not yet consumed (0 after an error). */
size_t ferry_scale_remaining(const struct ferry_scale_reader *r);

/* Record an error at the current position (only the first one is kept).
 * Returns: err, so decoders can `return ferry_scale_fail(r, FERRY_E_INVALID, "bad tag");`. */
ferry_err ferry_scale_fail(struct ferry_scale_reader *r, ferry_err err, const char *why);

/* Check that every byte was consumed.
 * Returns: the sticky error if any, FERRY_E_TRAILING when bytes remain, else FERRY_OK. */
FERRY_WARN_UNUSED ferry_err ferry_scale_finish(struct ferry_scale_reader *r);

/* Format "<reason> at byte <n>" (or ferry_strerror when no reason) into buf[cap].
 * Returns: buf. */
char *ferry_scale_describe(const struct ferry_scale_reader *r, char *buf, size_t cap);

/* Turn the cursor's error into a failure reason (error.h): "<what>: <reason> at byte <n>", or
 * without "<what>: " when what is NULL. Nothing is written when the cursor has no error.
 * Returns: r->err. */
ferry_err ferry_reason_from_scale(struct ferry_reason *why, const struct ferry_scale_reader *r,
                                  const char *what);

/* Fixed-width little-endian integers. On failure *out is set to 0.
 * Returns: FERRY_OK or the cursor's error (FERRY_E_TRUNCATED). */
ferry_err ferry_scale_u8(struct ferry_scale_reader *r, uint8_t *out);
ferry_err ferry_scale_u16(struct ferry_scale_reader *r, uint16_t *out);
ferry_err ferry_scale_u32(struct ferry_scale_reader *r, uint32_t *out);
ferry_err ferry_scale_u64(struct ferry_scale_reader *r, uint64_t *out);
ferry_err ferry_scale_u128(struct ferry_scale_reader *r, struct ferry_u128 *out);
ferry_err ferry_scale_i8(struct ferry_scale_reader *r, int8_t *out);
ferry_err ferry_scale_i16(struct ferry_scale_reader *r, int16_t *out);
ferry_err ferry_scale_i32(struct ferry_scale_reader *r, int32_t *out);
ferry_err ferry_scale_i64(struct ferry_scale_reader *r, int64_t *out);
/* i128 in two's complement: the same bits as u128. */
ferry_err ferry_scale_i128(struct ferry_scale_reader *r, struct ferry_u128 *out);

/* bool: 0x00 or 0x01; anything else is FERRY_E_INVALID. */
ferry_err ferry_scale_bool(struct ferry_scale_reader *r, bool *out);

/* Compact<T> for each width. A canonical value too large for the width is FERRY_E_OVERFLOW. */
ferry_err ferry_scale_compact_u8(struct ferry_scale_reader *r, uint8_t *out);
ferry_err ferry_scale_compact_u16(struct ferry_scale_reader *r, uint16_t *out);
ferry_err ferry_scale_compact_u32(struct ferry_scale_reader *r, uint32_t *out);
ferry_err ferry_scale_compact_u64(struct ferry_scale_reader *r, uint64_t *out);
ferry_err ferry_scale_compact_u128(struct ferry_scale_reader *r, struct ferry_u128 *out);

/* Borrow n raw bytes (a fixed array such as [u8; 32]); *out points into the input.
 * Returns: FERRY_OK or FERRY_E_TRUNCATED (then *out is NULL). */
ferry_err ferry_scale_bytes(struct ferry_scale_reader *r, size_t n, const uint8_t **out);

/* Copy n raw bytes into out[n]. */
ferry_err ferry_scale_copy(struct ferry_scale_reader *r, void *out, size_t n);

/* Read the Compact<u32> length prefix of a Vec whose items take at least min_item_size bytes
 * each (use 1 when unknown, 0 only for zero-sized items). The length is checked against the
 * remaining input before it is returned, so `calloc(*count, …)` after it is bounded by the input.
 * Returns: FERRY_OK, FERRY_E_TOO_LARGE (count * min_item_size > remaining), or a compact error. */
ferry_err ferry_scale_vec_len(struct ferry_scale_reader *r, size_t min_item_size, size_t *count);

/* Borrow a Vec<u8> (length prefix + bytes); *out points into the input. */
ferry_err ferry_scale_byte_vec(struct ferry_scale_reader *r, const uint8_t **out, size_t *len);

/* Borrow a String: like byte_vec, then the bytes must be valid UTF-8 (FERRY_E_UTF8). */
ferry_err ferry_scale_string(struct ferry_scale_reader *r, const uint8_t **out, size_t *len);

/* Option tag: *present = false for 0x00, true for 0x01; other bytes are FERRY_E_INVALID. */
ferry_err ferry_scale_option(struct ferry_scale_reader *r, bool *present);

/* Enum variant index byte. When allowed is non-NULL, allowed[0..n) lists the valid indices
 * (enums may be sparse) and any other index is FERRY_E_INVALID. */
ferry_err ferry_scale_enum(struct ferry_scale_reader *r, const uint8_t *allowed, size_t n,
                           uint8_t *index);

/* Skip n bytes. */
ferry_err ferry_scale_skip(struct ferry_scale_reader *r, size_t n);

/* Returns: true when s[len] is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool ferry_utf8_valid(const uint8_t *s, size_t len);

/* ---- encoding ------------------------------------------------------------------------------- */

struct ferry_scale_writer {
    uint8_t *buf; /* malloc'd; owned by the writer until ferry_scale_writer_take */
    size_t len;
    size_t cap;
    bool oom; /* sticky allocation failure */
};

void ferry_scale_writer_init(struct ferry_scale_writer *w);
void ferry_scale_writer_free(struct ferry_scale_writer *w);

/* Returns: FERRY_E_NOMEM if any append failed, else FERRY_OK. */
FERRY_WARN_UNUSED ferry_err ferry_scale_writer_error(const struct ferry_scale_writer *w);

/* Hand the buffer to the caller (who frees it) and reset the writer.
 * Returns: the buffer (non-NULL, possibly zero-length) or NULL after an allocation failure. */
uint8_t *ferry_scale_writer_take(struct ferry_scale_writer *w, size_t *len);

void ferry_scale_put_u8(struct ferry_scale_writer *w, uint8_t v);
void ferry_scale_put_u16(struct ferry_scale_writer *w, uint16_t v);
void ferry_scale_put_u32(struct ferry_scale_writer *w, uint32_t v);
void ferry_scale_put_u64(struct ferry_scale_writer *w, uint64_t v);
void ferry_scale_put_u128(struct ferry_scale_writer *w, struct ferry_u128 v);
void ferry_scale_put_bool(struct ferry_scale_writer *w, bool v);
void ferry_scale_put_compact(struct ferry_scale_writer *w, uint64_t v);
void ferry_scale_put_compact_u128(struct ferry_scale_writer *w, struct ferry_u128 v);
void ferry_scale_put_bytes(struct ferry_scale_writer *w, const void *p, size_t n);
/* Compact length ++ bytes (Vec<u8>, String). */
void ferry_scale_put_byte_vec(struct ferry_scale_writer *w, const void *p, size_t n);

/* Returns: the number of bytes Compact encoding of v takes (1, 2, 4 or 5..9). */
size_t ferry_scale_compact_size(uint64_t v);

#endif
