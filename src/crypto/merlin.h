/* Merlin transcripts (merlin 3.x, "Merlin v1.0") over STROBE-128 (internal).
 *
 * A transcript absorbs labelled messages and squeezes labelled challenges; an RNG forked from it
 * is rekeyed with secret witnesses and fresh randomness, so nonces depend on the whole public
 * transcript, the secrets and the system RNG. Labels are byte strings with a length. */
#ifndef FERRY_CRYPTO_MERLIN_H
#define FERRY_CRYPTO_MERLIN_H

#include <stddef.h>
#include <stdint.h>

#include "strobe.h"

struct ferry_merlin {
    struct ferry_strobe strobe;
};

/* A transcript's fork for drawing witness-bound randomness. */
struct ferry_merlin_rng {
    struct ferry_strobe strobe;
};

/* Transcript::new(label). */
void ferry_merlin_init(struct ferry_merlin *t, const char *label);
/* append_message(label, msg[len]); len must fit u32 (ferry never appends more). */
void ferry_merlin_append(struct ferry_merlin *t, const char *label, const uint8_t *msg, size_t len);
/* append_u64(label, x): the 8 little-endian bytes of x. */
void ferry_merlin_append_u64(struct ferry_merlin *t, const char *label, uint64_t x);
/* challenge_bytes(label, out[len]). */
void ferry_merlin_challenge(struct ferry_merlin *t, const char *label, uint8_t *out, size_t len);

/* build_rng(): fork t (t is left unchanged). */
void ferry_merlin_rng_fork(struct ferry_merlin_rng *r, const struct ferry_merlin *t);
/* rekey_with_witness_bytes(label, witness[len]). */
void ferry_merlin_rng_rekey(struct ferry_merlin_rng *r, const char *label, const uint8_t *witness,
                            size_t len);
/* finalize(rng) with the 32 given random bytes (callers pass randombytes_buf output; tests pass
 * fixed bytes to reproduce a run). */
void ferry_merlin_rng_finalize(struct ferry_merlin_rng *r, const uint8_t random[32]);
/* fill_bytes(out[len]). */
void ferry_merlin_rng_fill(struct ferry_merlin_rng *r, uint8_t *out, size_t len);

void ferry_merlin_wipe(struct ferry_merlin *t);
void ferry_merlin_rng_wipe(struct ferry_merlin_rng *r);

#endif
