/* ferry — the worker: a software enclave runtime driven like Phala's pRuntime.
 *
 * A ferry_worker holds an identity key and an ECDH key (sr25519, from the OS RNG at first start),
 * a light-client state (lc.h) it advanced itself, the next block it expects to dispatch, the
 * on-chain ingress sequence of its egress messages and the queue of those not yet on chain. It
 * trusts only what it verifies: headers through lc, para heads through Paras::Heads proofs, and
 * per block read proofs of PhalaMq.OutboundMessages, its own PhalaMq.OffchainIngress entry and
 * PhalaRegistry.Workers(pk) (workerapi.h lists the keys) against state roots lc verified.
 *
 * Its application is an echo service: every message in a proven OutboundMessages addressed to
 * the worker's topic is opened with the envelope of docs/messages.md and answered, once, in
 * chain order, by a SignedMessage to the sender's reply topic that only the sender can read.
 *
 * State lives in memory and is sealed to <data_dir>/state.sealed: XChaCha20-Poly1305 under the
 * 32-byte seal key, written atomically (temp file, fsync, rename, fsync of the directory).
 * <data_dir>/lock (flock) keeps a second worker out. What is sealed when (ferry_worker_seal):
 *   - at once (before the request returns): a fresh identity, InitRuntime, the first para
 *     import (it fixes where dispatch starts), a new operator, a DispatchBlocks call that
 *     signed egress messages or changed the registration status; so a
 *     restarted worker never signs a different message under a sequence it already handed out,
 *     nor forgets who it is or that it is registered;
 *   - at most every seal_interval_ms (0 = at once, too): progress the chain re-derives
 *     (headers, para headers, blocks dispatched without new messages, egress confirmations).
 *     A worker restarted from such a seal is behind; the relayer brings it forward again;
 *   - always at ferry_worker_close (SIGTERM/SIGINT for ferry-worker) and ferry_worker_flush.
 *
 * Every operation applies completely or not at all: on failure the state (ferry_worker_state)
 * is byte-identical to before and nothing is written. The payloads are the SCALE layouts of
 * workerapi.h; this module never sees protobuf. Not thread-safe: one caller at a time.
 */
#ifndef FERRY_WORKER_H
#define FERRY_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

enum ferry_worker_attestation {
    FERRY_WORKER_ATTEST_NONE = 0,
    FERRY_WORKER_ATTEST_GRAMINE = 1,
};

struct ferry_worker_config {
    const char *data_dir; /* NULL: nothing persisted, no lock (tests and benchmarks only) */
    uint8_t seal_key[32];
    enum ferry_worker_attestation attestation;
    const char *attestation_dir; /* gramine: NULL = "/dev/attestation" */
    uint32_t seal_interval_ms;   /* re-derivable progress sealed at most this often (0 = always) */
};

struct ferry_worker;

/* Lock the data directory, restore its sealed state or start a fresh one (new keys, sealed at
 * once).
 * Returns: FERRY_OK; FERRY_E_STATE (the data dir is locked by another process); FERRY_E_VERIFY
 *          (the state file does not open under this seal key: altered, truncated or foreign);
 *          FERRY_E_UNSUPPORTED (unknown state version); FERRY_E_IO; FERRY_E_NOMEM. A refused
 *          state file is never modified. */
FERRY_WARN_UNUSED ferry_err ferry_worker_open(struct ferry_worker **out,
                                              const struct ferry_worker_config *cfg,
                                              struct ferry_reason *why);

/* Seal (when changed since the last seal), release the lock, wipe keys, free. NULL ignored.
 * Returns: FERRY_OK or the sealing error (the worker is freed either way). */
ferry_err ferry_worker_close(struct ferry_worker *w, struct ferry_reason *why);

/* Seal after a request: now when it changed something that must be sealed at once (see
 * above), or when it changed only re-derivable progress and the last seal is seal_interval_ms
 * old; otherwise nothing is written. Returns: FERRY_OK or FERRY_E_IO (the change stays pending
 * and is retried by the next call). */
FERRY_WARN_UNUSED ferry_err ferry_worker_seal(struct ferry_worker *w, struct ferry_reason *why);

/* Seal now if anything changed since the last seal. Returns: FERRY_OK or FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_worker_flush(struct ferry_worker *w, struct ferry_reason *why);

/* Read a seal key file: 64 hex digits (an optional 0x and surrounding whitespace allowed), mode
 * 0600 or stricter. Returns: FERRY_OK; FERRY_E_IO; FERRY_E_STATE (mode too open); FERRY_E_HEX. */
FERRY_WARN_UNUSED ferry_err ferry_worker_read_seal_key(const char *path, uint8_t key[32],
                                                       struct ferry_reason *why);

