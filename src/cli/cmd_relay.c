/* `ferry relay`: configuration (file + flags), logging, signals and the progress line around
 * the relayer loop in src/relay/relay.c. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/clock.h"
#include "ferry/log.h"
#include "ferry/relay.h"
#include "ferry/relayconf.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_relay;

/* The first SIGINT/SIGTERM lets the step in progress finish, then the loop returns and ferry
 * exits 0; a second one quits at once (every state change is committed: nothing is lost). */
static const char stop_msg[] = "relay: stopping after the current step; signal again to quit now\n";

struct tty {
    bool on;
    double last;
};

static void on_progress(void *user, const struct ferry_relay_progress *p)
{
    struct tty *t = user;
    if (!t->on)
        return;
    double now = ferry_clock_s();
    if (now - t->last < 0.2)
        return;
    t->last = now;
    fprintf(stderr,
            "\r\033[K%-9s worker relay #%u para #%u block #%u / finalized #%u  %.1f blk/s  set %llu"
            "  outbox %llu pending %llu in flight%s",
            p->phase, p->worker_header, p->worker_para, p->worker_block, p->finalized,
            p->blocks_per_s, (unsigned long long)p->set_id, (unsigned long long)p->outbox_pending,
            (unsigned long long)p->outbox_inflight, p->registered ? "  registered" : "");
    fflush(stderr);
}

static int run_relay(int argc, char **argv)
{
    struct ferry_relay_config cfg;
    if (ferry_relay_config_defaults(&cfg)) {
        cli_errorf("out of memory");
        return CLI_NET;
    }
    struct ferry_reason why = {{0}};
    int rc = CLI_OK;
    const char *file = ferry_relay_config_find_file(argc, argv);
    ferry_err err = file ? ferry_relay_config_load_file(&cfg, file, &why) : FERRY_OK;
    if (err) {
        cli_errorf("relay: %s", why.text);
        rc = err == FERRY_E_IO ? CLI_NET : CLI_USAGE;
        goto out;
    }
    err = ferry_relay_config_apply_args(&cfg, argc, argv, &why);
    if (err) {
        rc = cli_usage_error(&cli_cmd_relay, "%s", why.text);
        goto out;
    }
    if (cfg.print_config) {
        cJSON *j = ferry_relay_config_to_json(&cfg);
        char *text = j ? cJSON_Print(j) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(j);
        rc = j ? CLI_OK : CLI_NET;
        goto out;
    }
    err = ferry_relay_config_validate(&cfg, &why);
    if (err) {
        rc = cli_usage_error(&cli_cmd_relay, "%s", why.text);
        goto out;
    }
    ferry_log_set_json(!strcmp(cfg.log_format, "json"));
    enum ferry_log_level lvl;
    if (ferry_log_parse_level(cfg.log_level, &lvl))
        ferry_log_set_level(lvl);

    volatile sig_atomic_t *stop_requested = cli_stop_on_signals(stop_msg);

    enum ferry_fault_class fault = FERRY_FAULT_NONE;
    if (cfg.check) {
        err = ferry_relay_preflight(&cfg, stop_requested, &fault, &why);
        if (err) {
            cli_errorf("relay: pre-flight failed (%s): %s", ferry_fault_name(fault), why.text);
            rc = ferry_fault_exit_status(fault ? fault : FERRY_FAULT_TRANSIENT);
        } else {
            printf("{\"preflight\":\"ok\"}\n");
        }
        goto out;
    }
    struct tty t = {isatty(STDERR_FILENO) && strcmp(cfg.log_format, "json"), 0};
    err = ferry_relay_run(&cfg, stop_requested, on_progress, &t, &fault, &why);
    if (t.on)
        fputc('\n', stderr);
    if (err) {
        cli_errorf("relay: stopped (%s): %s", ferry_fault_name(fault), why.text);
        rc = ferry_fault_exit_status(fault ? fault : FERRY_FAULT_INTERNAL);
    }
out:
    ferry_relay_config_free(&cfg);
    return rc;
}

const struct cli_command cli_cmd_relay = {
    "relay",
    "relayer: keep a worker in step with the chain; carry its registration and messages",
    run_relay,
    "usage: ferry relay [--config FILE] [options]\n"
    "\n"
    "Drives a worker (ferry-worker or a pRuntime-shaped runtime) from a Substrate chain's\n"
    "finality, verifying every header, proof and para head with ferry's own light client first;\n"
    "registers the worker (PhalaRegistry.register_worker_v2) and submits its egress messages\n"
    "(PhalaMq.sync_offchain_message) exactly once through a durable outbox in --data-dir.\n"
    "Every setting below is also a member of the JSON --config file (relay_url for\n"
    "--relay-url; see config/ferry-relay.example.json); flags win over the file.\n"
    "ferry's verified light-client state is kept in --data-dir (lc.state): a restart resumes\n"
    "from it. An uninitialised worker is initialised at the chain's genesis, or at --checkpoint\n"
    "(a file from 'ferry checkpoint export').\n"
    "\n"
    "Exit status: 0 stopped by SIGINT/SIGTERM or --until-block reached; 2 usage or\n"
    "configuration; 3 data directory / database; 4 the chain is not the configured one or lacks\n"
    "what ferry needs; 5 the worker refused verified data or serves another chain; 6 the signing\n"
    "account cannot pay; 7 attestation; 8 internal. Transient failures never exit: they are\n"
    "retried with backoff.\n"
    "\n"
    "Options:\n",
    ferry_relay_config_help,
};
