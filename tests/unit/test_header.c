/* Headers: every real header in vectors/headers/headers.json decodes, hashes to its known hash,
 * re-encodes byte-exactly, and its digest items decode to the vector's fields; the JSON header
 * shape converts to the same bytes; malformed inputs fail with a reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/digest.h"
#include "ferry/hash.h"
#include "ferry/header.h"
#include "ferry/hex.h"
#include "testutil.h"

static void decode_vector_header(const cJSON *row, struct ferry_header *h, uint8_t **enc,
                                 size_t *len)
{
    *enc = tu_hex(tu_str(row, "encoded"), len);
    struct ferry_scale_reader r;
    ferry_err err = ferry_header_decode(h, *enc, *len, &r);
    char why[128];
    ck_assert_msg(err == FERRY_OK, "%s: %s", tu_str(row, "name"),
                  ferry_scale_describe(&r, why, sizeof why));
}

START_TEST(real_headers_decode_hash_and_reencode)
{
    TU_VECTOR_OR_SKIP(v, "headers/headers.json");
    const cJSON *row;
    int n = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "headers"))
    {
        struct ferry_header h;
        uint8_t *enc;
        size_t len;
        decode_vector_header(row, &h, &enc, &len);
        ck_assert_str_eq(tu_tohex(h.hash, 32), tu_str(row, "hash"));
        ck_assert_str_eq(tu_tohex(h.parent_hash, 32), tu_str(row, "parent_hash"));
        ck_assert_str_eq(tu_tohex(h.state_root, 32), tu_str(row, "state_root"));
        ck_assert_str_eq(tu_tohex(h.extrinsics_root, 32), tu_str(row, "extrinsics_root"));
        ck_assert_uint_eq(h.number, (uint32_t)cJSON_GetObjectItem(row, "number")->valuedouble);
        const cJSON *digest = cJSON_GetObjectItem(row, "digest");
        ck_assert_int_eq((int)h.n_digest, cJSON_GetArraySize(digest));
        /* Re-encoding from the fields gives the identical bytes. */
        struct ferry_scale_writer w;
        ferry_scale_writer_init(&w);
        ferry_header_encode(&h, &w);
        ck_assert_uint_eq(w.len, len);
        ck_assert(memcmp(w.buf, enc, len) == 0);
        ferry_scale_writer_free(&w);
        ferry_header_free(&h);
        free(enc);
        n++;
    }
    ck_assert_int_eq(n, 14);
}
END_TEST

/* Compare every scalar field of the vector's "decoded" object with ferry's JSON. */
static void compare_decoded(const char *where, const cJSON *want, const cJSON *got)
{
    ck_assert_msg(got != NULL, "%s: ferry did not decode an item the vector decodes", where);
    const cJSON *field;
    cJSON_ArrayForEach(field, want)
    {
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, field->string);
        ck_assert_msg(g != NULL, "%s: field %s missing", where, field->string);
        if (cJSON_IsString(field))
            ck_assert_msg(cJSON_IsString(g) && strcmp(g->valuestring, field->valuestring) == 0,
                          "%s: field %s differs", where, field->string);
        else if (cJSON_IsNumber(field))
            ck_assert_msg(cJSON_IsNumber(g) && g->valuedouble == field->valuedouble,
                          "%s: field %s differs", where, field->string);
        else if (cJSON_IsArray(field))
            ck_assert_msg(cJSON_Compare(field, g, 1), "%s: list %s differs", where, field->string);
    }
}

