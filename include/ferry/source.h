/* ferry — a node source: what a light-client driver fetches from Substrate nodes over JSON-RPC.
 *
 * The fetching half of a light client, with no verification of its own beyond what keeps it from
 * being steered (a header must hash to the hash it was asked for, a batch must link by parent
 * hash to the block it starts from): everything it returns is hostile until `lc` (lc.h) has
 * verified it. `ferry follow` and `ferry relay` each drive one source per chain.
 *
 * A source owns one RPC client over a list of endpoints, tried from a rotating first URL:
 *   - the RPC client itself rotates on connection trouble;
 *   - ferry_source_penalise() abandons the endpoint in use for the next URL (a node that lied,
 *     or keeps answering with errors) and reconnects lazily on the next call;
 *   - ferry_source_backoff() sleeps 250 ms doubling to 30 s with full jitter, honouring the
 *     stop flag within 100 ms; ferry_source_backoff_reset() after a step that succeeded.
 *
 * Relay batches come from `grandpa_proveFinality(n + 1)` (one call: the justification and the
 * headers it covers) or, on a node that cannot serve it, from the justification stored with a
 * block (`chain_getBlock`) found by walking back from the finalized head to the block after the
 * last verified one and ending the batch at the first block that enacts an authority-set change;
 * there a justification pushed by `grandpa_subscribeJustifications` ends a batch too.
 *
 * Errors: FERRY_E_VERIFY with *why when the node's answer is a lie or cannot be used (another
 * header than asked for, a batch that does not link, a missing justification); the RPC layer's
 * errors (FERRY_E_NET, FERRY_E_TIMEOUT, FERRY_E_RPC, ...) as they are, with *why saying which
 * call failed; malformed answers (ferry_source_is_malformed) as their decode error.
 *
 * Not thread-safe: one caller per source. Logs through log.h under the configured label.
 */
#ifndef FERRY_SOURCE_H
#define FERRY_SOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/authority_set.h"
#include "ferry/error.h"
#include "ferry/grandpa.h"
#include "ferry/header.h"
#include "ferry/rpc.h"
#include "ferry/trie.h"

struct ferry_source_config {
    const char *const *urls; /* endpoints (ws/wss/http/https); copied pointers, not strings:
                              * the strings must outlive the source */
    size_t n_urls;
    bool insecure;               /* TLS: accept unverified certificates */
    uint32_t timeout_ms;         /* per request [30000] */
    size_t max_message_bytes;    /* [64 MiB] */
    volatile sig_atomic_t *stop; /* when set non-zero, long walks and sleeps return early */
    const char *log_label;       /* log module name ["source"] */
};

struct ferry_source;

/* Create a source (no connection is made until a call needs one).
 * Returns: FERRY_OK; FERRY_E_ARG (no URL); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_source_open(const struct ferry_source_config *cfg,
                                              struct ferry_source **out, struct ferry_reason *why);

void ferry_source_close(struct ferry_source *s);

/* The RPC client of the endpoint in use, connecting first when needed, for calls this module
 * does not wrap (extrinsics, metadata). Valid until ferry_source_penalise or close.
 * Returns: FERRY_OK or the client's creation error. */
FERRY_WARN_UNUSED ferry_err ferry_source_rpc(struct ferry_source *s, struct ferry_rpc **rpc,
                                             struct ferry_reason *why);

/* Returns: the URL tried first at present. */
const char *ferry_source_url(const struct ferry_source *s);

/* Abandon the endpoint in use: log "<what> from <url>; switching endpoint and retrying" and move
 * the first URL to the next one; the connection is re-made by the next call. */
void ferry_source_penalise(struct ferry_source *s, const char *what);

/* Sleep for the next backoff delay (see the top of the file). */
void ferry_source_backoff(struct ferry_source *s);
void ferry_source_backoff_reset(struct ferry_source *s);

/* Sleep ms in slices of at most 100 ms, returning early when the stop flag is set. */
void ferry_source_pause(const struct ferry_source *s, uint32_t ms);

/* Returns: true when the stop flag is set. */
bool ferry_source_stopped(const struct ferry_source *s);

/* Returns: true for errors meaning the node answered with something malformed (bad JSON shape,
 * bad hex, a header that does not decode): a broken or lying node to be abandoned, not retried. */
bool ferry_source_is_malformed(ferry_err err);

/* Text of the RPC client's last error, for logs ("" when none). */
const char *ferry_source_last_error(struct ferry_source *s, char *buf, size_t cap);

/* ---- queries ------------------------------------------------------------------------------------
 */

