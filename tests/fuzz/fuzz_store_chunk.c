/* Fuzz target: the store's relay chunk decoder and its header-log reference decoder (a row read
 * back from disk, treated as hostile). The first 4 bytes are the chunk key. A decoded chunk's
 * entries must lie inside the blob, in increasing number order within the key's 64 numbers; a
 * decoded reference has a length within the log's limit; a refusal must carry a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint32_t key = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                   (uint32_t)data[3] << 24;
    const uint8_t *blob = data + 4;
    size_t len = size - 4;
    struct ferry_store_chunk_ref ref;
    struct ferry_reason rwhy = {""};
    if (ferry_store_chunk_ref_decode(blob, len, &ref, &rwhy) == FERRY_OK) {
        if (len != FERRY_STORE_CHUNK_REF_LEN || ref.len == 0 ||
            ref.len > FERRY_STORE_LOG_CHUNK_MAX || ref.off > (uint64_t)INT64_MAX - ref.len)
            abort();
    } else if (rwhy.text[0] == 0) {
        abort();
    }
    struct ferry_store_chunk_entry e[FERRY_STORE_CHUNK_HEADERS];
    size_t count = 99;
    struct ferry_reason why = {""};
    if (ferry_store_chunk_decode(key, blob, len, e, &count, &why) != FERRY_OK) {
        if (why.text[0] == 0 || count != 0)
            abort();
        return 0;
    }
    if (count == 0 || count > FERRY_STORE_CHUNK_HEADERS)
        abort();
    for (size_t i = 0; i < count; i++) {
        if (e[i].number / FERRY_STORE_CHUNK_HEADERS != key || (i && e[i].number <= e[i - 1].number))
            abort();
        if (e[i].hash < blob || e[i].hash + 32 > blob + len || e[i].header < blob ||
            e[i].header_len > (size_t)(blob + len - e[i].header))
            abort();
    }
    return 0;
}
