/* `ferry ss58`: encode an account id as an SS58 address, or decode and verify an address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "ferry/ss58.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_ss58;

static int ss58_encode(int argc, char **argv)
{
    uint64_t prefix = 42;
    const char *input = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--prefix") == 0) {
            if (i + 1 >= argc || !cli_parse_u64(argv[i + 1], FERRY_SS58_MAX_PREFIX, &prefix))
                return cli_usage_error(&cli_cmd_ss58, "--prefix takes a number 0..16383");
            i++;
        } else if (!input) {
            input = argv[i];
        } else {
            return cli_usage_error(&cli_cmd_ss58, "unexpected argument '%s'", argv[i]);
        }
    }
    if (!input)
        return cli_usage_error(&cli_cmd_ss58, "encode needs a 0x-prefixed 32-byte account id");
    uint8_t *bytes;
    size_t len;
    if (cli_hex_arg(input, &bytes, &len)) {
        cli_errorf("ss58 encode: '%s' is not 0x-prefixed hex", input);
        return CLI_INVALID;
    }
    if (len != 32 && len != 33) {
        free(bytes);
        cli_errorf("ss58 encode: %zu bytes given; expected a 32-byte account id (or a 33-byte "
                   "ECDSA public key)",
                   len);
        return CLI_INVALID;
    }
    if (ferry_ss58_prefix_is_reserved((uint32_t)prefix)) {
        free(bytes);
        cli_errorf("ss58 encode: prefix %u is reserved in the SS58 registry", (unsigned)prefix);
        return CLI_INVALID;
    }
    char addr[FERRY_SS58_MAX_LEN];
    ferry_err err = ferry_ss58_encode(bytes, len, (uint16_t)prefix, addr, sizeof addr);
    free(bytes);
    if (err) {
        cli_errorf("ss58 encode: %s", ferry_strerror(err));
        return CLI_INVALID;
    }
    puts(addr);
    return fflush(stdout) == 0 ? CLI_OK : CLI_NET;
}

static int ss58_decode(int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error(&cli_cmd_ss58, "decode takes exactly one address");
    struct ferry_ss58 d;
    struct ferry_reason why = {""};
    if (ferry_ss58_decode(argv[1], &d, &why)) {
        cli_errorf("ss58 decode: %s", why.text);
        return CLI_INVALID;
    }
    char hex[2 * FERRY_SS58_MAX_PAYLOAD + 3];
    cJSON *json = cJSON_CreateObject();
    if (json) {
        cJSON_AddNumberToObject(json, "prefix", d.prefix);
        cJSON_AddStringToObject(json, d.len == 32 ? "account_id" : "public_key",
                                ferry_hex_encode(d.payload, d.len, hex));
    }
    return cli_print_json(json);
}

static int run(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(&cli_cmd_ss58, "missing encode or decode");
    if (strcmp(argv[1], "encode") == 0)
        return ss58_encode(argc - 1, argv + 1);
    if (strcmp(argv[1], "decode") == 0)
        return ss58_decode(argc - 1, argv + 1);
    return cli_usage_error(&cli_cmd_ss58, "unknown subcommand '%s'", argv[1]);
}

const struct cli_command cli_cmd_ss58 = {
    "ss58",
    "encode or decode SS58 account addresses",
    run,
    "usage: ferry ss58 encode [--prefix N] <0x account id>\n"
    "       ferry ss58 decode <address>\n"
    "\n"
    "encode  prints the SS58 address of a 32-byte account id (a 33-byte compressed ECDSA\n"
    "        public key is accepted too) for network prefix N (0..16383, default 42 =\n"
    "        generic Substrate; 0 Polkadot, 2 Kusama). Prefixes 46 and 47 are reserved.\n"
    "decode  verifies the address (alphabet, length, blake2b checksum, prefix) and prints\n"
    "        {\"prefix\":N,\"account_id\":\"0x…\"} (\"public_key\" for a 33-byte payload).\n"
    "\n"
    "exit status: 0 success; 1 invalid address or input (reason on stderr); 2 usage error.\n",
    NULL,
};
