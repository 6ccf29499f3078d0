/* The light client's SQLite store: persistence across reopen, genesis binding, transactions,
 * and crash consistency (a writer killed mid-transaction leaves the previous state). */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
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
    /* the header log's segments */
    snprintf(side, sizeof side, "%s-headers", path);
    DIR *d = opendir(side);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char f[600];
            snprintf(f, sizeof f, "%s/%s", side, e->d_name);
            if (e->d_name[0] != '.')
                unlink(f);
        }
        closedir(d);
        rmdir(side);
    }
}

/* The size of header-log segment seg (-1: absent). */
static long long seg_size(uint32_t seg)
{
    char f[600];
    snprintf(f, sizeof f, "%s-headers/%08u.hlog", path, seg);
    struct stat st;
    return stat(f, &st) == 0 ? (long long)st.st_size : -1;
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

/* Relay headers live 64 to a row: runs across chunk boundaries, sparse numbers, a header missing
 * inside a stored chunk, a batch merged into a partly filled chunk and rolled back, and a prune
 * that drops whole chunks only (never the newest). */
START_TEST(chunks_hold_runs_gaps_and_prune_on_boundaries)
{
    tmp_store();
    struct ferry_store *s = open_ok();
    uint8_t hash[32], got[32];
    uint8_t *hdr;
    size_t len;
    uint32_t number;
    uint64_t set_id;
    /* 60..70 committed, then 71..200 in a batch, then single 300 and 1000 */
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    for (uint32_t n = 60; n <= 70; n++) {
        memset(hash, (int)n, 32);
        ck_assert_int_eq(ferry_store_put_relay(s, n, hash, hash, n % 7, n), FERRY_OK);
    }
    ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    for (uint32_t n = 71; n <= 200; n++) {
        memset(hash, (int)n, 32);
        ck_assert_int_eq(ferry_store_put_relay(s, n, hash, hash, n % 7, n), FERRY_OK);
    }
    ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    memset(hash, 0x30, 32);
    ck_assert_int_eq(ferry_store_put_relay(s, 300, hash, hash, 3, 300), FERRY_OK);
    memset(hash, 0x40, 32);
    ck_assert_int_eq(ferry_store_put_relay(s, 1000, hash, hash, 4, 1000), FERRY_OK);
    /* a batch that extends chunk 3 (192..255) and starts chunk 4, rolled back */
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    for (uint32_t n = 201; n <= 260; n++)
        ck_assert_int_eq(ferry_store_put_relay(s, n, hash, hash, 1, 9), FERRY_OK);
    memset(hash, 0x99, 32);
    ck_assert_int_eq(ferry_store_put_relay(s, 65, hash, hash, 1, 9), FERRY_OK);
    ferry_store_rollback(s);
    ferry_store_close(s);
    s = open_ok();
    for (uint32_t n = 0; n < 1100; n++) {
        bool want = (n >= 60 && n <= 200) || n == 300 || n == 1000;
        ferry_err err = ferry_store_relay_at(s, n, got, &hdr, &len, &set_id);
        ck_assert_msg(err == (want ? FERRY_OK : FERRY_E_NOT_FOUND), "#%u: %d", n, (int)err);
        if (!want)
            continue;
        size_t hl = n == 300 ? 3 : n == 1000 ? 4 : n % 7;
        uint8_t fill = n == 300 ? 0x30 : n == 1000 ? 0x40 : (uint8_t)n;
        ck_assert_uint_eq(len, hl);
        ck_assert_uint_eq(set_id, n);
        ck_assert_uint_eq(got[0], fill);
        ck_assert_uint_eq(got[31], fill);
        for (size_t i = 0; i < hl; i++)
            ck_assert_uint_eq(hdr[i], fill);
        free(hdr);
    }
    ck_assert_int_eq(ferry_store_last_relay(s, &number, got, NULL, NULL, &set_id), FERRY_OK);
    ck_assert_uint_eq(number, 1000);
    /* keep from 130: chunk 2 (128..191) and later stay, 127 and below go */
    ck_assert_int_eq(ferry_store_prune_relay(s, 130), FERRY_OK);
    ck_assert_int_eq(ferry_store_relay_at(s, 127, got, NULL, NULL, NULL), FERRY_E_NOT_FOUND);
    ck_assert_int_eq(ferry_store_relay_at(s, 60, got, NULL, NULL, NULL), FERRY_E_NOT_FOUND);
    ck_assert_int_eq(ferry_store_relay_at(s, 128, got, NULL, NULL, NULL), FERRY_OK);
    ck_assert_int_eq(ferry_store_relay_at(s, 200, got, NULL, NULL, NULL), FERRY_OK);
    /* keep from beyond the newest: the newest chunk stays */
    ck_assert_int_eq(ferry_store_prune_relay(s, 5000), FERRY_OK);
    ck_assert_int_eq(ferry_store_relay_at(s, 300, got, NULL, NULL, NULL), FERRY_E_NOT_FOUND);
    ck_assert_int_eq(ferry_store_last_relay(s, &number, got, NULL, NULL, NULL), FERRY_OK);
    ck_assert_uint_eq(number, 1000);
    /* the highest number a chunk can hold */
    ck_assert_int_eq(ferry_store_put_relay(s, UINT32_MAX, hash, hash, 2, 1), FERRY_OK);
    ck_assert_int_eq(ferry_store_last_relay(s, &number, got, NULL, NULL, NULL), FERRY_OK);
    ck_assert_uint_eq(number, UINT32_MAX);
    ferry_store_close(s);
    tmp_store();
}
END_TEST

static void sql_ok(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, err ? err : "");
}