START_TEST(digest_items_decode_like_the_vectors)
{
    TU_VECTOR_OR_SKIP(v, "headers/headers.json");
    const cJSON *row;
    int decoded = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "headers"))
    {
        struct ferry_header h;
        uint8_t *enc;
        size_t len;
        decode_vector_header(row, &h, &enc, &len);
        cJSON *json = ferry_header_json(&h);
        const cJSON *items = cJSON_GetObjectItem(json, "digest");
        size_t i = 0;
        const cJSON *want;
        cJSON_ArrayForEach(want, cJSON_GetObjectItem(row, "digest"))
        {
            const cJSON *got = cJSON_GetArrayItem(items, (int)i);
            ck_assert_str_eq(tu_str(got, "type"), tu_str(want, "type"));
            ck_assert_str_eq(tu_str(got, "engine"), tu_str(want, "engine"));
            ck_assert_str_eq(tu_str(got, "data"), tu_str(want, "data"));
            const cJSON *wd = cJSON_GetObjectItem(want, "decoded");
            if (wd) {
                char where[96];
                snprintf(where, sizeof where, "%s item %zu", tu_str(row, "name"), i);
                compare_decoded(where, wd, cJSON_GetObjectItem(got, "decoded"));
                decoded++;
            }
            i++;
        }
        ck_assert_str_eq(tu_str(json, "encoded"), tu_str(row, "encoded"));
        cJSON_Delete(json);
        ferry_header_free(&h);
        free(enc);
    }
    ck_assert_int_ge(decoded, 30);
}
END_TEST

START_TEST(kusama_72k_header_scheduled_change_has_900_keys)
{
    TU_VECTOR_OR_SKIP(v, "headers/headers.json");
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "headers"))
    {
        if (strcmp(tu_str(row, "name"), "kusama-7472481") != 0)
            continue;
        struct ferry_header h;
        uint8_t *enc;
        size_t len;
        decode_vector_header(row, &h, &enc, &len);
        ck_assert_uint_gt(len, 70000);
        size_t from = 0, disabled = 0, changes = 0;
        const struct ferry_digest_item *it;
        while ((it = ferry_header_find_digest(&h, FERRY_DIGEST_CONSENSUS, "FRNK", &from))) {
            struct ferry_grandpa_log log;
            ck_assert_int_eq(ferry_grandpa_log_decode(it->data, it->data_len, &log), FERRY_OK);
            if (log.kind == FERRY_GRANDPA_ON_DISABLED)
                disabled++;
            if (log.kind == FERRY_GRANDPA_SCHEDULED_CHANGE) {
                changes++;
                ck_assert_uint_eq(log.n_authorities, 900);
                ck_assert_uint_eq(log.delay, 0);
            }
            ferry_grandpa_log_free(&log);
        }
        /* The vector's note says 12, but the hash-verified bytes carry 11 FRNK OnDisabled logs
         * (and 11 BABE ones); the bytes are authoritative. */
        ck_assert_uint_eq(disabled, 11);
        ck_assert_uint_eq(changes, 1);
        ferry_header_free(&h);
        free(enc);
        return;
    }
    ck_abort_msg("kusama-7472481 not in vectors");
}
END_TEST

/* Build the chain_getHeader JSON shape from the vector and check it converts to the bytes. */
START_TEST(json_header_converts_to_identical_bytes)
{
    TU_VECTOR_OR_SKIP(v, "headers/headers.json");
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "headers"))
    {
        struct ferry_header h;
        uint8_t *enc;
        size_t len;
        decode_vector_header(row, &h, &enc, &len);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "parentHash", tu_str(row, "parent_hash"));
        char num[16];
        snprintf(num, sizeof num, "0x%x", h.number);
        cJSON_AddStringToObject(j, "number", num);
        cJSON_AddStringToObject(j, "stateRoot", tu_str(row, "state_root"));
        cJSON_AddStringToObject(j, "extrinsicsRoot", tu_str(row, "extrinsics_root"));
        cJSON *logs = cJSON_AddArrayToObject(cJSON_AddObjectToObject(j, "digest"), "logs");
        for (size_t i = 0; i < h.n_digest; i++) {
            struct ferry_header one = h;
            struct ferry_scale_writer w;
            ferry_scale_writer_init(&w);
            /* Encode a single item: kind, engine, payload. */
            one.n_digest = 1;
            one.digest = &h.digest[i];
            ferry_header_encode(&one, &w);
            /* the item starts after 32+compact(number)+64 bytes and a 1-byte count */
            size_t skip = 32 + ferry_scale_compact_size(h.number) + 64 + 1;
            char *hex = ferry_hex_alloc(w.buf + skip, w.len - skip);
            cJSON_AddItemToArray(logs, cJSON_CreateString(hex));
            free(hex);
            ferry_scale_writer_free(&w);
        }
        char *text = cJSON_PrintUnformatted(j);
        uint8_t *out;
        size_t out_len;
        struct ferry_reason why = {""};
        ck_assert_int_eq(ferry_header_json_to_scale(text, &out, &out_len, &why), FERRY_OK);
        ck_assert_uint_eq(out_len, len);
        ck_assert(memcmp(out, enc, len) == 0);
        free(out);
        free(text);
        cJSON_Delete(j);
        ferry_header_free(&h);
        free(enc);
    }
}
END_TEST

