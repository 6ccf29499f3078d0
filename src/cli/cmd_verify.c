/* `ferry verify`: check proofs locally. The dispatcher for the verify subcommands: `proof` and
 * `para-head` live here; `justification` lives in verify_justification.c (see verify.h).
 *
 * A proof is read from a file (or - for stdin) holding what `state_getReadProof` returns: a
 * JSON array of hex nodes, the result object {"at": …, "proof": [ … ]}, or the SCALE
 * Vec<Vec<u8>> form as one 0x… string.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/digest.h"
#include "ferry/hex.h"
#include "ferry/trie.h"
#include "ferry/para_head.h"
#include "src/cli/cli.h"
#include "src/cli/verify.h"

extern const struct cli_command cli_cmd_verify;

/* Read and parse the proof file. Returns a CLI status; *out is set on CLI_OK. */
static int load_proof(const char *path, struct ferry_trie_proof **out)
{
    char *text;
    size_t len;
    ferry_err err =
        strcmp(path, "-") == 0 ? cli_read_arg("-", &text, &len) : cli_read_file(path, &text, &len);
    if (err) {
        cli_errorf("verify: cannot read proof file %s: %s", path, ferry_strerror(err));
        return err == FERRY_E_NOMEM ? CLI_INVALID : CLI_NET;
    }
    const char *s = text;
    while (isspace((unsigned char)*s))
        s++;
    struct ferry_reason why = {""};
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        uint8_t *bytes;
        size_t blen;
        err = cli_hex_arg(s, &bytes, &blen);
        if (err) {
            ferry_reason_set(&why, err, "proof is not valid hex");
        } else {
            struct ferry_scale_reader r;
            err = ferry_trie_proof_from_scale(bytes, blen, out, &r);
            if (err)
                ferry_reason_from_scale(&why, &r, NULL);
            free(bytes);
            if (err) {
                cli_errorf("verify: proof %s is not a SCALE Vec<Vec<u8>>: %s", path, why.text);
                free(text);
                return CLI_INVALID;
            }
        }
    } else {
        err = ferry_trie_proof_from_json(s, len - (size_t)(s - text), out, &why);
    }
    free(text);
    if (err) {
        cli_errorf("verify: proof %s: %s", path, why.text[0] ? why.text : ferry_strerror(err));
        return CLI_INVALID;
    }
    return CLI_OK;
}

/* Decode every node reachable from root: a node that does not decode makes the proof invalid.
 * Entries nothing references are ignored, or rejected with strict. Returns a CLI status. */
static int check_proof(const struct ferry_trie_proof *p, const uint8_t root[32], int strict)
{
    size_t unused = 0;
    struct ferry_reason why = {""};
    ferry_err err = ferry_trie_proof_check(p, root, &unused, &why);
    if (err == FERRY_E_INCOMPLETE)
        return CLI_OK; /* the root is not in the proof: every lookup says "incomplete" */
    if (err) {
        cli_errorf("verify: invalid proof: %s", why.text[0] ? why.text : ferry_strerror(err));
        return CLI_INVALID;
    }
    if (unused && strict) {
        cli_errorf("verify: invalid proof: %zu of %zu entries are not reachable from the root "
                   "(--strict)",
                   unused, ferry_trie_proof_count(p));
        return CLI_INVALID;
    }
    if (unused)
        fprintf(stderr,
                "ferry: note: %zu proof entries are not reachable from the root and were "
                "ignored (--strict rejects such proofs)\n",
                unused);
    return CLI_OK;
}

static int parse_root(const char *opt, const char *arg, uint8_t root[32])
{
    if (!arg || ferry_hex_decode_exact(arg, root, 32))
        return cli_usage_error(&cli_cmd_verify, "%s needs a 32-byte 0x… hash", opt);
    return CLI_OK;
}

static int verify_proof(int argc, char **argv)
{
    uint8_t root[32];
    int have_root = 0, strict = 0;
    const char *proof_path = NULL;
    char **keys = calloc((size_t)argc, sizeof *keys);
    size_t n_keys = 0;
    int rc = CLI_OK;
    if (!keys) {
        cli_errorf("out of memory");
        return CLI_INVALID;
    }
    for (int i = 1; i < argc && rc == CLI_OK; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--root") == 0) {
            rc = parse_root("--root", val, root);
            have_root = 1;
            i++;
        } else if (strcmp(argv[i], "--proof") == 0 && val) {
            proof_path = val;
            i++;
        } else if (strcmp(argv[i], "--key") == 0 && val) {
            keys[n_keys++] = argv[++i];
        } else if (strcmp(argv[i], "--strict") == 0) {
            strict = 1;
        } else {
            rc = cli_usage_error(&cli_cmd_verify, "proof: unexpected argument '%s'", argv[i]);
        }
    }
    if (rc == CLI_OK && (!have_root || !proof_path || !n_keys))
        rc = cli_usage_error(&cli_cmd_verify, "proof needs --root, --proof and at least one --key");
    struct ferry_trie_proof *p = NULL;
    if (rc == CLI_OK)
        rc = load_proof(proof_path, &p);
    if (rc == CLI_OK)
        rc = check_proof(p, root, strict);
    cJSON *out = rc == CLI_OK ? cJSON_CreateObject() : NULL;
    for (size_t k = 0; out && k < n_keys && rc == CLI_OK; k++) {
        uint8_t *key;
        size_t klen;
        if (cli_hex_arg(keys[k], &key, &klen)) {
            rc = cli_usage_error(&cli_cmd_verify, "--key %s is not 0x-prefixed hex", keys[k]);
            break;
        }
        char *name = ferry_hex_alloc(key, klen);
        const uint8_t *val;
        size_t vlen;
        struct ferry_reason why = {""};
        ferry_err err = ferry_trie_proof_lookup(p, root, key, klen, &val, &vlen, &why);
        cJSON *item = NULL;
        if (err == FERRY_OK) {
            char *vh = ferry_hex_alloc(val, vlen);
            item = vh ? cJSON_CreateString(vh) : NULL;
            free(vh);
        } else if (err == FERRY_E_NOT_FOUND) {
            item = cJSON_CreateNull();
        } else if (err == FERRY_E_INCOMPLETE) {
            item = cJSON_CreateString("incomplete");
        } else {
            cli_errorf("verify: invalid proof for key %s: %s", name ? name : keys[k],
                       why.text[0] ? why.text : ferry_strerror(err));
            rc = CLI_INVALID;
        }
        if (item && name && !cJSON_GetObjectItemCaseSensitive(out, name))
            cJSON_AddItemToObject(out, name, item);
        else
            cJSON_Delete(item);
        free(name);
        free(key);
    }
    if (rc == CLI_OK)
        rc = cli_print_json(out);
    else
        cJSON_Delete(out);
    ferry_trie_proof_free(p);
    free(keys);
    return rc;
}

