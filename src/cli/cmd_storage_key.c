/* `ferry storage-key`: build a storage key from pallet, item and hashed map keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/hex.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_storage_key;

static int run(int argc, char **argv)
{
    if (argc < 3)
        return cli_usage_error(&cli_cmd_storage_key,
                               "expected <Pallet> <Item> [<hasher>:<0xhex>]...");
    /* First pass: parse every hasher name, so a usage error wins over an input error. */
    for (int i = 3; i < argc; i++) {
        const char *colon = strchr(argv[i], ':');
        char name[32];
        enum ferry_hasher h;
        size_t n = colon ? (size_t)(colon - argv[i]) : 0;
        if (!colon || n == 0 || n >= sizeof name)
            return cli_usage_error(&cli_cmd_storage_key, "map key '%s' is not <hasher>:<0xhex>",
                                   argv[i]);
        memcpy(name, argv[i], n);
        name[n] = 0;
        if (ferry_hasher_parse(name, &h))
            return cli_usage_error(&cli_cmd_storage_key, "unknown hasher '%s'", name);
    }
    size_t cap = 32, len = 32;
    uint8_t *key = malloc(cap);
    if (!key) {
        cli_errorf("storage-key: out of memory");
        return CLI_NET;
    }
    ferry_storage_prefix(key, argv[1], argv[2]);
    for (int i = 3; i < argc; i++) {
        const char *colon = strchr(argv[i], ':');
        char name[32];
        size_t n = (size_t)(colon - argv[i]);
        memcpy(name, argv[i], n);
        name[n] = 0;
        enum ferry_hasher h;
        uint8_t *k;
        size_t klen;
        if (ferry_hasher_parse(name, &h) || cli_hex_arg(colon + 1, &k, &klen)) {
            cli_errorf("storage-key: map key %d ('%s') is not 0x-prefixed hex", i - 2, colon + 1);
            free(key);
            return CLI_INVALID;
        }
        size_t add = ferry_hasher_output_len(h, klen);
        if (len + add > cap) {
            uint8_t *nk = realloc(key, len + add);
            if (!nk) {
                free(k);
                free(key);
                cli_errorf("storage-key: out of memory");
                return CLI_NET;
            }
            key = nk;
            cap = len + add;
        }
        len += ferry_hasher_apply(h, k, klen, key + len);
        free(k);
    }
    char *hex = ferry_hex_alloc(key, len);
    free(key);
    if (!hex) {
        cli_errorf("storage-key: out of memory");
        return CLI_NET;
    }
    puts(hex);
    free(hex);
    return fflush(stdout) == 0 ? CLI_OK : CLI_NET;
}

const struct cli_command cli_cmd_storage_key = {
    "storage-key",
    "build a storage key: twox128(pallet) ++ twox128(item) ++ hashed map keys",
    run,
    "usage: ferry storage-key <Pallet> <Item> [<hasher>:<0xhex>]...\n"
    "\n"
    "Prints twox128(Pallet) ++ twox128(Item) followed by each map key passed through its\n"
    "hasher, as 0x-prefixed hex. Map keys are the SCALE-encoded key bytes in hex.\n"
    "\n"
    "hasher  blake2_128_concat, twox64_concat, identity, blake2_128, blake2_256, twox128,\n"
    "        twox256 (case and '_' are ignored: Blake2_128Concat works too)\n"
    "\n"
    "examples:\n"
    "  ferry storage-key Grandpa CurrentSetId\n"
    "  ferry storage-key Paras Heads twox64_concat:0xe8030000\n"
    "  ferry storage-key System Account blake2_128_concat:0x<32-byte account id>\n"
    "\n"
    "exit status: 0 success, 1 a map key that is not hex, 2 usage error (unknown hasher).\n",
    NULL,
};
