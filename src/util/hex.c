/* Hex encoding and decoding for the "0x…" strings that JSON-RPC and the CLI use. */
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static ferry_err decode_into(const char *s, size_t slen, uint8_t *out)
{
    for (size_t i = 0; i < slen / 2; i++) {
        int hi = nibble(s[2 * i]);
        int lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return FERRY_E_HEX;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return FERRY_OK;
}

static void strip_prefix(const char **s, size_t *slen)
{
    if (*slen >= 2 && (*s)[0] == '0' && ((*s)[1] == 'x' || (*s)[1] == 'X')) {
        *s += 2;
        *slen -= 2;
    }
}

ferry_err ferry_hex_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    strip_prefix(&s, &slen);
    if (slen % 2)
        return FERRY_E_HEX;
    uint8_t *buf = malloc(slen / 2 ? slen / 2 : 1);
    if (!buf)
        return FERRY_E_NOMEM;
    if (decode_into(s, slen, buf)) {
        free(buf);
        return FERRY_E_HEX;
    }
    *out = buf;
    *outlen = slen / 2;
    return FERRY_OK;
}

ferry_err ferry_hex_decode_exact(const char *s, uint8_t *out, size_t n)
{
    size_t slen = strlen(s);
    strip_prefix(&s, &slen);
    if (slen != 2 * n)
        return FERRY_E_HEX;
    return decode_into(s, slen, out);
}

char *ferry_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[2 + 2 * i] = digits[in[i] >> 4];
        out[3 + 2 * i] = digits[in[i] & 15];
    }
    out[2 + 2 * len] = 0;
    return out;
}

char *ferry_hex_alloc(const uint8_t *in, size_t len)
{
    char *out = malloc(2 * len + 3);
    if (!out)
        return NULL;
    return ferry_hex_encode(in, len, out);
}
