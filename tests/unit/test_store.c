/* The light client's SQLite store: persistence across reopen, genesis binding, transactions,
 * and crash consistency (a writer killed mid-transaction leaves the previous state). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ferry/follow.h"
#include "ferry/grandpa.h"
#include "ferry/scale.h"
#include "ferry/store.h"
#include "ferry/authority_set.h"
#include "testutil.h"

static char path[256];

static void tmp_store(void)
{
    snprintf(path, sizeof path, "/tmp/ferry-store-test-%d.db", (int)getpid());
    unlink(path);
    char side[300];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static struct ferry_store *open_ok(void)
{
    struct ferry_store *s;
    struct ferry_reason why = {""};
    ferry_err err = ferry_store_open(path, &s, &why);
    ck_assert_msg(err == FERRY_OK, "open: %s", why.text);
    return s;
}

START_TEST(relay_heads_persist_across_reopen)
{
    tmp_store();
    struct ferry_store *s = open_ok();
    uint8_t hash[32], got[32];
    uint32_t number;
    uint64_t set_id;
    ck_assert_int_eq(ferry_store_last_relay(s, &number, got, NULL, NULL, &set_id),
                     FERRY_E_NOT_FOUND);
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    for (uint32_t n = 0; n < 100; n++) {
        memset(hash, (int)n, 32);
        ck_assert_int_eq(ferry_store_put_relay(s, n, hash, (const uint8_t *)"hdr", 3, n / 10),
                         FERRY_OK);
    }
    ck_assert_int_eq(ferry_store_put_authorities(s, "state", 5), FERRY_OK);
    ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    ferry_store_close(s);
    s = open_ok();
    uint8_t *hdr;
    size_t len;
    ck_assert_int_eq(ferry_store_last_relay(s, &number, got, &hdr, &len, &set_id), FERRY_OK);
    ck_assert_uint_eq(number, 99);
    ck_assert_uint_eq(set_id, 9);
    ck_assert_uint_eq(got[0], 99);
    ck_assert_uint_eq(len, 3);
    free(hdr);
    ck_assert_int_eq(ferry_store_relay_at(s, 42, got, NULL, NULL, &set_id), FERRY_OK);
    ck_assert_uint_eq(got[31], 42);
    uint8_t *state;
    ck_assert_int_eq(ferry_store_get_authorities(s, &state, &len), FERRY_OK);
    ck_assert(len == 5 && memcmp(state, "state", 5) == 0);
    free(state);
    ck_assert_int_eq(ferry_store_prune_relay(s, 90), FERRY_OK);
    ck_assert_int_eq(ferry_store_relay_at(s, 42, got, NULL, NULL, NULL), FERRY_E_NOT_FOUND);
    ck_assert_int_eq(ferry_store_relay_at(s, 95, got, NULL, NULL, NULL), FERRY_OK);
    ferry_store_close(s);
    tmp_store();
}
END_TEST

/* Inside a write transaction relay headers are queued and inserted 32 at a time: reads in the
 * transaction see every header put so far, a rollback drops both the inserted and the queued
 * ones, a commit keeps all of them with their own bytes (sizes 0..~8 KiB), and a header put
 * again replaces the first. */
