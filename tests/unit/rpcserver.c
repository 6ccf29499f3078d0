/* The scripted JSON-RPC test server (see rpcserver.h for the script). Everything runs on the
 * server's own service thread; the test thread only flips atomics and wakes it with
 * lws_cancel_service. Outgoing messages are queued per connection and written as 64 KiB
 * fragments, one per writeable callback, so large answers exercise the client's reassembly. */
#include "rpcserver.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define FRAG    65536
#define TICK_US 2000

const char tu_rpcserver_header_json[] =
    "{\"parentHash\":\"0x1111111111111111111111111111111111111111111111111111111111111111\","
    "\"number\":\"0x2a\","
    "\"stateRoot\":\"0x2222222222222222222222222222222222222222222222222222222222222222\","
    "\"extrinsicsRoot\":\"0x3333333333333333333333333333333333333333333333333333333333333333\","
    "\"digest\":{\"logs\":[\"0x064241424508abcd\"]}}";

struct smsg {
    struct smsg *next;
    unsigned char *buf; /* LWS_PRE headroom + text */
    size_t len, off;
    int64_t due_us;
};

struct ssub {
    struct ssub *next;
    char id[32];
    const char *method;
    int kind; /* 0 counter, 1 header, 2 big first then counter */
    size_t big;
    int64_t period_us, next_us;
};

struct sconn {
    struct sconn *next;
    struct lws *wsi;
    struct tu_rpcserver *s;
    bool http;
    char *rx;
    size_t rx_len, rx_cap;
    struct smsg *later; /* scheduled, unsorted */
    struct smsg *out_head, *out_tail;
    struct ssub *subs;
    bool stalled, close_now;
    int64_t close_at_us;
    unsigned notified;
    unsigned char *http_resp;
    size_t http_len;
};

struct tu_rpcserver {
    struct lws_context *ctx;
    pthread_t thread;
    atomic_bool stop;
    atomic_bool close_all;
    atomic_uint accepted;
    atomic_uint requests;
    atomic_uint close_after;
    int port;
    struct sconn *conns;
    lws_sorted_usec_list_t tick;
    uint64_t counter;
    unsigned sub_seq;
    uint32_t head_number;
    _Atomic(char *) proof; /* grandpa_proveFinality's answer when set (tu_rpcserver_set_proof) */
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct smsg *msg_from_text(const char *text, size_t len)
{
    struct smsg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->buf = malloc(LWS_PRE + len + 1);
    if (!m->buf) {
        free(m);
        return NULL;
    }
    memcpy(m->buf + LWS_PRE, text, len);
    m->len = len;
    return m;
}

static void msg_free(struct smsg *m)
{
    if (m)
        free(m->buf);
    free(m);
}

static void push_out(struct sconn *cn, struct smsg *m)
{
    if (!m)
        return;
    m->next = NULL;
    if (cn->out_tail)
        cn->out_tail->next = m;
    else
        cn->out_head = m;
    cn->out_tail = m;
    lws_callback_on_writable(cn->wsi);
}

static void push_json(struct sconn *cn, cJSON *j)
{
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (t) {
        push_out(cn, msg_from_text(t, strlen(t)));
        free(t);
    }
}

static void push_later(struct sconn *cn, cJSON *j, int64_t due)
{
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!t)
        return;
    struct smsg *m = msg_from_text(t, strlen(t));
    free(t);
    if (!m)
        return;
    m->due_us = due;
    m->next = cn->later;
    cn->later = m;
}

/* {"jsonrpc":"2.0","result":"0xaaaa…","id":ID} with the id last, as jsonrpsee writes it. */
static struct smsg *big_answer(const cJSON *id, size_t n, const char *sub)
{
    char head[160], tail[96];
    char *idt = id ? cJSON_PrintUnformatted(id) : NULL;
    if (sub)
        snprintf(
            head, sizeof head,
            "{\"jsonrpc\":\"2.0\",\"method\":\"test_notify\",\"params\":{\"subscription\":\"%s\","
            "\"result\":\"",
            sub);
    else
        snprintf(head, sizeof head, "{\"jsonrpc\":\"2.0\",\"result\":\"");
    if (sub)
        snprintf(tail, sizeof tail, "\"}}");
    else
        snprintf(tail, sizeof tail, "\",\"id\":%s}", idt ? idt : "null");
    free(idt);
    size_t hl = strlen(head), tl = strlen(tail);
    struct smsg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->buf = malloc(LWS_PRE + hl + n + tl);
    if (!m->buf) {
        free(m);
        return NULL;
    }
    unsigned char *p = m->buf + LWS_PRE;
    memcpy(p, head, hl);
    if (n >= 2) {
        p[hl] = '0';
        p[hl + 1] = 'x';
        memset(p + hl + 2, 'a', n - 2);
    } else {
        memset(p + hl, 'a', n);
    }
    memcpy(p + hl + n, tail, tl);
    m->len = hl + n + tl;
    return m;
}

