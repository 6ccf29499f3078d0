/* `ferry trie`: trie roots from key/value pairs and ordered lists, and node decoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/hex.h"
#include "ferry/trie.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_trie;

/* Parse `[--v1] FILE` (FILE may be -) and the JSON in it. Returns a CLI status; *doc is set
 * (caller deletes) on CLI_OK. */
static int read_input(int argc, char **argv, const char *what, enum ferry_trie_version *version,
                      cJSON **doc)
{
    const char *path = NULL;
    *version = FERRY_TRIE_V0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--v1") == 0)
            *version = FERRY_TRIE_V1;
        else if (strcmp(argv[i], "--v0") == 0)
            *version = FERRY_TRIE_V0;
        else if (!path)
            path = argv[i];
        else
            return cli_usage_error(&cli_cmd_trie, "%s: unexpected argument '%s'", what, argv[i]);
    }
    if (!path)
        return cli_usage_error(&cli_cmd_trie, "%s needs a FILE (or - for stdin)", what);
    char *text;
    size_t len;
    ferry_err err =
        strcmp(path, "-") == 0 ? cli_read_arg("-", &text, &len) : cli_read_file(path, &text, &len);
    if (err) {
        cli_errorf("trie %s: cannot read %s: %s", what, path, ferry_strerror(err));
        return CLI_NET;
    }
    *doc = cJSON_ParseWithLength(text, len);
    free(text);
    if (!*doc) {
        cli_errorf("trie %s: %s is not valid JSON", what, path);
        return CLI_INVALID;
    }
    return CLI_OK;
}

static int print_root(const uint8_t root[32])
{
    char hex[67];
    if (puts(ferry_hex_encode(root, 32, hex)) < 0 || fflush(stdout) != 0) {
        cli_errorf("cannot write to stdout");
        return CLI_NET;
    }
    return CLI_OK;
}

static int trie_root(int argc, char **argv)
{
    enum ferry_trie_version version;
    cJSON *doc;
    int rc = read_input(argc, argv, "root", &version, &doc);
    if (rc)
        return rc;
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        cli_errorf("trie root: input must be a JSON object {\"0xkey\": \"0xvalue\", ...}");
        return CLI_INVALID;
    }
    size_t n = (size_t)cJSON_GetArraySize(doc);
    struct ferry_trie_kv *kv = calloc(n ? n : 1, sizeof *kv);
    uint8_t **bufs = calloc(n ? 2 * n : 1, sizeof *bufs);
    if (!kv || !bufs) {
        rc = CLI_INVALID;
        cli_errorf("out of memory");
    }
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, doc)
    {
        if (rc)
            break;
        if (!cJSON_IsString(item) || cli_hex_arg(item->string, &bufs[2 * i], &kv[i].key_len) ||
            cli_hex_arg(item->valuestring, &bufs[2 * i + 1], &kv[i].value_len)) {
            cli_errorf("trie root: entry \"%s\" is not a 0x key with a 0x value string",
                       item->string);
            rc = CLI_INVALID;
            break;
        }
        kv[i].key = bufs[2 * i];
        kv[i].value = bufs[2 * i + 1];
        i++;
    }
    uint8_t root[32];
    if (!rc) {
        ferry_err err = ferry_trie_root(kv, n, version, root);
        if (err) {
            cli_errorf("trie root: %s", err == FERRY_E_ARG
                                            ? "duplicate key (two spellings of the same bytes)"
                                            : ferry_strerror(err));
            rc = CLI_INVALID;
        }
    }
    for (size_t j = 0; bufs && j < 2 * n; j++)
        free(bufs[j]);
    free(bufs);
    free(kv);
    cJSON_Delete(doc);
    return rc ? rc : print_root(root);
}

static int trie_ordered_root(int argc, char **argv)
{
    enum ferry_trie_version version;
    cJSON *doc;
    int rc = read_input(argc, argv, "ordered-root", &version, &doc);
    if (rc)
        return rc;
    if (!cJSON_IsArray(doc)) {
        cJSON_Delete(doc);
        cli_errorf("trie ordered-root: input must be a JSON array of 0x items");
        return CLI_INVALID;
    }
    size_t n = (size_t)cJSON_GetArraySize(doc);
    uint8_t **items = calloc(n ? n : 1, sizeof *items);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    if (!items || !lens) {
        rc = CLI_INVALID;
        cli_errorf("out of memory");
    }
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, doc)
    {
        if (rc)
            break;
        if (!cJSON_IsString(item) || cli_hex_arg(item->valuestring, &items[i], &lens[i])) {
            cli_errorf("trie ordered-root: item %zu is not a 0x string", i);
            rc = CLI_INVALID;
            break;
        }
        i++;
    }
    uint8_t root[32];
    if (!rc && ferry_trie_ordered_root((const uint8_t *const *)items, lens, n, version, root)) {
        cli_errorf("out of memory");
        rc = CLI_INVALID;
    }
    for (size_t j = 0; items && j < n; j++)
        free(items[j]);
    free(items);
    free(lens);
    cJSON_Delete(doc);
    return rc ? rc : print_root(root);
}

