/* The relayer's configuration (include/ferry/relayconf.h): one table of settings gives the JSON
 * members, the flags, the defaults and the help text. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/relayconf.h"

enum kind { K_STR, K_LIST, K_U32, K_BOOL };

struct setting {
    const char *key; /* JSON member; the flag is "--" + key with '_' -> '-' */
    enum kind kind;
    size_t off;
    const char *def;   /* default as text (NULL = unset / empty) */
    uint32_t min, max; /* K_U32 range */
    bool flag_only;
    const char *help;
};

#define S(field) offsetof(struct ferry_relay_config, field)

static const struct setting settings[] = {
    {"relay_url", K_LIST, S(relay_url), NULL, 0, 0, false,
     "relay-chain (or solo-chain) node, ws:// or wss://; repeat for fail-over"},
    {"para_url", K_LIST, S(para_url), NULL, 0, 0, false,
     "parachain node; repeat for fail-over; setting one selects parachain mode"},
    {"para_id", K_U32, S(para_id), "0", 0, UINT32_MAX, false,
     "parachain id (0 = read ParachainInfo::ParachainId from the parachain)"},
    {"worker_url", K_STR, S(worker_url), "http://127.0.0.1:8000", 0, 0, false,
     "worker API base URL"},
    {"key_file", K_STR, S(key_file), NULL, 0, 0, false,
     "file holding the signing key's secret URI (mode 0600); needed to register or submit"},
    {"key_scheme", K_STR, S(key_scheme), "sr25519", 0, 0, false, "sr25519, ed25519 or ecdsa"},
    {"operator", K_STR, S(operator_account), NULL, 0, 0, false,
     "operator account (SS58 or 0x hex) the worker registers with"},
    {"expect_genesis", K_STR, S(expect_genesis), NULL, 0, 0, false,
     "0x genesis hash the relay/solo chain must have (refuse another chain)"},
    {"expect_para_genesis", K_STR, S(expect_para_genesis), NULL, 0, 0, false,
     "0x genesis hash the parachain must have"},
    {"checkpoint", K_STR, S(checkpoint), NULL, 0, 0, false,
     "trust root file (ferry checkpoint export): an uninitialised worker and ferry's own light "
     "client start there instead of at genesis; a checkpoint of another chain exits 4"},
    {"attestation", K_STR, S(attestation), "none", 0, 0, false,
     "attestation provider asked of the worker: none, ias or dcap"},
    {"pccs_url", K_STR, S(pccs_url), "https://pccs.phala.network/sgx/certification/v4/", 0, 0,
     false, "PCCS base URL for DCAP collateral"},
    {"pccs_timeout_s", K_U32, S(pccs_timeout_s), "30", 1, 3600, false,
     "timeout of one PCCS request, seconds"},
    {"register", K_BOOL, S(do_register), "true", 0, 0, false,
     "register the worker on chain at the tip (PhalaRegistry.register_worker_v2)"},
    {"egress", K_BOOL, S(egress), "true", 0, 0, false,
     "submit the worker's egress messages (PhalaMq.sync_offchain_message)"},
    {"header_batch_max", K_U32, S(header_batch_max), "10000", 1, 1000000, false,
     "relay headers per SyncHeader call at most: a longer batch is cut at blocks with a stored "
     "justification (verified first); where the node stores none within the limit it goes whole, "
     "with a warning"},
    {"para_batch_max", K_U32, S(para_batch_max), "1000", 1, 1000000, false,
     "para headers per SyncParaHeader call: not enforceable (a batch must end at the para head "
     "proven at the worker's last relay header); exceeding it is logged. Bounded in practice by "
     "header_batch_max (about one para block per relay block)"},
    {"dispatch_batch", K_U32, S(dispatch_batch), "16", 1, 10000, false,
     "blocks per DispatchBlocks call"},
    {"egress_max_per_round", K_U32, S(egress_max_per_round), "200", 1, 100000, false,
     "egress messages submitted per round at the tip at most"},
    {"max_inflight", K_U32, S(max_inflight), "16", 1, 4096, false,
     "egress transactions submitted but not yet finalized, at most"},
    {"mortality", K_U32, S(mortality), "64", 0, 65536, false,
     "mortal era period of transactions in blocks (0 = immortal)"},
    {"tip", K_STR, S(tip), "0", 0, 0, false, "transaction tip, decimal"},
    {"tip_poll_ms", K_U32, S(tip_poll_ms), "2000", 10, 3600000, false,
     "at the tip, longest wait for new finality before looking again, ms"},
    {"rpc_timeout_ms", K_U32, S(rpc_timeout_ms), "30000", 100, 3600000, false,
     "one node request, ms"},
    {"worker_timeout_ms", K_U32, S(worker_timeout_ms), "300000", 100, 86400000, false,
     "one worker call, ms"},
    {"backoff_max_ms", K_U32, S(backoff_max_ms), "30000", 100, 3600000, false,
     "cap of the retry delay after transient failures, ms"},
    {"max_message_mib", K_U32, S(max_message_mib), "64", 1, 4096, false,
     "largest WebSocket frame accepted from a node, MiB"},
    {"data_dir", K_STR, S(data_dir), "ferry-relay", 0, 0, false,
     "directory of the outbox database (created, mode 0700)"},
    {"metrics_addr", K_STR, S(metrics_addr), "127.0.0.1:9616", 0, 0, false,
     "host:port serving /metrics, /healthz and /readyz, or \"off\""},
    {"ready_lag", K_U32, S(ready_lag), "8", 0, UINT32_MAX, false,
     "/readyz succeeds while the worker is within this many blocks of finality"},
    {"stall_s", K_U32, S(stall_s), "600", 1, 86400, false,
     "/healthz fails when no step has completed for this long, seconds"},
    {"until_block", K_U32, S(until_block), "0", 0, UINT32_MAX, false,
     "stop (exit 0) once the worker has this relay block (0 = run forever)"},
    {"log_format", K_STR, S(log_format), "text", 0, 0, false, "text or json"},
    {"log_level", K_STR, S(log_level), "info", 0, 0, false, "error, warn, info or debug"},
    {"config", K_STR, S(config), NULL, 0, 0, true, "read settings from this JSON file first"},
    {"print_config", K_BOOL, S(print_config), "false", 0, 0, true,
     "print the effective configuration as JSON and exit"},
    {"check", K_BOOL, S(check), "false", 0, 0, true,
     "run the pre-flight checks against nodes and worker, then exit"},
};