/* {"jsonrpc":"2.0","result":[0,0,…,0],"id":ID}: n tiny values, the densest JSON there is (2n + 1
 * bytes of array), to check that a client bounds what parsing it may allocate. */
static struct smsg *tiny_answer(const cJSON *id, size_t n)
{
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"result\":[";
    char tail[96];
    char *idt = id ? cJSON_PrintUnformatted(id) : NULL;
    snprintf(tail, sizeof tail, "],\"id\":%s}", idt ? idt : "null");
    free(idt);
    size_t hl = sizeof head - 1, tl = strlen(tail), body = n ? 2 * n - 1 : 0;
    struct smsg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->buf = malloc(LWS_PRE + hl + body + tl);
    if (!m->buf) {
        free(m);
        return NULL;
    }
    unsigned char *p = m->buf + LWS_PRE;
    memcpy(p, head, hl);
    for (size_t i = 0; i < body; i++)
        p[hl + i] = i % 2 ? ',' : '0';
    memcpy(p + hl + body, tail, tl);
    m->len = hl + body + tl;
    return m;
}

static cJSON *answer(const cJSON *id, cJSON *result)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON_AddItemToObject(o, "result", result ? result : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "id", id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
    return o;
}

static cJSON *fail(const cJSON *id, int code, const char *msg, cJSON *data)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    if (data)
        cJSON_AddItemToObject(e, "data", data);
    cJSON_AddItemToObject(o, "id", id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
    return o;
}

static cJSON *hash_of(int byte)
{
    char h[67] = "0x";
    for (int i = 0; i < 32; i++)
        snprintf(h + 2 + 2 * i, 3, "%02x", byte & 0xff);
    return cJSON_CreateString(h);
}

static cJSON *header_json(uint32_t number)
{
    cJSON *h = cJSON_Parse(tu_rpcserver_header_json);
    char num[16];
    snprintf(num, sizeof num, "0x%x", number);
    cJSON_ReplaceItemInObject(h, "number", cJSON_CreateString(num));
    return h;
}

static int param_int(const cJSON *params, int i, int dflt)
{
    const cJSON *v = cJSON_GetArrayItem(params, i);
    return cJSON_IsNumber(v) ? v->valueint : dflt;
}

static struct ssub *add_sub(struct sconn *cn, const char *method, int kind, int64_t period_us)
{
    struct ssub *sb = calloc(1, sizeof *sb);
    if (!sb)
        return NULL;
    snprintf(sb->id, sizeof sb->id, "s%u", ++cn->s->sub_seq);
    sb->method = method;
    sb->kind = kind;
    sb->period_us = period_us;
    sb->next_us = mono_us() + period_us;
    sb->next = cn->subs;
    cn->subs = sb;
    return sb;
}

static bool drop_sub(struct sconn *cn, const char *id)
{
    for (struct ssub **pp = &cn->subs; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->id, id) == 0) {
            struct ssub *sb = *pp;
            *pp = sb->next;
            free(sb);
            return true;
        }
    }
    return false;
}

/* A notification for sb sent now, ahead of whatever is queued after it (early_sub): result
 * {"n":counter,"early":true[,"pad":"aaa…"]}, addressed to sb's id or, with wrong_id, to one no
 * subscription has. */
