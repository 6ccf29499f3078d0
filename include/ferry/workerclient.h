/* ferry — the relayer's typed client of the worker API (workerapi.h, docs/worker-api.md).
 *
 * One call at a time over one kept-alive HTTP connection (re-opened when the worker closed it);
 * the caller never has two in flight (the worker serialises anyway, and pRuntime fails
 * concurrent sync calls). Release the connection with ferry_wc_close. Every
 * answer is decoded defensively (protobuf-c unpack with its own bounds checks; hex keys checked).
 *
 * HTTP status → ferry_err, so a caller can classify with ferry_fault_classify(WORKER, err):
 *   200 FERRY_OK;
 *   409 FERRY_E_VERIFY — the worker refused well-formed input (for data ferry verified first,
 *       this is the worker's fault, a permanent one);
 *   400, 413 FERRY_E_INVALID — the worker could not decode ferry's request;
 *   404, 405 FERRY_E_UNSUPPORTED — not a worker API at that URL, or an older one;
 *   500, 503 and anything else FERRY_E_RPC — busy, shutting down, internal: retried;
 *   no answer FERRY_E_NET / FERRY_E_TIMEOUT.
 * *why carries the worker's PrpcError message ("SyncHeader: the batch starts at …").
 */
#ifndef FERRY_WORKERCLIENT_H
#define FERRY_WORKERCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

struct ferry_workerapi_conn;

struct ferry_wclient {
    const char *url;               /* base URL, e.g. http://127.0.0.1:8000 (borrowed) */
    long timeout_ms;               /* per call */
    unsigned long calls, failures; /* counters for metrics */
    unsigned long connects;        /* connections opened (1 while the worker keeps it open) */
    double seconds;                /* time spent in calls */
    /* The last SyncHeader/SyncParaHeader/DispatchBlocks that succeeded: its method name (a
     * static string; NULL before any, and the caller may reset it) and answer, so a caller can
     * track the worker's heights without asking GetInfo again. */
    const char *last_sync;
    uint32_t last_synced_to;
    struct ferry_workerapi_conn *conn; /* private: the kept connection (workerapi.h) */
};

/* Close the kept connection and free the handle (a later call opens a new one). */
void ferry_wc_close(struct ferry_wclient *c);

/* What GetInfo says (the fields the relayer uses). */
struct ferry_wc_info {
    bool initialized;
    bool registered;
    bool is_parachain;
    uint32_t para_id;
    uint32_t headernum;      /* next expected relay header */
    uint32_t para_headernum; /* next expected para header */
    uint32_t blocknum;       /* next expected block to dispatch */
    bool has_genesis;
    uint8_t genesis[32]; /* the InitRuntime header's hash */
    bool has_public_key;
    uint8_t public_key[32];
    uint64_t pending_messages;
    uint64_t authority_set_id;
    char provider[16]; /* "none", "gramine", or "" */
    char version[32];
};

FERRY_WARN_UNUSED ferry_err ferry_wc_get_info(struct ferry_wclient *c, struct ferry_wc_info *out,
                                              struct ferry_reason *why);

/* InitRuntime. genesis_info = SCALE GenesisBlockInfo; operator_id optional (32 bytes);
 * provider < 0 for none, else the AttestationProvider byte.
 * Out: pubkey (optional) the worker's identity key. */
FERRY_WARN_UNUSED ferry_err ferry_wc_init_runtime(struct ferry_wclient *c,
                                                  const uint8_t *genesis_info, size_t len,
                                                  bool is_parachain, uint32_t para_id,
                                                  const uint8_t *operator_id, int provider,
                                                  uint8_t pubkey[32], struct ferry_reason *why);

/* SyncHeader(Vec<HeaderToSync>) / SyncParaHeader(Vec<Header>, proof nodes) /
 * DispatchBlocks(Vec<BlockProof>). Out: *synced_to. */
FERRY_WARN_UNUSED ferry_err ferry_wc_sync_header(struct ferry_wclient *c, const uint8_t *encoded,
                                                 size_t len, uint32_t *synced_to,
                                                 struct ferry_reason *why);
FERRY_WARN_UNUSED ferry_err ferry_wc_sync_para_header(
    struct ferry_wclient *c, const uint8_t *encoded, size_t len, const uint8_t *const *nodes,
    const size_t *node_lens, size_t n_nodes, uint32_t *synced_to, struct ferry_reason *why);
FERRY_WARN_UNUSED ferry_err ferry_wc_dispatch_blocks(struct ferry_wclient *c,
                                                     const uint8_t *encoded, size_t len,
                                                     uint32_t *synced_to, struct ferry_reason *why);

/* GetRuntimeInfo. Out (malloc'd, free both): *info = SCALE WorkerRegistrationInfoV2,
 * *report = SCALE Option<AttestationReport> (NULL/0 when the worker gave no attestation yet),
 * pubkey (optional). */
FERRY_WARN_UNUSED ferry_err ferry_wc_get_runtime_info(struct ferry_wclient *c,
                                                      const uint8_t *operator_id, uint8_t **info,
                                                      size_t *info_len, uint8_t **report,
                                                      size_t *report_len, uint8_t pubkey[32],
                                                      struct ferry_reason *why);

/* GetEgressMessages. Out: *encoded (malloc'd) SCALE Vec<(MessageOrigin, Vec<SignedMessage>)>. */
FERRY_WARN_UNUSED ferry_err ferry_wc_get_egress(struct ferry_wclient *c, uint8_t **encoded,
                                                size_t *len, struct ferry_reason *why);

#endif
