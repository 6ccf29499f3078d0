/* ferry rpc — the conversions of substrate.c from a node's JSON answer to typed results (hostile
 * input). Not a public header: exposed for tests/unit/test_rpc.c and tests/fuzz/fuzz_rpc_json.c.
 * Each returns FERRY_OK, FERRY_E_JSON (wrong shape or type), FERRY_E_HEX, FERRY_E_NOT_FOUND (null
 * where the answer may be null) or FERRY_E_NOMEM, and on failure leaves its outputs holding
 * nothing to free. */
#ifndef FERRY_RPC_INTERNAL_H
#define FERRY_RPC_INTERNAL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/rpc.h"

/* Fill *out from a JSON-RPC error object (hostile input: any field may be missing or of the
 * wrong type; code is 0 unless it is a number within int64_t).
 * Returns: FERRY_E_RPC (filled), FERRY_E_NOMEM (*out left zeroed). */
ferry_err rpc_parse_error(const cJSON *err, struct ferry_rpc_error *out);

ferry_err rpc_decode_hex(const cJSON *j, uint8_t **out, size_t *len); /* "0x…" */
ferry_err rpc_decode_hash32(const cJSON *j, uint8_t out[32]);         /* "0x" + 64 digits */
ferry_err rpc_decode_bytes_list(const cJSON *arr, struct ferry_bytes_list *l); /* ["0x…", …] */
/* chain_getBlock: header, extrinsics, justifications (engine and data as hex or byte arrays). */
ferry_err rpc_decode_block(const cJSON *r, struct ferry_block *b);
/* state_getReadProof: {at, proof}; at_out may be NULL (then "at" is not looked at). */
ferry_err rpc_decode_read_proof(const cJSON *r, struct ferry_bytes_list *proof, uint8_t at_out[32]);
ferry_err rpc_decode_runtime_version(const cJSON *r, struct ferry_runtime_version *v);
/* system_properties: an object; *ss58_format -1 unless ss58Format is an integer 0..16383. */
ferry_err rpc_decode_properties(const cJSON *r, int *ss58_format);
/* system_accountNextIndex: an integer 0..2^53-1. */
ferry_err rpc_decode_nonce(const cJSON *r, uint64_t *nonce);

#endif