static void notify_early(struct sconn *cn, struct ssub *sb, int pad, bool wrong_id)
{
    char other[40];
    snprintf(other, sizeof other, "x%s", sb->id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON_AddStringToObject(o, "method", sb->method);
    cJSON *p = cJSON_AddObjectToObject(o, "params");
    cJSON_AddStringToObject(p, "subscription", wrong_id ? other : sb->id);
    cJSON *r = cJSON_AddObjectToObject(p, "result");
    cJSON_AddNumberToObject(r, "n", (double)++cn->s->counter);
    cJSON_AddTrueToObject(r, "early");
    if (pad > 0) {
        char *fill = malloc((size_t)pad + 1);
        if (fill) {
            memset(fill, 'a', (size_t)pad);
            fill[pad] = 0;
            cJSON_AddStringToObject(r, "pad", fill);
            free(fill);
        }
    }
    push_json(cn, o);
}

static void abrupt_close(struct sconn *cn)
{
    cn->close_now = true;
    lws_callback_on_writable(cn->wsi);
}

/* Handle one request object. Returns: the answer to send now (NULL when there is none or it is
 * scheduled/streamed separately). */
static cJSON *handle(struct sconn *cn, const cJSON *req, bool in_batch)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
    const cJSON *mj = cJSON_GetObjectItemCaseSensitive(req, "method");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(req, "params");
    const char *m = cJSON_IsString(mj) ? mj->valuestring : "";
    struct tu_rpcserver *s = cn->s;
    atomic_fetch_add(&s->requests, 1);

    if (!strcmp(m, "echo"))
        return answer(id, params ? cJSON_Duplicate(params, 1) : cJSON_CreateArray());
    if (!strcmp(m, "delay")) {
        int ms = param_int(params, 0, 0);
        cJSON *v = cJSON_Duplicate(cJSON_GetArrayItem(params, 1), 1);
        if (in_batch || cn->http)
            return answer(id, v);
        push_later(cn, answer(id, v), mono_us() + (int64_t)ms * 1000);
        return NULL;
    }
    if (!strcmp(m, "big")) {
        int n = param_int(params, 0, 0);
        if (cn->http) {
            struct smsg *b = big_answer(id, (size_t)n, NULL);
            if (b) {
                cJSON *r = cJSON_ParseWithLength((char *)b->buf + LWS_PRE, b->len);
                msg_free(b);
                return r;
            }
            return NULL;
        }
        push_out(cn, big_answer(id, (size_t)n, NULL));
        return NULL;
    }
    if (!strcmp(m, "tiny") && !cn->http) {
        push_out(cn, tiny_answer(id, (size_t)param_int(params, 0, 0)));
        return NULL;
    }
    if (!strcmp(m, "error")) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "detail", "x");
        return fail(id, -32000, "scripted failure", d);
    }
    if (!strcmp(m, "malformed")) {
        const char *bad = "{\"jsonrpc\":\"2.0\",\"id\":[[[ not json";
        push_out(cn, msg_from_text(bad, strlen(bad)));
        return answer(id, cJSON_CreateString("after-malformed"));
    }
    if (!strcmp(m, "unknown_id")) {
        cJSON *other = cJSON_CreateNumber(4000000000.0);
        push_json(cn, answer(other, cJSON_CreateString("stray")));
        cJSON_Delete(other);
        return answer(id, cJSON_CreateString("after-unknown"));
    }
    if (!strcmp(m, "raw")) {
        if (cn->http)
            return fail(id, -32601, "raw needs a WebSocket", NULL);
        /* Each string param as a frame of its own, "$ID" replaced by the request's id. */
        char *idtext = id ? cJSON_PrintUnformatted(id) : NULL;
        const cJSON *frame;
        cJSON_ArrayForEach(frame, params)
        {
            if (!cJSON_IsString(frame) || !idtext)
                continue;
            const char *t = frame->valuestring;
            size_t il = strlen(idtext), cap = strlen(t) + 1, n = 0;
            for (const char *q = strstr(t, "$ID"); q; q = strstr(q + 3, "$ID"))
                cap += il;
            char *out = malloc(cap);
            if (!out)
                break;
            for (const char *q = t; *q;) {
                if (!strncmp(q, "$ID", 3)) {
                    memcpy(out + n, idtext, il);
                    n += il;
                    q += 3;
                } else {
                    out[n++] = *q++;
                }
            }
            push_out(cn, msg_from_text(out, n));
            free(out);
        }
        free(idtext);
        return NULL;
    }
    if (!strcmp(m, "stall")) {
        cn->stalled = true;
        lws_rx_flow_control(cn->wsi, 0);
        return NULL;
    }
    if (!strcmp(m, "close")) {
        abrupt_close(cn);
        return NULL;
    }
    if (!strcmp(m, "close_after")) {
        cn->close_at_us = mono_us() + (int64_t)param_int(params, 0, 0) * 1000;
        return answer(id, cJSON_CreateTrue());
    }
    if (!strcmp(m, "sub") || !strcmp(m, "big_sub") || !strcmp(m, "chain_subscribeFinalizedHeads")) {
        if (cn->http)
            return fail(id, -32601, "subscriptions need a WebSocket", NULL);
        struct ssub *sb;
        if (!strcmp(m, "sub")) {
            sb = add_sub(cn, "test_notify", 0, (int64_t)param_int(params, 0, 50) * 1000);
        } else if (!strcmp(m, "big_sub")) {
            sb = add_sub(cn, "test_notify", 2, 20000);
            if (sb)
                sb->big = (size_t)param_int(params, 0, 0);
        } else {
            sb = add_sub(cn, "chain_finalizedHead", 1, 50000);
        }
        return sb ? answer(id, cJSON_CreateString(sb->id)) : NULL;
    }
    if (!strcmp(m, "early_sub")) {
        if (cn->http)
            return fail(id, -32601, "subscriptions need a WebSocket", NULL);
        struct ssub *sb = add_sub(cn, "test_notify", 0, (int64_t)param_int(params, 2, 50) * 1000);
        if (!sb)
            return NULL;
        int before = param_int(params, 0, 1);
        for (int i = 0; i < before; i++)
            notify_early(cn, sb, param_int(params, 1, 0), param_int(params, 3, 0) != 0);
        return answer(id, cJSON_CreateString(sb->id));
    }
    if (!strcmp(m, "stray_notify")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "jsonrpc", "2.0");
        cJSON_AddStringToObject(o, "method", "test_notify");
        cJSON *p = cJSON_AddObjectToObject(o, "params");
        cJSON_AddStringToObject(p, "subscription", "nosuch");
        cJSON_AddNumberToObject(p, "result", 0);
        push_json(cn, o);
        return answer(id, cJSON_CreateString("after-stray"));
    }
    if (!strcmp(m, "unsub") || !strcmp(m, "chain_unsubscribeFinalizedHeads")) {
        const cJSON *sid = cJSON_GetArrayItem(params, 0);
        bool ok = cJSON_IsString(sid) && drop_sub(cn, sid->valuestring);
        return answer(id, cJSON_CreateBool(ok));
    }
    if (!strcmp(m, "chain_getBlockHash"))
        return answer(id, hash_of(param_int(params, 0, 0)));
    if (!strcmp(m, "chain_getFinalizedHead"))
        return answer(id, hash_of(0xf1));
    if (!strcmp(m, "chain_getHeader"))
        return answer(id, header_json(42));
    if (!strcmp(m, "chain_getBlock")) {
        cJSON *r = cJSON_CreateObject();
        cJSON *b = cJSON_AddObjectToObject(r, "block");
        cJSON_AddItemToObject(b, "header", header_json(42));
        cJSON *x = cJSON_AddArrayToObject(b, "extrinsics");
        cJSON_AddItemToArray(x, cJSON_CreateString("0x280403000b207eba5c8501"));
        cJSON_AddItemToArray(x, cJSON_CreateString("0x"));
        /* [[engine as 4 numbers, justification as numbers]], as serde writes them */
        cJSON *js = cJSON_Parse("[[[70,82,78,75],[1,2,3]]]");
        cJSON_AddItemToObject(r, "justifications", js);
        return answer(id, r);
    }
    if (!strcmp(m, "grandpa_proveFinality")) {
        if (param_int(params, 0, 0) == 0)
            return answer(id, NULL);
        char *proof = atomic_load(&s->proof);
        if (proof)
            return answer(id, cJSON_CreateString(proof));
        return answer(id, cJSON_CreateString("0xdeadbeef"));
    }
    if (!strcmp(m, "state_getReadProof")) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddItemToObject(r, "at", hash_of(0xab));
        cJSON *p = cJSON_AddArrayToObject(r, "proof");
        cJSON_AddItemToArray(p, cJSON_CreateString("0x0102"));
        cJSON_AddItemToArray(p, cJSON_CreateString("0x030405"));
        return answer(id, r);
    }
    if (!strcmp(m, "state_getStorage")) {
        const cJSON *k = cJSON_GetArrayItem(params, 0);
        if (cJSON_IsString(k) && !strcmp(k->valuestring, "0x00"))
            return answer(id, NULL);
        return answer(id, cJSON_CreateString("0x0a0b0c"));
    }
    if (!strcmp(m, "state_getKeysPaged"))
        return answer(id, cJSON_Parse("[\"0x0001\",\"0x0002\"]"));
    if (!strcmp(m, "state_getMetadata"))
        return answer(id, cJSON_CreateString("0x6d6574610e00"));
    if (!strcmp(m, "state_getRuntimeVersion"))
        return answer(id,
                      cJSON_Parse("{\"specName\":\"rococo\",\"implName\":\"parity-rococo-v2.0\","
                                  "\"authoringVersion\":0,\"specVersion\":9140,"
                                  "\"implVersion\":0,\"apis\":[],\"transactionVersion\":1,"
                                  "\"stateVersion\":0}"));
    if (!strcmp(m, "system_chain"))
        return answer(id, cJSON_CreateString("Ferry Testnet"));
    if (!strcmp(m, "system_properties"))
        return answer(
            id, cJSON_Parse("{\"ss58Format\":42,\"tokenDecimals\":12,\"tokenSymbol\":\"FRY\"}"));
    if (!strcmp(m, "system_accountNextIndex"))
        return answer(id, cJSON_CreateNumber(7));
    if (!strcmp(m, "author_submitExtrinsic"))
        return answer(id, hash_of(0xee));
    (void)s;
    return fail(id, -32601, "Method not found", NULL);
}

