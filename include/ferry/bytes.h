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

struct ferry_bytes {
    uint8_t *p;
    size_t len;
};

#endif