static int user_version(void)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A store written by the schema-1 ferry (one row per header) is converted when opened: every
 * header, hash and set_id, the meta values and parachain rows are kept. A newer schema is
 * refused. */
START_TEST(schema_1_store_is_converted_on_open)
{
    tmp_store();
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sql_ok(db, "PRAGMA journal_mode=WAL;"
               "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
               "CREATE TABLE relay(number INTEGER PRIMARY KEY, hash BLOB NOT NULL,"
               " header BLOB NOT NULL, set_id INTEGER NOT NULL);"
               "CREATE TABLE para(para_id INTEGER NOT NULL, number INTEGER NOT NULL,"
               " hash BLOB NOT NULL, header BLOB NOT NULL, relay_number INTEGER NOT NULL,"
               " PRIMARY KEY(para_id, number));"
               "PRAGMA user_version = 1;"
               "INSERT INTO meta VALUES ('authority_set', x'0102');"
               "INSERT INTO para VALUES (2000, 7, zeroblob(32), x'aa', 5);");
    sqlite3_stmt *ins;
    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "INSERT INTO relay VALUES (?1, ?2, ?3, ?4)", -1, &ins, NULL),
        SQLITE_OK);
    sql_ok(db, "BEGIN");
    for (uint32_t n = 1000; n < 1300; n++) {
        uint8_t hash[32], hdr[40];
        memset(hash, (int)n, 32);
        memset(hdr, (int)(n * 3), sizeof hdr);
        sqlite3_bind_int64(ins, 1, n);
        sqlite3_bind_blob(ins, 2, hash, 32, SQLITE_TRANSIENT);
        sqlite3_bind_blob(ins, 3, hdr, (int)(n % 41), SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 4, n / 100);
        ck_assert_int_eq(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
    }
    sql_ok(db, "COMMIT");
    sqlite3_finalize(ins);
    sqlite3_close(db);

    struct ferry_store *s = open_ok();
    ck_assert_int_eq(user_version(), 3);
    uint8_t got[32], *hdr;
    size_t len;
    uint64_t set_id;
    uint32_t number;
    for (uint32_t n = 990; n < 1310; n++) {
        ferry_err err = ferry_store_relay_at(s, n, got, &hdr, &len, &set_id);
        if (n < 1000 || n >= 1300) {
            ck_assert_int_eq(err, FERRY_E_NOT_FOUND);
            continue;
        }
        ck_assert_int_eq(err, FERRY_OK);
        ck_assert_uint_eq(len, n % 41);
        for (size_t i = 0; i < len; i++)
            ck_assert_uint_eq(hdr[i], (uint8_t)(n * 3));
        ck_assert_uint_eq(got[5], (uint8_t)n);
        ck_assert_uint_eq(set_id, n / 100);
        free(hdr);
    }
    ck_assert_int_eq(ferry_store_last_relay(s, &number, got, NULL, NULL, NULL), FERRY_OK);
    ck_assert_uint_eq(number, 1299);
    uint8_t *state;
    ck_assert_int_eq(ferry_store_get_authorities(s, &state, &len), FERRY_OK);
    ck_assert(len == 2 && state[0] == 1 && state[1] == 2);
    free(state);
    ck_assert_int_eq(ferry_store_last_para(s, 2000, &number, got, NULL, NULL), FERRY_OK);
    ck_assert_uint_eq(number, 7);
    ferry_store_close(s);
    s = open_ok(); /* already schema 2: opened as is */
    ck_assert_int_eq(ferry_store_relay_at(s, 1100, got, NULL, NULL, NULL), FERRY_OK);
    ferry_store_close(s);

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sql_ok(db, "PRAGMA user_version = 4");
    sqlite3_close(db);
    struct ferry_reason why = {""};
    ck_assert_int_eq(ferry_store_open(path, &s, &why), FERRY_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(why.text, "newer ferry"));
    tmp_store();
}
END_TEST

