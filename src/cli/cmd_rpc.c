/* `ferry rpc`: call one JSON-RPC method on a node and print its result, or subscribe and print
 * notifications. Only argument handling and printing live here; the client is rpc/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/jsonrpc.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_rpc;

#define MAX_URLS 16

struct rpc_args {
    const char *urls[MAX_URLS];
    size_t n_urls;
    bool subscribe;
    bool insecure;
    uint64_t count;
    uint64_t timeout_s;
    uint64_t max_mib;
    const char *unsub;
    const char *method;
    char **params;
    size_t n_params;
};

/* Join the params (each JSON text) into one JSON array. A bare 0x… that is not JSON is taken as
 * the hex string it obviously means. Returns: malloc'd text, or NULL with *bad set to the first
 * invalid param. */
static char *params_array(char **params, size_t n, const char **bad)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        cJSON *v = cJSON_Parse(params[i]);
        if (!v && params[i][0] == '0' && (params[i][1] == 'x' || params[i][1] == 'X'))
            v = cJSON_CreateString(params[i]);
        if (!v) {
            *bad = params[i];
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToArray(arr, v);
    }
    char *t = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return t;
}

/* chain_subscribeFinalizedHeads -> chain_unsubscribeFinalizedHeads, and the one irregular pair. */
static void default_unsub(const char *method, char *out, size_t cap)
{
    const char *p = strstr(method, "_subscribe");
    if (strcmp(method, "author_submitAndWatchExtrinsic") == 0)
        snprintf(out, cap, "author_unwatchExtrinsic");
    else if (p)
        snprintf(out, cap, "%.*s_unsubscribe%s", (int)(p - method), method, p + 10);
    else
        snprintf(out, cap, "%s_unsubscribe", method);
}

static int parse_args(int argc, char **argv, struct rpc_args *a)
{
    memset(a, 0, sizeof *a);
    a->timeout_s = 30;
    a->max_mib = 64;
    a->params = calloc((size_t)argc, sizeof *a->params);
    if (!a->params)
        return cli_usage_error(&cli_cmd_rpc, "out of memory");
    bool options = true;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (options && strcmp(s, "--") == 0) {
            options = false;
        } else if (options && strcmp(s, "--url") == 0) {
            if (!val)
                return cli_usage_error(&cli_cmd_rpc,
                                       "--url needs a ws://, wss://, http:// or https:// URL");
            if (a->n_urls == MAX_URLS)
                return cli_usage_error(&cli_cmd_rpc, "at most %d --url options", MAX_URLS);
            a->urls[a->n_urls++] = val;
            i++;
        } else if (options && strcmp(s, "--subscribe") == 0) {
            a->subscribe = true;
        } else if (options && strcmp(s, "--insecure") == 0) {
            a->insecure = true;
        } else if (options && strcmp(s, "--count") == 0) {
            if (!cli_parse_u64(val, UINT32_MAX, &a->count) || a->count == 0)
                return cli_usage_error(&cli_cmd_rpc, "--count needs a positive integer");
            i++;
        } else if (options && strcmp(s, "--timeout") == 0) {
            if (!cli_parse_u64(val, 86400, &a->timeout_s) || a->timeout_s == 0)
                return cli_usage_error(&cli_cmd_rpc, "--timeout needs 1..86400 seconds");
            i++;
        } else if (options && strcmp(s, "--max-message-mib") == 0) {
            if (!cli_parse_u64(val, 4096, &a->max_mib) || a->max_mib == 0)
                return cli_usage_error(&cli_cmd_rpc, "--max-message-mib needs 1..4096");
            i++;
        } else if (options && strcmp(s, "--unsubscribe") == 0) {
            if (!val)
                return cli_usage_error(&cli_cmd_rpc, "--unsubscribe needs a method name");
            a->unsub = val;
            i++;
        } else if (options && strncmp(s, "--", 2) == 0) {
            return cli_usage_error(&cli_cmd_rpc, "unknown option %s", s);
        } else if (!a->method) {
            a->method = s;
        } else {
            a->params[a->n_params++] = argv[i];
        }
    }
    if (a->n_urls == 0)
        return cli_usage_error(&cli_cmd_rpc, "--url is required");
    if (!a->method)
        return cli_usage_error(&cli_cmd_rpc, "missing the method to call");
    if (a->count && !a->subscribe)
        return cli_usage_error(&cli_cmd_rpc, "--count only applies with --subscribe");
    return CLI_OK;
}