/* The genesis hash (chain_getBlockHash(0)). */
FERRY_WARN_UNUSED ferry_err ferry_source_genesis(struct ferry_source *s, uint8_t hash[32],
                                                 struct ferry_reason *why);

/* The header whose hash is `hash`. Returns: FERRY_OK; FERRY_E_VERIFY when the node answers with
 * another header; FERRY_E_NOT_FOUND; an RPC or decode error. */
FERRY_WARN_UNUSED ferry_err ferry_source_header(struct ferry_source *s, const uint8_t hash[32],
                                                struct ferry_header *h, struct ferry_reason *why);

/* The node's finalized head (chain_getFinalizedHead, then its header, which must hash to it: a
 * made-up height would otherwise steer the caller). Out: *number, hash (may be NULL). */
FERRY_WARN_UNUSED ferry_err ferry_source_finalized(struct ferry_source *s, uint32_t *number,
                                                   uint8_t hash[32], struct ferry_reason *why);

/* state_getReadProof(keys, at) as a proof ready for lookups (free with ferry_trie_proof_free). */
FERRY_WARN_UNUSED ferry_err ferry_source_read_proof(struct ferry_source *s,
                                                    const struct ferry_bytes *keys, size_t n_keys,
                                                    const uint8_t at[32],
                                                    struct ferry_trie_proof **proof,
                                                    struct ferry_reason *why);

/* The headers from number `from` up to `top` (included, copied), fetched by walking back by
 * parent hash from top. With from > top->number, *n = 0.
 * Out: *out (malloc'd; free each header, then the array), *n.
 * Returns: FERRY_OK; FERRY_E_VERIFY (the node answered another header, or none, for a parent
 *          hash); FERRY_E_RETRY (stopped); an RPC or decode error; FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_source_headers_back(struct ferry_source *s,
                                                      const struct ferry_header *top, uint32_t from,
                                                      struct ferry_header **out, size_t *n,
                                                      struct ferry_reason *why);

/* ---- relay batches ----------------------------------------------------------------------------
 */

/* Headers from the block after the last verified one to a block with a justification. */
struct ferry_source_batch {
    struct ferry_header *headers; /* ascending, each the child of the previous; the first the
                                   * child of the last verified block */
    size_t n;
    uint8_t *justification; /* encoded GRANDPA justification for headers[n - 1] (unverified) */
    size_t justification_len;
};

void ferry_source_batch_free(struct ferry_source_batch *b);

/* Fetch the next batch after the block the authority set is at (set->number, set->hash: the last
 * verified block and the set in force there, which finds where a fallback batch must end).
 * Returns: FERRY_OK; FERRY_E_RETRY (nothing past the last verified block yet, or stopped);
 *          FERRY_E_VERIFY (headers or justification malformed, missing or not linking);
 *          FERRY_E_UNSUPPORTED (without grandpa_proveFinality, more blocks missing than one
 *          batch can bridge: a newer checkpoint is needed); an RPC error; FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_source_relay_batch(struct ferry_source *s,
                                                     const struct ferry_authority_set *set,
                                                     struct ferry_source_batch *b,
                                                     struct ferry_reason *why);

/* The batch after block (number, hash) from grandpa_proveFinality alone, for a driver that
 * fetches the next batch while it verifies the current one (from another thread: nothing else
 * may use the source until this returns). number/hash are where the batch must link; they are
 * not trusted here either (lc verifies the batch as any other).
 * Returns: as ferry_source_relay_batch; FERRY_E_UNSUPPORTED when the node does not serve
 *          grandpa_proveFinality for that block (use ferry_source_relay_batch then). */
FERRY_WARN_UNUSED ferry_err ferry_source_relay_batch_after(struct ferry_source *s, uint32_t number,
                                                           const uint8_t hash[32],
                                                           struct ferry_source_batch *b,
                                                           struct ferry_reason *why);

/* ---- streamed relay batches ---------------------------------------------------------------
 * The same batches as ferry_source_relay_batch(_after), handed out one header at a time so a
 * driver never holds a whole batch: a grandpa_proveFinality answer is kept as its SCALE bytes
 * (decoded in place by the RPC client, ferry_rpc_call_hex), headers are decoded from it as they
 * are asked for, and the bytes already read are given back to the system (a proof of at most
 * FERRY_RPC_REUSE_MAX bytes is given back whole to the RPC client when the stream is freed, to
 * receive a later answer into: ferry_rpc_bytes_release). Only the batch's
 * first block is fetched at open when the proof starts above it (Substrate's do); proofs in any
 * other shape, and the fallback without proofs, are built in memory as before. A stream does
 * not use the source after it was opened: it may be read while the source fetches the next one.
 * Headers are checked to be the blocks after the last verified one, in order, ending at the
 * justification's target with its hash; lc verifies the rest. */
