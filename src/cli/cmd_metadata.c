/* `ferry metadata`: offline inspection of runtime metadata (V14/V15) and dynamic decoding with
 * it. Reads the metadata from a file (binary SCALE, "0x…" hex text, or a JSON-RPC response
 * {"result": "0x…"} as `state_getMetadata` returns it), from a 0x… argument or from stdin. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "ferry/metadata.h"
#include "ferry/scale.h"
#include "ferry/dyncodec.h"
#include "src/cli/md_render.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_metadata;

/* Turn the raw input into metadata bytes: hex text, JSON-RPC response or binary. */
static ferry_err input_bytes(char *text, size_t len, uint8_t **out, size_t *outlen)
{
    char *s = text;
    while (s < text + len && isspace((unsigned char)*s))
        s++;
    if (*s == '{') {
        cJSON *j = cJSON_Parse(s);
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "result");
        ferry_err err = cJSON_IsString(r) ? cli_hex_arg(r->valuestring, out, outlen) : FERRY_E_JSON;
        cJSON_Delete(j);
        return err;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && strlen(s) == len - (size_t)(s - text))
        return cli_hex_arg(s, out, outlen);
    *out = malloc(len ? len : 1);
    if (!*out)
        return FERRY_E_NOMEM;
    memcpy(*out, text, len);
    *outlen = len;
    return FERRY_OK;
}

