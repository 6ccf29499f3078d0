/* The relayer's configuration: defaults, the JSON file with "//" comments, flags over the file,
 * unknown settings refused, validation of combinations, and the round trip through
 * --print-config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/relayconf.h"
#include "testutil.h"

static void defaults(struct ferry_relay_config *c)
{
    ck_assert_int_eq(ferry_relay_config_defaults(c), FERRY_OK);
}

static ferry_err load(struct ferry_relay_config *c, const char *json, struct ferry_reason *why)
{
    return ferry_relay_config_load_json(c, json, strlen(json), why);
}

START_TEST(defaults_are_safe_and_loopback)
{
    struct ferry_relay_config c;
    defaults(&c);
    ck_assert_str_eq(c.worker_url, "http://127.0.0.1:8000");
    ck_assert_str_eq(c.metrics_addr, "127.0.0.1:9616");
    ck_assert_str_eq(c.key_scheme, "sr25519");
    ck_assert(c.do_register && c.egress);
    ck_assert_uint_eq(c.mortality, 64);
    ck_assert_uint_eq(c.relay_url.n, 0);
    struct ferry_reason why = {{0}};
    /* no node configured: refused with the flag to use */
    ck_assert_int_eq(ferry_relay_config_validate(&c, &why), FERRY_E_ARG);
    ck_assert_ptr_nonnull(strstr(why.text, "--relay-url"));
    ferry_relay_config_free(&c);
}
END_TEST

START_TEST(file_with_comments_sets_values)
{
    struct ferry_relay_config c;
    defaults(&c);
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(load(&c,
                          "{\"//\": \"a comment\", \"// relay_url\": \"why two nodes\","
                          " \"relay_url\": [\"ws://a:9944\", \"wss://b\"],"
                          " \"para_url\": \"ws://p:9988\", \"para_id\": 2000,"
                          " \"register\": false, \"tip\": 5, \"key_file\": \"k\"}",
                          &why),
                     FERRY_OK);
    ck_assert_uint_eq(c.relay_url.n, 2);
    ck_assert_str_eq(c.relay_url.v[1], "wss://b");
    ck_assert_uint_eq(c.para_url.n, 1);
    ck_assert_uint_eq(c.para_id, 2000);
    ck_assert(!c.do_register);
    ck_assert_str_eq(c.tip, "5");
    ck_assert_int_eq(ferry_relay_config_validate(&c, &why), FERRY_OK);
    ferry_relay_config_free(&c);
}
END_TEST

START_TEST(unknown_or_mistyped_settings_are_refused_by_name)
{
    struct ferry_relay_config c;
    defaults(&c);
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(load(&c, "{\"relay_urls\": []}", &why), FERRY_E_ARG);
    ck_assert_ptr_nonnull(strstr(why.text, "relay_urls"));
    ck_assert_int_eq(load(&c, "{\"para_id\": -1}", &why), FERRY_E_ARG);
    ck_assert_ptr_nonnull(strstr(why.text, "para_id"));
    ck_assert_int_eq(load(&c, "{\"para_id\": 1.5}", &why), FERRY_E_ARG);
    ck_assert_int_eq(load(&c, "{\"register\": \"yes\"}", &why), FERRY_E_ARG);
    ck_assert_int_eq(load(&c, "{\"relay_url\": [1]}", &why), FERRY_E_ARG);
    ck_assert_int_eq(load(&c, "{\"config\": \"x\"}", &why), FERRY_E_ARG); /* flag-only */
    ck_assert_int_eq(load(&c, "[1]", &why), FERRY_E_JSON);
    ck_assert_int_eq(load(&c, "{\"relay_url\": ", &why), FERRY_E_JSON);
    ferry_relay_config_free(&c);
}
END_TEST

START_TEST(flags_win_over_the_file_and_lists_are_replaced)
{
    struct ferry_relay_config c;
    defaults(&c);
    ck_assert_int_eq(load(&c,
                          "{\"relay_url\": [\"ws://file1\", \"ws://file2\"], \"mortality\": 32,"
                          " \"egress\": true}",
                          NULL),
                     FERRY_OK);
    char *argv[] = {"relay",       "--relay-url=ws://flag1",
                    "--relay-url", "ws://flag2",
                    "--mortality", "128",
                    "--no-egress", "--config",
                    "f.json",      "--log-format",
                    "json",        "--check"};
    int argc = (int)(sizeof argv / sizeof argv[0]);
    ck_assert_str_eq(ferry_relay_config_find_file(argc, argv), "f.json");
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(ferry_relay_config_apply_args(&c, argc, argv, &why), FERRY_OK);
    ck_assert_uint_eq(c.relay_url.n, 2);
    ck_assert_str_eq(c.relay_url.v[0], "ws://flag1");
    ck_assert_str_eq(c.relay_url.v[1], "ws://flag2");
    ck_assert_uint_eq(c.mortality, 128);
    ck_assert(!c.egress);
    ck_assert(c.check);
    ck_assert_str_eq(c.log_format, "json");
    ferry_relay_config_free(&c);
}
END_TEST

