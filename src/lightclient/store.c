/* The light client's SQLite store (see store.h for what it keeps and why it is crash-safe).
 *
 * Statements are prepared once per handle. Numbers are stored as INTEGER, hashes and headers as
 * BLOB. The schema version lives in PRAGMA user_version so an older ferry refuses a newer store
 * instead of misreading it.
 *
 * Relay headers (schema 2) are kept in chunks: one row of relay_chunk per 64 consecutive numbers
 * (key = number / 64) holding the entries of that range in one blob (format in store.h,
 * decoded by ferry_store_chunk_decode as hostile input). Schema 1 kept one row per header; one
 * B-tree insert, its WAL page writes and its delete on prune per header were about half of a
 * catch-up's CPU. A v1 store is converted on open, in one transaction.
 *
 * Relay headers put inside a write transaction (a verified batch) are queued, one chunk at a
 * time, and the chunk is written when a header of another chunk is put, a header already queued
 * is put again, or anything reads the relay headers or ends the transaction. Writing a chunk
 * merges the queue with the chunk's row when the queue does not cover all 64 numbers. A rollback
 * drops the queue, so what is committed, and when, is unchanged: one transaction per batch.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "ferry/store.h"
#include "headerlog.h"

#define LOG "store"

#define SCHEMA_VERSION 3

#define CHUNK       FERRY_STORE_CHUNK_HEADERS
#define ENTRY_FIXED (1 + 8 + 32 + 4) /* offset, set_id, hash, header length */

