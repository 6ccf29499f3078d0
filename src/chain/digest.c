/* Interpretation of the digest payloads ferry understands (GRANDPA, BABE, Aura), and the JSON
 * rendering `ferry decode header` prints. Field names follow the conformance vectors
 * (vectors/headers/headers.json) so the output can be compared with them directly.
 *
 * An item whose payload does not decode is still printed, just without "decoded": a light
 * client must never stop on a digest it does not understand.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/digest.h"
#include "ferry/hex.h"
#include "ferry/scale.h"

/* Read Vec<(ed25519 id, u64 weight)>; entries are 40 bytes each. */
static ferry_err read_authorities(struct ferry_scale_reader *r, struct ferry_authority **out,
                                  size_t *n_out)
{
    size_t n;
    *out = NULL;
    *n_out = 0;
    if (ferry_scale_vec_len(r, 40, &n))
        return r->err;
    struct ferry_authority *list = n ? calloc(n, sizeof *list) : NULL;
    if (n && !list)
        return ferry_scale_fail(r, FERRY_E_NOMEM, "out of memory for authority list");
    for (size_t i = 0; i < n; i++) {
        ferry_scale_copy(r, list[i].id, 32);
        ferry_scale_u64(r, &list[i].weight);
    }
    if (r->err) {
        free(list);
        return r->err;
    }
    *out = list;
    *n_out = n;
    return FERRY_OK;
}

ferry_err ferry_grandpa_log_decode(const uint8_t *data, size_t len, struct ferry_grandpa_log *out)
{
    static const uint8_t kinds[] = {1, 2, 3, 4, 5};
    struct ferry_scale_reader r;
    uint8_t kind;
    memset(out, 0, sizeof *out);
    ferry_scale_reader_init(&r, data, len);
    if (ferry_scale_enum(&r, kinds, sizeof kinds, &kind))
        return r.err;
    out->kind = (enum ferry_grandpa_log_kind)kind;
    switch (out->kind) {
    case FERRY_GRANDPA_FORCED_CHANGE:
        /* A ForcedChange is the median followed by a ScheduledChange. */
        ferry_scale_u32(&r, &out->median);
        /* fall through */
    case FERRY_GRANDPA_SCHEDULED_CHANGE:
        if (read_authorities(&r, &out->authorities, &out->n_authorities))
            break;
        ferry_scale_u32(&r, &out->delay);
        break;
    case FERRY_GRANDPA_ON_DISABLED:
        ferry_scale_u64(&r, &out->disabled_index);
        break;
    case FERRY_GRANDPA_PAUSE:
    case FERRY_GRANDPA_RESUME:
        ferry_scale_u32(&r, &out->delay);
        break;
    }
    ferry_err err = ferry_scale_finish(&r);
    if (err)
        ferry_grandpa_log_free(out);
    return err;
}

void ferry_grandpa_log_free(struct ferry_grandpa_log *log)
{
    free(log->authorities);
    memset(log, 0, sizeof *log);
}

ferry_err ferry_babe_predigest_decode(const uint8_t *data, size_t len,
                                      struct ferry_babe_predigest *out)
{
    static const uint8_t kinds[] = {1, 2, 3};
    struct ferry_scale_reader r;
    uint8_t kind;
    memset(out, 0, sizeof *out);
    ferry_scale_reader_init(&r, data, len);
    if (ferry_scale_enum(&r, kinds, sizeof kinds, &kind))
        return r.err;
    out->kind = (enum ferry_babe_predigest_kind)kind;
    ferry_scale_u32(&r, &out->authority_index);
    ferry_scale_u64(&r, &out->slot);
    if (out->kind != FERRY_BABE_SECONDARY_PLAIN) {
        ferry_scale_copy(&r, out->vrf_output, 32);
        ferry_scale_copy(&r, out->vrf_proof, 64);
    }
    return ferry_scale_finish(&r);
}

