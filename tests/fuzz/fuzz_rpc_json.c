/* Fuzz target: the conversions from a node's JSON answer to typed results (rpc/substrate.c:
 * header, block with justifications as hex or byte arrays, read proof, bytes lists, hex and
 * hashes, runtime version, properties, nonce) and the JSON-RPC error object (rpc/client.c).
 * The input is parsed as JSON and every decoder is run on it and on the fields it would be
 * found in. A decoder must either succeed with outputs that are consistent, or fail leaving
 * nothing to free; LeakSanitizer checks the latter. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/rpc.h"
#include "rpc/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(const struct ferry_bytes_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].len && !l->items[i].p)
            abort();
}

static void run_all(const cJSON *j)
{
    uint8_t *p = NULL;
    size_t len = 0;
    uint8_t hash[32];
    if (rpc_decode_hex(j, &p, &len) == FERRY_OK) {
        if (!p)
            abort();
        free(p);
    }
    (void)rpc_decode_hash32(j, hash);

    struct ferry_bytes_list l;
    if (rpc_decode_bytes_list(j, &l) == FERRY_OK) {
        check_list(&l);
        ferry_bytes_list_free(&l);
    } else if (l.items || l.n) {
        abort();
    }

    struct ferry_header h;
    if (ferry_rpc_header_from_json(j, &h) == FERRY_OK)
        ferry_header_free(&h);

    struct ferry_block b;
    if (rpc_decode_block(j, &b) == FERRY_OK) {
        check_list(&b.extrinsics);
        if (b.n_justifications && !b.justifications)
            abort();
        ferry_block_free(&b);
    } else if (b.justifications || b.extrinsics.items || b.header.digest) {
        abort();
    }

    if (rpc_decode_read_proof(j, &l, hash) == FERRY_OK) {
        check_list(&l);
        ferry_bytes_list_free(&l);
    } else if (l.items) {
        abort();
    }
    if (rpc_decode_read_proof(j, &l, NULL) == FERRY_OK)
        ferry_bytes_list_free(&l);

    struct ferry_runtime_version v;
    if (rpc_decode_runtime_version(j, &v) == FERRY_OK &&
        (memchr(v.spec_name, 0, sizeof v.spec_name) == NULL ||
         memchr(v.impl_name, 0, sizeof v.impl_name) == NULL))
        abort();

    int ss58;
    if (rpc_decode_properties(j, &ss58) == FERRY_OK && (ss58 < -1 || ss58 >= 16384))
        abort();
    uint64_t nonce;
    (void)rpc_decode_nonce(j, &nonce);

    struct ferry_rpc_error e;
    if (rpc_parse_error(j, &e) == FERRY_E_RPC) {
        if (!e.message)
            abort();
        char *t = ferry_rpc_error_json(&e);
        free(t);
        ferry_rpc_error_clear(&e);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j)
        return 0;
    run_all(j);
    /* The places the typed helpers look for nested answers. */
    static const char *const fields[] = {"result", "block",          "header",    "proof",
                                         "error",  "justifications", "extrinsics"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, fields[i]);
        if (f)
            run_all(f);
    }
    cJSON_Delete(j);
    return 0;
}