enum stmt_id {
    ST_PUT_META,
    ST_GET_META,
    ST_PUT_CHUNK,
    ST_GET_CHUNK,
    ST_LAST_CHUNK,
    ST_PUT_PARA,
    ST_LAST_PARA,
    ST_PRUNE_RELAY,
    ST_FIRST_CHUNK,
    ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_PUT_META] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
    [ST_GET_META] = "SELECT value FROM meta WHERE key = ?1",
    [ST_PUT_CHUNK] = "INSERT OR REPLACE INTO relay_chunk(k, data) VALUES (?1, ?2)",
    [ST_GET_CHUNK] = "SELECT k, data FROM relay_chunk WHERE k = ?1",
    [ST_LAST_CHUNK] = "SELECT k, data FROM relay_chunk ORDER BY k DESC LIMIT 1",
    [ST_PUT_PARA] = "INSERT OR REPLACE INTO para(para_id, number, hash, header, relay_number) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_LAST_PARA] = "SELECT number, hash, header FROM para WHERE para_id = ?1 "
                     "ORDER BY number DESC LIMIT 1",
    [ST_PRUNE_RELAY] = "DELETE FROM relay_chunk WHERE k < ?1 AND k < "
                       "(SELECT MAX(k) FROM relay_chunk)",
    [ST_FIRST_CHUNK] = "SELECT MIN(k) FROM relay_chunk",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS relay_chunk(k INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS para(para_id INTEGER NOT NULL, number INTEGER NOT NULL,"
    " hash BLOB NOT NULL, header BLOB NOT NULL, relay_number INTEGER NOT NULL,"
    " PRIMARY KEY(para_id, number));";

/* A queued relay header: its number is key * CHUNK + its index in rows; its bytes at arena+off. */
struct relay_row {
    uint64_t set_id;
    uint8_t hash[32];
    size_t off, len;
};

struct ferry_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *st[ST__COUNT];
    bool in_write;   /* inside ferry_store_begin: relay rows are queued */
    uint64_t queued; /* bit i: rows[i] holds header key * CHUNK + i */
    uint32_t key;    /* the chunk of the queued rows */
    struct relay_row rows[CHUNK];
    uint8_t *arena; /* the queued rows' headers */
    size_t arena_used, arena_cap;
    uint8_t *enc; /* a chunk being encoded */
    size_t enc_cap;
    struct hlog *log;       /* full chunks (NULL for ":memory:": everything in SQLite) */
    struct hlog_pos tx_pos; /* the log's end at ferry_store_begin */
    struct hlog_pos sp_pos; /* ... and at ferry_store_savepoint */
    bool in_savepoint;
    bool log_locked;     /* the write lock was taken before anything was appended */
    bool log_trimmed;    /* a crashed run's uncommitted log bytes were dropped */
    uint32_t drop_below; /* segments below this are unreferenced once committed */
};

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
    /* SQLite's allocation statistics take a global mutex on every malloc and free (~3 % of a
     * catch-up's CPU); ferry never reads them. Only possible before SQLite initialises: if
     * something else in the process used SQLite first, this fails harmlessly. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

ferry_err ferry_store_chunk_decode(uint32_t key, const uint8_t *blob, size_t len,
                                   struct ferry_store_chunk_entry out[FERRY_STORE_CHUNK_HEADERS],
                                   size_t *count, struct ferry_reason *why)
{
    *count = 0;
    if (key > UINT32_MAX / CHUNK)
        return ferry_reason_set(why, FERRY_E_INVALID, "relay chunk %u: key out of range", key);
    if (len < 1)
        return ferry_reason_set(why, FERRY_E_TRUNCATED, "relay chunk %u: empty", key);
    size_t n = blob[0];
    if (n == 0 || n > CHUNK)
        return ferry_reason_set(why, FERRY_E_INVALID, "relay chunk %u: %zu entries (1..%d)", key, n,
                                CHUNK);
    size_t at = 1;
    int prev = -1;
    for (size_t i = 0; i < n; i++) {
        if (len - at < ENTRY_FIXED)
            return ferry_reason_set(why, FERRY_E_TRUNCATED,
                                    "relay chunk %u: entry %zu truncated at byte %zu", key, i, at);
        const uint8_t *p = blob + at;
        if ((int)p[0] <= prev || p[0] >= CHUNK)
            return ferry_reason_set(why, FERRY_E_INVALID,
                                    "relay chunk %u: entry %zu has offset %u (after %d, below %d)",
                                    key, i, p[0], prev, CHUNK);
        prev = p[0];
        uint64_t set_id = 0;
        for (int b = 7; b >= 0; b--)
            set_id = set_id << 8 | p[1 + b];
        uint32_t hl =
            (uint32_t)p[41] | (uint32_t)p[42] << 8 | (uint32_t)p[43] << 16 | (uint32_t)p[44] << 24;
        at += ENTRY_FIXED;
        if (hl > len - at)
            return ferry_reason_set(why, FERRY_E_TOO_LARGE,
                                    "relay chunk %u: entry %zu header of %u bytes, %zu left", key,
                                    i, hl, len - at);
        out[i].number = key * CHUNK + p[0];
        out[i].set_id = set_id;
        out[i].hash = p + 9;
        out[i].header = blob + at;
        out[i].header_len = hl;
        at += hl;
    }
    if (at != len)
        return ferry_reason_set(why, FERRY_E_TRAILING, "relay chunk %u: %zu bytes after entry %zu",
                                key, len - at, n);
    *count = n;
    return FERRY_OK;
}

/* Append len bytes to the encoding buffer (grown as needed). */
static ferry_err enc_put(struct ferry_store *s, size_t *used, const void *p, size_t len)
{
    if (s->enc_cap - *used < len) {
        size_t cap = s->enc_cap ? s->enc_cap : 16384;
        while (cap - *used < len) {
            if (cap > (size_t)INT32_MAX)
                return FERRY_E_TOO_LARGE; /* SQLite's blob limit */
            cap *= 2;
        }
        uint8_t *e = realloc(s->enc, cap);
        if (!e)
            return FERRY_E_NOMEM;
        s->enc = e;
        s->enc_cap = cap;
    }
    if (len)
        memcpy(s->enc + *used, p, len);
    *used += len;
    return FERRY_OK;
}

static ferry_err enc_entry(struct ferry_store *s, size_t *used, unsigned off, uint64_t set_id,
                           const uint8_t *hash, const uint8_t *header, size_t header_len)
{
    if (header_len > UINT32_MAX)
        return FERRY_E_TOO_LARGE;
    uint8_t fixed[ENTRY_FIXED];
    fixed[0] = (uint8_t)off;
    for (int b = 0; b < 8; b++)
        fixed[1 + b] = (uint8_t)(set_id >> (8 * b));
    memcpy(fixed + 9, hash, 32);
    for (int b = 0; b < 4; b++)
        fixed[41 + b] = (uint8_t)(header_len >> (8 * b));
    ferry_err err = enc_put(s, used, fixed, sizeof fixed);
    return err ? err : enc_put(s, used, header, header_len);
}

/* Run a prepared write statement to completion and reset it. Its parameters are not cleared:
 * every write binds all of them before its step. */
static ferry_err step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? FERRY_OK : FERRY_E_IO;
}

