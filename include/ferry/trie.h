/* ferry — Substrate's base-16 Patricia-Merkle trie: node codec, read-proof lookups and trie
 * roots. (Parachain heads proven through Paras::Heads are para_head.h.)
 *
 * Node encoding (both state versions; DESIGN.md §3, light-client-facts.md §6): a header byte
 * whose high bits give the kind — `01` leaf, `10` branch without value, `11` branch with value,
 * `001` leaf with hashed value (V1), `0001` branch with hashed value (V1), `0x00` empty trie —
 * and whose low bits give the partial-key nibble count, continued by bytes that add up while
 * they are 255. Then the partial key (odd counts pad the first byte's high nibble with 0), for
 * branches a u16 LE children bitmap, the value (Compact length ‖ bytes, or a 32-byte blake2b-256
 * hash) and every present child as Compact length ‖ bytes (32 bytes: the child's hash; fewer:
 * the child node itself, inlined). Node hash = blake2b-256(encoding); the root is always
 * referenced by hash.
 *
 * A read proof (`state_getReadProof`) is an unordered set of entries: node encodings plus, for
 * V1 hashed values, the raw values themselves. Entries are indexed by their blake2b-256 hash and
 * a lookup walks from the state root; it has three outcomes that never blur: present (value),
 * proven absent, and incomplete (an entry it needs is not in the proof). Nodes of both versions
 * are accepted anywhere in one proof (V1 chains keep inline values written before migration).
 *
 * Extraneous entries: a lookup only follows hashes from the root, so an entry that nothing
 * references cannot change any answer. Like Substrate's `read_proof_check` (and unlike its
 * compact-proof decoder) the lookup functions therefore ignore unused entries; a proof for many
 * keys stays usable for a subset, and proofs from several calls can be merged.
 * ferry_trie_proof_check() reports unused entries for callers that want a proof to be minimal.
 *
 * Every decoder here treats its input as hostile: reads go through the SCALE cursor, nothing is
 * allocated from a length that was not checked against the input, and failures carry a reason.
 */
#ifndef FERRY_TRIE_H
#define FERRY_TRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/header.h"
#include "ferry/scale.h"

/* Root of the empty trie: blake2b-256(0x00). */
extern const uint8_t ferry_trie_empty_root[32];

/* ---- node codec ------------------------------------------------------------------------------ */

enum ferry_trie_node_kind {
    FERRY_TRIE_NODE_EMPTY = 0, /* 0x00: the root of an empty trie */
    FERRY_TRIE_NODE_LEAF,      /* partial key + value, no children */
    FERRY_TRIE_NODE_BRANCH,    /* partial key + 1..16 children + optional value */
};

/* Largest partial key a node header can express, in nibbles. */
#define FERRY_TRIE_MAX_PARTIAL_NIBBLES 65535u

/* A decoded node. Every pointer points into the buffer that was decoded; the node is valid as
 * long as that buffer is. */
struct ferry_trie_node {
    enum ferry_trie_node_kind kind;
    uint8_t header;           /* the first byte, for diagnostics */
    const uint8_t *partial;   /* (partial_nibbles + 1) / 2 bytes, high nibble first */
    size_t partial_nibbles;   /* nibble count; when odd, partial[0]'s high nibble is padding */
    bool has_value;           /* leaf: always; branch: `11` or `0001` headers */
    bool value_hashed;        /* value is blake2b-256 of the real value (V1 node) */
    const uint8_t *value;     /* inline value, or the 32-byte value hash */
    size_t value_len;         /* inline value length, or 32 when hashed */
    uint16_t children_bitmap; /* bit i set: child i present (branches only; never 0) */
    const uint8_t *child[16]; /* child reference: a 32-byte hash or an inline node */
    size_t child_len[16];     /* 32 = hash; 1..31 = inline node encoding; 0 = absent */
};

