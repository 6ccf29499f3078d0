/* ferry — a byte string: the one definition shared by every module (util).
 *
 * p points at len bytes; who owns them is the holder's to say: a struct ferry_bytes_list
 * (rpc.h) owns its items and frees them, a decoded collateral (attest.h) and a list of storage
 * keys passed to a read are views into the caller's buffers and are never written through.
 */
#ifndef FERRY_BYTES_H
#define FERRY_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

struct ferry_bytes {
    uint8_t *p;
    size_t len;
};

/* A growable byte buffer (e.g. an HTTP response being received): p holds len bytes and, once
 * anything was appended, a NUL after them (so a text body can be read as a C string); cap is
 * the allocated size. Start from {0}; the holder frees p.
 */
struct ferry_buf {
    uint8_t *p;
    size_t len, cap;
};

/* Append n bytes to a buffer, growing it (doubling) as needed.
 * In:  b      a buffer (from {0} or earlier appends)
 *      data   n bytes (may be NULL when n is 0)
 * Returns: FERRY_OK; FERRY_E_NOMEM when it cannot grow (b is left as it was).
 */
ferry_err ferry_buf_append(struct ferry_buf *b, const void *data, size_t n);

#endif
