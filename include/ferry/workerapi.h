/* ferry — the worker API: pRuntime's PhactoryAPI shape, served by ferry-worker, called by
 * `ferry relay` and `ferry worker`.
 *
 * Transport (as pRuntime): HTTP/1.1 `POST /prpc/PhactoryAPI.<Method>` on 127.0.0.1. The body is
 * the protobuf request of src/workerapi/pruntime_rpc.proto (an Empty request is a zero-length
 * body); 200 carries the protobuf response; errors are 400 (undecodable request), 404 (unknown
 * method), 409 (well-formed but refused by the worker's checks), 413 (body over the method's
 * limit), 500 (internal), 503 (shutting down), each with a prpc.PrpcError{message} body. With
 * `Content-Type: application/json` (or `?json`) the response is the same message as JSON: bytes
 * fields as "0x…" hex, errors as {"error": "…"}; `GET /prpc/PhactoryAPI.GetInfo` answers in JSON.
 * The protobuf-c code is generated into the build tree: include "pruntime_rpc.pb-c.h" and
 * "prpc.pb-c.h" (their directory is on the include path) to build or parse messages directly.
 *
 * SCALE layouts of the `bytes` fields (`‖` is concatenation; Compact is SCALE compact; Vec<T> is
 * Compact(len) ‖ items; Option<T> is 0x00 | 0x01 ‖ T; integers little-endian):
 *
 *   Header            = parent_hash[32] ‖ Compact<u32> number ‖ state_root[32]
 *                       ‖ extrinsics_root[32] ‖ Vec<DigestItem>          (header.h)
 *   HeaderToSync      = Header ‖ Option<Vec<u8>> justification           (SCALE GRANDPA
 *                       justification; only the last header of a batch carries one)
 *   HeadersToSync.encoded_headers      = Vec<HeaderToSync>
 *   ParaHeadersToSync.encoded_headers  = Vec<Header>; .proof = trie nodes (repeated bytes)
 *   AuthoritySet      = Vec<([u8;32] ed25519, u64 weight)> list ‖ u64 id
 *   GenesisBlockInfo  = Header ‖ AuthoritySet ‖ Vec<Vec<u8>> proof
 *                       (InitRuntimeRequest.encoded_genesis_info; the proof is a read proof at
 *                       the header's state root of Grandpa::Authorities (or the well-known
 *                       `:grandpa_authorities`) and Grandpa::CurrentSetId)
 *   BlockProof        = Compact<u32> number ‖ Vec<Vec<u8>> proof      (ferry-worker only)
 *   Blocks.encoded_blocks              = Vec<BlockProof>: each proof is one read proof, at the
 *                       state root of that block (para block in parachain mode, else relay), of
 *                       every key ferry_worker_dispatch_keys() lists, present or absent.
 *   AccountId32       = [u8;32]                 (encoded_operator)
 *   AttestationProvider = u8: Root=0, Ias=1, Dcap=2   (InitRuntimeRequest.attestation_provider)
 *   MessageOrigin     = 0x00 Pallet(Vec<u8>) | 0x01 Contract([32]) | 0x02 Worker([32])
 *                       | 0x03 AccountId([32]) | 0x04 MultiLocation(Vec<u8>) | 0x05 Gatekeeper
 *                       | 0x06 Cluster([32]) | 0xff Reserved
 *   Message           = MessageOrigin sender ‖ Vec<u8> destination ‖ Vec<u8> payload
 *   SignedMessage     = Message ‖ u64 sequence ‖ Vec<u8> signature (64 bytes: sr25519, context
 *                       "substrate", over SCALE(Message) ‖ u64 sequence)
 *   GetEgressMessagesResponse.encoded_messages = Vec<(MessageOrigin, Vec<SignedMessage>)>
 *   WorkerRegistrationInfoV2 = u32 version ‖ Vec<u8> machine_id ‖ [32] pubkey ‖ [32] ecdh_pubkey
 *                       ‖ [32] genesis_block_hash ‖ Vec<u32> features ‖ Option<AccountId32>
 *                       operator ‖ u32 para_id ‖ u32 max_consensus_version
 *                       (InitRuntimeResponse.encoded_runtime_info)
 *   Option<AttestationReport> (Attestation.encoded_report): 0x00 for provider none;
 *                       0x01 ‖ 0x01 SgxDcap ‖ Vec<u8> quote ‖ 0x00 (collateral: None) for gramine
 *
 * Ingress topic of a worker: the ASCII bytes "ferry/worker/" followed by the 64 lowercase hex
 * digits of its identity public key (ferry_worker_topic). Replies go to "ferry/reply/" followed by
 * the hex of the sender's ephemeral envelope key (ferry_worker_reply_topic).
 */