/* Decode one node that must span all of buf[len].
 * In:  buf, len - the node encoding (hostile input).
 * Out: *node - the decoded node (pointers into buf). On failure its contents are unspecified.
 *      diag, when non-NULL, receives the cursor so the caller can report where and why
 *      (ferry_scale_describe).
 * Returns: FERRY_OK; FERRY_E_TRUNCATED when the node ends early; FERRY_E_INVALID for a header
 *          byte no layout defines (e.g. 0x01, the compact-proof escape), a non-zero padding
 *          nibble, an empty children bitmap, a child reference longer than 32 bytes or a
 *          partial key longer than FERRY_TRIE_MAX_PARTIAL_NIBBLES; FERRY_E_TRAILING when bytes
 *          follow the node; a compact-length error (FERRY_E_NONCANONICAL, FERRY_E_OVERFLOW). */
FERRY_WARN_UNUSED ferry_err ferry_trie_node_decode(const uint8_t *buf, size_t len,
                                                   struct ferry_trie_node *node,
                                                   struct ferry_scale_reader *diag);

/* Returns: nibble i (0 <= i < node->partial_nibbles) of the node's partial key. */
uint8_t ferry_trie_node_partial_nibble(const struct ferry_trie_node *node, size_t i);

/* Returns: a static name for the node as the vectors spell it: "empty", "leaf",
 *          "leaf_hashed_value", "branch_no_value", "branch_with_value",
 *          "branch_hashed_value". */
const char *ferry_trie_node_type_name(const struct ferry_trie_node *node);

/* ---- proofs ---------------------------------------------------------------------------------- */

/* A set of proof entries indexed by blake2b-256. Opaque; immutable once built, so lookups on
 * one proof may run concurrently. */
struct ferry_trie_proof;

/* Build a proof from n entries (entries[i] of lens[i] bytes; copied). Duplicate entries are
 * kept once. n may be 0 (every lookup is then incomplete).
 * Out: *out (free with ferry_trie_proof_free); NULL on failure.
 * Returns: FERRY_OK, FERRY_E_ARG (NULL entry with a non-zero length) or FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_trie_proof_build(const uint8_t *const *entries,
                                                   const size_t *lens, size_t n,
                                                   struct ferry_trie_proof **out);

/* Build a proof from its SCALE form Vec<Vec<u8>>, which must span all of buf[len].
 * Out: *out (NULL on failure); diag as for ferry_trie_node_decode.
 * Returns: FERRY_OK, a decode error (FERRY_E_TRUNCATED, FERRY_E_TOO_LARGE, FERRY_E_TRAILING,
 *          ...) or FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_trie_proof_from_scale(const uint8_t *buf, size_t len,
                                                        struct ferry_trie_proof **out,
                                                        struct ferry_scale_reader *diag);

/* Build a proof from JSON text as `state_getReadProof` returns it: either an array of "0x…"
 * node strings or the result object {"at": …, "proof": [ … ]}.
 * Out: *out (NULL on failure); *why (when why is non-NULL) a static reason on failure.
 * Returns: FERRY_OK, FERRY_E_JSON (not that shape), FERRY_E_HEX (an entry is not hex) or
 *          FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_trie_proof_from_json(const char *json, size_t len,
                                                       struct ferry_trie_proof **out,
                                                       struct ferry_reason *why);

/* Release a proof; NULL is allowed. */
void ferry_trie_proof_free(struct ferry_trie_proof *proof);

/* Returns: the number of distinct entries in the proof. */
size_t ferry_trie_proof_count(const struct ferry_trie_proof *proof);

/* Find the entry whose blake2b-256 is hash.
 * Out: *data, *len - the entry (owned by the proof) when found.
 * Returns: true when found. */
bool ferry_trie_proof_get(const struct ferry_trie_proof *proof, const uint8_t hash[32],
                          const uint8_t **data, size_t *len);

