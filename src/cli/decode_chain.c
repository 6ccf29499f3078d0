/* `ferry decode events|storage`: argument handling and printing around tx.h's chain readers
 * (events decoded with the metadata of the runtime that executed the block) and the metadata's
 * storage entries (keys built with the entry's hashers from JSON, values decoded to JSON). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/hex.h"
#include "ferry/metadata.h"
#include "ferry/rpc.h"
#include "ferry/scale.h"
#include "ferry/chain_view.h"
#include "ferry/dyncodec.h"
#include "src/cli/cli.h"
#include "src/cli/decode_chain.h"

extern const struct cli_command cli_cmd_decode;

int cli_chain_connect(const char *cmd, const char *url, uint32_t timeout_s, struct ferry_rpc **out)
{
    *out = NULL;
    const char *urls[1] = {url};
    struct ferry_rpc_config cfg = {0};
    cfg.urls = urls;
    cfg.n_urls = 1;
    cfg.request_timeout_ms = timeout_s * 1000;
    cfg.connect_timeout_ms = timeout_s < 10 ? timeout_s * 1000 : 10000;
    struct ferry_rpc *c = NULL;
    ferry_err err = ferry_rpc_open(&cfg, &c);
    if (err == FERRY_E_ARG) {
        cli_errorf("%s: bad --url %s (want ws://, wss://, http:// or https://)", cmd, url);
        return CLI_USAGE;
    }
    if (err) {
        cli_errorf("%s: cannot start the RPC client: %s", cmd, ferry_strerror(err));
        return CLI_NET;
    }
    err = ferry_rpc_wait_connected(c, timeout_s * 1000);
    if (err) {
        char why[256];
        ferry_rpc_last_error(c, why, sizeof why);
        cli_errorf("%s: cannot connect to %s: %s", cmd, url, why[0] ? why : ferry_strerror(err));
        ferry_rpc_close(c);
        return CLI_NET;
    }
    *out = c;
    return CLI_OK;
}

cJSON *cli_json_arg(const char *text)
{
    /* require the whole text to be JSON: cJSON_Parse alone reads "0x12" as the number 0 */
    cJSON *v = cJSON_ParseWithOpts(text, NULL, 1);
    return v ? v : cJSON_CreateString(text);
}

/* Exit status for an error that came from the node or the connection. */
static int net_or_invalid(ferry_err err)
{
    return err == FERRY_E_NET || err == FERRY_E_RETRY || err == FERRY_E_TIMEOUT || err == FERRY_E_IO
               ? CLI_NET
               : CLI_INVALID;
}

struct chain_args {
    const char *url;
    const char *at;
    uint64_t timeout_s;
    char **pos; /* positional arguments */
    int n_pos;
};

static int parse_chain_args(const char *what, int argc, char **argv, struct chain_args *a)
{
    memset(a, 0, sizeof *a);
    a->timeout_s = 30;
    a->pos = calloc((size_t)argc + 1, sizeof *a->pos);
    if (!a->pos)
        return CLI_NET;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(s, "--url") || !strcmp(s, "--at") || !strcmp(s, "--timeout")) {
            if (!val)
                return cli_usage_error(&cli_cmd_decode, "%s %s needs a value", what, s);
            if (!strcmp(s, "--url"))
                a->url = val;
            else if (!strcmp(s, "--at"))
                a->at = val;
            else if (!cli_parse_u64(val, 3600, &a->timeout_s) || a->timeout_s == 0)
                return cli_usage_error(&cli_cmd_decode, "--timeout takes 1..3600 seconds");
            i++;
        } else {
            a->pos[a->n_pos++] = argv[i];
        }
    }
    if (!a->url)
        return cli_usage_error(&cli_cmd_decode, "%s needs --url ws://…", what);
    return CLI_OK;
}

/* Resolve --at (0x block hash or a decimal number); absent: the best block when want_best, else
 * *has = false (the node's default). */
