/* ferry — runtime metadata (V14, V15): the portable type registry, pallets and lookups by name.
 * (The registry-driven dynamic SCALE decoder/encoder that speaks JSON is dyncodec.h.)
 *
 * Input is what `state_getMetadata` returns: "meta" (0x6d657461) ‖ version byte ‖
 * RuntimeMetadata, or the same bytes wrapped as Option<Vec<u8>> (the answer of
 * `state_call Metadata_metadata_at_version(15)`), or as Vec<u8> (`Metadata_metadata`).
 * Versions 14 and 15 are supported; others are FERRY_E_UNSUPPORTED. The input is hostile:
 * every length goes through the SCALE cursor before anything is allocated, every type id that
 * the metadata refers to is checked once after parsing (so the decoder never indexes out of
 * range), and type nesting is bounded (FERRY_MD_MAX_DEPTH).
 *
 * A parsed ferry_metadata is immutable; the views it hands out (types, pallets, entries, names)
 * live as long as it does. Docs are skipped. Nothing keeps a pointer to the input buffer.
 */
#ifndef FERRY_METADATA_H
#define FERRY_METADATA_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/hash.h"

/* Maximum type nesting the parser, the dynamic codec and the namers follow (recursive types,
 * hostile registries). */
#define FERRY_MD_MAX_DEPTH 64

struct ferry_metadata;

/* ---- the type registry ----------------------------------------------------------------------- */

enum ferry_md_kind {
    FERRY_MD_COMPOSITE,
    FERRY_MD_VARIANT,
    FERRY_MD_SEQUENCE,
    FERRY_MD_ARRAY,
    FERRY_MD_TUPLE,
    FERRY_MD_PRIMITIVE,
    FERRY_MD_COMPACT,
    FERRY_MD_BITSEQ,
};

/* TypeDefPrimitive, in scale-info's index order. */
enum ferry_md_prim {
    FERRY_MD_BOOL,
    FERRY_MD_CHAR,
    FERRY_MD_STR,
    FERRY_MD_U8,
    FERRY_MD_U16,
    FERRY_MD_U32,
    FERRY_MD_U64,
    FERRY_MD_U128,
    FERRY_MD_U256,
    FERRY_MD_I8,
    FERRY_MD_I16,
    FERRY_MD_I32,
    FERRY_MD_I64,
    FERRY_MD_I128,
    FERRY_MD_I256,
};

struct ferry_md_field {
    const char *name;      /* NULL when unnamed */
    uint32_t type;         /* type id */
    const char *type_name; /* the Rust type as written (e.g. "T::AccountId"), or NULL */
};

struct ferry_md_variant {
    const char *name;
    uint8_t index; /* the SCALE index byte (variants may be sparse) */
    size_t n_fields;
    const struct ferry_md_field *fields;
};

struct ferry_md_type_param {
    const char *name;
    bool has_type;
    uint32_t type;
};

struct ferry_md_type {
    uint32_t id;
    size_t n_path; /* e.g. {"sp_core", "crypto", "AccountId32"} */
    const char *const *path;
    size_t n_params;
    const struct ferry_md_type_param *params;
    enum ferry_md_kind kind;
    /* FERRY_MD_COMPOSITE */
    size_t n_fields;
    const struct ferry_md_field *fields;
    /* FERRY_MD_VARIANT (sorted as in the metadata, not by index) */
    size_t n_variants;
    const struct ferry_md_variant *variants;
    /* FERRY_MD_SEQUENCE, FERRY_MD_ARRAY, FERRY_MD_COMPACT: the element type */
    uint32_t elem;
    uint32_t array_len; /* FERRY_MD_ARRAY */
    /* FERRY_MD_TUPLE */
    size_t n_tuple;
    const uint32_t *tuple;
    enum ferry_md_prim prim; /* FERRY_MD_PRIMITIVE */
    /* FERRY_MD_BITSEQ */
    uint32_t bit_store;
    uint32_t bit_order;
};

/* ---- pallets -----------------------------------------------------------------------------------
 */

enum ferry_md_modifier {
    FERRY_MD_OPTIONAL = 0, /* absent value → None */
    FERRY_MD_DEFAULT = 1,  /* absent value → default bytes */
};

struct ferry_md_storage {
    const char *name;
    enum ferry_md_modifier modifier;
    bool is_map;
    size_t n_hashers; /* maps only; one per key */
    const enum ferry_hasher *hashers;
    uint32_t key_type; /* maps only: the key (a tuple when n_hashers > 1) */
    uint32_t value_type;
    const uint8_t *default_value;
    size_t default_len;
};

struct ferry_md_constant {
    const char *name;
    uint32_t type;
    const uint8_t *value;
    size_t value_len;
};

struct ferry_md_pallet {
    const char *name;
    uint8_t index;
    bool has_storage;
    const char *storage_prefix;
    size_t n_storage;
    const struct ferry_md_storage *storage;
    bool has_calls;
    uint32_t calls_type; /* variant type: one variant per call */
    bool has_events;
    uint32_t events_type;
    bool has_errors;
    uint32_t errors_type;
    size_t n_constants;
    const struct ferry_md_constant *constants;
};

struct ferry_md_signed_ext {
    const char *identifier;
    uint32_t type;              /* the "extra" part, included in the extrinsic */
    uint32_t additional_signed; /* the "additional" part, only signed */
};

struct ferry_md_extrinsic {
    uint8_t version;
    /* V14: the extrinsic type; V15: has_types and the four type ids below */
    bool has_type;
    uint32_t type;
    bool has_types;
    uint32_t address_type, call_type, signature_type, extra_type;
    size_t n_signed_ext;
    const struct ferry_md_signed_ext *signed_ext;
};