#define N_SETTINGS (sizeof settings / sizeof settings[0])

static void *field(struct ferry_relay_config *c, const struct setting *s)
{
    return (char *)c + s->off;
}

static const void *cfield(const struct ferry_relay_config *c, const struct setting *s)
{
    return (const char *)c + s->off;
}

static void list_clear(struct ferry_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static ferry_err list_push(struct ferry_strlist *l, const char *s)
{
    char *d = strdup(s);
    char **v = d ? realloc(l->v, (l->n + 1) * sizeof *v) : NULL;
    if (!v) {
        free(d);
        return FERRY_E_NOMEM;
    }
    v[l->n++] = d;
    l->v = v;
    return FERRY_OK;
}

static ferry_err set_str(char **dst, const char *s)
{
    char *d = NULL;
    if (s) {
        d = strdup(s);
        if (!d)
            return FERRY_E_NOMEM;
    }
    free(*dst);
    *dst = d;
    return FERRY_OK;
}

static bool parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) {
        *out = true;
        return true;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) {
        *out = false;
        return true;
    }
    return false;
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!*s || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Set a scalar setting from text (flags and defaults share this). */
static ferry_err set_text(struct ferry_relay_config *c, const struct setting *s, const char *v,
                          struct ferry_reason *why)
{
    switch (s->kind) {
    case K_STR:
        return set_str(field(c, s), v);
    case K_LIST:
        return v ? list_push(field(c, s), v) : FERRY_OK;
    case K_U32:
        if (!parse_u32(v, s->min, s->max, field(c, s)))
            return ferry_reason_set(why, FERRY_E_ARG, "%s: \"%s\" is not an integer in %u..%u",
                                    s->key, v, s->min, s->max);
        return FERRY_OK;
    case K_BOOL:
        if (!parse_bool(v, field(c, s)))
            return ferry_reason_set(why, FERRY_E_ARG, "%s: \"%s\" is not true or false", s->key, v);
        return FERRY_OK;
    }
    return FERRY_E_ARG;
}