static int load(const char *arg, struct ferry_metadata **md)
{
    char *text;
    size_t len;
    ferry_err err;
    if (strcmp(arg, "-") == 0 || (arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X')))
        err = cli_read_arg(arg, &text, &len);
    else
        err = cli_read_file(arg[0] == '@' ? arg + 1 : arg, &text, &len);
    if (err) {
        cli_errorf("metadata: cannot read %s: %s", arg, ferry_strerror(err));
        return CLI_NET;
    }
    uint8_t *bytes;
    size_t n;
    err = input_bytes(text, len, &bytes, &n);
    free(text);
    if (err) {
        cli_errorf("metadata: %s is neither metadata bytes, 0x hex nor a JSON-RPC result", arg);
        return CLI_INVALID;
    }
    struct ferry_reason why = {""};
    err = ferry_metadata_parse(bytes, n, md, &why);
    free(bytes);
    if (err) {
        cli_errorf("metadata: %s: %s (%s)", arg, why.text, ferry_strerror(err));
        return CLI_INVALID;
    }
    return CLI_OK;
}

static void print_summary(const struct ferry_metadata *md, bool pallets_only)
{
    const struct ferry_md_extrinsic *x = ferry_md_extrinsic(md);
    if (!pallets_only) {
        printf("metadata V%u, %zu types, %zu pallets, extrinsic v%u\n", ferry_metadata_version(md),
               ferry_md_type_count(md), ferry_md_pallet_count(md), x->version);
        printf("signed extensions:");
        for (size_t i = 0; i < x->n_signed_ext; i++)
            printf(" %s", x->signed_ext[i].identifier);
        printf("\n");
    }
    for (size_t i = 0; i < ferry_md_pallet_count(md); i++) {
        const struct ferry_md_pallet *p = ferry_md_pallet_at(md, i);
        if (pallets_only) {
            printf("%u %s\n", p->index, p->name);
            continue;
        }
        size_t calls = p->has_calls ? ferry_md_type(md, p->calls_type)->n_variants : 0;
        size_t events = p->has_events ? ferry_md_type(md, p->events_type)->n_variants : 0;
        size_t errors = p->has_errors ? ferry_md_type(md, p->errors_type)->n_variants : 0;
        printf("  [%3u] %-28s calls %3zu  events %3zu  errors %3zu  storage %3zu  constants %3zu\n",
               p->index, p->name, calls, events, errors, p->n_storage, p->n_constants);
    }
}

static void print_calls(const struct ferry_metadata *md, const struct ferry_md_pallet *p)
{
    if (!p->has_calls)
        return;
    const struct ferry_md_type *t = ferry_md_type(md, p->calls_type);
    for (size_t i = 0; i < t->n_variants; i++) {
        const struct ferry_md_variant *v = &t->variants[i];
        printf("%u.%u %s.%s(", p->index, v->index, p->name, v->name);
        for (size_t k = 0; k < v->n_fields; k++) {
            char tn[256];
            const struct ferry_md_field *f = &v->fields[k];
            printf("%s%s%s%s", k ? ", " : "", f->name ? f->name : "", f->name ? ": " : "",
                   f->type_name ? f->type_name : ferry_md_type_name(md, f->type, tn, sizeof tn));
        }
        printf(")\n");
    }
}

static void print_storage(const struct ferry_metadata *md, const struct ferry_md_pallet *p)
{
    static const char *const hashers[] = {"Blake2_128", "Blake2_256", "Blake2_128Concat",
                                          "Twox128",    "Twox256",    "Twox64Concat",
                                          "Identity"};
    for (size_t i = 0; i < p->n_storage; i++) {
        const struct ferry_md_storage *s = &p->storage[i];
        char key[256], val[256];
        ferry_md_type_name(md, s->value_type, val, sizeof val);
        printf("%s.%s: ", p->name, s->name);
        if (s->is_map) {
            printf("map [");
            for (size_t k = 0; k < s->n_hashers; k++)
                printf("%s%s", k ? ", " : "", hashers[s->hashers[k]]);
            printf("] %s -> ", ferry_md_type_name(md, s->key_type, key, sizeof key));
        }
        bool opt = s->modifier == FERRY_MD_OPTIONAL;
        printf("%s%s%s\n", opt ? "Option<" : "", val, opt ? ">" : "");
    }
}

static int decode_hex(const struct ferry_metadata *md, const char *what, long type, const char *hex)
{
    uint8_t *bytes;
    size_t len;
    if (cli_hex_arg(hex, &bytes, &len)) {
        cli_errorf("metadata: %s value is not 0x-prefixed hex", what);
        return CLI_INVALID;
    }
    cJSON *j;
    struct ferry_reason why = {""};
    ferry_err err = type < 0 ? ferry_metadata_decode_events(md, bytes, len, &j, &why)
                             : ferry_md_decode(md, (uint32_t)type, bytes, len, &j, &why);
    free(bytes);
    if (err) {
        cli_errorf("metadata: cannot decode %s: %s", what, why.text);
        return CLI_INVALID;
    }
    return cli_print_json(j);
}

static int encode_call(const struct ferry_metadata *md, const char *dotted, const char *args_text)
{
    cJSON *args = cJSON_Parse(args_text);
    if (!args) {
        cli_errorf("metadata: call arguments are not JSON");
        return CLI_INVALID;
    }
    struct ferry_scale_writer w;
    struct ferry_reason why = {""};
    ferry_scale_writer_init(&w);
    ferry_err err = ferry_md_encode_call(md, dotted, args, &w, &why);
    cJSON_Delete(args);
    if (err) {
        ferry_scale_writer_free(&w);
        cli_errorf("metadata: cannot encode %s: %s", dotted, why.text);
        return CLI_INVALID;
    }
    char *hex = ferry_hex_alloc(w.buf, w.len);
    ferry_scale_writer_free(&w);
    if (!hex)
        return CLI_NET;
    puts(hex);
    free(hex);
    return CLI_OK;
}

static int constant(const struct ferry_metadata *md, const char *dotted)
{
    char pallet[128];
    const char *dot = strchr(dotted, '.');
    if (!dot || (size_t)(dot - dotted) >= sizeof pallet)
        return cli_usage_error(&cli_cmd_metadata, "--constant takes Pallet.Name");
    memcpy(pallet, dotted, (size_t)(dot - dotted));
    pallet[dot - dotted] = 0;
    const struct ferry_md_constant *c = ferry_md_find_constant(md, pallet, dot + 1);
    if (!c) {
        cli_errorf("metadata: no constant %s", dotted);
        return CLI_INVALID;
    }
    cJSON *j;
    struct ferry_reason why = {""};
    if (ferry_md_decode(md, c->type, c->value, c->value_len, &j, &why)) {
        cli_errorf("metadata: cannot decode constant %s: %s", dotted, why.text);
        return CLI_INVALID;
    }
    return cli_print_json(j);
}

static int run(int argc, char **argv)
{
    const char *input = NULL, *calls = NULL, *storage = NULL, *decode_type = NULL,
               *decode_value = NULL, *events = NULL, *cnst = NULL, *enc = NULL, *enc_args = NULL;
    bool json = false, pallets = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has1 = i + 1 < argc, has2 = i + 2 < argc;
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--pallets") == 0) {
            pallets = true;
        } else if (strcmp(a, "--calls") == 0 && has1) {
            calls = argv[++i];
        } else if (strcmp(a, "--storage") == 0 && has1) {
            storage = argv[++i];
        } else if (strcmp(a, "--constant") == 0 && has1) {
            cnst = argv[++i];
        } else if (strcmp(a, "--events") == 0 && has1) {
            events = argv[++i];
        } else if (strcmp(a, "--decode-type") == 0 && has2) {
            decode_type = argv[++i];
            decode_value = argv[++i];
        } else if (strcmp(a, "--encode-call") == 0 && has2) {
            enc = argv[++i];
            enc_args = argv[++i];
        } else if (a[0] == '-' && a[1] == '-') {
            return cli_usage_error(&cli_cmd_metadata, "unknown option or missing value: %s", a);
        } else if (!input) {
            input = a;
        } else {
            return cli_usage_error(&cli_cmd_metadata, "unexpected argument: %s", a);
        }
    }
    if (!input)
        return cli_usage_error(&cli_cmd_metadata, "missing the metadata (FILE, 0x… or -)");
    uint64_t type = 0;
    if (decode_type && !cli_parse_u64(decode_type, UINT32_MAX, &type))
        return cli_usage_error(&cli_cmd_metadata, "--decode-type needs a type id");
    struct ferry_metadata *md;
    int rc = load(input, &md);
    if (rc)
        return rc;
    const char *pname = calls ? calls : storage;
    const struct ferry_md_pallet *p = pname ? ferry_md_pallet_by_name(md, pname) : NULL;
    if (pname && !p) {
        cli_errorf("metadata: no pallet named %s", pname);
        rc = CLI_INVALID;
    } else if (decode_type) {
        rc = decode_hex(md, "value", (long)type, decode_value);
    } else if (events) {
        rc = decode_hex(md, "events", -1, events);
    } else if (cnst) {
        rc = constant(md, cnst);
    } else if (enc) {
        rc = encode_call(md, enc, enc_args);
    } else if (calls) {
        if (json)
            rc = cli_print_json(cli_md_calls_json(md, p));
        else
            print_calls(md, p);
    } else if (storage) {
        if (json)
            rc = cli_print_json(cli_md_storage_json(md, p));
        else
            print_storage(md, p);
    } else if (json) {
        rc = cli_print_json(cli_md_summary_json(md));
    } else {
        print_summary(md, pallets);
    }
    ferry_metadata_free(md);
    return rc;
}

