/* Fuzz target: the SCALE primitives. The first byte selects a sequence of reads, so every
 * reader (fixed ints, compacts of each width, bool, option, vec lengths, strings, enums) runs on
 * arbitrary bytes; a decoded compact is re-encoded and must round-trip exactly. */
#include <stdlib.h>
#include <string.h>

#include "ferry/scale.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip_compact(const uint8_t *start, size_t len, struct ferry_u128 v)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_compact_u128(&w, v);
    if (w.len != len || memcmp(w.buf, start, len) != 0)
        abort(); /* canonical decoding means re-encoding gives the same bytes */
    ferry_scale_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, data + 1, size - 1);
    uint8_t plan = data[0];
    for (int step = 0; step < 64 && !r.err && ferry_scale_remaining(&r) > 0; step++) {
        size_t before = r.pos;
        switch ((plan + step) % 12) {
        case 0: {
            struct ferry_u128 v;
            if (ferry_scale_compact_u128(&r, &v) == FERRY_OK)
                roundtrip_compact(r.base + before, r.pos - before, v);
            break;
        }
        case 1: {
            uint32_t v;
            ferry_scale_compact_u32(&r, &v);
            break;
        }
        case 2: {
            uint64_t v;
            ferry_scale_compact_u64(&r, &v);
            break;
        }
        case 3: {
            uint8_t v;
            ferry_scale_compact_u8(&r, &v);
            break;
        }
        case 4: {
            size_t n;
            ferry_scale_vec_len(&r, 1 + (plan & 63), &n);
            if (!r.err && n * (1 + (size_t)(plan & 63)) > ferry_scale_remaining(&r))
                abort(); /* the length check must bound the allocation */
            break;
        }
        case 5: {
            const uint8_t *p;
            size_t n;
            ferry_scale_string(&r, &p, &n);
            break;
        }
        case 6: {
            bool b;
            ferry_scale_bool(&r, &b);
            break;
        }
        case 7: {
            bool present;
            ferry_scale_option(&r, &present);
            break;
        }
        case 8: {
            static const uint8_t allowed[] = {0, 3, 15};
            uint8_t idx;
            ferry_scale_enum(&r, allowed, 3, &idx);
            break;
        }
        case 9: {
            struct ferry_u128 v;
            ferry_scale_u128(&r, &v);
            break;
        }
        case 10: {
            const uint8_t *p;
            size_t n;
            ferry_scale_byte_vec(&r, &p, &n);
            break;
        }
        default: {
            uint64_t v;
            ferry_scale_u64(&r, &v);
            break;
        }
        }
        if (r.pos > r.len)
            abort();
    }
    return 0;
}
