/* The node source (source.h) against the scripted JSON-RPC server (rpcserver.h): what it refuses
 * from a node that answers for something else, endpoint rotation and stop-aware backoff. The
 * source's batches against a real chain are covered by the follow integration tests. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/hex.h"
#include "ferry/source.h"
#include "rpcserver.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct fixture {
    struct tu_rpcserver *srv;
    char url[64];
    const char *urls[1];
    struct ferry_source *s;
};

static void setup(struct fixture *f, volatile sig_atomic_t *stop)
{
    memset(f, 0, sizeof *f);
    f->srv = tu_rpcserver_start(0);
    ck_assert_ptr_nonnull(f->srv);
    snprintf(f->url, sizeof f->url, "ws://127.0.0.1:%d", tu_rpcserver_port(f->srv));
    f->urls[0] = f->url;
    struct ferry_source_config c = {0};
    c.urls = f->urls;
    c.n_urls = 1;
    c.timeout_ms = 5000;
    c.stop = stop;
    c.log_label = "test";
    struct ferry_reason why;
    ck_assert_int_eq(ferry_source_open(&c, &f->s, &why), FERRY_OK);
}

static void teardown(struct fixture *f)
{
    ferry_source_close(f->s);
    tu_rpcserver_stop(f->srv);
}

/* The fixed header the server answers chain_getHeader with. */
static void fixed_header(struct ferry_header *h)
{
    uint8_t *b;
    size_t n;
    ck_assert_int_eq(ferry_header_json_to_scale(tu_rpcserver_header_json, &b, &n, NULL), FERRY_OK);
    ck_assert_int_eq(ferry_header_decode(h, b, n, NULL), FERRY_OK);
    free(b);
}

START_TEST(open_needs_a_url)
{
    struct ferry_source_config c = {0};
    struct ferry_source *s = (struct ferry_source *)1;
    struct ferry_reason why;
    ck_assert_int_eq(ferry_source_open(&c, &s, &why), FERRY_E_ARG);
    ck_assert_ptr_null(s);
}
END_TEST

START_TEST(queries_refuse_other_answers)
{
    struct fixture f;
    setup(&f, NULL);
    struct ferry_reason why;
    uint8_t g[32], want[32];
    memset(want, 0, 32);
    ck_assert_int_eq(ferry_source_genesis(f.s, g, &why), FERRY_OK);
    ck_assert_int_eq(memcmp(g, want, 32), 0); /* the server's hash for block 0 */

    struct ferry_header fixed, h;
    fixed_header(&fixed);
    ck_assert_int_eq(ferry_source_header(f.s, fixed.hash, &h, &why), FERRY_OK);
    ck_assert_int_eq(memcmp(h.hash, fixed.hash, 32), 0);
    ferry_header_free(&h);
    /* asked for another hash, the server still answers #42: a lie */
    uint8_t other[32] = {7};
    ck_assert_int_eq(ferry_source_header(f.s, other, &h, &why), FERRY_E_VERIFY);
    ck_assert_ptr_nonnull(strstr(why.text, "another header"));
    ck_assert_ptr_null(h.encoded);

    /* the finalized head's header does not hash to the finalized head */
    uint32_t n;
    ck_assert_int_eq(ferry_source_finalized(f.s, &n, NULL, &why), FERRY_E_VERIFY);
    ck_assert_ptr_nonnull(strstr(why.text, "finalized head"));

    /* headers walked back: nothing, or the top alone, need no fetch */
    struct ferry_header *chain;
    size_t cn;
    ck_assert_int_eq(ferry_source_headers_back(f.s, &fixed, 43, &chain, &cn, &why), FERRY_OK);
    ck_assert_uint_eq(cn, 0);
    ck_assert_int_eq(ferry_source_headers_back(f.s, &fixed, 42, &chain, &cn, &why), FERRY_OK);
    ck_assert_uint_eq(cn, 1);
    ck_assert_int_eq(memcmp(chain[0].hash, fixed.hash, 32), 0);
    ferry_header_free(&chain[0]);
    free(chain);
    /* one below: the parent the server answers is #42 again, not the parent */
    ck_assert_int_eq(ferry_source_headers_back(f.s, &fixed, 41, &chain, &cn, &why), FERRY_E_VERIFY);
    ck_assert_ptr_null(chain);

    /* read proof: the server's two entries */
    uint8_t key[2] = {1, 2};
    struct ferry_bytes k = {key, 2};
    struct ferry_trie_proof *p;
    ck_assert_int_eq(ferry_source_read_proof(f.s, &k, 1, fixed.hash, &p, &why), FERRY_OK);
    ck_assert_uint_eq(ferry_trie_proof_count(p), 2);
    ferry_trie_proof_free(p);

    /* a finality proof that does not decode is a lie, not a retry */
    struct ferry_authority a = {{1}, 1};
    struct ferry_authority_set set;
    ck_assert_int_eq(ferry_authority_set_init(&set, 0, &a, 1, 42, fixed.hash), FERRY_OK);
    struct ferry_source_batch b;
    ck_assert_int_eq(ferry_source_relay_batch(f.s, &set, &b, &why), FERRY_E_VERIFY);
    ck_assert_ptr_nonnull(strstr(why.text, "#43"));
    ck_assert_uint_eq(b.n, 0);
    ck_assert_ptr_null(b.justification);
    ferry_authority_set_free(&set);
    ferry_header_free(&fixed);
    teardown(&f);
}
END_TEST

