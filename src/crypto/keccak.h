/* Keccak-f[1600], the permutation under SHA-3 and STROBE (internal).
 *
 * The state is 200 bytes, read as 25 little-endian 64-bit lanes (lane x + 5y at byte 8(x + 5y)),
 * as the Keccak team's reference and STROBE lay it out. No Debian package exposes the bare
 * permutation, so ferry keeps this small, table-driven, branch-free version; it is checked
 * against the Keccak team's published intermediate values and against OpenSSL's SHA3-256. */
#ifndef FERRY_CRYPTO_KECCAK_H
#define FERRY_CRYPTO_KECCAK_H

#include <stdint.h>

/* Apply the 24-round permutation to st in place. */
void ferry_keccak_f1600(uint8_t st[200]);

#endif
