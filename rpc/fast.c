/* ferry rpc — answers whose result is one long hex string (grandpa_proveFinality,
 * state_getMetadata, state_getStorage), decoded in place in the receive buffer as they arrive:
 * no cJSON tree, no copy of the string, and half the bytes held while the rest comes in.
 *
 * The recogniser is strict and falls back to the cJSON path for anything it is not sure of: a
 * message is taken only when it is exactly one object with the members "jsonrpc":"2.0", "id"
 * (a decimal integer below 10^15, no sign, fraction or exponent) and "result" (a string "0x"
 * followed by an even number of lowercase hex digits), each once, in any order, separated by
 * JSON whitespace, with nothing but whitespace after it. cJSON parses every such message to
 * the same id and string, so the fast path gives what the cJSON path gives; every other message
 * (escapes, duplicate keys, an "error", uppercase digits, trailing text, ...) is restored to its
 * exact original text and parsed by cJSON as before.
 *
 * Layout of the buffer while a hex answer comes in (physical offsets):
 *
 *     [0, dec_at)                text as received: the prefix and the first hex digits, so the
 *                                first RPC_OVERSIZE_HEAD bytes stay text (over-limit handling
 *                                reads them to find the id)
 *     [dec_at, dec_at + n_dec)   bytes decoded from the digits that followed
 *     [pend, len)                text not decoded yet (at least the last RPC_OVERSIZE_TAIL bytes,
 *                                read by over-limit handling too)
 *
 * with pend = dec_at + n_dec after every feed: the logical (received) length is len + n_dec. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "rpc/client.h"

enum { RXH_START = 0, RXH_HEX, RXH_AFTER, RXH_TEXT, RXH_BROKEN };

/* A prefix longer than this is not the short envelope of a hex answer. */
#define PREFIX_MAX 256

#define K_JSONRPC 1u
#define K_ID      2u
#define K_RESULT  4u