START_TEST(bad_flags_say_which)
{
    struct ferry_relay_config c;
    defaults(&c);
    struct ferry_reason why = {{0}};
    char *a1[] = {"relay", "--relay-ur", "x"};
    ck_assert_int_eq(ferry_relay_config_apply_args(&c, 3, a1, &why), FERRY_E_ARG);
    ck_assert_ptr_nonnull(strstr(why.text, "--relay-ur"));
    char *a2[] = {"relay", "--para-id"};
    ck_assert_int_eq(ferry_relay_config_apply_args(&c, 2, a2, &why), FERRY_E_ARG);
    ck_assert_ptr_nonnull(strstr(why.text, "needs a value"));
    char *a3[] = {"relay", "--para-id", "x12"};
    ck_assert_int_eq(ferry_relay_config_apply_args(&c, 3, a3, &why), FERRY_E_ARG);
    char *a4[] = {"relay", "--no-para-id"};
    ck_assert_int_eq(ferry_relay_config_apply_args(&c, 2, a4, &why), FERRY_E_ARG);
    char *a5[] = {"relay", "positional"};
    ck_assert_int_eq(ferry_relay_config_apply_args(&c, 2, a5, &why), FERRY_E_ARG);
    char *a6[] = {"relay", "--mortality", "70000"};
    ck_assert_int_eq(ferry_relay_config_apply_args(&c, 3, a6, &why), FERRY_E_ARG);
    ferry_relay_config_free(&c);
}
END_TEST

static ferry_err validate_with(const char *json, struct ferry_reason *why)
{
    struct ferry_relay_config c;
    defaults(&c);
    ferry_err err = load(&c, "{\"relay_url\": \"ws://n\", \"key_file\": \"k\"}", NULL);
    ck_assert_int_eq(err, FERRY_OK);
    err = load(&c, json, why);
    if (!err)
        err = ferry_relay_config_validate(&c, why);
    ferry_relay_config_free(&c);
    return err;
}

START_TEST(validation_catches_bad_combinations)
{
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(validate_with("{}", &why), FERRY_OK);
    ck_assert_int_eq(validate_with("{\"relay_url\": \"http://n\"}", &why), FERRY_E_ARG);
    ck_assert_int_eq(validate_with("{\"worker_url\": \"ws://w\"}", &why), FERRY_E_ARG);
    ck_assert_int_eq(validate_with("{\"key_file\": null}", &why), FERRY_E_ARG);
    ck_assert_ptr_nonnull(strstr(why.text, "--no-register --no-egress"));
    ck_assert_int_eq(
        validate_with("{\"key_file\": null, \"register\": false, \"egress\": false}", &why),
        FERRY_OK);
    ck_assert_int_eq(validate_with("{\"key_scheme\": \"rsa\"}", &why), FERRY_E_ARG);
    ck_assert_int_eq(validate_with("{\"attestation\": \"epid\"}", &why), FERRY_E_ARG);
    ck_assert_int_eq(validate_with("{\"mortality\": 2}", &why), FERRY_E_ARG);
    ck_assert_int_eq(validate_with("{\"mortality\": 0}", &why), FERRY_OK);
    ck_assert_int_eq(validate_with("{\"tip\": \"-1\"}", &why), FERRY_E_ARG);
    ck_assert_int_eq(validate_with("{\"tip\": \"340282366920938463463374607431768211456\"}", &why),
                     FERRY_E_ARG);
    ck_assert_int_eq(validate_with("{\"tip\": \"340282366920938463463374607431768211455\"}", &why),
                     FERRY_OK);
    ck_assert_int_eq(validate_with("{\"expect_genesis\": \"0x12\"}", &why), FERRY_E_ARG);
    ck_assert_int_eq(validate_with("{\"expect_para_genesis\": \"0x00000000000000000000000000000"
                                   "00000000000000000000000000000000000\"}",
                                   &why),
                     FERRY_E_ARG); /* needs parachain mode */
    ck_assert_int_eq(validate_with("{\"metrics_addr\": \"off\"}", &why), FERRY_OK);
    ck_assert_int_eq(validate_with("{\"metrics_addr\": \"0.0.0.0:1\"}", &why), FERRY_OK);
    ck_assert_int_eq(validate_with("{\"metrics_addr\": \"127.0.0.1\"}", &why), FERRY_E_ARG);
    ck_assert_int_eq(validate_with("{\"metrics_addr\": \"host:99999\"}", &why), FERRY_E_ARG);
    ck_assert_int_eq(validate_with("{\"log_level\": \"trace\"}", &why), FERRY_E_ARG);
}
END_TEST

