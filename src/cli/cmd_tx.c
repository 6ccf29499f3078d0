/* `ferry tx`: sign "Pallet.call" with JSON arguments, submit it, follow it to a block and print
 * its outcome. Argument handling and printing only; the work is in tx.h / extrinsic.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "ferry/keys.h"
#include "ferry/metadata.h"
#include "ferry/tx.h"
#include "src/cli/cli.h"
#include "src/cli/decode_chain.h"

extern const struct cli_command cli_cmd_tx;

struct tx_args {
    const char *url;
    const char *key_file;
    const char *key_uri;
    const char *call;
    const char *raw;
    char **args;
    int n_args;
    struct ferry_tx_options opt;
    enum ferry_tx_wait wait;
    uint64_t timeout_s;
    uint64_t repeat;
    bool dry_run;
    enum ferry_scheme scheme;
};

/* A result as {"hash","block","number","index","result": "ExtrinsicSuccess" | {"error": …}}
 * (block/number/index/result only when included). Returns: a new cJSON, or NULL (OOM). */
static cJSON *result_json(const struct ferry_tx_result *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char hex[67];
    cJSON_AddStringToObject(o, "hash", ferry_hex_encode(r->hash, 32, hex));
    if (r->included) {
        cJSON_AddStringToObject(o, "block", ferry_hex_encode(r->block, 32, hex));
        cJSON_AddNumberToObject(o, "number", r->number);
        cJSON_AddNumberToObject(o, "index", r->index);
        if (r->success) {
            cJSON_AddStringToObject(o, "result", "ExtrinsicSuccess");
        } else {
            cJSON *res = cJSON_AddObjectToObject(o, "result");
            if (res)
                cJSON_AddItemToObject(res, "error",
                                      r->error ? cJSON_Duplicate(r->error, 1) : cJSON_CreateNull());
        }
    }
    return o;
}

