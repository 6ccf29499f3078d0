/* ferry — retry delays: exponential backoff with jitter, and the classification of failures
 * into "try again later" and "stop and explain".
 *
 * A long-running process (`ferry relay`) meets two kinds of failure. Transient ones (a node
 * restarting, a dropped socket, a timeout, a worker busy with a checkpoint) go away by
 * themselves: the step is retried after a delay that doubles up to a cap, with jitter so that a
 * fleet restarted together does not hammer a node in lockstep, and that resets after a success.
 * Permanent ones (another chain's genesis, a missing pallet, a worker that rejects data ferry
 * verified, an account without funds) never go away: retrying them only hides them, so the
 * process stops with a reason and an exit status of its own (see enum ferry_fault_class), which
 * a supervisor (systemd's RestartPreventExitStatus=) uses to stop restarting it.
 *
 * No global state; the random source is per object (seedable for tests). Not thread-safe.
 */
#ifndef FERRY_BACKOFF_H
#define FERRY_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

#include "ferry/error.h"

struct ferry_backoff {
    uint32_t initial_ms; /* first delay [250] */
    uint32_t max_ms;     /* cap [30000] */
    uint32_t current_ms; /* 0 before the first failure */
    uint32_t failures;   /* consecutive failures since the last reset */
    uint64_t rng;        /* xorshift state, never 0 */
};

/* Set up b. initial_ms/max_ms 0 take the defaults; max_ms below initial_ms is raised to it.
 * seed 0 seeds from the clock and pid. */
void ferry_backoff_init(struct ferry_backoff *b, uint32_t initial_ms, uint32_t max_ms,
                        uint64_t seed);

/* Record a failure and return the delay before the next attempt: the nominal delay d (initial,
 * then doubled each failure, capped at max) with "equal jitter", a uniform value in
 * [d/2, d]. Never 0, never above max_ms. */
uint32_t ferry_backoff_next(struct ferry_backoff *b);

/* Record a success: the next failure starts again from initial_ms. */
void ferry_backoff_reset(struct ferry_backoff *b);

/* ---- failure classes ------------------------------------------------------------------------ */

/* What a failure means for the process, and the exit status it stops with. The numbers are part
 * of the interface (docs/operating.md, config/ferry-relay.service). */
enum ferry_fault_class {
    FERRY_FAULT_NONE = 0,      /* no failure (exit 0: stopped on request or target reached) */
    FERRY_FAULT_TRANSIENT = 1, /* retried in-process with backoff; never an exit status */
    FERRY_FAULT_USAGE = 2,     /* bad flags or configuration values */
    FERRY_FAULT_IO = 3,        /* the data directory or its database cannot be used */
    FERRY_FAULT_CHAIN = 4,     /* the chain is not the one configured, or lacks what ferry
                                * needs (genesis, RPC methods, pallets, calls, encodable
                                * attestation) */
    FERRY_FAULT_WORKER = 5,    /* the worker rejects data ferry verified, or serves another chain */
    FERRY_FAULT_ACCOUNT = 6,   /* the signing key cannot pay (no funds) or is refused */
    FERRY_FAULT_ATTEST = 7,    /* the attestation cannot be completed or verified */
    FERRY_FAULT_INTERNAL = 8,  /* out of memory or a broken invariant */
};

/* Where a failing call went: the same error code means different things from different peers
 * (an invalid answer from a node is the node's fault and worth another endpoint; the same from
 * the worker after ferry verified the input is the worker's). */
enum ferry_fault_origin {
    FERRY_ORIGIN_NODE,   /* a chain node's RPC */
    FERRY_ORIGIN_WORKER, /* the worker API */
    FERRY_ORIGIN_CHAIN,  /* the chain's verdict on a transaction (dispatch or pool) */
    FERRY_ORIGIN_STORE,  /* the local database */
    FERRY_ORIGIN_CONFIG, /* configuration and key files */
};

/* Classify err returned from a call to origin.
 *   NODE:   everything transient (network, timeouts, RPC errors, and also invalid or
 *           unverifiable data: a lying or broken node is left for the next endpoint) except
 *           FERRY_E_NOMEM (internal).
 *   WORKER: network, timeout, retry, I/O and FERRY_E_RPC (a 5xx without a verdict: busy)
 *           transient; everything else WORKER (it refused input ferry verified, or answered
 *           something undecodable).
 *   CHAIN:  network, timeout, retry transient; FERRY_E_RPC transient (pool rejections are
 *           retried after a refresh); others CHAIN.
 *   STORE:  IO (except FERRY_E_NOMEM: internal).
 *   CONFIG: IO for FERRY_E_IO, USAGE otherwise.
 * FERRY_OK is FERRY_FAULT_NONE everywhere. */
enum ferry_fault_class ferry_fault_classify(enum ferry_fault_origin origin, ferry_err err);

/* Returns: true for the classes that stop the process (all but NONE and TRANSIENT). */
bool ferry_fault_is_permanent(enum ferry_fault_class c);

/* Returns: a short static name ("transient", "chain", ...) used in logs and metrics. */
const char *ferry_fault_name(enum ferry_fault_class c);

/* Returns: the process exit status for c (its enum value; 0 for NONE; TRANSIENT maps to 1,
 * used only when a transient failure outlasts a configured deadline). */
int ferry_fault_exit_status(enum ferry_fault_class c);

#endif
