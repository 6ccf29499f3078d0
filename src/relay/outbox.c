/* The relayer's durable outbox (include/ferry/outbox.h): SQLite in WAL mode with
 * synchronous=FULL, one transaction per state change. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "ferry/hex.h"
#include "ferry/outbox.h"

#define SCHEMA_VERSION 1

struct ferry_outbox {
    sqlite3 *db;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS msg ("
    " sender BLOB NOT NULL, seq INTEGER NOT NULL, payload BLOB NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
    " tx_hash BLOB, nonce INTEGER, era_birth INTEGER, era_death INTEGER, xt BLOB,"
    " block BLOB, block_number INTEGER, updated_ms INTEGER NOT NULL,"
    " PRIMARY KEY (sender, seq)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS msg_state ON msg(state, sender, seq);"
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);";

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static ferry_err db_err(struct ferry_outbox *ob, struct ferry_reason *why, const char *what)
{
    return ferry_reason_set(why, FERRY_E_IO, "outbox: %s: %s", what, sqlite3_errmsg(ob->db));
}

const char *ferry_outbox_state_name(enum ferry_outbox_state s)
{
    static const char *const names[] = {"pending", "inflight", "included", "finalized"};
    return (unsigned)s < FERRY_OUTBOX_STATES ? names[s] : "unknown";
}

void ferry_outbox_msg_clear(struct ferry_outbox_msg *m)
{
    free(m->sender);
    free(m->payload);
    free(m->xt);
    memset(m, 0, sizeof *m);
}

void ferry_outbox_msgs_free(struct ferry_outbox_msg *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        ferry_outbox_msg_clear(&v[i]);
    free(v);
}

ferry_err ferry_outbox_open(const char *path, struct ferry_outbox **out, struct ferry_reason *why)
{
    *out = NULL;
    struct ferry_outbox *ob = calloc(1, sizeof *ob);
    if (!ob)
        return FERRY_E_NOMEM;
    if (sqlite3_open_v2(path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        ferry_err err = ferry_reason_set(why, FERRY_E_IO, "outbox: cannot open %s: %s", path,
                                         ob->db ? sqlite3_errmsg(ob->db) : "out of memory");
        sqlite3_close(ob->db);
        free(ob);
        return err;
    }
    sqlite3_busy_timeout(ob->db, 5000);
    /* FULL: a row marked INFLIGHT must survive a power cut before its extrinsic is sent */
    char *msg = NULL;
    if (sqlite3_exec(ob->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     &msg) != SQLITE_OK ||
        sqlite3_exec(ob->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        ferry_err err = ferry_reason_set(why, FERRY_E_IO,
                                         "outbox: %s is not a usable database: "
                                         "%s",
                                         path, msg ? msg : sqlite3_errmsg(ob->db));
        sqlite3_free(msg);
        ferry_outbox_close(ob);
        return err;
    }
    /* schema version: refuse a database written by a newer ferry */
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(ob->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    if (version > SCHEMA_VERSION) {
        ferry_outbox_close(ob);
        return ferry_reason_set(why, FERRY_E_IO,
                                "outbox: %s has schema %d, newer than this "
                                "ferry (%d)",
                                path, version, SCHEMA_VERSION);
    }
    if (version < SCHEMA_VERSION &&
        sqlite3_exec(ob->db, "PRAGMA user_version=1", NULL, NULL, NULL) != SQLITE_OK) {
        ferry_err err = db_err(ob, why, "setting the schema version");
        ferry_outbox_close(ob);
        return err;
    }
    *out = ob;
    return FERRY_OK;
}

void ferry_outbox_close(struct ferry_outbox *ob)
{
    if (!ob)
        return;
    sqlite3_close(ob->db);
    free(ob);
}

/* Run one statement with bound parameters: a sequence of (type, value) pairs.
 * Types: 'b' blob (ptr, len), 'i' int64, 'n' null. Returns rows changed via *changes. */
struct arg {
    char type;
    const void *p;
    size_t len;
    int64_t i;
};

static ferry_err run(struct ferry_outbox *ob, const char *sql, const struct arg *args, size_t n,
                     int *changes, struct ferry_reason *why)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(ob, why, "prepare");
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (args[i].type == 'b')
            rc = sqlite3_bind_blob(st, (int)i + 1, args[i].p, (int)args[i].len, SQLITE_STATIC);
        else if (args[i].type == 'i')
            rc = sqlite3_bind_int64(st, (int)i + 1, args[i].i);
        else
            rc = sqlite3_bind_null(st, (int)i + 1);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(st);
            return db_err(ob, why, "bind");
        }
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_err(ob, why, "write");
    if (changes)
        *changes = sqlite3_changes(ob->db);
    return FERRY_OK;
}