/* Look key up in the trie with the given root, using only the proof's entries.
 * In:  proof, root (32 bytes), key[key_len] (key_len may be 0).
 * Out: on FERRY_OK, *value / *value_len give the value (owned by the proof: valid until it is
 *      freed); otherwise *value is NULL and *value_len 0. *why (when why is non-NULL) receives a
 *      static description of the outcome ("present", "key diverges from partial key", ...).
 * Returns: FERRY_OK            - present;
 *          FERRY_E_NOT_FOUND   - proven absent (the path ends or diverges inside the proof);
 *          FERRY_E_INCOMPLETE  - a node or hashed value on the path is not in the proof (this
 *                                includes a root that is not among the entries, and tampered
 *                                nodes, whose hash no longer matches their parent's reference);
 *          FERRY_E_INVALID     - a node on the path does not decode, or the empty node appears
 *                                below the root. */
FERRY_WARN_UNUSED ferry_err ferry_trie_proof_lookup(const struct ferry_trie_proof *proof,
                                                    const uint8_t root[32], const uint8_t *key,
                                                    size_t key_len, const uint8_t **value,
                                                    size_t *value_len, struct ferry_reason *why);

/* Walk every node reachable from root and decode it, marking the entries used (nodes and
 * hashed values). Missing entries are not an error here (a proof is a partial trie).
 * Out: *unused (when non-NULL) - the number of entries never reached from root (0 for a minimal
 *      proof); *why (when non-NULL) a static reason on failure.
 * Returns: FERRY_OK, FERRY_E_INVALID (a reachable node does not decode or the empty node is
 *          below the root), FERRY_E_INCOMPLETE (the root itself is not in the proof) or
 *          FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_trie_proof_check(const struct ferry_trie_proof *proof,
                                                   const uint8_t root[32], size_t *unused,
                                                   struct ferry_reason *why);

/* ---- trie roots ------------------------------------------------------------------------------ */

/* Trie layout: the runtime's `state_version` (RuntimeVersion) for the state root. V1 stores
 * values of 33 bytes or more as their blake2b-256 hash in the node; V0 inlines every value. */
enum ferry_trie_version {
    FERRY_TRIE_V0 = 0,
    FERRY_TRIE_V1 = 1,
};

/* One key/value pair (borrowed). */
struct ferry_trie_kv {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
};

/* Compute the root of the trie holding exactly the n pairs (in any order; not modified).
 * Out: root[32] (the empty-trie root for n = 0). Undefined on failure.
 * Returns: FERRY_OK; FERRY_E_ARG for a duplicate key; FERRY_E_UNSUPPORTED for a key longer
 *          than 32767 bytes (its partial key would not fit a node header); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_trie_root(const struct ferry_trie_kv *pairs, size_t n,
                                            enum ferry_trie_version version, uint8_t root[32]);

/* Compute the root as ferry_trie_root does and also build a proof of the whole trie: every node
 * referenced by hash, the root node and (V1) every hashed value. Every key of the trie is
 * provable from it, and every other key provably absent. Meant for tests, benchmarks and
 * serving small tries; a real node's read proof holds only the paths to the keys asked for.
 * Out: root[32]; *out (free with ferry_trie_proof_free), NULL on failure.
 * Returns: as ferry_trie_root. */
FERRY_WARN_UNUSED ferry_err ferry_trie_build_proof(const struct ferry_trie_kv *pairs, size_t n,
                                                   enum ferry_trie_version version,
                                                   uint8_t root[32], struct ferry_trie_proof **out);

/* Ordered root of a list, as a header's extrinsics root: keys are SCALE Compact(index), values
 * the items (for extrinsics: each extrinsic's encoding, its own length prefix included). Use
 * FERRY_TRIE_V0 for extrinsics roots (Substrate derives them with V0 unless the runtime's
 * system_version is 2 or more, RFC-0042; Rococo 9140 has no state_version at all).
 * Out: root[32]. Returns: FERRY_OK or FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_trie_ordered_root(const uint8_t *const *items, const size_t *lens,
                                                    size_t n, enum ferry_trie_version version,
                                                    uint8_t root[32]);

#endif