/* A chunk reference's fields (segment, offset, length, checksum): where each starts, and its
 * width, in the FERRY_STORE_CHUNK_REF_LEN bytes after the tag byte 0 (store.h). */
static const int ref_at[4] = {1, 5, 13, 17}, ref_width[4] = {4, 8, 4, 8};

ferry_err ferry_store_chunk_ref_decode(const uint8_t *data, size_t len,
                                       struct ferry_store_chunk_ref *out, struct ferry_reason *why)
{
    memset(out, 0, sizeof *out);
    if (len < 1 || data[0] != 0)
        return ferry_reason_set(why, FERRY_E_INVALID, "relay chunk reference: no reference tag");
    if (len < FERRY_STORE_CHUNK_REF_LEN)
        return ferry_reason_set(why, FERRY_E_TRUNCATED, "relay chunk reference: %zu of %d bytes",
                                len, FERRY_STORE_CHUNK_REF_LEN);
    if (len > FERRY_STORE_CHUNK_REF_LEN)
        return ferry_reason_set(why, FERRY_E_TRAILING, "relay chunk reference: %zu bytes, not %d",
                                len, FERRY_STORE_CHUNK_REF_LEN);
    uint64_t v[4] = {0};
    for (int f = 0; f < 4; f++)
        for (int b = ref_width[f] - 1; b >= 0; b--)
            v[f] = v[f] << 8 | data[ref_at[f] + b];
    if (v[2] == 0 || v[2] > FERRY_STORE_LOG_CHUNK_MAX || v[1] > INT64_MAX - v[2])
        return ferry_reason_set(why, FERRY_E_INVALID, "relay chunk reference: %llu bytes at %llu",
                                (unsigned long long)v[2], (unsigned long long)v[1]);
    out->seg = (uint32_t)v[0];
    out->off = v[1];
    out->len = (uint32_t)v[2];
    out->sum = v[3];
    return FERRY_OK;
}

static void chunk_ref_encode(const struct ferry_store_chunk_ref *ref,
                             uint8_t out[FERRY_STORE_CHUNK_REF_LEN])
{
    const uint64_t v[4] = {ref->seg, ref->off, ref->len, ref->sum};
    out[0] = 0;
    for (int f = 0; f < 4; f++)
        for (int b = 0; b < ref_width[f]; b++)
            out[ref_at[f] + b] = (uint8_t)(v[f] >> (8 * b));
}

/* Decode the current row's chunk (columns k, data) of st, reading it from the header log when
 * the row refers to it; a corrupt chunk is logged. ents[] point into the row or the log's
 * buffer, valid until st is reset or the log read again. */
static ferry_err row_chunk(struct ferry_store *s, sqlite3_stmt *st,
                           struct ferry_store_chunk_entry ents[CHUNK], size_t *count)
{
    sqlite3_int64 k = sqlite3_column_int64(st, 0);
    const uint8_t *blob = sqlite3_column_blob(st, 1);
    int n = sqlite3_column_bytes(st, 1);
    size_t len = n > 0 ? (size_t)n : 0;
    if (!blob)
        blob = (const uint8_t *)"";
    struct ferry_reason why = {""};
    ferry_err err = FERRY_E_INVALID;
    if (k < 0 || k > UINT32_MAX / CHUNK) {
        ferry_reason_set(&why, FERRY_E_INVALID, "relay chunk key %lld out of range", (long long)k);
    } else if (len > 0 && blob[0] == 0) {
        struct ferry_store_chunk_ref ref;
        err = ferry_store_chunk_ref_decode(blob, len, &ref, &why);
        if (!err && !s->log)
            err = ferry_reason_set(&why, FERRY_E_INVALID,
                                   "relay chunk %lld is in a header log, which a store in memory "
                                   "cannot have",
                                   (long long)k);
        if (!err)
            err = hlog_read(s->log, (uint32_t)k, &ref, &blob, &why);
        if (!err)
            err = ferry_store_chunk_decode((uint32_t)k, blob, ref.len, ents, count, &why);
    } else {
        err = ferry_store_chunk_decode((uint32_t)k, blob, len, ents, count, &why);
    }
    if (err)
        ferry_log_error(LOG,
                        "store %s is corrupt: %s (restore it from a backup, or remove it and "
                        "start again from a checkpoint)",
                        s->path, why.text);
    return err;
}