static int parse_args(int argc, char **argv, struct tx_args *a)
{
    memset(a, 0, sizeof *a);
    a->wait = FERRY_TX_WAIT_FINALIZED;
    a->timeout_s = 120;
    a->repeat = 1;
    a->scheme = FERRY_SCHEME_DEFAULT;
    a->args = calloc((size_t)argc + 1, sizeof *a->args);
    if (!a->args)
        return CLI_NET;
    bool mortal = false;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(s, "--url") || !strcmp(s, "--key-file") || !strcmp(s, "--key") ||
                     !strcmp(s, "--mortal") || !strcmp(s, "--tip") || !strcmp(s, "--wait") ||
                     !strcmp(s, "--nonce") || !strcmp(s, "--timeout") || !strcmp(s, "--submit") ||
                     !strcmp(s, "--repeat") || !strcmp(s, "--scheme");
        if (takes && !val)
            return cli_usage_error(&cli_cmd_tx, "%s needs a value", s);
        uint64_t n;
        if (!strcmp(s, "--url")) {
            a->url = val;
        } else if (!strcmp(s, "--key-file")) {
            a->key_file = val;
        } else if (!strcmp(s, "--key")) {
            a->key_uri = val;
        } else if (!strcmp(s, "--scheme")) {
            if (ferry_scheme_parse(val, &a->scheme) != FERRY_OK)
                return cli_usage_error(&cli_cmd_tx, "--scheme takes sr25519, ed25519 or ecdsa");
        } else if (!strcmp(s, "--mortal")) {
            if (!cli_parse_u64(val, 65536, &n) || n < 4 || (n & (n - 1)))
                return cli_usage_error(&cli_cmd_tx, "--mortal takes a power of two 4..65536");
            a->opt.period = (uint32_t)n;
            mortal = true;
        } else if (!strcmp(s, "--immortal")) {
            a->opt.immortal = true;
        } else if (!strcmp(s, "--tip")) {
            if (ferry_u128_from_string(val, &a->opt.tip) != FERRY_OK)
                return cli_usage_error(&cli_cmd_tx, "--tip takes a decimal amount");
        } else if (!strcmp(s, "--nonce")) {
            if (!cli_parse_u64(val, UINT64_MAX, &a->opt.nonce))
                return cli_usage_error(&cli_cmd_tx, "--nonce takes a decimal number");
            a->opt.fixed_nonce = true;
        } else if (!strcmp(s, "--wait")) {
            if (!strcmp(val, "ready"))
                a->wait = FERRY_TX_WAIT_READY;
            else if (!strcmp(val, "in-block"))
                a->wait = FERRY_TX_WAIT_IN_BLOCK;
            else if (!strcmp(val, "finalized"))
                a->wait = FERRY_TX_WAIT_FINALIZED;
            else
                return cli_usage_error(&cli_cmd_tx, "--wait takes ready, in-block or finalized");
        } else if (!strcmp(s, "--timeout")) {
            if (!cli_parse_u64(val, 3600, &a->timeout_s) || a->timeout_s == 0)
                return cli_usage_error(&cli_cmd_tx, "--timeout takes 1..3600 seconds");
        } else if (!strcmp(s, "--repeat")) {
            if (!cli_parse_u64(val, 1000, &a->repeat) || a->repeat == 0)
                return cli_usage_error(&cli_cmd_tx, "--repeat takes 1..1000");
        } else if (!strcmp(s, "--submit")) {
            a->raw = val;
        } else if (!strcmp(s, "--no-follow-runtime")) {
            a->opt.no_runtime_follow = true;
        } else if (!strcmp(s, "--dry-run")) {
            a->dry_run = true;
        } else if (s[0] == '-' && s[1] == '-' && s[2] && !a->call) {
            return cli_usage_error(&cli_cmd_tx, "unknown option %s", s);
        } else if (!a->call && !a->raw) {
            a->call = s;
        } else {
            a->args[a->n_args++] = argv[i];
        }
        if (takes)
            i++;
    }
    if (!a->url)
        return cli_usage_error(&cli_cmd_tx, "missing --url ws://…");
    if (mortal && a->opt.immortal)
        return cli_usage_error(&cli_cmd_tx, "--mortal and --immortal exclude each other");
    if (!a->call && !a->raw)
        return cli_usage_error(&cli_cmd_tx, "missing <Pallet.call>");
    if (a->raw && (a->call || a->dry_run))
        return cli_usage_error(&cli_cmd_tx, "--submit takes a signed extrinsic instead of a call");
    if (a->repeat > 1 && (a->raw || a->dry_run || a->opt.fixed_nonce))
        return cli_usage_error(&cli_cmd_tx, "--repeat builds and signs each copy: not with "
                                            "--submit, --dry-run or --nonce");
    if (a->key_file && a->key_uri)
        return cli_usage_error(&cli_cmd_tx, "give --key-file or --key, not both");
    a->opt.timeout_ms = (uint32_t)(a->timeout_s * 1000);
    return CLI_OK;
}

static int load_key(const struct tx_args *a, struct ferry_keypair *kp)
{
    struct ferry_reason why = {""};
    ferry_err err;
    if (a->raw && !a->key_uri && !a->key_file) {
        /* nothing is signed: any key will do for the client's format check */
        err = ferry_keypair_from_uri(kp, a->scheme, "//ferry-submit-only", &why);
        return err ? CLI_INVALID : CLI_OK;
    }
    if (a->key_uri) {
        if (!ferry_secret_uri_is_public(a->key_uri)) {
            cli_errorf("tx: --key takes public development keys only (//Alice, //Bob, …); put a "
                       "secret in a file (mode 0600) and pass --key-file");
            return CLI_USAGE;
        }
        err = ferry_keypair_from_uri(kp, a->scheme, a->key_uri, &why);
    } else {
        const char *path = a->key_file ? a->key_file : getenv("FERRY_KEY_FILE");
        if (!path || !path[0]) {
            cli_errorf("tx: no signing key: pass --key-file FILE or set FERRY_KEY_FILE");
            return CLI_USAGE;
        }
        err = ferry_keyfile_load(path, a->scheme, kp, &why);
        if (err) {
            cli_errorf("tx: key file %s: %s", path, why.text[0] ? why.text : ferry_strerror(err));
            return err == FERRY_E_IO ? CLI_NET : CLI_INVALID;
        }
    }
    if (err) {
        cli_errorf("tx: key %s: %s", a->key_uri, why.text[0] ? why.text : ferry_strerror(err));
        return CLI_INVALID;
    }
    return CLI_OK;
}

