/* ferry — the light client's persistent store (SQLite in WAL mode).
 *
 * What it keeps: the chain's genesis hash (a store written for another chain is refused), every
 * verified finalized relay header with the set_id that finalized it, the serialised authority-set
 * state, and verified parachain headers. Everything a verification step produces is written in
 * one transaction (ferry_store_begin/commit), so after a crash or `kill -9` the store holds
 * exactly the state after some completed step: resume never re-verifies from genesis and never
 * sees half a batch.
 *
 * Durability: journal_mode=WAL, synchronous=NORMAL. A process crash loses nothing committed; a
 * power loss may roll back the last few commits, which leaves an older consistent state that
 * ferry simply re-verifies forward from.
 *
 * Relay headers are kept 64 to a chunk (see ferry_store_chunk_decode). A chunk holding all 64 is
 * appended to the header log, segment files in the directory `<path>-headers` beside the SQLite
 * file, and SQLite keeps a reference to it (ferry_store_chunk_ref_decode); a partial chunk (the
 * newest) stays in SQLite. The log is synced before every commit that refers to new log bytes,
 * and every read is checked against the reference's checksum. Schema 3; a store of schema 1 (one
 * row per header) or 2 (every chunk in SQLite) is converted when opened. A store is the file and
 * its `-headers` directory: copy or move both.
 *
 * A store handle is used by one thread at a time.
 */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

struct ferry_store;

/* Open (creating when absent) the store at path; ":memory:" gives a throwaway store.
 * Out: *out on success; why (optional) the reason on failure.
 * Returns: FERRY_OK, FERRY_E_IO (cannot open/create, or locked by another ferry, or a schema-1
 *          store that could not be converted: left unchanged), or FERRY_E_UNSUPPORTED (written by
 *          a newer schema). */
FERRY_WARN_UNUSED ferry_err ferry_store_open(const char *path, struct ferry_store **out,
                                             struct ferry_reason *why);

void ferry_store_close(struct ferry_store *s);

/* Transactions. Writes outside a transaction are each committed on their own.
 * begin takes the write lock at once; begin_read starts a read transaction (ended with commit or
 * rollback) in which several reads see one consistent snapshot while another process writes. */
FERRY_WARN_UNUSED ferry_err ferry_store_begin(struct ferry_store *s);
FERRY_WARN_UNUSED ferry_err ferry_store_begin_read(struct ferry_store *s);
FERRY_WARN_UNUSED ferry_err ferry_store_commit(struct ferry_store *s);
void ferry_store_rollback(struct ferry_store *s);

/* A unit nested in ferry_store_begin (one verified batch inside a longer transaction):
 * ferry_store_savepoint starts it, ferry_store_release keeps its writes in the transaction, and
 * ferry_store_rollback_to undoes them and ends it. One level only.
 * Returns: FERRY_OK or FERRY_E_IO (FERRY_E_STATE outside a transaction or when one is open). */
FERRY_WARN_UNUSED ferry_err ferry_store_savepoint(struct ferry_store *s);
FERRY_WARN_UNUSED ferry_err ferry_store_release(struct ferry_store *s);
void ferry_store_rollback_to(struct ferry_store *s);

/* Small named values (genesis hash, para id, ...).
 * get: *val is malloc'd (caller frees). Returns FERRY_OK, FERRY_E_NOT_FOUND or FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_store_put_meta(struct ferry_store *s, const char *key,
                                                 const void *val, size_t len);
FERRY_WARN_UNUSED ferry_err ferry_store_get_meta(struct ferry_store *s, const char *key,
                                                 uint8_t **val, size_t *len);

/* Bind the store to a chain: records genesis on first use, then checks it.
 * Returns: FERRY_OK, FERRY_E_STATE when the store belongs to another genesis, FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_store_bind_genesis(struct ferry_store *s,
                                                     const uint8_t genesis[32]);

/* A verified finalized relay header. */
FERRY_WARN_UNUSED ferry_err ferry_store_put_relay(struct ferry_store *s, uint32_t number,
                                                  const uint8_t hash[32], const uint8_t *header,
                                                  size_t header_len, uint64_t set_id);

/* The highest verified relay header. header/header_len may be NULL when not wanted; *header is
 * malloc'd. Returns: FERRY_OK, FERRY_E_NOT_FOUND (empty store), FERRY_E_IO, or the decoder's
 * error for a corrupt chunk (logged with the store's path). */
FERRY_WARN_UNUSED ferry_err ferry_store_last_relay(struct ferry_store *s, uint32_t *number,
                                                   uint8_t hash[32], uint8_t **header,
                                                   size_t *header_len, uint64_t *set_id);