static int resolve_at(struct ferry_rpc *c, const char *at, bool want_best, uint8_t out[32],
                      bool *has)
{
    struct ferry_rpc_error e = {0};
    ferry_err err;
    *has = true;
    if (!at) {
        if (!want_best) {
            *has = false;
            return CLI_OK;
        }
        struct ferry_header h;
        err = ferry_rpc_get_header(c, NULL, &h, &e);
        if (!err) {
            memcpy(out, h.hash, 32);
            ferry_header_free(&h);
        }
    } else if (at[0] == '0' && (at[1] == 'x' || at[1] == 'X')) {
        if (ferry_hex_decode_exact(at, out, 32) != FERRY_OK) {
            cli_errorf("decode: --at %s is not a 32-byte 0x block hash", at);
            return CLI_USAGE;
        }
        return CLI_OK;
    } else {
        uint64_t n;
        if (!cli_parse_u64(at, UINT32_MAX, &n)) {
            cli_errorf("decode: --at takes a 0x block hash or a block number, not %s", at);
            return CLI_USAGE;
        }
        err = ferry_rpc_get_block_hash(c, (uint32_t)n, out, &e);
        if (err == FERRY_E_NOT_FOUND) {
            cli_errorf("decode: the node has no block #%llu", (unsigned long long)n);
            return CLI_INVALID;
        }
    }
    if (err) {
        cli_errorf("decode: cannot resolve the block: %s%s%s", ferry_strerror(err),
                   e.message ? ": " : "", e.message ? e.message : "");
        ferry_rpc_error_clear(&e);
        return net_or_invalid(err);
    }
    return CLI_OK;
}

int cli_decode_events(int argc, char **argv)
{
    struct chain_args a;
    int rc = parse_chain_args("events", argc, argv, &a);
    if (rc == CLI_OK && a.n_pos)
        rc = cli_usage_error(&cli_cmd_decode, "events takes no positional argument (%s)", a.pos[0]);
    struct ferry_rpc *c = NULL;
    if (rc == CLI_OK)
        rc = cli_chain_connect("decode events", a.url, (uint32_t)a.timeout_s, &c);
    uint8_t block[32];
    bool has;
    if (rc == CLI_OK)
        rc = resolve_at(c, a.at, true, block, &has);
    if (rc == CLI_OK) {
        struct ferry_md_cache cache = {0};
        cJSON *events = NULL;
        uint32_t number = 0;
        struct ferry_reason why = {""};
        ferry_err err = ferry_chain_block_events(c, block, &cache, &events, &number, &why);
        if (err) {
            cli_errorf("decode events: %s", why.text[0] ? why.text : ferry_strerror(err));
            rc = net_or_invalid(err);
        } else {
            cJSON *o = cJSON_CreateObject();
            char hex[67];
            cJSON_AddStringToObject(o, "block", ferry_hex_encode(block, 32, hex));
            cJSON_AddNumberToObject(o, "number", number);
            cJSON_AddNumberToObject(o, "spec_version", cache.spec_version);
            cJSON_AddItemToObject(o, "events", events);
            rc = cli_print_json(o);
        }
        ferry_md_cache_clear(&cache);
    }
    ferry_rpc_close(c);
    free(a.pos);
    return rc;
}

/* Append the hashed key parts of entry st from JSON texts keys[n] to w. */
static int build_key(const struct ferry_metadata *md, const struct ferry_md_storage *st,
                     char **keys, int n, struct ferry_scale_writer *w, const char *dotted)
{
    if ((size_t)n != (st->is_map ? st->n_hashers : 0)) {
        cli_errorf("decode storage: %s takes %zu key%s, got %d", dotted,
                   st->is_map ? st->n_hashers : 0, st->is_map && st->n_hashers == 1 ? "" : "s", n);
        return CLI_USAGE;
    }
    const struct ferry_md_type *kt = ferry_md_type(md, st->key_type);
    for (int i = 0; i < n; i++) {
        uint32_t type = st->key_type;
        if (st->n_hashers > 1) {
            if (!kt || kt->kind != FERRY_MD_TUPLE || kt->n_tuple != st->n_hashers) {
                cli_errorf("decode storage: %s: key type is not a tuple of %zu", dotted,
                           st->n_hashers);
                return CLI_INVALID;
            }
            type = kt->tuple[i];
        }
        cJSON *v = cli_json_arg(keys[i]);
        struct ferry_scale_writer kw;
        ferry_scale_writer_init(&kw);
        struct ferry_reason why = {""};
        ferry_err err = v ? ferry_md_encode(md, type, v, &kw, &why) : FERRY_E_NOMEM;
        cJSON_Delete(v);
        if (err) {
            cli_errorf("decode storage: key %d (%s) does not encode: %s", i + 1, keys[i],
                       why.text[0] ? why.text : ferry_strerror(err));
            ferry_scale_writer_free(&kw);
            return CLI_INVALID;
        }
        size_t out_len = ferry_hasher_output_len(st->hashers[i], kw.len);
        uint8_t *h = malloc(out_len ? out_len : 1);
        if (!h) {
            ferry_scale_writer_free(&kw);
            return CLI_NET;
        }
        ferry_hasher_apply(st->hashers[i], kw.buf, kw.len, h);
        ferry_scale_put_bytes(w, h, out_len);
        free(h);
        ferry_scale_writer_free(&kw);
    }
    return CLI_OK;
}

