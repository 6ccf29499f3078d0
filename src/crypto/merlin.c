/* Merlin transcripts: each message is meta-AD(label) ‖ meta-AD(LE32 length, continued) ‖
 * AD(message); each challenge meta-AD(label) ‖ meta-AD(LE32 length, continued) ‖ PRF. The RNG
 * fork is a copy of the STROBE state rekeyed with KEY(witness) under the same framing, then
 * KEY(32 random bytes) under meta-AD("rng"). */
#include "merlin.h"

#include <string.h>

static void le32(uint8_t out[4], size_t v)
{
    uint32_t x = (uint32_t)v;
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(x >> (8 * i));
}

void ferry_merlin_init(struct ferry_merlin *t, const char *label)
{
    static const char proto[] = "Merlin v1.0";
    ferry_strobe_init(&t->strobe, (const uint8_t *)proto, sizeof proto - 1);
    ferry_merlin_append(t, "dom-sep", (const uint8_t *)label, strlen(label));
}

void ferry_merlin_append(struct ferry_merlin *t, const char *label, const uint8_t *msg, size_t len)
{
    uint8_t n[4];
    le32(n, len);
    ferry_strobe_meta_ad(&t->strobe, (const uint8_t *)label, strlen(label), false);
    ferry_strobe_meta_ad(&t->strobe, n, 4, true);
    ferry_strobe_ad(&t->strobe, msg, len, false);
}

void ferry_merlin_append_u64(struct ferry_merlin *t, const char *label, uint64_t x)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(x >> (8 * i));
    ferry_merlin_append(t, label, b, 8);
}

void ferry_merlin_challenge(struct ferry_merlin *t, const char *label, uint8_t *out, size_t len)
{
    uint8_t n[4];
    le32(n, len);
    ferry_strobe_meta_ad(&t->strobe, (const uint8_t *)label, strlen(label), false);
    ferry_strobe_meta_ad(&t->strobe, n, 4, true);
    ferry_strobe_prf(&t->strobe, out, len, false);
}

void ferry_merlin_rng_fork(struct ferry_merlin_rng *r, const struct ferry_merlin *t)
{
    r->strobe = t->strobe;
}

void ferry_merlin_rng_rekey(struct ferry_merlin_rng *r, const char *label, const uint8_t *witness,
                            size_t len)
{
    uint8_t n[4];
    le32(n, len);
    ferry_strobe_meta_ad(&r->strobe, (const uint8_t *)label, strlen(label), false);
    ferry_strobe_meta_ad(&r->strobe, n, 4, true);
    ferry_strobe_key(&r->strobe, witness, len, false);
}

void ferry_merlin_rng_finalize(struct ferry_merlin_rng *r, const uint8_t random[32])
{
    static const uint8_t rng_label[3] = {'r', 'n', 'g'};
    ferry_strobe_meta_ad(&r->strobe, rng_label, 3, false);
    ferry_strobe_key(&r->strobe, random, 32, false);
}

void ferry_merlin_rng_fill(struct ferry_merlin_rng *r, uint8_t *out, size_t len)
{
    uint8_t n[4];
    le32(n, len);
    ferry_strobe_meta_ad(&r->strobe, n, 4, false);
    ferry_strobe_prf(&r->strobe, out, len, false);
}

void ferry_merlin_wipe(struct ferry_merlin *t)
{
    ferry_strobe_wipe(&t->strobe);
}

void ferry_merlin_rng_wipe(struct ferry_merlin_rng *r)
{
    ferry_strobe_wipe(&r->strobe);
}
