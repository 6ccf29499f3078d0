/* ferry — typed helpers for the Substrate JSON-RPC methods ferry uses (DESIGN.md §4), over the
 * JSON-RPC client of jsonrpc.h (included: one client serves both). The transport knows no chain
 * types; this header adds blocks, headers, read proofs and runtime versions.
 *
 * Each waits at most cfg.request_timeout_ms. `at`, where present, is a 32-byte block hash or
 * NULL for the best block. rpc_error may be NULL; it is filled on FERRY_E_RPC. Errors are those
 * of ferry_rpc_call plus FERRY_E_JSON/FERRY_E_HEX when the answer has the wrong shape, and
 * FERRY_E_NOT_FOUND when the node answers null. On failure outputs hold nothing to free.
 */
#ifndef FERRY_RPC_H
#define FERRY_RPC_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/bytes.h"
#include "ferry/error.h"
#include "ferry/header.h"
#include "ferry/jsonrpc.h"

/* A list of byte strings (read proofs, extrinsics, storage keys; struct ferry_bytes is bytes.h's
 * view): a list owns its items' bytes, freed by ferry_bytes_list_free. */
struct ferry_bytes_list {
    struct ferry_bytes *items;
    size_t n;
};

void ferry_bytes_list_free(struct ferry_bytes_list *l);

/* One entry of a block's justifications: the consensus engine id ("FRNK") and its bytes. */
struct ferry_block_justification {
    uint8_t engine[4];
    struct ferry_bytes data;
};

struct ferry_block {
    struct ferry_header header;
    struct ferry_bytes_list extrinsics;
    struct ferry_block_justification *justifications;
    size_t n_justifications;
};

void ferry_block_free(struct ferry_block *b);

struct ferry_runtime_version {
    char spec_name[64];
    char impl_name[64];
    uint32_t spec_version;
    uint32_t impl_version;
    uint32_t authoring_version;
    uint32_t transaction_version;
};

/* chain_getBlockHash(number). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_get_block_hash(struct ferry_rpc *c, uint32_t number,
                                                     uint8_t hash[32],
                                                     struct ferry_rpc_error *rpc_error);

/* chain_getHeader(at) decoded (ferry_header_json_to_scale + ferry_header_decode).
 * Out: *h (free with ferry_header_free). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_get_header(struct ferry_rpc *c, const uint8_t *at,
                                                 struct ferry_header *h,
                                                 struct ferry_rpc_error *rpc_error);

/* chain_getBlock(at): header, extrinsics (opaque bytes) and justifications.
 * Out: *b (free with ferry_block_free). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_get_block(struct ferry_rpc *c, const uint8_t *at,
                                                struct ferry_block *b,
                                                struct ferry_rpc_error *rpc_error);

/* chain_getFinalizedHead. */
FERRY_WARN_UNUSED ferry_err ferry_rpc_get_finalized_head(struct ferry_rpc *c, uint8_t hash[32],
                                                         struct ferry_rpc_error *rpc_error);

/* grandpa_proveFinality(number): the SCALE FinalityProof bytes (malloc'd: free them, or give
 * them back with ferry_rpc_bytes_release so that a proof of at most FERRY_RPC_REUSE_MAX bytes
 * keeps its receive buffer for the next one), FERRY_E_NOT_FOUND when the node has no
 * justification to prove it with (it answered null). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_prove_finality(struct ferry_rpc *c, uint32_t number,
                                                     uint8_t **proof, size_t *len,
                                                     struct ferry_rpc_error *rpc_error);

/* state_getReadProof(keys, at). Out: *proof (the trie nodes), at_out (may be NULL). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_get_read_proof(
    struct ferry_rpc *c, const struct ferry_bytes *keys, size_t n_keys, const uint8_t *at,
    struct ferry_bytes_list *proof, uint8_t at_out[32], struct ferry_rpc_error *rpc_error);

/* state_getStorage(key, at). Out: *value (malloc'd) and *len; FERRY_E_NOT_FOUND when absent. */
FERRY_WARN_UNUSED ferry_err ferry_rpc_get_storage(struct ferry_rpc *c, const uint8_t *key,
                                                  size_t key_len, const uint8_t *at,
                                                  uint8_t **value, size_t *len,
                                                  struct ferry_rpc_error *rpc_error);

/* state_getKeysPaged(prefix, count, start_key (NULL = from the start), at). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_get_keys_paged(struct ferry_rpc *c, const uint8_t *prefix,
                                                     size_t prefix_len, uint32_t count,
                                                     const struct ferry_bytes *start_key,
                                                     const uint8_t *at,
                                                     struct ferry_bytes_list *keys,
                                                     struct ferry_rpc_error *rpc_error);

/* state_getMetadata(at): the raw bytes ("meta" ‖ version ‖ RuntimeMetadata), malloc'd. */
FERRY_WARN_UNUSED ferry_err ferry_rpc_get_metadata(struct ferry_rpc *c, const uint8_t *at,
                                                   uint8_t **metadata, size_t *len,
                                                   struct ferry_rpc_error *rpc_error);

/* state_getRuntimeVersion(at). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_get_runtime_version(struct ferry_rpc *c, const uint8_t *at,
                                                          struct ferry_runtime_version *v,
                                                          struct ferry_rpc_error *rpc_error);

/* system_chain. Out: *name (malloc'd). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_system_chain(struct ferry_rpc *c, char **name,
                                                   struct ferry_rpc_error *rpc_error);

/* system_properties. Out: *props (the object; caller deletes), *ss58_format (-1 when absent;
 * may be NULL). */
FERRY_WARN_UNUSED ferry_err ferry_rpc_system_properties(struct ferry_rpc *c, cJSON **props,
                                                        int *ss58_format,
                                                        struct ferry_rpc_error *rpc_error);

/* system_accountNextIndex(account): account is SS58 text or 0x-hex of the 32-byte id. */
FERRY_WARN_UNUSED ferry_err ferry_rpc_account_next_index(struct ferry_rpc *c, const char *account,
                                                         uint64_t *nonce,
                                                         struct ferry_rpc_error *rpc_error);

/* author_submitExtrinsic(xt). Out: hash, the extrinsic hash the node returns. */
FERRY_WARN_UNUSED ferry_err ferry_rpc_submit_extrinsic(struct ferry_rpc *c, const uint8_t *xt,
                                                       size_t len, uint8_t hash[32],
                                                       struct ferry_rpc_error *rpc_error);

/* chain_subscribeFinalizedHeads (unsubscribe: chain_unsubscribeFinalizedHeads); events as for
 * ferry_rpc_subscribe. Decode a notification's result with ferry_rpc_header_from_json. */
FERRY_WARN_UNUSED ferry_err ferry_rpc_subscribe_finalized_heads(struct ferry_rpc *c,
                                                                ferry_rpc_event_fn fn, void *user,
                                                                uint64_t *sub,
                                                                struct ferry_rpc_error *rpc_error);

/* Decode a JSON header object (a chain_getHeader result or a new-head notification).
 * Out: *h (free with ferry_header_free).
 * Returns: FERRY_OK, FERRY_E_JSON, FERRY_E_HEX, a header decode error, FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_rpc_header_from_json(const cJSON *json, struct ferry_header *h);

#endif
