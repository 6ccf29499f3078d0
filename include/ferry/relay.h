/* ferry — `ferry relay`: keeps a worker in lock-step with the chain's finality and carries its
 * registration and messages onto the chain.
 *
 * The loop follows pherry's (../shared/reference/pherry.md §2): each iteration asks the worker
 * GetInfo for its next expected relay header, para header and block, then does exactly one step,
 * one worker call at a time, in this priority:
 *   1. DispatchBlocks: read proofs of the keys the worker needs (workerapi.h) at blocks whose
 *      headers it validated, each proof checked against the state root ferry's own light client
 *      (lc.h) verified;
 *   2. SyncParaHeader (parachain mode): Paras::Heads(para_id) proven at the last relay block the
 *      worker validated, and the para headers up to that head, linked by parent hash;
 *   3. SyncHeader: the next finality batch (node source, source.h), verified by lc first;
 *   4. at the tip: registration (GetRuntimeInfo → PhalaRegistry.register_worker_v2), then egress
 *      through the durable outbox (egress.h), then a wait for new finality.
 * Everything forwarded was verified by ferry first, so a worker that refuses it is a worker fault
 * (permanent) and a node whose data does not verify is a node fault (next endpoint, backoff).
 *
 * Failures: transient ones are retried with backoff and jitter, forever; permanent ones stop the
 * loop with *fault set (backoff.h: distinct exit statuses). SIGTERM (the stop flag) finishes the
 * step in progress and returns FERRY_OK.
 */
#ifndef FERRY_RELAY_H
#define FERRY_RELAY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/backoff.h"
#include "ferry/error.h"
#include "ferry/lc.h"
#include "ferry/relayconf.h"

/* What the progress line shows (a snapshot after each step). */
struct ferry_relay_progress {
    const char *phase;      /* "preflight", "init", "headers", "para", "blocks", "tip", "backoff" */
    uint32_t verified;      /* relay block verified by ferry's lc */
    uint32_t finalized;     /* the node's finalized relay block (last known) */
    uint32_t worker_header; /* last relay header the worker validated */
    uint32_t worker_para;   /* last para header the worker validated */
    uint32_t worker_block;  /* last block dispatched to the worker */
    uint64_t set_id;
    uint64_t outbox_pending, outbox_inflight;
    bool registered;
    double blocks_per_s;
};

typedef void (*ferry_relay_progress_fn)(void *user, const struct ferry_relay_progress *p);

/* Run the relayer with cfg (validated) until *stop is set, until_block is reached, or a
 * permanent failure.
 * Out: *fault — FERRY_FAULT_NONE on a clean stop, else the permanent class; why — the reason.
 * Returns: FERRY_OK on a clean stop; otherwise the error that stopped it. */
FERRY_WARN_UNUSED ferry_err ferry_relay_run(const struct ferry_relay_config *cfg,
                                            volatile sig_atomic_t *stop,
                                            ferry_relay_progress_fn progress, void *user,
                                            enum ferry_fault_class *fault,
                                            struct ferry_reason *why);

/* Pre-flight only (what `--check` runs): nodes (genesis, RPC methods, runtime version, the
 * pallets, calls and storage ferry needs, the attestation kind encodable) and the worker
 * (reachable, same chain and mode). Returns and sets *fault as ferry_relay_run. */
FERRY_WARN_UNUSED ferry_err ferry_relay_preflight(const struct ferry_relay_config *cfg,
                                                  volatile sig_atomic_t *stop,
                                                  enum ferry_fault_class *fault,
                                                  struct ferry_reason *why);

/* ---- DCAP registration reports --------------------------------------------------------------- */

/* A worker's SCALE Option<AttestationReport> of the form Some(SgxDcap{quote, collateral: None})
 * (0x01 0x01 Vec<u8> quote 0x00) completed with collateral (SCALE SgxV30QuoteCollateral) and
 * verified first, as pherry does but checked before any fee is spent: the quote must verify
 * against the collateral at time now (unix seconds) and commit to blake2_256(info) in its report
 * data. Out: *out (malloc'd) Some(SgxDcap{quote, Some(Collateral::SgxV30(c))}).
 * Returns: FERRY_OK; FERRY_E_INVALID (not a collateral-less DCAP report); FERRY_E_VERIFY (the
 *          quote does not verify: *why has the step and reason); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_relay_dcap_attach(const uint8_t *report, size_t report_len,
                                                    const uint8_t *info, size_t info_len,
                                                    const uint8_t *collateral, size_t coll_len,
                                                    int64_t now, uint8_t **out, size_t *out_len,
                                                    struct ferry_reason *why);

/* Returns: true when report is Some(SgxDcap{quote, collateral: None}). */
bool ferry_relay_dcap_needs_collateral(const uint8_t *report, size_t report_len);

/* Fetch the quote's collateral from the PCCS at pccs_url (timeout_ms per request), then
 * ferry_relay_dcap_attach with the current time.
 * Returns: as ferry_relay_dcap_attach, plus the PCCS client's errors (FERRY_E_NET,
 *          FERRY_E_TIMEOUT, FERRY_E_RPC, FERRY_E_INVALID). */
FERRY_WARN_UNUSED ferry_err ferry_relay_dcap_complete(const uint8_t *report, size_t report_len,
                                                      const uint8_t *info, size_t info_len,
                                                      const char *pccs_url, long timeout_ms,
                                                      uint8_t **out, size_t *out_len,
                                                      struct ferry_reason *why);

/* ---- persisted light-client state ------------------------------------------------------------
 *
 * ferry relay keeps its own light client (lc.h) in `<data_dir>/lc.state` so that a restart
 * resumes from the last verified header instead of re-verifying the chain from genesis. The file
 * is "FRLC", a format version byte, the genesis hash it belongs to, then ferry_lc_encode's bytes
 * (which end in their own digest). It is replaced atomically (temporary file, fsync, rename,
 * fsync of the directory): a crash leaves the old file or the new one, never a mix. */

/* Write lc to dir/lc.state atomically.
 * Returns: FERRY_OK; FERRY_E_IO (*why names the file and the system error); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_relay_state_save(const char *dir, const struct ferry_lc *lc,
                                                   struct ferry_reason *why);

/* Load dir/lc.state for the chain with genesis hash `genesis`.
 * Out: *out (free with ferry_lc_free), NULL on failure.
 * Returns: FERRY_OK; FERRY_E_NOT_FOUND (no file); FERRY_E_INVALID (not a ferry relay state, a
 *          format this version does not know, truncated or altered: the caller starts again from
 *          its trust root); FERRY_E_STATE (a valid state of another chain: *why says which);
 *          FERRY_E_IO (unreadable); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_relay_state_load(const char *dir, const uint8_t genesis[32],
                                                   struct ferry_lc **out, struct ferry_reason *why);

#endif
