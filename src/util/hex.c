/* Hex encoding and decoding for the "0x…" strings that JSON-RPC and the CLI use. */
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"

/* Digit values by character, -1 for anything else. A table instead of branches: hex decoding
 * of RPC answers is a measurable share of catch-up time. */
static const signed char digit_value[256] = {
    ['0'] = 0,  ['1'] = 1,  ['2'] = 2,  ['3'] = 3,  ['4'] = 4,  ['5'] = 5,  ['6'] = 6,  ['7'] = 7,
    ['8'] = 8,  ['9'] = 9,  ['a'] = 10, ['b'] = 11, ['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15,
    ['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15,
};
static const unsigned char digit_valid[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
};

static ferry_err decode_into(const char *s, size_t slen, uint8_t *out)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned bad = 0;
    for (size_t i = 0; i < slen / 2; i++) {
        unsigned char hi = u[2 * i], lo = u[2 * i + 1];
        bad |= (unsigned)(digit_valid[hi] & digit_valid[lo]) ^ 1u;
        out[i] = (uint8_t)(digit_value[hi] << 4 | digit_value[lo]);
    }
    return bad ? FERRY_E_HEX : FERRY_OK;
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
