/* Retry delays (doubling, capped, jittered, reset on success) and failure classification into
 * transient and permanent with distinct exit statuses. */
#include <string.h>

#include "ferry/backoff.h"
#include "testutil.h"

START_TEST(delays_double_up_to_the_cap_within_the_jitter_band)
{
    struct ferry_backoff b;
    ferry_backoff_init(&b, 100, 3000, 42);
    uint32_t nominal = 100;
    for (int i = 0; i < 20; i++) {
        uint32_t d = ferry_backoff_next(&b);
        ck_assert_msg(d >= nominal / 2 && d <= nominal, "attempt %d: %u not in [%u, %u]", i, d,
                      nominal / 2, nominal);
        ck_assert_uint_le(d, 3000);
        nominal = nominal * 2 > 3000 ? 3000 : nominal * 2;
    }
    ck_assert_uint_eq(b.failures, 20);
    ferry_backoff_reset(&b);
    ck_assert_uint_le(ferry_backoff_next(&b), 100);
}
END_TEST

START_TEST(jitter_spreads_a_fleet)
{
    /* two relayers failing together do not retry in lockstep */
    struct ferry_backoff a, b;
    ferry_backoff_init(&a, 1000, 30000, 1);
    ferry_backoff_init(&b, 1000, 30000, 2);
    int same = 0;
    for (int i = 0; i < 10; i++)
        same += ferry_backoff_next(&a) == ferry_backoff_next(&b);
    ck_assert_int_lt(same, 3);
}
END_TEST

START_TEST(defaults_and_odd_limits)
{
    struct ferry_backoff b;
    ferry_backoff_init(&b, 0, 0, 0);
    ck_assert_uint_eq(b.initial_ms, 250);
    ck_assert_uint_eq(b.max_ms, 30000);
    ferry_backoff_init(&b, 5000, 10, 7);
    ck_assert_uint_eq(b.max_ms, 5000);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_le(ferry_backoff_next(&b), 5000);
    ferry_backoff_init(&b, 1, 1, 7);
    ck_assert_uint_ge(ferry_backoff_next(&b), 1); /* never 0: no busy loop */
    ferry_backoff_init(&b, 1000, UINT32_MAX, 3);
    for (int i = 0; i < 64; i++)
        (void)ferry_backoff_next(&b); /* no overflow past the cap */
    ck_assert_uint_eq(b.current_ms, UINT32_MAX);
}
END_TEST

START_TEST(failures_are_classified_by_origin)
{
    /* a node's bad data is the node's problem: another endpoint, later */
    ck_assert_int_eq(ferry_fault_classify(FERRY_ORIGIN_NODE, FERRY_E_VERIFY),
                     FERRY_FAULT_TRANSIENT);
    ck_assert_int_eq(ferry_fault_classify(FERRY_ORIGIN_NODE, FERRY_E_NET), FERRY_FAULT_TRANSIENT);
    /* the same verdict from the worker after ferry verified the input is the worker's */
    ck_assert_int_eq(ferry_fault_classify(FERRY_ORIGIN_WORKER, FERRY_E_VERIFY), FERRY_FAULT_WORKER);
    ck_assert_int_eq(ferry_fault_classify(FERRY_ORIGIN_WORKER, FERRY_E_NET), FERRY_FAULT_TRANSIENT);
    ck_assert_int_eq(ferry_fault_classify(FERRY_ORIGIN_WORKER, FERRY_E_RPC), FERRY_FAULT_TRANSIENT);
    ck_assert_int_eq(ferry_fault_classify(FERRY_ORIGIN_CHAIN, FERRY_E_NOT_FOUND),
                     FERRY_FAULT_CHAIN);
    ck_assert_int_eq(ferry_fault_classify(FERRY_ORIGIN_CHAIN, FERRY_E_TIMEOUT),
                     FERRY_FAULT_TRANSIENT);
    ck_assert_int_eq(ferry_fault_classify(FERRY_ORIGIN_STORE, FERRY_E_IO), FERRY_FAULT_IO);
    ck_assert_int_eq(ferry_fault_classify(FERRY_ORIGIN_CONFIG, FERRY_E_ARG), FERRY_FAULT_USAGE);
    ck_assert_int_eq(ferry_fault_classify(FERRY_ORIGIN_CONFIG, FERRY_E_IO), FERRY_FAULT_IO);
    ck_assert_int_eq(ferry_fault_classify(FERRY_ORIGIN_NODE, FERRY_E_NOMEM), FERRY_FAULT_INTERNAL);
    ck_assert_int_eq(ferry_fault_classify(FERRY_ORIGIN_WORKER, FERRY_OK), FERRY_FAULT_NONE);
}
END_TEST

START_TEST(permanent_classes_have_distinct_exit_statuses)
{
    int seen[16] = {0};
    for (int c = FERRY_FAULT_USAGE; c <= FERRY_FAULT_INTERNAL; c++) {
        ck_assert(ferry_fault_is_permanent((enum ferry_fault_class)c));
        int st = ferry_fault_exit_status((enum ferry_fault_class)c);
        ck_assert_int_gt(st, 1);
        ck_assert_int_lt(st, 16);
        ck_assert_int_eq(seen[st], 0);
        seen[st] = 1;
        ck_assert_str_ne(ferry_fault_name((enum ferry_fault_class)c), "");
    }
    ck_assert(!ferry_fault_is_permanent(FERRY_FAULT_TRANSIENT));
    ck_assert(!ferry_fault_is_permanent(FERRY_FAULT_NONE));
    ck_assert_int_eq(ferry_fault_exit_status(FERRY_FAULT_NONE), 0);
    ck_assert_str_eq(ferry_fault_name(FERRY_FAULT_CHAIN), "chain");
}
END_TEST

Suite *backoff_suite(void)
{
    Suite *s = suite_create("backoff");
    TCase *tc = tcase_create("backoff");
    tcase_add_test(tc, delays_double_up_to_the_cap_within_the_jitter_band);
    tcase_add_test(tc, jitter_spreads_a_fleet);
    tcase_add_test(tc, defaults_and_odd_limits);
    tcase_add_test(tc, failures_are_classified_by_origin);
    tcase_add_test(tc, permanent_classes_have_distinct_exit_statuses);
    suite_add_tcase(s, tc);
    return s;
}