static void print_rpc_error(const struct ferry_rpc_error *e)
{
    char *j = ferry_rpc_error_json(e);
    fprintf(stderr, "%s\n", j ? j : "{\"code\":0,\"message\":\"out of memory\"}");
    free(j);
}

/* Map a client error to the exit contract, with a message naming the node and the cause. */
static int report(struct ferry_rpc *c, const char *what, ferry_err err,
                  const struct ferry_rpc_error *e)
{
    char why[256];
    if (err == FERRY_E_RPC) {
        print_rpc_error(e);
        return CLI_INVALID;
    }
    ferry_rpc_last_error(c, why, sizeof why);
    switch (err) {
    case FERRY_E_ARG:
        return cli_usage_error(&cli_cmd_rpc, "%s: invalid method name or params", what);
    case FERRY_E_TOO_LARGE:
        cli_errorf("%s: the answer is larger than --max-message-mib allows; raise it", what);
        return CLI_NET;
    case FERRY_E_JSON:
        cli_errorf("%s: the node's answer is not a valid JSON-RPC response", what);
        return CLI_INVALID;
    case FERRY_E_UNSUPPORTED:
        return cli_usage_error(&cli_cmd_rpc, "%s: subscriptions need a ws:// or wss:// URL", what);
    default:
        if (why[0])
            cli_errorf("%s: %s (%s)", what, ferry_strerror(err), why);
        else
            cli_errorf("%s: %s", what, ferry_strerror(err));
        return CLI_NET;
    }
}

static int run_call(struct ferry_rpc *c, const struct rpc_args *a, const char *params)
{
    cJSON *result = NULL;
    struct ferry_rpc_error e;
    ferry_err err =
        ferry_rpc_call(c, a->method, params, (uint32_t)(a->timeout_s * 1000), &result, &e);
    if (err) {
        int rc = report(c, a->method, err, &e);
        ferry_rpc_error_clear(&e);
        return rc;
    }
    return cli_print_json(result);
}

static int run_subscribe(struct ferry_rpc *c, const struct rpc_args *a, const char *params)
{
    char unsub[160];
    if (a->unsub)
        snprintf(unsub, sizeof unsub, "%s", a->unsub);
    else
        default_unsub(a->method, unsub, sizeof unsub);
    unsigned flags =
        strcmp(a->method, "author_submitAndWatchExtrinsic") == 0 ? FERRY_RPC_SUB_NO_RESUBSCRIBE : 0;
    uint32_t timeout_ms = (uint32_t)(a->timeout_s * 1000);
    uint64_t sub;
    struct ferry_rpc_error e;
    ferry_err err =
        ferry_rpc_subscribe(c, a->method, params, unsub, flags, NULL, NULL, timeout_ms, &sub, &e);
    if (err) {
        int rc = report(c, a->method, err, &e);
        ferry_rpc_error_clear(&e);
        return rc;
    }
    uint64_t seen = 0;
    int rc = CLI_OK;
    while (!a->count || seen < a->count) {
        struct ferry_rpc_event ev;
        err = ferry_rpc_next_event(c, timeout_ms, &ev);
        if (err) {
            cli_errorf("%s: no notification within %llu s", a->method,
                       (unsigned long long)a->timeout_s);
            rc = CLI_NET;
            break;
        }
        if (ev.kind == FERRY_RPC_EV_NOTIFICATION) {
            seen++;
            cJSON *res = ev.result;
            ev.result = NULL;
            rc = cli_print_json(res);
        } else if (ev.kind == FERRY_RPC_EV_GAP) {
            cli_errorf("%s: %s; notifications may have been missed", a->method,
                       ev.gap == FERRY_RPC_GAP_RECONNECT ? "re-subscribed after a reconnect"
                       : ev.gap == FERRY_RPC_GAP_OVERFLOW
                           ? "event queue overflowed"
                           : "a notification exceeded --max-message-mib");
        } else if (ev.kind == FERRY_RPC_EV_SUB_ENDED) {
            if (ev.err == FERRY_E_RPC)
                print_rpc_error(&ev.error);
            else
                cli_errorf("%s: subscription ended: %s", a->method, ferry_strerror(ev.err));
            rc = ev.err == FERRY_E_RPC ? CLI_INVALID : CLI_NET;
        }
        ferry_rpc_event_clear(&ev);
        if (rc != CLI_OK)
            break;
    }
    err = ferry_rpc_unsubscribe(c, sub, timeout_ms < 5000 ? timeout_ms : 5000);
    if (err && err != FERRY_E_RETRY && rc == CLI_OK)
        cli_errorf("%s: unsubscribe failed: %s", unsub, ferry_strerror(err));
    return rc;
}

