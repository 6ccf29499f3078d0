/* ferry-worker — the software enclave runtime's process: parse flags, open the worker (lock +
 * sealed state), serve the worker API until SIGTERM/SIGINT, seal, exit 0. All logic is in
 * src/worker/ and src/workerapi/. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "ferry/worker.h"
#include "ferry/workerapi.h"

static struct ferry_workerapi_server *g_server;

static void on_signal(int sig)
{
    (void)sig;
    if (g_server)
        ferry_workerapi_server_stop(g_server);
}

static void usage(FILE *out)
{
    fputs("usage: ferry-worker --data-dir DIR --seal-key-file FILE [--listen HOST:PORT]\n"
          "                    [--attestation none|gramine] [--attestation-dir DIR]\n"
          "                    [--body-limit BYTES] [--seal-interval-ms MS]\n"
          "                    [--log-level LEVEL] [--log-json]\n"
          "\n"
          "A software enclave runtime driven like Phala's pRuntime (docs/worker-api.md).\n"
          "  --listen           address to serve the worker API on [127.0.0.1:8000]\n"
          "  --data-dir         directory for the sealed state and the lock (created 0700)\n"
          "  --seal-key-file    32 random bytes as 64 hex digits, mode 0600\n"
          "                     (`ferry key generate --out FILE` writes one)\n"
          "  --attestation      none (dev chains) or gramine [none]\n"
          "  --attestation-dir  Gramine's attestation interface [/dev/attestation]\n"
          "  --body-limit       cap on any request body [104857600]\n"
          "  --seal-interval-ms seal re-derivable progress (headers, blocks dispatched without\n"
          "                     new messages) at most this often; identity, InitRuntime,\n"
          "                     registration and new egress messages are sealed before the\n"
          "                     request returns, and everything at SIGTERM/SIGINT; 0 seals\n"
          "                     after every request that changed the state [1000]\n"
          "\n"
          "exit status: 0 stopped by SIGTERM/SIGINT with the state sealed; 1 refused to start\n"
          "(locked data dir, unreadable or foreign state, bad seal key); 2 usage error.\n",
          out);
}

static int parse_listen(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= cap || colon == s)
        return 0;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || p > 65535 || colon[1] == 0)
        return 0;
    *port = (uint16_t)p;
    return 1;
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8000", *data_dir = NULL, *key_file = NULL;
    const char *attestation = "none", *adir = NULL;
    size_t body_limit = 0;
    unsigned long seal_interval = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--log-json")) {
            ferry_log_set_json(true);
            continue;
        }
        if (!v) {
            fprintf(stderr, "ferry-worker: %s needs a value\n", a);
            usage(stderr);
            return 2;
        }
        if (!strcmp(a, "--listen"))
            listen = v;
        else if (!strcmp(a, "--data-dir"))
            data_dir = v;
        else if (!strcmp(a, "--seal-key-file"))
            key_file = v;
        else if (!strcmp(a, "--attestation"))
            attestation = v;
        else if (!strcmp(a, "--attestation-dir"))
            adir = v;
        else if (!strcmp(a, "--body-limit"))
            body_limit = (size_t)strtoull(v, NULL, 10);
        else if (!strcmp(a, "--seal-interval-ms")) {
            char *end;
            seal_interval = strtoul(v, &end, 10);
            if (*v < '0' || *v > '9' || *end || seal_interval > 3600000) {
                fprintf(stderr, "ferry-worker: --seal-interval-ms must be 0..3600000\n");
                return 2;
            }
        } else if (!strcmp(a, "--log-level")) {
            enum ferry_log_level lv;
            if (!ferry_log_parse_level(v, &lv)) {
                fprintf(stderr, "ferry-worker: unknown log level %s\n", v);
                return 2;
            }
            ferry_log_set_level(lv);
        } else {
            fprintf(stderr, "ferry-worker: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (!data_dir || !key_file) {
        fprintf(stderr, "ferry-worker: --data-dir and --seal-key-file are required\n");
        usage(stderr);
        return 2;
    }
    struct ferry_worker_config cfg = {
        .data_dir = data_dir, .attestation_dir = adir, .seal_interval_ms = (uint32_t)seal_interval};
    if (!strcmp(attestation, "none"))
        cfg.attestation = FERRY_WORKER_ATTEST_NONE;
    else if (!strcmp(attestation, "gramine"))
        cfg.attestation = FERRY_WORKER_ATTEST_GRAMINE;
    else {
        fprintf(stderr, "ferry-worker: --attestation must be none or gramine\n");
        return 2;
    }
    char host[256];
    uint16_t port = 0;
    if (!parse_listen(listen, host, sizeof host, &port)) {
        fprintf(stderr, "ferry-worker: --listen must be HOST:PORT\n");
        return 2;
    }
    struct ferry_reason why = {{0}};
    if (ferry_worker_read_seal_key(key_file, cfg.seal_key, &why)) {
        ferry_log_error("worker", "%s", why.text);
        return 1;
    }
    struct ferry_worker *w = NULL;
    if (ferry_worker_open(&w, &cfg, &why)) {
        ferry_log_error("worker", "%s", why.text);
        return 1;
    }
    struct ferry_workerapi_server_config scfg = {
        .host = host, .port = port, .body_limit = body_limit};
    if (ferry_workerapi_server_start(&g_server, w, &scfg, &why)) {
        ferry_log_error("worker", "%s", why.text);
        (void)ferry_worker_close(w, NULL);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct ferry_worker_info info;
    ferry_worker_get_info(w, &info);
    char pk[65];
    for (int i = 0; i < 32; i++)
        snprintf(pk + 2 * i, 3, "%02x", info.public_key[i]);
    ferry_log_info("worker", "listening on http://%s:%u (public key 0x%s, %s, attestation %s)",
                   host, ferry_workerapi_server_port(g_server), pk,
                   info.initialized ? "initialised" : "not initialised", attestation);
    ferry_workerapi_server_run(g_server);
    ferry_log_info("worker", "stopping: sealing the state");
    ferry_workerapi_server_free(g_server);
    g_server = NULL;
    if (ferry_worker_close(w, &why)) {
        ferry_log_error("worker", "sealing on exit failed: %s", why.text);
        return 1;
    }
    ferry_log_info("worker", "stopped");
    return 0;
}