static int storage_value(struct ferry_rpc *c, const struct ferry_metadata *md, const char *pallet,
                         const char *item, char **keys, int n_keys, const uint8_t *at)
{
    char dotted[200];
    snprintf(dotted, sizeof dotted, "%s.%s", pallet, item);
    const struct ferry_md_pallet *p = ferry_md_pallet_by_name(md, pallet);
    const struct ferry_md_storage *st = ferry_md_find_storage(md, pallet, item);
    if (!p || !st) {
        cli_errorf("decode storage: no storage item %s in this runtime's metadata", dotted);
        return CLI_INVALID;
    }
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    uint8_t prefix[32];
    ferry_storage_prefix(prefix, p->storage_prefix ? p->storage_prefix : pallet, item);
    ferry_scale_put_bytes(&w, prefix, 32);
    int rc = build_key(md, st, keys, n_keys, &w, dotted);
    if (rc != CLI_OK) {
        ferry_scale_writer_free(&w);
        return rc;
    }
    struct ferry_rpc_error e = {0};
    uint8_t *value = NULL;
    size_t len = 0;
    ferry_err err = ferry_rpc_get_storage(c, w.buf, w.len, at, &value, &len, &e);
    ferry_scale_writer_free(&w);
    if (err == FERRY_E_NOT_FOUND) {
        if (st->modifier == FERRY_MD_OPTIONAL)
            return cli_print_json(cJSON_CreateNull());
        value = malloc(st->default_len ? st->default_len : 1);
        if (!value)
            return CLI_NET;
        if (st->default_len)
            memcpy(value, st->default_value, st->default_len);
        len = st->default_len;
    } else if (err) {
        cli_errorf("decode storage: state_getStorage: %s%s%s", ferry_strerror(err),
                   e.message ? ": " : "", e.message ? e.message : "");
        ferry_rpc_error_clear(&e);
        return net_or_invalid(err);
    }
    cJSON *json = NULL;
    struct ferry_reason why = {""};
    err = ferry_md_decode(md, st->value_type, value, len, &json, &why);
    free(value);
    if (err) {
        cli_errorf("decode storage: %s value does not decode: %s", dotted,
                   why.text[0] ? why.text : ferry_strerror(err));
        return CLI_INVALID;
    }
    return cli_print_json(json);
}

int cli_decode_storage(int argc, char **argv)
{
    struct chain_args a;
    int rc = parse_chain_args("storage", argc, argv, &a);
    if (rc == CLI_OK && a.n_pos < 2)
        rc = cli_usage_error(&cli_cmd_decode, "storage needs <Pallet> <Item> [key-json …]");
    struct ferry_rpc *c = NULL;
    if (rc == CLI_OK)
        rc = cli_chain_connect("decode storage", a.url, (uint32_t)a.timeout_s, &c);
    uint8_t at[32];
    bool has = false;
    if (rc == CLI_OK)
        rc = resolve_at(c, a.at, true, at, &has);
    if (rc == CLI_OK) {
        struct ferry_md_cache cache = {0};
        const struct ferry_metadata *md = NULL;
        struct ferry_reason why = {""};
        ferry_err err = ferry_chain_metadata_at(c, has ? at : NULL, &cache, &md, &why);
        if (err) {
            cli_errorf("decode storage: %s", why.text[0] ? why.text : ferry_strerror(err));
            rc = net_or_invalid(err);
        } else {
            rc = storage_value(c, md, a.pos[0], a.pos[1], a.pos + 2, a.n_pos - 2, has ? at : NULL);
        }
        ferry_md_cache_clear(&cache);
    }
    ferry_rpc_close(c);
    free(a.pos);
    return rc;
}