const struct cli_command cli_cmd_metadata = {
    "metadata",
    "inspect runtime metadata (V14/V15) and decode/encode values with it",
    run,
    "usage: ferry metadata <FILE | 0xhex | -> [--json]\n"
    "       ferry metadata <…> --pallets\n"
    "       ferry metadata <…> --calls PALLET [--json]\n"
    "       ferry metadata <…> --storage PALLET [--json]\n"
    "       ferry metadata <…> --constant PALLET.NAME\n"
    "       ferry metadata <…> --decode-type ID 0xhex\n"
    "       ferry metadata <…> --events 0xhex          (a System.Events storage value)\n"
    "       ferry metadata <…> --encode-call PALLET.call JSON-ARGS\n"
    "\n"
    "The metadata is what state_getMetadata returns: a binary file, a file or argument holding\n"
    "0x hex, a JSON-RPC response {\"result\": \"0x…\"}, or '-' for stdin. V15 wrapped as\n"
    "Option<OpaqueMetadata> (Metadata_metadata_at_version) is accepted too.\n"
    "Decoded values are JSON: numbers below 10^15, larger integers as decimal strings, bytes\n"
    "as 0x hex, enums as \"Variant\" or {\"Variant\": value}, Option as null or the value.\n"
    "\n"
    "exit status: 0 ok; 1 invalid metadata or value (reason on stderr); 2 usage; 3 I/O error.\n",
    NULL,
};
