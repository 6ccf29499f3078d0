/* Metrics: the registry renders valid Prometheus text that parses back to the same samples; the
 * parser refuses malformed lines; the HTTP endpoint serves /metrics, /healthz and /readyz on
 * loopback with the right statuses. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ferry/metrics.h"
#include "testutil.h"

struct seen {
    int n;
    double relay, para, total;
    char labels[128];
};

static void collect(void *user, const char *name, const char *labels, double v)
{
    struct seen *s = user;
    s->n++;
    if (!strcmp(name, "ferry_relay_verified_height") && !strcmp(labels, "chain=\"relay\""))
        s->relay = v;
    if (!strcmp(name, "ferry_relay_verified_height") && !strcmp(labels, "chain=\"para\""))
        s->para = v;
    if (!strcmp(name, "ferry_relay_submissions_total")) {
        s->total = v;
        snprintf(s->labels, sizeof s->labels, "%s", labels);
    }
}

START_TEST(rendered_text_parses_back_to_the_same_samples)
{
    struct ferry_metrics *m = ferry_metrics_new();
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(ferry_metrics_declare(m, "ferry_relay_verified_height", FERRY_METRIC_GAUGE,
                                           "last verified block"),
                     FERRY_OK);
    ck_assert_int_eq(ferry_metrics_declare(m, "ferry_relay_submissions_total", FERRY_METRIC_COUNTER,
                                           "submissions by result\nand so"),
                     FERRY_OK);
    ck_assert_int_eq(ferry_metrics_declare(m, "bad name", FERRY_METRIC_GAUGE, ""), FERRY_E_ARG);
    ferry_metrics_set(m, "ferry_relay_verified_height", "chain=\"relay\"", 4096);
    ferry_metrics_set(m, "ferry_relay_verified_height", "chain=\"para\"", 12.5);
    ferry_metrics_add(m, "ferry_relay_submissions_total", "result=\"finalized\"", 1);
    ferry_metrics_add(m, "ferry_relay_submissions_total", "result=\"finalized\"", 2);
    ferry_metrics_set(m, "ferry_relay_lag_blocks", NULL, NAN); /* undeclared: untyped */
    bool found;
    ck_assert(ferry_metrics_get(m, "ferry_relay_submissions_total", "result=\"finalized\"",
                                &found) == 3 &&
              found);
    (void)ferry_metrics_get(m, "nope", NULL, &found);
    ck_assert(!found);
    char *text = ferry_metrics_render(m);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE ferry_relay_submissions_total counter\n"));
    ck_assert_ptr_nonnull(strstr(text, "# HELP ferry_relay_submissions_total submissions by "
                                       "result\\nand so\n"));
    ck_assert_ptr_nonnull(strstr(text, "ferry_relay_verified_height{chain=\"relay\"} 4096\n"));
    ck_assert_ptr_nonnull(strstr(text, "ferry_relay_lag_blocks NaN\n"));
    struct seen s = {0};
    struct ferry_reason why = {{0}};
    ck_assert_msg(ferry_metrics_parse(text, collect, &s, &why) == FERRY_OK, "%s", why.text);
    ck_assert_int_eq(s.n, 4);
    ck_assert(s.relay == 4096 && s.para == 12.5 && s.total == 3);
    ck_assert_str_eq(s.labels, "result=\"finalized\"");
    free(text);
    ferry_metrics_free(m);
}
END_TEST

START_TEST(parser_refuses_malformed_lines_with_the_line_number)
{
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(ferry_metrics_parse("a 1\nb{x=\"1\"} 2 1700000000000\n\n# free comment\n",
                                         NULL, NULL, &why),
                     FERRY_OK);
    ck_assert_int_eq(ferry_metrics_parse("a 1\nb\n", NULL, NULL, &why), FERRY_E_INVALID);
    ck_assert_ptr_nonnull(strstr(why.text, "line 2"));
    ck_assert_int_eq(ferry_metrics_parse("a{x=1} 1\n", NULL, NULL, &why), FERRY_E_INVALID);
    ck_assert_int_eq(ferry_metrics_parse("a{x=\"1} 1\n", NULL, NULL, &why), FERRY_E_INVALID);
    ck_assert_int_eq(ferry_metrics_parse("a 1 two\n", NULL, NULL, &why), FERRY_E_INVALID);
    ck_assert_int_eq(ferry_metrics_parse("9a 1\n", NULL, NULL, &why), FERRY_E_INVALID);
    ck_assert_int_eq(ferry_metrics_parse("# TYPE a sometype\n", NULL, NULL, &why), FERRY_E_INVALID);
    ck_assert_int_eq(ferry_metrics_parse("a{x=\"q\\\"u\"} +Inf\n", NULL, NULL, &why), FERRY_OK);
}
END_TEST