static void write_v1(int version, const char *rows)
{
    tmp_store();
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sql_ok(db, "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
               "CREATE TABLE relay(number INTEGER PRIMARY KEY, hash BLOB NOT NULL,"
               " header BLOB NOT NULL, set_id INTEGER NOT NULL);");
    char sql[512];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d; INSERT INTO relay VALUES %s;", version,
             rows);
    sql_ok(db, sql);
    sqlite3_close(db);
}

/* A per-header store without user_version is converted too; one that cannot be converted (a
 * number out of range) is refused with the reason and left exactly as it was. */
START_TEST(unconvertible_schema_1_store_is_refused_unchanged)
{
    write_v1(0, "(5, zeroblob(32), x'0102', 1), (6, zeroblob(32), x'03', 1)");
    struct ferry_store *s = open_ok();
    uint8_t got[32], *hdr;
    size_t len;
    ck_assert_int_eq(ferry_store_relay_at(s, 5, got, &hdr, &len, NULL), FERRY_OK);
    ck_assert(len == 2 && hdr[1] == 2);
    free(hdr);
    ferry_store_close(s);
    ck_assert_int_eq(user_version(), 3);

    write_v1(1, "(5, zeroblob(32), x'01', 1), (-1, zeroblob(32), x'01', 1)");
    struct ferry_reason why = {""};
    ck_assert_int_eq(ferry_store_open(path, &s, &why), FERRY_E_IO);
    ck_assert_ptr_nonnull(strstr(why.text, "cannot convert from schema 1"));
    ck_assert_ptr_nonnull(strstr(why.text, "out of range"));
    ck_assert_int_eq(user_version(), 1);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sql_ok(db, "SELECT count(*) FROM relay");
    sqlite3_close(db);
    tmp_store();
}
END_TEST

/* Encode one entry the way the store does. */
static size_t put_entry(uint8_t *p, unsigned off, uint64_t set_id, uint8_t fill, uint32_t hl)
{
    p[0] = (uint8_t)off;
    for (int b = 0; b < 8; b++)
        p[1 + b] = (uint8_t)(set_id >> (8 * b));
    memset(p + 9, fill, 32);
    for (int b = 0; b < 4; b++)
        p[41 + b] = (uint8_t)(hl >> (8 * b));
    memset(p + 45, fill, hl);
    return 45 + hl;
}

/* The chunk decoder treats the blob as hostile: each prefix of a valid blob, trailing bytes,
 * no entry, more than 64, offsets out of order or >= 64, a length past the end (up to
 * 0xffffffff) are refused with a reason; a valid blob decodes to its entries. */
