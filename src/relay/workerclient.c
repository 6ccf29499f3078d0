/* The relayer's typed worker API client (include/ferry/workerclient.h).
 *
 * The relayer talks to one worker all its life, several calls per block at the tip: the calls go
 * over one kept-alive connection (workerapi.h's ferry_workerapi_post), with Nagle off and no
 * "Expect: 100-continue" wait on larger bodies, so a call costs the worker's work and not a TCP
 * handshake and teardown each. curl re-opens the connection by itself when the worker closed it
 * (a restart). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/bytes.h"
#include "ferry/clock.h"
#include "ferry/hex.h"
#include "ferry/workerapi.h"
#include "ferry/workerclient.h"
#include "prpc.pb-c.h"
#include "pruntime_rpc.pb-c.h"

static ferry_err status_err(int status)
{
    switch (status) {
    case 200:
        return FERRY_OK;
    case 409:
        return FERRY_E_VERIFY;
    case 400:
    case 413:
        return FERRY_E_INVALID;
    case 404:
    case 405:
        return FERRY_E_UNSUPPORTED;
    default:
        return FERRY_E_RPC;
    }
}

/* POST body to <url>/prpc/PhactoryAPI.<method> over the kept connection. Out: *status, *resp
 * (malloc'd), *resp_len. */
static ferry_err post(struct ferry_wclient *c, const char *method, const uint8_t *body, size_t len,
                      int *status, uint8_t **resp, size_t *resp_len, struct ferry_reason *why)
{
    return ferry_workerapi_post(&c->conn, c->url, method, body, len, c->timeout_ms, status, resp,
                                resp_len, &c->connects, why);
}

void ferry_wc_close(struct ferry_wclient *c)
{
    ferry_workerapi_conn_close(&c->conn);
}

/* POST a packed request; on 200 hand back the body, else turn the PrpcError into *why. */
static ferry_err call(struct ferry_wclient *c, const char *method, const ProtobufCMessage *req,
                      uint8_t **resp, size_t *resp_len, struct ferry_reason *why)
{
    *resp = NULL;
    *resp_len = 0;
    size_t len = req ? protobuf_c_message_get_packed_size(req) : 0;
    uint8_t *body = malloc(len ? len : 1);
    if (!body)
        return FERRY_E_NOMEM;
    if (req)
        protobuf_c_message_pack(req, body);
    int status = 0;
    c->calls++;
    double t0 = ferry_clock_s();
    ferry_err err = post(c, method, body, len, &status, resp, resp_len, why);
    c->seconds += ferry_clock_s() - t0;
    free(body);
    if (err) {
        c->failures++;
        return ferry_reason_prefix(why, err, "worker %s: ", method);
    }
    err = status_err(status);
    if (!err)
        return FERRY_OK;
    c->failures++;
    Prpc__PrpcError *pe = *resp_len ? prpc__prpc_error__unpack(NULL, *resp_len, *resp) : NULL;
    if (pe && pe->message && *pe->message)
        ferry_reason_set(why, err, "worker %s refused (HTTP %d): %.180s", method, status,
                         pe->message);
    else
        ferry_reason_set(why, err, "worker %s answered HTTP %d", method, status);
    if (pe)
        prpc__prpc_error__free_unpacked(pe, NULL);
    free(*resp);
    *resp = NULL;
    *resp_len = 0;
    return err;
}

static ferry_err bad_answer(struct ferry_reason *why, const char *method)
{
    return ferry_reason_set(why, FERRY_E_INVALID, "worker %s: the answer does not decode", method);
}

/* call() then decode the 200 body as a `desc` message into *out (free it with
 * protobuf_c_message_free_unpacked); a body that does not decode is FERRY_E_INVALID. */
static ferry_err call_decode(struct ferry_wclient *c, const char *method,
                             const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                             ProtobufCMessage **out, struct ferry_reason *why)
{
    *out = NULL;
    uint8_t *resp;
    size_t len;
    ferry_err err = call(c, method, req, &resp, &len, why);
    if (err)
        return err;
    *out = protobuf_c_message_unpack(desc, NULL, len, resp);
    free(resp);
    if (!*out)
        return bad_answer(why, method);
    return FERRY_OK;
}

