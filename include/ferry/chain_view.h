/* ferry — a read-only view of a chain over RPC: the metadata of the runtime that was live at a
 * block, and the decoded System.Events of a block (used by `ferry decode events|storage` and by
 * the extrinsic client, tx.h, to read a submission's outcome).
 *
 * Nothing here verifies what the node says: this is a convenience view for tools, not the light
 * client (see lc.h for verified state).
 */
#ifndef FERRY_CHAIN_VIEW_H
#define FERRY_CHAIN_VIEW_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/metadata.h"
#include "ferry/rpc.h"

/* Fetch and parse state_getMetadata at block `at` (NULL = best), uncached.
 * Out: *md (free with ferry_metadata_free); why (optional) the reason on failure.
 * Returns: rpc errors; metadata parse errors. */
FERRY_WARN_UNUSED ferry_err ferry_chain_fetch_metadata(struct ferry_rpc *rpc, const uint8_t *at,
                                                       struct ferry_metadata **md,
                                                       struct ferry_reason *why);

/* Metadata fetched for some runtime version, kept to avoid fetching it again. */
struct ferry_md_cache {
    struct ferry_metadata *md; /* owned; NULL when empty */
    uint32_t spec_version;
};

void ferry_md_cache_clear(struct ferry_md_cache *cache);

/* The metadata valid in the state of block `at` (NULL = best): the cache when its spec version
 * matches state_getRuntimeVersion(at), else fetched at `at` into the cache.
 * Out: *md (a view into the cache). Returns: rpc and metadata errors. */
FERRY_WARN_UNUSED ferry_err ferry_chain_metadata_at(struct ferry_rpc *rpc, const uint8_t *at,
                                                    struct ferry_md_cache *cache,
                                                    const struct ferry_metadata **md,
                                                    struct ferry_reason *why);

/* Read and decode System.Events of block `block` with the metadata of the runtime that executed
 * it: the parent's (a block enacting an upgrade was built by the old code). Genesis (no parent)
 * uses its own.
 * Out: *events (JSON array as ferry_metadata_decode_events; [] when the storage is empty),
 *      *number (optional) the block number.
 * Returns: rpc, metadata and decode errors. */
FERRY_WARN_UNUSED ferry_err ferry_chain_block_events(struct ferry_rpc *rpc, const uint8_t block[32],
                                                     struct ferry_md_cache *cache, cJSON **events,
                                                     uint32_t *number, struct ferry_reason *why);

#endif
