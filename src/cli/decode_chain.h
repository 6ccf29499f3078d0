/* `ferry decode events` and `ferry decode storage`: chain data read over RPC and decoded with the
 * metadata of the right runtime. Dispatched from cmd_decode.c; the connection helper is shared
 * with `ferry tx`. */
#ifndef FERRY_CLI_DECODE_CHAIN_H
#define FERRY_CLI_DECODE_CHAIN_H

#include <stdint.h>

#include "ferry/jsonrpc.h"

/* argv[0] is "events" / "storage". Returns: a CLI exit status. */
int cli_decode_events(int argc, char **argv);
int cli_decode_storage(int argc, char **argv);

/* Open a WebSocket/HTTP client for url and wait (timeout_s) until it is connected.
 * Returns: CLI_OK with *out set; CLI_USAGE (bad URL, message printed); CLI_NET (cannot connect,
 *          message printed naming the URL and the cause). */
int cli_chain_connect(const char *cmd, const char *url, uint32_t timeout_s, struct ferry_rpc **out);

/* Parse a JSON argument; text that is not JSON is taken as a string (so 0x… hex and SS58
 * addresses need no quotes). Returns: a new cJSON, or NULL when out of memory. */
struct cJSON *cli_json_arg(const char *text);

#endif
