/* Keccak-f[1600] (FIPS 202 §3): theta, rho, pi, chi, iota over 24 rounds. Every step is a fixed
 * sequence of XORs, ANDs and rotations by constants, so the time taken never depends on the
 * state. */
#include "keccak.h"

#include <sodium.h>
#include <string.h>

static const uint64_t round_constants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

static inline uint64_t rotl(uint64_t x, unsigned n)
{
    return (x << n) | (x >> (64 - n));
}

/* Lanes are little-endian 64-bit words; memcpy is the portable way to read them and compiles
 * to a plain load on little-endian machines. */
static uint64_t load64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
#endif
}

static void store64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

/* theta's D value of column x from the column parities, spelled out so that no index needs a
 * run-time modulo. */
#define THETA_D(x, xm1, xp1) (c[xm1] ^ rotl(c[xp1], 1))

void ferry_keccak_f1600(uint8_t st[200])
{
    uint64_t a[25], b[25], c[5], d[5];
    for (int i = 0; i < 25; i++)
        a[i] = load64(st + 8 * i);

    for (int r = 0; r < 24; r++) {
        /* theta */
        for (int x = 0; x < 5; x++)
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        d[0] = THETA_D(0, 4, 1);
        d[1] = THETA_D(1, 0, 2);
        d[2] = THETA_D(2, 1, 3);
        d[3] = THETA_D(3, 2, 4);
        d[4] = THETA_D(4, 3, 0);
        for (int y = 0; y < 25; y += 5) {
            a[y] ^= d[0];
            a[y + 1] ^= d[1];
            a[y + 2] ^= d[2];
            a[y + 3] ^= d[3];
            a[y + 4] ^= d[4];
        }
        /* rho and pi: lane (x, y) rotated by its fixed offset moves to (y, 2x + 3y) */
        b[0] = a[0];
        b[16] = rotl(a[5], 36);
        b[7] = rotl(a[10], 3);
        b[23] = rotl(a[15], 41);
        b[14] = rotl(a[20], 18);
        b[10] = rotl(a[1], 1);
        b[1] = rotl(a[6], 44);
        b[17] = rotl(a[11], 10);
        b[8] = rotl(a[16], 45);
        b[24] = rotl(a[21], 2);
        b[20] = rotl(a[2], 62);
        b[11] = rotl(a[7], 6);
        b[2] = rotl(a[12], 43);
        b[18] = rotl(a[17], 15);
        b[9] = rotl(a[22], 61);
        b[5] = rotl(a[3], 28);
        b[21] = rotl(a[8], 55);
        b[12] = rotl(a[13], 25);
        b[3] = rotl(a[18], 21);
        b[19] = rotl(a[23], 56);
        b[15] = rotl(a[4], 27);
        b[6] = rotl(a[9], 20);
        b[22] = rotl(a[14], 39);
        b[13] = rotl(a[19], 8);
        b[4] = rotl(a[24], 14);
        /* chi, row by row, from b back into a */
        for (int y = 0; y < 25; y += 5) {
            a[y] = b[y] ^ (~b[y + 1] & b[y + 2]);
            a[y + 1] = b[y + 1] ^ (~b[y + 2] & b[y + 3]);
            a[y + 2] = b[y + 2] ^ (~b[y + 3] & b[y + 4]);
            a[y + 3] = b[y + 3] ^ (~b[y + 4] & b[y]);
            a[y + 4] = b[y + 4] ^ (~b[y] & b[y + 1]);
        }
        /* iota */
        a[0] ^= round_constants[r];
    }

    for (int i = 0; i < 25; i++)
        store64(st + 8 * i, a[i]);
    /* may hold key material when STROBE is keyed */
    sodium_memzero(a, sizeof a);
    sodium_memzero(c, sizeof c);
    sodium_memzero(d, sizeof d);
    sodium_memzero(b, sizeof b);
}
