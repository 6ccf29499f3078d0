/* Block header codec: decode with an owned copy of the exact bytes (so re-encoding and hashing
 * are byte-exact), encode from fields, and convert the JSON header shape of `chain_getHeader`.
 *
 * Digest payloads are kept opaque here; digest.c interprets the engines it knows. Only the
 * DigestItem variant index is validated: 1, 2, 3 and 7 (the removed changes-trie items) and any
 * index above 8 are errors, because their layout is unknown and guessing would desynchronise
 * the rest of the header.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/header.h"
#include "ferry/hex.h"

const char *ferry_digest_kind_name(enum ferry_digest_kind kind)
{
    switch (kind) {
    case FERRY_DIGEST_OTHER:
        return "Other";
    case FERRY_DIGEST_CONSENSUS:
        return "Consensus";
    case FERRY_DIGEST_SEAL:
        return "Seal";
    case FERRY_DIGEST_PRERUNTIME:
        return "PreRuntime";
    case FERRY_DIGEST_RUNTIME_ENV_UPDATED:
        return "RuntimeEnvironmentUpdated";
    }
    return "Unknown";
}

/* Read one DigestItem; payload pointers refer to the reader's buffer. */
static ferry_err read_digest_item(struct ferry_scale_reader *r, struct ferry_digest_item *item)
{
    uint8_t kind;
    memset(item, 0, sizeof *item);
    if (ferry_scale_u8(r, &kind))
        return r->err;
    if (kind != 0 && (kind < 4 || kind > 6) && kind != 8) {
        r->pos--;
        return ferry_scale_fail(r, FERRY_E_INVALID, "unknown digest item kind");
    }
    item->kind = (enum ferry_digest_kind)kind;
    switch (item->kind) {
    case FERRY_DIGEST_OTHER:
        return ferry_scale_byte_vec(r, &item->data, &item->data_len);
    case FERRY_DIGEST_RUNTIME_ENV_UPDATED:
        return FERRY_OK;
    default:
        ferry_scale_copy(r, item->engine, 4);
        return ferry_scale_byte_vec(r, &item->data, &item->data_len);
    }
}

ferry_err ferry_header_read(struct ferry_scale_reader *r, struct ferry_header *h)
{
    memset(h, 0, sizeof *h);
    size_t start = r->pos;
    size_t n;
    ferry_scale_copy(r, h->parent_hash, 32);
    ferry_scale_compact_u32(r, &h->number);
    ferry_scale_copy(r, h->state_root, 32);
    ferry_scale_copy(r, h->extrinsics_root, 32);
    /* Each item takes at least one byte (RuntimeEnvironmentUpdated). */
    if (ferry_scale_vec_len(r, 1, &n))
        return r->err;
    /* One allocation per header: the items, then the copy of the encoding (freed through
     * whichever pointer starts the block, see ferry_header_free). A digest whose items cannot
     * fit the input (each takes at least a byte) was refused by ferry_scale_vec_len above. */
    struct ferry_digest_item stack_items[8];
    struct ferry_digest_item *items = stack_items;
    if (n > sizeof stack_items / sizeof *stack_items) {
        items = calloc(n, sizeof *items);
        if (!items)
            return ferry_scale_fail(r, FERRY_E_NOMEM, "out of memory for digest items");
    } else {
        memset(stack_items, 0, sizeof stack_items);
    }
    for (size_t i = 0; i < n; i++) {
        if (read_digest_item(r, &items[i])) {
            if (items != stack_items)
                free(items);
            return r->err;
        }
    }
    size_t len = r->pos - start;
    size_t items_size = n * sizeof *items;
    uint8_t *block = malloc(items_size + len);
    if (!block) {
        if (items != stack_items)
            free(items);
        return ferry_scale_fail(r, FERRY_E_NOMEM, "out of memory for header");
    }
    if (n)
        memcpy(block, items, items_size);
    if (items != stack_items)
        free(items);
    items = n ? (struct ferry_digest_item *)(void *)block : NULL;
    uint8_t *copy = block + items_size;
    memcpy(copy, r->base + start, len);
    /* Re-point payloads from the input buffer into the owned copy. */
    for (size_t i = 0; i < n; i++)
        if (items[i].data)
            items[i].data = copy + (items[i].data - (r->base + start));
    h->digest = items;
    h->n_digest = n;
    h->encoded = copy;
    h->encoded_len = len;
    ferry_blake2b_256(h->hash, copy, len);
    return FERRY_OK;
}

ferry_err ferry_header_decode(struct ferry_header *h, const uint8_t *buf, size_t len,
                              struct ferry_scale_reader *diag)
{
    struct ferry_scale_reader local;
    struct ferry_scale_reader *r = diag ? diag : &local;
    ferry_scale_reader_init(r, buf, len);
    ferry_err err = ferry_header_read(r, h);
    if (!err)
        err = ferry_scale_finish(r);
    if (err)
        ferry_header_free(h);
    return err;
}

void ferry_header_free(struct ferry_header *h)
{
    /* ferry_header_read allocates the items and the encoding as one block that starts with the
     * items when there are any */
    free(h->n_digest ? (void *)h->digest : (void *)h->encoded);
    memset(h, 0, sizeof *h);
}

