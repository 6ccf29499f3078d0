/* `ferry key`: create a key file, or show the public side of a key (never the secret). */
#include <stdio.h>
#include <string.h>

#include "ferry/hex.h"
#include "ferry/keys.h"
#include "ferry/ss58.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_key;

/* Parse --scheme's argument. Returns: 0, or the usage error's exit status. */
static int parse_scheme(const char *arg, enum ferry_scheme *scheme)
{
    if (!arg)
        return cli_usage_error(&cli_cmd_key, "--scheme takes sr25519, ed25519 or ecdsa");
    if (ferry_scheme_parse(arg, scheme))
        return cli_usage_error(&cli_cmd_key, "unknown scheme '%s' (sr25519, ed25519 or ecdsa)",
                               arg);
    return 0;
}

/* Print {"scheme","public_key","account_id","ss58"} for kp, then clear kp. */
static int print_public(struct ferry_keypair *kp, uint16_t prefix)
{
    uint8_t account[32];
    char addr[FERRY_SS58_MAX_LEN], pub_hex[2 * FERRY_PUBLIC_MAX + 3], acct_hex[2 * 32 + 3];
    enum ferry_scheme scheme = kp->scheme;
    ferry_keypair_account_id(kp, account);
    ferry_err err = ferry_ss58_encode(account, 32, prefix, addr, sizeof addr);
    ferry_hex_encode(kp->public_key, kp->public_len, pub_hex);
    ferry_keypair_clear(kp);
    if (err) {
        cli_errorf("key: cannot encode address: %s", ferry_strerror(err));
        return CLI_INVALID;
    }
    cJSON *json = cJSON_CreateObject();
    if (json) {
        cJSON_AddStringToObject(json, "scheme", ferry_scheme_name(scheme));
        cJSON_AddStringToObject(json, "public_key", pub_hex);
        cJSON_AddStringToObject(json, "account_id", ferry_hex_encode(account, 32, acct_hex));
        cJSON_AddStringToObject(json, "ss58", addr);
    }
    return cli_print_json(json);
}

static int key_generate(int argc, char **argv)
{
    const char *out = NULL;
    enum ferry_scheme scheme = FERRY_SCHEME_DEFAULT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc && !out) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--scheme") == 0) {
            int rc = parse_scheme(i + 1 < argc ? argv[i + 1] : NULL, &scheme);
            if (rc)
                return rc;
            i++;
        } else {
            return cli_usage_error(&cli_cmd_key, "generate takes only --out FILE [--scheme S]");
        }
    }
    if (!out)
        return cli_usage_error(&cli_cmd_key, "generate needs --out FILE");
    struct ferry_reason why = {""};
    if (ferry_keyfile_generate(out, &why)) {
        cli_errorf("key generate: %s: %s", out, why.text[0] ? why.text : "cannot write key file");
        return CLI_NET;
    }
    fprintf(stderr, "ferry: wrote a new secret seed to %s (mode 0600); its %s public key:\n", out,
            ferry_scheme_name(scheme));
    struct ferry_keypair kp;
    ferry_err err = ferry_keyfile_load(out, scheme, &kp, &why);
    if (err) {
        cli_errorf("key generate: %s: %s", out, why.text[0] ? why.text : ferry_strerror(err));
        return CLI_INVALID;
    }
    return print_public(&kp, 42);
}

/* Returns: 1 when arg names a key directly on the command line rather than a file. */
static int looks_like_uri(const char *arg)
{
    return strncmp(arg, "//", 2) == 0 ||
           strncmp(arg, FERRY_DEV_PHRASE, strlen(FERRY_DEV_PHRASE)) == 0;
}

