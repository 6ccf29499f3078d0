/* ferry rpc — typed helpers for the Substrate methods ferry uses (DESIGN.md §4): build the
 * params, call through ferry_rpc_call with the client's request timeout, and turn the JSON
 * answer into bytes and structures. A wrong shape is FERRY_E_JSON/FERRY_E_HEX, a null answer
 * FERRY_E_NOT_FOUND; nothing here trusts the node's JSON. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "rpc/client.h"
#include "rpc/internal.h"

void ferry_bytes_list_free(struct ferry_bytes_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].p);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void ferry_block_free(struct ferry_block *b)
{
    if (!b)
        return;
    ferry_header_free(&b->header);
    ferry_bytes_list_free(&b->extrinsics);
    for (size_t i = 0; i < b->n_justifications; i++)
        free(b->justifications[i].data.p);
    free(b->justifications);
    memset(b, 0, sizeof *b);
}

static ferry_err call(struct ferry_rpc *c, const char *method, const char *params, cJSON **res,
                      struct ferry_rpc_error *e)
{
    struct ferry_rpc_error local;
    ferry_err err =
        ferry_rpc_call(c, method, params, ferry_rpc_request_timeout(c), res, e ? e : &local);
    if (!e)
        ferry_rpc_error_clear(&local);
    return err;
}

/* Call with the params built in p (then freed); FERRY_E_NOMEM when building them failed. */
static ferry_err call_p(struct ferry_rpc *c, const char *method, struct ferry_rpc_params *p,
                        cJSON **res, struct ferry_rpc_error *e)
{
    const char *text = ferry_rpc_params_text(p);
    ferry_err err = text ? call(c, method, text, res, e) : FERRY_E_NOMEM;
    ferry_rpc_params_free(p);
    return err;
}

/* A call whose result is hex bytes (decoded in place for large answers: ferry_rpc_call_hex), with
 * the params built in p (then freed). */
static ferry_err call_hex_p(struct ferry_rpc *c, const char *method, struct ferry_rpc_params *p,
                            bool keep_cap, uint8_t **out, size_t *len, struct ferry_rpc_error *e)
{
    const char *text = ferry_rpc_params_text(p);
    struct ferry_rpc_error local;
    ferry_err err = text ? rpc_call_hex(c, method, text, ferry_rpc_request_timeout(c), keep_cap,
                                        out, len, e ? e : &local)
                         : FERRY_E_NOMEM;
    if (!e && text)
        ferry_rpc_error_clear(&local);
    ferry_rpc_params_free(p);
    return err;
}

/* Params of a method whose arguments end with an optional block hash: nothing for NULL. */
static void param_at(struct ferry_rpc_params *p, const uint8_t *at)
{
    if (at)
        ferry_rpc_params_hex(p, at, 32);
}

ferry_err rpc_decode_hex(const cJSON *j, uint8_t **out, size_t *len)
{
    if (!cJSON_IsString(j))
        return cJSON_IsNull(j) ? FERRY_E_NOT_FOUND : FERRY_E_JSON;
    return ferry_hex_decode(j->valuestring, strlen(j->valuestring), out, len);
}

ferry_err rpc_decode_hash32(const cJSON *j, uint8_t out[32])
{
    if (!cJSON_IsString(j))
        return cJSON_IsNull(j) ? FERRY_E_NOT_FOUND : FERRY_E_JSON;
    return ferry_hex_decode_exact(j->valuestring, out, 32);
}

/* Bytes given either as hex text or as an array of numbers 0..255 (serde's Vec<u8>). */
static ferry_err flexible_bytes(const cJSON *j, uint8_t **out, size_t *len)
{
    if (cJSON_IsString(j))
        return rpc_decode_hex(j, out, len);
    if (!cJSON_IsArray(j))
        return FERRY_E_JSON;
    size_t n = (size_t)cJSON_GetArraySize(j);
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return FERRY_E_NOMEM;
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, j)
    {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 255 ||
            v->valuedouble != (double)(int)v->valuedouble) {
            free(p);
            return FERRY_E_JSON;
        }
        p[i++] = (uint8_t)v->valueint;
    }
    *out = p;
    *len = n;
    return FERRY_OK;
}

