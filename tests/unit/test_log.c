/* The logger: lines go to an installed sink (in the configured format, with level and component)
 * instead of stderr, levels above the threshold are dropped, and NULL restores stderr. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "ferry/log.h"

struct captured {
    int n;
    enum ferry_log_level level;
    char component[32];
    char line[512];
};

static void capture(void *user, enum ferry_log_level level, const char *component, const char *line)
{
    struct captured *c = user;
    c->n++;
    c->level = level;
    snprintf(c->component, sizeof c->component, "%s", component);
    snprintf(c->line, sizeof c->line, "%s", line);
}

START_TEST(a_sink_receives_each_line_instead_of_stderr)
{
    struct captured got = {0};
    enum ferry_log_level saved = ferry_log_get_level();
    ferry_log_set_level(FERRY_LOG_INFO);
    ferry_log_set_sink(capture, &got);
    ferry_log_warn("relay", "worker at %s is behind by %d blocks", "127.0.0.1:8000", 7);
    ferry_log_debug("relay", "not shown at info");
    ck_assert_int_eq(got.n, 1);
    ck_assert_int_eq(got.level, FERRY_LOG_WARN);
    ck_assert_str_eq(got.component, "relay");
    ck_assert_ptr_nonnull(strstr(got.line, "WARN  relay: worker at 127.0.0.1:8000 is behind by 7"));
    ck_assert_ptr_null(strchr(got.line, '\n'));

    ferry_log_set_json(true);
    ferry_log_info("lc", "a \"quoted\" word");
    ferry_log_set_json(false);
    ck_assert_int_eq(got.n, 2);
    cJSON *j = cJSON_Parse(got.line);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "level")->valuestring, "info");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "component")->valuestring, "lc");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "msg")->valuestring, "a \"quoted\" word");
    cJSON_Delete(j);

    ferry_log_set_sink(NULL, NULL);
    ferry_log_set_level(FERRY_LOG_ERROR);
    ferry_log_error("test", "this line goes to stderr, not to the sink");
    ck_assert_int_eq(got.n, 2);
    ferry_log_set_level(saved);
}
END_TEST

Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("sink");
    tcase_add_test(tc, a_sink_receives_each_line_instead_of_stderr);
    suite_add_tcase(s, tc);
    return s;
}
