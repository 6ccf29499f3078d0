/* `ferry follow`: argument parsing and output around the light client in
 * src/lightclient/follow.c. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ferry/clock.h"
#include "ferry/follow.h"
#include "ferry/hex.h"
#include "ferry/log.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_follow;

#define MAX_URLS 16

/* The first SIGINT/SIGTERM asks the loop to stop at its next step; a request already in flight
 * may still wait up to --timeout for a node that does not answer. A second one quits at once:
 * every step is one committed transaction and stdout is flushed after each batch, so nothing
 * verified is lost (see the kill -9 notes in docs/operating.md). */
static const char stop_msg[] = "follow: stopping; signal again to quit without waiting for the "
                               "request in flight\n";

struct output {
    bool json;
    bool tty;
    double last_line;
};

/* Append the decimal digits of v at p. Returns: the end. */
static char *put_u64(char *p, uint64_t v)
{
    char d[20];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = d[--n];
    return p;
}

static char *put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* stdout is written in whole lines: a kill mid-batch leaves no half line for a consumer of
 * --json to choke on. The buffer is flushed by us before a line would not fit, so stdio never
 * has to write a partial one. */
#define OUT_BUF 65536
static size_t out_pending;

static void out_flush(void)
{
    fflush(stdout);
    out_pending = 0;
}

static void print_block(const char *chain, const struct ferry_header *h, const uint64_t *set_id)
{
    /* One line per verified block during a catch-up: built by hand and written with one
     * unlocked fwrite (printf's format parsing was ~2 % of the catch-up's CPU). */
    char line[160], *p = line;
    p = put_str(p, "{\"chain\":\"");
    p = put_str(p, chain); /* "relay" or "para" */
    p = put_str(p, "\",\"number\":");
    p = put_u64(p, h->number);
    p = put_str(p, ",\"hash\":\"");
    ferry_hex_encode(h->hash, 32, p); /* "0x" + 64 digits + NUL */
    p += 66;
    *p++ = '"';
    if (set_id) {
        p = put_str(p, ",\"set_id\":");
        p = put_u64(p, *set_id);
    }
    *p++ = '}';
    *p++ = '\n';
    size_t len = (size_t)(p - line);
    if (out_pending + len >= OUT_BUF)
        out_flush();
    fwrite_unlocked(line, 1, len, stdout);
    out_pending += len;
    /* Flushed once per verified batch, in on_progress: one write per batch, not per block. */
}

static void on_relay(void *user, const struct ferry_header *h, uint64_t set_id)
{
    struct output *o = user;
    if (o->json)
        print_block("relay", h, &set_id);
}

static void on_para(void *user, uint32_t para_id, const struct ferry_header *h)
{
    struct output *o = user;
    (void)para_id;
    if (o->json)
        print_block("para", h, NULL);
}

static void on_progress(void *user, const struct ferry_follow_progress *p)
{
    struct output *o = user;
    out_flush();
    double t = ferry_clock_s();
    char para[48] = "";
    if (p->has_para)
        snprintf(para, sizeof para, ", para #%u", p->para_number);
    char eta[32] = "";
    if (p->target > p->verified && p->blocks_per_sec > 0.1)
        snprintf(eta, sizeof eta, ", ETA %.0fs", (p->target - p->verified) / p->blocks_per_sec);
    if (o->tty) {
        fprintf(stderr, "\r\033[Kverified #%u / #%u  %.1f blocks/s%s  set %llu%s", p->verified,
                p->target, p->blocks_per_sec, eta, (unsigned long long)p->set_id, para);
        fflush(stderr);
    } else if (t - o->last_line >= 5 || p->verified == p->target) {
        if (t - o->last_line >= 1)
            ferry_log_info("follow", "verified #%u of #%u (%.1f blocks/s%s, set %llu%s)",
                           p->verified, p->target, p->blocks_per_sec, eta,
                           (unsigned long long)p->set_id, para);
        o->last_line = t;
    }
}

