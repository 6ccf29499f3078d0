/* The light client's SQLite store (see store.h for what it keeps and why it is crash-safe).
 *
 * Statements are prepared once per handle. Numbers are stored as INTEGER, hashes and headers as
 * BLOB. The schema version lives in PRAGMA user_version so an older ferry refuses a newer store
 * instead of misreading it.
 *
 * Relay headers written inside a write transaction (a verified batch) are queued and inserted
 * RELAY_ROWS at a time by one multi-row INSERT: one statement execution per RELAY_ROWS headers
 * instead of one per header (the statement's start, halt and reset were most of a header's
 * store cost). The queue is flushed before anything reads the relay table or ends the
 * transaction, and dropped by a rollback, so what is committed, and when, is unchanged.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/store.h"

#define SCHEMA_VERSION 1

/* Relay rows per multi-row INSERT (4 parameters each: well under any SQLite's variable limit). */
#define RELAY_ROWS 32

enum stmt_id {
    ST_PUT_META,
    ST_GET_META,
    ST_PUT_RELAY,
    ST_LAST_RELAY,
    ST_RELAY_AT,
    ST_PUT_PARA,
    ST_LAST_PARA,
    ST_PRUNE_RELAY,
    ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_PUT_META] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
    [ST_GET_META] = "SELECT value FROM meta WHERE key = ?1",
    [ST_PUT_RELAY] = "INSERT OR REPLACE INTO relay(number, hash, header, set_id) "
                     "VALUES (?1, ?2, ?3, ?4)",
    [ST_LAST_RELAY] = "SELECT number, hash, header, set_id FROM relay ORDER BY number DESC LIMIT 1",
    [ST_RELAY_AT] = "SELECT number, hash, header, set_id FROM relay WHERE number = ?1",
    [ST_PUT_PARA] = "INSERT OR REPLACE INTO para(para_id, number, hash, header, relay_number) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_LAST_PARA] = "SELECT number, hash, header FROM para WHERE para_id = ?1 "
                     "ORDER BY number DESC LIMIT 1",
    [ST_PRUNE_RELAY] = "DELETE FROM relay WHERE number < ?1 AND number < "
                       "(SELECT MAX(number) FROM relay)",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS relay(number INTEGER PRIMARY KEY, hash BLOB NOT NULL,"
    " header BLOB NOT NULL, set_id INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS para(para_id INTEGER NOT NULL, number INTEGER NOT NULL,"
    " hash BLOB NOT NULL, header BLOB NOT NULL, relay_number INTEGER NOT NULL,"
    " PRIMARY KEY(para_id, number));";

/* A relay row waiting for the multi-row INSERT; its header is at arena + off. */
struct relay_row {
    uint32_t number;
    uint64_t set_id;
    uint8_t hash[32];
    size_t off, len;
};

struct ferry_store {
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT];
    sqlite3_stmt *put_relay_many; /* RELAY_ROWS rows per execution */
    bool in_write;                /* inside ferry_store_begin: relay rows are queued */
    size_t n_rows;
    struct relay_row rows[RELAY_ROWS];
    uint8_t *arena; /* the queued rows' headers */
    size_t arena_used, arena_cap;
};

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
    /* SQLite's allocation statistics take a global mutex on every malloc and free (~3 % of a
     * catch-up's CPU); ferry never reads them. Only possible before SQLite initialises: if
     * something else in the process used SQLite first, this fails harmlessly. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

ferry_err ferry_store_open(const char *path, struct ferry_store **out, struct ferry_reason *why)
{
    *out = NULL;
    pthread_once(&sqlite_once, sqlite_setup);
    struct ferry_store *s = calloc(1, sizeof *s);
    if (!s)
        return FERRY_E_NOMEM;
    /* NOMUTEX: a handle is used by one thread at a time (store.h), so SQLite's per-connection
     * mutex, taken by every bind, step and reset, only costs. */
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        ferry_reason_set(why, FERRY_E_IO, "cannot open store %s: %s", path, sqlite3_errmsg(s->db));
        ferry_store_close(s);
        return FERRY_E_IO;
    }
    /* Wait briefly for a lock instead of failing at once; a second ferry on the same store gets
     * a clear error below. */
    sqlite3_busy_timeout(s->db, 2000);
    char *err = NULL;
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                     NULL, NULL, &err) != SQLITE_OK) {
        ferry_reason_set(why, FERRY_E_IO, "cannot set up store %s: %s (is another ferry using it?)",
                         path, err ? err : "");
        sqlite3_free(err);
        ferry_store_close(s);
        return FERRY_E_IO;
    }
    sqlite3_stmt *v;
    int version = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &v, NULL) == SQLITE_OK) {
        if (sqlite3_step(v) == SQLITE_ROW)
            version = sqlite3_column_int(v, 0);
        sqlite3_finalize(v);
    }
    if (version > SCHEMA_VERSION) {
        char v_text[16];
        snprintf(v_text, sizeof v_text, "%d", version);
        ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                         "store %s was written by a newer ferry (schema version %s)", path, v_text);
        ferry_store_close(s);
        return FERRY_E_UNSUPPORTED;
    }
    if (sqlite3_exec(s->db, schema, NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_exec(s->db, "PRAGMA user_version = 1", NULL, NULL, NULL) != SQLITE_OK) {
        ferry_reason_set(why, FERRY_E_IO, "cannot create tables in %s: %s", path, err ? err : "");
        sqlite3_free(err);
        ferry_store_close(s);
        return FERRY_E_IO;
    }
    for (int i = 0; i < ST__COUNT; i++) {
        if (sqlite3_prepare_v2(s->db, stmt_sql[i], -1, &s->st[i], NULL) != SQLITE_OK) {
            ferry_reason_set(why, FERRY_E_IO, "store %s: %s", path, sqlite3_errmsg(s->db));
            ferry_store_close(s);
            return FERRY_E_IO;
        }
    }
    char many[64 + RELAY_ROWS * 24];
    int at = snprintf(many, sizeof many,
                      "INSERT OR REPLACE INTO relay(number, hash, header, set_id) VALUES ");
    for (int i = 0; i < RELAY_ROWS; i++)
        at += snprintf(many + at, sizeof many - (size_t)at, "%s(?,?,?,?)", i ? "," : "");
    if (sqlite3_prepare_v2(s->db, many, -1, &s->put_relay_many, NULL) != SQLITE_OK) {
        ferry_reason_set(why, FERRY_E_IO, "store %s: %s", path, sqlite3_errmsg(s->db));
        ferry_store_close(s);
        return FERRY_E_IO;
    }
    *out = s;
    return FERRY_OK;
}

