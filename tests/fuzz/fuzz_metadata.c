/* Fuzz target: the metadata parser. Whatever parses must answer every lookup and summary without
 * reading outside the registry (ids were validated at parse time), decoding each constant and
 * storage default through the dynamic decoder must not crash, and deriving the extrinsic format
 * (signed extensions checked against the registry) must finish and, when it succeeds, encode. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/extrinsic.h"
#include "ferry/metadata.h"
#include "ferry/scale.h"
#include "ferry/dyncodec.h"
#include "src/cli/md_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void poke(const struct ferry_metadata *md)
{
    cJSON_Delete(cli_md_summary_json(md));
    char name[256];
    for (size_t i = 0; i < ferry_md_type_count(md); i++)
        ferry_md_type_name(md, (uint32_t)i, name, sizeof name);
    for (size_t i = 0; i < ferry_md_pallet_count(md); i++) {
        const struct ferry_md_pallet *p = ferry_md_pallet_at(md, i);
        cJSON_Delete(cli_md_calls_json(md, p));
        cJSON_Delete(cli_md_storage_json(md, p));
        if (ferry_md_pallet_by_index(md, p->index) != p)
            abort();
        for (size_t k = 0; k < p->n_constants; k++) {
            const struct ferry_md_constant *c = &p->constants[k];
            cJSON *j;
            if (ferry_md_decode(md, c->type, c->value, c->value_len, &j, NULL) == FERRY_OK) {
                struct ferry_scale_writer w;
                ferry_scale_writer_init(&w);
                (void)ferry_md_encode(md, c->type, j, &w, NULL);
                ferry_scale_writer_free(&w);
                cJSON_Delete(j);
            }
        }
        for (size_t k = 0; k < p->n_storage; k++) {
            const struct ferry_md_storage *s = &p->storage[k];
            cJSON *j;
            if (ferry_md_decode(md, s->value_type, s->default_value, s->default_len, &j, NULL) ==
                FERRY_OK)
                cJSON_Delete(j);
        }
    }
    struct ferry_xt_format f;
    struct ferry_reason why_r = {""};
    char *why = why_r.text;
    if (ferry_xt_format_from_metadata(md, &f, &why_r) == FERRY_OK) {
        struct ferry_xt_params params;
        memset(&params, 0, sizeof params);
        ferry_era_mortal(64, 1000, &params.era);
        struct ferry_scale_writer extra, additional;
        ferry_scale_writer_init(&extra);
        ferry_scale_writer_init(&additional);
        (void)ferry_xt_encode_extensions(&f, &params, &extra, &additional);
        ferry_scale_writer_free(&extra);
        ferry_scale_writer_free(&additional);
    } else if (why[0] == 0) {
        abort(); /* a refusal must say why */
    }
    uint32_t ev;
    (void)ferry_md_event_enum_type(md, &ev);
    cJSON *events;
    static const uint8_t empty[1] = {0};
    if (ferry_metadata_decode_events(md, empty, 1, &events, NULL) == FERRY_OK)
        cJSON_Delete(events);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_metadata *md;
    struct ferry_reason why_r = {""};
    char *why = why_r.text;
    if (ferry_metadata_parse(data, size, &md, &why_r) == FERRY_OK) {
        poke(md);
        ferry_metadata_free(md);
    } else if (md != NULL || why[0] == 0) {
        abort(); /* a failure must leave no object and give a reason */
    }
    return 0;
}