static int run(int argc, char **argv)
{
    struct rpc_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_OK) {
        free(a.params);
        return rc;
    }
    const char *bad = NULL;
    char *params = params_array(a.params, a.n_params, &bad);
    if (!params) {
        rc = cli_usage_error(&cli_cmd_rpc, "param is not JSON: %s (quote strings: '\"0x12\"')",
                             bad ? bad : "?");
        free(a.params);
        return rc;
    }
    struct ferry_rpc_config cfg = {0};
    cfg.urls = a.urls;
    cfg.n_urls = a.n_urls;
    cfg.insecure = a.insecure;
    cfg.max_message_bytes = (size_t)a.max_mib << 20;
    cfg.request_timeout_ms = (uint32_t)(a.timeout_s * 1000);
    cfg.connect_timeout_ms = a.timeout_s < 10 ? (uint32_t)(a.timeout_s * 1000) : 10000;
    struct ferry_rpc *c = NULL;
    ferry_err err = ferry_rpc_open(&cfg, &c);
    if (err == FERRY_E_ARG) {
        rc = cli_usage_error(&cli_cmd_rpc, "bad --url (want ws://, wss://, http:// or https://, "
                                           "not mixed)");
    } else if (err) {
        cli_errorf("rpc: cannot start the client: %s", ferry_strerror(err));
        rc = CLI_NET;
    } else if (a.subscribe) {
        rc = run_subscribe(c, &a, params);
    } else {
        rc = run_call(c, &a, params);
    }
    ferry_rpc_close(c);
    free(params);
    free(a.params);
    return rc;
}

const struct cli_command cli_cmd_rpc = {
    "rpc",
    "call a JSON-RPC method on a node, or subscribe and print notifications",
    run,
    "usage: ferry rpc --url URL [--url URL ...] [options] <method> [param ...]\n"
    "       ferry rpc --url URL --subscribe <method> [param ...] [--count N]\n"
    "\n"
    "Each param is JSON: '\"0x12\"', '[1,2]', 5 (a bare 0x… is taken as a hex string).\n"
    "A call prints the result as one JSON line; a subscription prints each notification's\n"
    "result as one JSON line until N have arrived (forever without --count), re-subscribing\n"
    "after reconnects, then unsubscribes.\n"
    "\n"
    "options:\n"
    "  --url URL             ws://, wss://, http:// or https:// endpoint; repeat to rotate\n"
    "                        between several (subscriptions need ws:// or wss://)\n"
    "  --timeout SECONDS     deadline of the call, or the longest wait for the next\n"
    "                        notification (default 30)\n"
    "  --insecure            accept self-signed or mismatched TLS certificates (test setups)\n"
    "  --max-message-mib N   largest message accepted (default 64)\n"
    "  --unsubscribe METHOD  unsubscribe method (default: derived from the subscribe method)\n"
    "\n"
    "exit status: 0 success; 1 the node answered with an error (its JSON on stderr);\n"
    "             2 usage error; 3 connection failure, timeout or lost subscription.\n",
    NULL,
};