/* GET path from 127.0.0.1:port; returns the status, body into out. */
static int http_get(uint16_t port, const char *path, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    ck_assert_int_eq(write(fd, req, (size_t)n), n);
    size_t got = 0;
    ssize_t r;
    while (got < cap - 1 && (r = read(fd, out + got, cap - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = 0;
    close(fd);
    int status = 0;
    ck_assert_int_eq(sscanf(out, "HTTP/1.1 %d", &status), 1);
    char *body = strstr(out, "\r\n\r\n");
    if (body)
        memmove(out, body + 4, strlen(body + 4) + 1);
    return status;
}

START_TEST(http_endpoint_serves_metrics_health_and_readiness)
{
    struct ferry_metrics *m = ferry_metrics_new();
    ck_assert_int_eq(ferry_metrics_declare(m, "ferry_up", FERRY_METRIC_GAUGE, "up"), FERRY_OK);
    ferry_metrics_set(m, "ferry_up", NULL, 1);
    struct ferry_httpd *h;
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(ferry_httpd_start("127.0.0.1", 0, m, 1, &h, &why), FERRY_OK);
    uint16_t port = ferry_httpd_port(h);
    ck_assert_uint_gt(port, 0);
    char body[4096];
    ck_assert_int_eq(http_get(port, "/metrics", body, sizeof body), 200);
    ck_assert_ptr_nonnull(strstr(body, "ferry_up 1\n"));
    ck_assert_int_eq(ferry_metrics_parse(body, NULL, NULL, &why), FERRY_OK);
    /* starting: alive (not hung), not ready */
    ck_assert_int_eq(http_get(port, "/healthz", body, sizeof body), 200);
    ck_assert_int_eq(http_get(port, "/readyz", body, sizeof body), 503);
    ck_assert_ptr_nonnull(strstr(body, "starting"));
    ferry_metrics_heartbeat(m);
    ferry_metrics_set_ready(m, true, "worker at #100, finalized #102");
    ck_assert_int_eq(http_get(port, "/healthz", body, sizeof body), 200);
    ck_assert_int_eq(http_get(port, "/readyz", body, sizeof body), 200);
    ck_assert_ptr_nonnull(strstr(body, "#102"));
    ferry_metrics_set_ready(m, false, "worker 500 blocks behind");
    ck_assert_int_eq(http_get(port, "/readyz", body, sizeof body), 503);
    ck_assert_int_eq(http_get(port, "/nope", body, sizeof body), 404);
    /* a stall of more than stall_s (1 s) makes /healthz fail: wait on the condition */
    struct ferry_health hl;
    for (int i = 0; i < 40; i++) {
        ferry_metrics_health(m, 1, &hl);
        if (!hl.alive)
            break;
        usleep(100000);
    }
    ck_assert(!hl.alive);
    ck_assert_int_eq(http_get(port, "/healthz", body, sizeof body), 503);
    ck_assert_ptr_nonnull(strstr(body, "stalled"));
    ferry_httpd_stop(h);
    /* a taken port is reported */
    struct ferry_httpd *h2, *h3;
    ck_assert_int_eq(ferry_httpd_start("127.0.0.1", 0, m, 1, &h2, &why), FERRY_OK);
    ck_assert_int_eq(ferry_httpd_start("127.0.0.1", ferry_httpd_port(h2), m, 1, &h3, &why),
                     FERRY_E_NET);
    ck_assert_ptr_nonnull(strstr(why.text, "cannot listen"));
    ck_assert_int_eq(ferry_httpd_start("not-an-ip", 0, m, 1, &h3, &why), FERRY_E_ARG);
    ferry_httpd_stop(h2);
    ferry_metrics_free(m);
}
END_TEST

Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, rendered_text_parses_back_to_the_same_samples);
    tcase_add_test(tc, parser_refuses_malformed_lines_with_the_line_number);
    tcase_add_test(tc, http_endpoint_serves_metrics_health_and_readiness);
    suite_add_tcase(s, tc);
    return s;
}