/* ---- the methods
 * --------------------------------------------------------------------------------- Returns (all):
 * FERRY_OK; a decode error (FERRY_E_TRUNCATED, FERRY_E_INVALID, FERRY_E_TRAILING,
 * FERRY_E_TOO_LARGE, ...) for a payload that is not the documented SCALE layout; FERRY_E_STATE
 * for a request the worker's position refuses (not initialised, wrong next number, block not yet
 * validated); FERRY_E_VERIFY / FERRY_E_INCOMPLETE / FERRY_E_NOT_FOUND for proofs and
 * justifications that do not verify; FERRY_E_UNSUPPORTED; FERRY_E_NOMEM; FERRY_E_IO (sealing).
 * *why says what and where. */

struct ferry_worker_init {
    const uint8_t *genesis_info; /* SCALE GenesisBlockInfo */
    size_t genesis_info_len;
    const uint8_t *debug_set_key; /* NULL or 32 bytes */
    size_t debug_set_key_len;
    size_t genesis_state_len;   /* must be 0: ferry-worker takes no state copy */
    const uint8_t *operator_id; /* NULL or 32 bytes */
    size_t operator_len;
    bool is_parachain;
    const uint8_t *provider; /* NULL/empty = none, else 1 byte SCALE AttestationProvider */
    size_t provider_len;
    uint32_t para_id;
};

FERRY_WARN_UNUSED ferry_err ferry_worker_init_runtime(struct ferry_worker *w,
                                                      const struct ferry_worker_init *in,
                                                      struct ferry_reason *why);

/* encoded = SCALE Vec<HeaderToSync>. Out: *synced_to (last validated relay number). */
FERRY_WARN_UNUSED ferry_err ferry_worker_sync_header(struct ferry_worker *w, const uint8_t *encoded,
                                                     size_t len, uint32_t *synced_to,
                                                     struct ferry_reason *why);

/* encoded = SCALE Vec<Header>; proof[n] trie nodes of Paras::Heads at relay headernum - 1. */
FERRY_WARN_UNUSED ferry_err ferry_worker_sync_para_header(
    struct ferry_worker *w, const uint8_t *encoded, size_t len, const uint8_t *const *proof,
    const size_t *proof_lens, size_t n, uint32_t *synced_to, struct ferry_reason *why);

/* encoded = SCALE Vec<BlockProof>. Out: *synced_to (last dispatched block). */
FERRY_WARN_UNUSED ferry_err ferry_worker_dispatch_blocks(struct ferry_worker *w,
                                                         const uint8_t *encoded, size_t len,
                                                         uint32_t *synced_to,
                                                         struct ferry_reason *why);

struct ferry_worker_runtime_info {
    uint8_t *info; /* SCALE WorkerRegistrationInfoV2 (malloc'd) */
    size_t info_len;
    uint8_t genesis_hash[32];
    uint8_t public_key[32];
    uint8_t ecdh_public_key[32];
    bool has_attestation;
    const char *provider; /* "none" / "gramine" */
    uint8_t *report;      /* SCALE Option<AttestationReport> (malloc'd) */
    size_t report_len;
    uint64_t timestamp;
};

/* Registration info (and, when with_attestation, the attestation report committing to
 * blake2_256(info)). operator_id (NULL or 32 bytes) replaces the operator first.
 * Out: *out (free with ferry_worker_runtime_info_free). */
FERRY_WARN_UNUSED ferry_err ferry_worker_runtime_info(struct ferry_worker *w, bool with_attestation,
                                                      const uint8_t *operator_id,
                                                      size_t operator_len,
                                                      struct ferry_worker_runtime_info *out,
                                                      struct ferry_reason *why);
void ferry_worker_runtime_info_free(struct ferry_worker_runtime_info *ri);

/* Pending egress: SCALE Vec<(MessageOrigin, Vec<SignedMessage>)> (malloc'd). Never hands out a
 * message that is not sealed: a seal that failed earlier is retried first.
 * Returns: FERRY_OK; FERRY_E_IO (that seal fails again: nothing handed out); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_worker_egress(struct ferry_worker *w, uint8_t **out, size_t *len);

struct ferry_worker_counters {
    uint64_t headers_synced, para_headers_synced, blocks_dispatched;
    uint64_t ingress_messages, ingress_handled, ingress_undecryptable;
    uint64_t egress_queued, egress_confirmed;
};

struct ferry_worker_info {
    bool initialized;
    bool registered;
    bool parachain;
    uint32_t para_id;
    uint8_t genesis_hash[32];
    uint32_t genesis_block;
    uint32_t headernum;      /* next expected relay header */
    uint32_t para_headernum; /* next expected para header */
    uint32_t blocknum;       /* next expected block to dispatch */
    bool has_state_root;
    uint8_t state_root[32]; /* of the last dispatched block */
    bool waiting_for_paraheaders;
    uint64_t set_id;
    uint8_t public_key[32];
    uint8_t ecdh_public_key[32];
    uint64_t pending_egress;
    enum ferry_worker_attestation attestation;
    struct ferry_worker_counters counters;
};

void ferry_worker_get_info(const struct ferry_worker *w, struct ferry_worker_info *info);

/* The unsealed serialisation of the whole state (what is sealed), for tests comparing states.
 * Returns: FERRY_OK or FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_worker_state(const struct ferry_worker *w, uint8_t **out,
                                               size_t *len);

#endif