/* The JSON arguments of the call: one per field in order, or a single object whose keys are
 * exactly the field names. */
static int call_args(const struct ferry_metadata *md, const struct tx_args *a, cJSON **out)
{
    *out = NULL;
    struct ferry_md_call call;
    ferry_err err = ferry_md_find_call(md, a->call, &call);
    if (err) {
        cli_errorf("tx: no call %s in the runtime's metadata%s", a->call,
                   err == FERRY_E_ARG ? " (write Pallet.call)" : "");
        return CLI_INVALID;
    }
    const struct ferry_md_variant *v = call.variant;
    cJSON *first = a->n_args == 1 ? cli_json_arg(a->args[0]) : NULL;
    if (first && cJSON_IsObject(first) && v->n_fields > 0 && v->fields[0].name) {
        size_t keys = (size_t)cJSON_GetArraySize(first);
        bool named = keys == v->n_fields;
        for (size_t i = 0; named && i < v->n_fields; i++)
            named = cJSON_GetObjectItemCaseSensitive(first, v->fields[i].name) != NULL;
        if (named) {
            *out = first;
            return CLI_OK;
        }
    }
    cJSON_Delete(first);
    if ((size_t)a->n_args != v->n_fields) {
        char names[400] = "";
        for (size_t i = 0; i < v->n_fields; i++) {
            size_t n = strlen(names);
            snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "",
                     v->fields[i].name ? v->fields[i].name : "_");
        }
        cli_errorf("tx: %s takes %zu argument%s (%s), got %d", a->call, v->n_fields,
                   v->n_fields == 1 ? "" : "s", names, a->n_args);
        return CLI_USAGE;
    }
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < a->n_args; i++)
        cJSON_AddItemToArray(arr, cli_json_arg(a->args[i]));
    *out = arr;
    return arr ? CLI_OK : CLI_NET;
}

static int exit_for(ferry_err err)
{
    switch (err) {
    case FERRY_E_NET:
    case FERRY_E_RETRY:
    case FERRY_E_TIMEOUT:
    case FERRY_E_IO:
        return CLI_NET;
    default:
        return CLI_INVALID;
    }
}

static void print_rejection(const uint8_t *hash, const char *why)
{
    cJSON *o = cJSON_CreateObject();
    char hex[67];
    if (hash)
        cJSON_AddStringToObject(o, "hash", ferry_hex_encode(hash, 32, hex));
    cJSON *r = cJSON_AddObjectToObject(o, "result");
    cJSON_AddStringToObject(r, "rejected", why);
    (void)cli_print_json(o);
}

/* Wait for one submission and print its outcome. Returns: the exit status. */
static int follow(struct ferry_tx_client *tc, const struct tx_args *a, struct ferry_tx_pending *p)
{
    struct ferry_reason why = {""};
    struct ferry_tx_result res;
    ferry_err err = ferry_tx_wait(tc, p, a->wait, &res, &why);
    int rc;
    if (err) {
        cli_errorf("tx: %s", why.text[0] ? why.text : ferry_strerror(err));
        if (err == FERRY_E_STATE)
            print_rejection(res.hash, why.text);
        rc = exit_for(err);
    } else {
        cJSON *o = result_json(&res);
        if (!a->raw)
            cJSON_AddNumberToObject(o, "nonce", (double)res.nonce);
        if (a->wait == FERRY_TX_WAIT_READY)
            cJSON_AddStringToObject(o, "result", "ready");
        rc = cli_print_json(o);
        if (rc == CLI_OK && a->wait != FERRY_TX_WAIT_READY && !res.success) {
            const cJSON *m = cJSON_GetObjectItem(res.error, "module");
            char *de = cJSON_PrintUnformatted(cJSON_GetObjectItem(res.error, "dispatch_error"));
            cli_errorf("tx: dispatch failed: %s", cJSON_IsString(m) ? m->valuestring
                                                  : de              ? de
                                                                    : "unknown error");
            free(de);
            rc = CLI_INVALID;
        }
    }
    ferry_tx_result_clear(&res);
    return rc;
}