/* Write the queued relay rows: merged with the chunk's row unless they cover the whole chunk.
 * The queue is empty afterwards, written or not. */
static ferry_err flush_relay(struct ferry_store *s)
{
    if (!s->queued)
        return FERRY_OK;
    uint64_t queued = s->queued;
    s->queued = 0;
    sqlite3_stmt *get = s->st[ST_GET_CHUNK];
    struct ferry_store_chunk_entry old[CHUNK];
    size_t n_old = 0;
    ferry_err err = FERRY_OK;
    bool have_row = false;
    if (queued != UINT64_MAX) {
        sqlite3_bind_int64(get, 1, s->key);
        int rc = sqlite3_step(get);
        if (rc == SQLITE_ROW) {
            have_row = true;
            err = row_chunk(s, get, old, &n_old);
        } else if (rc != SQLITE_DONE) {
            err = FERRY_E_IO;
        }
    }
    /* entries of both, in offset order, the queued one winning (old[] stays valid until reset) */
    size_t used = 0, n = 0, j = 0;
    uint8_t count = 0; /* patched below */
    if (!err)
        err = enc_put(s, &used, &count, 1);
    for (unsigned off = 0; !err && off < CHUNK; off++) {
        while (j < n_old && old[j].number - s->key * CHUNK < off)
            j++;
        if (queued >> off & 1) {
            const struct relay_row *r = &s->rows[off];
            err = enc_entry(s, &used, off, r->set_id, r->hash, s->arena + r->off, r->len);
            n++;
        } else if (j < n_old && old[j].number - s->key * CHUNK == off) {
            err = enc_entry(s, &used, off, old[j].set_id, old[j].hash, old[j].header,
                            old[j].header_len);
            n++;
        }
    }
    if (have_row || queued != UINT64_MAX)
        sqlite3_reset(get);
    s->arena_used = 0;
    if (err)
        return err;
    s->enc[0] = (uint8_t)n;
    sqlite3_stmt *put = s->st[ST_PUT_CHUNK];
    sqlite3_bind_int64(put, 1, s->key);
    uint8_t ref_bytes[FERRY_STORE_CHUNK_REF_LEN];
    if (s->log && s->log_locked && n == CHUNK && used <= FERRY_STORE_LOG_CHUNK_MAX) {
        /* a full chunk no longer changes: into the log, SQLite keeps where */
        struct ferry_store_chunk_ref ref;
        struct ferry_reason why = {""};
        err = hlog_append(s->log, s->key, s->enc, used, &ref, &why);
        if (err) {
            ferry_log_error(LOG, "store %s: %s", s->path, why.text);
            return err;
        }
        chunk_ref_encode(&ref, ref_bytes);
        sqlite3_bind_blob(put, 2, ref_bytes, (int)sizeof ref_bytes, SQLITE_STATIC);
    } else {
        sqlite3_bind_blob(put, 2, s->enc, (int)used, SQLITE_STATIC);
    }
    return step_done(put);
}