START_TEST(queued_relay_rows_behave_like_single_inserts)
{
    tmp_store();
    struct ferry_store *s = open_ok();
    uint8_t hash[32], got[32];
    uint8_t *hdr;
    size_t len;
    uint32_t number;
    static uint8_t big[8200];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 13);
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
        for (uint32_t n = 0; n < 205; n++) {
            memset(hash, (int)n, 32);
            size_t hl = (n * 41) % sizeof big;
            ck_assert_int_eq(ferry_store_put_relay(s, n, hash, big, hl, n), FERRY_OK);
            if (n % 50 == 7) { /* a read flushes the queue and sees the header just put */
                ck_assert_int_eq(ferry_store_last_relay(s, &number, got, NULL, NULL, NULL),
                                 FERRY_OK);
                ck_assert_uint_eq(number, n);
                ck_assert_int_eq(ferry_store_relay_at(s, n, got, &hdr, &len, NULL), FERRY_OK);
                ck_assert_uint_eq(len, hl);
                free(hdr);
            }
        }
        memset(hash, 0xee, 32);
        ck_assert_int_eq(ferry_store_put_relay(s, 3, hash, big, 5, 3), FERRY_OK);
        if (round == 0) {
            ferry_store_rollback(s);
            ck_assert_int_eq(ferry_store_last_relay(s, &number, got, NULL, NULL, NULL),
                             FERRY_E_NOT_FOUND);
        } else {
            ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
        }
    }
    ferry_store_close(s);
    s = open_ok();
    for (uint32_t n = 0; n < 205; n++) {
        uint64_t set_id;
        ck_assert_int_eq(ferry_store_relay_at(s, n, got, &hdr, &len, &set_id), FERRY_OK);
        size_t hl = n == 3 ? 5 : (n * 41) % sizeof big;
        ck_assert_uint_eq(len, hl);
        ck_assert(hl == 0 || memcmp(hdr, big, hl) == 0);
        ck_assert_uint_eq(got[0], n == 3 ? 0xee : (uint8_t)n);
        ck_assert_uint_eq(set_id, n);
        free(hdr);
    }
    ck_assert_int_eq(ferry_store_last_relay(s, &number, got, NULL, NULL, NULL), FERRY_OK);
    ck_assert_uint_eq(number, 204);
    ferry_store_close(s);
    tmp_store();
}
END_TEST

START_TEST(store_for_another_genesis_is_refused)
{
    tmp_store();
    struct ferry_store *s = open_ok();
    uint8_t a[32], b[32];
    memset(a, 1, 32);
    memset(b, 2, 32);
    ck_assert_int_eq(ferry_store_bind_genesis(s, a), FERRY_OK);
    ck_assert_int_eq(ferry_store_bind_genesis(s, a), FERRY_OK);
    ck_assert_int_eq(ferry_store_bind_genesis(s, b), FERRY_E_STATE);
    ferry_store_close(s);
    tmp_store();
}
END_TEST

START_TEST(rollback_discards_the_whole_step)
{
    tmp_store();
    struct ferry_store *s = open_ok();
    uint8_t hash[32] = {7};
    ck_assert_int_eq(ferry_store_put_relay(s, 1, hash, hash, 32, 0), FERRY_OK);
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    ck_assert_int_eq(ferry_store_put_relay(s, 2, hash, hash, 32, 0), FERRY_OK);
    ck_assert_int_eq(ferry_store_put_para(s, 1000, 5, hash, hash, 32, 2), FERRY_OK);
    ferry_store_rollback(s);
    uint32_t number;
    ck_assert_int_eq(ferry_store_last_relay(s, &number, hash, NULL, NULL, NULL), FERRY_OK);
    ck_assert_uint_eq(number, 1);
    ck_assert_int_eq(ferry_store_last_para(s, 1000, &number, hash, NULL, NULL), FERRY_E_NOT_FOUND);
    ferry_store_close(s);
    tmp_store();
}
END_TEST

/* A child process commits block 1, starts a transaction writing 2..1000, and is killed with
 * SIGKILL before committing: the store must show exactly block 1. */
START_TEST(kill_9_mid_transaction_keeps_last_commit)
{
    tmp_store();
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct ferry_store *s;
        if (ferry_store_open(path, &s, NULL))
            _exit(2);
        uint8_t hash[32] = {1};
        if (ferry_store_put_relay(s, 1, hash, hash, 32, 0) || ferry_store_begin(s))
            _exit(3);
        for (uint32_t n = 2; n <= 1000; n++)
            if (ferry_store_put_relay(s, n, hash, hash, 32, 0))
                _exit(4);
        if (write(pipefd[1], "x", 1) != 1)
            _exit(5);
        pause();
        _exit(0);
    }
    char c;
    ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFSIGNALED(status));
    close(pipefd[0]);
    close(pipefd[1]);
    struct ferry_store *s = open_ok();
    uint32_t number;
    uint8_t hash[32];
    ck_assert_int_eq(ferry_store_last_relay(s, &number, hash, NULL, NULL, NULL), FERRY_OK);
    ck_assert_uint_eq(number, 1);
    ferry_store_close(s);
    tmp_store();
}
END_TEST