ferry_err rpc_decode_bytes_list(const cJSON *arr, struct ferry_bytes_list *l)
{
    memset(l, 0, sizeof *l);
    if (!cJSON_IsArray(arr))
        return FERRY_E_JSON;
    size_t n = (size_t)cJSON_GetArraySize(arr);
    l->items = calloc(n ? n : 1, sizeof *l->items);
    if (!l->items)
        return FERRY_E_NOMEM;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        ferry_err err = rpc_decode_hex(v, &l->items[l->n].p, &l->items[l->n].len);
        if (err) {
            ferry_bytes_list_free(l);
            return err == FERRY_E_NOT_FOUND ? FERRY_E_JSON : err;
        }
        l->n++;
    }
    return FERRY_OK;
}

ferry_err ferry_rpc_header_from_json(const cJSON *json, struct ferry_header *h)
{
    memset(h, 0, sizeof *h);
    if (!cJSON_IsObject(json))
        return cJSON_IsNull(json) ? FERRY_E_NOT_FOUND : FERRY_E_JSON;
    char *text = cJSON_PrintUnformatted(json);
    if (!text)
        return FERRY_E_NOMEM;
    uint8_t *scale = NULL;
    size_t len = 0;
    ferry_err err = ferry_header_json_to_scale(text, &scale, &len, NULL);
    free(text);
    if (!err)
        err = ferry_header_decode(h, scale, len, NULL);
    free(scale);
    return err;
}

ferry_err ferry_rpc_get_block_hash(struct ferry_rpc *c, uint32_t number, uint8_t hash[32],
                                   struct ferry_rpc_error *e)
{
    cJSON *r = NULL;
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    ferry_rpc_params_u64(&p, number);
    ferry_err err = call_p(c, "chain_getBlockHash", &p, &r, e);
    if (!err)
        err = rpc_decode_hash32(r, hash);
    cJSON_Delete(r);
    return err;
}

ferry_err ferry_rpc_get_finalized_head(struct ferry_rpc *c, uint8_t hash[32],
                                       struct ferry_rpc_error *e)
{
    cJSON *r = NULL;
    ferry_err err = call(c, "chain_getFinalizedHead", "[]", &r, e);
    if (!err)
        err = rpc_decode_hash32(r, hash);
    cJSON_Delete(r);
    return err;
}

ferry_err ferry_rpc_get_header(struct ferry_rpc *c, const uint8_t *at, struct ferry_header *h,
                               struct ferry_rpc_error *e)
{
    cJSON *r = NULL;
    memset(h, 0, sizeof *h);
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    param_at(&p, at);
    ferry_err err = call_p(c, "chain_getHeader", &p, &r, e);
    if (!err)
        err = ferry_rpc_header_from_json(r, h);
    cJSON_Delete(r);
    return err;
}

/* An engine id as 4 numbers, "0x" + 8 hex digits, or 4 characters. */
static ferry_err engine_id(const cJSON *j, uint8_t out[4])
{
    uint8_t *p = NULL;
    size_t n = 0;
    if (cJSON_IsString(j) && strlen(j->valuestring) == 4 && strncmp(j->valuestring, "0x", 2)) {
        memcpy(out, j->valuestring, 4);
        return FERRY_OK;
    }
    ferry_err err = flexible_bytes(j, &p, &n);
    if (!err && n != 4)
        err = FERRY_E_JSON;
    if (!err)
        memcpy(out, p, 4);
    free(p);
    return err;
}