void ferry_header_encode(const struct ferry_header *h, struct ferry_scale_writer *w)
{
    ferry_scale_put_bytes(w, h->parent_hash, 32);
    ferry_scale_put_compact(w, h->number);
    ferry_scale_put_bytes(w, h->state_root, 32);
    ferry_scale_put_bytes(w, h->extrinsics_root, 32);
    ferry_scale_put_compact(w, h->n_digest);
    for (size_t i = 0; i < h->n_digest; i++) {
        const struct ferry_digest_item *it = &h->digest[i];
        ferry_scale_put_u8(w, (uint8_t)it->kind);
        if (it->kind == FERRY_DIGEST_RUNTIME_ENV_UPDATED)
            continue;
        if (it->kind != FERRY_DIGEST_OTHER)
            ferry_scale_put_bytes(w, it->engine, 4);
        ferry_scale_put_byte_vec(w, it->data, it->data_len);
    }
}

ferry_err ferry_header_copy(struct ferry_header *dst, const struct ferry_header *src)
{
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, src->encoded, src->encoded_len);
    return ferry_header_read(&r, dst);
}

const struct ferry_digest_item *ferry_header_find_digest(const struct ferry_header *h,
                                                         enum ferry_digest_kind kind,
                                                         const char engine[4], size_t *from)
{
    for (size_t i = *from; i < h->n_digest; i++) {
        const struct ferry_digest_item *it = &h->digest[i];
        if (it->kind == kind && (!engine || memcmp(it->engine, engine, 4) == 0)) {
            *from = i + 1;
            return it;
        }
    }
    *from = h->n_digest;
    return NULL;
}

/* ---- JSON (chain_getHeader) -> SCALE -------------------------------------------------------- */

static ferry_err json_hash(const cJSON *obj, const char *name, uint8_t out[32], const char **why)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(v)) {
        *why = "header JSON lacks a string field (parentHash, stateRoot or extrinsicsRoot)";
        return FERRY_E_JSON;
    }
    if (ferry_hex_decode_exact(v->valuestring, out, 32)) {
        *why = "header hash field is not 32 bytes of hex";
        return FERRY_E_HEX;
    }
    return FERRY_OK;
}

static ferry_err json_number(const cJSON *obj, uint32_t *out, const char **why)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "number");
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 4294967295.0 &&
        v->valuedouble == (double)(uint32_t)v->valuedouble) {
        *out = (uint32_t)v->valuedouble;
        return FERRY_OK;
    }
    if (!cJSON_IsString(v)) {
        *why = "header JSON lacks \"number\"";
        return FERRY_E_JSON;
    }
    const char *s = v->valuestring;
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !s[2] || strlen(s) > 10) {
        *why = "header \"number\" is not a 0x hex u32";
        return FERRY_E_HEX;
    }
    uint32_t n = 0;
    for (const char *p = s + 2; *p; p++) {
        int d = (*p >= '0' && *p <= '9')   ? *p - '0'
                : (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10
                : (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10
                                           : -1;
        if (d < 0) {
            *why = "header \"number\" is not a 0x hex u32";
            return FERRY_E_HEX;
        }
        n = n << 4 | (uint32_t)d;
    }
    *out = n;
    return FERRY_OK;
}

static ferry_err header_json_to_scale_static(const char *json, uint8_t **out, size_t *len,
                                             const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    *out = NULL;
    *len = 0;
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        *why = "header is not valid JSON";
        return FERRY_E_JSON;
    }
    /* Accept a JSON-RPC response envelope too. */
    const cJSON *obj = root;
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
    if (cJSON_IsObject(result))
        obj = result;
    struct ferry_header h;
    memset(&h, 0, sizeof h);
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_err err = json_hash(obj, "parentHash", h.parent_hash, why);
    if (!err)
        err = json_number(obj, &h.number, why);
    if (!err)
        err = json_hash(obj, "stateRoot", h.state_root, why);
    if (!err)
        err = json_hash(obj, "extrinsicsRoot", h.extrinsics_root, why);
    const cJSON *digest = cJSON_GetObjectItemCaseSensitive(obj, "digest");
    const cJSON *logs = cJSON_GetObjectItemCaseSensitive(digest, "logs");
    if (!err && !cJSON_IsArray(logs)) {
        *why = "header JSON lacks digest.logs";
        err = FERRY_E_JSON;
    }
    if (!err) {
        ferry_scale_put_bytes(&w, h.parent_hash, 32);
        ferry_scale_put_compact(&w, h.number);
        ferry_scale_put_bytes(&w, h.state_root, 32);
        ferry_scale_put_bytes(&w, h.extrinsics_root, 32);
        ferry_scale_put_compact(&w, (uint64_t)cJSON_GetArraySize(logs));
        const cJSON *log;
        cJSON_ArrayForEach(log, logs)
        {
            uint8_t *item;
            size_t item_len;
            if (!cJSON_IsString(log) ||
                ferry_hex_decode(log->valuestring, strlen(log->valuestring), &item, &item_len)) {
                *why = "digest log is not a hex string";
                err = FERRY_E_HEX;
                break;
            }
            /* Each log must be exactly one well-formed DigestItem. */
            struct ferry_scale_reader r;
            struct ferry_digest_item di;
            ferry_scale_reader_init(&r, item, item_len);
            if (read_digest_item(&r, &di) || ferry_scale_finish(&r)) {
                *why = "digest log is not one well-formed DigestItem";
                err = r.err;
                free(item);
                break;
            }
            ferry_scale_put_bytes(&w, item, item_len);
            free(item);
        }
    }
    cJSON_Delete(root);
    if (!err)
        err = ferry_scale_writer_error(&w);
    if (err) {
        ferry_scale_writer_free(&w);
        return err;
    }
    *out = ferry_scale_writer_take(&w, len);
    return FERRY_OK;
}

ferry_err(ferry_header_json_to_scale)(const char *json, uint8_t **out, size_t *len,
                                      struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err = header_json_to_scale_static(json, out, len, why ? &reason : NULL);
    if (err && reason)
        ferry_reason_set(why, err, "%s", reason);
    return err;
}