#define BLOB(ptr, n)                                                                               \
    {                                                                                              \
        'b', (ptr), (n), 0                                                                         \
    }
#define INT(v)                                                                                     \
    {                                                                                              \
        'i', NULL, 0, (int64_t)(v)                                                                 \
    }

static ferry_err exec(struct ferry_outbox *ob, const char *sql, struct ferry_reason *why)
{
    if (sqlite3_exec(ob->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_err(ob, why, sql);
    return FERRY_OK;
}

ferry_err ferry_outbox_kv_put(struct ferry_outbox *ob, const char *key, const uint8_t *val,
                              size_t len, struct ferry_reason *why)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ob->db, "INSERT OR REPLACE INTO kv(key, value) VALUES (?1, ?2)", -1, &st,
                           NULL) != SQLITE_OK)
        return db_err(ob, why, "prepare");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, val ? (const void *)val : "", (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? FERRY_OK : db_err(ob, why, "kv write");
}

ferry_err ferry_outbox_kv_get(struct ferry_outbox *ob, const char *key, uint8_t **val, size_t *len,
                              struct ferry_reason *why)
{
    *val = NULL;
    *len = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ob->db, "SELECT value FROM kv WHERE key = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return db_err(ob, why, "prepare");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    ferry_err err = FERRY_OK;
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        const void *p = sqlite3_column_blob(st, 0);
        *val = malloc(n ? n : 1);
        if (!*val)
            err = FERRY_E_NOMEM;
        else {
            if (n)
                memcpy(*val, p, n);
            *len = n;
        }
    } else if (rc == SQLITE_DONE) {
        err = FERRY_E_NOT_FOUND;
    } else {
        err = db_err(ob, why, "kv read");
    }
    sqlite3_finalize(st);
    return err;
}

ferry_err ferry_outbox_bind_genesis(struct ferry_outbox *ob, const uint8_t genesis[32],
                                    struct ferry_reason *why)
{
    uint8_t *v;
    size_t n;
    ferry_err err = ferry_outbox_kv_get(ob, "genesis", &v, &n, why);
    if (err == FERRY_E_NOT_FOUND)
        return ferry_outbox_kv_put(ob, "genesis", genesis, 32, why);
    if (err)
        return err;
    bool same = n == 32 && !memcmp(v, genesis, 32);
    if (!same) {
        char have[67] = "(malformed)", want[67];
        if (n == 32)
            ferry_hex_encode(v, 32, have);
        ferry_hex_encode(genesis, 32, want);
        err = ferry_reason_set(why, FERRY_E_STATE,
                               "outbox belongs to the chain with genesis %s, not %s: use another "
                               "data directory for another chain",
                               have, want);
    }
    free(v);
    return err;
}

ferry_err ferry_outbox_enqueue(struct ferry_outbox *ob, const uint8_t *sender, size_t sender_len,
                               uint64_t seq, const uint8_t *payload, size_t payload_len,
                               bool *added, struct ferry_reason *why)
{
    if (added)
        *added = false;
    if (!sender_len || !payload_len || seq > INT64_MAX)
        return ferry_reason_set(why, FERRY_E_ARG, "outbox: empty sender or payload");
    int64_t t = now_ms();
    struct arg ins[] = {BLOB(sender, sender_len), INT(seq), BLOB(payload, payload_len), INT(t)};
    int changes = 0;
    ferry_err err = run(ob,
                        "INSERT OR IGNORE INTO msg(sender, seq, payload, updated_ms) "
                        "VALUES (?1, ?2, ?3, ?4)",
                        ins, 4, &changes, why);
    if (err)
        return err;
    if (changes) {
        if (added)
            *added = true;
        return FERRY_OK;
    }
    return run(ob,
               "UPDATE msg SET payload = ?3, updated_ms = ?4 "
               "WHERE sender = ?1 AND seq = ?2 AND state = 0 AND payload != ?3",
               ins, 4, NULL, why);
}

