/* ferry rpc — declarations shared by the files of the rpc module (client.c: requests,
 * subscriptions, events and the WebSocket transport; http.c: the libcurl transport). Not a
 * public header: nothing outside rpc/ includes it. */
#ifndef FERRY_RPC_INTERNAL_H
#define FERRY_RPC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/rpc.h"

/* Perform one HTTP POST of body[len] to the client's URLs (rotating to the next URL on a
 * connection failure) and return the response body.
 * Out: *resp (malloc'd, NUL-terminated) and *resp_len on FERRY_OK.
 * Returns: FERRY_OK (any HTTP status with a body; *http_status says which), FERRY_E_NET,
 *          FERRY_E_TIMEOUT, FERRY_E_TOO_LARGE (body over max bytes), FERRY_E_NOMEM. */
ferry_err rpc_http_post(struct ferry_rpc *c, const char *body, size_t len, uint32_t timeout_ms,
                        char **resp, size_t *resp_len, long *http_status);

/* Per-client HTTP state: created by ferry_rpc_open, destroyed by ferry_rpc_close. */
ferry_err rpc_http_init(struct ferry_rpc *c);
void rpc_http_cleanup(struct ferry_rpc *c);

/* Fill *out from a JSON-RPC error object (hostile input: any field may be missing or of the
 * wrong type; code is 0 unless it is a number within int64_t).
 * Returns: FERRY_E_RPC (filled), FERRY_E_NOMEM (*out left zeroed). */
ferry_err rpc_parse_error(const cJSON *err, struct ferry_rpc_error *out);

/* The conversions of substrate.c from a node's JSON answer to typed results (hostile input;
 * rpc/internal.h exposes them for tests/fuzz/fuzz_rpc_json.c). Each returns FERRY_OK,
 * FERRY_E_JSON (wrong shape or type), FERRY_E_HEX, FERRY_E_NOT_FOUND (null where the answer may
 * be null) or FERRY_E_NOMEM, and on failure leaves its outputs holding nothing to free. */
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

/* Accessors http.c needs from the client. */
const char *rpc_url(const struct ferry_rpc *c, size_t i);
size_t rpc_n_urls(const struct ferry_rpc *c);
size_t rpc_max_message(const struct ferry_rpc *c);
int rpc_insecure(const struct ferry_rpc *c);
uint32_t rpc_request_timeout(const struct ferry_rpc *c);
void **rpc_http_slot(struct ferry_rpc *c);
/* Record the last connection failure: _set_ with c's mutex held (service thread), _note_ from
 * any thread without it. */
void rpc_set_last_error(struct ferry_rpc *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rpc_note_error(struct ferry_rpc *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
