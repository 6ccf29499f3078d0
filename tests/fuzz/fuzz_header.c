/* Fuzz target: the header decoder and digest interpretation. A header that decodes must
 * re-encode to the same bytes, and rendering its JSON (which decodes every known digest
 * payload) must not crash. The same bytes are also tried as chain_getHeader JSON. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/digest.h"
#include "ferry/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_header h;
    if (ferry_header_decode(&h, data, size, NULL) == FERRY_OK) {
        struct ferry_scale_writer w;
        ferry_scale_writer_init(&w);
        ferry_header_encode(&h, &w);
        if (w.len != size || memcmp(w.buf, data, size) != 0)
            abort();
        ferry_scale_writer_free(&w);
        cJSON_Delete(ferry_header_json(&h));
        ferry_header_free(&h);
    }
    if (size > 0 && size < 65536 && data[0] == '{') {
        char *text = malloc(size + 1);
        memcpy(text, data, size);
        text[size] = 0;
        uint8_t *out;
        size_t len;
        if (ferry_header_json_to_scale(text, &out, &len, NULL) == FERRY_OK)
            free(out);
        free(text);
    }
    return 0;
}