START_TEST(chunk_decoder_refuses_every_malformed_blob)
{
    uint8_t blob[512];
    size_t n = 1;
    blob[0] = 3;
    n += put_entry(blob + n, 0, 5, 0xa0, 10);
    n += put_entry(blob + n, 7, 6, 0xa1, 0);
    n += put_entry(blob + n, 63, UINT64_MAX, 0xa2, 100);
    struct ferry_store_chunk_entry e[FERRY_STORE_CHUNK_HEADERS];
    size_t count;
    struct ferry_reason why = {""};
    ck_assert_int_eq(ferry_store_chunk_decode(2, blob, n, e, &count, &why), FERRY_OK);
    ck_assert_uint_eq(count, 3);
    ck_assert_uint_eq(e[0].number, 128);
    ck_assert_uint_eq(e[1].number, 135);
    ck_assert_uint_eq(e[2].number, 191);
    ck_assert_uint_eq(e[2].set_id, UINT64_MAX);
    ck_assert_uint_eq(e[0].header_len, 10);
    ck_assert_uint_eq(e[2].header_len, 100);
    ck_assert_uint_eq(e[2].header[99], 0xa2);
    ck_assert_uint_eq(e[1].hash[31], 0xa1);
    for (size_t cut = 0; cut < n; cut++) {
        why.text[0] = 0;
        ck_assert_int_ne(ferry_store_chunk_decode(2, blob, cut, e, &count, &why), FERRY_OK);
        ck_assert(why.text[0] != 0);
        ck_assert_uint_eq(count, 0);
    }
    blob[n] = 0;
    ck_assert_int_eq(ferry_store_chunk_decode(2, blob, n + 1, e, &count, &why), FERRY_E_TRAILING);
    ck_assert_int_ne(ferry_store_chunk_decode(UINT32_MAX, blob, n, e, &count, &why), FERRY_OK);
    blob[0] = 0;
    ck_assert_int_eq(ferry_store_chunk_decode(2, blob, n, e, &count, &why), FERRY_E_INVALID);
    blob[0] = 65;
    ck_assert_int_eq(ferry_store_chunk_decode(2, blob, n, e, &count, &why), FERRY_E_INVALID);
    blob[0] = 3;
    size_t second = 1 + 45 + 10;
    blob[second] = 0; /* same offset as the first */
    ck_assert_int_eq(ferry_store_chunk_decode(2, blob, n, e, &count, &why), FERRY_E_INVALID);
    blob[second] = 64;
    ck_assert_int_eq(ferry_store_chunk_decode(2, blob, n, e, &count, &why), FERRY_E_INVALID);
    blob[second] = 7;
    memset(blob + second + 41, 0xff, 4); /* length 0xffffffff */
    ck_assert_int_eq(ferry_store_chunk_decode(2, blob, n, e, &count, &why), FERRY_E_TOO_LARGE);
    blob[second + 41] = 1; /* length 0xffffff01: also past the end */
    ck_assert_int_eq(ferry_store_chunk_decode(2, blob, n, e, &count, &why), FERRY_E_TOO_LARGE);
}
END_TEST

/* A chunk corrupted on disk is reported (an error, not a crash or a misread) by every read, and
 * a batch that would merge into it fails instead of overwriting it. */
START_TEST(corrupt_chunk_on_disk_is_an_error)
{
    static const char *const bad[] = {
        "x''",
        "x'00'",
        "x'01'",
        "x'41'",
        "x'0140'",
        "'text'",
        "x'"
        "010000000000000000000000000000000000000000000000000000000000000000000000000000000000ffffff"
        "ff"
        "'",
    };
    uint8_t hash[32] = {1}, got[32], *hdr;
    size_t len;
    uint32_t number;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tmp_store();
        struct ferry_store *s = open_ok();
        for (uint32_t n = 64; n < 70; n++)
            ck_assert_int_eq(ferry_store_put_relay(s, n, hash, hash, 32, 0), FERRY_OK);
        ferry_store_close(s);
        sqlite3 *db;
        ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
        char sql[256];
        snprintf(sql, sizeof sql, "UPDATE relay_chunk SET data = %s WHERE k = 1", bad[i]);
        sql_ok(db, sql);
        sqlite3_close(db);
        s = open_ok();
        ck_assert_int_ne(ferry_store_relay_at(s, 65, got, &hdr, &len, NULL), FERRY_OK);
        ck_assert_int_ne(ferry_store_relay_at(s, 65, got, &hdr, &len, NULL), FERRY_E_NOT_FOUND);
        ck_assert_int_ne(ferry_store_last_relay(s, &number, got, &hdr, &len, NULL), FERRY_OK);
        ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
        ck_assert_int_eq(ferry_store_put_relay(s, 70, hash, hash, 32, 0), FERRY_OK);
        ck_assert_int_ne(ferry_store_commit(s), FERRY_OK);
        ferry_store_rollback(s);
        ferry_store_close(s);
    }
    tmp_store();
}
END_TEST

static void put_range(struct ferry_store *s, uint32_t from, uint32_t to, size_t hl)
{
    for (uint32_t n = from; n <= to; n++) {
        uint8_t hash[32], hdr[64];
        memset(hash, (int)(n * 7), 32);
        memset(hdr, (int)(n * 3), sizeof hdr);
        ck_assert_int_eq(ferry_store_put_relay(s, n, hash, hdr, hl ? hl : 1 + n % 60, n / 50),
                         FERRY_OK);
    }
}

/* Every number in from..to reads back as put_range wrote it; the others are not found. */
static void check_range(struct ferry_store *s, uint32_t from, uint32_t to, size_t hl)
{
    for (uint32_t n = from; n <= to; n++) {
        uint8_t hash[32], want[64], got[32], *hdr;
        size_t len;
        uint64_t set_id;
        memset(hash, (int)(n * 7), 32);
        memset(want, (int)(n * 3), sizeof want);
        ferry_err err = ferry_store_relay_at(s, n, got, &hdr, &len, &set_id);
        ck_assert_msg(err == FERRY_OK, "#%u: %s", n, ferry_strerror(err));
        ck_assert_mem_eq(got, hash, 32);
        ck_assert_uint_eq(len, hl ? hl : 1 + n % 60);
        ck_assert_mem_eq(hdr, want, len);
        ck_assert_uint_eq(set_id, n / 50);
        free(hdr);
    }
}