static ferry_err block_justifications(const cJSON *js, struct ferry_block *b)
{
    if (!js || cJSON_IsNull(js))
        return FERRY_OK;
    if (!cJSON_IsArray(js))
        return FERRY_E_JSON;
    size_t n = (size_t)cJSON_GetArraySize(js);
    b->justifications = calloc(n ? n : 1, sizeof *b->justifications);
    if (!b->justifications)
        return FERRY_E_NOMEM;
    const cJSON *pair;
    cJSON_ArrayForEach(pair, js)
    {
        struct ferry_block_justification *bj = &b->justifications[b->n_justifications];
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2)
            return FERRY_E_JSON;
        ferry_err err = engine_id(cJSON_GetArrayItem(pair, 0), bj->engine);
        if (!err)
            err = flexible_bytes(cJSON_GetArrayItem(pair, 1), &bj->data.p, &bj->data.len);
        if (err)
            return err;
        b->n_justifications++;
    }
    return FERRY_OK;
}

ferry_err rpc_decode_block(const cJSON *r, struct ferry_block *b)
{
    memset(b, 0, sizeof *b);
    if (cJSON_IsNull(r))
        return FERRY_E_NOT_FOUND;
    const cJSON *block = cJSON_GetObjectItemCaseSensitive(r, "block");
    ferry_err err =
        ferry_rpc_header_from_json(cJSON_GetObjectItemCaseSensitive(block, "header"), &b->header);
    if (err == FERRY_E_NOT_FOUND)
        err = FERRY_E_JSON;
    if (!err)
        err = rpc_decode_bytes_list(cJSON_GetObjectItemCaseSensitive(block, "extrinsics"),
                                    &b->extrinsics);
    if (!err)
        err = block_justifications(cJSON_GetObjectItemCaseSensitive(r, "justifications"), b);
    if (err)
        ferry_block_free(b);
    return err;
}

ferry_err ferry_rpc_get_block(struct ferry_rpc *c, const uint8_t *at, struct ferry_block *b,
                              struct ferry_rpc_error *e)
{
    cJSON *r = NULL;
    memset(b, 0, sizeof *b);
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    param_at(&p, at);
    ferry_err err = call_p(c, "chain_getBlock", &p, &r, e);
    if (!err)
        err = rpc_decode_block(r, b);
    cJSON_Delete(r);
    return err;
}

ferry_err ferry_rpc_prove_finality(struct ferry_rpc *c, uint32_t number, uint8_t **proof,
                                   size_t *len, struct ferry_rpc_error *e)
{
    *proof = NULL;
    *len = 0;
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    ferry_rpc_params_u64(&p, number);
    return call_hex_p(c, "grandpa_proveFinality", &p, true, proof, len, e);
}

ferry_err rpc_decode_read_proof(const cJSON *r, struct ferry_bytes_list *proof, uint8_t at_out[32])
{
    memset(proof, 0, sizeof *proof);
    if (!cJSON_IsObject(r))
        return cJSON_IsNull(r) ? FERRY_E_NOT_FOUND : FERRY_E_JSON;
    ferry_err err = FERRY_OK;
    if (at_out)
        err = rpc_decode_hash32(cJSON_GetObjectItemCaseSensitive(r, "at"), at_out);
    if (err == FERRY_E_NOT_FOUND)
        err = FERRY_E_JSON;
    if (!err)
        err = rpc_decode_bytes_list(cJSON_GetObjectItemCaseSensitive(r, "proof"), proof);
    return err;
}

ferry_err ferry_rpc_get_read_proof(struct ferry_rpc *c, const struct ferry_bytes *keys,
                                   size_t n_keys, const uint8_t *at, struct ferry_bytes_list *proof,
                                   uint8_t at_out[32], struct ferry_rpc_error *e)
{
    memset(proof, 0, sizeof *proof);
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    ferry_rpc_params_array_begin(&p);
    for (size_t i = 0; i < n_keys; i++)
        ferry_rpc_params_hex(&p, keys[i].p, keys[i].len);
    ferry_rpc_params_array_end(&p);
    param_at(&p, at);
    cJSON *r = NULL;
    ferry_err err = call_p(c, "state_getReadProof", &p, &r, e);
    if (!err)
        err = rpc_decode_read_proof(r, proof, at_out);
    cJSON_Delete(r);
    return err;
}

