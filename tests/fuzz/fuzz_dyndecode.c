/* Fuzz target: the registry-driven decoder (and encoder, and System.Events) over one fixed,
 * real metadata — substrate-contracts-node V14 from tests/unit/fixtures/metadata (override the
 * path with FERRY_MD_FIXTURE). Input = 4-byte little-endian type selector (taken modulo the
 * type count; 0xffffffff selects System.Events) ‖ the value bytes. A value that decodes must
 * re-encode from its JSON without crashing, and when it re-encodes, decoding the result must
 * give the same JSON (the encoder is the decoder's inverse on its own output). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/metadata.h"
#include "ferry/scale.h"
#include "ferry/dyncodec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ferry_metadata *md;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("FERRY_MD_FIXTURE");
    if (!path)
        path = "tests/unit/fixtures/metadata/contracts-node-v14.scale";
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr,
                "fuzz_dyndecode: cannot open %s (run from the repository root or set "
                "FERRY_MD_FIXTURE)\n",
                path);
        exit(1);
    }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    struct ferry_reason why_r = {""};
    char *why = why_r.text;
    if (ferry_metadata_parse(buf, n, &md, &why_r) != FERRY_OK) {
        fprintf(stderr, "fuzz_dyndecode: %s: %s\n", path, why);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint32_t sel = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                   (uint32_t)data[3] << 24;
    data += 4;
    size -= 4;
    cJSON *j;
    if (sel == UINT32_MAX) {
        if (ferry_metadata_decode_events(md, data, size, &j, NULL) == FERRY_OK)
            cJSON_Delete(j);
        return 0;
    }
    uint32_t type = (uint32_t)(sel % ferry_md_type_count(md));
    if (ferry_md_decode(md, type, data, size, &j, NULL) != FERRY_OK)
        return 0;
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    if (ferry_md_encode(md, type, j, &w, NULL) == FERRY_OK) {
        cJSON *again;
        if (ferry_md_decode(md, type, w.buf, w.len, &again, NULL) != FERRY_OK)
            abort();
        /* compare the printed forms: cJSON_Compare walks each object twice per level, which is
         * exponential in the nesting (Sudo.sudo(Sudo.sudo(…)) took seconds per input) */
        char *a = cJSON_PrintUnformatted(j), *b = cJSON_PrintUnformatted(again);
        if (!a || !b || strcmp(a, b) != 0)
            abort();
        free(a);
        free(b);
        cJSON_Delete(again);
    }
    ferry_scale_writer_free(&w);
    cJSON_Delete(j);
    return 0;
}
