/* `ferry verify justification`: parse arguments and the authorities file, call
 * ferry_grandpa_verify_encoded, print the verdict as one JSON line. All rules live in
 * src/chain/grandpa.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/grandpa.h"
#include "ferry/hex.h"
#include "src/cli/cli.h"
#include "src/cli/verify.h"

const char *const cli_verify_justification_usage =
    "       ferry verify justification --set-id N --authorities FILE [--target 0xHASH]\n"
    "                                  [--threads N] <0xHEX | @FILE | ->";

static const char usage_text[] =
    "usage: ferry verify justification --set-id N --authorities FILE [--target 0xHASH]\n"
    "                                  [--threads N] <0xHEX | @FILE | ->\n"
    "\n"
    "Verify a SCALE-encoded GRANDPA justification against the voter set of set_id N, by\n"
    "Substrate's rules (signatures, descendancy via votes_ancestries, supermajority,\n"
    "precommit-GHOST = commit target, no unused ancestry headers).\n"
    "\n"
    "  --set-id N          authority set id the precommits were signed for\n"
    "  --authorities FILE  JSON: [{\"id\":\"0x..\",\"weight\":1}, ...] or [\"0x..\", ...] (weight "
    "1),\n"
    "                      or an object with such an \"authorities\" array\n"
    "  --target 0xHASH     also require the commit target to be this block\n"
    "  --threads N         signature-checking threads (default 1)\n"
    "\n"
    "Prints "
    "{\"valid\":true,\"target\":{\"hash\",\"number\"},\"signatures\",\"weight\",\"threshold\"}\n"
    "and exits 0, or {\"valid\":false,\"reason\":CODE,\"detail\":TEXT} and exits 1.\n"
    "Exit 2: usage error or malformed authorities file; 3: a file cannot be read.\n";

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "ferry verify justification: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fputs("Try 'ferry verify justification --help'.\n", stderr);
    return CLI_USAGE;
}

/* One authority from an array element: "0x.." or {"id": "0x..", "weight": N|"N"}. */
static int parse_authority(const cJSON *it, struct ferry_authority *a, const char **why)
{
    const cJSON *id = it, *w = NULL;
    if (cJSON_IsObject(it)) {
        id = cJSON_GetObjectItemCaseSensitive(it, "id");
        w = cJSON_GetObjectItemCaseSensitive(it, "weight");
    }
    if (!cJSON_IsString(id) || ferry_hex_decode_exact(id->valuestring, a->id, 32)) {
        *why = "an id is not a 0x-prefixed 32-byte hex string";
        return 0;
    }
    a->weight = 1;
    if (!w)
        return 1;
    if (cJSON_IsNumber(w) && w->valuedouble >= 0 && w->valuedouble <= 9007199254740992.0 &&
        (double)(uint64_t)w->valuedouble == w->valuedouble) {
        a->weight = (uint64_t)w->valuedouble;
        return 1;
    }
    if (cJSON_IsString(w) && cli_parse_u64(w->valuestring, UINT64_MAX, &a->weight))
        return 1;
    *why = "a weight is not a non-negative integer";
    return 0;
}

static int load_authorities(const char *path, struct ferry_voter_set *vs)
{
    char *text;
    size_t len;
    if (cli_read_file(path, &text, &len)) {
        cli_errorf("cannot read authorities file %s", path);
        return CLI_NET;
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *arr = root;
    if (cJSON_IsObject(root))
        arr = cJSON_GetObjectItemCaseSensitive(root, "authorities");
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(root);
        return usage_error("authorities file is not a JSON array of ids", path);
    }
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    struct ferry_authority *list = calloc(n ? n : 1, sizeof *list);
    const char *why = NULL;
    const cJSON *it;
    int ok = list != NULL;
    cJSON_ArrayForEach(it, arr)
    {
        if (!ok || !parse_authority(it, &list[i++], &why)) {
            ok = 0;
            break;
        }
    }
    cJSON_Delete(root);
    if (!ok) {
        free(list);
        return usage_error(why ? why : "out of memory", path);
    }
    ferry_err err = ferry_voter_set_init(vs, list, n);
    free(list);
    if (err == FERRY_E_INVALID)
        return usage_error("the authority set is empty (no non-zero weight)", path);
    if (err == FERRY_E_OVERFLOW)
        return usage_error("the total authority weight overflows 64 bits", path);
    if (err)
        return usage_error("out of memory", NULL);
    return CLI_OK;
}

