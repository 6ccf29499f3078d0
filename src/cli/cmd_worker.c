/* `ferry worker info --url URL`: a worker's GetInfo (ferry-worker or pRuntime) as one JSON
 * object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/workerapi.h"
#include "prpc.pb-c.h"
#include "pruntime_rpc.pb-c.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_worker;

/* "0x" + hex, from pRuntime's unprefixed hex strings ("" stays null). */
static cJSON *hex_field(const char *s)
{
    if (!s || !*s)
        return cJSON_CreateNull();
    size_t n = strlen(s);
    char *p = malloc(n + 3);
    if (!p)
        return NULL;
    snprintf(p, n + 3, "0x%s", s);
    cJSON *j = cJSON_CreateString(p);
    free(p);
    return j;
}

static int worker_info(int argc, char **argv)
{
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--url") == 0 && i + 1 < argc && !url)
            url = argv[++i];
        else
            return cli_usage_error(&cli_cmd_worker, "info takes only --url URL");
    }
    if (!url)
        return cli_usage_error(&cli_cmd_worker, "info needs --url URL");
    int status = 0;
    uint8_t *body = NULL;
    size_t len = 0;
    struct ferry_reason why = {{0}};
    if (ferry_workerapi_call(url, "GetInfo", NULL, 0, false, 30000, &status, &body, &len, &why)) {
        cli_errorf("worker info: %s", why.text);
        return CLI_NET;
    }
    if (status != 200) {
        Prpc__PrpcError *e = prpc__prpc_error__unpack(NULL, len, body);
        cli_errorf("worker info: HTTP %d: %s", status, e ? e->message : "(no PrpcError body)");
        if (e)
            prpc__prpc_error__free_unpacked(e, NULL);
        free(body);
        return CLI_NET;
    }
    PruntimeRpc__PhactoryInfo *pi = pruntime_rpc__phactory_info__unpack(NULL, len, body);
    free(body);
    if (!pi) {
        cli_errorf("worker info: the response is not a PhactoryInfo");
        return CLI_INVALID;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "initialized", pi->initialized);
    cJSON_AddBoolToObject(o, "registered",
                          pi->registered || (pi->system && pi->system->registered));
    cJSON_AddItemToObject(o, "genesis_hash", hex_field(pi->genesis_block_hash));
    cJSON_AddNumberToObject(o, "headernum", pi->headernum);
    cJSON_AddNumberToObject(o, "para_headernum", pi->para_headernum);
    cJSON_AddNumberToObject(o, "blocknum", pi->blocknum);
    cJSON_AddItemToObject(o, "public_key", hex_field(pi->public_key));
    cJSON_AddItemToObject(o, "ecdh_public_key", hex_field(pi->ecdh_public_key));
    cJSON_AddNumberToObject(o, "pending_egress", (double)pi->pending_messages);
    cJSON_AddItemToObject(o, "state_root", hex_field(pi->state_root));
    cJSON_AddBoolToObject(o, "is_parachain", pi->is_parachain);
    cJSON_AddNumberToObject(o, "para_id", pi->para_id);
    cJSON_AddStringToObject(o, "attestation_provider",
                            pi->attestation_provider ? pi->attestation_provider : "");
    cJSON_AddStringToObject(o, "version", pi->version ? pi->version : "");
    if (pi->memory_usage)
        cJSON_AddNumberToObject(o, "memory_rss", (double)pi->memory_usage->rust_used);
    if (pi->counters) {
        PruntimeRpc__WorkerCounters *c = pi->counters;
        cJSON *cj = cJSON_AddObjectToObject(o, "counters");
        cJSON_AddNumberToObject(cj, "headers_synced", (double)c->headers_synced);
        cJSON_AddNumberToObject(cj, "para_headers_synced", (double)c->para_headers_synced);
        cJSON_AddNumberToObject(cj, "blocks_dispatched", (double)c->blocks_dispatched);
        cJSON_AddNumberToObject(cj, "ingress_messages", (double)c->ingress_messages);
        cJSON_AddNumberToObject(cj, "ingress_handled", (double)c->ingress_handled);
        cJSON_AddNumberToObject(cj, "ingress_undecryptable", (double)c->ingress_undecryptable);
        cJSON_AddNumberToObject(cj, "egress_queued", (double)c->egress_queued);
        cJSON_AddNumberToObject(cj, "egress_confirmed", (double)c->egress_confirmed);
    }
    pruntime_rpc__phactory_info__free_unpacked(pi, NULL);
    return cli_print_json(o);
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(cli_cmd_worker.usage, stdout);
        return CLI_OK;
    }
    if (argc < 2)
        return cli_usage_error(&cli_cmd_worker, "missing info");
    if (strcmp(argv[1], "info") == 0)
        return worker_info(argc - 1, argv + 1);
    return cli_usage_error(&cli_cmd_worker, "unknown subcommand %s", argv[1]);
}

const struct cli_command cli_cmd_worker = {
    "worker",
    "ask a worker (ferry-worker or pRuntime) for its state",
    run,
    "usage: ferry worker info --url URL\n"
    "\n"
    "Calls PhactoryAPI.GetInfo on the worker at URL (e.g. http://127.0.0.1:8000) and prints one\n"
    "JSON object: initialized, registered, genesis_hash, headernum, para_headernum, blocknum\n"
    "(the NEXT EXPECTED numbers), public_key, ecdh_public_key, pending_egress, and the worker's\n"
    "counters.\n",
    NULL,
};
