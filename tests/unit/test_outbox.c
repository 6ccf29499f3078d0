/* The relayer's outbox: the state machine per (sender, sequence), persistence across reopen,
 * binding to one chain, and crash points (a process killed after each committed transition, and
 * one killed inside a transaction) leaving exactly the committed state. */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ferry/outbox.h"
#include "testutil.h"

static char path[256];

static void tmp_db(void)
{
    snprintf(path, sizeof path, "/tmp/ferry-outbox-test-%d.db", (int)getpid());
    char side[300];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static struct ferry_outbox *open_ok(void)
{
    struct ferry_outbox *ob;
    struct ferry_reason why = {{0}};
    ferry_err err = ferry_outbox_open(path, &ob, &why);
    ck_assert_msg(err == FERRY_OK, "open: %s", why.text);
    return ob;
}

/* Worker(pk) origin: 0x02 ‖ pk */
static const uint8_t sender_a[33] = {0x02, 0xaa, 0xaa};
static const uint8_t sender_b[33] = {0x02, 0xbb, 0xbb};

static void enqueue(struct ferry_outbox *ob, const uint8_t *sender, uint64_t seq, bool expect_new)
{
    uint8_t payload[40];
    memset(payload, (int)seq, sizeof payload);
    bool added = !expect_new;
    ck_assert_int_eq(
        ferry_outbox_enqueue(ob, sender, 33, seq, payload, sizeof payload, &added, NULL), FERRY_OK);
    ck_assert(added == expect_new);
}

static enum ferry_outbox_state state_of(struct ferry_outbox *ob, const uint8_t *sender,
                                        uint64_t seq)
{
    struct ferry_outbox_msg m;
    ck_assert_int_eq(ferry_outbox_get(ob, sender, 33, seq, &m, NULL), FERRY_OK);
    enum ferry_outbox_state s = m.state;
    ferry_outbox_msg_clear(&m);
    return s;
}

static const uint8_t xt[5] = {1, 2, 3, 4, 5};
static const uint8_t h32[32] = {7};

START_TEST(a_message_walks_pending_inflight_included_finalized)
{
    tmp_db();
    struct ferry_outbox *ob = open_ok();
    enqueue(ob, sender_a, 0, true);
    ck_assert_int_eq(state_of(ob, sender_a, 0), FERRY_OUTBOX_PENDING);
    ck_assert_int_eq(
        ferry_outbox_mark_inflight(ob, sender_a, 33, 0, xt, sizeof xt, h32, 41, 100, 164, NULL),
        FERRY_OK);
    struct ferry_outbox_msg m;
    ck_assert_int_eq(ferry_outbox_get(ob, sender_a, 33, 0, &m, NULL), FERRY_OK);
    ck_assert_int_eq(m.state, FERRY_OUTBOX_INFLIGHT);
    ck_assert_uint_eq(m.nonce, 41);
    ck_assert_uint_eq(m.era_birth, 100);
    ck_assert_uint_eq(m.era_death, 164);
    ck_assert_uint_eq(m.attempts, 1);
    ck_assert_uint_eq(m.xt_len, sizeof xt);
    ck_assert_mem_eq(m.xt, xt, sizeof xt);
    ck_assert_mem_eq(m.tx_hash, h32, 32);
    ferry_outbox_msg_clear(&m);
    uint8_t block[32] = {9};
    ck_assert_int_eq(ferry_outbox_mark_included(ob, sender_a, 33, 0, block, 120, NULL), FERRY_OK);
    ck_assert_int_eq(state_of(ob, sender_a, 0), FERRY_OUTBOX_INCLUDED);
    ck_assert_int_eq(ferry_outbox_mark_finalized(ob, sender_a, 33, 0, NULL), FERRY_OK);
    ck_assert_int_eq(state_of(ob, sender_a, 0), FERRY_OUTBOX_FINALIZED);
    /* idempotent */
    ck_assert_int_eq(ferry_outbox_mark_finalized(ob, sender_a, 33, 0, NULL), FERRY_OK);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

START_TEST(illegal_transitions_are_refused_with_the_state)
{
    tmp_db();
    struct ferry_outbox *ob = open_ok();
    enqueue(ob, sender_a, 5, true);
    struct ferry_reason why = {{0}};
    uint8_t block[32] = {0};
    /* pending cannot be included or returned to pending */
    ck_assert_int_eq(ferry_outbox_mark_included(ob, sender_a, 33, 5, block, 1, &why),
                     FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(why.text, "pending"));
    ck_assert_int_eq(ferry_outbox_mark_pending(ob, sender_a, 33, 5, NULL), FERRY_E_STATE);
    ck_assert_int_eq(
        ferry_outbox_mark_inflight(ob, sender_a, 33, 5, xt, sizeof xt, h32, 1, 1, 2, NULL),
        FERRY_OK);
    /* in flight at most once: a second submission needs the first resolved */
    ck_assert_int_eq(
        ferry_outbox_mark_inflight(ob, sender_a, 33, 5, xt, sizeof xt, h32, 2, 1, 2, &why),
        FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(why.text, "inflight"));
    ck_assert_int_eq(ferry_outbox_mark_finalized(ob, sender_a, 33, 5, NULL), FERRY_OK);
    ck_assert_int_eq(ferry_outbox_mark_pending(ob, sender_a, 33, 5, NULL), FERRY_E_STATE);
    /* unknown rows */
    ck_assert_int_eq(ferry_outbox_mark_finalized(ob, sender_a, 33, 6, NULL), FERRY_E_NOT_FOUND);
    ck_assert_int_eq(
        ferry_outbox_mark_inflight(ob, sender_b, 33, 5, xt, sizeof xt, h32, 1, 1, 2, NULL),
        FERRY_E_NOT_FOUND);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

START_TEST(an_expired_submission_returns_to_pending_and_is_signed_again)
{
    tmp_db();
    struct ferry_outbox *ob = open_ok();
    enqueue(ob, sender_a, 0, true);
    ck_assert_int_eq(
        ferry_outbox_mark_inflight(ob, sender_a, 33, 0, xt, sizeof xt, h32, 1, 10, 74, NULL),
        FERRY_OK);
    ck_assert_int_eq(ferry_outbox_mark_pending(ob, sender_a, 33, 0, NULL), FERRY_OK);
    struct ferry_outbox_msg m;
    ck_assert_int_eq(ferry_outbox_get(ob, sender_a, 33, 0, &m, NULL), FERRY_OK);
    ck_assert_int_eq(m.state, FERRY_OUTBOX_PENDING);
    ck_assert_ptr_null(m.xt); /* the dead bytes are forgotten */
    ck_assert_uint_eq(m.attempts, 1);
    ferry_outbox_msg_clear(&m);
    ck_assert_int_eq(
        ferry_outbox_mark_inflight(ob, sender_a, 33, 0, xt, sizeof xt, h32, 2, 80, 144, NULL),
        FERRY_OK);
    ck_assert_int_eq(ferry_outbox_get(ob, sender_a, 33, 0, &m, NULL), FERRY_OK);
    ck_assert_uint_eq(m.attempts, 2);
    ck_assert_uint_eq(m.nonce, 2);
    ferry_outbox_msg_clear(&m);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

START_TEST(enqueue_is_idempotent_and_keeps_submitted_bytes)
{
    tmp_db();
    struct ferry_outbox *ob = open_ok();
    enqueue(ob, sender_a, 0, true);
    enqueue(ob, sender_a, 0, false);
    /* a pending row takes a re-signed payload */
    uint8_t other[40];
    memset(other, 0xee, sizeof other);
    bool added = true;
    ck_assert_int_eq(ferry_outbox_enqueue(ob, sender_a, 33, 0, other, sizeof other, &added, NULL),
                     FERRY_OK);
    ck_assert(!added);
    struct ferry_outbox_msg m;
    ck_assert_int_eq(ferry_outbox_get(ob, sender_a, 33, 0, &m, NULL), FERRY_OK);
    ck_assert_mem_eq(m.payload, other, sizeof other);
    ferry_outbox_msg_clear(&m);
    /* once in flight, the payload that was signed stays */
    ck_assert_int_eq(
        ferry_outbox_mark_inflight(ob, sender_a, 33, 0, xt, sizeof xt, h32, 1, 1, 2, NULL),
        FERRY_OK);
    enqueue(ob, sender_a, 0, false);
    ck_assert_int_eq(ferry_outbox_get(ob, sender_a, 33, 0, &m, NULL), FERRY_OK);
    ck_assert_mem_eq(m.payload, other, sizeof other);
    ferry_outbox_msg_clear(&m);
    ck_assert_int_eq(ferry_outbox_enqueue(ob, sender_a, 0, 1, other, 1, NULL, NULL), FERRY_E_ARG);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

START_TEST(settle_finalizes_every_row_below_the_chain_sequence_of_that_sender_only)
{
    tmp_db();
    struct ferry_outbox *ob = open_ok();
    for (uint64_t s = 0; s < 6; s++) {
        enqueue(ob, sender_a, s, true);
        enqueue(ob, sender_b, s, true);
    }
    ck_assert_int_eq(
        ferry_outbox_mark_inflight(ob, sender_a, 33, 2, xt, sizeof xt, h32, 1, 1, 2, NULL),
        FERRY_OK);
    size_t settled = 0;
    ck_assert_int_eq(ferry_outbox_settle(ob, sender_a, 33, 4, &settled, NULL), FERRY_OK);
    ck_assert_uint_eq(settled, 4);
    ck_assert_int_eq(state_of(ob, sender_a, 2), FERRY_OUTBOX_FINALIZED);
    ck_assert_int_eq(state_of(ob, sender_a, 4), FERRY_OUTBOX_PENDING);
    ck_assert_int_eq(state_of(ob, sender_b, 0), FERRY_OUTBOX_PENDING);
    uint64_t counts[FERRY_OUTBOX_STATES];
    ck_assert_int_eq(ferry_outbox_counts(ob, counts, NULL), FERRY_OK);
    ck_assert_uint_eq(counts[FERRY_OUTBOX_PENDING], 8);
    ck_assert_uint_eq(counts[FERRY_OUTBOX_FINALIZED], 4);
    /* list in (sender, seq) order, pending only */
    struct ferry_outbox_msg *v;
    size_t n;
    ck_assert_int_eq(ferry_outbox_list(ob, FERRY_OUTBOX_PENDING, 100, &v, &n, NULL), FERRY_OK);
    ck_assert_uint_eq(n, 8);
    ck_assert_uint_eq(v[0].seq, 4);
    ck_assert_uint_eq(v[1].seq, 5);
    ck_assert_mem_eq(v[2].sender, sender_b, 33);
    ck_assert_uint_eq(v[2].seq, 0);
    ferry_outbox_msgs_free(v, n);
    ck_assert_int_eq(ferry_outbox_list(ob, FERRY_OUTBOX_PENDING, 3, &v, &n, NULL), FERRY_OK);
    ck_assert_uint_eq(n, 3);
    ferry_outbox_msgs_free(v, n);
    uint8_t **senders;
    size_t *lens;
    ck_assert_int_eq(ferry_outbox_open_senders(ob, &senders, &lens, &n, NULL), FERRY_OK);
    ck_assert_uint_eq(n, 2);
    ferry_outbox_senders_free(senders, lens, n);
    /* prune keeps each sender's highest finalized row */
    ck_assert_int_eq(ferry_outbox_settle(ob, sender_a, 33, 6, NULL, NULL), FERRY_OK);
    size_t deleted = 0;
    ck_assert_int_eq(ferry_outbox_prune(ob, INT64_MAX, &deleted, NULL), FERRY_OK);
    ck_assert_uint_eq(deleted, 5);
    ck_assert_int_eq(state_of(ob, sender_a, 5), FERRY_OUTBOX_FINALIZED);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

START_TEST(outbox_of_another_chain_is_refused)
{
    tmp_db();
    struct ferry_outbox *ob = open_ok();
    uint8_t g1[32] = {1}, g2[32] = {2};
    ck_assert_int_eq(ferry_outbox_bind_genesis(ob, g1, NULL), FERRY_OK);
    ck_assert_int_eq(ferry_outbox_bind_genesis(ob, g1, NULL), FERRY_OK);
    ferry_outbox_close(ob);
    ob = open_ok();
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(ferry_outbox_bind_genesis(ob, g2, &why), FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(why.text, "another chain"));
    uint8_t *v;
    size_t len;
    ck_assert_int_eq(ferry_outbox_kv_put(ob, "nonce", (const uint8_t *)"\x05", 1, NULL), FERRY_OK);
    ck_assert_int_eq(ferry_outbox_kv_get(ob, "nonce", &v, &len, NULL), FERRY_OK);
    ck_assert_uint_eq(len, 1);
    ck_assert_uint_eq(v[0], 5);
    free(v);
    ck_assert_int_eq(ferry_outbox_kv_get(ob, "absent", &v, &len, NULL), FERRY_E_NOT_FOUND);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

/* The script each crash child runs: every step is one committed transition. */
static ferry_err script_step(struct ferry_outbox *ob, int step)
{
    uint8_t block[32] = {3};
    switch (step) {
    case 0:
        return ferry_outbox_enqueue(ob, sender_a, 33, 0, xt, sizeof xt, NULL, NULL);
    case 1:
        return ferry_outbox_enqueue(ob, sender_a, 33, 1, xt, sizeof xt, NULL, NULL);
    case 2:
        return ferry_outbox_mark_inflight(ob, sender_a, 33, 0, xt, sizeof xt, h32, 7, 10, 74, NULL);
    case 3:
        return ferry_outbox_mark_inflight(ob, sender_a, 33, 1, xt, sizeof xt, h32, 8, 10, 74, NULL);
    case 4:
        return ferry_outbox_mark_included(ob, sender_a, 33, 0, block, 12, NULL);
    case 5:
        return ferry_outbox_mark_pending(ob, sender_a, 33, 1, NULL);
    case 6:
        return ferry_outbox_mark_finalized(ob, sender_a, 33, 0, NULL);
    default:
        return FERRY_OK;
    }
}

#define SCRIPT_STEPS 7

/* Expected (state of seq 0, state of seq 1) after k committed steps; -1 = absent. */
static const int expect_after[SCRIPT_STEPS + 1][2] = {
    {-1, -1}, {0, -1}, {0, 0}, {1, 0}, {1, 1}, {2, 1}, {2, 0}, {3, 0},
};

START_TEST(kill_9_after_each_committed_transition_leaves_exactly_the_committed_state)
{
    for (int k = 0; k <= SCRIPT_STEPS; k++) {
        tmp_db();
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            struct ferry_outbox *ob;
            if (ferry_outbox_open(path, &ob, NULL))
                _exit(2);
            for (int i = 0; i < k; i++)
                if (script_step(ob, i))
                    _exit(3);
            raise(SIGKILL); /* no close, no checkpoint: the WAL is all there is */
            _exit(4);
        }
        int status;
        waitpid(pid, &status, 0);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child step %d", k);
        struct ferry_outbox *ob = open_ok();
        for (uint64_t s = 0; s < 2; s++) {
            struct ferry_outbox_msg m;
            ferry_err err = ferry_outbox_get(ob, sender_a, 33, s, &m, NULL);
            if (expect_after[k][s] < 0) {
                ck_assert_int_eq(err, FERRY_E_NOT_FOUND);
                continue;
            }
            ck_assert_int_eq(err, FERRY_OK);
            ck_assert_msg((int)m.state == expect_after[k][s], "after %d steps seq %d is %s", k,
                          (int)s, ferry_outbox_state_name(m.state));
            if (m.state == FERRY_OUTBOX_INFLIGHT || m.state == FERRY_OUTBOX_INCLUDED) {
                /* in flight means the exact bytes to resolve it are there */
                ck_assert_uint_eq(m.xt_len, sizeof xt);
                ck_assert_mem_eq(m.tx_hash, h32, 32);
            }
            ferry_outbox_msg_clear(&m);
        }
        /* and the machine continues from there */
        for (int i = k; i < SCRIPT_STEPS; i++)
            ck_assert_int_eq(script_step(ob, i), FERRY_OK);
        ck_assert_int_eq(state_of(ob, sender_a, 0), FERRY_OUTBOX_FINALIZED);
        ferry_outbox_close(ob);
    }
    tmp_db();
}
END_TEST

START_TEST(kill_9_inside_a_transaction_keeps_the_previous_commit)
{
    tmp_db();
    struct ferry_outbox *ob = open_ok();
    enqueue(ob, sender_a, 0, true);
    ferry_outbox_close(ob);
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        sqlite3 *db;
        if (sqlite3_open(path, &db) != SQLITE_OK)
            _exit(2);
        sqlite3_exec(db, "BEGIN IMMEDIATE; UPDATE msg SET state = 1, xt = NULL;", NULL, NULL, NULL);
        if (write(pipefd[1], "x", 1) != 1)
            _exit(3);
        pause();
        _exit(4);
    }
    char c;
    ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(pipefd[0]);
    close(pipefd[1]);
    ob = open_ok();
    ck_assert_int_eq(state_of(ob, sender_a, 0), FERRY_OUTBOX_PENDING);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

START_TEST(a_file_that_is_not_a_database_is_refused_with_the_path)
{
    tmp_db();
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("this is not sqlite, just text long enough to have a header page ..........", f);
    fclose(f);
    struct ferry_outbox *ob;
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(ferry_outbox_open(path, &ob, &why), FERRY_E_IO);
    ck_assert_ptr_nonnull(strstr(why.text, path));
    ck_assert_int_eq(ferry_outbox_open("/nonexistent-dir/x.db", &ob, &why), FERRY_E_IO);
    tmp_db();
}
END_TEST

Suite *outbox_suite(void)
{
    Suite *s = suite_create("outbox");
    TCase *tc = tcase_create("state machine");
    tcase_add_test(tc, a_message_walks_pending_inflight_included_finalized);
    tcase_add_test(tc, illegal_transitions_are_refused_with_the_state);
    tcase_add_test(tc, an_expired_submission_returns_to_pending_and_is_signed_again);
    tcase_add_test(tc, enqueue_is_idempotent_and_keeps_submitted_bytes);
    tcase_add_test(tc, settle_finalizes_every_row_below_the_chain_sequence_of_that_sender_only);
    tcase_add_test(tc, outbox_of_another_chain_is_refused);
    tcase_add_test(tc, a_file_that_is_not_a_database_is_refused_with_the_path);
    suite_add_tcase(s, tc);
    TCase *crash = tcase_create("crash");
    tcase_set_timeout(crash, 60);
    tcase_add_test(crash,
                   kill_9_after_each_committed_transition_leaves_exactly_the_committed_state);
    tcase_add_test(crash, kill_9_inside_a_transaction_keeps_the_previous_commit);
    suite_add_tcase(s, crash);
    return s;
}
