/* ferry — interpretation of known digest payloads: GRANDPA (`FRNK`) consensus logs, BABE
 * pre-runtime and consensus logs, Aura pre-runtime slots, and a JSON rendering for the CLI.
 *
 * Each decoder consumes the whole payload; anything it does not understand is reported as an
 * error for that item only, and callers keep the item as opaque bytes (a new digest kind must
 * never stop a light client).
 */
#ifndef FERRY_DIGEST_H
#define FERRY_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/header.h"

/* A GRANDPA voter: ed25519 public key and weight. */
struct ferry_authority {
    uint8_t id[32];
    uint64_t weight;
};

enum ferry_grandpa_log_kind {
    FERRY_GRANDPA_SCHEDULED_CHANGE = 1,
    FERRY_GRANDPA_FORCED_CHANGE = 2,
    FERRY_GRANDPA_ON_DISABLED = 3,
    FERRY_GRANDPA_PAUSE = 4,
    FERRY_GRANDPA_RESUME = 5,
};

struct ferry_grandpa_log {
    enum ferry_grandpa_log_kind kind;
    uint32_t delay;                      /* Scheduled/Forced change, Pause, Resume */
    uint32_t median;                     /* ForcedChange: median last finalized */
    uint64_t disabled_index;             /* OnDisabled */
    struct ferry_authority *authorities; /* Scheduled/Forced change: malloc'd list */
    size_t n_authorities;
};

/* Decode a FRNK consensus payload (the whole of data[len]).
 * Returns: FERRY_OK, a decode error (unknown variant: FERRY_E_INVALID) or FERRY_E_NOMEM.
 *          On failure *out holds nothing to free. */
FERRY_WARN_UNUSED ferry_err ferry_grandpa_log_decode(const uint8_t *data, size_t len,
                                                     struct ferry_grandpa_log *out);
void ferry_grandpa_log_free(struct ferry_grandpa_log *log);

enum ferry_babe_predigest_kind {
    FERRY_BABE_PRIMARY = 1,
    FERRY_BABE_SECONDARY_PLAIN = 2,
    FERRY_BABE_SECONDARY_VRF = 3,
};

struct ferry_babe_predigest {
    enum ferry_babe_predigest_kind kind;
    uint32_t authority_index;
    uint64_t slot;
    uint8_t vrf_output[32]; /* Primary and SecondaryVRF only */
    uint8_t vrf_proof[64];
};

FERRY_WARN_UNUSED ferry_err ferry_babe_predigest_decode(const uint8_t *data, size_t len,
                                                        struct ferry_babe_predigest *out);

/* Aura PreRuntime: the slot number (u64). */
FERRY_WARN_UNUSED ferry_err ferry_aura_slot_decode(const uint8_t *data, size_t len, uint64_t *slot);

/* Render the `decoded` JSON object for a digest item as `ferry decode header` prints it, using
 * the field names of the conformance vectors. Returns: a cJSON object (caller deletes) or NULL
 * when the item is not understood (unknown engine or payload). The return type is void* so this
 * header does not force cJSON on its includers; cast to cJSON*. */
void *ferry_digest_item_json(const struct ferry_digest_item *item);

/* Render the whole header as `ferry decode header` prints it (cJSON*, caller deletes), or NULL
 * when out of memory. */
void *ferry_header_json(const struct ferry_header *h);

#endif