static ferry_err copy_blob(sqlite3_stmt *st, int col, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return FERRY_OK;
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    const void *p = sqlite3_column_blob(st, col);
    *out = malloc(n ? n : 1);
    if (!*out)
        return FERRY_E_NOMEM;
    if (n)
        memcpy(*out, p, n);
    *len = n;
    return FERRY_OK;
}

static void copy_fixed(sqlite3_stmt *st, int col, uint8_t out[32])
{
    memset(out, 0, 32);
    if (sqlite3_column_type(st, col) != SQLITE_NULL && sqlite3_column_bytes(st, col) == 32)
        memcpy(out, sqlite3_column_blob(st, col), 32);
}

#define COLUMNS                                                                                    \
    "sender, seq, payload, state, attempts, tx_hash, nonce, era_birth, era_death, xt, block, "     \
    "block_number, updated_ms"

static ferry_err read_row(sqlite3_stmt *st, struct ferry_outbox_msg *m)
{
    memset(m, 0, sizeof *m);
    ferry_err err = copy_blob(st, 0, &m->sender, &m->sender_len);
    if (!err)
        err = copy_blob(st, 2, &m->payload, &m->payload_len);
    if (!err)
        err = copy_blob(st, 9, &m->xt, &m->xt_len);
    if (err) {
        ferry_outbox_msg_clear(m);
        return err;
    }
    m->seq = (uint64_t)sqlite3_column_int64(st, 1);
    m->state = (enum ferry_outbox_state)sqlite3_column_int(st, 3);
    m->attempts = (uint32_t)sqlite3_column_int64(st, 4);
    copy_fixed(st, 5, m->tx_hash);
    m->nonce = (uint64_t)sqlite3_column_int64(st, 6);
    m->era_birth = (uint32_t)sqlite3_column_int64(st, 7);
    m->era_death = (uint32_t)sqlite3_column_int64(st, 8);
    copy_fixed(st, 10, m->block);
    m->block_number = (uint32_t)sqlite3_column_int64(st, 11);
    m->updated_ms = sqlite3_column_int64(st, 12);
    return FERRY_OK;
}

ferry_err ferry_outbox_get(struct ferry_outbox *ob, const uint8_t *sender, size_t sender_len,
                           uint64_t seq, struct ferry_outbox_msg *out, struct ferry_reason *why)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ob->db, "SELECT " COLUMNS " FROM msg WHERE sender = ?1 AND seq = ?2", -1,
                           &st, NULL) != SQLITE_OK)
        return db_err(ob, why, "prepare");
    sqlite3_bind_blob(st, 1, sender, (int)sender_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    int rc = sqlite3_step(st);
    ferry_err err;
    if (rc == SQLITE_ROW)
        err = read_row(st, out);
    else if (rc == SQLITE_DONE)
        err = ferry_reason_set(why, FERRY_E_NOT_FOUND, "outbox: no message %llu of that sender",
                               (unsigned long long)seq);
    else
        err = db_err(ob, why, "read");
    sqlite3_finalize(st);
    return err;
}

ferry_err ferry_outbox_list(struct ferry_outbox *ob, int s, size_t max, struct ferry_outbox_msg **v,
                            size_t *n, struct ferry_reason *why)
{
    *v = NULL;
    *n = 0;
    sqlite3_stmt *st;
    const char *sql = s < 0 ? "SELECT " COLUMNS " FROM msg ORDER BY sender, seq LIMIT ?2"
                            : "SELECT " COLUMNS
                              " FROM msg WHERE state = ?1 ORDER BY sender, seq LIMIT ?2";
    if (sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(ob, why, "prepare");
    if (s >= 0)
        sqlite3_bind_int(st, 1, s);
    sqlite3_bind_int64(st, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    ferry_err err = FERRY_OK;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct ferry_outbox_msg *nv = realloc(*v, nc * sizeof *nv);
            if (!nv) {
                err = FERRY_E_NOMEM;
                break;
            }
            *v = nv;
            cap = nc;
        }
        err = read_row(st, &(*v)[*n]);
        if (err)
            break;
        (*n)++;
    }
    if (!err && rc != SQLITE_DONE)
        err = db_err(ob, why, "list");
    sqlite3_finalize(st);
    if (err) {
        ferry_outbox_msgs_free(*v, *n);
        *v = NULL;
        *n = 0;
    }
    return err;
}