/* A header #number whose parent is parent (decoded: its hash is that of its encoding). */
static void make_header(struct ferry_header *h, uint32_t number, const uint8_t parent[32])
{
    char ph[67], json[512];
    ferry_hex_encode(parent, 32, ph);
    snprintf(json, sizeof json,
             "{\"parentHash\":\"%s\",\"number\":\"0x%x\",\"stateRoot\":\"0x%064x\","
             "\"extrinsicsRoot\":\"0x%064x\",\"digest\":{\"logs\":[]}}",
             ph, number, number, 0);
    uint8_t *b;
    size_t n;
    ck_assert_int_eq(ferry_header_json_to_scale(json, &b, &n, NULL), FERRY_OK);
    ck_assert_int_eq(ferry_header_decode(h, b, n, NULL), FERRY_OK);
    free(b);
}

/* Have the server answer grandpa_proveFinality with a proof of hs[n] for target (number, hash),
 * a justification without precommits (the source does not verify it: lc does). */
static void serve_proof(struct tu_rpcserver *srv, const struct ferry_header *hs, size_t n,
                        uint32_t target, const uint8_t target_hash[32])
{
    struct ferry_grandpa_justification j = {0};
    j.round = 1;
    j.target_number = target;
    memcpy(j.target_hash, target_hash, 32);
    struct ferry_scale_writer jw, w;
    ferry_scale_writer_init(&jw);
    ferry_grandpa_justification_encode(&j, &jw);
    ferry_scale_writer_init(&w);
    ferry_scale_put_bytes(&w, target_hash, 32);
    ferry_scale_put_compact(&w, jw.len);
    ferry_scale_put_bytes(&w, jw.buf, jw.len);
    ferry_scale_put_compact(&w, n);
    for (size_t i = 0; i < n; i++)
        ferry_scale_put_bytes(&w, hs[i].encoded, hs[i].encoded_len);
    ck_assert_int_eq(ferry_scale_writer_error(&w), FERRY_OK);
    char *hex = malloc(2 * w.len + 3);
    ck_assert_ptr_nonnull(hex);
    ferry_hex_encode(w.buf, w.len, hex);
    tu_rpcserver_set_proof(srv, hex);
    free(hex);
    ferry_scale_writer_free(&w);
    ferry_scale_writer_free(&jw);
}

/* Read a whole stream; returns the error that ended it (FERRY_E_NOT_FOUND: the end) and the
 * numbers handed out in got[], *n_got. */
static ferry_err drain(struct ferry_source_stream *st, uint32_t *got, size_t *n_got,
                       struct ferry_reason *why)
{
    *n_got = 0;
    for (;;) {
        struct ferry_header h;
        ferry_err err = ferry_source_stream_next(st, &h, why);
        if (err) {
            ck_assert_ptr_null(h.encoded);
            return err;
        }
        ck_assert_uint_lt(*n_got, 8);
        got[(*n_got)++] = h.number;
        ferry_header_free(&h);
    }
}

