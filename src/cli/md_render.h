/* ferry CLI — JSON summaries of runtime metadata printed by `ferry metadata`.
 *
 * cli_md_summary_json: {"version", "types", "extrinsic_version", "signed_extensions": [...],
 *   "pallets": [{"name", "index", "calls", "events", "errors", "storage", "constants"}]}
 * cli_md_calls_json(pallet): [{"name", "index", "fields": [{"name", "type", "type_name"}]}]
 * cli_md_storage_json(pallet): [{"name", "modifier", "kind", "hashers", "key", "value"}]
 * Returns: a new cJSON (NULL on allocation failure). */
#ifndef FERRY_CLI_MD_RENDER_H
#define FERRY_CLI_MD_RENDER_H

#include <cjson/cJSON.h>

#include "ferry/metadata.h"

cJSON *cli_md_summary_json(const struct ferry_metadata *md);
cJSON *cli_md_calls_json(const struct ferry_metadata *md, const struct ferry_md_pallet *p);
cJSON *cli_md_storage_json(const struct ferry_metadata *md, const struct ferry_md_pallet *p);

#endif