START_TEST(print_config_output_loads_back_identically)
{
    struct ferry_relay_config c, d;
    defaults(&c);
    defaults(&d);
    ck_assert_int_eq(
        load(&c, "{\"relay_url\": [\"ws://a\"], \"para_id\": 7, \"tip\": \"9\"}", NULL), FERRY_OK);
    cJSON *j = ferry_relay_config_to_json(&c);
    ck_assert_ptr_nonnull(j);
    char *text = cJSON_PrintUnformatted(j);
    struct ferry_reason why = {{0}};
    ck_assert_msg(load(&d, text, &why) == FERRY_OK, "%s", why.text);
    cJSON *j2 = ferry_relay_config_to_json(&d);
    char *text2 = cJSON_PrintUnformatted(j2);
    ck_assert_str_eq(text, text2);
    free(text);
    free(text2);
    cJSON_Delete(j);
    cJSON_Delete(j2);
    ferry_relay_config_free(&c);
    ferry_relay_config_free(&d);
    /* every setting appears in the help */
    const char *help = ferry_relay_config_help();
    ck_assert_ptr_nonnull(strstr(help, "--relay-url VALUE"));
    ck_assert_ptr_nonnull(strstr(help, "--[no-]egress"));
}
END_TEST

START_TEST(the_example_config_in_the_repository_is_valid)
{
    struct ferry_relay_config c;
    defaults(&c);
    struct ferry_reason why = {{0}};
    ferry_err err = ferry_relay_config_load_file(&c, "config/ferry-relay.example.json", &why);
    ck_assert_msg(err == FERRY_OK, "%s", why.text);
    ck_assert_msg(ferry_relay_config_validate(&c, &why) == FERRY_OK, "%s", why.text);
    ferry_relay_config_free(&c);
    defaults(&c);
    ck_assert_int_eq(ferry_relay_config_load_file(&c, "/nonexistent/relay.json", &why), FERRY_E_IO);
    ferry_relay_config_free(&c);
}
END_TEST

START_TEST(hostport_parsing)
{
    char host[64];
    uint16_t port;
    ck_assert_int_eq(ferry_parse_hostport("127.0.0.1:9616", host, sizeof host, &port), FERRY_OK);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_uint_eq(port, 9616);
    ck_assert_int_eq(ferry_parse_hostport("localhost:1", host, sizeof host, &port), FERRY_OK);
    ck_assert_int_eq(ferry_parse_hostport(":80", host, sizeof host, &port), FERRY_E_ARG);
    ck_assert_int_eq(ferry_parse_hostport("1.2.3.4:0", host, sizeof host, &port),
                     FERRY_OK); /* any free port */
    ck_assert_int_eq(ferry_parse_hostport("1.2.3.4:65536", host, sizeof host, &port), FERRY_E_ARG);
    ck_assert_int_eq(ferry_parse_hostport("1.2.3.256:8", host, sizeof host, &port), FERRY_E_ARG);
    ck_assert_int_eq(ferry_parse_hostport("example.org:8", host, sizeof host, &port), FERRY_E_ARG);
}
END_TEST

Suite *relayconf_suite(void)
{
    Suite *s = suite_create("relayconf");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults_are_safe_and_loopback);
    tcase_add_test(tc, file_with_comments_sets_values);
    tcase_add_test(tc, unknown_or_mistyped_settings_are_refused_by_name);
    tcase_add_test(tc, flags_win_over_the_file_and_lists_are_replaced);
    tcase_add_test(tc, bad_flags_say_which);
    tcase_add_test(tc, validation_catches_bad_combinations);
    tcase_add_test(tc, print_config_output_loads_back_identically);
    tcase_add_test(tc, the_example_config_in_the_repository_is_valid);
    tcase_add_test(tc, hostport_parsing);
    suite_add_tcase(s, tc);
    return s;
}