/* 0..15 for a lowercase hex digit, X (0xff) otherwise */
#define X 0xff
/* clang-format off */
static const uint8_t hexval[256] = {
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
/* clang-format on */
#undef X

void rpc_rx_hex_reset(struct rpc_rx_hex *h)
{
    memset(h, 0, sizeof *h);
}

size_t rpc_rx_hex_logical(const struct rpc_rx_hex *h, size_t len)
{
    return len + h->n_dec;
}

static bool is_ws(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* A tiny cursor over text[0..len): `more` is set when the text ended before a decision. */
struct cur {
    const unsigned char *p;
    size_t i, len;
    bool more;
};

static void skip_ws(struct cur *c)
{
    while (c->i < c->len && is_ws(c->p[c->i]))
        c->i++;
}

static bool lit(struct cur *c, const char *s)
{
    size_t n = strlen(s);
    size_t have = c->len - c->i < n ? c->len - c->i : n;
    if (memcmp(c->p + c->i, s, have) != 0)
        return false;
    if (have < n) {
        c->more = true;
        return false;
    }
    c->i += n;
    return true;
}

/* One of the known keys, with its colon: returns its K_ bit, 0 when not one (or more needed). */
static unsigned key(struct cur *c)
{
    static const struct {
        const char *text;
        unsigned bit;
    } keys[] = {{"\"jsonrpc\"", K_JSONRPC}, {"\"id\"", K_ID}, {"\"result\"", K_RESULT}};
    for (size_t k = 0; k < 3; k++) {
        struct cur t = *c;
        if (lit(&t, keys[k].text)) {
            skip_ws(&t);
            if (!lit(&t, ":")) {
                c->more = t.more;
                return 0;
            }
            skip_ws(&t);
            *c = t;
            return keys[k].bit;
        }
        if (t.more) {
            c->more = true;
            return 0;
        }
    }
    return 0;
}

/* The id: 0 or [1-9][0-9]{0,14} followed by a delimiter (so no fraction or exponent). */
static bool id_number(struct cur *c, uint64_t *id)
{
    size_t start = c->i;
    uint64_t v = 0;
    while (c->i < c->len && c->p[c->i] >= '0' && c->p[c->i] <= '9') {
        if (c->i - start == 15)
            return false;
        v = v * 10 + (uint64_t)(c->p[c->i] - '0');
        c->i++;
    }
    size_t n = c->i - start;
    if (c->i == c->len) {
        c->more = true;
        return false;
    }
    if (n == 0 || (n > 1 && c->p[start] == '0'))
        return false;
    unsigned char d = c->p[c->i];
    if (!is_ws(d) && d != ',' && d != '}')
        return false;
    *id = v;
    return true;
}

/* The value of a non-result member; records it in h. */
static bool member_value(struct cur *c, unsigned bit, struct rpc_rx_hex *h)
{
    if (bit == K_JSONRPC)
        return lit(c, "\"2.0\"");
    return id_number(c, &h->id);
}

/* Match the envelope up to the first hex digit of the result. Returns 1 matched (h->hex_at,
 * h->keys, h->id set), 0 not a hex answer, -1 more text needed. */
static int match_prefix(struct rpc_rx_hex *h, const unsigned char *buf, size_t len)
{
    struct cur c = {buf, 0, len, false};
    unsigned seen = 0;
    skip_ws(&c);
    if (!lit(&c, "{"))
        return c.more ? -1 : 0;
    for (;;) {
        skip_ws(&c);
        unsigned bit = key(&c);
        if (!bit || (seen & bit))
            return c.more ? -1 : 0;
        seen |= bit;
        if (bit == K_RESULT) {
            if (!lit(&c, "\"0x"))
                return c.more ? -1 : 0;
            h->hex_at = c.i;
            h->keys = seen;
            return 1;
        }
        if (!member_value(&c, bit, h))
            return c.more ? -1 : 0;
        skip_ws(&c);
        if (!lit(&c, ","))
            return c.more ? -1 : 0;
    }
}

/* After the closing quote: the members left, "}" and whitespace to the end. */
static bool match_suffix(struct rpc_rx_hex *h, const unsigned char *buf, size_t len)
{
    struct cur c = {buf, 0, len, false};
    unsigned seen = h->keys;
    for (;;) {
        skip_ws(&c);
        if (lit(&c, "}"))
            break;
        if (!lit(&c, ","))
            return false;
        skip_ws(&c);
        unsigned bit = key(&c);
        if (!bit || (seen & bit) || bit == K_RESULT || !member_value(&c, bit, h))
            return false;
        seen |= bit;
    }
    skip_ws(&c);
    return c.i == c.len && seen == (K_JSONRPC | K_ID | K_RESULT);
}

/* Decode whole digit pairs of buf[pend..stop) into buf[dec_at + n_dec..]; stops at the first
 * pair that is not two lowercase digits. Returns: the offset where decoding stopped. */
#ifdef __SSE2__
/* Decode 16 digits at in[0..16) into 8 bytes at out when all are lowercase hex digits.
 * out may be in[0]: the 16 bytes are read before the 8 are written. Returns: false (nothing
 * written) when any is not a digit. */
static bool decode16(const unsigned char *in, unsigned char *out)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)in);
    /* signed byte compares: bytes >= 0x80 are negative, so neither a digit nor a letter */
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                  _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                                   _mm_cmplt_epi8(v, _mm_set1_epi8('f' + 1)));
    if (_mm_movemask_epi8(_mm_or_si128(digit, letter)) != 0xffff)
        return false;
    /* nibble: c - '0' for a digit, c - 'a' + 10 = c - '0' - 39 for a letter */
    __m128i nib =
        _mm_sub_epi8(_mm_sub_epi8(v, _mm_set1_epi8('0')), _mm_and_si128(letter, _mm_set1_epi8(39)));
    /* each 16-bit lane holds (high digit, low digit) as (low byte, high byte) */
    __m128i pair = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(nib, _mm_set1_epi16(0x00ff)), 4),
                                _mm_srli_epi16(nib, 8));
    _mm_storel_epi64((__m128i *)(void *)out, _mm_packus_epi16(pair, pair));
    return true;
}
#endif

