/* Fuzz target: SS58 decoding of arbitrary strings (NUL bytes included, so truncation at the
 * first NUL is exercised too). A decoded address must re-encode to exactly the input text, and
 * arbitrary bytes must survive a Base58 round trip. */
#include <stdlib.h>
#include <string.h>

#include "ferry/ss58.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;

    struct ferry_ss58 d;
    struct ferry_reason why = {""};
    if (ferry_ss58_decode(text, &d, &why) == FERRY_OK) {
        char again[FERRY_SS58_MAX_LEN];
        if (ferry_ss58_encode(d.payload, d.len, d.prefix, again, sizeof again) != FERRY_OK ||
            strcmp(again, text) != 0)
            abort(); /* decoding is canonical: one address per (prefix, payload) */
    } else if (why.text[0] == 0) {
        abort(); /* every rejection carries a reason */
    }

    if (size <= 64) {
        char b58[96];
        uint8_t back[64];
        size_t n;
        if (ferry_base58_encode(data, size, b58, sizeof b58) != FERRY_OK)
            abort();
        if (ferry_base58_decode(b58, strlen(b58), back, sizeof back, &n, NULL) != FERRY_OK ||
            n != size || memcmp(back, data, size) != 0)
            abort();
    }
    free(text);
    return 0;
}
