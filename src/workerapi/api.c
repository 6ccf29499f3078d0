/* ferry — worker API: protobuf requests in, worker.h calls, protobuf or JSON responses out. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "ferry/log.h"
#include "ferry/worker.h"
#include "ferry/workerapi.h"
#include "prpc.pb-c.h"
#include "pruntime_rpc.pb-c.h"
#include "internal.h"

#define FERRY_VERSION_STRING "0.1.0"
#ifndef FERRY_GIT_REVISION
#define FERRY_GIT_REVISION ""
#endif

/* ---- JSON rendering of any message, from its descriptor -----------------------------------------
 */

static cJSON *pb_to_json(const ProtobufCMessage *m);

static cJSON *field_value(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        return cJSON_CreateBool(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return cJSON_CreateNumber(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return cJSON_CreateNumber(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return cJSON_CreateNumber((double)*(const uint64_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return cJSON_CreateNumber((double)*(const int64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT:
        return cJSON_CreateNumber(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return cJSON_CreateNumber(*(const double *)p);
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return cJSON_CreateString(s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        char *h = malloc(2 * b->len + 3);
        if (!h)
            return NULL;
        ferry_hex_encode(b->data, b->len, h);
        cJSON *j = cJSON_CreateString(h);
        free(h);
        return j;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        return sub ? pb_to_json(sub) : cJSON_CreateNull();
    }
    }
    return cJSON_CreateNull();
}

static size_t field_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    default:
        return 4;
    }
}

static cJSON *pb_to_json(const ProtobufCMessage *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m + f->offset;
        cJSON *v;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            const char *arr = *(char *const *)base;
            v = cJSON_CreateArray();
            for (size_t k = 0; v && k < n; k++)
                cJSON_AddItemToArray(v, field_value(f, arr + k * field_size(f)));
        } else {
            v = field_value(f, base);
        }
        if (!v) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, f->name, v);
    }
    return o;
}

/* ---- responses
 * ------------------------------------------------------------------------------------ */

static void respond_text(struct ferry_workerapi_response *resp, int status, char *text)
{
    resp->status = status;
    resp->json = true;
    resp->body = (uint8_t *)text;
    resp->len = text ? strlen(text) : 0;
}

static void respond_msg(struct ferry_workerapi_response *resp, const ProtobufCMessage *m, bool json)
{
    resp->status = 200;
    resp->json = json;
    if (json) {
        cJSON *j = pb_to_json(m);
        char *t = j ? cJSON_PrintUnformatted(j) : NULL;
        cJSON_Delete(j);
        if (!t) {
            resp->status = 500;
            resp->body = NULL;
            resp->len = 0;
            return;
        }
        respond_text(resp, 200, t);
        return;
    }
    size_t n = protobuf_c_message_get_packed_size(m);
    resp->body = malloc(n ? n : 1);
    if (!resp->body) {
        resp->status = 500;
        resp->len = 0;
        return;
    }
    resp->len = protobuf_c_message_pack(m, resp->body);
}

void ferry_workerapi_error(struct ferry_workerapi_response *resp, int status, bool json,
                           const char *msg)
{
    memset(resp, 0, sizeof *resp);
    resp->status = status;
    resp->json = json;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        if (j)
            cJSON_AddStringToObject(j, "error", msg);
        char *t = j ? cJSON_PrintUnformatted(j) : NULL;
        cJSON_Delete(j);
        respond_text(resp, status, t);
        return;
    }
    Prpc__PrpcError e = PRPC__PRPC_ERROR__INIT;
    e.message = (char *)msg;
    size_t n = prpc__prpc_error__get_packed_size(&e);
    resp->body = malloc(n ? n : 1);
    resp->len = resp->body ? prpc__prpc_error__pack(&e, resp->body) : 0;
}

/* Status for a worker error: 400 undecodable payload, 409 refused, 500 internal. */
static int status_of(ferry_err err)
{
    switch (err) {
    case FERRY_E_TRUNCATED:
    case FERRY_E_NONCANONICAL:
    case FERRY_E_OVERFLOW:
    case FERRY_E_INVALID:
    case FERRY_E_UTF8:
    case FERRY_E_TRAILING:
    case FERRY_E_TOO_LARGE:
    case FERRY_E_HEX:
    case FERRY_E_ARG:
        return 400;
    case FERRY_E_NOMEM:
    case FERRY_E_IO:
        return 500;
    default:
        return 409;
    }
}

void ferry_workerapi_response_free(struct ferry_workerapi_response *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

/* Hex without 0x (pRuntime's form) of p[32] into buf[67]. Returns: the digits. */
static char *hex_plain(const uint8_t *p, size_t n, char *buf)
{
    return ferry_hex_encode(p, n, buf) + 2;
}

static uint64_t proc_status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    size_t kl = strlen(key);
    uint64_t v = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtoull(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* ---- methods
 * -------------------------------------------------------------------------------------- */

static void get_info(struct ferry_worker *w, bool json, struct ferry_workerapi_response *resp)
{
    struct ferry_worker_info in;
    ferry_worker_get_info(w, &in);
    char ghb[67], pkb[67], epkb[67], rootb[67];
    char *pk = hex_plain(in.public_key, 32, pkb);
    char *epk = hex_plain(in.ecdh_public_key, 32, epkb);
    char *gh = hex_plain(in.genesis_hash, 32, ghb);
    char *root = in.has_state_root ? hex_plain(in.state_root, 32, rootb) : "";
    PruntimeRpc__PhactoryInfo pi = PRUNTIME_RPC__PHACTORY_INFO__INIT;
    PruntimeRpc__SystemInfo si = PRUNTIME_RPC__SYSTEM_INFO__INIT;
    PruntimeRpc__MemoryUsage mu = PRUNTIME_RPC__MEMORY_USAGE__INIT;
    PruntimeRpc__WorkerCounters wc = PRUNTIME_RPC__WORKER_COUNTERS__INIT;
    char *methods[] = {"none", "gramine"};
    pi.initialized = in.initialized;
    pi.registered = in.registered;
    pi.genesis_block_hash = in.initialized ? gh : "";
    pi.public_key = pk;
    pi.ecdh_public_key = epk;
    pi.headernum = in.headernum;
    pi.para_headernum = in.para_headernum;
    pi.blocknum = in.blocknum;
    pi.state_root = root;
    pi.dev_mode = true;
    pi.pending_messages = in.pending_egress;
    pi.version = FERRY_VERSION_STRING;
    pi.git_revision = FERRY_GIT_REVISION;
    mu.rust_used = proc_status_kib("VmRSS") * 1024;
    mu.rust_peak_used = proc_status_kib("VmHWM") * 1024;
    mu.total_peak_used = mu.rust_peak_used;
    pi.memory_usage = &mu;
    pi.waiting_for_paraheaders = in.waiting_for_paraheaders;
    si.registered = in.registered;
    si.public_key = pk;
    si.ecdh_public_key = epk;
    si.max_supported_consensus_version = 0;
    si.genesis_block = in.genesis_block;
    pi.system = &si;
    pi.can_load_chain_state = false;
    pi.safe_mode_level = 0;
    pi.n_supported_attestation_methods = 2;
    pi.supported_attestation_methods = methods;
    pi.is_parachain = in.parachain;
    pi.para_id = in.para_id;
    pi.attestation_provider = in.attestation == FERRY_WORKER_ATTEST_GRAMINE ? "gramine" : "none";
    wc.headers_synced = in.counters.headers_synced;
    wc.para_headers_synced = in.counters.para_headers_synced;
    wc.blocks_dispatched = in.counters.blocks_dispatched;
    wc.ingress_messages = in.counters.ingress_messages;
    wc.ingress_handled = in.counters.ingress_handled;
    wc.ingress_undecryptable = in.counters.ingress_undecryptable;
    wc.egress_queued = in.counters.egress_queued;
    wc.egress_confirmed = in.counters.egress_confirmed;
    pi.counters = &wc;
    pi.authority_set_id = in.set_id;
    respond_msg(resp, &pi.base, json);
}

static void synced(struct ferry_workerapi_response *resp, bool json, uint32_t to)
{
    PruntimeRpc__SyncedTo st = PRUNTIME_RPC__SYNCED_TO__INIT;
    st.synced_to = to;
    respond_msg(resp, &st.base, json);
}

static void runtime_response(struct ferry_workerapi_response *resp, bool json,
                             const struct ferry_worker_runtime_info *ri)
{
    PruntimeRpc__InitRuntimeResponse r = PRUNTIME_RPC__INIT_RUNTIME_RESPONSE__INIT;
    PruntimeRpc__Attestation a = PRUNTIME_RPC__ATTESTATION__INIT;
    r.encoded_runtime_info = (ProtobufCBinaryData){ri->info_len, ri->info};
    r.encoded_genesis_block_hash = (ProtobufCBinaryData){32, (uint8_t *)ri->genesis_hash};
    r.encoded_public_key = (ProtobufCBinaryData){32, (uint8_t *)ri->public_key};
    r.encoded_ecdh_public_key = (ProtobufCBinaryData){32, (uint8_t *)ri->ecdh_public_key};
    if (ri->has_attestation) {
        a.version = 1;
        a.provider = (char *)ri->provider;
        a.encoded_report = (ProtobufCBinaryData){ri->report_len, ri->report};
        a.timestamp = ri->timestamp;
        r.attestation = &a;
    }
    respond_msg(resp, &r.base, json);
}

static bool bytes_set(const ProtobufCBinaryData *b)
{
    return b->len > 0;
}

void ferry_workerapi_handle(struct ferry_worker *w, const char *name, size_t name_len,
                            const uint8_t *body, size_t len, bool json,
                            struct ferry_workerapi_response *resp)
{
    memset(resp, 0, sizeof *resp);
    enum ferry_workerapi_method m = ferry_workerapi_method_parse(name, name_len);
    if (m == FERRY_WORKERAPI_UNKNOWN) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown method %.*s", (int)(name_len > 64 ? 64 : name_len),
                 name);
        ferry_workerapi_error(resp, 404, json, msg);
        return;
    }
    const char *mname = ferry_workerapi_method_name(m);
    if (len > ferry_workerapi_body_limit(m)) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: request body of %zu bytes is over the limit of %zu", mname,
                 len, ferry_workerapi_body_limit(m));
        ferry_workerapi_error(resp, 413, json, msg);
        return;
    }
    struct ferry_reason why = {{0}};
    ferry_err err = FERRY_OK;
    uint32_t to = 0;
    ProtobufCMessage *req = NULL;
    const ProtobufCMessageDescriptor *desc = NULL;
    switch (m) {
    case FERRY_WORKERAPI_GET_INFO:
    case FERRY_WORKERAPI_GET_EGRESS_MESSAGES:
        desc = &pruntime_rpc__empty__descriptor;
        break;
    case FERRY_WORKERAPI_INIT_RUNTIME:
        desc = &pruntime_rpc__init_runtime_request__descriptor;
        break;
    case FERRY_WORKERAPI_SYNC_HEADER:
        desc = &pruntime_rpc__headers_to_sync__descriptor;
        break;
    case FERRY_WORKERAPI_SYNC_PARA_HEADER:
        desc = &pruntime_rpc__para_headers_to_sync__descriptor;
        break;
    case FERRY_WORKERAPI_DISPATCH_BLOCKS:
        desc = &pruntime_rpc__blocks__descriptor;
        break;
    case FERRY_WORKERAPI_GET_RUNTIME_INFO:
        desc = &pruntime_rpc__get_runtime_info_request__descriptor;
        break;
    default:
        break;
    }
    req = protobuf_c_message_unpack(desc, NULL, len, body ? body : (const uint8_t *)"");
    if (!req) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s: the body (%zu bytes) is not a protobuf %s", mname, len,
                 desc->name);
        ferry_workerapi_error(resp, 400, json, msg);
        return;
    }
    switch (m) {
    case FERRY_WORKERAPI_GET_INFO:
        get_info(w, json, resp);
        break;
    case FERRY_WORKERAPI_INIT_RUNTIME: {
        PruntimeRpc__InitRuntimeRequest *r = (PruntimeRpc__InitRuntimeRequest *)req;
        struct ferry_worker_init in = {
            .genesis_info = r->encoded_genesis_info.data,
            .genesis_info_len = r->encoded_genesis_info.len,
            .debug_set_key = bytes_set(&r->debug_set_key) ? r->debug_set_key.data : NULL,
            .debug_set_key_len = r->debug_set_key.len,
            .genesis_state_len = r->encoded_genesis_state.len,
            .operator_id = bytes_set(&r->encoded_operator) ? r->encoded_operator.data : NULL,
            .operator_len = r->encoded_operator.len,
            .is_parachain = r->is_parachain,
            .provider = bytes_set(&r->attestation_provider) ? r->attestation_provider.data : NULL,
            .provider_len = r->attestation_provider.len,
            .para_id = r->para_id,
        };
        err = ferry_worker_init_runtime(w, &in, &why);
        if (!err) {
            struct ferry_worker_runtime_info ri;
            err = ferry_worker_runtime_info(w, false, NULL, 0, &ri, &why);
            if (!err) {
                runtime_response(resp, json, &ri);
                ferry_worker_runtime_info_free(&ri);
            }
        }
        break;
    }
    case FERRY_WORKERAPI_SYNC_HEADER: {
        PruntimeRpc__HeadersToSync *r = (PruntimeRpc__HeadersToSync *)req;
        err =
            ferry_worker_sync_header(w, r->encoded_headers.data, r->encoded_headers.len, &to, &why);
        if (!err)
            synced(resp, json, to);
        break;
    }
    case FERRY_WORKERAPI_SYNC_PARA_HEADER: {
        PruntimeRpc__ParaHeadersToSync *r = (PruntimeRpc__ParaHeadersToSync *)req;
        const uint8_t **nodes = calloc(r->n_proof ? r->n_proof : 1, sizeof *nodes);
        size_t *lens = calloc(r->n_proof ? r->n_proof : 1, sizeof *lens);
        if (!nodes || !lens) {
            err = ferry_reason_set(&why, FERRY_E_NOMEM, "out of memory");
        } else {
            for (size_t i = 0; i < r->n_proof; i++) {
                nodes[i] = r->proof[i].data;
                lens[i] = r->proof[i].len;
            }
            err = ferry_worker_sync_para_header(w, r->encoded_headers.data, r->encoded_headers.len,
                                                nodes, lens, r->n_proof, &to, &why);
        }
        free(nodes);
        free(lens);
        if (!err)
            synced(resp, json, to);
        break;
    }
    case FERRY_WORKERAPI_DISPATCH_BLOCKS: {
        PruntimeRpc__Blocks *r = (PruntimeRpc__Blocks *)req;
        err = ferry_worker_dispatch_blocks(w, r->encoded_blocks.data, r->encoded_blocks.len, &to,
                                           &why);
        if (!err)
            synced(resp, json, to);
        break;
    }
    case FERRY_WORKERAPI_GET_RUNTIME_INFO: {
        PruntimeRpc__GetRuntimeInfoRequest *r = (PruntimeRpc__GetRuntimeInfoRequest *)req;
        struct ferry_worker_runtime_info ri;
        err = ferry_worker_runtime_info(
            w, true, bytes_set(&r->encoded_operator) ? r->encoded_operator.data : NULL,
            r->encoded_operator.len, &ri, &why);
        if (!err) {
            runtime_response(resp, json, &ri);
            ferry_worker_runtime_info_free(&ri);
        }
        break;
    }
    case FERRY_WORKERAPI_GET_EGRESS_MESSAGES: {
        uint8_t *enc = NULL;
        size_t el = 0;
        err = ferry_worker_egress(w, &enc, &el);
        if (err) {
            ferry_reason_set(&why, err,
                             err == FERRY_E_IO
                                 ? "the worker could not seal the state that signs them (a "
                                   "message is never handed out unsealed); see its log"
                                 : "out of memory");
        } else {
            PruntimeRpc__GetEgressMessagesResponse r =
                PRUNTIME_RPC__GET_EGRESS_MESSAGES_RESPONSE__INIT;
            r.encoded_messages = (ProtobufCBinaryData){el, enc};
            respond_msg(resp, &r.base, json);
            free(enc);
        }
        break;
    }
    default:
        break;
    }
    protobuf_c_message_free_unpacked(req, NULL);
    if (err) {
        char msg[FERRY_REASON_MAX + 64];
        snprintf(msg, sizeof msg, "%s: %s", mname, why.text[0] ? why.text : ferry_strerror(err));
        ferry_workerapi_error(resp, status_of(err), json, msg);
        ferry_log_info("worker", "%s refused (%d): %s", mname, status_of(err),
                       why.text[0] ? why.text : ferry_strerror(err));
        return;
    }
    /* Seal what the request changed: at once when a restart could not re-derive it from the
     * chain (identity, registration, signed messages), else at most every seal_interval_ms
     * (ferry_worker_seal decides; docs/worker-api.md "Sealing"). */
    if (ferry_worker_seal(w, &why)) {
        ferry_log_error("worker", "%s applied but sealing failed: %s", mname, why.text);
        ferry_workerapi_response_free(resp);
        char msg[FERRY_REASON_MAX + 64];
        snprintf(msg, sizeof msg, "%s: applied, but sealing failed: %s", mname, why.text);
        ferry_workerapi_error(resp, 500, json, msg);
    }
}
