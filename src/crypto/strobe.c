/* STROBE-128 as merlin's strobe.rs lays it out: the duplex position pos within the rate R = 166,
 * pos_begin marking where the current operation began, and the flag byte of that operation.
 * Absorbing XORs into the state, KEY overwrites it, PRF reads and zeroes it; whenever pos
 * reaches R the state is padded (pos_begin, 0x04 at pos+1, 0x80 at R+1) and permuted. */
#include "strobe.h"

#include <sodium.h>
#include <string.h>

#include "keccak.h"

#define STROBE_R 166

enum {
    FLAG_I = 1,
    FLAG_A = 1 << 1,
    FLAG_C = 1 << 2,
    FLAG_T = 1 << 3,
    FLAG_M = 1 << 4,
    FLAG_K = 1 << 5,
};

static void run_f(struct ferry_strobe *s)
{
    s->st[s->pos] ^= s->pos_begin;
    s->st[s->pos + 1] ^= 0x04;
    s->st[STROBE_R + 1] ^= 0x80;
    ferry_keccak_f1600(s->st);
    s->pos = 0;
    s->pos_begin = 0;
}

static void absorb(struct ferry_strobe *s, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        s->st[s->pos++] ^= data[i];
        if (s->pos == STROBE_R)
            run_f(s);
    }
}

static void overwrite(struct ferry_strobe *s, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        s->st[s->pos++] = data[i];
        if (s->pos == STROBE_R)
            run_f(s);
    }
}

static void squeeze(struct ferry_strobe *s, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        out[i] = s->st[s->pos];
        s->st[s->pos++] = 0;
        if (s->pos == STROBE_R)
            run_f(s);
    }
}

/* Start an operation with these flags, or continue the current one when more is set. A
 * continuation with different flags is a programming error: ferry's callers are fixed
 * sequences, so it is treated like merlin's assertion, by starting a fresh operation instead
 * of silently mixing two (the transcript then simply differs). */
static void begin_op(struct ferry_strobe *s, uint8_t flags, bool more)
{
    if (more && s->cur_flags == flags)
        return;
    uint8_t hdr[2] = {s->pos_begin, flags};
    s->pos_begin = (uint8_t)(s->pos + 1);
    s->cur_flags = flags;
    absorb(s, hdr, 2);
    if ((flags & (FLAG_C | FLAG_K)) && s->pos != 0)
        run_f(s);
}

void ferry_strobe_init(struct ferry_strobe *s, const uint8_t *label, size_t len)
{
    static const uint8_t head[18] = {1,   STROBE_R + 2, 1,   0,   1,   96,  'S', 'T', 'R',
                                     'O', 'B',          'E', 'v', '1', '.', '0', '.', '2'};
    memset(s, 0, sizeof *s);
    memcpy(s->st, head, sizeof head);
    ferry_keccak_f1600(s->st);
    ferry_strobe_meta_ad(s, label, len, false);
}

void ferry_strobe_meta_ad(struct ferry_strobe *s, const uint8_t *data, size_t len, bool more)
{
    begin_op(s, FLAG_M | FLAG_A, more);
    absorb(s, data, len);
}

void ferry_strobe_ad(struct ferry_strobe *s, const uint8_t *data, size_t len, bool more)
{
    begin_op(s, FLAG_A, more);
    absorb(s, data, len);
}

void ferry_strobe_prf(struct ferry_strobe *s, uint8_t *out, size_t len, bool more)
{
    begin_op(s, FLAG_I | FLAG_A | FLAG_C, more);
    squeeze(s, out, len);
}

void ferry_strobe_key(struct ferry_strobe *s, const uint8_t *data, size_t len, bool more)
{
    begin_op(s, FLAG_A | FLAG_C, more);
    overwrite(s, data, len);
}

void ferry_strobe_wipe(struct ferry_strobe *s)
{
    sodium_memzero(s, sizeof *s);
}