static bool hex32(const char *s, uint8_t out[32])
{
    if (!s)
        return false;
    if (!strncmp(s, "0x", 2))
        s += 2;
    if (strlen(s) != 64)
        return false;
    char buf[67] = "0x";
    memcpy(buf + 2, s, 64);
    buf[66] = 0;
    return ferry_hex_decode_exact(buf, out, 32) == FERRY_OK;
}

ferry_err ferry_wc_get_info(struct ferry_wclient *c, struct ferry_wc_info *out,
                            struct ferry_reason *why)
{
    memset(out, 0, sizeof *out);
    PruntimeRpc__PhactoryInfo *m;
    ferry_err err = call_decode(c, "GetInfo", NULL, &pruntime_rpc__phactory_info__descriptor,
                                (ProtobufCMessage **)&m, why);
    if (err)
        return err;
    out->initialized = m->initialized;
    out->registered = m->registered || (m->system && m->system->registered);
    out->is_parachain = m->is_parachain;
    out->para_id = m->para_id;
    out->headernum = m->headernum;
    out->para_headernum = m->para_headernum;
    out->blocknum = m->blocknum;
    out->has_genesis = hex32(m->genesis_block_hash, out->genesis);
    out->has_public_key = hex32(m->public_key, out->public_key);
    out->pending_messages = m->pending_messages;
    out->authority_set_id = m->authority_set_id;
    snprintf(out->provider, sizeof out->provider, "%s",
             m->attestation_provider ? m->attestation_provider : "");
    snprintf(out->version, sizeof out->version, "%s", m->version ? m->version : "");
    pruntime_rpc__phactory_info__free_unpacked(m, NULL);
    return FERRY_OK;
}

/* call_decode() for the methods that answer a SyncedTo. */
static ferry_err call_synced_to(struct ferry_wclient *c, const char *method,
                                const ProtobufCMessage *req, uint32_t *out,
                                struct ferry_reason *why)
{
    PruntimeRpc__SyncedTo *m;
    ferry_err err = call_decode(c, method, req, &pruntime_rpc__synced_to__descriptor,
                                (ProtobufCMessage **)&m, why);
    if (err)
        return err;
    c->last_sync = method;
    c->last_synced_to = m->synced_to;
    if (out)
        *out = m->synced_to;
    pruntime_rpc__synced_to__free_unpacked(m, NULL);
    return FERRY_OK;
}

static ProtobufCBinaryData bin(const uint8_t *p, size_t n)
{
    ProtobufCBinaryData b = {n, (uint8_t *)p};
    return b;
}

/* The worker's public key from an InitRuntimeResponse into pubkey (if wanted), zeros if absent. */
static void answer_pubkey(const PruntimeRpc__InitRuntimeResponse *m, uint8_t *pubkey)
{
    if (!pubkey)
        return;
    if (m->encoded_public_key.len == 32)
        memcpy(pubkey, m->encoded_public_key.data, 32);
    else
        memset(pubkey, 0, 32);
}

ferry_err ferry_wc_init_runtime(struct ferry_wclient *c, const uint8_t *genesis_info, size_t len,
                                bool is_parachain, uint32_t para_id, const uint8_t *operator_id,
                                int provider, uint8_t pubkey[32], struct ferry_reason *why)
{
    PruntimeRpc__InitRuntimeRequest req = PRUNTIME_RPC__INIT_RUNTIME_REQUEST__INIT;
    uint8_t prov = (uint8_t)(provider < 0 ? 0 : provider);
    req.skip_ra = provider < 0;
    req.encoded_genesis_info = bin(genesis_info, len);
    req.is_parachain = is_parachain;
    req.para_id = para_id;
    if (operator_id)
        req.encoded_operator = bin(operator_id, 32);
    if (provider >= 0)
        req.attestation_provider = bin(&prov, 1);
    PruntimeRpc__InitRuntimeResponse *m;
    ferry_err err =
        call_decode(c, "InitRuntime", &req.base, &pruntime_rpc__init_runtime_response__descriptor,
                    (ProtobufCMessage **)&m, why);
    if (err)
        return err;
    answer_pubkey(m, pubkey);
    pruntime_rpc__init_runtime_response__free_unpacked(m, NULL);
    return FERRY_OK;
}

