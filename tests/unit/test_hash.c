/* Hashing and storage keys: every row of vectors/hashing/hashes.json (xxh64 reference values,
 * blake2b of "abc", twox128 of pallet/item names, real storage keys) plus hasher-name parsing. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "testutil.h"

/* The row's input: input_hex (decoded) or input_utf8 (as is). Caller frees. */
static uint8_t *row_input(const cJSON *row, size_t *len)
{
    const cJSON *hex = cJSON_GetObjectItem(row, "input_hex");
    if (cJSON_IsString(hex))
        return tu_hex(hex->valuestring, len);
    const char *s = tu_str(row, "input_utf8");
    *len = strlen(s);
    uint8_t *buf = malloc(*len + 1);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, s, *len + 1);
    return buf;
}

START_TEST(xxh64_matches_reference_values)
{
    TU_VECTOR_OR_SKIP(v, "hashing/hashes.json");
    const cJSON *row;
    int n = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "xxh64"))
    {
        size_t len;
        uint8_t *in = row_input(row, &len);
        uint64_t seed = (uint64_t)cJSON_GetObjectItem(row, "seed")->valuedouble;
        char got[19];
        snprintf(got, sizeof got, "0x%016" PRIx64, ferry_xxh64(in, len, seed));
        ck_assert_str_eq(got, tu_str(row, "xxh64"));
        /* twox64 is the same value written little-endian. */
        if (seed == 0) {
            uint8_t le[8];
            ferry_twox64(le, in, len);
            uint64_t back = 0;
            for (int i = 7; i >= 0; i--)
                back = back << 8 | le[i];
            ck_assert_uint_eq(back, ferry_xxh64(in, len, 0));
        }
        free(in);
        n++;
    }
    ck_assert_int_ge(n, 2);
}
END_TEST

START_TEST(blake2b_128_256_512_match_vectors)
{
    TU_VECTOR_OR_SKIP(v, "hashing/hashes.json");
    static const struct {
        const char *field;
        size_t len;
    } kinds[] = {{"blake2b_128", 16}, {"blake2b_256", 32}, {"blake2b_512", 64}};
    const cJSON *row;
    int seen[3] = {0, 0, 0};
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "blake2b"))
    {
        size_t len;
        uint8_t *in = row_input(row, &len);
        for (size_t k = 0; k < 3; k++) {
            const cJSON *want = cJSON_GetObjectItem(row, kinds[k].field);
            if (!cJSON_IsString(want))
                continue;
            uint8_t out[64];
            if (kinds[k].len == 16)
                ferry_blake2b_128(out, in, len);
            else if (kinds[k].len == 32)
                ferry_blake2b_256(out, in, len);
            else
                ferry_blake2b_512(out, in, len);
            ck_assert_str_eq(tu_tohex(out, kinds[k].len), want->valuestring);
            seen[k]++;
        }
        free(in);
    }
    ck_assert(seen[0] && seen[1] && seen[2]);
}
END_TEST

static int check_twox128_rows(const cJSON *rows)
{
    const cJSON *row;
    int n = 0;
    cJSON_ArrayForEach(row, rows)
    {
        size_t len;
        uint8_t *in = row_input(row, &len);
        uint8_t out[16];
        ferry_twox128(out, in, len);
        ck_assert_msg(strcmp(tu_tohex(out, 16), tu_str(row, "twox128")) == 0, "twox128(\"%s\")",
                      tu_str(row, "input_utf8"));
        free(in);
        n++;
    }
    return n;
}

START_TEST(twox128_of_pallet_and_item_names)
{
    TU_VECTOR_OR_SKIP(v, "hashing/hashes.json");
    ck_assert_int_ge(check_twox128_rows(cJSON_GetObjectItem(v, "twox128")), 18);
    ck_assert_int_ge(check_twox128_rows(cJSON_GetObjectItem(v, "known_from_sources")), 9);
}
END_TEST

/* How each storage_keys row is built; rows are matched by their exact name. */
static const struct {
    const char *name_prefix;
    const char *pallet, *item; /* NULL: a well-known raw key (ASCII) */
    const char *hasher;
    const char *key_hex;
} key_recipes[] = {
    {"Grandpa::Authorities", "Grandpa", "Authorities", NULL, NULL},
    {"Grandpa::CurrentSetId", "Grandpa", "CurrentSetId", NULL, NULL},
    {":grandpa_authorities", NULL, ":grandpa_authorities", NULL, NULL},
    {":code", NULL, ":code", NULL, NULL},
    {"System::Number", "System", "Number", NULL, NULL},
    {"Paras::Heads(1000)", "Paras", "Heads", "twox64_concat", "e8030000"},
    {"Paras::Heads(2000)", "Paras", "Heads", "twox64_concat", "d0070000"},
    {"System::Account(", "System", "Account", "blake2_128_concat",
     "3ceaf1c4e92a3ed0e47ce5157249557057e45ce0b629754d9c3488fdce868b46"},
};

