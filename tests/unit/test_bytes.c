/* The growable byte buffer behind both libcurl response sinks: grows across its first
 * capacity, keeps the bytes in order and NUL-terminated. */
#include <stdlib.h>
#include <string.h>

#include "ferry/bytes.h"
#include "testutil.h"

START_TEST(append_grows_keeps_order_and_terminates)
{
    struct ferry_buf b = {0};
    ck_assert_int_eq(ferry_buf_append(&b, NULL, 0), FERRY_OK);
    ck_assert_ptr_nonnull(b.p);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.p[0], 0);
    uint8_t chunk[1000];
    for (int i = 0; i < 10; i++) {
        memset(chunk, 'a' + i, sizeof chunk);
        ck_assert_int_eq(ferry_buf_append(&b, chunk, sizeof chunk), FERRY_OK);
    }
    ck_assert_uint_eq(b.len, 10000);
    ck_assert_uint_ge(b.cap, 10001);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(b.p[i * 1000 + 999], 'a' + i);
    ck_assert_uint_eq(b.p[b.len], 0);
    ck_assert_uint_eq(strlen((char *)b.p), 10000);
    free(b.p);
}
END_TEST

START_TEST(append_refuses_a_length_that_overflows)
{
    struct ferry_buf b = {0};
    ck_assert_int_eq(ferry_buf_append(&b, "x", 1), FERRY_OK);
    ck_assert_int_eq(ferry_buf_append(&b, "x", SIZE_MAX), FERRY_E_NOMEM);
    ck_assert_uint_eq(b.len, 1);
    ck_assert_uint_eq(b.p[0], 'x');
    free(b.p);
}
END_TEST

Suite *bytes_suite(void)
{
    Suite *s = suite_create("bytes");
    TCase *t = tcase_create("buf");
    tcase_add_test(t, append_grows_keeps_order_and_terminates);
    tcase_add_test(t, append_refuses_a_length_that_overflows);
    suite_add_tcase(s, t);
    return s;
}
