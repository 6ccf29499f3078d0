/* ferry — the store's header log (private to src/lightclient/store.c).
 *
 * Full relay-header chunks (64 headers, the bulk of a store) are appended to segment files in a
 * directory beside the SQLite file instead of being written into SQLite, whose WAL wrote every
 * byte twice and checksummed it (about half of a catch-up's CPU beyond the crypto floor). SQLite
 * keeps a small reference per chunk (segment, offset, length, checksum), written in the same
 * transaction as before, so what is committed, and when, does not change.
 *
 * Segment n holds the chunks with key / HLOG_SEG_CHUNKS == n (65 536 headers), appended in the
 * order they are written. Bytes that no reference points at are harmless: a rolled-back
 * transaction truncates its own (hlog_rewind), and what a run killed before its commit appended is
 * cut off by the next writer (hlog_trim). Pruning removes whole segments.
 *
 * Crash safety: the store syncs the log (hlog_sync: write + fdatasync) before every SQLite commit
 * that references new log bytes, so a committed reference never points at bytes a power cut
 * could lose; a new segment file's directory entry is synced when it is created. Every read is
 * checked against the reference's length and checksum (xxh64 seeded with the chunk key) before
 * the chunk decoder sees it.
 */
#ifndef FERRY_LIGHTCLIENT_HEADERLOG_H
#define FERRY_LIGHTCLIENT_HEADERLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/store.h"

#define HLOG_SEG_CHUNKS 1024u                     /* chunks per segment file */
#define HLOG_MAX_CHUNK  FERRY_STORE_LOG_CHUNK_MAX /* larger chunks stay in SQLite */

struct hlog;

/* A position in the log, to rewind to. */
struct hlog_pos {
    uint32_t seg;
    uint64_t end;
    int valid; /* 0: nothing was open, rewinding keeps nothing of the current segment's new bytes */
};

/* Open the log kept in dir (created on the first append). Returns FERRY_OK or FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err hlog_open(const char *dir, struct hlog **out);
void hlog_close(struct hlog *l);

/* Append one chunk blob (len <= HLOG_MAX_CHUNK) of key. Out: *ref where it went.
 * Returns FERRY_OK, FERRY_E_IO (why says what failed) or FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err hlog_append(struct hlog *l, uint32_t key, const uint8_t *blob,
                                        size_t len, struct ferry_store_chunk_ref *ref,
                                        struct ferry_reason *why);

/* Write what is buffered and fdatasync what was appended since the last sync. */
FERRY_WARN_UNUSED ferry_err hlog_sync(struct hlog *l, struct ferry_reason *why);

/* The chunk at ref, checked (length, checksum with key). *blob stays valid until the next call
 * on l. Returns FERRY_OK, FERRY_E_IO (cannot read) or FERRY_E_INVALID (damaged). */
FERRY_WARN_UNUSED ferry_err hlog_read(struct hlog *l, uint32_t key,
                                      const struct ferry_store_chunk_ref *ref, const uint8_t **blob,
                                      struct ferry_reason *why);

/* Take the segment's end from the file again: another handle (another process) may have
 * appended to it. Call it holding the store's write lock (every append is made under it), before
 * appending. */
void hlog_refresh(struct hlog *l);

/* The current end of the log; and dropping what was appended after pos (within the segment pos
 * names; bytes in other segments stay, unreferenced). */
void hlog_mark(const struct hlog *l, struct hlog_pos *pos);
void hlog_rewind(struct hlog *l, const struct hlog_pos *pos);

/* Drop what no committed reference points at, at the end of the log: a run that crashed after
 * appending and before its commit leaves such bytes. any = false: no chunk is in the log, every
 * segment goes; otherwise seg is the newest segment a reference points into and end the end of
 * the last referenced chunk in it: it is cut there and the segments above it go. Call it holding
 * the store's write lock. Returns the bytes dropped. */
uint64_t hlog_trim(struct hlog *l, bool any, uint32_t seg, uint64_t end);

/* Remove the segment files numbered below seg (their chunks are no longer referenced). */
void hlog_drop_below(struct hlog *l, uint32_t seg);

#endif