ferry_err ferry_relay_config_defaults(struct ferry_relay_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (!settings[i].def)
            continue;
        ferry_err err = set_text(c, &settings[i], settings[i].def, NULL);
        if (err) {
            ferry_relay_config_free(c);
            return err;
        }
    }
    return FERRY_OK;
}

void ferry_relay_config_free(struct ferry_relay_config *c)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (settings[i].kind == K_STR)
            free(*(char **)field(c, &settings[i]));
        else if (settings[i].kind == K_LIST)
            list_clear(field(c, &settings[i]));
    }
    memset(c, 0, sizeof *c);
}

static const struct setting *by_key(const char *key)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (!strcmp(settings[i].key, key))
            return &settings[i];
    return NULL;
}

static ferry_err json_member(struct ferry_relay_config *c, const struct setting *s, const cJSON *v,
                             struct ferry_reason *why)
{
    switch (s->kind) {
    case K_STR:
        if (cJSON_IsNull(v))
            return set_str(field(c, s), NULL);
        /* a number is accepted for the tip, whose natural JSON form is numeric */
        if (cJSON_IsNumber(v) && !strcmp(s->key, "tip") && v->valuedouble >= 0 &&
            v->valuedouble < 9007199254740992.0) {
            char buf[32];
            snprintf(buf, sizeof buf, "%.0f", v->valuedouble);
            return set_str(field(c, s), buf);
        }
        if (!cJSON_IsString(v))
            return ferry_reason_set(why, FERRY_E_ARG, "%s: expected a string", s->key);
        return set_str(field(c, s), v->valuestring);
    case K_LIST: {
        struct ferry_strlist *l = field(c, s);
        list_clear(l);
        if (cJSON_IsString(v))
            return list_push(l, v->valuestring);
        if (!cJSON_IsArray(v))
            return ferry_reason_set(why, FERRY_E_ARG,
                                    "%s: expected a string or an array of "
                                    "strings",
                                    s->key);
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            if (!cJSON_IsString(it))
                return ferry_reason_set(why, FERRY_E_ARG, "%s: expected an array of strings",
                                        s->key);
            ferry_err err = list_push(l, it->valuestring);
            if (err)
                return err;
        }
        return FERRY_OK;
    }
    case K_U32: {
        double d = v->valuedouble;
        if (!cJSON_IsNumber(v) || d != (double)(uint64_t)d || d < s->min || d > s->max)
            return ferry_reason_set(why, FERRY_E_ARG, "%s: expected an integer in %u..%u", s->key,
                                    s->min, s->max);
        *(uint32_t *)field(c, s) = (uint32_t)d;
        return FERRY_OK;
    }
    case K_BOOL:
        if (!cJSON_IsBool(v))
            return ferry_reason_set(why, FERRY_E_ARG, "%s: expected true or false", s->key);
        *(bool *)field(c, s) = cJSON_IsTrue(v);
        return FERRY_OK;
    }
    return FERRY_E_ARG;
}