void ferry_store_close(struct ferry_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_finalize(s->put_relay_many);
    sqlite3_close(s->db);
    free(s->arena);
    free(s);
}

static ferry_err exec(struct ferry_store *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? FERRY_OK : FERRY_E_IO;
}

ferry_err ferry_store_begin(struct ferry_store *s)
{
    s->n_rows = 0;
    s->arena_used = 0;
    ferry_err err = exec(s, "BEGIN IMMEDIATE");
    s->in_write = err == FERRY_OK;
    return err;
}

ferry_err ferry_store_begin_read(struct ferry_store *s)
{
    return exec(s, "BEGIN DEFERRED");
}

/* Run a prepared write statement to completion and reset it. Its parameters are not cleared:
 * every write binds all of them before its step. */
static ferry_err step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? FERRY_OK : FERRY_E_IO;
}

static void bind_relay(sqlite3_stmt *st, int at, uint32_t number, const uint8_t hash[32],
                       const uint8_t *header, size_t header_len, uint64_t set_id)
{
    sqlite3_bind_int64(st, at + 1, number);
    sqlite3_bind_blob(st, at + 2, hash, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, at + 3, header, (int)header_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, at + 4, (sqlite3_int64)set_id);
}

/* Insert the queued relay rows: RELAY_ROWS by one execution of the multi-row statement, a
 * shorter tail one by one, in queue order. The queue is empty afterwards, written or not. */