/* Handle one complete message (object or batch). Returns: the immediate answer text or NULL. */
static cJSON *handle_message(struct sconn *cn, const char *text, size_t len)
{
    cJSON *req = cJSON_ParseWithLength(text, len);
    if (!req)
        return fail(NULL, -32700, "Parse error", NULL);
    cJSON *out = NULL;
    if (cJSON_IsArray(req)) {
        out = cJSON_CreateArray();
        int n = cJSON_GetArraySize(req);
        for (int i = n - 1; i >= 0; i--) { /* reverse order: the client must match by id */
            cJSON *a = handle(cn, cJSON_GetArrayItem(req, i), true);
            if (a)
                cJSON_AddItemToArray(out, a);
        }
        if (!cJSON_GetArraySize(out)) { /* nothing to answer: no frame (not an empty array) */
            cJSON_Delete(out);
            out = NULL;
        }
    } else {
        out = handle(cn, req, false);
    }
    cJSON_Delete(req);
    return out;
}

static void conn_free_bufs(struct sconn *cn)
{
    free(cn->rx);
    cn->rx = NULL;
    for (struct smsg *m = cn->later, *n; m; m = n) {
        n = m->next;
        msg_free(m);
    }
    for (struct smsg *m = cn->out_head, *n; m; m = n) {
        n = m->next;
        msg_free(m);
    }
    cn->later = cn->out_head = cn->out_tail = NULL;
    for (struct ssub *sb = cn->subs, *n; sb; sb = n) {
        n = sb->next;
        free(sb);
    }
    cn->subs = NULL;
    free(cn->http_resp);
    cn->http_resp = NULL;
}