#ifndef FERRY_WORKERAPI_H
#define FERRY_WORKERAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

#define FERRY_WORKERAPI_PATH_PREFIX "/prpc/PhactoryAPI."

enum ferry_workerapi_method {
    FERRY_WORKERAPI_UNKNOWN = 0,
    FERRY_WORKERAPI_GET_INFO,
    FERRY_WORKERAPI_INIT_RUNTIME,
    FERRY_WORKERAPI_SYNC_HEADER,
    FERRY_WORKERAPI_SYNC_PARA_HEADER,
    FERRY_WORKERAPI_DISPATCH_BLOCKS,
    FERRY_WORKERAPI_GET_RUNTIME_INFO,
    FERRY_WORKERAPI_GET_EGRESS_MESSAGES,
};

/* Returns: the method named name[len] ("SyncHeader", ...), or FERRY_WORKERAPI_UNKNOWN. */
enum ferry_workerapi_method ferry_workerapi_method_parse(const char *name, size_t len);

/* Returns: the method's name ("GetInfo", ...; "" for UNKNOWN). */
const char *ferry_workerapi_method_name(enum ferry_workerapi_method m);

/* Returns: the largest request body the server accepts for m, in bytes (pRuntime's limits:
 *          100 MiB for the sync calls, 10 MiB InitRuntime, 1 KiB the reads, 1 MiB unknown),
 *          capped by the server's configured limit. */
size_t ferry_workerapi_body_limit(enum ferry_workerapi_method m);

/* ---- storage keys and topics -------------------------------------------------------------------
 */

#define FERRY_WORKER_KEY_MAX 80
#define FERRY_WORKER_N_KEYS  3

/* The keys every DispatchBlocks proof must cover, in this order:
 *   [0] PhalaMq.OutboundMessages   = twox128("PhalaMq") ‖ twox128("OutboundMessages")
 *   [1] PhalaMq.OffchainIngress(Worker(pk))
 *                                  = twox128("PhalaMq") ‖ twox128("OffchainIngress")
 *                                    ‖ twox64(0x02 ‖ pk) ‖ 0x02 ‖ pk
 *   [2] PhalaRegistry.Workers(pk)  = twox128("PhalaRegistry") ‖ twox128("Workers")
 *                                    ‖ twox64(pk) ‖ pk
 * Out: keys[i][0..lens[i]). */
void ferry_worker_dispatch_keys(const uint8_t pk[32],
                                uint8_t keys[FERRY_WORKER_N_KEYS][FERRY_WORKER_KEY_MAX],
                                size_t lens[FERRY_WORKER_N_KEYS]);

#define FERRY_WORKER_TOPIC_LEN       (13 + 64)
#define FERRY_WORKER_REPLY_TOPIC_LEN (12 + 64)

/* The ingress topic "ferry/worker/<hex pk>" into out[FERRY_WORKER_TOPIC_LEN] (not terminated). */
void ferry_worker_topic(const uint8_t pk[32], uint8_t out[FERRY_WORKER_TOPIC_LEN]);

/* The reply topic "ferry/reply/<hex eph>" into out[FERRY_WORKER_REPLY_TOPIC_LEN]. */
void ferry_worker_reply_topic(const uint8_t eph[32], uint8_t out[FERRY_WORKER_REPLY_TOPIC_LEN]);