START_TEST(streamed_batches_are_the_blocks_after_in_order_up_to_the_target)
{
    struct fixture f;
    setup(&f, NULL);
    struct ferry_header fixed, hs[4];
    fixed_header(&fixed); /* #42, the last verified block */
    make_header(&hs[0], 43, fixed.hash);
    make_header(&hs[1], 44, hs[0].hash);
    make_header(&hs[2], 45, hs[1].hash);
    make_header(&hs[3], 46, hs[2].hash);
    struct ferry_authority a = {{1}, 1};
    struct ferry_authority_set set;
    ck_assert_int_eq(ferry_authority_set_init(&set, 0, &a, 1, 42, fixed.hash), FERRY_OK);
    struct ferry_reason why;
    struct ferry_source_stream *st;
    uint32_t got[8];
    size_t n;
    uint8_t top[32];

    /* #43..#45 for a justification of #45 (and a header past it, ignored) */
    serve_proof(f.srv, hs, 4, 45, hs[2].hash);
    ck_assert_int_eq(ferry_source_relay_stream(f.s, &set, &st, &why), FERRY_OK);
    ck_assert_uint_eq(ferry_source_stream_top(st, top), 45);
    ck_assert_int_eq(memcmp(top, hs[2].hash, 32), 0);
    size_t jl;
    ck_assert_ptr_nonnull(ferry_source_stream_justification(st, &jl));
    ck_assert_uint_gt(jl, 0);
    ck_assert_int_eq(drain(st, got, &n, &why), FERRY_E_NOT_FOUND);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(got[0], 43);
    ck_assert_uint_eq(got[2], 45);
    ferry_source_stream_free(st);
    /* the same proof as a whole batch (ferry relay's API) */
    struct ferry_source_batch b;
    ck_assert_int_eq(ferry_source_relay_batch(f.s, &set, &b, &why), FERRY_OK);
    ck_assert_uint_eq(b.n, 3);
    ck_assert_uint_eq(b.headers[2].number, 45);
    ferry_source_batch_free(&b);
    /* after (number, hash), as the prefetch asks */
    ck_assert_int_eq(ferry_source_relay_stream_after(f.s, 42, fixed.hash, &st, &why), FERRY_OK);
    ck_assert_int_eq(drain(st, got, &n, &why), FERRY_E_NOT_FOUND);
    ck_assert_uint_eq(n, 3);
    ferry_source_stream_free(st);

    /* a block skipped: refused where it happens */
    struct ferry_header gap[2] = {hs[0], hs[2]};
    serve_proof(f.srv, gap, 2, 45, hs[2].hash);
    ck_assert_int_eq(ferry_source_relay_stream(f.s, &set, &st, &why), FERRY_OK);
    ck_assert_int_eq(drain(st, got, &n, &why), FERRY_E_INVALID);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_nonnull(strstr(why.text, "in order"));
    ferry_source_stream_free(st);

    /* the target's header is another block than the justification's */
    uint8_t other[32] = {9};
    serve_proof(f.srv, hs, 3, 45, other);
    ck_assert_int_eq(ferry_source_relay_stream(f.s, &set, &st, &why), FERRY_OK);
    ck_assert_int_eq(drain(st, got, &n, &why), FERRY_E_INVALID);
    ck_assert_uint_eq(n, 2);
    ferry_source_stream_free(st);

    /* the headers end below the target */
    serve_proof(f.srv, hs, 2, 45, hs[2].hash);
    ck_assert_int_eq(ferry_source_relay_stream(f.s, &set, &st, &why), FERRY_OK);
    ck_assert_int_eq(drain(st, got, &n, &why), FERRY_E_INVALID);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_nonnull(strstr(why.text, "end at"));
    ferry_source_stream_free(st);

    /* Substrate's shape (from #44): #43 is fetched by hash, and this server answers #42 */
    serve_proof(f.srv, hs + 1, 2, 45, hs[2].hash);
    ck_assert_int_eq(ferry_source_relay_stream(f.s, &set, &st, &why), FERRY_E_VERIFY);
    ck_assert_ptr_null(st);

    /* a target at or below the verified block, or too far */
    serve_proof(f.srv, hs, 3, 42, fixed.hash);
    ck_assert_int_eq(ferry_source_relay_stream(f.s, &set, &st, &why), FERRY_E_VERIFY);
    serve_proof(f.srv, hs, 3, 42 + 100001, hs[2].hash); /* past MAX_BATCH */
    ck_assert_int_eq(ferry_source_relay_stream(f.s, &set, &st, &why), FERRY_E_VERIFY);

    for (size_t i = 0; i < 4; i++)
        ferry_header_free(&hs[i]);
    ferry_authority_set_free(&set);
    ferry_header_free(&fixed);
    teardown(&f);
}
END_TEST

START_TEST(rotation_and_backoff)
{
    const char *urls[3] = {"ws://127.0.0.1:1", "ws://127.0.0.1:2", "ws://127.0.0.1:3"};
    volatile sig_atomic_t stop = 0;
    struct ferry_source_config c = {0};
    c.urls = urls;
    c.n_urls = 3;
    c.stop = &stop;
    struct ferry_source *s;
    struct ferry_reason why;
    ck_assert_int_eq(ferry_source_open(&c, &s, &why), FERRY_OK);
    ck_assert_str_eq(ferry_source_url(s), urls[0]);
    ferry_source_penalise(s, "test lie");
    ck_assert_str_eq(ferry_source_url(s), urls[1]);
    ferry_source_penalise(s, "test lie");
    ferry_source_penalise(s, "test lie");
    ck_assert_str_eq(ferry_source_url(s), urls[0]);
    /* backoff grows from ~250 ms; a stop request cuts it short */
    double t0 = now_s();
    ferry_source_backoff(s);
    double first = now_s() - t0;
    ck_assert(first >= 0.1 && first < 1.0);
    ck_assert(!ferry_source_stopped(s));
    stop = 1;
    ck_assert(ferry_source_stopped(s));
    t0 = now_s();
    for (int i = 0; i < 10; i++)
        ferry_source_backoff(s); /* would be seconds without the stop */
    ck_assert(now_s() - t0 < 0.5);
    ferry_source_backoff_reset(s);
    ferry_source_close(s);
}
END_TEST

