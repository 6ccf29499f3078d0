/* `ferry hash`: the hash functions Substrate uses, for hex bytes or UTF-8 text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/hex.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_hash;

static const struct {
    const char *name;
    size_t outlen;
    int twox; /* 0: blake2b, 1: twox (xxh64 with seeds 0..outlen/8-1) */
} algos[] = {
    {"blake2-128", 16, 0}, {"blake2-256", 32, 0}, {"blake2-512", 64, 0},
    {"twox64", 8, 1},      {"twox128", 16, 1},    {"twox256", 32, 1},
};

static int run(int argc, char **argv)
{
    if (argc != 3)
        return cli_usage_error(&cli_cmd_hash, "expected <algorithm> <input>");
    size_t a = 0;
    const size_t n_algos = sizeof algos / sizeof algos[0];
    while (a < n_algos && strcmp(argv[1], algos[a].name) != 0)
        a++;
    if (a == n_algos)
        return cli_usage_error(&cli_cmd_hash, "unknown algorithm '%s'", argv[1]);
    const char *in = argv[2];
    uint8_t *bytes = NULL;
    size_t len = strlen(in);
    if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
        if (ferry_hex_decode(in, len, &bytes, &len)) {
            cli_errorf("hash: input starts with 0x but is not valid hex (odd length or a "
                       "non-hex digit); pass text without the 0x prefix");
            return CLI_INVALID;
        }
    }
    uint8_t out[64];
    const void *data = bytes ? (const void *)bytes : (const void *)in;
    if (!algos[a].twox)
        ferry_blake2b(out, algos[a].outlen, data, len);
    else if (algos[a].outlen == 8)
        ferry_twox64(out, data, len);
    else if (algos[a].outlen == 16)
        ferry_twox128(out, data, len);
    else
        ferry_twox256(out, data, len);
    free(bytes);
    char hex[2 * 64 + 3];
    puts(ferry_hex_encode(out, algos[a].outlen, hex));
    return fflush(stdout) == 0 ? CLI_OK : CLI_NET;
}

const struct cli_command cli_cmd_hash = {
    "hash",
    "hash bytes or text with blake2b or twox (xxHash64)",
    run,
    "usage: ferry hash <algorithm> <input>\n"
    "\n"
    "algorithm  blake2-128, blake2-256, blake2-512 (BLAKE2b, unkeyed) or\n"
    "           twox64, twox128, twox256 (xxHash64 with seeds 0,1,.. each written\n"
    "           little-endian, as Substrate's storage hashers do)\n"
    "input      0x-prefixed hex is hashed as bytes (0x alone is the empty input);\n"
    "           anything else is hashed as its UTF-8 text\n"
    "\n"
    "Prints the digest as 0x-prefixed hex, e.g. `ferry hash twox128 System` prints\n"
    "0x26aa394eea5630e07c48ae0c9558cef7.\n"
    "\n"
    "exit status: 0 success, 1 invalid hex input, 2 usage error (unknown algorithm).\n",
    NULL,
};