static int key_inspect(int argc, char **argv)
{
    const char *src = NULL;
    uint64_t prefix = 42;
    enum ferry_scheme scheme = FERRY_SCHEME_DEFAULT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--prefix") == 0) {
            if (i + 1 >= argc || !cli_parse_u64(argv[i + 1], FERRY_SS58_MAX_PREFIX, &prefix))
                return cli_usage_error(&cli_cmd_key, "--prefix takes a number 0..16383");
            i++;
        } else if (strcmp(argv[i], "--scheme") == 0) {
            int rc = parse_scheme(i + 1 < argc ? argv[i + 1] : NULL, &scheme);
            if (rc)
                return rc;
            i++;
        } else if (!src) {
            src = argv[i];
        } else {
            return cli_usage_error(&cli_cmd_key, "unexpected argument '%s'", argv[i]);
        }
    }
    if (!src)
        return cli_usage_error(&cli_cmd_key, "inspect needs a key FILE or a //Name dev key");
    if (ferry_ss58_prefix_is_reserved((uint32_t)prefix)) {
        cli_errorf("key inspect: prefix %u is reserved in the SS58 registry", (unsigned)prefix);
        return CLI_INVALID;
    }
    struct ferry_keypair kp;
    struct ferry_reason why = {""};
    ferry_err err;
    if (looks_like_uri(src)) {
        if (!ferry_secret_uri_is_public(src))
            return cli_usage_error(&cli_cmd_key,
                                   "only public dev keys (//Name on the dev phrase, no password) "
                                   "may be given on the command line; put a secret in a file");
        err = ferry_keypair_from_uri(&kp, scheme, src, &why);
    } else {
        err = ferry_keyfile_load(src, scheme, &kp, &why);
    }
    if (err) {
        /* why never quotes the secret; the path is not secret. */
        cli_errorf("key inspect: %s: %s", looks_like_uri(src) ? "dev key" : src,
                   why.text[0] ? why.text : ferry_strerror(err));
        return err == FERRY_E_IO ? CLI_NET : CLI_INVALID;
    }
    return print_public(&kp, (uint16_t)prefix);
}

static int run(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(&cli_cmd_key, "missing generate or inspect");
    if (strcmp(argv[1], "generate") == 0)
        return key_generate(argc - 1, argv + 1);
    if (strcmp(argv[1], "inspect") == 0)
        return key_inspect(argc - 1, argv + 1);
    return cli_usage_error(&cli_cmd_key, "unknown subcommand '%s'", argv[1]);
}

const struct cli_command cli_cmd_key = {
    "key",
    "generate a key file or inspect a key's public key and address",
    run,
    "usage: ferry key generate --out FILE [--scheme sr25519|ed25519|ecdsa]\n"
    "       ferry key inspect <FILE | //Name> [--scheme sr25519|ed25519|ecdsa] [--prefix N]\n"
    "\n"
    "generate  writes a new random 32-byte secret seed as 0x-hex to FILE with mode 0600 (a\n"
    "          seed valid for every scheme) and prints its public side for --scheme, as\n"
    "          inspect does. An existing FILE is never overwritten.\n"
    "inspect   prints {\"scheme\",\"public_key\",\"account_id\",\"ss58\"} for the key; never the\n"
    "          secret. FILE holds a secret URI as Substrate tools read it:\n"
    "            0x<64 hex digits> | <BIP39 phrase>, then optional //hard and (sr25519 only)\n"
    "            /soft junctions and ///password (e.g. '//Alice', '<phrase>//relay//0',\n"
    "            '0x…//1/2').\n"
    "          A FILE that group or others can access is refused unless it holds only a\n"
    "          public dev key. On the command line only public dev keys are accepted:\n"
    "          //Name (derived from the well-known dev phrase), e.g. //Alice; so an\n"
    "          argument starting with // is a key name, never a path (write /x or ./x).\n"
    "          --scheme   sr25519 (default, as subkey and polkadot-js: account id = the\n"
    "                     public key), ed25519 (account id = the public key) or ecdsa\n"
    "                     (account id = blake2b-256 of the 33-byte compressed key).\n"
    "          --prefix   SS58 network prefix for the address, 0..16383 (default 42).\n"
    "\n"
    "exit status: 0 success; 1 invalid key, URI or permissions (reason on stderr);\n"
    "             2 usage error; 3 I/O error (missing file, cannot write, file exists).\n",
    NULL,
};