START_TEST(storage_keys_match_real_keys)
{
    TU_VECTOR_OR_SKIP(v, "hashing/hashes.json");
    const cJSON *row;
    int n = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "storage_keys"))
    {
        const char *name = tu_str(row, "name");
        size_t r = 0;
        const size_t nr = sizeof key_recipes / sizeof key_recipes[0];
        while (r < nr &&
               strncmp(name, key_recipes[r].name_prefix, strlen(key_recipes[r].name_prefix)) != 0)
            r++;
        ck_assert_msg(r < nr, "no recipe for storage key vector '%s'", name);
        uint8_t key[32 + 16 + 64];
        size_t len;
        if (!key_recipes[r].pallet) {
            len = strlen(key_recipes[r].item);
            memcpy(key, key_recipes[r].item, len);
        } else {
            ferry_storage_prefix(key, key_recipes[r].pallet, key_recipes[r].item);
            len = 32;
            if (key_recipes[r].hasher) {
                enum ferry_hasher h;
                ck_assert_int_eq(ferry_hasher_parse(key_recipes[r].hasher, &h), FERRY_OK);
                size_t klen;
                uint8_t *k = tu_hex(key_recipes[r].key_hex, &klen);
                ck_assert_uint_eq(ferry_hasher_output_len(h, klen), klen + (klen == 4 ? 8 : 16));
                len += ferry_hasher_apply(h, k, klen, key + len);
                free(k);
            }
        }
        ck_assert_msg(strcmp(tu_tohex(key, len), tu_str(row, "key")) == 0, "%s", name);
        n++;
    }
    ck_assert_int_eq(n, (int)(sizeof key_recipes / sizeof key_recipes[0]));
}
END_TEST

START_TEST(hasher_names_parse_in_cli_and_metadata_spelling)
{
    enum ferry_hasher h;
    ck_assert_int_eq(ferry_hasher_parse("Blake2_128Concat", &h), FERRY_OK);
    ck_assert_int_eq(h, FERRY_HASHER_BLAKE2_128_CONCAT);
    ck_assert_int_eq(ferry_hasher_parse("twox64concat", &h), FERRY_OK);
    ck_assert_int_eq(h, FERRY_HASHER_TWOX64_CONCAT);
    ck_assert_int_eq(ferry_hasher_parse("Identity", &h), FERRY_OK);
    ck_assert_int_eq(h, FERRY_HASHER_IDENTITY);
    ck_assert_int_eq(ferry_hasher_parse("sha256", &h), FERRY_E_ARG);
    ck_assert_int_eq(ferry_hasher_parse("", &h), FERRY_E_ARG);
}
END_TEST

START_TEST(identity_and_concat_hashers_keep_the_key)
{
    const uint8_t k[3] = {1, 2, 3};
    uint8_t out[32];
    ck_assert_uint_eq(ferry_hasher_apply(FERRY_HASHER_IDENTITY, k, 3, out), 3);
    ck_assert_mem_eq(out, k, 3);
    ck_assert_uint_eq(ferry_hasher_apply(FERRY_HASHER_BLAKE2_128_CONCAT, k, 3, out), 19);
    ck_assert_mem_eq(out + 16, k, 3);
    uint8_t h[16];
    ferry_blake2b_128(h, k, 3);
    ck_assert_mem_eq(out, h, 16);
}
END_TEST

Suite *hash_suite(void)
{
    Suite *s = suite_create("hash");
    TCase *tc = tcase_create("vectors");
    tcase_add_test(tc, xxh64_matches_reference_values);
    tcase_add_test(tc, blake2b_128_256_512_match_vectors);
    tcase_add_test(tc, twox128_of_pallet_and_item_names);
    tcase_add_test(tc, storage_keys_match_real_keys);
    tcase_add_test(tc, hasher_names_parse_in_cli_and_metadata_spelling);
    tcase_add_test(tc, identity_and_concat_hashers_keep_the_key);
    suite_add_tcase(s, tc);
    return s;
}