static int run_follow(int argc, char **argv)
{
    const struct cli_command *cmd = &cli_cmd_follow;
    const char *urls[MAX_URLS], *para_urls[MAX_URLS];
    struct ferry_follow_config cfg = {0};
    struct output out = {0};
    cfg.urls = urls;
    cfg.para_urls = para_urls;
    cfg.db_path = "ferry.db";
    cfg.keep_headers = 65536;
    cfg.timeout_ms = 30000;
    cfg.threads = 2;
    uint64_t v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            out.json = true;
            continue;
        }
        if (strcmp(a, "--insecure") == 0) {
            cfg.insecure = true;
            continue;
        }
        if (strcmp(a, "--log-json") == 0) {
            ferry_log_set_json(true);
            continue;
        }
        if (!val)
            return cli_usage_error(cmd, "%s needs a value", a);
        i++;
        if (strcmp(a, "--url") == 0) {
            if (cfg.n_urls == MAX_URLS)
                return cli_usage_error(cmd, "at most %d --url", MAX_URLS);
            urls[cfg.n_urls++] = val;
        } else if (strcmp(a, "--para-url") == 0) {
            if (cfg.n_para_urls == MAX_URLS)
                return cli_usage_error(cmd, "at most %d --para-url", MAX_URLS);
            para_urls[cfg.n_para_urls++] = val;
        } else if (strcmp(a, "--para-id") == 0 && cli_parse_u64(val, UINT32_MAX, &v)) {
            cfg.para_id = (uint32_t)v;
        } else if (strcmp(a, "--from") == 0) {
            if (strcmp(val, "genesis") != 0)
                return cli_usage_error(cmd, "--from takes 'genesis' (or use --checkpoint FILE)");
        } else if (strcmp(a, "--checkpoint") == 0) {
            cfg.checkpoint_path = val;
        } else if (strcmp(a, "--db") == 0) {
            cfg.db_path = val;
        } else if (strcmp(a, "--keep-headers") == 0 && cli_parse_u64(val, UINT32_MAX, &v)) {
            cfg.keep_headers = (uint32_t)v;
        } else if (strcmp(a, "--until") == 0 && cli_parse_u64(val, UINT32_MAX, &v)) {
            cfg.has_until = true;
            cfg.until = (uint32_t)v;
        } else if (strcmp(a, "--threads") == 0 && cli_parse_u64(val, 64, &v) && v > 0) {
            cfg.threads = (unsigned)v;
        } else if (strcmp(a, "--timeout") == 0 && cli_parse_u64(val, 3600, &v) && v > 0) {
            cfg.timeout_ms = (uint32_t)(v * 1000);
        } else if (strcmp(a, "--max-message-mib") == 0 && cli_parse_u64(val, 4096, &v) && v) {
            cfg.max_message_bytes = (size_t)v << 20;
        } else if (strcmp(a, "--log-level") == 0) {
            enum ferry_log_level lvl;
            if (!ferry_log_parse_level(val, &lvl))
                return cli_usage_error(cmd, "--log-level takes error, warn, info or debug");
            ferry_log_set_level(lvl);
        } else {
            return cli_usage_error(cmd, "unknown option or bad value: %s %s", a, val);
        }
    }
    if (!cfg.n_urls)
        return cli_usage_error(cmd, "--url is required");
    if (cfg.n_para_urls && !cfg.para_id)
        return cli_usage_error(cmd, "--para-url needs --para-id");
    out.tty = isatty(STDERR_FILENO);
    cfg.on_relay = on_relay;
    cfg.on_para = on_para;
    cfg.on_progress = on_progress;
    cfg.user = &out;
    cfg.stop = cli_stop_on_signals(stop_msg);
    struct ferry_reason why = {""};
    static char out_buf[OUT_BUF];
    setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
    ferry_err err = ferry_follow_run(&cfg, &why);
    out_flush();
    if (out.tty)
        fputc('\n', stderr);
    if (err) {
        cli_errorf("follow: %s", why.text[0] ? why.text : ferry_strerror(err));
        return err == FERRY_E_VERIFY || err == FERRY_E_STATE || err == FERRY_E_INVALID ? CLI_INVALID
                                                                                       : CLI_NET;
    }
    return CLI_OK;
}

const struct cli_command cli_cmd_follow = {
    "follow",
    "light client: follow and verify relay (and parachain) finality",
    run_follow,
    "usage: ferry follow --url ws://… [--url …] [--para-url ws://… --para-id N]\n"
    "                    [--from genesis | --checkpoint FILE] [--db FILE] [--until N] [--json]\n"
    "\n"
    "Follows GRANDPA finality of a relay (or solo) chain and reports only blocks it verified\n"
    "itself: every header linked by parent hash, every batch ending in a justification that\n"
    "verifies against the tracked authority set (set changes applied from verified digests).\n"
    "With --para-url/--para-id it also proves Paras::Heads(N) at each verified relay block and\n"
    "links the parachain headers in between.\n"
    "\n"
    "  --url URL            relay node (ws, wss, http, https); repeat to list fallbacks\n"
    "  --para-url URL       parachain node; repeatable\n"
    "  --para-id N          the parachain's id (required with --para-url)\n"
    "  --from genesis       start of trust: the genesis header and its proven authority set\n"
    "                       (the default when the store is empty)\n"
    "  --checkpoint FILE    start of trust: a checkpoint from 'ferry checkpoint export'\n"
    "  --db FILE            store (default ferry.db): the SQLite FILE and the header log in\n"
    "                       FILE-headers/ (keep, move or delete both); resumes from it after\n"
    "                       a restart. A store written for another chain is refused.\n"
    "  --keep-headers N     keep the last N verified relay headers in the store (default\n"
    "                       65536, about 240 bytes each; 0 keeps all)\n"
    "  --until N            exit 0 once relay block N is verified\n"
    "  --json               one line per verified block on stdout:\n"
    "                       {\"chain\":\"relay\",\"number\":N,\"hash\":\"0x…\",\"set_id\":N}\n"
    "                       {\"chain\":\"para\",\"number\":N,\"hash\":\"0x…\"}\n"
    "  --threads N          signature-verification threads (default 2)\n"
    "  --timeout SECONDS    per-request timeout (default 30)\n"
    "  --max-message-mib N  largest RPC message accepted (default 64)\n"
    "  --insecure           accept unverified TLS certificates (test setups only)\n"
    "  --log-level L        error, warn, info (default) or debug; --log-json for JSON logs\n"
    "\n"
    "Progress goes to stderr: a live line on a terminal, log lines otherwise. A node that\n"
    "serves something that does not verify is logged with the reason and ferry moves to the\n"
    "next --url. SIGINT/SIGTERM stop it cleanly (a second one quits at once, without waiting\n"
    "for a request in flight); kill -9 loses nothing committed.\n"
    "\n"
    "exit status: 0 done (--until reached or stopped); 1 the trust root does not verify, the\n"
    "checkpoint is malformed, or the store/checkpoint belongs to another chain; 2 usage error;\n"
    "3 store or I/O error.\n",
    NULL,
};