/* The verified relay header at number. Returns: FERRY_OK, FERRY_E_NOT_FOUND, FERRY_E_IO, or the
 * decoder's error for a corrupt chunk (logged). */
FERRY_WARN_UNUSED ferry_err ferry_store_relay_at(struct ferry_store *s, uint32_t number,
                                                 uint8_t hash[32], uint8_t **header,
                                                 size_t *header_len, uint64_t *set_id);

/* The serialised authority-set state (opaque bytes owned by the GRANDPA module). */
FERRY_WARN_UNUSED ferry_err ferry_store_put_authorities(struct ferry_store *s, const void *state,
                                                        size_t len);
FERRY_WARN_UNUSED ferry_err ferry_store_get_authorities(struct ferry_store *s, uint8_t **state,
                                                        size_t *len);

/* A verified parachain header, with the relay block whose state proved it (or 0 when it was
 * verified by parent-hash link from a proven head). */
FERRY_WARN_UNUSED ferry_err ferry_store_put_para(struct ferry_store *s, uint32_t para_id,
                                                 uint32_t number, const uint8_t hash[32],
                                                 const uint8_t *header, size_t header_len,
                                                 uint32_t relay_number);
FERRY_WARN_UNUSED ferry_err ferry_store_last_para(struct ferry_store *s, uint32_t para_id,
                                                  uint32_t *number, uint8_t hash[32],
                                                  uint8_t **header, size_t *header_len);

/* Forget relay headers below keep_from to bound the store's size. Whole chunks are dropped: the
 * headers from keep_from rounded down to a multiple of FERRY_STORE_CHUNK_HEADERS are kept, and
 * the newest header always is. Returns: FERRY_OK or FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_store_prune_relay(struct ferry_store *s, uint32_t keep_from);

/* ---- on-disk chunk format (exposed for tests and fuzzing) ----------------------------------
 *
 * Relay headers numbered key*64 .. key*64+63 live in one chunk (relay_chunk.k = key) whose blob is
 *   u8 n (1..64), then n entries in strictly increasing offset order, each
 *   u8 offset (< 64) | u64 LE set_id | 32-byte hash | u32 LE len | len bytes of SCALE header
 * and nothing after the last entry. The header's number is key*64 + offset. The row's data is
 * either that blob or, for a chunk in the header log, a reference of FERRY_STORE_CHUNK_REF_LEN
 * bytes: u8 0 | u32 LE segment | u64 LE offset | u32 LE length | u64 LE xxh64(blob, seed key). */
#define FERRY_STORE_CHUNK_HEADERS 64
#define FERRY_STORE_CHUNK_REF_LEN 25
#define FERRY_STORE_LOG_CHUNK_MAX (1u << 20) /* a larger chunk stays in SQLite */

struct ferry_store_chunk_ref {
    uint32_t seg;
    uint64_t off;
    uint32_t len;
    uint64_t sum;
};

/* Is this row's data a reference into the header log? (Its first byte is 0; a chunk's is its
 * entry count.) Decode it: hostile input, lengths checked. Returns: FERRY_OK, FERRY_E_INVALID
 * (not a reference, or a length of 0 or above FERRY_STORE_LOG_CHUNK_MAX) or FERRY_E_TRUNCATED /
 * FERRY_E_TRAILING (not FERRY_STORE_CHUNK_REF_LEN bytes). */
FERRY_WARN_UNUSED ferry_err ferry_store_chunk_ref_decode(const uint8_t *data, size_t len,
                                                         struct ferry_store_chunk_ref *out,
                                                         struct ferry_reason *why);

struct ferry_store_chunk_entry {
    uint32_t number;
    uint64_t set_id;
    const uint8_t *hash;   /* 32 bytes, inside the blob */
    const uint8_t *header; /* header_len bytes, inside the blob */
    size_t header_len;
};

/* Decode the chunk blob of key (hostile input: every length is checked against the blob).
 * Out: out[0..*count) point into blob; why (optional) the reason on failure.
 * Returns: FERRY_OK, FERRY_E_TRUNCATED, FERRY_E_TOO_LARGE, FERRY_E_TRAILING or FERRY_E_INVALID
 *          (no entry, more than 64, offsets not increasing, key out of range). */
FERRY_WARN_UNUSED ferry_err
ferry_store_chunk_decode(uint32_t key, const uint8_t *blob, size_t len,
                         struct ferry_store_chunk_entry out[FERRY_STORE_CHUNK_HEADERS],
                         size_t *count, struct ferry_reason *why);

#endif
