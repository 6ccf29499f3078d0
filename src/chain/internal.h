/* ferry — private to src/chain/: helpers shared by the chain module's files.
 *
 * ferry_trie_proof_lookup with a static reason instead of a struct ferry_reason, for the
 * chain files that look up several keys on a hot path and phrase their own failure. */
#ifndef FERRY_CHAIN_INTERNAL_H
#define FERRY_CHAIN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/trie.h"

/* As ferry_trie_proof_lookup; Out: *why (when non-NULL) a static reason on failure. */
FERRY_WARN_UNUSED ferry_err chain_trie_proof_lookup(const struct ferry_trie_proof *proof,
                                                    const uint8_t root[32], const uint8_t *key,
                                                    size_t key_len, const uint8_t **value,
                                                    size_t *value_len, const char **why);

#endif