/* Queue one relay header (in a transaction). */
static ferry_err queue_relay(struct ferry_store *s, uint32_t number, const uint8_t hash[32],
                             const uint8_t *header, size_t header_len, uint64_t set_id)
{
    uint32_t key = number / CHUNK;
    unsigned off = number % CHUNK;
    if (s->queued && (key != s->key || (s->queued >> off & 1))) {
        ferry_err err = flush_relay(s);
        if (err)
            return err;
    }
    if (s->arena_cap - s->arena_used < header_len) {
        size_t cap = s->arena_cap ? s->arena_cap : 16384;
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
    s->key = key;
    s->queued |= (uint64_t)1 << off;
    struct relay_row *r = &s->rows[off];
    r->set_id = set_id;
    memcpy(r->hash, hash, 32);
    r->off = s->arena_used;
    r->len = header_len;
    if (header_len)
        memcpy(s->arena + s->arena_used, header, header_len);
    s->arena_used += header_len;
    return s->queued == UINT64_MAX ? flush_relay(s) : FERRY_OK;
}

static ferry_err exec(struct ferry_store *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? FERRY_OK : FERRY_E_IO;
}

/* Schema 1 -> 2: every row of the per-header relay table into chunks, in one transaction. */
static ferry_err migrate_v1(struct ferry_store *s, struct ferry_reason *why)
{
    sqlite3_stmt *rd = NULL;
    ferry_err err = exec(s, "BEGIN IMMEDIATE");
    if (err)
        return ferry_reason_set(why, FERRY_E_IO,
                                "store %s: cannot convert from schema 1: %s (is another ferry "
                                "using it?)",
                                s->path, sqlite3_errmsg(s->db));
    s->in_write = true;
    s->log_locked = true;
    if (sqlite3_prepare_v2(s->db, "SELECT number, hash, header, set_id FROM relay ORDER BY number",
                           -1, &rd, NULL) != SQLITE_OK)
        err = FERRY_E_IO;
    size_t rows = 0;
    int rc = SQLITE_DONE;
    while (!err && (rc = sqlite3_step(rd)) == SQLITE_ROW) {
        sqlite3_int64 number = sqlite3_column_int64(rd, 0);
        uint8_t hash[32] = {0};
        if (sqlite3_column_bytes(rd, 1) == 32)
            memcpy(hash, sqlite3_column_blob(rd, 1), 32);
        const uint8_t *h = sqlite3_column_blob(rd, 2);
        int hl = sqlite3_column_bytes(rd, 2);
        if (number < 0 || number > UINT32_MAX) {
            err = FERRY_E_INVALID;
            break;
        }
        err = queue_relay(s, (uint32_t)number, hash, h ? h : (const uint8_t *)"",
                          hl > 0 ? (size_t)hl : 0, (uint64_t)sqlite3_column_int64(rd, 3));
        rows++;
    }
    if (!err && rc != SQLITE_DONE)
        err = FERRY_E_IO;
    sqlite3_finalize(rd);
    if (!err)
        err = flush_relay(s);
    if (!err)
        err = exec(s, "DROP TABLE relay");
    if (!err)
        err = exec(s, "PRAGMA user_version = 3");
    if (!err && s->log) {
        struct ferry_reason lw = {""};
        err = hlog_sync(s->log, &lw);
    }
    if (!err)
        err = exec(s, "COMMIT");
    s->in_write = false;
    s->log_locked = false;
    s->queued = 0;
    s->arena_used = 0;
    if (err) {
        /* the reason is taken before the rollback replaces SQLite's message */
        ferry_reason_set(
            why, FERRY_E_IO, "store %s: cannot convert from schema 1 (left unchanged): %s", s->path,
            err == FERRY_E_INVALID ? "a header number out of range" : sqlite3_errmsg(s->db));
        (void)exec(s, "ROLLBACK");
        return FERRY_E_IO;
    }
    ferry_log_info(LOG, "store %s converted from schema 1 to 3 (%zu relay headers)", s->path, rows);
    return FERRY_OK;
}

ferry_err ferry_store_open(const char *path, struct ferry_store **out, struct ferry_reason *why)
{
    *out = NULL;
    pthread_once(&sqlite_once, sqlite_setup);
    struct ferry_store *s = calloc(1, sizeof *s);
    if (!s)
        return FERRY_E_NOMEM;
    s->path = strdup(path);
    if (!s->path) {
        free(s);
        return FERRY_E_NOMEM;
    }
    /* NOMUTEX: a handle is used by one thread at a time (store.h), so SQLite's per-connection
     * mutex, taken by every bind, step and reset, only costs. */
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        ferry_reason_set(why, FERRY_E_IO, "cannot open store %s: %s", path, sqlite3_errmsg(s->db));
        ferry_store_close(s);
        return FERRY_E_IO;
    }
    /* secure_delete=OFF: Debian's SQLite zeroes freed pages by default, so every pruned chunk
     * was written to the WAL a second time (as zeros); what is pruned is public chain data.
     * Wait briefly for a lock instead of failing at once; a second ferry on the same store gets
     * a clear error below. */
    sqlite3_busy_timeout(s->db, 2000);
    char *err = NULL;
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                     " PRAGMA secure_delete=OFF;",
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
    /* a per-header relay table (schema 1, or a store from before user_version was set) is
     * converted below; only then does the store say schema 2 */
    bool has_v1 = false;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'relay'",
                           -1, &v, NULL) == SQLITE_OK) {
        has_v1 = sqlite3_step(v) == SQLITE_ROW;
        sqlite3_finalize(v);
    }
    /* Schema 2 rows (every chunk in SQLite) are valid schema 3 rows: converting is saying so,
     * after which an older ferry refuses the store instead of misreading a log reference. */
    if (sqlite3_exec(s->db, schema, NULL, NULL, &err) != SQLITE_OK ||
        (((version == 0 && !has_v1) || version == 2) &&
         sqlite3_exec(s->db, "PRAGMA user_version = 3", NULL, NULL, NULL) != SQLITE_OK)) {
        ferry_reason_set(why, FERRY_E_IO, "cannot create tables in %s: %s", path, err ? err : "");
        sqlite3_free(err);
        ferry_store_close(s);
        return FERRY_E_IO;
    }
    if (strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0) {
        size_t pl = strlen(path);
        char *dir = malloc(pl + sizeof "-headers");
        ferry_err e = dir ? FERRY_OK : FERRY_E_NOMEM;
        if (dir) {
            memcpy(dir, path, pl);
            memcpy(dir + pl, "-headers", sizeof "-headers");
            e = hlog_open(dir, &s->log);
            free(dir);
        }
        if (e) {
            ferry_store_close(s);
            return e;
        }
    }
    for (int i = 0; i < ST__COUNT; i++) {
        if (sqlite3_prepare_v2(s->db, stmt_sql[i], -1, &s->st[i], NULL) != SQLITE_OK) {
            ferry_reason_set(why, FERRY_E_IO, "store %s: %s", path, sqlite3_errmsg(s->db));
            ferry_store_close(s);
            return FERRY_E_IO;
        }
    }
    if (version <= 1 && has_v1) {
        ferry_err e = migrate_v1(s, why);
        if (e) {
            ferry_store_close(s);
            return e;
        }
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
    sqlite3_close(s->db);
    hlog_close(s->log);
    free(s->arena);
    free(s->enc);
    free(s->path);
    free(s);
}

