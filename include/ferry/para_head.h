/* ferry — parachain heads: a parachain's head proven against a relay-chain state root through
 * Paras::Heads(para_id), and a run of para headers checked to extend a verified head.
 */
#ifndef FERRY_PARA_HEAD_H
#define FERRY_PARA_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/header.h"
#include "ferry/trie.h"

#define FERRY_PARAS_HEADS_KEY_LEN 44

/* Storage key of Paras::Heads(para_id): twox128("Paras") ‖ twox128("Heads") ‖ twox64(le32 id) ‖
 * le32 id, into out[44]. */
void ferry_paras_heads_key(uint32_t para_id, uint8_t out[FERRY_PARAS_HEADS_KEY_LEN]);

/* Prove a parachain's head against a relay-chain state root: look up Paras::Heads(para_id) in
 * the proof, decode the value as HeadData (Vec<u8>, consuming all of it) and the bytes inside
 * as a header.
 * Out: *head (free with ferry_header_free) on FERRY_OK, zeroed otherwise; *why (when non-NULL) a
 *      static reason on failure.
 * Returns: FERRY_OK; FERRY_E_NOT_FOUND (proven absent: no such para at that block);
 *          FERRY_E_INCOMPLETE; FERRY_E_INVALID (bad node on the path); a decode error when the
 *          proven value is not HeadData holding a header; FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_para_head_verify(const struct ferry_trie_proof *relay_proof,
                                                   const uint8_t relay_root[32], uint32_t para_id,
                                                   struct ferry_header *head,
                                                   struct ferry_reason *why);

/* Check that headers[0..n) extend a verified para head up to a target, by parent hash:
 * headers[0].parent_hash = from_hash with number from_number + 1, each next header's parent is
 * the previous header's hash with number + 1, and the last header's hash is target_hash
 * (with n = 0, from_hash must equal target_hash).
 * Out: *bad (when non-NULL) the index of the first header that breaks the chain (n when the
 *      last hash is not the target); *why a static reason.
 * Returns: FERRY_OK or FERRY_E_VERIFY. */
FERRY_WARN_UNUSED ferry_err ferry_para_chain_verify(const uint8_t from_hash[32],
                                                    uint32_t from_number,
                                                    const struct ferry_header *headers, size_t n,
                                                    const uint8_t target_hash[32], size_t *bad,
                                                    struct ferry_reason *why);

#endif