static int submit(struct ferry_tx_client *tc, const struct tx_args *a)
{
    struct ferry_reason why = {""};
    struct ferry_tx_pending *p = NULL;
    ferry_err err;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    cJSON *args = NULL;
    if (a->raw) {
        if (cli_hex_arg(a->raw, &raw, &raw_len) != FERRY_OK) {
            cli_errorf("tx: --submit takes the signed extrinsic as 0x hex");
            return CLI_USAGE;
        }
        err = ferry_tx_send_raw(tc, raw, raw_len, &p, &why);
        free(raw);
    } else {
        int arc = call_args(ferry_tx_metadata(tc), a, &args);
        if (arc != CLI_OK)
            return arc;
        if (a->dry_run) {
            uint8_t *xt;
            size_t xt_len;
            uint8_t hash[32];
            uint64_t nonce;
            err = ferry_tx_build(tc, a->call, args, &xt, &xt_len, hash, &nonce, &why);
            cJSON_Delete(args);
            if (err) {
                cli_errorf("tx: %s", why.text[0] ? why.text : ferry_strerror(err));
                return exit_for(err);
            }
            cJSON *o = cJSON_CreateObject();
            char hex[67];
            cJSON_AddStringToObject(o, "hash", ferry_hex_encode(hash, 32, hex));
            cJSON_AddNumberToObject(o, "nonce", (double)nonce);
            char *x = ferry_hex_alloc(xt, xt_len);
            cJSON_AddStringToObject(o, "extrinsic", x ? x : "");
            free(x);
            free(xt);
            return cli_print_json(o);
        }
        /* --repeat: submit every copy before waiting for any (consecutive nonces) */
        struct ferry_tx_pending **ps = calloc(a->repeat, sizeof *ps);
        if (!ps) {
            cJSON_Delete(args);
            return CLI_NET;
        }
        uint64_t sent = 0;
        err = FERRY_OK;
        while (sent < a->repeat && !err) {
            err = ferry_tx_send(tc, a->call, args, &ps[sent], &why);
            if (!err)
                sent++;
        }
        cJSON_Delete(args);
        int rc = CLI_OK;
        if (err) {
            cli_errorf("tx: %s", why.text[0] ? why.text : ferry_strerror(err));
            if (err == FERRY_E_RPC)
                print_rejection(NULL, why.text);
            rc = exit_for(err);
        }
        for (uint64_t i = 0; i < sent; i++) {
            int r = follow(tc, a, ps[i]);
            if (r > rc)
                rc = r;
        }
        free(ps);
        return rc;
    }
    if (err) {
        cli_errorf("tx: %s", why.text[0] ? why.text : ferry_strerror(err));
        if (err == FERRY_E_RPC)
            print_rejection(NULL, why.text);
        return exit_for(err);
    }
    return follow(tc, a, p);
}

static int run(int argc, char **argv)
{
    struct tx_args a;
    int rc = parse_args(argc, argv, &a);
    struct ferry_keypair kp;
    memset(&kp, 0, sizeof kp);
    if (rc == CLI_OK)
        rc = load_key(&a, &kp);
    struct ferry_rpc *c = NULL;
    if (rc == CLI_OK)
        rc = cli_chain_connect("tx", a.url, (uint32_t)a.timeout_s, &c);
    struct ferry_tx_client *tc = NULL;
    if (rc == CLI_OK) {
        struct ferry_reason why = {""};
        ferry_err err = ferry_tx_client_open(c, &kp, &a.opt, &tc, &why);
        if (err) {
            cli_errorf("tx: %s", why.text[0] ? why.text : ferry_strerror(err));
            rc = exit_for(err);
        }
    }
    if (rc == CLI_OK)
        rc = submit(tc, &a);
    ferry_tx_client_close(tc);
    ferry_rpc_close(c);
    ferry_keypair_clear(&kp);
    free(a.args);
    return rc;
}

