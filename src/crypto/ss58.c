/* SS58 addresses (Substrate's account address format) and the Base58 codec they use.
 *
 * Base58 here is the Bitcoin alphabet with plain big-number conversion (no check bytes of its
 * own); inputs are capped at 1024 bytes/characters so the work is bounded for hostile text.
 * The SS58 layer adds the network prefix and the blake2b-512 "SS58PRE" checksum; see ss58.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/ss58.h"

#define BASE58_MAX 1024

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Returns: the digit value of c, or -1 when c is not in the alphabet. */
static int b58_digit(char c)
{
    const char *p = c ? strchr(b58_alphabet, c) : NULL;
    return p ? (int)(p - b58_alphabet) : -1;
}

ferry_err ferry_base58_encode(const uint8_t *in, size_t len, char *out, size_t outsize)
{
    /* Each input byte needs log(256)/log(58) ~ 1.366 digits. */
    uint8_t digits[BASE58_MAX * 138 / 100 + 1];
    if (outsize > 0)
        out[0] = 0;
    if (len > BASE58_MAX)
        return FERRY_E_TOO_LARGE;
    size_t zeros = 0;
    while (zeros < len && in[zeros] == 0)
        zeros++;
    size_t size = (len - zeros) * 138 / 100 + 1;
    size_t used = 0; /* digits used, stored little-endian in digits[0..used) */
    memset(digits, 0, size);
    for (size_t i = zeros; i < len; i++) {
        unsigned carry = in[i];
        size_t j = 0;
        for (; j < used || carry; j++) {
            carry += 256u * digits[j];
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        used = j;
    }
    if (zeros + used + 1 > outsize)
        return FERRY_E_TOO_LARGE;
    size_t n = 0;
    for (size_t i = 0; i < zeros; i++)
        out[n++] = '1';
    for (size_t i = used; i > 0; i--)
        out[n++] = b58_alphabet[digits[i - 1]];
    out[n] = 0;
    return FERRY_OK;
}

ferry_err ferry_base58_decode(const char *text, size_t len, uint8_t *out, size_t outsize,
                              size_t *outlen, size_t *bad_pos)
{
    /* Each digit carries log(58)/log(256) ~ 0.733 bytes. */
    uint8_t bytes[BASE58_MAX * 733 / 1000 + 1];
    *outlen = 0;
    if (len > BASE58_MAX)
        return FERRY_E_TOO_LARGE;
    size_t zeros = 0;
    while (zeros < len && text[zeros] == '1')
        zeros++;
    size_t used = 0; /* bytes used, stored little-endian in bytes[0..used) */
    for (size_t i = zeros; i < len; i++) {
        int d = b58_digit(text[i]);
        if (d < 0) {
            if (bad_pos)
                *bad_pos = i;
            return FERRY_E_INVALID;
        }
        unsigned carry = (unsigned)d;
        size_t j = 0;
        for (; j < used || carry; j++) {
            carry += 58u * (j < used ? bytes[j] : 0u);
            bytes[j] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
        used = j;
    }
    if (zeros + used > outsize)
        return FERRY_E_TOO_LARGE;
    memset(out, 0, zeros);
    for (size_t i = 0; i < used; i++)
        out[zeros + i] = bytes[used - 1 - i];
    *outlen = zeros + used;
    return FERRY_OK;
}

size_t ferry_ss58_prefix_encode(uint16_t prefix, uint8_t out[2])
{
    if (prefix < 64) {
        out[0] = (uint8_t)prefix;
        return 1;
    }
    if (prefix > FERRY_SS58_MAX_PREFIX)
        return 0;
    /* First byte: 01 then bits 2..7 of the low byte; second byte: bits 0..1 of the low byte in
     * its top two bits, then the high byte (6 bits). This is Substrate's layout, not a plain
     * big- or little-endian 14-bit number. */
    out[0] = (uint8_t)(0x40 | ((prefix & 0xfc) >> 2));
    out[1] = (uint8_t)((prefix >> 8) | ((prefix & 0x03) << 6));
    return 2;
}

ferry_err ferry_ss58_prefix_decode(const uint8_t *in, size_t len, uint16_t *prefix, size_t *used)
{
    if (len < 1)
        return FERRY_E_TRUNCATED;
    if (in[0] < 64) {
        *prefix = in[0];
        *used = 1;
        return FERRY_OK;
    }
    if (in[0] >= 128)
        return FERRY_E_INVALID;
    if (len < 2)
        return FERRY_E_TRUNCATED;
    unsigned lower = ((unsigned)(in[0] << 2) | (in[1] >> 6)) & 0xff;
    unsigned upper = in[1] & 0x3f;
    unsigned v = lower | (upper << 8);
    if (v < 64)
        return FERRY_E_NONCANONICAL;
    *prefix = (uint16_t)v;
    *used = 2;
    return FERRY_OK;
}

int ferry_ss58_prefix_is_reserved(uint32_t prefix)
{
    return prefix == 46 || prefix == 47 || prefix > FERRY_SS58_MAX_PREFIX;
}

static void ss58_checksum(uint8_t out[2], const uint8_t *data, size_t len)
{
    uint8_t buf[7 + 2 + FERRY_SS58_MAX_PAYLOAD];
    uint8_t h[64];
    memcpy(buf, "SS58PRE", 7);
    memcpy(buf + 7, data, len);
    ferry_blake2b_512(h, buf, 7 + len);
    out[0] = h[0];
    out[1] = h[1];
}

ferry_err ferry_ss58_encode(const uint8_t *payload, size_t len, uint16_t prefix, char *out,
                            size_t outsize)
{
    uint8_t raw[2 + FERRY_SS58_MAX_PAYLOAD + 2];
    if (outsize > 0)
        out[0] = 0;
    if ((len != 32 && len != 33) || ferry_ss58_prefix_is_reserved(prefix))
        return FERRY_E_ARG;
    size_t n = ferry_ss58_prefix_encode(prefix, raw);
    memcpy(raw + n, payload, len);
    n += len;
    ss58_checksum(raw + n, raw, n);
    n += 2;
    return ferry_base58_encode(raw, n, out, outsize);
}

ferry_err ferry_ss58_decode(const char *address, struct ferry_ss58 *out, struct ferry_reason *why)
{
    uint8_t raw[2 + FERRY_SS58_MAX_PAYLOAD + 2];
    size_t n = 0, bad = 0;
    size_t alen = strnlen(address, FERRY_SS58_MAX_LEN + 1);
    memset(out, 0, sizeof *out);
    if (alen == 0)
        return ferry_reason_set(why, FERRY_E_TRUNCATED, "empty address");
    if (alen > FERRY_SS58_MAX_LEN)
        return ferry_reason_set(why, FERRY_E_TOO_LARGE,
                                "address too long (more than %d characters)", FERRY_SS58_MAX_LEN);
    ferry_err err = ferry_base58_decode(address, alen, raw, sizeof raw, &n, &bad);
    if (err == FERRY_E_INVALID) {
        unsigned char c = (unsigned char)address[bad];
        if (c >= 0x20 && c < 0x7f)
            return ferry_reason_set(why, err, "invalid base58 character '%c' at offset %zu", c,
                                    bad);
        return ferry_reason_set(why, err, "invalid base58 byte 0x%02x at offset %zu", c, bad);
    }
    if (err)
        return ferry_reason_set(
            why, FERRY_E_TOO_LARGE,
            "bad length: decodes to more than %zu bytes (expected a 32-byte account id "
            "or a 33-byte ECDSA public key)",
            sizeof raw);
    uint16_t prefix;
    size_t plen;
    err = ferry_ss58_prefix_decode(raw, n, &prefix, &plen);
    if (err == FERRY_E_INVALID)
        return ferry_reason_set(why, err, "invalid prefix: first byte 0x%02x is reserved", raw[0]);
    if (err == FERRY_E_NONCANONICAL)
        return ferry_reason_set(why, err,
                                "invalid prefix: two-byte form 0x%02x%02x encodes a value "
                                "below 64",
                                raw[0], raw[1]);
    if (err)
        return ferry_reason_set(why, err, "bad length: %zu bytes is too short for an address", n);
    size_t body = n >= plen + 2 ? n - plen - 2 : 0;
    if (n < plen + 2 || (body != 32 && body != 33))
        return ferry_reason_set(
            why, body < 32 ? FERRY_E_TRUNCATED : FERRY_E_TOO_LARGE,
            "bad length: %zu payload bytes (expected a 32-byte account id or a 33-byte "
            "ECDSA public key)",
            body);
    uint8_t sum[2];
    ss58_checksum(sum, raw, plen + body);
    if (sum[0] != raw[plen + body] || sum[1] != raw[plen + body + 1])
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "bad checksum (address mistyped or corrupted)");
    if (ferry_ss58_prefix_is_reserved(prefix))
        return ferry_reason_set(why, FERRY_E_UNSUPPORTED, "reserved prefix %u", prefix);
    out->prefix = prefix;
    out->len = body;
    memcpy(out->payload, raw + plen, body);
    return FERRY_OK;
}