static int verify_para_head(int argc, char **argv)
{
    uint8_t root[32];
    int have_root = 0, have_id = 0;
    uint64_t para_id = 0;
    const char *proof_path = NULL;
    int rc = CLI_OK;
    for (int i = 1; i < argc && rc == CLI_OK; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--relay-root") == 0) {
            rc = parse_root("--relay-root", val, root);
            have_root = 1;
            i++;
        } else if (strcmp(argv[i], "--para-id") == 0) {
            if (!cli_parse_u64(val, UINT32_MAX, &para_id))
                rc = cli_usage_error(&cli_cmd_verify, "--para-id needs a number up to 2^32-1");
            have_id = 1;
            i++;
        } else if (strcmp(argv[i], "--proof") == 0 && val) {
            proof_path = val;
            i++;
        } else {
            rc = cli_usage_error(&cli_cmd_verify, "para-head: unexpected argument '%s'", argv[i]);
        }
    }
    if (rc == CLI_OK && (!have_root || !have_id || !proof_path))
        rc =
            cli_usage_error(&cli_cmd_verify, "para-head needs --relay-root, --para-id and --proof");
    struct ferry_trie_proof *p = NULL;
    if (rc == CLI_OK)
        rc = load_proof(proof_path, &p);
    if (rc == CLI_OK) {
        struct ferry_header h;
        struct ferry_reason why = {""};
        ferry_err err = ferry_para_head_verify(p, root, (uint32_t)para_id, &h, &why);
        if (err) {
            cli_errorf("verify para-head: para %llu not proven: %s (%s)",
                       (unsigned long long)para_id, why.text, ferry_strerror(err));
            rc = CLI_INVALID;
        } else {
            cJSON *json = ferry_header_json(&h);
            ferry_header_free(&h);
            rc = cli_print_json(json);
        }
    }
    ferry_trie_proof_free(p);
    return rc;
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "%s\n", cli_verify_justification_usage);
        return cli_usage_error(&cli_cmd_verify,
                               "missing what to verify (proof, para-head or justification)");
    }
    if (strcmp(argv[1], "proof") == 0)
        return verify_proof(argc - 1, argv + 1);
    if (strcmp(argv[1], "para-head") == 0)
        return verify_para_head(argc - 1, argv + 1);
    if (strcmp(argv[1], "justification") == 0)
        return cli_verify_justification(argc - 1, argv + 1);
    return cli_usage_error(&cli_cmd_verify, "unknown kind '%s'", argv[1]);
}

const struct cli_command cli_cmd_verify = {
    "verify",
    "verify storage proofs, parachain heads and GRANDPA justifications",
    run,
    "usage: ferry verify proof --root 0xROOT --proof FILE --key 0xKEY [--key 0xKEY ...] "
    "[--strict]\n"
    "       ferry verify para-head --relay-root 0xROOT --para-id N --proof FILE\n"
    "       ferry verify justification ...   (GRANDPA; see README)\n"
    "\n"
    "FILE (or - for stdin) holds a read proof as state_getReadProof returns it: a JSON array\n"
    "of 0x… nodes, the result object {\"at\": …, \"proof\": [...]}, or the SCALE Vec<Vec<u8>> as\n"
    "one 0x… string. Nodes of both trie versions (V0/V1) are accepted.\n"
    "\n"
    "proof      prints one JSON object mapping each key to its value (0x…), null when the\n"
    "           proof shows the key is absent, or \"incomplete\" when a node it needs is not\n"
    "           in the proof. A node on a path from the root that does not decode makes the\n"
    "           proof invalid (exit 1). Entries not reachable from the root are ignored, as\n"
    "           Substrate's read_proof_check does (a note goes to stderr); --strict rejects\n"
    "           them.\n"
    "para-head  proves Paras::Heads(N) against a relay-chain state root and prints the\n"
    "           parachain header as JSON (as `ferry decode header` does); exit 1 when the\n"
    "           head is absent, the proof incomplete or the value not a header.\n"
    "\n"
    "exit status: 0 success, 1 invalid proof or not proven (reason on stderr), 2 usage\n"
    "error, 3 I/O error.\n",
    NULL,
};
