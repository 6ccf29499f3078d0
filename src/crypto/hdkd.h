/* Substrate's hard key derivation, shared by the ed25519 and ECDSA schemes (internal). */
#ifndef FERRY_CRYPTO_HDKD_H
#define FERRY_CRYPTO_HDKD_H

#include <stdint.h>

/* out = blake2b-256(SCALE(tag) ‖ secret[32] ‖ chain_code[32]); tag is "Ed25519HDKD" or
 * "Secp256k1HDKD" (shorter than 64 bytes, so its SCALE length prefix is one byte). The
 * intermediate buffer is wiped. */
void ferry_hdkd_hard(uint8_t out[32], const char *tag, const uint8_t secret[32],
                     const uint8_t chain_code[32]);

#endif