START_TEST(json_header_errors_are_precise)
{
    uint8_t *out;
    size_t len;
    struct ferry_reason why = {""};
    ck_assert_int_eq(ferry_header_json_to_scale("{", &out, &len, &why), FERRY_E_JSON);
    ck_assert_int_eq(ferry_header_json_to_scale("{\"parentHash\":\"0x00\"}", &out, &len, &why),
                     FERRY_E_HEX);
    const char *bad_log =
        "{\"parentHash\":\"0x0000000000000000000000000000000000000000000000000000000000000000\","
        "\"number\":\"0x1\","
        "\"stateRoot\":\"0x0000000000000000000000000000000000000000000000000000000000000000\","
        "\"extrinsicsRoot\":"
        "\"0x0000000000000000000000000000000000000000000000000000000000000000\","
        "\"digest\":{\"logs\":[\"0x07\"]}}";
    ck_assert_int_eq(ferry_header_json_to_scale(bad_log, &out, &len, &why), FERRY_E_INVALID);
    ck_assert(why.text[0] != 0);
    ck_assert_ptr_null(out);
}
END_TEST

/* Hand-made: every strict prefix of a real header fails cleanly, and so do trailing bytes and an
 * unknown digest kind. */
START_TEST(truncated_and_malformed_headers_fail_cleanly)
{
    TU_VECTOR_OR_SKIP(v, "headers/headers.json");
    const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(v, "headers"), 2);
    size_t len;
    uint8_t *enc = tu_hex(tu_str(row, "encoded"), &len);
    struct ferry_header h;
    struct ferry_scale_reader r;
    for (size_t cut = 0; cut < len; cut++) {
        ck_assert_int_ne(ferry_header_decode(&h, enc, cut, &r), FERRY_OK);
        ck_assert_ptr_null(h.encoded);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, enc, len);
    longer[len] = 0;
    ck_assert_int_eq(ferry_header_decode(&h, longer, len + 1, &r), FERRY_E_TRAILING);
    /* digest count 1 with item kind 7 (removed changes-trie item) */
    size_t off = 32 + ferry_scale_compact_size(1) + 64;
    longer[off] = 4; /* compact 1 */
    longer[off + 1] = 7;
    ck_assert_int_eq(ferry_header_decode(&h, longer, off + 2, &r), FERRY_E_INVALID);
    ck_assert_uint_eq(r.err_pos, off + 1);
    free(longer);
    free(enc);
}
END_TEST