struct ferry_source_stream;

/* As ferry_source_relay_batch / ferry_source_relay_batch_after, as a stream.
 * Out: *out (free with ferry_source_stream_free); NULL on failure.
 * Returns: as ferry_source_relay_batch / _after. */
FERRY_WARN_UNUSED ferry_err ferry_source_relay_stream(struct ferry_source *s,
                                                      const struct ferry_authority_set *set,
                                                      struct ferry_source_stream **out,
                                                      struct ferry_reason *why);
FERRY_WARN_UNUSED ferry_err ferry_source_relay_stream_after(struct ferry_source *s, uint32_t number,
                                                            const uint8_t hash[32],
                                                            struct ferry_source_stream **out,
                                                            struct ferry_reason *why);

/* The next header of the batch, in order.
 * Out: *h (free with ferry_header_free) on FERRY_OK, else zeroed.
 * Returns: FERRY_OK; FERRY_E_NOT_FOUND after the last one (the justification's target);
 *          FERRY_E_INVALID (a header that does not decode, is not the next block, or the target
 *          with another hash; the headers end early) with *why; FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_source_stream_next(struct ferry_source_stream *st,
                                                     struct ferry_header *h,
                                                     struct ferry_reason *why);

/* The batch's last block as the node claims it (the justification's target: unverified).
 * Out: hash. Returns: its number. */
uint32_t ferry_source_stream_top(const struct ferry_source_stream *st, uint8_t hash[32]);

/* The encoded justification for the last block (unverified; owned by st). */
const uint8_t *ferry_source_stream_justification(const struct ferry_source_stream *st, size_t *len);

void ferry_source_stream_free(struct ferry_source_stream *st);

/* ---- live
 * ----------------------------------------------------------------------------------------- */

/* At the tip: subscribe to finalized heads (once per connection) and wait up to about two
 * seconds for news (one second without a subscription). */
void ferry_source_wait_news(struct ferry_source *s);

/* ---- pipelined read proofs
 * A state_getReadProof sent now and collected later, so that many (one per block of a dispatch
 * range, or one for a block whose header was just pushed) cost one round trip together over a
 * WebSocket (over HTTP the request is performed when sent). The answer is as hostile as any:
 * the caller verifies the nodes against a state root it trusts.
 */
struct ferry_source_proof_req;

/* Send state_getReadProof(keys, at) without waiting.
 * Out: *out, to be passed exactly once to ferry_source_read_proof_wait or _cancel, also after the
 *      source switched endpoints or was closed: the connection it was sent on stays open until
 *      then (so its answer still arrives, or its timeout passes).
 * Returns: FERRY_OK; the RPC client's creation error; FERRY_E_ARG; FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_source_read_proof_send(struct ferry_source *s,
                                                         const struct ferry_bytes *keys,
                                                         size_t n_keys, const uint8_t at[32],
                                                         struct ferry_source_proof_req **out,
                                                         struct ferry_reason *why);

/* Returns: the block hash the request reads at (valid until it is waited for or cancelled). */
const uint8_t *ferry_source_proof_req_at(const struct ferry_source_proof_req *q);

/* Wait for the answer (until the source's request timeout counted from the send) and free q.
 * Out: *nodes, the proof's trie nodes (free with ferry_bytes_list_free; empty on failure).
 * Returns: FERRY_OK; FERRY_E_NOT_FOUND (the node answered null); FERRY_E_JSON/FERRY_E_HEX (a
 *          malformed answer); an RPC error; FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_source_read_proof_wait(struct ferry_source_proof_req *q,
                                                         struct ferry_bytes_list *nodes,
                                                         struct ferry_reason *why);

/* Drop a request no longer wanted: waits for its answer (or its timeout) and frees everything.
 * NULL is ignored. */
void ferry_source_read_proof_cancel(struct ferry_source_proof_req *q);

/* The newest finalized header the node pushed on this connection (unverified: only good for
 * guessing what to fetch next), without consuming it as ferry_source_finalized does.
 * Returns: true and *number, hash when there is one; false otherwise. */
bool ferry_source_pushed_tip(const struct ferry_source *s, uint32_t *number, uint8_t hash[32]);

/* Subscribe to finalized heads if not yet done and take in what was pushed, without waiting
 * (for a second chain followed alongside the one ferry_source_wait_news waits on). */
void ferry_source_poll_news(struct ferry_source *s);

#endif
