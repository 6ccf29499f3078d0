/* ferry — hex strings as Substrate's JSON-RPC writes them ("0x" + lower-case pairs). */
#ifndef FERRY_HEX_H
#define FERRY_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

/* Decode a hex string into a newly allocated buffer.
 * In:  s, slen - the text; a "0x"/"0X" prefix is optional; an odd digit count is an error.
 * Out: *out (malloc'd, caller frees; non-NULL even for zero bytes), *outlen.
 * Returns: FERRY_OK, FERRY_E_HEX on a bad digit or odd length, FERRY_E_NOMEM.
 *          On failure *out is NULL. */
FERRY_WARN_UNUSED ferry_err ferry_hex_decode(const char *s, size_t slen, uint8_t **out,
                                             size_t *outlen);

/* Decode a NUL-terminated hex string that must hold exactly n bytes into out[n].
 * Returns: FERRY_OK, or FERRY_E_HEX (bad digits or a length other than n). */
FERRY_WARN_UNUSED ferry_err ferry_hex_decode_exact(const char *s, uint8_t *out, size_t n);

/* Write "0x" + 2*len lower-case digits + NUL into out, which must hold 2*len+3 bytes.
 * Returns: out. */
char *ferry_hex_encode(const uint8_t *in, size_t len, char *out);

/* Returns: a malloc'd "0x…" string for in[len], or NULL when out of memory. */
char *ferry_hex_alloc(const uint8_t *in, size_t len);

#endif
