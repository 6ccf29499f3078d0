/* Building a request's params array (jsonrpc.h): hex, numbers, strings (escaped), null, nesting,
 * and growth past the inline buffer; the text always parses as the JSON array it spells. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/jsonrpc.h"

START_TEST(params_spell_hex_numbers_strings_null_and_nested_arrays)
{
    struct ferry_rpc_params p;
    const uint8_t key[3] = {0x00, 0xab, 0xff};
    ferry_rpc_params_init(&p);
    ck_assert_str_eq(ferry_rpc_params_text(&p), "[]");
    ferry_rpc_params_free(&p);

    ferry_rpc_params_init(&p);
    ferry_rpc_params_array_begin(&p);
    ferry_rpc_params_hex(&p, key, sizeof key);
    ferry_rpc_params_hex(&p, key, 0);
    ferry_rpc_params_array_end(&p);
    ferry_rpc_params_u64(&p, 18446744073709551615ull);
    ferry_rpc_params_null(&p);
    ferry_rpc_params_string(&p, "a\"b\\c\n");
    ferry_rpc_params_raw(&p, "{\"k\":1}");
    ck_assert_str_eq(
        ferry_rpc_params_text(&p),
        "[[\"0x00abff\",\"0x\"],18446744073709551615,null,\"a\\\"b\\\\c\\u000a\",{\"k\":1}]");
    ferry_rpc_params_free(&p);
}
END_TEST

START_TEST(params_grow_past_the_inline_buffer_and_close_open_arrays)
{
    enum { N = 5000 };
    uint8_t *big = malloc(N);
    ck_assert_ptr_nonnull(big);
    memset(big, 0x5a, N);
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    ferry_rpc_params_array_begin(&p);
    for (int i = 0; i < 20; i++)
        ferry_rpc_params_hex(&p, big, N);
    const char *text = ferry_rpc_params_text(&p); /* closes the inner array */
    ck_assert_ptr_nonnull(text);
    cJSON *j = cJSON_Parse(text);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(cJSON_GetArraySize(j), 1);
    cJSON *inner = cJSON_GetArrayItem(j, 0);
    ck_assert_int_eq(cJSON_GetArraySize(inner), 20);
    ck_assert_int_eq((int)strlen(cJSON_GetArrayItem(inner, 19)->valuestring), 2 + 2 * N);
    cJSON_Delete(j);
    ferry_rpc_params_free(&p);
    free(big);
}
END_TEST

Suite *rpc_params_suite(void)
{
    Suite *s = suite_create("rpc_params");
    TCase *tc = tcase_create("build");
    tcase_add_test(tc, params_spell_hex_numbers_strings_null_and_nested_arrays);
    tcase_add_test(tc, params_grow_past_the_inline_buffer_and_close_open_arrays);
    suite_add_tcase(s, tc);
    return s;
}