/* Once per handle, holding the write lock: cut the log back to the end of what is committed
 * (a run killed between its appends and its commit leaves bytes nothing points at; without
 * this, every crash of a crash loop would leave up to a group's worth in the segment). */
static void trim_log(struct ferry_store *s)
{
    s->log_trimmed = true;
    sqlite3_stmt *st = NULL;
    /* the newest chunk in the log: the newest rows are scanned back to the first reference */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT k FROM relay_chunk WHERE length(data) = 25 AND "
                           "substr(data, 1, 1) = x'00' ORDER BY k DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    int rc = sqlite3_step(st);
    sqlite3_int64 newest = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return;
    bool any = newest >= 0 && newest <= UINT32_MAX / CHUNK;
    uint32_t seg = any ? (uint32_t)newest / HLOG_SEG_CHUNKS : 0;
    uint64_t end = 0;
    if (any) {
        /* the end of the last chunk in that segment, whatever order they were appended in */
        if (sqlite3_prepare_v2(s->db, "SELECT data FROM relay_chunk WHERE k >= ?1 AND k < ?2", -1,
                               &st, NULL) != SQLITE_OK)
            return;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seg * HLOG_SEG_CHUNKS);
        sqlite3_bind_int64(st, 2, ((sqlite3_int64)seg + 1) * HLOG_SEG_CHUNKS);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            struct ferry_store_chunk_ref ref;
            const uint8_t *d = sqlite3_column_blob(st, 0);
            int n = sqlite3_column_bytes(st, 0);
            if (d && n > 0 && d[0] == 0 &&
                !ferry_store_chunk_ref_decode(d, (size_t)n, &ref, NULL) && ref.seg == seg &&
                ref.off + ref.len > end)
                end = ref.off + ref.len;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return; /* not sure of the end: nothing is cut */
    }
    uint64_t dropped = hlog_trim(s->log, any, seg, end);
    if (dropped)
        ferry_log_info(LOG,
                       "store %s: dropped %llu bytes of headers an earlier run wrote but did not "
                       "commit",
                       s->path, (unsigned long long)dropped);
}

