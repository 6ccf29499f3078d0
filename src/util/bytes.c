/* ferry — the growable byte buffer (include/ferry/bytes.h). */
#include <stdlib.h>
#include <string.h>

#include "ferry/bytes.h"

ferry_err ferry_buf_append(struct ferry_buf *b, const void *data, size_t n)
{
    if (n > SIZE_MAX - 1 - b->len)
        return FERRY_E_NOMEM;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2)
                return FERRY_E_NOMEM;
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return FERRY_E_NOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
    return FERRY_OK;
}