static ferry_err flush_relay(struct ferry_store *s)
{
    ferry_err err = FERRY_OK;
    if (s->n_rows == RELAY_ROWS) {
        for (size_t i = 0; i < RELAY_ROWS; i++) {
            const struct relay_row *r = &s->rows[i];
            bind_relay(s->put_relay_many, (int)i * 4, r->number, r->hash, s->arena + r->off, r->len,
                       r->set_id);
        }
        err = step_done(s->put_relay_many);
    } else {
        for (size_t i = 0; !err && i < s->n_rows; i++) {
            const struct relay_row *r = &s->rows[i];
            bind_relay(s->st[ST_PUT_RELAY], 0, r->number, r->hash, s->arena + r->off, r->len,
                       r->set_id);
            err = step_done(s->st[ST_PUT_RELAY]);
        }
    }
    s->n_rows = 0;
    s->arena_used = 0;
    return err;
}

ferry_err ferry_store_commit(struct ferry_store *s)
{
    ferry_err err = flush_relay(s);
    if (err)
        return err;
    err = exec(s, "COMMIT");
    if (!err)
        s->in_write = false;
    return err;
}

void ferry_store_rollback(struct ferry_store *s)
{
    s->n_rows = 0;
    s->arena_used = 0;
    s->in_write = false;
    if (!sqlite3_get_autocommit(s->db))
        (void)exec(s, "ROLLBACK");
}

/* Copy a BLOB column into a malloc'd buffer. */
static ferry_err column_blob(sqlite3_stmt *st, int col, uint8_t **out, size_t *len)
{
    const void *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    *out = malloc(n > 0 ? (size_t)n : 1);
    if (!*out)
        return FERRY_E_NOMEM;
    if (n > 0)
        memcpy(*out, p, (size_t)n);
    *len = (size_t)n;
    return FERRY_OK;
}

static void column_hash(sqlite3_stmt *st, int col, uint8_t hash[32])
{
    memset(hash, 0, 32);
    if (sqlite3_column_bytes(st, col) == 32)
        memcpy(hash, sqlite3_column_blob(st, col), 32);
}

ferry_err ferry_store_put_meta(struct ferry_store *s, const char *key, const void *val, size_t len)
{
    sqlite3_stmt *st = s->st[ST_PUT_META];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, val ? val : "", (int)len, SQLITE_STATIC);
    return step_done(st);
}