/* Hand-made: an unknown engine and an undecodable FRNK payload are kept as opaque bytes. */
START_TEST(unknown_engines_and_payloads_are_kept_opaque)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    uint8_t zero[32] = {0};
    ferry_scale_put_bytes(&w, zero, 32);
    ferry_scale_put_compact(&w, 5);
    ferry_scale_put_bytes(&w, zero, 32);
    ferry_scale_put_bytes(&w, zero, 32);
    ferry_scale_put_compact(&w, 3);
    ferry_scale_put_u8(&w, 4);
    ferry_scale_put_bytes(&w, "XYZW", 4);
    ferry_scale_put_byte_vec(&w, "\x01\x02", 2);
    ferry_scale_put_u8(&w, 4);
    ferry_scale_put_bytes(&w, "FRNK", 4);
    ferry_scale_put_byte_vec(&w, "\x09", 1); /* unknown GRANDPA log variant */
    ferry_scale_put_u8(&w, 8);
    struct ferry_header h;
    ck_assert_int_eq(ferry_header_decode(&h, w.buf, w.len, NULL), FERRY_OK);
    ck_assert_uint_eq(h.n_digest, 3);
    cJSON *json = ferry_header_json(&h);
    const cJSON *items = cJSON_GetObjectItem(json, "digest");
    ck_assert_str_eq(tu_str(cJSON_GetArrayItem(items, 0), "engine"), "XYZW");
    ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 1), "decoded"));
    ck_assert_str_eq(tu_str(cJSON_GetArrayItem(items, 2), "type"), "RuntimeEnvironmentUpdated");
    struct ferry_grandpa_log log;
    ck_assert_int_eq(ferry_grandpa_log_decode(h.digest[1].data, h.digest[1].data_len, &log),
                     FERRY_E_INVALID);
    cJSON_Delete(json);
    ferry_header_free(&h);
    ferry_scale_writer_free(&w);
}
END_TEST

START_TEST(grandpa_logs_all_variants)
{
    /* Hand-made payloads for each FRNK variant. */
    struct ferry_grandpa_log log;
    uint8_t forced[4 + 1 + 1 + 40 + 4] = {2, 7, 0, 0, 0, 4};
    forced[6] = 0xaa;
    forced[6 + 32] = 1;
    forced[46] = 3;
    ck_assert_int_eq(ferry_grandpa_log_decode(forced + 0, 1, &log), FERRY_E_TRUNCATED);
    ck_assert_int_eq(ferry_grandpa_log_decode(forced, 50, &log), FERRY_OK);
    ck_assert_int_eq(log.kind, FERRY_GRANDPA_FORCED_CHANGE);
    ck_assert_uint_eq(log.median, 7);
    ck_assert_uint_eq(log.n_authorities, 1);
    ck_assert_uint_eq(log.authorities[0].id[0], 0xaa);
    ck_assert_uint_eq(log.authorities[0].weight, 1);
    ck_assert_uint_eq(log.delay, 3);
    ferry_grandpa_log_free(&log);
    uint8_t pause[] = {4, 5, 0, 0, 0};
    ck_assert_int_eq(ferry_grandpa_log_decode(pause, 5, &log), FERRY_OK);
    ck_assert_int_eq(log.kind, FERRY_GRANDPA_PAUSE);
    ck_assert_uint_eq(log.delay, 5);
    pause[0] = 5;
    ck_assert_int_eq(ferry_grandpa_log_decode(pause, 5, &log), FERRY_OK);
    ck_assert_int_eq(log.kind, FERRY_GRANDPA_RESUME);
    /* a scheduled change claiming 2^20 authorities in a 10-byte payload */
    uint8_t huge[] = {1, 0x02, 0x00, 0x40, 0x00, 0, 0, 0, 0, 0};
    ck_assert_int_eq(ferry_grandpa_log_decode(huge, sizeof huge, &log), FERRY_E_TOO_LARGE);
}
END_TEST

Suite *header_suite(void)
{
    Suite *s = suite_create("header");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, real_headers_decode_hash_and_reencode);
    tcase_add_test(tc, digest_items_decode_like_the_vectors);
    tcase_add_test(tc, kusama_72k_header_scheduled_change_has_900_keys);
    tcase_add_test(tc, json_header_converts_to_identical_bytes);
    tcase_add_test(tc, json_header_errors_are_precise);
    tcase_add_test(tc, truncated_and_malformed_headers_fail_cleanly);
    tcase_add_test(tc, unknown_engines_and_payloads_are_kept_opaque);
    tcase_add_test(tc, grandpa_logs_all_variants);
    suite_add_tcase(s, tc);
    return s;
}