static size_t decode_pairs(struct rpc_rx_hex *h, unsigned char *buf, size_t stop)
{
    size_t i = h->pend;
    unsigned char *out = buf + h->dec_at + h->n_dec;
    size_t n = 0;
#ifdef __SSE2__
    /* out + n <= buf + i throughout: the output never overtakes the digits still to read */
    while (i + 16 <= stop && decode16(buf + i, out + n)) {
        n += 8;
        i += 16;
    }
#endif
    while (i + 2 <= stop) {
        uint8_t hi = hexval[buf[i]], lo = hexval[buf[i + 1]];
        if ((hi | lo) & 0xf0)
            break;
        out[n++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    h->n_dec += n;
    return i;
}

/* Close the gap between the decoded bytes and the text still to come. */
static void compact(struct rpc_rx_hex *h, unsigned char *buf, size_t *len, size_t next)
{
    size_t to = h->dec_at + h->n_dec;
    if (next > to) {
        memmove(buf + to, buf + next, *len - next);
        *len -= next - to;
    }
    h->pend = to;
}

void rpc_rx_hex_feed(struct rpc_rx_hex *h, unsigned char *buf, size_t *len)
{
    if (h->state == RXH_START) {
        int m = match_prefix(h, buf, *len);
        if (m < 0 && *len <= PREFIX_MAX)
            return;
        if (m <= 0) {
            h->state = RXH_TEXT;
            return;
        }
        h->state = RXH_HEX;
        /* the first RPC_OVERSIZE_HEAD bytes stay text; decoding starts a whole pair later */
        h->dec_at = h->hex_at;
        if (h->dec_at < RPC_OVERSIZE_HEAD)
            h->dec_at += (RPC_OVERSIZE_HEAD - h->hex_at + 1) / 2 * 2;
        h->pend = h->dec_at;
    }
    if (h->state != RXH_HEX || *len < h->pend + RPC_OVERSIZE_TAIL + 2)
        return;
    /* the head digits must be digits too, or this is not an answer to decode */
    for (; h->head_ok < h->dec_at - h->hex_at; h->head_ok++) {
        if (hexval[buf[h->hex_at + h->head_ok]] == 0xff) {
            h->state = RXH_TEXT; /* nothing decoded yet: the buffer is still the text */
            return;
        }
    }
    size_t next = decode_pairs(h, buf, *len - RPC_OVERSIZE_TAIL);
    if (next + 2 + RPC_OVERSIZE_TAIL <= *len) {
        /* stopped before the window: the closing quote (a pair boundary) or not hex at all */
        if (buf[next] == '"')
            h->state = RXH_AFTER; /* h->quote is set once compacted */
        else {
            h->state = RXH_BROKEN;
        }
    }
    compact(h, buf, len, next);
    if (h->state == RXH_AFTER)
        h->quote = h->pend;
}

enum rpc_rx_kind rpc_rx_hex_check(struct rpc_rx_hex *h, const unsigned char *buf, size_t len,
                                  uint64_t *id)
{
    if (h->state == RXH_START) {
        /* a short message: the envelope may be all there is */
        if (match_prefix(h, buf, len) != 1)
            return RPC_RX_PLAIN;
        h->state = RXH_HEX;
    }
    if (h->state == RXH_TEXT)
        return RPC_RX_PLAIN;
    if (h->state == RXH_BROKEN)
        return RPC_RX_RESTORE;
    if (h->state == RXH_HEX) {
        if (!h->n_dec) /* nothing decoded: the buffer is the text, the digits start at hex_at */
            h->dec_at = h->pend = h->hex_at;
        size_t i = h->pend;
        while (i + 2 <= len && !((hexval[buf[i]] | hexval[buf[i + 1]]) & 0xf0))
            i += 2;
        if (i >= len || buf[i] != '"')
            return h->n_dec ? RPC_RX_RESTORE : RPC_RX_PLAIN;
        h->state = RXH_AFTER;
        h->quote = i;
    }
    if (!match_suffix(h, buf + h->quote + 1, len - h->quote - 1))
        return h->n_dec ? RPC_RX_RESTORE : RPC_RX_PLAIN;
    *id = h->id;
    return RPC_RX_FAST;
}

static void decode_run(unsigned char *dst, const unsigned char *src, size_t n_bytes)
{
    for (size_t k = 0; k < n_bytes; k++)
        dst[k] = (uint8_t)(hexval[src[2 * k]] << 4 | hexval[src[2 * k + 1]]);
}

size_t rpc_rx_hex_bytes(struct rpc_rx_hex *h, unsigned char *buf, size_t len)
{
    (void)len;
    size_t head = (h->dec_at - h->hex_at) / 2;
    size_t tail = (h->quote - h->pend) / 2;
    /* every write lands at or before what it reads: forward in place is safe */
    decode_run(buf, buf + h->hex_at, head);
    memmove(buf + head, buf + h->dec_at, h->n_dec);
    decode_run(buf + head + h->n_dec, buf + h->pend, tail);
    h->state = RXH_TEXT;
    return head + h->n_dec + tail;
}

char *rpc_rx_hex_restore(const struct rpc_rx_hex *h, const unsigned char *buf, size_t len,
                         size_t *out_len)
{
    static const char digits[] = "0123456789abcdef";
    size_t total = len + h->n_dec;
    char *t = malloc(total + 1);
    if (!t)
        return NULL;
    memcpy(t, buf, h->dec_at);
    char *o = t + h->dec_at;
    for (size_t k = 0; k < h->n_dec; k++) {
        *o++ = digits[buf[h->dec_at + k] >> 4];
        *o++ = digits[buf[h->dec_at + k] & 15];
    }
    memcpy(o, buf + h->pend, len - h->pend);
    t[total] = 0;
    *out_len = total;
    return t;
}