ferry_err ferry_rpc_get_storage(struct ferry_rpc *c, const uint8_t *key, size_t key_len,
                                const uint8_t *at, uint8_t **value, size_t *len,
                                struct ferry_rpc_error *e)
{
    *value = NULL;
    *len = 0;
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    ferry_rpc_params_hex(&p, key, key_len);
    param_at(&p, at);
    return call_hex_p(c, "state_getStorage", &p, false, value, len, e);
}

ferry_err ferry_rpc_get_keys_paged(struct ferry_rpc *c, const uint8_t *prefix, size_t prefix_len,
                                   uint32_t count, const struct ferry_bytes *start_key,
                                   const uint8_t *at, struct ferry_bytes_list *keys,
                                   struct ferry_rpc_error *e)
{
    memset(keys, 0, sizeof *keys);
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    ferry_rpc_params_hex(&p, prefix, prefix_len);
    ferry_rpc_params_u64(&p, count);
    if (start_key)
        ferry_rpc_params_hex(&p, start_key->p, start_key->len);
    else if (at)
        ferry_rpc_params_null(&p); /* a hash without a start key needs a null in its place */
    param_at(&p, at);
    cJSON *r = NULL;
    ferry_err err = call_p(c, "state_getKeysPaged", &p, &r, e);
    if (!err)
        err = rpc_decode_bytes_list(r, keys);
    cJSON_Delete(r);
    return err;
}

ferry_err ferry_rpc_get_metadata(struct ferry_rpc *c, const uint8_t *at, uint8_t **metadata,
                                 size_t *len, struct ferry_rpc_error *e)
{
    *metadata = NULL;
    *len = 0;
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    param_at(&p, at);
    return call_hex_p(c, "state_getMetadata", &p, false, metadata, len, e);
}

static ferry_err u32_field(const cJSON *o, const char *name, uint32_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 4294967295.0)
        return FERRY_E_JSON;
    *out = (uint32_t)v->valuedouble;
    return FERRY_OK;
}

ferry_err ferry_rpc_get_runtime_version(struct ferry_rpc *c, const uint8_t *at,
                                        struct ferry_runtime_version *v, struct ferry_rpc_error *e)
{
    cJSON *r = NULL;
    memset(v, 0, sizeof *v);
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    param_at(&p, at);
    ferry_err err = call_p(c, "state_getRuntimeVersion", &p, &r, e);
    if (!err)
        err = rpc_decode_runtime_version(r, v);
    cJSON_Delete(r);
    return err;
}

ferry_err rpc_decode_runtime_version(const cJSON *r, struct ferry_runtime_version *v)
{
    ferry_err err = FERRY_OK;
    memset(v, 0, sizeof *v);
    const cJSON *sn = cJSON_GetObjectItemCaseSensitive(r, "specName");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(r, "implName");
    if (!cJSON_IsObject(r) || !cJSON_IsString(sn))
        err = FERRY_E_JSON;
    if (!err)
        err = u32_field(r, "specVersion", &v->spec_version);
    if (!err)
        err = u32_field(r, "transactionVersion", &v->transaction_version);
    if (!err) {
        /* optional ones */
        (void)u32_field(r, "implVersion", &v->impl_version);
        (void)u32_field(r, "authoringVersion", &v->authoring_version);
        snprintf(v->spec_name, sizeof v->spec_name, "%s", sn->valuestring);
        snprintf(v->impl_name, sizeof v->impl_name, "%s",
                 cJSON_IsString(in) ? in->valuestring : "");
    } else {
        memset(v, 0, sizeof *v);
    }
    return err;
}