/* The data of relay_chunk row k: its length and first byte (-1: no row). */
static int chunk_row(uint32_t k, int *first)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "SELECT data FROM relay_chunk WHERE k = ?1", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(st, 1, k);
    int len = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        len = sqlite3_column_bytes(st, 0);
        *first = len > 0 ? ((const uint8_t *)sqlite3_column_blob(st, 0))[0] : -1;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return len;
}

/* Full chunks go to the header log (SQLite keeps a 25-byte reference), the partial newest one
 * stays in SQLite; both read back the same, also after reopening, and a partial chunk that
 * fills up moves to the log. */
START_TEST(full_chunks_live_in_the_header_log)
{
    tmp_store();
    struct ferry_store *s = open_ok();
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    put_range(s, 0, 64 * 3 + 9, 0);
    ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    ck_assert_int_gt(seg_size(0), 3 * 64 * 46);
    int first;
    for (uint32_t k = 0; k < 3; k++) {
        ck_assert_int_eq(chunk_row(k, &first), FERRY_STORE_CHUNK_REF_LEN);
        ck_assert_int_eq(first, 0);
    }
    ck_assert_int_gt(chunk_row(3, &first), FERRY_STORE_CHUNK_REF_LEN);
    ck_assert_int_eq(first, 10);
    check_range(s, 0, 64 * 3 + 9, 0);
    ferry_store_close(s);
    s = open_ok();
    check_range(s, 0, 64 * 3 + 9, 0);
    /* chunk 3 fills up, one header at a time as at the tip */
    for (uint32_t n = 64 * 3 + 10; n < 64 * 4 + 2; n++) {
        ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
        put_range(s, n, n, 0);
        ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    }
    ck_assert_int_eq(chunk_row(3, &first), FERRY_STORE_CHUNK_REF_LEN);
    uint32_t number;
    uint8_t got[32];
    ck_assert_int_eq(ferry_store_last_relay(s, &number, got, NULL, NULL, NULL), FERRY_OK);
    ck_assert_uint_eq(number, 64 * 4 + 1);
    check_range(s, 0, 64 * 4 + 1, 0);
    ferry_store_close(s);
    /* a store in memory has no log and keeps everything in SQLite */
    struct ferry_store *m;
    ck_assert_int_eq(ferry_store_open(":memory:", &m, NULL), FERRY_OK);
    put_range(m, 0, 200, 0);
    check_range(m, 0, 200, 0);
    ferry_store_close(m);
    tmp_store();
}
END_TEST

/* A log segment changed, cut short or gone is an error naming it, never a misread. */
START_TEST(header_log_damage_is_an_error)
{
    for (int damage = 0; damage < 3; damage++) {
        tmp_store();
        struct ferry_store *s = open_ok();
        ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
        put_range(s, 0, 130, 0);
        ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
        ferry_store_close(s);
        char f[600];
        snprintf(f, sizeof f, "%s-headers/%08u.hlog", path, 0u);
        if (damage == 0) {
            FILE *fp = fopen(f, "r+b");
            ck_assert_ptr_nonnull(fp);
            fseek(fp, 100, SEEK_SET);
            int c = fgetc(fp);
            fseek(fp, 100, SEEK_SET);
            fputc(c ^ 1, fp);
            fclose(fp);
        } else if (damage == 1) {
            ck_assert_int_eq(truncate(f, seg_size(0) - 1), 0);
        } else {
            ck_assert_int_eq(unlink(f), 0);
        }
        s = open_ok();
        uint8_t got[32], *hdr;
        size_t len;
        /* the byte changed is in chunk 0, the one cut off in chunk 1 */
        ferry_err err = ferry_store_relay_at(s, damage == 0 ? 5 : 127, got, &hdr, &len, NULL);
        ck_assert_int_ne(err, FERRY_OK);
        ck_assert_int_ne(err, FERRY_E_NOT_FOUND);
        /* the partial chunk in SQLite is still fine */
        check_range(s, 128, 130, 0);
        if (damage == 0) {
            /* chunk 1 (the second in the segment) is untouched */
            check_range(s, 64, 127, 0);
        }
        ferry_store_close(s);
    }
    tmp_store();
}
END_TEST