ferry_err ferry_relay_config_load_json(struct ferry_relay_config *c, const char *text, size_t len,
                                       struct ferry_reason *why)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        return ferry_reason_set(why, FERRY_E_JSON,
                                "configuration is not valid JSON (near byte "
                                "%zu)",
                                at);
    }
    ferry_err err = FERRY_OK;
    if (!cJSON_IsObject(root)) {
        err = ferry_reason_set(why, FERRY_E_JSON, "configuration must be a JSON object");
        goto out;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, root)
    {
        if (!strncmp(m->string, "//", 2))
            continue; /* a comment */
        const struct setting *s = by_key(m->string);
        if (!s || s->flag_only) {
            err = ferry_reason_set(why, FERRY_E_ARG,
                                   "unknown setting \"%s\" (see `ferry relay --help`; comments "
                                   "are members whose name starts with \"//\")",
                                   m->string);
            goto out;
        }
        err = json_member(c, s, m, why);
        if (err)
            goto out;
    }
out:
    cJSON_Delete(root);
    return err;
}

ferry_err ferry_relay_config_load_file(struct ferry_relay_config *c, const char *path,
                                       struct ferry_reason *why)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ferry_reason_set(why, FERRY_E_IO, "cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ferry_err err = FERRY_OK;
    for (;;) {
        if (len == cap) {
            if (cap >= (1u << 24)) {
                err = ferry_reason_set(why, FERRY_E_TOO_LARGE, "%s: larger than 16 MiB", path);
                break;
            }
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) {
                err = FERRY_E_NOMEM;
                break;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                err = ferry_reason_set(why, FERRY_E_IO, "cannot read %s", path);
            break;
        }
    }
    fclose(f);
    if (!err) {
        err = ferry_relay_config_load_json(c, buf, len, why);
        if (err)
            ferry_reason_prefix(why, err, "%s: ", path);
    }
    free(buf);
    return err;
}

/* "--relay-url" -> "relay_url" in out; false when it does not look like a long flag. */
static bool flag_key(const char *arg, char *out, size_t cap, const char **value)
{
    if (strncmp(arg, "--", 2) || !arg[2])
        return false;
    arg += 2;
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n + 1 > cap)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = arg[i] == '-' ? '_' : arg[i];
    out[n] = 0;
    *value = eq ? eq + 1 : NULL;
    return true;
}

const char *ferry_relay_config_find_file(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            return argv[i + 1];
        if (!strncmp(argv[i], "--config=", 9))
            return argv[i] + 9;
    }
    return NULL;
}

ferry_err ferry_relay_config_apply_args(struct ferry_relay_config *c, int argc, char **argv,
                                        struct ferry_reason *why)
{
    /* lists named on the command line replace the file's: clear each at its first flag */
    bool cleared[N_SETTINGS] = {false};
    for (int i = 1; i < argc; i++) {
        char key[64];
        const char *value;
        if (!flag_key(argv[i], key, sizeof key, &value))
            return ferry_reason_set(why, FERRY_E_ARG, "unexpected argument \"%s\"", argv[i]);
        const struct setting *s = by_key(key);
        bool negated = false;
        if (!s && !strncmp(key, "no_", 3)) {
            s = by_key(key + 3);
            negated = s && s->kind == K_BOOL;
            if (!negated)
                s = NULL;
        }
        if (!s)
            return ferry_reason_set(why, FERRY_E_ARG, "unknown option %s", argv[i]);
        if (s->kind == K_BOOL) {
            if (negated && value)
                return ferry_reason_set(why, FERRY_E_ARG, "%s takes no value", argv[i]);
            if (!value)
                value = negated ? "false" : "true";
        } else if (!value) {
            if (i + 1 >= argc)
                return ferry_reason_set(why, FERRY_E_ARG, "%s needs a value", argv[i]);
            value = argv[++i];
        }
        if (s->kind == K_LIST && !cleared[s - settings]) {
            list_clear(field(c, s));
            cleared[s - settings] = true;
        }
        ferry_err err = set_text(c, s, value, why);
        if (err)
            return err;
    }
    return FERRY_OK;
}