START_TEST(pipelined_read_proofs_and_pushed_tip)
{
    struct fixture f;
    setup(&f, NULL);
    struct ferry_reason why;
    uint8_t key[2] = {1, 2};
    struct ferry_bytes k = {key, 2};
    uint8_t at[3][32] = {{1}, {2}, {3}};
    /* all sent before any answer is awaited; each answer is the server's two entries */
    struct ferry_source_proof_req *q[3];
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(ferry_source_read_proof_send(f.s, &k, 1, at[i], &q[i], &why), FERRY_OK);
        ck_assert_int_eq(memcmp(ferry_source_proof_req_at(q[i]), at[i], 32), 0);
    }
    for (int i = 0; i < 2; i++) {
        struct ferry_bytes_list nodes;
        ck_assert_int_eq(ferry_source_read_proof_wait(q[i], &nodes, &why), FERRY_OK);
        ck_assert_uint_eq(nodes.n, 2);
        ferry_bytes_list_free(&nodes);
    }
    ferry_source_read_proof_cancel(q[2]);
    ferry_source_read_proof_cancel(NULL);

    /* requests outlive the source's switch to another endpoint: the connection they were sent
     * on stays open until they are collected (one answered before the switch, one maybe not) */
    struct ferry_source_proof_req *early, *late;
    ck_assert_int_eq(ferry_source_read_proof_send(f.s, &k, 1, at[0], &early, &why), FERRY_OK);
    uint8_t g[32]; /* the server answers in order: once this is answered, so is `early` */
    ck_assert_int_eq(ferry_source_genesis(f.s, g, &why), FERRY_OK);
    ck_assert_int_eq(ferry_source_read_proof_send(f.s, &k, 1, at[1], &late, &why), FERRY_OK);
    ferry_source_penalise(f.s, "test");
    struct ferry_bytes_list nodes;
    ck_assert_int_eq(ferry_source_read_proof_wait(early, &nodes, &why), FERRY_OK);
    ck_assert_uint_eq(nodes.n, 2);
    ferry_bytes_list_free(&nodes);
    ck_assert_int_eq(ferry_source_read_proof_wait(late, &nodes, &why), FERRY_OK);
    ck_assert_uint_eq(nodes.n, 2);
    ferry_bytes_list_free(&nodes);

    /* the pushed tip: none before a subscription; rising numbers after, without consuming */
    uint32_t n = 0, n2 = 0;
    uint8_t h[32];
    ck_assert(!ferry_source_pushed_tip(f.s, &n, h));
    double end = now_s() + 5;
    while (!ferry_source_pushed_tip(f.s, &n, h) && now_s() < end)
        ferry_source_poll_news(f.s);
    ck_assert(ferry_source_pushed_tip(f.s, &n, h));
    ck_assert(ferry_source_pushed_tip(f.s, &n2, h));
    ck_assert_uint_eq(n, n2);
    while (n2 == n && now_s() < end) {
        ferry_source_wait_news(f.s);
        ck_assert(ferry_source_pushed_tip(f.s, &n2, h));
    }
    ck_assert_uint_gt(n2, n);
    teardown(&f);
}
END_TEST

START_TEST(malformed_classes)
{
    ck_assert(ferry_source_is_malformed(FERRY_E_JSON));
    ck_assert(ferry_source_is_malformed(FERRY_E_HEX));
    ck_assert(ferry_source_is_malformed(FERRY_E_TRAILING));
    ck_assert(!ferry_source_is_malformed(FERRY_E_NET));
    ck_assert(!ferry_source_is_malformed(FERRY_E_RPC));
    ck_assert(!ferry_source_is_malformed(FERRY_E_VERIFY));
}
END_TEST

Suite *source_suite(void)
{
    Suite *s = suite_create("source");
    TCase *tc = tcase_create("source");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, open_needs_a_url);
    tcase_add_test(tc, queries_refuse_other_answers);
    tcase_add_test(tc, streamed_batches_are_the_blocks_after_in_order_up_to_the_target);
    tcase_add_test(tc, rotation_and_backoff);
    tcase_add_test(tc, malformed_classes);
    tcase_add_test(tc, pipelined_read_proofs_and_pushed_tip);
    suite_add_tcase(s, tc);
    return s;
}