ferry_err ferry_store_begin(struct ferry_store *s)
{
    s->queued = 0;
    s->arena_used = 0;
    s->in_savepoint = false;
    ferry_err err = exec(s, "BEGIN IMMEDIATE");
    s->in_write = err == FERRY_OK;
    s->log_locked = !err;
    if (s->log && !err) {
        /* the write lock is ours: the log ends where the last writer left it */
        if (!s->log_trimmed)
            trim_log(s);
        hlog_refresh(s->log);
        hlog_mark(s->log, &s->tx_pos);
    }
    return err;
}

ferry_err ferry_store_begin_read(struct ferry_store *s)
{
    return exec(s, "BEGIN DEFERRED");
}

/* Remove the log segments a committed prune left unreferenced. */
static void drop_segments(struct ferry_store *s)
{
    if (s->log && s->drop_below)
        hlog_drop_below(s->log, s->drop_below);
    s->drop_below = 0;
}

/* The log first, then SQLite: a committed reference never points at bytes a power cut can
 * lose. */
static ferry_err commit_now(struct ferry_store *s)
{
    ferry_err err = flush_relay(s);
    if (!err && s->log) {
        struct ferry_reason why = {""};
        err = hlog_sync(s->log, &why);
        if (err)
            ferry_log_error(LOG, "store %s: %s", s->path, why.text);
    }
    if (!err)
        err = exec(s, "COMMIT");
    return err;
}

ferry_err ferry_store_commit(struct ferry_store *s)
{
    if (s->in_savepoint)
        return FERRY_E_STATE;
    ferry_err err = commit_now(s);
    if (!err) {
        s->in_write = false;
        s->log_locked = false;
        drop_segments(s);
    }
    return err;
}

void ferry_store_rollback(struct ferry_store *s)
{
    s->queued = 0;
    s->arena_used = 0;
    s->drop_below = 0;
    bool was_write = s->in_write;
    s->in_write = false;
    s->log_locked = false;
    s->in_savepoint = false;
    if (!sqlite3_get_autocommit(s->db))
        (void)exec(s, "ROLLBACK");
    if (was_write && s->log)
        hlog_rewind(s->log, &s->tx_pos);
}

ferry_err ferry_store_savepoint(struct ferry_store *s)
{
    if (!s->in_write || s->in_savepoint)
        return FERRY_E_STATE;
    /* what is queued belongs to the enclosing transaction */
    ferry_err err = flush_relay(s);
    if (!err)
        err = exec(s, "SAVEPOINT batch");
    if (!err) {
        s->in_savepoint = true;
        if (s->log)
            hlog_mark(s->log, &s->sp_pos);
    }
    return err;
}

ferry_err ferry_store_release(struct ferry_store *s)
{
    if (!s->in_savepoint)
        return FERRY_E_STATE;
    ferry_err err = flush_relay(s);
    if (!err)
        err = exec(s, "RELEASE batch");
    if (!err)
        s->in_savepoint = false;
    return err;
}

void ferry_store_rollback_to(struct ferry_store *s)
{
    if (!s->in_savepoint)
        return;
    s->queued = 0;
    s->arena_used = 0;
    s->in_savepoint = false;
    (void)exec(s, "ROLLBACK TO batch");
    (void)exec(s, "RELEASE batch");
    if (s->log)
        hlog_rewind(s->log, &s->sp_pos);
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
    if (header_len > INT32_MAX - CHUNK * ENTRY_FIXED)
        return FERRY_E_INVALID;
    if (s->in_write)
        return queue_relay(s, number, hash, header, header_len, set_id);
    /* not in ferry_store_begin: written now, in a transaction of its own unless the caller has
     * one open (a read transaction) */
    bool own = sqlite3_get_autocommit(s->db) != 0;
    if (own && exec(s, "BEGIN IMMEDIATE"))
        return FERRY_E_IO;
    struct hlog_pos pos;
    if (own && s->log) {
        if (!s->log_trimmed)
            trim_log(s);
        hlog_refresh(s->log);
        hlog_mark(s->log, &pos);
    }
    /* inside the caller's read transaction the write lock comes with the row: too late to
     * append to the log, so the chunk stays in SQLite */
    s->log_locked = own;
    ferry_err err = queue_relay(s, number, hash, header, header_len, set_id);
    if (!err)
        err = flush_relay(s);
    s->log_locked = false;
    s->queued = 0;
    s->arena_used = 0;
    if (own) {
        if (!err)
            err = commit_now(s);
        if (err) {
            (void)exec(s, "ROLLBACK");
            if (s->log)
                hlog_rewind(s->log, &pos);
        }
    }
    return err;
}