const struct cli_command cli_cmd_tx = {
    "tx",
    "sign, submit and follow an extrinsic (sr25519, ed25519 or ECDSA), print its outcome",
    run,
    "usage: ferry tx --url URL [--key-file FILE | --key //Dev] [--scheme S] <Pallet.call>\n"
    "                [arg …] [options]\n"
    "       ferry tx --url URL --submit 0xSIGNED-EXTRINSIC [--wait …]\n"
    "\n"
    "Signs Pallet.call (looked up by name in the node's metadata) with the key, submits\n"
    "it with author_submitAndWatchExtrinsic, follows it and reads its outcome from the block's\n"
    "System events. Prints one JSON line:\n"
    "  {\"hash\":\"0x…\",\"block\":\"0x…\",\"number\":N,\"index\":I,\n"
    "   \"result\":\"ExtrinsicSuccess\" | {\"error\":{\"module\":\"Pallet.Error\",…}}}\n"
    "A rejected transaction prints {\"result\":{\"rejected\":\"reason\"}}.\n"
    "\n"
    "Arguments: one JSON value per call field, in order (text that is not JSON is taken as a\n"
    "string, so 0x… and SS58 addresses need no quotes), or a single JSON object whose keys\n"
    "are exactly the field names. `ferry metadata FILE --calls Pallet` lists the fields.\n"
    "  ferry tx --url ws://127.0.0.1:9944 --key //Alice System.remark_with_event 0x68656c6c6f\n"
    "  ferry tx … Balances.transfer '{\"Id\":\"0x…\"}' 1000000000000\n"
    "\n"
    "The key: --key-file FILE or $FERRY_KEY_FILE (a secret URI in a file of mode 0600);\n"
    "--key accepts only public development keys (//Alice, //Bob, …). --scheme sr25519\n"
    "(default, as subkey and polkadot-js), ed25519 or ecdsa says what the key is; the\n"
    "signature goes into the runtime's MultiSignature variant of that name.\n"
    "\n"
    "options:\n"
    "  --mortal N        mortal era of N blocks (power of two 4..65536; default 64), born at\n"
    "                    the finalized head\n"
    "  --immortal        immortal era (checkpoint = genesis)\n"
    "  --tip N           tip in the chain's smallest unit (default 0)\n"
    "  --nonce N         sign with this nonce instead of system_accountNextIndex (no retry)\n"
    "  --wait W          ready | in-block | finalized (default finalized; finality is\n"
    "                    confirmed against chain_getFinalizedHead)\n"
    "  --timeout S       longest wait for each step (default 120)\n"
    "  --repeat N        submit N copies back to back (consecutive nonces, no waiting in\n"
    "                    between), then follow each: one JSON line per copy\n"
    "  --dry-run         print {hash, nonce, extrinsic} without submitting\n"
    "  --no-follow-runtime  do not subscribe to runtime versions (an upgrade is then noticed\n"
    "                    only by the retry after a rejected signature)\n"
    "  --submit 0x…      submit a ready-made signed extrinsic instead of building one\n"
    "\n"
    "Runtime upgrades: ferry follows state_subscribeRuntimeVersion and signs with the new\n"
    "versions and metadata; a rejection for a bad signature (stale runtime versions) or a\n"
    "stale/future nonce is retried once after fetching version, metadata and nonce again.\n"
    "\n"
    "exit status: 0 ExtrinsicSuccess (or ready/--dry-run); 1 dispatch failure, rejection or\n"
    "             invalid input (reason on stderr); 2 usage error; 3 connection failure or\n"
    "             timeout.\n",
    NULL,
};