static void conn_unlink(struct tu_rpcserver *s, struct sconn *cn)
{
    for (struct sconn **pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == cn) {
            *pp = cn->next;
            break;
        }
    }
}

static bool rx_append(struct sconn *cn, const void *in, size_t len)
{
    if (cn->rx_len + len + 1 > cn->rx_cap) {
        size_t cap = cn->rx_cap ? cn->rx_cap * 2 : 4096;
        while (cap < cn->rx_len + len + 1)
            cap *= 2;
        char *p = realloc(cn->rx, cap);
        if (!p)
            return false;
        cn->rx = p;
        cn->rx_cap = cap;
    }
    memcpy(cn->rx + cn->rx_len, in, len);
    cn->rx_len += len;
    return true;
}

static void notify(struct sconn *cn, struct ssub *sb)
{
    struct tu_rpcserver *s = cn->s;
    if (sb->kind == 2 && sb->big) {
        push_out(cn, big_answer(NULL, sb->big, sb->id));
        sb->big = 0;
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON_AddStringToObject(o, "method", sb->method);
    cJSON *p = cJSON_AddObjectToObject(o, "params");
    cJSON_AddStringToObject(p, "subscription", sb->id);
    if (sb->kind == 1)
        cJSON_AddItemToObject(p, "result", header_json(++s->head_number));
    else
        cJSON_AddNumberToObject(p, "result", (double)++s->counter);
    push_json(cn, o);
    unsigned k = atomic_load(&s->close_after);
    if (k && ++cn->notified >= k)
        cn->close_at_us = mono_us() + 1000; /* after this notification has gone out */
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    struct tu_rpcserver *s = lws_container_of(sul, struct tu_rpcserver, tick);
    int64_t now = mono_us();
    bool close_all = atomic_exchange(&s->close_all, false);
    for (struct sconn *cn = s->conns; cn; cn = cn->next) {
        if (close_all || (cn->close_at_us && now >= cn->close_at_us)) {
            abrupt_close(cn);
            continue;
        }
        if (cn->stalled || cn->close_now)
            continue;
        for (struct smsg **pp = &cn->later; *pp;) {
            struct smsg *m = *pp;
            if (now >= m->due_us) {
                *pp = m->next;
                push_out(cn, m);
            } else {
                pp = &m->next;
            }
        }
        for (struct ssub *sb = cn->subs; sb; sb = sb->next) {
            if (now >= sb->next_us) {
                sb->next_us = now + sb->period_us;
                notify(cn, sb);
            }
        }
    }
    lws_sul_schedule(s->ctx, 0, &s->tick, tick_cb, TICK_US);
}

static int ws_write_next(struct sconn *cn)
{
    struct smsg *m = cn->out_head;
    if (!m)
        return 0;
    size_t chunk = m->len - m->off < FRAG ? m->len - m->off : FRAG;
    bool start = m->off == 0, end = m->off + chunk == m->len;
    int flags = lws_write_ws_flags(LWS_WRITE_TEXT, start, end);
    if (lws_write(cn->wsi, m->buf + LWS_PRE + m->off, chunk, (enum lws_write_protocol)flags) <
        (int)chunk)
        return -1;
    m->off += chunk;
    if (end) {
        cn->out_head = m->next;
        if (!cn->out_head)
            cn->out_tail = NULL;
        msg_free(m);
    }
    if (cn->out_head)
        lws_callback_on_writable(cn->wsi);
    return 0;
}

static int http_reply(struct sconn *cn, cJSON *ans)
{
    char *t = ans ? cJSON_PrintUnformatted(ans) : NULL;
    cJSON_Delete(ans);
    size_t n = t ? strlen(t) : 0;
    unsigned char hdr[LWS_PRE + 512], *p = hdr + LWS_PRE, *end = hdr + sizeof hdr - 1;
    cn->http_resp = malloc(LWS_PRE + n + 1);
    if (!cn->http_resp) {
        free(t);
        return -1;
    }
    if (t)
        memcpy(cn->http_resp + LWS_PRE, t, n);
    free(t);
    cn->http_len = n;
    if (lws_add_http_common_headers(cn->wsi, HTTP_STATUS_OK, "application/json", n, &p, end) ||
        lws_finalize_write_http_header(cn->wsi, hdr + LWS_PRE, &p, end))
        return -1;
    lws_callback_on_writable(cn->wsi);
    return 0;
}

static int srv_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    struct sconn *cn = user;
    struct lws_context *ctx = lws_get_context(wsi);
    struct tu_rpcserver *s = ctx ? lws_context_user(ctx) : NULL;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(cn, 0, sizeof *cn);
        cn->wsi = wsi;
        cn->s = s;
        cn->next = s->conns;
        s->conns = cn;
        atomic_fetch_add(&s->accepted, 1);
        break;
    case LWS_CALLBACK_RECEIVE:
        if (cn->stalled)
            break;
        if (!rx_append(cn, in, len))
            return -1;
        if (lws_is_final_fragment(wsi)) {
            cJSON *a = handle_message(cn, cn->rx, cn->rx_len);
            cn->rx_len = 0;
            if (a)
                push_json(cn, a);
        }
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (cn->close_now) {
            shutdown(lws_get_socket_fd(wsi), SHUT_RDWR);
            return -1;
        }
        if (cn->stalled)
            break;
        return ws_write_next(cn);
    case LWS_CALLBACK_CLOSED:
        conn_unlink(s, cn);
        conn_free_bufs(cn);
        break;
    case LWS_CALLBACK_HTTP:
        memset(cn, 0, sizeof *cn);
        cn->wsi = wsi;
        cn->s = s;
        cn->http = true;
        if (!lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI)) {
            lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL);
            return -1;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY:
        if (!rx_append(cn, in, len))
            return -1;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return http_reply(cn, handle_message(cn, cn->rx ? cn->rx : "", cn->rx_len));
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!cn->http_resp)
            break;
        {
            int n = lws_write(wsi, cn->http_resp + LWS_PRE, cn->http_len, LWS_WRITE_HTTP_FINAL);
            free(cn->http_resp);
            cn->http_resp = NULL;
            if (n < 0)
                return -1;
            if (lws_http_transaction_completed(wsi))
                return -1;
        }
        break;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (cn && cn->http)
            conn_free_bufs(cn);
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols srv_protocols[] = {
    {"ferry-test", srv_callback, sizeof(struct sconn), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *srv_main(void *arg)
{
    struct tu_rpcserver *s = arg;
    lws_sul_schedule(s->ctx, 0, &s->tick, tick_cb, TICK_US);
    while (!atomic_load(&s->stop))
        lws_service(s->ctx, 0);
    lws_sul_cancel(&s->tick);
    return NULL;
}

struct tu_rpcserver *tu_rpcserver_start(int port)
{
    return tu_rpcserver_start_tls(port, NULL, NULL);
}

struct tu_rpcserver *tu_rpcserver_start_tls(int port, const char *cert, const char *key)
{
    struct tu_rpcserver *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    const char *dbg = getenv("FERRY_RPC_DEBUG");
    lws_set_log_level(dbg && *dbg ? LLL_ERR | LLL_WARN : 0, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = "127.0.0.1";
    info.protocols = srv_protocols;
    info.user = s;
    info.pt_serv_buf_size = 256 * 1024;
    info.fd_limit_per_thread = 64;
    info.count_threads = 1;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    if (cert && key) {
        /* A test server needs no trust store; lws 4.1 also leaks the one it would load for the
         * server vhost's unused client side once a handshake has happened. */
        info.options |=
            LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
        info.ssl_cert_filepath = cert;
        info.ssl_private_key_filepath = key;
    }
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        free(s);
        return NULL;
    }
    s->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->ctx, "default"));
    if (s->port <= 0 || pthread_create(&s->thread, NULL, srv_main, s) != 0) {
        lws_context_destroy(s->ctx);
        free(s);
        return NULL;
    }
    return s;
}

int tu_rpcserver_port(const struct tu_rpcserver *s)
{
    return s->port;
}

void tu_rpcserver_set_close_after(struct tu_rpcserver *s, unsigned k)
{
    atomic_store(&s->close_after, k);
}

unsigned tu_rpcserver_accepted(const struct tu_rpcserver *s)
{
    return atomic_load(&s->accepted);
}

unsigned tu_rpcserver_requests(const struct tu_rpcserver *s)
{
    return atomic_load(&s->requests);
}

void tu_rpcserver_close_all(struct tu_rpcserver *s)
{
    atomic_store(&s->close_all, true);
    lws_cancel_service(s->ctx);
}

void tu_rpcserver_stop(struct tu_rpcserver *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    lws_cancel_service(s->ctx);
    pthread_join(s->thread, NULL);
    lws_context_destroy(s->ctx);
    free(atomic_load(&s->proof));
    free(s);
}

void tu_rpcserver_set_proof(struct tu_rpcserver *s, const char *hex)
{
    char *old = atomic_exchange(&s->proof, hex ? strdup(hex) : NULL);
    free(old); /* answers are built on the server thread while no request for it is pending */
}
