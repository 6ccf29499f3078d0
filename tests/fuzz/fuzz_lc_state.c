/* Fuzz target: restoring a light-client state (ferry_lc_decode) from hostile bytes.
 *
 * The state ends in a blake2b-256 of everything before it, so random bytes almost never get past
 * the digest. Each input is therefore tried twice: as given, and resealed (input ‖ its digest),
 * which sends the fuzzer's bytes into the structural decoder and the consistency checks. A state
 * that decodes must encode back to exactly the bytes it came from and answer its accessors. */
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/lc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const uint8_t *buf, size_t len)
{
    struct ferry_lc *lc = (struct ferry_lc *)1;
    struct ferry_reason why;
    ferry_err err = ferry_lc_decode(&lc, buf, len, &why);
    if (err) {
        if (lc)
            abort(); /* a refusal hands back nothing */
        if (!memchr(why.text, 0, sizeof why.text))
            abort();
        return;
    }
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_lc_encode(lc, &w);
    if (!ferry_scale_writer_error(&w) && (w.len != len || memcmp(w.buf, buf, len) != 0))
        abort(); /* decode/encode must round-trip byte for byte */
    ferry_scale_writer_free(&w);
    struct ferry_lc_status st;
    ferry_lc_status(lc, &st);
    uint8_t root[32], hash[32];
    if (ferry_lc_state_root(lc, FERRY_LC_RELAY, st.number, root, hash) != FERRY_OK ||
        memcmp(hash, st.hash, 32) != 0 || memcmp(root, st.state_root, 32) != 0)
        abort(); /* the head's root is always retained */
    if (st.has_para && ferry_lc_state_root(lc, FERRY_LC_PARA, st.para_number, root, hash) != 0)
        abort();
    if (ferry_lc_authority_set(lc)->n_authorities == 0)
        abort();
    ferry_lc_forget_below(lc, st.number, st.para_number);
    if (ferry_lc_state_root(lc, FERRY_LC_RELAY, st.number, root, hash) != FERRY_OK)
        abort();
    ferry_lc_free(lc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    exercise(data, size);
    uint8_t *sealed = malloc(size + 32);
    if (!sealed)
        return 0;
    if (size)
        memcpy(sealed, data, size);
    ferry_blake2b_256(sealed + size, data, size);
    exercise(sealed, size + 32);
    free(sealed);
    return 0;
}