static bool is_hex32(const char *s)
{
    if (strncmp(s, "0x", 2) || strlen(s) != 66)
        return false;
    for (size_t i = 2; i < 66; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

static bool one_of(const char *s, const char *const *names)
{
    for (; *names; names++)
        if (s && !strcmp(s, *names))
            return true;
    return false;
}

static bool url_with(const char *u, const char *const *schemes)
{
    for (; *schemes; schemes++) {
        size_t n = strlen(*schemes);
        if (!strncmp(u, *schemes, n) && u[n])
            return true;
    }
    return false;
}

static bool is_u128_decimal(const char *s)
{
    static const char max[] = "340282366920938463463374607431768211455";
    size_t n = strlen(s);
    if (!n || n > sizeof max - 1)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    if (n > 1 && s[0] == '0')
        return false;
    return n < sizeof max - 1 || strcmp(s, max) <= 0;
}

ferry_err ferry_parse_hostport(const char *s, char *host, size_t host_cap, uint16_t *port)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon || colon == s || (size_t)(colon - s) + 1 > host_cap)
        return FERRY_E_ARG;
    uint32_t p;
    if (!parse_u32(colon + 1, 0, 65535, &p))
        return FERRY_E_ARG;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    if (strcmp(host, "localhost")) {
        unsigned a, b, cc, d;
        char tail;
        if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &cc, &d, &tail) != 4 || a > 255 || b > 255 ||
            cc > 255 || d > 255)
            return FERRY_E_ARG;
    }
    *port = (uint16_t)p;
    return FERRY_OK;
}

ferry_err ferry_relay_config_validate(const struct ferry_relay_config *c, struct ferry_reason *why)
{
    static const char *const ws[] = {"ws://", "wss://", NULL};
    static const char *const http[] = {"http://", "https://", NULL};
    static const char *const schemes[] = {"sr25519", "ed25519", "ecdsa", NULL};
    static const char *const att[] = {"none", "ias", "dcap", NULL};
    static const char *const fmts[] = {"text", "json", NULL};
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};

    if (!c->relay_url.n)
        return ferry_reason_set(why, FERRY_E_ARG,
                                "relay_url: at least one node is needed "
                                "(--relay-url ws://…)");
    for (size_t i = 0; i < c->relay_url.n; i++)
        if (!url_with(c->relay_url.v[i], ws))
            return ferry_reason_set(why, FERRY_E_ARG,
                                    "relay_url: \"%s\" is not a ws:// or "
                                    "wss:// URL",
                                    c->relay_url.v[i]);
    for (size_t i = 0; i < c->para_url.n; i++)
        if (!url_with(c->para_url.v[i], ws))
            return ferry_reason_set(why, FERRY_E_ARG,
                                    "para_url: \"%s\" is not a ws:// or "
                                    "wss:// URL",
                                    c->para_url.v[i]);
    if (!c->worker_url || !url_with(c->worker_url, http))
        return ferry_reason_set(why, FERRY_E_ARG,
                                "worker_url: \"%s\" is not an http:// or "
                                "https:// URL",
                                c->worker_url ? c->worker_url : "");
    if ((c->do_register || c->egress) && !c->key_file && !c->print_config)
        return ferry_reason_set(why, FERRY_E_ARG,
                                "key_file: a signing key is needed to register the worker and "
                                "submit its messages (or pass --no-register --no-egress)");
    if (!one_of(c->key_scheme, schemes))
        return ferry_reason_set(why, FERRY_E_ARG,
                                "key_scheme: \"%s\" is not sr25519, ed25519 "
                                "or ecdsa",
                                c->key_scheme ? c->key_scheme : "");
    if (!one_of(c->attestation, att))
        return ferry_reason_set(why, FERRY_E_ARG, "attestation: \"%s\" is not none, ias or dcap",
                                c->attestation ? c->attestation : "");
    if (c->attestation && !strcmp(c->attestation, "dcap") &&
        (!c->pccs_url || !url_with(c->pccs_url, http)))
        return ferry_reason_set(why, FERRY_E_ARG, "pccs_url: DCAP needs an http(s) PCCS URL");
    if (!one_of(c->log_format, fmts))
        return ferry_reason_set(why, FERRY_E_ARG, "log_format: \"%s\" is not text or json",
                                c->log_format ? c->log_format : "");
    if (!one_of(c->log_level, levels))
        return ferry_reason_set(why, FERRY_E_ARG,
                                "log_level: \"%s\" is not error, warn, info "
                                "or debug",
                                c->log_level ? c->log_level : "");
    if (c->expect_genesis && !is_hex32(c->expect_genesis))
        return ferry_reason_set(why, FERRY_E_ARG,
                                "expect_genesis: not a 0x-prefixed 32-byte "
                                "hash");
    if (c->expect_para_genesis && !is_hex32(c->expect_para_genesis))
        return ferry_reason_set(why, FERRY_E_ARG,
                                "expect_para_genesis: not a 0x-prefixed "
                                "32-byte hash");
    if (c->expect_para_genesis && !c->para_url.n)
        return ferry_reason_set(why, FERRY_E_ARG,
                                "expect_para_genesis: needs para_url "
                                "(parachain mode)");
    if (c->mortality && c->mortality < 4)
        return ferry_reason_set(why, FERRY_E_ARG,
                                "mortality: %u is too short (0 = immortal, or "
                                "4..65536 blocks)",
                                c->mortality);
    if (!c->tip || !is_u128_decimal(c->tip))
        return ferry_reason_set(why, FERRY_E_ARG, "tip: \"%s\" is not a decimal u128",
                                c->tip ? c->tip : "");
    if (!c->data_dir || !*c->data_dir)
        return ferry_reason_set(why, FERRY_E_ARG, "data_dir: must not be empty");
    char host[64];
    uint16_t port;
    if (!c->metrics_addr || (strcmp(c->metrics_addr, "off") &&
                             ferry_parse_hostport(c->metrics_addr, host, sizeof host, &port)))
        return ferry_reason_set(why, FERRY_E_ARG,
                                "metrics_addr: \"%s\" is not \"off\" or "
                                "IPv4:port",
                                c->metrics_addr ? c->metrics_addr : "");
    return FERRY_OK;
}