START_TEST(unopenable_path_reports_why)
{
    struct ferry_store *s;
    struct ferry_reason why = {""};
    ck_assert_int_eq(ferry_store_open("/nonexistent-dir/x/y.db", &s, &why), FERRY_E_IO);
    ck_assert_ptr_null(s);
    ck_assert(strstr(why.text, "/nonexistent-dir/x/y.db") != NULL);
}
END_TEST

/* A store whose authority set is at `set_at` and whose last header is `last`. */
static void write_state(struct ferry_store *s, uint32_t set_at, uint32_t last)
{
    struct ferry_authority a = {{0}, 1};
    memset(a.id, 9, 32);
    uint8_t h[32], g[32];
    memset(h, (int)set_at, 32);
    memset(g, 0x45, 32);
    struct ferry_authority_set set;
    ck_assert_int_eq(ferry_authority_set_init(&set, 0, &a, 1, set_at, h), FERRY_OK);
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_authority_set_encode(&set, &w);
    ck_assert_int_eq(ferry_scale_writer_error(&w), FERRY_OK);
    ck_assert_int_eq(ferry_store_bind_genesis(s, g), FERRY_OK);
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    for (uint32_t n = set_at; n <= last; n++) {
        memset(h, (int)n, 32);
        ck_assert_int_eq(ferry_store_put_relay(s, n, h, (const uint8_t *)"hdr", 3, 0), FERRY_OK);
    }
    ck_assert_int_eq(ferry_store_put_authorities(s, w.buf, w.len), FERRY_OK);
    ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    ferry_scale_writer_free(&w);
    ferry_authority_set_free(&set);
}

/* A checkpoint pairs the last header with the authority set; a store where they disagree (as a
 * torn read used to produce while ferry followed on the same store) must not be exported. */
START_TEST(export_refuses_header_and_set_that_disagree)
{
    tmp_store();
    struct ferry_store *s = open_ok();
    write_state(s, 5, 7);
    ferry_store_close(s);
    char out[300];
    struct ferry_reason why = {""};
    snprintf(out, sizeof out, "%s.json", path);
    unlink(out);
    ck_assert_int_eq(ferry_follow_export_checkpoint(path, out, &why), FERRY_E_IO);
    ck_assert_msg(strstr(why.text, "inconsistent") != NULL, "why: %s", why.text);
    ck_assert_int_ne(access(out, F_OK), 0);
    unlink(out);
    tmp_store();
}
END_TEST

/* A read transaction sees one snapshot while another connection commits. */
START_TEST(read_transaction_is_a_snapshot)
{
    tmp_store();
    struct ferry_store *w = open_ok(), *r = open_ok();
    uint8_t hash[32] = {1};
    ck_assert_int_eq(ferry_store_put_relay(w, 1, hash, hash, 32, 0), FERRY_OK);
    ck_assert_int_eq(ferry_store_begin_read(r), FERRY_OK);
    uint32_t number;
    ck_assert_int_eq(ferry_store_last_relay(r, &number, hash, NULL, NULL, NULL), FERRY_OK);
    ck_assert_uint_eq(number, 1);
    ck_assert_int_eq(ferry_store_put_relay(w, 2, hash, hash, 32, 0), FERRY_OK);
    ck_assert_int_eq(ferry_store_last_relay(r, &number, hash, NULL, NULL, NULL), FERRY_OK);
    ck_assert_uint_eq(number, 1);
    ferry_store_rollback(r);
    ck_assert_int_eq(ferry_store_last_relay(r, &number, hash, NULL, NULL, NULL), FERRY_OK);
    ck_assert_uint_eq(number, 2);
    ferry_store_close(r);
    ferry_store_close(w);
    tmp_store();
}
END_TEST

Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("sqlite");
    tcase_add_test(tc, relay_heads_persist_across_reopen);
    tcase_add_test(tc, queued_relay_rows_behave_like_single_inserts);
    tcase_add_test(tc, store_for_another_genesis_is_refused);
    tcase_add_test(tc, rollback_discards_the_whole_step);
    tcase_add_test(tc, kill_9_mid_transaction_keeps_last_commit);
    tcase_add_test(tc, unopenable_path_reports_why);
    tcase_add_test(tc, export_refuses_header_and_set_that_disagree);
    tcase_add_test(tc, read_transaction_is_a_snapshot);
    suite_add_tcase(s, tc);
    return s;
}
