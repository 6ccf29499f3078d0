/* ferry — the relayer's configuration: a JSON file, every setting also a command-line flag.
 *
 * One table of settings drives the file format, the flags, the defaults, `--help` and
 * `--print-config`, so they cannot drift apart. A setting named `relay_url` in the file is
 * `--relay-url` on the command line; booleans also have `--no-<name>`; list settings repeat the
 * flag. Order of precedence: defaults < file < flags (a list given by flags replaces the file's
 * list, it does not append to it).
 *
 * JSON has no comments, so the file format allows any member whose name starts with "//" at the
 * top level and ignores it (`"//": "text"`, `"// relay_url": "why"`): the example in
 * config/ferry-relay.example.json documents each setting that way. Any other unknown member is an
 * error naming the member (a misspelt setting is never silently ignored).
 *
 * Strings are owned by the config (free with ferry_relay_config_free). Not thread-safe.
 */
#ifndef FERRY_RELAYCONF_H
#define FERRY_RELAYCONF_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

struct ferry_strlist {
    char **v;
    size_t n;
};

struct ferry_relay_config {
    /* endpoints */
    struct ferry_strlist relay_url; /* relay (parachain mode) or solo chain nodes, rotated */
    struct ferry_strlist para_url;  /* parachain nodes; non-empty = parachain mode */
    uint32_t para_id;               /* 0 = read ParachainInfo::ParachainId from the para chain */
    char *worker_url;               /* worker API base URL [http://127.0.0.1:8000] */
    /* identity */
    char *key_file;   /* signing key (secret URI file); required unless nothing is submitted */
    char *key_scheme; /* sr25519 | ed25519 | ecdsa [sr25519] */
    char *operator_account; /* optional operator account (SS58 or 0x hex) sent to the worker */
    /* trust */
    char *expect_genesis;      /* optional 0x hash: refuse a relay/solo chain with another one */
    char *expect_para_genesis; /* optional 0x hash for the parachain */
    char *checkpoint;          /* optional trust root file (`ferry checkpoint export`) */
    /* attestation and registration */
    char *attestation; /* none | ias | dcap: the provider asked of the worker at init [none] */
    char *pccs_url;    /* PCCS for DCAP collateral */
    uint32_t pccs_timeout_s;
    bool do_register; /* JSON `register` [true] */
    bool egress;      /* submit the worker's egress messages [true] */
    /* batching and transactions */
    uint32_t header_batch_max;     /* [10000]; chunks end at stored justifications */
    uint32_t para_batch_max;       /* [1000]; only warned about (docs/operating.md) */
    uint32_t dispatch_batch;       /* blocks per DispatchBlocks [16] */
    uint32_t egress_max_per_round; /* messages submitted per tip round at most [200] */
    uint32_t mortality;            /* mortal era period in blocks, 0 = immortal [64] */
    char *tip;                     /* decimal u128 [0] */
    uint32_t max_inflight;         /* egress transactions in the pool at once [16] */
    /* timing */
    uint32_t tip_poll_ms;       /* wait at the tip when no new finality arrives [2000] */
    uint32_t rpc_timeout_ms;    /* per node request [30000] */
    uint32_t worker_timeout_ms; /* per worker call [300000] */
    uint32_t backoff_max_ms;    /* retry delay cap [30000] */
    uint32_t max_message_mib;   /* largest node frame accepted [64] */
    /* operation */
    char *data_dir;       /* outbox and verified state [./ferry-relay] */
    char *metrics_addr;   /* host:port for /metrics /healthz /readyz; "off" disables
                           * [127.0.0.1:9616] */
    uint32_t ready_lag;   /* /readyz: worker within this many blocks of finality [8] */
    uint32_t stall_s;     /* /healthz fails when no step completed for this long [600] */
    uint32_t until_block; /* stop (exit 0) once the worker has relay block N; 0 = never */
    char *log_format;     /* text | json [text] */
    char *log_level;      /* error | warn | info | debug [info] */
    /* flag-only */
    char *config;      /* --config FILE (read by the caller before the other flags) */
    bool print_config; /* --print-config: print the effective configuration and exit */
    bool check;        /* --check: pre-flight only, then exit */
};

/* Fill c with the defaults (allocating the default strings).
 * Returns: FERRY_OK or FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_relay_config_defaults(struct ferry_relay_config *c);

/* Free what c owns and zero it. */
void ferry_relay_config_free(struct ferry_relay_config *c);

/* Apply a JSON document (an object) over c.
 * Returns: FERRY_OK; FERRY_E_JSON (not JSON, not an object); FERRY_E_ARG (unknown member,
 *          wrong type, value out of range; *why names the member); FERRY_E_NOMEM. On failure c
 *          may be partly updated: free it. */
FERRY_WARN_UNUSED ferry_err ferry_relay_config_load_json(struct ferry_relay_config *c,
                                                         const char *text, size_t len,
                                                         struct ferry_reason *why);

/* Read path and apply it as ferry_relay_config_load_json. Returns: also FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_relay_config_load_file(struct ferry_relay_config *c,
                                                         const char *path,
                                                         struct ferry_reason *why);

/* Find `--config FILE` (or `--config=FILE`) in argv[1..argc-1] without applying anything.
 * Returns: the file name (a pointer into argv) or NULL. */
const char *ferry_relay_config_find_file(int argc, char **argv);

/* Apply flags argv[1..argc-1] over c ("--name value", "--name=value", "--no-name"). A list
 * setting given by flags replaces the list from the file.
 * Returns: FERRY_OK; FERRY_E_ARG (unknown flag, missing or bad value; *why says which). */
FERRY_WARN_UNUSED ferry_err ferry_relay_config_apply_args(struct ferry_relay_config *c, int argc,
                                                          char **argv, struct ferry_reason *why);

/* Check the combination: at least one relay_url; ws/wss/http(s) URLs; a key file when anything
 * is to be submitted; known scheme, attestation, log format and level; hex hashes; mortality 0
 * or 4..65536; tip a decimal u128; nonzero batch sizes; metrics address "off" or host:port.
 * Returns: FERRY_OK or FERRY_E_ARG with *why. */
FERRY_WARN_UNUSED ferry_err ferry_relay_config_validate(const struct ferry_relay_config *c,
                                                        struct ferry_reason *why);

/* Returns: the effective configuration as a JSON object that ferry_relay_config_load_json
 *          accepts (flag-only settings left out), or NULL (OOM). */
cJSON *ferry_relay_config_to_json(const struct ferry_relay_config *c);

/* Returns: a static help text listing every setting: flag, JSON key, default, meaning. */
const char *ferry_relay_config_help(void);

/* Parse "host:port" (host an IPv4 address or "localhost"; port 0..65535, 0 = any free port).
 * Out: host (NUL-terminated, at most host_cap-1 chars), *port.
 * Returns: FERRY_OK or FERRY_E_ARG. */
FERRY_WARN_UNUSED ferry_err ferry_parse_hostport(const char *s, char *host, size_t host_cap,
                                                 uint16_t *port);

#endif