/* A rolled-back transaction or savepoint leaves neither rows nor log bytes behind. */
START_TEST(rollback_and_savepoints_undo_log_appends)
{
    tmp_store();
    struct ferry_store *s = open_ok();
    ck_assert_int_eq(ferry_store_savepoint(s), FERRY_E_STATE); /* outside a transaction */
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    put_range(s, 0, 127, 0);
    ck_assert_int_eq(ferry_store_savepoint(s), FERRY_OK);
    ck_assert_int_eq(ferry_store_savepoint(s), FERRY_E_STATE); /* one level */
    put_range(s, 128, 260, 0);
    check_range(s, 200, 260, 0); /* visible inside */
    ferry_store_rollback_to(s);
    ck_assert_int_eq(ferry_store_savepoint(s), FERRY_OK);
    put_range(s, 128, 140, 0);
    ck_assert_int_eq(ferry_store_release(s), FERRY_OK);
    ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    long long two_chunks = seg_size(0);
    uint8_t got[32], *hdr;
    size_t len;
    ck_assert_int_eq(ferry_store_relay_at(s, 141, got, &hdr, &len, NULL), FERRY_E_NOT_FOUND);
    check_range(s, 0, 140, 0);
    /* a whole transaction rolled back: the segment is as it was */
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    put_range(s, 141, 1000, 0);
    ferry_store_rollback(s);
    ck_assert_int_eq(seg_size(0), two_chunks);
    ck_assert_int_eq(ferry_store_relay_at(s, 141, got, &hdr, &len, NULL), FERRY_E_NOT_FOUND);
    /* and the next batch carries on from there */
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    put_range(s, 141, 300, 0);
    ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    ferry_store_close(s);
    s = open_ok();
    check_range(s, 0, 300, 0);
    ferry_store_close(s);
    tmp_store();
}
END_TEST

/* Pruning drops log segments whole, once the delete is committed. */
START_TEST(prune_removes_whole_log_segments)
{
    tmp_store();
    struct ferry_store *s = open_ok();
    const uint32_t seg = 64 * 1024; /* headers a segment */
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    put_range(s, 0, 3 * seg + 70, 1);
    ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    for (uint32_t i = 0; i < 4; i++)
        ck_assert_int_gt(seg_size(i), 0);
    /* inside a transaction that is rolled back: nothing goes */
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    ck_assert_int_eq(ferry_store_prune_relay(s, 2 * seg + 5), FERRY_OK);
    ferry_store_rollback(s);
    ck_assert_int_gt(seg_size(0), 0);
    check_range(s, 0, 10, 1);
    /* committed: segments 0 and 1 go, 2 stays (its first chunk is kept) */
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    ck_assert_int_eq(ferry_store_prune_relay(s, 2 * seg + 5), FERRY_OK);
    ck_assert_int_gt(seg_size(0), 0);
    ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    ck_assert_int_eq(seg_size(0), -1);
    ck_assert_int_eq(seg_size(1), -1);
    ck_assert_int_gt(seg_size(2), 0);
    check_range(s, 2 * seg, 2 * seg + 100, 1);
    check_range(s, 3 * seg, 3 * seg + 70, 1);
    /* outside a transaction it goes at once */
    ck_assert_int_eq(ferry_store_prune_relay(s, 3 * seg + 64), FERRY_OK);
    ck_assert_int_eq(seg_size(2), -1);
    check_range(s, 3 * seg + 64, 3 * seg + 70, 1);
    ferry_store_close(s);
    tmp_store();
}
END_TEST