/* A call as found by ferry_md_find_call. */
struct ferry_md_call {
    const struct ferry_md_pallet *pallet;
    uint8_t pallet_index;
    uint8_t call_index;
    const struct ferry_md_variant *variant; /* name and field list */
};

/* ---- parsing -----------------------------------------------------------------------------------
 */

/* Parse metadata bytes (see the top of this file for the accepted wrappings).
 * In:  buf[len] — the bytes; not referenced after the call.
 * Out: *out — a new metadata object (free with ferry_metadata_free), NULL on failure;
 *      why (optional) — on failure "reason at byte N" (N = offset in buf).
 * Returns: FERRY_OK; FERRY_E_INVALID (bad magic, bad structure, a type id that does not exist),
 *          FERRY_E_TRUNCATED / FERRY_E_TOO_LARGE / FERRY_E_UTF8 / FERRY_E_NONCANONICAL (from the
 *          cursor), FERRY_E_TRAILING, FERRY_E_UNSUPPORTED (a version other than 14 or 15),
 *          FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_metadata_parse(const uint8_t *buf, size_t len,
                                                 struct ferry_metadata **out,
                                                 struct ferry_reason *why);

/* Parse a "0x…" hex string (what state_getMetadata returns in JSON) the same way. */
FERRY_WARN_UNUSED ferry_err ferry_metadata_parse_hex(const char *hex, struct ferry_metadata **out,
                                                     struct ferry_reason *why);

/* Free md (NULL is fine). Every view obtained from it becomes invalid. */
void ferry_metadata_free(struct ferry_metadata *md);

/* Returns: the metadata version (14 or 15). */
unsigned ferry_metadata_version(const struct ferry_metadata *md);

/* ---- lookups (all return NULL / FERRY_E_NOT_FOUND when absent) ------------------------------- */

/* Returns: the number of types; ids are 0..n-1 (checked at parse time). */
size_t ferry_md_type_count(const struct ferry_metadata *md);
/* Returns: type `id`, or NULL when out of range. */
const struct ferry_md_type *ferry_md_type(const struct ferry_metadata *md, uint32_t id);
/* Returns: a lower bound of the encoded size of type id (0 for unknown ids, zero-sized types
 * and recursive types); used to check Vec lengths against the remaining input. */
size_t ferry_md_type_min_size(const struct ferry_metadata *md, uint32_t id);

size_t ferry_md_pallet_count(const struct ferry_metadata *md);
/* Returns: the i-th pallet in metadata order, or NULL. */
const struct ferry_md_pallet *ferry_md_pallet_at(const struct ferry_metadata *md, size_t i);
/* Returns: the pallet named name (exact match), or NULL. */
const struct ferry_md_pallet *ferry_md_pallet_by_name(const struct ferry_metadata *md,
                                                      const char *name);
/* Returns: the pallet whose index byte is index, or NULL. */
const struct ferry_md_pallet *ferry_md_pallet_by_index(const struct ferry_metadata *md,
                                                       uint8_t index);

/* Find a call by "Pallet.call" (e.g. "Balances.transfer_keep_alive").
 * Out: *call on success (undefined on failure).
 * Returns: FERRY_OK, FERRY_E_ARG (no '.'), FERRY_E_NOT_FOUND. */
FERRY_WARN_UNUSED ferry_err ferry_md_find_call(const struct ferry_metadata *md, const char *dotted,
                                               struct ferry_md_call *call);

/* Returns: the variant of the event (pallet index, event index), or NULL. *pallet (optional)
 * receives the pallet. */
const struct ferry_md_variant *ferry_md_find_event(const struct ferry_metadata *md,
                                                   uint8_t pallet_index, uint8_t event_index,
                                                   const struct ferry_md_pallet **pallet);

/* Returns: the variant of error (pallet index, error index), or NULL. */
const struct ferry_md_variant *ferry_md_find_error(const struct ferry_metadata *md,
                                                   uint8_t pallet_index, uint8_t error_index,
                                                   const struct ferry_md_pallet **pallet);

/* Returns: the storage entry pallet.item, or NULL. */
const struct ferry_md_storage *ferry_md_find_storage(const struct ferry_metadata *md,
                                                     const char *pallet, const char *item);

/* Returns: the constant pallet.name, or NULL. */
const struct ferry_md_constant *ferry_md_find_constant(const struct ferry_metadata *md,
                                                       const char *pallet, const char *name);

/* Returns: the extrinsic information (signed extensions in order). Never NULL. */
const struct ferry_md_extrinsic *ferry_md_extrinsic(const struct ferry_metadata *md);

/* Returns: the type id of the outer RuntimeEvent enum: V15's outer_enums, else the `event`
 * field type of System.Events' record. FERRY_E_NOT_FOUND when neither exists. */
FERRY_WARN_UNUSED ferry_err ferry_md_event_enum_type(const struct ferry_metadata *md,
                                                     uint32_t *out);

/* Resolve a DispatchError::Module error: index = pallet index, error = the 4 raw bytes (the
 * first is the error variant index; older runtimes had a single byte — pass {idx,0,0,0}).
 * Out: *pallet_name, *error_name (views into md). Docs are not kept (skipped at parse).
 * Returns: FERRY_OK or FERRY_E_NOT_FOUND. */
FERRY_WARN_UNUSED ferry_err ferry_md_module_error(const struct ferry_metadata *md, uint8_t index,
                                                  const uint8_t error[4], const char **pallet_name,
                                                  const char **error_name);

/* A short readable name for a type id into buf[cap] ("Vec<u8>", "AccountId32", "(u32, u64)",
 * "[u8; 32]", "Option<…>"), for messages and summaries. Returns: buf. */
char *ferry_md_type_name(const struct ferry_metadata *md, uint32_t type, char *buf, size_t cap);

#endif