cJSON *ferry_relay_config_to_json(const struct ferry_relay_config *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        if (s->flag_only)
            continue;
        cJSON *v = NULL;
        switch (s->kind) {
        case K_STR: {
            const char *str = *(char *const *)cfield(c, s);
            v = str ? cJSON_CreateString(str) : cJSON_CreateNull();
            break;
        }
        case K_LIST: {
            const struct ferry_strlist *l = cfield(c, s);
            v = cJSON_CreateArray();
            for (size_t j = 0; v && j < l->n; j++)
                cJSON_AddItemToArray(v, cJSON_CreateString(l->v[j]));
            break;
        }
        case K_U32:
            v = cJSON_CreateNumber(*(const uint32_t *)cfield(c, s));
            break;
        case K_BOOL:
            v = cJSON_CreateBool(*(const bool *)cfield(c, s));
            break;
        }
        if (!v || !cJSON_AddItemToObject(o, s->key, v)) {
            cJSON_Delete(v);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

const char *ferry_relay_config_help(void)
{
    static char text[8192];
    if (text[0])
        return text;
    size_t at = 0;
    for (size_t i = 0; i < N_SETTINGS && at < sizeof text; i++) {
        const struct setting *s = &settings[i];
        char flag[64];
        size_t n = strlen(s->key);
        for (size_t j = 0; j <= n && j < sizeof flag; j++)
            flag[j] = s->key[j] == '_' ? '-' : s->key[j];
        const char *arg = s->kind == K_BOOL ? "" : s->kind == K_U32 ? " N" : " VALUE";
        int w = snprintf(text + at, sizeof text - at, "  --%s%s%s\n      %s%s%s%s\n",
                         s->kind == K_BOOL && !s->flag_only ? "[no-]" : "", flag, arg, s->help,
                         s->def ? " [" : "", s->def ? s->def : "", s->def ? "]" : "");
        if (w < 0)
            break;
        at += (size_t)w;
    }
    return text;
}