/* A schema 2 store (every chunk in SQLite) reads as it is and is marked schema 3. */
START_TEST(schema_2_store_is_read_and_marked_3)
{
    tmp_store();
    struct ferry_store *m;
    ck_assert_int_eq(ferry_store_open(":memory:", &m, NULL), FERRY_OK);
    ferry_store_close(m);
    /* what ferry of schema 2 wrote: full chunks inline */
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sql_ok(db, "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
               "CREATE TABLE relay_chunk(k INTEGER PRIMARY KEY, data BLOB NOT NULL);"
               "CREATE TABLE para(para_id INTEGER NOT NULL, number INTEGER NOT NULL,"
               " hash BLOB NOT NULL, header BLOB NOT NULL, relay_number INTEGER NOT NULL,"
               " PRIMARY KEY(para_id, number));"
               "PRAGMA user_version = 2;");
    sqlite3_close(db);
    struct ferry_store *s = open_ok();
    ferry_store_close(s);
    ck_assert_int_eq(ferry_store_open(":memory:", &m, NULL), FERRY_OK);
    ferry_store_close(m);
    /* fill it through a store in memory's encoding: write with the log, then inline the rows */
    s = open_ok();
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    put_range(s, 0, 150, 0);
    ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    ferry_store_close(s);
    ck_assert_int_eq(user_version(), 3);
    /* turn the log references back into inline chunks, as schema 2 kept them */
    char f[600];
    snprintf(f, sizeof f, "%s-headers/%08u.hlog", path, 0u);
    FILE *fp = fopen(f, "rb");
    ck_assert_ptr_nonnull(fp);
    static uint8_t seg[1 << 16];
    size_t got = fread(seg, 1, sizeof seg, fp);
    fclose(fp);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    for (uint32_t k = 0; k < 2; k++) {
        sqlite3_stmt *st;
        ck_assert_int_eq(
            sqlite3_prepare_v2(db, "SELECT data FROM relay_chunk WHERE k = ?1", -1, &st, NULL),
            SQLITE_OK);
        sqlite3_bind_int64(st, 1, k);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        struct ferry_store_chunk_ref ref;
        ck_assert_int_eq(ferry_store_chunk_ref_decode(sqlite3_column_blob(st, 0),
                                                      (size_t)sqlite3_column_bytes(st, 0), &ref,
                                                      NULL),
                         FERRY_OK);
        sqlite3_finalize(st);
        ck_assert_uint_le(ref.off + ref.len, got);
        ck_assert_int_eq(
            sqlite3_prepare_v2(db, "UPDATE relay_chunk SET data = ?2 WHERE k = ?1", -1, &st, NULL),
            SQLITE_OK);
        sqlite3_bind_int64(st, 1, k);
        sqlite3_bind_blob(st, 2, seg + ref.off, (int)ref.len, SQLITE_TRANSIENT);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
    }
    sql_ok(db, "PRAGMA user_version = 2");
    sqlite3_close(db);
    ck_assert_int_eq(unlink(f), 0);
    s = open_ok();
    ck_assert_int_eq(user_version(), 3);
    check_range(s, 0, 150, 0);
    put_range(s, 151, 64 * 3, 0); /* chunk 2 fills up: into a new log */
    ferry_store_close(s);
    int first;
    ck_assert_int_eq(chunk_row(2, &first), FERRY_STORE_CHUNK_REF_LEN);
    ck_assert_int_gt(chunk_row(1, &first), FERRY_STORE_CHUNK_REF_LEN);
    s = open_ok();
    check_range(s, 0, 64 * 3, 0);
    ferry_store_close(s);
    tmp_store();
}
END_TEST

/* Two handles on one store (two processes, say) writing in turn: each appends after what the
 * other committed, never over it. */
START_TEST(two_handles_writing_in_turn_share_the_log)
{
    tmp_store();
    struct ferry_store *a = open_ok(), *b = open_ok();
    for (uint32_t round = 0; round < 6; round++) {
        struct ferry_store *w = round % 2 ? b : a;
        ck_assert_int_eq(ferry_store_begin(w), FERRY_OK);
        put_range(w, round * 128, round * 128 + 127, 0);
        ck_assert_int_eq(ferry_store_commit(w), FERRY_OK);
    }
    /* and one that is rolled back by a, after b wrote */
    ck_assert_int_eq(ferry_store_begin(a), FERRY_OK);
    put_range(a, 768, 900, 0);
    ferry_store_rollback(a);
    ck_assert_int_eq(ferry_store_begin(b), FERRY_OK);
    put_range(b, 768, 800, 0);
    ck_assert_int_eq(ferry_store_commit(b), FERRY_OK);
    check_range(a, 0, 800, 0);
    check_range(b, 0, 800, 0);
    ferry_store_close(a);
    ferry_store_close(b);
    struct ferry_store *c = open_ok();
    check_range(c, 0, 800, 0);
    ferry_store_close(c);
    tmp_store();
}
END_TEST

/* A run that appended to the log and died before its commit (here: a handle closed inside its
 * transaction, after more than the log's write buffer) leaves bytes nothing refers to; the next
 * writer cuts them off, and a segment holding nothing committed goes. */