ferry_err ferry_rpc_system_chain(struct ferry_rpc *c, char **name, struct ferry_rpc_error *e)
{
    cJSON *r = NULL;
    *name = NULL;
    ferry_err err = call(c, "system_chain", "[]", &r, e);
    if (!err && !cJSON_IsString(r))
        err = FERRY_E_JSON;
    if (!err) {
        *name = strdup(r->valuestring);
        if (!*name)
            err = FERRY_E_NOMEM;
    }
    cJSON_Delete(r);
    return err;
}

ferry_err ferry_rpc_system_properties(struct ferry_rpc *c, cJSON **props, int *ss58_format,
                                      struct ferry_rpc_error *e)
{
    cJSON *r = NULL;
    *props = NULL;
    if (ss58_format)
        *ss58_format = -1;
    ferry_err err = call(c, "system_properties", "[]", &r, e);
    if (err)
        return err;
    int format;
    err = rpc_decode_properties(r, &format);
    if (err) {
        cJSON_Delete(r);
        return err;
    }
    if (ss58_format)
        *ss58_format = format;
    *props = r;
    return FERRY_OK;
}

ferry_err rpc_decode_properties(const cJSON *r, int *ss58_format)
{
    *ss58_format = -1;
    if (!cJSON_IsObject(r))
        return FERRY_E_JSON;
    /* An SS58 format is an integer 0..16383; anything else counts as absent. */
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(r, "ss58Format");
    if (cJSON_IsNumber(f) && f->valuedouble >= 0 && f->valuedouble < 16384 &&
        f->valuedouble == (double)(int)f->valuedouble)
        *ss58_format = (int)f->valuedouble;
    return FERRY_OK;
}

ferry_err ferry_rpc_account_next_index(struct ferry_rpc *c, const char *account, uint64_t *nonce,
                                       struct ferry_rpc_error *e)
{
    *nonce = 0;
    size_t n = account ? strlen(account) : 0;
    if (n == 0 || n > 128)
        return FERRY_E_ARG;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)account[i]))
            return FERRY_E_ARG; /* SS58 (base58) or 0x-hex: never anything to escape */
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    ferry_rpc_params_string(&p, account);
    cJSON *r = NULL;
    ferry_err err = call_p(c, "system_accountNextIndex", &p, &r, e);
    if (!err)
        err = rpc_decode_nonce(r, nonce);
    cJSON_Delete(r);
    return err;
}

ferry_err rpc_decode_nonce(const cJSON *r, uint64_t *nonce)
{
    *nonce = 0;
    if (!cJSON_IsNumber(r) || !(r->valuedouble >= 0 && r->valuedouble < 9007199254740992.0) ||
        r->valuedouble != (double)(uint64_t)r->valuedouble)
        return FERRY_E_JSON;
    *nonce = (uint64_t)r->valuedouble;
    return FERRY_OK;
}

ferry_err ferry_rpc_submit_extrinsic(struct ferry_rpc *c, const uint8_t *xt, size_t len,
                                     uint8_t hash[32], struct ferry_rpc_error *e)
{
    struct ferry_rpc_params p;
    ferry_rpc_params_init(&p);
    ferry_rpc_params_hex(&p, xt, len);
    cJSON *r = NULL;
    ferry_err err = call_p(c, "author_submitExtrinsic", &p, &r, e);
    if (!err)
        err = rpc_decode_hash32(r, hash);
    cJSON_Delete(r);
    return err;
}

ferry_err ferry_rpc_subscribe_finalized_heads(struct ferry_rpc *c, ferry_rpc_event_fn fn,
                                              void *user, uint64_t *sub, struct ferry_rpc_error *e)
{
    return ferry_rpc_subscribe(c, "chain_subscribeFinalizedHeads", "[]",
                               "chain_unsubscribeFinalizedHeads", 0, fn, user,
                               ferry_rpc_request_timeout(c), sub, e);
}