/* A guarded transition: UPDATE … WHERE <guard>; when nothing changed, say why (absent or in
 * the wrong state). */
static ferry_err transition(struct ferry_outbox *ob, const char *sql, const struct arg *args,
                            size_t n, const char *what, struct ferry_reason *why)
{
    int changes = 0;
    ferry_err err = run(ob, sql, args, n, &changes, why);
    if (err || changes)
        return err;
    struct ferry_outbox_msg m;
    err = ferry_outbox_get(ob, args[0].p, args[0].len, (uint64_t)args[1].i, &m, why);
    if (err)
        return err;
    err = ferry_reason_set(why, FERRY_E_STATE, "outbox: message %llu is %s; cannot %s",
                           (unsigned long long)m.seq, ferry_outbox_state_name(m.state), what);
    ferry_outbox_msg_clear(&m);
    return err;
}

ferry_err ferry_outbox_mark_inflight(struct ferry_outbox *ob, const uint8_t *sender,
                                     size_t sender_len, uint64_t seq, const uint8_t *xt,
                                     size_t xt_len, const uint8_t tx_hash[32], uint64_t nonce,
                                     uint32_t era_birth, uint32_t era_death,
                                     struct ferry_reason *why)
{
    if (!xt_len || nonce > INT64_MAX)
        return ferry_reason_set(why, FERRY_E_ARG, "outbox: empty extrinsic");
    struct arg a[] = {BLOB(sender, sender_len), INT(seq),     BLOB(xt, xt_len),
                      BLOB(tx_hash, 32),        INT(nonce),   INT(era_birth),
                      INT(era_death),           INT(now_ms())};
    return transition(ob,
                      "UPDATE msg SET state = 1, attempts = attempts + 1, xt = ?3, tx_hash = ?4, "
                      "nonce = ?5, era_birth = ?6, era_death = ?7, block = NULL, "
                      "block_number = NULL, updated_ms = ?8 "
                      "WHERE sender = ?1 AND seq = ?2 AND state = 0",
                      a, 8, "mark it in flight", why);
}

ferry_err ferry_outbox_mark_included(struct ferry_outbox *ob, const uint8_t *sender,
                                     size_t sender_len, uint64_t seq, const uint8_t block[32],
                                     uint32_t number, struct ferry_reason *why)
{
    struct arg a[] = {BLOB(sender, sender_len), INT(seq), BLOB(block, 32), INT(number),
                      INT(now_ms())};
    return transition(ob,
                      "UPDATE msg SET state = 2, block = ?3, block_number = ?4, updated_ms = ?5 "
                      "WHERE sender = ?1 AND seq = ?2 AND state IN (1, 2)",
                      a, 5, "mark it included", why);
}

ferry_err ferry_outbox_mark_finalized(struct ferry_outbox *ob, const uint8_t *sender,
                                      size_t sender_len, uint64_t seq, struct ferry_reason *why)
{
    struct arg a[] = {BLOB(sender, sender_len), INT(seq), INT(now_ms())};
    int changes = 0;
    ferry_err err = run(ob,
                        "UPDATE msg SET state = 3, xt = NULL, updated_ms = ?3 "
                        "WHERE sender = ?1 AND seq = ?2 AND state != 3",
                        a, 3, &changes, why);
    if (err || changes)
        return err;
    struct ferry_outbox_msg m;
    err = ferry_outbox_get(ob, sender, sender_len, seq, &m, why);
    ferry_outbox_msg_clear(&m);
    return err;
}