START_TEST(a_crashed_runs_uncommitted_log_bytes_are_dropped)
{
    tmp_store();
    const uint32_t seg = 64 * 1024;
    struct ferry_store *s = open_ok();
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    put_range(s, 0, 700, 0);
    ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    long long committed = seg_size(0);
    /* a second run: ~1 MB appended into segment 0 and some into segment 1, never committed */
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    put_range(s, 701, seg + 8000, 1);
    ck_assert_int_gt(seg_size(0), committed + 256 * 1024);
    ck_assert_int_gt(seg_size(1), 0);
    ferry_store_close(s); /* as a kill would: no commit, no rollback of the log */
    s = open_ok();
    check_range(s, 0, 700, 0); /* reading cuts nothing */
    ck_assert_int_gt(seg_size(1), 0);
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    ck_assert_int_eq(seg_size(0), committed);
    ck_assert_int_eq(seg_size(1), -1);
    put_range(s, 701, 900, 0);
    ck_assert_int_eq(ferry_store_commit(s), FERRY_OK);
    ferry_store_close(s);
    s = open_ok();
    check_range(s, 0, 900, 0);
    /* a store whose chunks are all in SQLite keeps no segment */
    ferry_store_close(s);
    tmp_store();
    s = open_ok();
    put_range(s, 0, 10, 0);
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    put_range(s, 11, 6000, 0);
    ck_assert_int_gt(seg_size(0), 0);
    ferry_store_close(s);
    s = open_ok();
    ck_assert_int_eq(ferry_store_begin(s), FERRY_OK);
    ck_assert_int_eq(seg_size(0), -1);
    ferry_store_rollback(s);
    check_range(s, 0, 10, 0);
    ferry_store_close(s);
    tmp_store();
}
END_TEST

START_TEST(chunk_reference_decoder_refuses_malformed_input)
{
    uint8_t ref[FERRY_STORE_CHUNK_REF_LEN + 1] = {0};
    struct ferry_store_chunk_ref r;
    struct ferry_reason why = {""};
    ref[13] = 10; /* 10 bytes at offset 0 of segment 0 */
    ck_assert_int_eq(ferry_store_chunk_ref_decode(ref, FERRY_STORE_CHUNK_REF_LEN, &r, &why),
                     FERRY_OK);
    ck_assert_uint_eq(r.len, 10);
    ck_assert_int_eq(ferry_store_chunk_ref_decode(ref, 0, &r, &why), FERRY_E_INVALID);
    ck_assert_int_eq(ferry_store_chunk_ref_decode(ref, 24, &r, &why), FERRY_E_TRUNCATED);
    ck_assert_int_eq(ferry_store_chunk_ref_decode(ref, 26, &r, &why), FERRY_E_TRAILING);
    ref[0] = 1;
    ck_assert_int_eq(ferry_store_chunk_ref_decode(ref, 25, &r, &why), FERRY_E_INVALID);
    ref[0] = 0;
    ref[13] = 0; /* no bytes */
    ck_assert_int_eq(ferry_store_chunk_ref_decode(ref, 25, &r, &why), FERRY_E_INVALID);
    ref[15] = 0x20; /* 2 MiB: above the log's chunk limit */
    ck_assert_int_eq(ferry_store_chunk_ref_decode(ref, 25, &r, &why), FERRY_E_INVALID);
    ck_assert(strstr(why.text, "2097152") != NULL);
    ref[15] = 0;
    ref[13] = 10;
    memset(ref + 5, 0xff, 8); /* an offset past any file */
    ck_assert_int_eq(ferry_store_chunk_ref_decode(ref, 25, &r, &why), FERRY_E_INVALID);
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
    tcase_add_test(tc, chunks_hold_runs_gaps_and_prune_on_boundaries);
    tcase_add_test(tc, schema_1_store_is_converted_on_open);
    tcase_add_test(tc, unconvertible_schema_1_store_is_refused_unchanged);
    tcase_add_test(tc, chunk_decoder_refuses_every_malformed_blob);
    tcase_add_test(tc, corrupt_chunk_on_disk_is_an_error);
    tcase_add_test(tc, full_chunks_live_in_the_header_log);
    tcase_add_test(tc, header_log_damage_is_an_error);
    tcase_add_test(tc, rollback_and_savepoints_undo_log_appends);
    tcase_add_test(tc, prune_removes_whole_log_segments);
    tcase_add_test(tc, schema_2_store_is_read_and_marked_3);
    tcase_add_test(tc, chunk_reference_decoder_refuses_malformed_input);
    tcase_add_test(tc, two_handles_writing_in_turn_share_the_log);
    tcase_add_test(tc, a_crashed_runs_uncommitted_log_bytes_are_dropped);
    suite_add_tcase(s, tc);
    return s;
}