/* The entry at number in the chunk row of st (stepped to a row), copied out. */
static ferry_err copy_entry(const struct ferry_store_chunk_entry *e, uint32_t *number,
                            uint8_t hash[32], uint8_t **header, size_t *header_len,
                            uint64_t *set_id)
{
    if (header) {
        *header = malloc(e->header_len ? e->header_len : 1);
        if (!*header)
            return FERRY_E_NOMEM;
        if (e->header_len)
            memcpy(*header, e->header, e->header_len);
        *header_len = e->header_len;
    }
    if (number)
        *number = e->number;
    if (hash)
        memcpy(hash, e->hash, 32);
    if (set_id)
        *set_id = e->set_id;
    return FERRY_OK;
}

/* Step st; from its chunk take the entry at number, or the last one when want_last. */
static ferry_err read_relay(struct ferry_store *s, sqlite3_stmt *st, bool want_last, uint32_t want,
                            uint32_t *number, uint8_t hash[32], uint8_t **header,
                            size_t *header_len, uint64_t *set_id)
{
    if (s->queued && flush_relay(s))
        return FERRY_E_IO;
    int rc = sqlite3_step(st);
    ferry_err err = FERRY_E_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        struct ferry_store_chunk_entry ents[CHUNK];
        size_t n;
        err = row_chunk(s, st, ents, &n);
        if (!err) {
            const struct ferry_store_chunk_entry *e = want_last ? &ents[n - 1] : NULL;
            for (size_t i = 0; !e && i < n; i++)
                if (ents[i].number == want)
                    e = &ents[i];
            err = e ? copy_entry(e, number, hash, header, header_len, set_id) : FERRY_E_NOT_FOUND;
        }
    } else if (rc != SQLITE_DONE) {
        err = FERRY_E_IO;
    }
    sqlite3_reset(st);
    return err;
}

ferry_err ferry_store_last_relay(struct ferry_store *s, uint32_t *number, uint8_t hash[32],
                                 uint8_t **header, size_t *header_len, uint64_t *set_id)
{
    return read_relay(s, s->st[ST_LAST_CHUNK], true, 0, number, hash, header, header_len, set_id);
}

ferry_err ferry_store_relay_at(struct ferry_store *s, uint32_t number, uint8_t hash[32],
                               uint8_t **header, size_t *header_len, uint64_t *set_id)
{
    if (s->queued && flush_relay(s))
        return FERRY_E_IO;
    sqlite3_bind_int64(s->st[ST_GET_CHUNK], 1, number / CHUNK);
    return read_relay(s, s->st[ST_GET_CHUNK], false, number, NULL, hash, header, header_len,
                      set_id);
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
    if (s->queued && flush_relay(s))
        return FERRY_E_IO;
    sqlite3_stmt *st = s->st[ST_PRUNE_RELAY];
    sqlite3_bind_int64(st, 1, keep_from / CHUNK);
    ferry_err err = step_done(st);
    if (err || !s->log)
        return err;
    /* the log segments below the lowest chunk left go once the delete is committed */
    sqlite3_stmt *first = s->st[ST_FIRST_CHUNK];
    if (sqlite3_step(first) == SQLITE_ROW && sqlite3_column_type(first, 0) == SQLITE_INTEGER) {
        sqlite3_int64 k = sqlite3_column_int64(first, 0);
        if (k > 0 && k <= UINT32_MAX / CHUNK)
            s->drop_below = (uint32_t)k / HLOG_SEG_CHUNKS;
    }
    sqlite3_reset(first);
    if (sqlite3_get_autocommit(s->db))
        drop_segments(s);
    return FERRY_OK;
}
