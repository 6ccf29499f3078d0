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
 * Returns: FERRY_OK, FERRY_E_IO (cannot open/create, or locked by another ferry), or
 *          FERRY_E_UNSUPPORTED (written by a newer schema). */
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
 * malloc'd. Returns: FERRY_OK, FERRY_E_NOT_FOUND (empty store), FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_store_last_relay(struct ferry_store *s, uint32_t *number,
                                                   uint8_t hash[32], uint8_t **header,
                                                   size_t *header_len, uint64_t *set_id);

/* The verified relay header at number. Returns: FERRY_OK, FERRY_E_NOT_FOUND, FERRY_E_IO. */
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

/* Forget relay headers below keep_from (the newest is always kept) to bound the store's size.
 * Returns: FERRY_OK or FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_store_prune_relay(struct ferry_store *s, uint32_t keep_from);

#endif
