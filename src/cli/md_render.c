/* JSON summaries of runtime metadata for `ferry metadata` (see md_render.h). Rendering for the
 * CLI's output only: the library's metadata module parses and looks up, it does not format. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "ferry/metadata.h"
#include "src/cli/md_render.h"

static size_t n_variants_of(const struct ferry_metadata *md, bool has, uint32_t type)
{
    return has ? ferry_md_type(md, type)->n_variants : 0;
}

cJSON *cli_md_summary_json(const struct ferry_metadata *md)
{
    const struct ferry_md_extrinsic *x = ferry_md_extrinsic(md);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "version", ferry_metadata_version(md));
    cJSON_AddNumberToObject(o, "types", (double)ferry_md_type_count(md));
    cJSON_AddNumberToObject(o, "extrinsic_version", x->version);
    cJSON *exts = cJSON_AddArrayToObject(o, "signed_extensions");
    for (size_t i = 0; i < x->n_signed_ext; i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "identifier", x->signed_ext[i].identifier);
        cJSON_AddNumberToObject(s, "type", x->signed_ext[i].type);
        cJSON_AddNumberToObject(s, "additional_signed", x->signed_ext[i].additional_signed);
        cJSON_AddItemToArray(exts, s);
    }
    cJSON *pallets = cJSON_AddArrayToObject(o, "pallets");
    for (size_t i = 0; i < ferry_md_pallet_count(md); i++) {
        const struct ferry_md_pallet *p = ferry_md_pallet_at(md, i);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", p->name);
        cJSON_AddNumberToObject(j, "index", p->index);
        cJSON_AddNumberToObject(j, "calls", (double)n_variants_of(md, p->has_calls, p->calls_type));
        cJSON_AddNumberToObject(j, "events",
                                (double)n_variants_of(md, p->has_events, p->events_type));
        cJSON_AddNumberToObject(j, "errors",
                                (double)n_variants_of(md, p->has_errors, p->errors_type));
        cJSON_AddNumberToObject(j, "storage", (double)p->n_storage);
        cJSON_AddNumberToObject(j, "constants", (double)p->n_constants);
        cJSON_AddItemToArray(pallets, j);
    }
    return o;
}

cJSON *cli_md_calls_json(const struct ferry_metadata *md, const struct ferry_md_pallet *p)
{
    cJSON *arr = cJSON_CreateArray();
    if (!p || !arr || !p->has_calls)
        return arr;
    const struct ferry_md_type *t = ferry_md_type(md, p->calls_type);
    for (size_t i = 0; i < t->n_variants; i++) {
        const struct ferry_md_variant *v = &t->variants[i];
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "name", v->name);
        cJSON_AddNumberToObject(c, "index", v->index);
        cJSON *fields = cJSON_AddArrayToObject(c, "fields");
        for (size_t k = 0; k < v->n_fields; k++) {
            char tn[256];
            cJSON *f = cJSON_CreateObject();
            if (v->fields[k].name)
                cJSON_AddStringToObject(f, "name", v->fields[k].name);
            else
                cJSON_AddNullToObject(f, "name");
            cJSON_AddNumberToObject(f, "type", v->fields[k].type);
            cJSON_AddStringToObject(f, "type_name",
                                    v->fields[k].type_name
                                        ? v->fields[k].type_name
                                        : ferry_md_type_name(md, v->fields[k].type, tn, sizeof tn));
            cJSON_AddItemToArray(fields, f);
        }
        cJSON_AddItemToArray(arr, c);
    }
    return arr;
}

static const char *hasher_name(enum ferry_hasher h)
{
    static const char *const names[] = {"Blake2_128", "Blake2_256",   "Blake2_128Concat", "Twox128",
                                        "Twox256",    "Twox64Concat", "Identity"};
    return (unsigned)h < 7 ? names[h] : "?";
}

cJSON *cli_md_storage_json(const struct ferry_metadata *md, const struct ferry_md_pallet *p)
{
    cJSON *arr = cJSON_CreateArray();
    if (!p || !arr)
        return arr;
    for (size_t i = 0; i < p->n_storage; i++) {
        const struct ferry_md_storage *s = &p->storage[i];
        char tn[256];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", s->name);
        cJSON_AddStringToObject(j, "modifier",
                                s->modifier == FERRY_MD_DEFAULT ? "Default" : "Optional");
        cJSON_AddStringToObject(j, "kind", s->is_map ? "Map" : "Plain");
        if (s->is_map) {
            cJSON *h = cJSON_AddArrayToObject(j, "hashers");
            for (size_t k = 0; k < s->n_hashers; k++)
                cJSON_AddItemToArray(h, cJSON_CreateString(hasher_name(s->hashers[k])));
            cJSON_AddNumberToObject(j, "key", s->key_type);
            cJSON_AddStringToObject(j, "key_name",
                                    ferry_md_type_name(md, s->key_type, tn, sizeof tn));
        }
        cJSON_AddNumberToObject(j, "value", s->value_type);
        cJSON_AddStringToObject(j, "value_name",
                                ferry_md_type_name(md, s->value_type, tn, sizeof tn));
        cJSON_AddItemToArray(arr, j);
    }
    return arr;
}