ferry_err ferry_outbox_mark_pending(struct ferry_outbox *ob, const uint8_t *sender,
                                    size_t sender_len, uint64_t seq, struct ferry_reason *why)
{
    struct arg a[] = {BLOB(sender, sender_len), INT(seq), INT(now_ms())};
    return transition(ob,
                      "UPDATE msg SET state = 0, xt = NULL, block = NULL, block_number = NULL, "
                      "updated_ms = ?3 WHERE sender = ?1 AND seq = ?2 AND state IN (1, 2)",
                      a, 3, "return it to pending", why);
}

ferry_err ferry_outbox_settle(struct ferry_outbox *ob, const uint8_t *sender, size_t sender_len,
                              uint64_t next_seq, size_t *settled, struct ferry_reason *why)
{
    if (settled)
        *settled = 0;
    if (next_seq > INT64_MAX)
        next_seq = INT64_MAX;
    struct arg a[] = {BLOB(sender, sender_len), INT(next_seq), INT(now_ms())};
    int changes = 0;
    ferry_err err = run(ob,
                        "UPDATE msg SET state = 3, xt = NULL, updated_ms = ?3 "
                        "WHERE sender = ?1 AND seq < ?2 AND state != 3",
                        a, 3, &changes, why);
    if (!err && settled)
        *settled = (size_t)changes;
    return err;
}

ferry_err ferry_outbox_counts(struct ferry_outbox *ob, uint64_t counts[FERRY_OUTBOX_STATES],
                              struct ferry_reason *why)
{
    memset(counts, 0, FERRY_OUTBOX_STATES * sizeof counts[0]);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ob->db, "SELECT state, count(*) FROM msg GROUP BY state", -1, &st,
                           NULL) != SQLITE_OK)
        return db_err(ob, why, "prepare");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int s = sqlite3_column_int(st, 0);
        if (s >= 0 && s < FERRY_OUTBOX_STATES)
            counts[s] = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? FERRY_OK : db_err(ob, why, "count");
}

void ferry_outbox_senders_free(uint8_t **v, size_t *lens, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
    free(lens);
}

ferry_err ferry_outbox_open_senders(struct ferry_outbox *ob, uint8_t ***v, size_t **lens, size_t *n,
                                    struct ferry_reason *why)
{
    *v = NULL;
    *lens = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ob->db, "SELECT DISTINCT sender FROM msg WHERE state != 3", -1, &st,
                           NULL) != SQLITE_OK)
        return db_err(ob, why, "prepare");
    ferry_err err = FERRY_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t **nv = realloc(*v, (*n + 1) * sizeof *nv);
        if (nv)
            *v = nv;
        size_t *nl = nv ? realloc(*lens, (*n + 1) * sizeof *nl) : NULL;
        if (nl)
            *lens = nl;
        if (!nv || !nl) {
            err = FERRY_E_NOMEM;
            break;
        }
        err = copy_blob(st, 0, &(*v)[*n], &(*lens)[*n]);
        if (err)
            break;
        (*n)++;
    }
    if (!err && rc != SQLITE_DONE)
        err = db_err(ob, why, "senders");
    sqlite3_finalize(st);
    if (err) {
        ferry_outbox_senders_free(*v, *lens, *n);
        *v = NULL;
        *lens = NULL;
        *n = 0;
    }
    return err;
}

ferry_err ferry_outbox_prune(struct ferry_outbox *ob, int64_t before_ms, size_t *deleted,
                             struct ferry_reason *why)
{
    if (deleted)
        *deleted = 0;
    struct arg a[] = {INT(before_ms)};
    int changes = 0;
    ferry_err err = exec(ob, "BEGIN IMMEDIATE", why);
    if (err)
        return err;
    err = run(ob,
              "DELETE FROM msg WHERE state = 3 AND updated_ms < ?1 AND "
              "seq < (SELECT max(m2.seq) FROM msg m2 WHERE m2.sender = msg.sender)",
              a, 1, &changes, why);
    if (err) {
        (void)exec(ob, "ROLLBACK", NULL);
        return err;
    }
    err = exec(ob, "COMMIT", why);
    if (!err && deleted)
        *deleted = (size_t)changes;
    return err;
}