static int trie_node(int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error(&cli_cmd_trie, "node takes exactly one 0x… argument");
    uint8_t *bytes;
    size_t len;
    if (cli_hex_arg(argv[1], &bytes, &len)) {
        cli_errorf("trie node: argument is not 0x-prefixed hex");
        return CLI_INVALID;
    }
    struct ferry_trie_node node;
    struct ferry_scale_reader r;
    if (ferry_trie_node_decode(bytes, len, &node, &r)) {
        char why[128];
        cli_errorf("trie node: %s", ferry_scale_describe(&r, why, sizeof why));
        free(bytes);
        return CLI_INVALID;
    }
    cJSON *o = cJSON_CreateObject();
    uint8_t hash[32];
    char hex[67];
    ferry_blake2b_256(hash, bytes, len);
    cJSON_AddStringToObject(o, "type", ferry_trie_node_type_name(&node));
    cJSON_AddStringToObject(o, "header_byte", ferry_hex_encode(&node.header, 1, hex));
    cJSON_AddStringToObject(o, "hash", ferry_hex_encode(hash, 32, hex));
    char *nibbles = malloc(node.partial_nibbles + 1);
    for (size_t i = 0; nibbles && i < node.partial_nibbles; i++)
        nibbles[i] = "0123456789abcdef"[ferry_trie_node_partial_nibble(&node, i)];
    if (nibbles) {
        nibbles[node.partial_nibbles] = 0;
        cJSON_AddStringToObject(o, "partial_key_nibbles", nibbles);
        free(nibbles);
    }
    if (node.has_value) {
        char *v = ferry_hex_alloc(node.value, node.value_len);
        if (v)
            cJSON_AddStringToObject(o, node.value_hashed ? "value_hash" : "value", v);
        free(v);
    }
    if (node.kind == FERRY_TRIE_NODE_BRANCH) {
        cJSON *children = cJSON_AddObjectToObject(o, "children");
        for (unsigned i = 0; children && i < 16; i++) {
            if (!node.child_len[i])
                continue;
            char idx[4];
            snprintf(idx, sizeof idx, "%u", i);
            cJSON *c = cJSON_AddObjectToObject(children, idx);
            char *h = ferry_hex_alloc(node.child[i], node.child_len[i]);
            if (c && h)
                cJSON_AddStringToObject(c, node.child_len[i] == 32 ? "hash" : "inline", h);
            free(h);
        }
    }
    free(bytes);
    return cli_print_json(o);
}

static int run(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(&cli_cmd_trie, "missing subcommand (root, ordered-root or node)");
    if (strcmp(argv[1], "root") == 0)
        return trie_root(argc - 1, argv + 1);
    if (strcmp(argv[1], "ordered-root") == 0)
        return trie_ordered_root(argc - 1, argv + 1);
    if (strcmp(argv[1], "node") == 0)
        return trie_node(argc - 1, argv + 1);
    return cli_usage_error(&cli_cmd_trie, "unknown subcommand '%s'", argv[1]);
}

const struct cli_command cli_cmd_trie = {
    "trie",
    "compute trie roots (state, extrinsics) and decode trie nodes",
    run,
    "usage: ferry trie root [--v1] FILE\n"
    "       ferry trie ordered-root [--v1] FILE\n"
    "       ferry trie node 0xNODE\n"
    "\n"
    "root          FILE (or -) is a JSON object {\"0xkey\": \"0xvalue\", ...}; prints the root\n"
    "              of the trie holding exactly those pairs. --v1 uses state version 1\n"
    "              (values of 33 bytes or more are hashed into the node); the default is V0.\n"
    "ordered-root  FILE is a JSON array of 0x items; prints the ordered root (keys are\n"
    "              Compact(index)) as a header's extrinsics root is computed. Extrinsics\n"
    "              roots use V0 unless the runtime's system_version is 2 or more.\n"
    "node          decodes one trie node encoding and prints it as JSON.\n"
    "\n"
    "exit status: 0 success, 1 invalid input, 2 usage error, 3 I/O error.\n",
    NULL,
};