ferry_err ferry_aura_slot_decode(const uint8_t *data, size_t len, uint64_t *slot)
{
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, data, len);
    ferry_scale_u64(&r, slot);
    return ferry_scale_finish(&r);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static void add_hex(cJSON *obj, const char *name, const uint8_t *p, size_t n)
{
    char *hex = ferry_hex_alloc(p, n);
    if (hex)
        cJSON_AddStringToObject(obj, name, hex);
    free(hex);
}

static cJSON *authorities_json(const struct ferry_authority *list, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        cJSON *a = cJSON_CreateObject();
        add_hex(a, "id", list[i].id, 32);
        cJSON_AddNumberToObject(a, "weight", (double)list[i].weight);
        cJSON_AddItemToArray(arr, a);
    }
    return arr;
}

static cJSON *grandpa_json(const struct ferry_digest_item *item)
{
    struct ferry_grandpa_log log;
    if (item->kind != FERRY_DIGEST_CONSENSUS ||
        ferry_grandpa_log_decode(item->data, item->data_len, &log))
        return NULL;
    static const char *const names[] = {"",           "ScheduledChange", "ForcedChange",
                                        "OnDisabled", "Pause",           "Resume"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", names[log.kind]);
    switch (log.kind) {
    case FERRY_GRANDPA_FORCED_CHANGE:
        cJSON_AddNumberToObject(o, "median_last_finalized", log.median);
        /* fall through */
    case FERRY_GRANDPA_SCHEDULED_CHANGE:
        cJSON_AddNumberToObject(o, "delay", log.delay);
        cJSON_AddNumberToObject(o, "num_authorities", (double)log.n_authorities);
        cJSON_AddItemToObject(o, "authorities",
                              authorities_json(log.authorities, log.n_authorities));
        break;
    case FERRY_GRANDPA_ON_DISABLED:
        cJSON_AddNumberToObject(o, "authority_index", (double)log.disabled_index);
        break;
    case FERRY_GRANDPA_PAUSE:
    case FERRY_GRANDPA_RESUME:
        cJSON_AddNumberToObject(o, "delay", log.delay);
        break;
    }
    ferry_grandpa_log_free(&log);
    return o;
}

static cJSON *babe_pre_json(const struct ferry_digest_item *item)
{
    struct ferry_babe_predigest pd;
    if (ferry_babe_predigest_decode(item->data, item->data_len, &pd))
        return NULL;
    static const char *const names[] = {"", "Primary", "SecondaryPlain", "SecondaryVRF"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", names[pd.kind]);
    cJSON_AddNumberToObject(o, "authority_index", pd.authority_index);
    cJSON_AddNumberToObject(o, "slot", (double)pd.slot);
    if (pd.kind != FERRY_BABE_SECONDARY_PLAIN) {
        add_hex(o, "vrf_output", pd.vrf_output, 32);
        add_hex(o, "vrf_proof", pd.vrf_proof, 64);
    }
    return o;
}

/* BABE ConsensusLog: 1 NextEpochData{Vec<(sr25519, u64)>, randomness[32]}, 2 OnDisabled(u32),
 * 3 NextConfigData(V1 = 1 {c: (u64, u64), allowed_slots: u8}). */
static cJSON *babe_consensus_json(const struct ferry_digest_item *item)
{
    static const uint8_t kinds[] = {1, 2, 3};
    struct ferry_scale_reader r;
    uint8_t kind;
    ferry_scale_reader_init(&r, item->data, item->data_len);
    if (ferry_scale_enum(&r, kinds, sizeof kinds, &kind))
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (kind == 1) {
        struct ferry_authority *list = NULL;
        size_t n = 0;
        uint8_t randomness[32];
        if (read_authorities(&r, &list, &n) == FERRY_OK)
            ferry_scale_copy(&r, randomness, 32);
        if (ferry_scale_finish(&r) == FERRY_OK) {
            cJSON_AddStringToObject(o, "kind", "NextEpochData");
            cJSON_AddNumberToObject(o, "num_authorities", (double)n);
            cJSON_AddItemToObject(o, "authorities", authorities_json(list, n));
            add_hex(o, "randomness", randomness, 32);
        }
        free(list);
    } else if (kind == 2) {
        uint32_t idx;
        ferry_scale_u32(&r, &idx);
        if (ferry_scale_finish(&r) == FERRY_OK) {
            cJSON_AddStringToObject(o, "kind", "OnDisabled");
            cJSON_AddNumberToObject(o, "authority_index_u32", idx);
        }
    } else {
        static const uint8_t versions[] = {1};
        uint8_t version, allowed;
        uint64_t c0, c1;
        ferry_scale_enum(&r, versions, 1, &version);
        ferry_scale_u64(&r, &c0);
        ferry_scale_u64(&r, &c1);
        ferry_scale_u8(&r, &allowed);
        if (ferry_scale_finish(&r) == FERRY_OK) {
            cJSON_AddStringToObject(o, "kind", "NextConfigData");
            cJSON_AddNumberToObject(o, "version", version);
            cJSON *c = cJSON_AddArrayToObject(o, "c");
            cJSON_AddItemToArray(c, cJSON_CreateNumber((double)c0));
            cJSON_AddItemToArray(c, cJSON_CreateNumber((double)c1));
            cJSON_AddNumberToObject(o, "allowed_slots", allowed);
        }
    }
    if (!cJSON_GetObjectItem(o, "kind")) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void *ferry_digest_item_json(const struct ferry_digest_item *item)
{
    if (memcmp(item->engine, "FRNK", 4) == 0)
        return grandpa_json(item);
    if (memcmp(item->engine, "BABE", 4) == 0) {
        if (item->kind == FERRY_DIGEST_PRERUNTIME)
            return babe_pre_json(item);
        if (item->kind == FERRY_DIGEST_CONSENSUS)
            return babe_consensus_json(item);
        return NULL;
    }
    if (memcmp(item->engine, "aura", 4) == 0 && item->kind == FERRY_DIGEST_PRERUNTIME) {
        uint64_t slot;
        if (ferry_aura_slot_decode(item->data, item->data_len, &slot))
            return NULL;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", "AuraSlot");
        cJSON_AddNumberToObject(o, "slot", (double)slot);
        return o;
    }
    return NULL;
}

/* Engine ids are four ASCII bytes in practice; anything else is printed as hex. */
static void add_engine(cJSON *o, const uint8_t engine[4])
{
    char text[5];
    for (int i = 0; i < 4; i++) {
        if (engine[i] < 0x20 || engine[i] > 0x7e) {
            add_hex(o, "engine", engine, 4);
            return;
        }
        text[i] = (char)engine[i];
    }
    text[4] = 0;
    cJSON_AddStringToObject(o, "engine", text);
}

void *ferry_header_json(const struct ferry_header *h)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_hex(o, "hash", h->hash, 32);
    add_hex(o, "parentHash", h->parent_hash, 32);
    cJSON_AddNumberToObject(o, "number", h->number);
    add_hex(o, "stateRoot", h->state_root, 32);
    add_hex(o, "extrinsicsRoot", h->extrinsics_root, 32);
    cJSON *digest = cJSON_AddArrayToObject(o, "digest");
    for (size_t i = 0; digest && i < h->n_digest; i++) {
        const struct ferry_digest_item *it = &h->digest[i];
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "type", ferry_digest_kind_name(it->kind));
        if (it->kind != FERRY_DIGEST_OTHER && it->kind != FERRY_DIGEST_RUNTIME_ENV_UPDATED)
            add_engine(d, it->engine);
        if (it->kind != FERRY_DIGEST_RUNTIME_ENV_UPDATED)
            add_hex(d, "data", it->data ? it->data : (const uint8_t *)"", it->data_len);
        cJSON *decoded = ferry_digest_item_json(it);
        if (decoded)
            cJSON_AddItemToObject(d, "decoded", decoded);
        cJSON_AddItemToArray(digest, d);
    }
    add_hex(o, "encoded", h->encoded, h->encoded_len);
    return o;
}