/* ---- in-process dispatch (what the HTTP server calls; unit tests call it directly) --------------
 */

struct ferry_worker;

struct ferry_workerapi_response {
    int status;    /* HTTP status */
    uint8_t *body; /* malloc'd (protobuf, or JSON text when json) */
    size_t len;
    bool json;
};

/* Handle one request: decode body[len] as method's protobuf request (or JSON is not accepted as
 * input: json only selects the response rendering), run it on w, encode the response or a
 * PrpcError. Never fails: errors become a status and an error body.
 * In:  w (one caller at a time), method name[name_len] as in the URL path.
 * Out: *resp (free with ferry_workerapi_response_free). */
void ferry_workerapi_handle(struct ferry_worker *w, const char *name, size_t name_len,
                            const uint8_t *body, size_t len, bool json,
                            struct ferry_workerapi_response *resp);

void ferry_workerapi_response_free(struct ferry_workerapi_response *resp);

/* ---- HTTP server -------------------------------------------------------------------------------
 */

struct ferry_workerapi_server;

struct ferry_workerapi_server_config {
    const char *host;  /* "127.0.0.1" when NULL */
    uint16_t port;     /* 0: pick a free port (read it back with ferry_workerapi_server_port) */
    size_t body_limit; /* overall cap on any request body; 0 = 100 MiB */
};

/* Bind and listen. Requests are served by ferry_workerapi_server_run's thread, one at a time,
 * so concurrent clients are serialised and reads never see half an update.
 * Returns: FERRY_OK; FERRY_E_NET (cannot bind, *why says so); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_workerapi_server_start(
    struct ferry_workerapi_server **out, struct ferry_worker *w,
    const struct ferry_workerapi_server_config *cfg, struct ferry_reason *why);

/* The bound port. */
uint16_t ferry_workerapi_server_port(const struct ferry_workerapi_server *s);

/* Serve until ferry_workerapi_server_stop; the request in flight is finished first. */
void ferry_workerapi_server_run(struct ferry_workerapi_server *s);

/* Ask run() to return (async-signal-safe: sets a flag, wakes the loop). */
void ferry_workerapi_server_stop(struct ferry_workerapi_server *s);

void ferry_workerapi_server_free(struct ferry_workerapi_server *s);

/* ---- client ------------------------------------------------------------------------------------
 */

/* POST body[len] to <base_url>/prpc/PhactoryAPI.<method> (libcurl, Connection: close).
 * Out: *status, *resp / *resp_len (malloc'd response body, also on 4xx/5xx).
 * Returns: FERRY_OK when a response arrived (any status); FERRY_E_NET / FERRY_E_TIMEOUT;
 * FERRY_E_NOMEM; FERRY_E_ARG (URL too long). */
FERRY_WARN_UNUSED ferry_err ferry_workerapi_call(const char *base_url, const char *method,
                                                 const uint8_t *body, size_t len, bool json,
                                                 long timeout_ms, int *status, uint8_t **resp,
                                                 size_t *resp_len, struct ferry_reason *why);

/* A connection to one worker kept open between calls (for a caller that calls it often, like
 * the relayer): no TCP handshake per call, Nagle off, no "Expect: 100-continue"; libcurl opens
 * it again by itself when the worker closed it. NULL before the first call. */
struct ferry_workerapi_conn;

/* ferry_workerapi_call over *conn (created on first use), binary protobuf body.
 * Out (besides those of ferry_workerapi_call): *connects += connections opened by this call. */
FERRY_WARN_UNUSED ferry_err ferry_workerapi_post(struct ferry_workerapi_conn **conn,
                                                 const char *base_url, const char *method,
                                                 const uint8_t *body, size_t len, long timeout_ms,
                                                 int *status, uint8_t **resp, size_t *resp_len,
                                                 unsigned long *connects, struct ferry_reason *why);

/* Close the connection and free it; *conn becomes NULL (a later post opens a new one). */
void ferry_workerapi_conn_close(struct ferry_workerapi_conn **conn);

#endif
