/* STROBE-128 (v1.0.2), the subset merlin uses (internal): meta-AD, AD, PRF and KEY, with the
 * "more" flag for continuing an operation. Rate 166 bytes over Keccak-f[1600] (keccak.h).
 * Transport (T) operations are not supported; merlin never uses them. */
#ifndef FERRY_CRYPTO_STROBE_H
#define FERRY_CRYPTO_STROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ferry_strobe {
    uint8_t st[200];
    uint8_t pos, pos_begin, cur_flags;
};

/* Initialise for protocol label[len] (STROBE's "init" followed by meta-AD(label)). */
void ferry_strobe_init(struct ferry_strobe *s, const uint8_t *label, size_t len);

/* The operations; more = continue the previous operation (its flags must match). */
void ferry_strobe_meta_ad(struct ferry_strobe *s, const uint8_t *data, size_t len, bool more);
void ferry_strobe_ad(struct ferry_strobe *s, const uint8_t *data, size_t len, bool more);
void ferry_strobe_prf(struct ferry_strobe *s, uint8_t *out, size_t len, bool more);
void ferry_strobe_key(struct ferry_strobe *s, const uint8_t *data, size_t len, bool more);

/* Wipe the state (it holds secrets once keyed). */
void ferry_strobe_wipe(struct ferry_strobe *s);

#endif
