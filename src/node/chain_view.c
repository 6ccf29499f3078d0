/* The read-only chain view: metadata of the runtime that was live at a block, and the decoded
 * System.Events of a block. See include/ferry/chain_view.h. Used by `ferry decode` and by the
 * extrinsic client (tx.c) to read a submission's outcome. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/chain_view.h"
#include "ferry/hash.h"
#include "ferry/dyncodec.h"
#include "ferry/dyncodec.h"

void ferry_md_cache_clear(struct ferry_md_cache *cache)
{
    ferry_metadata_free(cache->md);
    cache->md = NULL;
    cache->spec_version = 0;
}

/* ---- metadata and versions --------------------------------------------------------------------
 */

ferry_err ferry_chain_fetch_metadata(struct ferry_rpc *rpc, const uint8_t *at,
                                     struct ferry_metadata **md, struct ferry_reason *why)
{
    struct ferry_rpc_error e = {0};
    uint8_t *raw = NULL;
    size_t len = 0;
    ferry_err err = ferry_rpc_get_metadata(rpc, at, &raw, &len, &e);
    if (err) {
        ferry_reason_rpc(why, err, "state_getMetadata", &e);
        ferry_rpc_error_clear(&e);
        return err;
    }
    err = ferry_metadata_parse(raw, len, md, why);
    free(raw);
    if (err)
        ferry_reason_prefix(why, err, "the node's metadata does not parse: ");
    return err;
}

ferry_err ferry_chain_metadata_at(struct ferry_rpc *rpc, const uint8_t *at,
                                  struct ferry_md_cache *cache, const struct ferry_metadata **md,
                                  struct ferry_reason *why)
{
    struct ferry_rpc_error e = {0};
    struct ferry_runtime_version v;
    ferry_err err = ferry_rpc_get_runtime_version(rpc, at, &v, &e);
    if (err) {
        ferry_reason_rpc(why, err, "state_getRuntimeVersion", &e);
        ferry_rpc_error_clear(&e);
        return err;
    }
    if (!cache->md || cache->spec_version != v.spec_version) {
        struct ferry_metadata *fresh = NULL;
        err = ferry_chain_fetch_metadata(rpc, at, &fresh, why);
        if (err)
            return err;
        ferry_md_cache_clear(cache);
        cache->md = fresh;
        cache->spec_version = v.spec_version;
    }
    *md = cache->md;
    return FERRY_OK;
}

ferry_err ferry_chain_block_events(struct ferry_rpc *rpc, const uint8_t block[32],
                                   struct ferry_md_cache *cache, cJSON **events, uint32_t *number,
                                   struct ferry_reason *why)
{
    *events = NULL;
    struct ferry_rpc_error e = {0};
    struct ferry_header h;
    ferry_err err = ferry_rpc_get_header(rpc, block, &h, &e);
    if (err) {
        ferry_reason_rpc(why, err, "chain_getHeader", &e);
        ferry_rpc_error_clear(&e);
        return err;
    }
    if (number)
        *number = h.number;
    uint8_t parent[32];
    memcpy(parent, h.parent_hash, 32);
    bool genesis = h.number == 0;
    ferry_header_free(&h);

    /* The block was executed by the code in its parent's state. */
    const struct ferry_metadata *md;
    err = ferry_chain_metadata_at(rpc, genesis ? block : parent, cache, &md, why);
    if (err)
        return err;
    uint8_t key[32];
    ferry_storage_prefix(key, "System", "Events");
    uint8_t *value = NULL;
    size_t len = 0;
    err = ferry_rpc_get_storage(rpc, key, sizeof key, block, &value, &len, &e);
    if (err == FERRY_E_NOT_FOUND) {
        *events = cJSON_CreateArray();
        return *events ? FERRY_OK : FERRY_E_NOMEM;
    }
    if (err) {
        ferry_reason_rpc(why, err, "state_getStorage(System.Events)", &e);
        ferry_rpc_error_clear(&e);
        return err;
    }
    err = ferry_metadata_decode_events(md, value, len, events, why);
    free(value);
    if (err)
        ferry_reason_prefix(why, err, "System.Events does not decode with spec %u's metadata: ",
                            cache->spec_version);
    return err;
}