ferry_err ferry_wc_sync_header(struct ferry_wclient *c, const uint8_t *encoded, size_t len,
                               uint32_t *to, struct ferry_reason *why)
{
    PruntimeRpc__HeadersToSync req = PRUNTIME_RPC__HEADERS_TO_SYNC__INIT;
    req.encoded_headers = bin(encoded, len);
    return call_synced_to(c, "SyncHeader", &req.base, to, why);
}

ferry_err ferry_wc_sync_para_header(struct ferry_wclient *c, const uint8_t *encoded, size_t len,
                                    const uint8_t *const *nodes, const size_t *node_lens,
                                    size_t n_nodes, uint32_t *to, struct ferry_reason *why)
{
    PruntimeRpc__ParaHeadersToSync req = PRUNTIME_RPC__PARA_HEADERS_TO_SYNC__INIT;
    req.encoded_headers = bin(encoded, len);
    ProtobufCBinaryData *proof = calloc(n_nodes ? n_nodes : 1, sizeof *proof);
    if (!proof)
        return FERRY_E_NOMEM;
    for (size_t i = 0; i < n_nodes; i++)
        proof[i] = bin(nodes[i], node_lens[i]);
    req.n_proof = n_nodes;
    req.proof = proof;
    ferry_err err = call_synced_to(c, "SyncParaHeader", &req.base, to, why);
    free(proof);
    return err;
}

ferry_err ferry_wc_dispatch_blocks(struct ferry_wclient *c, const uint8_t *encoded, size_t len,
                                   uint32_t *to, struct ferry_reason *why)
{
    PruntimeRpc__Blocks req = PRUNTIME_RPC__BLOCKS__INIT;
    req.encoded_blocks = bin(encoded, len);
    return call_synced_to(c, "DispatchBlocks", &req.base, to, why);
}

static ferry_err dup_bin(const ProtobufCBinaryData *b, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!b->len)
        return FERRY_OK;
    *out = malloc(b->len);
    if (!*out)
        return FERRY_E_NOMEM;
    memcpy(*out, b->data, b->len);
    *len = b->len;
    return FERRY_OK;
}

ferry_err ferry_wc_get_runtime_info(struct ferry_wclient *c, const uint8_t *operator_id,
                                    uint8_t **info, size_t *info_len, uint8_t **report,
                                    size_t *report_len, uint8_t pubkey[32],
                                    struct ferry_reason *why)
{
    *info = *report = NULL;
    *info_len = *report_len = 0;
    PruntimeRpc__GetRuntimeInfoRequest req = PRUNTIME_RPC__GET_RUNTIME_INFO_REQUEST__INIT;
    if (operator_id)
        req.encoded_operator = bin(operator_id, 32);
    PruntimeRpc__InitRuntimeResponse *m;
    ferry_err err =
        call_decode(c, "GetRuntimeInfo", &req.base,
                    &pruntime_rpc__init_runtime_response__descriptor, (ProtobufCMessage **)&m, why);
    if (err)
        return err;
    err = dup_bin(&m->encoded_runtime_info, info, info_len);
    if (!err && m->attestation)
        err = dup_bin(&m->attestation->encoded_report, report, report_len);
    if (!err && !*info_len)
        err = ferry_reason_set(why, FERRY_E_INVALID, "worker GetRuntimeInfo: no runtime info");
    answer_pubkey(m, pubkey);
    pruntime_rpc__init_runtime_response__free_unpacked(m, NULL);
    if (err) {
        free(*info);
        free(*report);
        *info = *report = NULL;
        *info_len = *report_len = 0;
    }
    return err;
}

ferry_err ferry_wc_get_egress(struct ferry_wclient *c, uint8_t **encoded, size_t *len,
                              struct ferry_reason *why)
{
    *encoded = NULL;
    *len = 0;
    PruntimeRpc__GetEgressMessagesResponse *m;
    ferry_err err = call_decode(c, "GetEgressMessages", NULL,
                                &pruntime_rpc__get_egress_messages_response__descriptor,
                                (ProtobufCMessage **)&m, why);
    if (err)
        return err;
    if (m->encoded_messages.len)
        err = dup_bin(&m->encoded_messages, encoded, len);
    else {
        /* an empty Vec */
        *encoded = malloc(1);
        if (!*encoded)
            err = FERRY_E_NOMEM;
        else {
            **encoded = 0;
            *len = 1;
        }
    }
    pruntime_rpc__get_egress_messages_response__free_unpacked(m, NULL);
    return err;
}