static int print_verdict(ferry_err err, const struct ferry_grandpa_verdict *v,
                         const uint8_t hash[32], uint32_t number)
{
    cJSON *o = cJSON_CreateObject();
    if (!err) {
        char hex[67];
        cJSON_AddTrueToObject(o, "valid");
        cJSON *t = cJSON_AddObjectToObject(o, "target");
        cJSON_AddStringToObject(t, "hash", ferry_hex_encode(hash, 32, hex));
        cJSON_AddNumberToObject(t, "number", number);
        cJSON_AddNumberToObject(o, "signatures", (double)v->signatures);
        cJSON_AddNumberToObject(o, "weight", (double)v->weight);
        cJSON_AddNumberToObject(o, "threshold", (double)v->threshold);
        return cli_print_json(o);
    }
    cJSON_AddFalseToObject(o, "valid");
    cJSON_AddStringToObject(o, "reason", ferry_grandpa_reason_name(v->reason));
    cJSON_AddStringToObject(o, "detail", v->detail);
    if (v->index != SIZE_MAX)
        cJSON_AddNumberToObject(o, "index", (double)v->index);
    int rc = cli_print_json(o);
    cli_errorf("justification rejected (%s): %s", ferry_grandpa_reason_name(v->reason), v->detail);
    return rc == CLI_OK ? CLI_INVALID : rc;
}

int cli_verify_justification(int argc, char **argv)
{
    const char *set_arg = NULL, *auth_path = NULL, *target_arg = NULL, *input = NULL;
    uint64_t set_id = 0, threads = 1;
    struct ferry_grandpa_verify_opts opts = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return CLI_OK;
        }
        int takes_value = strcmp(a, "--set-id") == 0 || strcmp(a, "--authorities") == 0 ||
                          strcmp(a, "--target") == 0 || strcmp(a, "--threads") == 0;
        if (takes_value && i + 1 >= argc)
            return usage_error("missing value for", a);
        if (strcmp(a, "--set-id") == 0)
            set_arg = argv[++i];
        else if (strcmp(a, "--authorities") == 0)
            auth_path = argv[++i];
        else if (strcmp(a, "--target") == 0)
            target_arg = argv[++i];
        else if (strcmp(a, "--threads") == 0) {
            if (!cli_parse_u64(argv[++i], 64, &threads) || threads == 0)
                return usage_error("--threads wants 1..64", argv[i]);
        } else if (a[0] == '-' && a[1] == '-')
            return usage_error("unknown option", a);
        else if (input)
            return usage_error("more than one justification given", a);
        else
            input = a;
    }
    if (!set_arg || !cli_parse_u64(set_arg, UINT64_MAX, &set_id))
        return usage_error("--set-id N is required (a decimal u64)", set_arg);
    if (!auth_path)
        return usage_error("--authorities FILE is required", NULL);
    if (!input)
        return usage_error("missing the justification (0x hex, @file or - for stdin)", NULL);
    if (target_arg) {
        uint8_t *h = NULL;
        size_t hl = 0;
        if (cli_hex_arg(target_arg, &h, &hl) || hl != 32) {
            free(h);
            return usage_error("--target wants a 0x-prefixed 32-byte hash", target_arg);
        }
        memcpy(opts.expected_hash, h, 32);
        free(h);
        opts.flags |= FERRY_GRANDPA_CHECK_TARGET;
    }
    opts.threads = (unsigned)threads;

    struct ferry_voter_set vs;
    int rc = load_authorities(auth_path, &vs);
    if (rc != CLI_OK)
        return rc;

    char *text;
    size_t len;
    if (cli_read_arg(input, &text, &len)) {
        ferry_voter_set_free(&vs);
        cli_errorf("cannot read the justification from %s", input);
        return CLI_NET;
    }
    uint8_t *buf = NULL;
    size_t blen = 0;
    ferry_err herr = cli_hex_arg(text, &buf, &blen);
    free(text);
    if (herr) {
        ferry_voter_set_free(&vs);
        return usage_error("the justification is not 0x-prefixed hex", NULL);
    }

    struct ferry_grandpa_verdict v;
    uint8_t hash[32];
    uint32_t number;
    if (target_arg) {
        /* the number is whatever the justification says; --target pins the hash */
        struct ferry_grandpa_justification j;
        if (ferry_grandpa_justification_decode(&j, buf, blen, NULL) == FERRY_OK) {
            opts.expected_number = j.target_number;
            ferry_grandpa_justification_free(&j);
        }
    }
    ferry_err err = ferry_grandpa_verify_encoded(buf, blen, &vs, set_id, &opts, &v, hash, &number);
    free(buf);
    ferry_voter_set_free(&vs);
    if (err == FERRY_E_NOMEM) {
        cli_errorf("out of memory while verifying");
        return CLI_NET;
    }
    return print_verdict(err, &v, hash, number);
}
