/* ferry rpc — building the params array of a request (see jsonrpc.h): the one way ferry writes
 * params, so hex, numbers, strings and nesting are spelled once. Values are appended to a text
 * buffer that starts inline (no allocation for the usual hash or number) and grows on the heap;
 * a failed allocation is remembered and reported when the text is taken. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/jsonrpc.h"

void ferry_rpc_params_init(struct ferry_rpc_params *p)
{
    p->buf = p->small;
    p->cap = sizeof p->small;
    p->len = 0;
    p->oom = false;
    p->need_comma = false;
    p->depth = 0;
    p->small[0] = '[';
    p->len = 1;
}

void ferry_rpc_params_free(struct ferry_rpc_params *p)
{
    if (p->buf != p->small)
        free(p->buf);
    p->buf = p->small;
    p->cap = sizeof p->small;
    p->len = 0;
}

/* Make room for n more bytes plus the closing brackets and NUL. */
static bool reserve(struct ferry_rpc_params *p, size_t n)
{
    if (p->oom)
        return false;
    size_t need = p->len + n + p->depth + 3;
    if (need <= p->cap)
        return true;
    size_t cap = p->cap * 2;
    while (cap < need)
        cap *= 2;
    char *nb = p->buf == p->small ? malloc(cap) : realloc(p->buf, cap);
    if (!nb) {
        p->oom = true;
        return false;
    }
    if (p->buf == p->small)
        memcpy(nb, p->small, p->len);
    p->buf = nb;
    p->cap = cap;
    return true;
}

/* Start a value: the comma that separates it from the previous one. */
static bool value_start(struct ferry_rpc_params *p, size_t n)
{
    if (!reserve(p, n + 1))
        return false;
    if (p->need_comma)
        p->buf[p->len++] = ',';
    p->need_comma = true;
    return true;
}

void ferry_rpc_params_raw(struct ferry_rpc_params *p, const char *json)
{
    size_t n = strlen(json);
    if (!value_start(p, n))
        return;
    memcpy(p->buf + p->len, json, n);
    p->len += n;
}

void ferry_rpc_params_null(struct ferry_rpc_params *p)
{
    ferry_rpc_params_raw(p, "null");
}

void ferry_rpc_params_u64(struct ferry_rpc_params *p, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, v);
    ferry_rpc_params_raw(p, num);
}

void ferry_rpc_params_hex(struct ferry_rpc_params *p, const uint8_t *bytes, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    if (len > (SIZE_MAX - 8) / 2) {
        p->oom = true;
        return;
    }
    if (!value_start(p, 2 * len + 4))
        return;
    char *o = p->buf + p->len;
    *o++ = '"';
    *o++ = '0';
    *o++ = 'x';
    for (size_t i = 0; i < len; i++) {
        *o++ = digits[bytes[i] >> 4];
        *o++ = digits[bytes[i] & 15];
    }
    *o++ = '"';
    p->len = (size_t)(o - p->buf);
}

void ferry_rpc_params_string(struct ferry_rpc_params *p, const char *s)
{
    size_t n = strlen(s);
    if (n > (SIZE_MAX - 8) / 6) {
        p->oom = true;
        return;
    }
    if (!value_start(p, 6 * n + 2))
        return;
    char *o = p->buf + p->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            *o++ = '\\';
            *o++ = (char)ch;
        } else if (ch < 0x20) {
            o += sprintf(o, "\\u%04x", ch);
        } else {
            *o++ = (char)ch;
        }
    }
    *o++ = '"';
    p->len = (size_t)(o - p->buf);
}

void ferry_rpc_params_array_begin(struct ferry_rpc_params *p)
{
    if (!value_start(p, 1))
        return;
    p->buf[p->len++] = '[';
    p->depth++;
    p->need_comma = false;
}

void ferry_rpc_params_array_end(struct ferry_rpc_params *p)
{
    if (p->oom || p->depth == 0)
        return;
    p->buf[p->len++] = ']'; /* reserve() kept room for every open bracket */
    p->depth--;
    p->need_comma = true;
}

const char *ferry_rpc_params_text(struct ferry_rpc_params *p)
{
    if (p->oom)
        return NULL;
    while (p->depth)
        ferry_rpc_params_array_end(p);
    p->buf[p->len] = ']';
    p->buf[p->len + 1] = '\0';
    return p->buf;
}