ferry_err ferry_store_get_meta(struct ferry_store *s, const char *key, uint8_t **val, size_t *len)
{
    sqlite3_stmt *st = s->st[ST_GET_META];
    *val = NULL;
    *len = 0;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    ferry_err err = rc == SQLITE_ROW    ? column_blob(st, 0, val, len)
                    : rc == SQLITE_DONE ? FERRY_E_NOT_FOUND
                                        : FERRY_E_IO;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

ferry_err ferry_store_bind_genesis(struct ferry_store *s, const uint8_t genesis[32])
{
    uint8_t *have;
    size_t len;
    ferry_err err = ferry_store_get_meta(s, "genesis_hash", &have, &len);
    if (err == FERRY_E_NOT_FOUND)
        return ferry_store_put_meta(s, "genesis_hash", genesis, 32);
    if (err)
        return err;
    int same = len == 32 && memcmp(have, genesis, 32) == 0;
    free(have);
    return same ? FERRY_OK : FERRY_E_STATE;
}

ferry_err ferry_store_put_relay(struct ferry_store *s, uint32_t number, const uint8_t hash[32],
                                const uint8_t *header, size_t header_len, uint64_t set_id)
{
    if (header_len > INT32_MAX)
        return FERRY_E_INVALID;
    if (!s->in_write) { /* committed on its own: written now */
        bind_relay(s->st[ST_PUT_RELAY], 0, number, hash, header, header_len, set_id);
        return step_done(s->st[ST_PUT_RELAY]);
    }
    if (s->arena_cap - s->arena_used < header_len) {
        size_t cap = s->arena_cap ? s->arena_cap : 8192;
        while (cap - s->arena_used < header_len) {
            if (cap > SIZE_MAX / 2)
                return FERRY_E_NOMEM;
            cap *= 2;
        }
        uint8_t *a = realloc(s->arena, cap);
        if (!a)
            return FERRY_E_NOMEM;
        s->arena = a;
        s->arena_cap = cap;
    }
    struct relay_row *r = &s->rows[s->n_rows++];
    r->number = number;
    r->set_id = set_id;
    memcpy(r->hash, hash, 32);
    r->off = s->arena_used;
    r->len = header_len;
    if (header_len)
        memcpy(s->arena + s->arena_used, header, header_len);
    s->arena_used += header_len;
    return s->n_rows == RELAY_ROWS ? flush_relay(s) : FERRY_OK;
}

static ferry_err read_relay_row(sqlite3_stmt *st, uint32_t *number, uint8_t hash[32],
                                uint8_t **header, size_t *header_len, uint64_t *set_id)
{
    int rc = sqlite3_step(st);
    ferry_err err = FERRY_OK;
    if (rc == SQLITE_ROW) {
        if (number)
            *number = (uint32_t)sqlite3_column_int64(st, 0);
        if (hash)
            column_hash(st, 1, hash);
        if (header)
            err = column_blob(st, 2, header, header_len);
        if (set_id)
            *set_id = (uint64_t)sqlite3_column_int64(st, 3);
    } else {
        err = rc == SQLITE_DONE ? FERRY_E_NOT_FOUND : FERRY_E_IO;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

ferry_err ferry_store_last_relay(struct ferry_store *s, uint32_t *number, uint8_t hash[32],
                                 uint8_t **header, size_t *header_len, uint64_t *set_id)
{
    if (s->n_rows && flush_relay(s))
        return FERRY_E_IO;
    return read_relay_row(s->st[ST_LAST_RELAY], number, hash, header, header_len, set_id);
}

ferry_err ferry_store_relay_at(struct ferry_store *s, uint32_t number, uint8_t hash[32],
                               uint8_t **header, size_t *header_len, uint64_t *set_id)
{
    if (s->n_rows && flush_relay(s))
        return FERRY_E_IO;
    sqlite3_bind_int64(s->st[ST_RELAY_AT], 1, number);
    return read_relay_row(s->st[ST_RELAY_AT], NULL, hash, header, header_len, set_id);
}

ferry_err ferry_store_put_authorities(struct ferry_store *s, const void *state, size_t len)
{
    return ferry_store_put_meta(s, "authority_set", state, len);
}

ferry_err ferry_store_get_authorities(struct ferry_store *s, uint8_t **state, size_t *len)
{
    return ferry_store_get_meta(s, "authority_set", state, len);
}

ferry_err ferry_store_put_para(struct ferry_store *s, uint32_t para_id, uint32_t number,
                               const uint8_t hash[32], const uint8_t *header, size_t header_len,
                               uint32_t relay_number)
{
    sqlite3_stmt *st = s->st[ST_PUT_PARA];
    sqlite3_bind_int64(st, 1, para_id);
    sqlite3_bind_int64(st, 2, number);
    sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, header, (int)header_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, relay_number);
    return step_done(st);
}

ferry_err ferry_store_last_para(struct ferry_store *s, uint32_t para_id, uint32_t *number,
                                uint8_t hash[32], uint8_t **header, size_t *header_len)
{
    sqlite3_stmt *st = s->st[ST_LAST_PARA];
    sqlite3_bind_int64(st, 1, para_id);
    int rc = sqlite3_step(st);
    ferry_err err = FERRY_OK;
    if (rc == SQLITE_ROW) {
        *number = (uint32_t)sqlite3_column_int64(st, 0);
        column_hash(st, 1, hash);
        if (header)
            err = column_blob(st, 2, header, header_len);
    } else {
        err = rc == SQLITE_DONE ? FERRY_E_NOT_FOUND : FERRY_E_IO;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

ferry_err ferry_store_prune_relay(struct ferry_store *s, uint32_t keep_from)
{
    if (s->n_rows && flush_relay(s))
        return FERRY_E_IO;
    sqlite3_stmt *st = s->st[ST_PRUNE_RELAY];
    sqlite3_bind_int64(st, 1, keep_from);
    return step_done(st);
}
