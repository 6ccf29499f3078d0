/* ferry — the dynamic SCALE codec: any type of a runtime's metadata registry (metadata.h) decoded
 * from bytes to JSON (cJSON) and encoded back, calls encoded by "Pallet.call", and System.Events
 * decoded into event records.
 *
 * JSON shapes of the dynamic decoder (close to @polkadot/types toJSON()/toHuman()):
 *   bool, str, char       JSON true/false, string, one-character string (a str holding NUL
 *                         bytes is cut at the first NUL: cJSON strings are C strings; such a
 *                         value, e.g. Polkadot's NUL-padded Referenda track names, does not
 *                         re-encode byte-exactly)
 *   u8…u256, i8…i256      JSON number when |v| < 10^15, else a decimal string ("-" for
 *                         negatives); Compact<T> decodes as T. (polkadot-js switches at 2^53;
 *                         cJSON prints doubles with 15 significant digits, so ferry stops at
 *                         10^15 to print every number exactly.)
 *   Vec<u8>, [u8; N]      "0x…" hex string (so AccountId32, H256 print as hex)
 *   other Vec, [T; N]     JSON array
 *   tuple                 array; the empty tuple () is null
 *   composite             named fields → object {"field": …}; one unnamed field → that field's
 *                         value (newtypes vanish); several unnamed → array; no fields → null
 *   variant               field-less variant → "Name"; otherwise {"Name": value} where value
 *                         follows the composite rule over the variant's fields
 *   Option<T>             None → null, Some(x) → x (so Option<Option<T>> cannot tell Some(None)
 *                         from None; the encoder maps null to None)
 *   Result<T, E>          {"Ok": …} / {"Err": …} (the variant rule)
 *   BitVec<u8, Lsb0|Msb0> "0b0101…" with bit i of the sequence at position i
 * The encoder accepts the same shapes, plus: integers as JSON numbers (up to 2^53) or decimal
 * strings (a leading '-' for signed types), a field-less variant as "Name" or {"Name": null},
 * named fields also as an array in field order, Vec<u8> also as an array of numbers, a
 * [u8; 32] (AccountId32) also as an SS58 address, and bit sequences also as arrays of booleans.
 */
#ifndef FERRY_DYNCODEC_H
#define FERRY_DYNCODEC_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/metadata.h"

/* Decode one value of type `type` from buf[len], which it must consume entirely.
 * Out: *out — a new cJSON value (caller deletes), NULL on failure; why (optional) "reason at byte
 * N". Returns: FERRY_OK, a cursor error (FERRY_E_TRUNCATED, FERRY_E_INVALID for a bad variant index
 *          or bool, FERRY_E_UTF8, FERRY_E_TOO_LARGE, FERRY_E_TRAILING), FERRY_E_ARG (unknown
 *          type id), FERRY_E_TOO_LARGE (nesting beyond FERRY_MD_MAX_DEPTH), FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_md_decode(const struct ferry_metadata *md, uint32_t type,
                                            const uint8_t *buf, size_t len, cJSON **out,
                                            struct ferry_reason *why);

/* Like ferry_md_decode but reads from a cursor and leaves the rest of the input unread.
 * Errors are recorded in the cursor (sticky) and returned. */
struct ferry_scale_reader;
FERRY_WARN_UNUSED ferry_err ferry_md_decode_from(const struct ferry_metadata *md, uint32_t type,
                                                 struct ferry_scale_reader *r, cJSON **out);

/* Encode a JSON value (the shapes above) as type `type`, appending to w.
 * Out: why (optional) — "<reason> at <json path>" on failure (e.g. "expected hex at .dest.Id").
 * Returns: FERRY_OK, FERRY_E_JSON (shape mismatch), FERRY_E_OVERFLOW (number out of range),
 *          FERRY_E_HEX, FERRY_E_NOT_FOUND (unknown variant name), FERRY_E_ARG (unknown type),
 *          FERRY_E_TOO_LARGE (nesting), FERRY_E_NOMEM. On failure w may hold partial output. */
struct ferry_scale_writer;
FERRY_WARN_UNUSED ferry_err ferry_md_encode(const struct ferry_metadata *md, uint32_t type,
                                            const cJSON *value, struct ferry_scale_writer *w,
                                            struct ferry_reason *why);

/* Encode a call: pallet index ‖ call index ‖ each argument encoded from args, a JSON object
 * keyed by field name (or an array in field order for unnamed fields).
 * Returns: as ferry_md_encode, plus FERRY_E_NOT_FOUND for an unknown "Pallet.call". */
FERRY_WARN_UNUSED ferry_err ferry_md_encode_call(const struct ferry_metadata *md,
                                                 const char *dotted, const cJSON *args,
                                                 struct ferry_scale_writer *w,
                                                 struct ferry_reason *why);

/* Decode the System.Events storage value (Vec<EventRecord>) into a JSON array of
 *   {"phase": <Phase>, "pallet": "Balances", "event": "Transfer",
 *    "fields": {…named…} | […unnamed…] | {} (no fields), "topics": ["0x…", …]}
 * The record type is taken from the System pallet's Events storage entry.
 * Returns: FERRY_OK, FERRY_E_NOT_FOUND (no System.Events), or a decode error as ferry_md_decode
 *          (an event whose pallet/variant index is unknown is FERRY_E_INVALID). */
FERRY_WARN_UNUSED ferry_err ferry_metadata_decode_events(const struct ferry_metadata *md,
                                                         const uint8_t *buf, size_t len,
                                                         cJSON **out, struct ferry_reason *why);

#endif
