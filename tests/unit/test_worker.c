/* ferry-worker: every API method, valid and hostile, through the in-process handler (and the
 * real HTTP server for transport checks). Chains are generated here: headers whose state roots
 * are tries built with the trie module, finalized by justifications signed by test GRANDPA
 * voters (as test_grandpa.c does), so every proof and justification is real. */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ferry/attest.h"
#include "ferry/grandpa.h"
#include "ferry/hash.h"
#include "ferry/header.h"
#include "ferry/msgcrypt.h"
#include "ferry/para_head.h"
#include "ferry/scale.h"
#include "ferry/sr25519.h"
#include "ferry/trie.h"
#include "ferry/worker.h"
#include "ferry/workerapi.h"
#include "prpc.pb-c.h"
#include "pruntime_rpc.pb-c.h"

#define NVOTERS 4
#define MAXBLK  64
#define PARA_ID 2035

/* ---- tries and proofs ------------------------------------------------------------------------ */

struct nodes {
    uint8_t *data[256];
    size_t len[256];
    size_t n;
};

static void nodes_free(struct nodes *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->data[i]);
    e->n = 0;
}

static void collect(const struct ferry_trie_proof *p, const uint8_t *node, size_t len,
                    struct nodes *e, bool add)
{
    if (add) {
        ck_assert_uint_lt(e->n, 256);
        e->data[e->n] = malloc(len);
        memcpy(e->data[e->n], node, len);
        e->len[e->n++] = len;
    }
    struct ferry_trie_node nd;
    if (ferry_trie_node_decode(node, len, &nd, NULL))
        return;
    for (int i = 0; i < 16; i++) {
        if (nd.child_len[i] == 32) {
            const uint8_t *d;
            size_t l;
            if (ferry_trie_proof_get(p, nd.child[i], &d, &l))
                collect(p, d, l, e, true);
        } else if (nd.child_len[i]) {
            collect(p, nd.child[i], nd.child_len[i], e, false);
        }
    }
}

/* Build the trie of kv[n]; root and every node (a full read proof). */
static void trie_make(const struct ferry_trie_kv *kv, size_t n, uint8_t root[32], struct nodes *e)
{
    struct ferry_trie_proof *p = NULL;
    ck_assert_int_eq(ferry_trie_build_proof(kv, n, FERRY_TRIE_V0, root, &p), FERRY_OK);
    const uint8_t *d;
    size_t l;
    memset(e, 0, sizeof *e);
    ck_assert(ferry_trie_proof_get(p, root, &d, &l));
    collect(p, d, l, e, true);
    ferry_trie_proof_free(p);
}

static void put_nodes(struct ferry_scale_writer *w, const struct nodes *e)
{
    ferry_scale_put_compact(w, e->n);
    for (size_t i = 0; i < e->n; i++)
        ferry_scale_put_byte_vec(w, e->data[i], e->len[i]);
}

/* ---- voters, headers, justifications ------------------------------------------------------------
 */

struct voter {
    uint8_t pk[32], sk[64];
};

static struct voter voters[NVOTERS];

static void make_voters(void)
{
    for (size_t i = 0; i < NVOTERS; i++) {
        uint8_t seed[32] = {0x77, (uint8_t)i};
        crypto_sign_seed_keypair(voters[i].pk, voters[i].sk, seed);
    }
}

static void authorities_value(struct ferry_scale_writer *w)
{
    ferry_scale_writer_init(w);
    ferry_scale_put_compact(w, NVOTERS);
    for (size_t i = 0; i < NVOTERS; i++) {
        ferry_scale_put_bytes(w, voters[i].pk, 32);
        ferry_scale_put_u64(w, 1);
    }
}

static void make_header(struct ferry_header *h, const uint8_t parent[32], uint32_t number,
                        const uint8_t root[32], uint8_t salt)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_bytes(&w, parent, 32);
    ferry_scale_put_compact(&w, number);
    ferry_scale_put_bytes(&w, root, 32);
    uint8_t ext[32] = {salt};
    ferry_scale_put_bytes(&w, ext, 32);
    ferry_scale_put_compact(&w, 0);
    ck_assert_int_eq(ferry_header_decode(h, w.buf, w.len, NULL), FERRY_OK);
    ferry_scale_writer_free(&w);
}

/* SCALE justification for t by `signers` of the voters (set 0, round 1). */
static void justify(struct ferry_scale_writer *w, const struct ferry_header *t, size_t signers,
                    uint64_t set_id)
{
    struct ferry_grandpa_justification j;
    memset(&j, 0, sizeof j);
    j.round = 1;
    memcpy(j.target_hash, t->hash, 32);
    j.target_number = t->number;
    j.precommits = calloc(NVOTERS, sizeof *j.precommits);
    for (size_t i = 0; i < signers; i++) {
        struct ferry_grandpa_precommit *p = &j.precommits[j.n_precommits++];
        uint8_t msg[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN];
        memcpy(p->target_hash, t->hash, 32);
        p->target_number = t->number;
        memcpy(p->id, voters[i].pk, 32);
        ferry_grandpa_precommit_payload(msg, p->target_hash, p->target_number, j.round, set_id);
        crypto_sign_detached(p->signature, NULL, msg, sizeof msg, voters[i].sk);
    }
    ferry_scale_writer_init(w);
    ferry_grandpa_justification_encode(&j, w);
    free(j.precommits);
}

/* ---- a generated solo chain whose blocks carry the worker's keys -------------------------------
 */

struct block_state {
    bool has_outbound;
    struct ferry_scale_writer outbound; /* Vec<Message> */
    bool has_ingress;
    uint64_t ingress;
    bool registered;
};

struct chain {
    uint8_t worker_pk[32];
    struct ferry_header h[MAXBLK];
    struct nodes proof[MAXBLK]; /* full state proof of each block */
    struct block_state st[MAXBLK];
    size_t n; /* headers 0..n-1 */
};

static void block_trie(struct chain *c, uint32_t number, uint8_t root[32])
{
    uint8_t keys[FERRY_WORKER_N_KEYS][FERRY_WORKER_KEY_MAX];
    size_t lens[FERRY_WORKER_N_KEYS];
    ferry_worker_dispatch_keys(c->worker_pk, keys, lens);
    struct ferry_trie_kv kv[8];
    size_t n = 0;
    uint8_t k_auth[32], k_set[32];
    ferry_storage_prefix(k_auth, "Grandpa", "Authorities");
    ferry_storage_prefix(k_set, "Grandpa", "CurrentSetId");
    struct ferry_scale_writer av;
    authorities_value(&av);
    uint8_t setid[8] = {0};
    kv[n++] = (struct ferry_trie_kv){k_auth, 32, av.buf, av.len};
    kv[n++] = (struct ferry_trie_kv){k_set, 32, setid, 8};
    static const uint8_t salt_key[] = ":test_salt";
    uint8_t salt[4];
    memcpy(salt, &number, 4);
    kv[n++] = (struct ferry_trie_kv){salt_key, sizeof salt_key - 1, salt, 4};
    struct block_state *s = &c->st[number];
    uint8_t ing[8];
    if (s->has_outbound)
        kv[n++] = (struct ferry_trie_kv){keys[0], lens[0], s->outbound.buf, s->outbound.len};
    if (s->has_ingress) {
        memcpy(ing, &s->ingress, 8);
        kv[n++] = (struct ferry_trie_kv){keys[1], lens[1], ing, 8};
    }
    static const uint8_t winfo[] = {1, 2, 3};
    if (s->registered)
        kv[n++] = (struct ferry_trie_kv){keys[2], lens[2], winfo, sizeof winfo};
    trie_make(kv, n, root, &c->proof[number]);
    ferry_scale_writer_free(&av);
}

/* Build headers 0..n-1 from the block states already set in c->st. */
static void chain_build(struct chain *c, size_t n)
{
    uint8_t parent[32] = {0};
    for (size_t i = 0; i < n; i++) {
        uint8_t root[32];
        block_trie(c, (uint32_t)i, root);
        make_header(&c->h[i], parent, (uint32_t)i, root, 0);
        memcpy(parent, c->h[i].hash, 32);
    }
    c->n = n;
}

static void chain_free(struct chain *c)
{
    for (size_t i = 0; i < MAXBLK; i++) {
        ferry_header_free(&c->h[i]);
        nodes_free(&c->proof[i]);
        if (c->st[i].has_outbound)
            ferry_scale_writer_free(&c->st[i].outbound);
    }
    memset(c, 0, sizeof *c);
}

/* ---- the worker under test
 * ------------------------------------------------------------------------ */

struct tw {
    char dir[128];
    struct ferry_worker_config cfg;
    struct ferry_worker *w;
    struct ferry_worker_info info;
};

static void tw_open(struct tw *t, enum ferry_worker_attestation att, const char *adir)
{
    memset(t, 0, sizeof *t);
    strcpy(t->dir, "/tmp/ferry-worker-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    memset(t->cfg.seal_key, 0x5e, 32);
    t->cfg.data_dir = t->dir;
    t->cfg.attestation = att;
    t->cfg.attestation_dir = adir;
    struct ferry_reason why = {{0}};
    ck_assert_msg(ferry_worker_open(&t->w, &t->cfg, &why) == FERRY_OK, "%s", why.text);
    ferry_worker_get_info(t->w, &t->info);
}

static void rm_rf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void tw_close(struct tw *t)
{
    if (t->w)
        ck_assert_int_eq(ferry_worker_close(t->w, NULL), FERRY_OK);
    t->w = NULL;
    rm_rf(t->dir);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *b = malloc(1 << 22);
    *len = fread(b, 1, 1 << 22, f);
    fclose(f);
    return b;
}

/* State before a refused request: the unsealed serialisation and the sealed file. */
struct snap {
    uint8_t *state, *sealed;
    size_t state_len, sealed_len;
};

static void snap_take(struct tw *t, struct snap *s)
{
    ck_assert_int_eq(ferry_worker_state(t->w, &s->state, &s->state_len), FERRY_OK);
    char p[256];
    snprintf(p, sizeof p, "%s/state.sealed", t->dir);
    s->sealed = read_file(p, &s->sealed_len);
    ck_assert_ptr_nonnull(s->sealed);
}

static void snap_same(struct tw *t, struct snap *s)
{
    struct snap now;
    snap_take(t, &now);
    ck_assert_uint_eq(now.state_len, s->state_len);
    ck_assert_int_eq(memcmp(now.state, s->state, s->state_len), 0);
    ck_assert_uint_eq(now.sealed_len, s->sealed_len);
    ck_assert_int_eq(memcmp(now.sealed, s->sealed, s->sealed_len), 0);
    free(now.state);
    free(now.sealed);
    free(s->state);
    free(s->sealed);
}

static int call_raw(struct tw *t, const char *m, const uint8_t *body, size_t len,
                    struct ferry_workerapi_response *r)
{
    ferry_workerapi_handle(t->w, m, strlen(m), body, len, false, r);
    return r->status;
}

static int call(struct tw *t, const char *m, const ProtobufCMessage *req,
                struct ferry_workerapi_response *r)
{
    size_t n = req ? protobuf_c_message_get_packed_size(req) : 0;
    uint8_t *b = malloc(n + 1);
    if (req)
        protobuf_c_message_pack(req, b);
    int st = call_raw(t, m, b, n, r);
    free(b);
    return st;
}

/* The PrpcError message of a response (static buffer). */
static const char *err_text(const struct ferry_workerapi_response *r)
{
    static char buf[512];
    Prpc__PrpcError *e = prpc__prpc_error__unpack(NULL, r->len, r->body);
    ck_assert_ptr_nonnull(e);
    snprintf(buf, sizeof buf, "%s", e->message);
    prpc__prpc_error__free_unpacked(e, NULL);
    return buf;
}

/* Expect a refusal with `status` whose message contains `needle`, and an unchanged state. */
static void expect_refused(struct tw *t, const char *m, const ProtobufCMessage *req, int status,
                           const char *needle)
{
    struct snap s;
    snap_take(t, &s);
    struct ferry_workerapi_response r;
    int st = call(t, m, req, &r);
    const char *msg = err_text(&r);
    ck_assert_msg(st == status, "%s: status %d (wanted %d): %s", m, st, status, msg);
    ck_assert_msg(strstr(msg, needle) != NULL, "%s: '%s' lacks '%s'", m, msg, needle);
    ferry_workerapi_response_free(&r);
    snap_same(t, &s);
}

static void genesis_info_at(struct ferry_scale_writer *w, const struct chain *c, uint64_t set_id,
                            uint32_t at)
{
    ferry_scale_writer_init(w);
    ferry_scale_put_bytes(w, c->h[at].encoded, c->h[at].encoded_len);
    ferry_scale_put_compact(w, NVOTERS);
    for (size_t i = 0; i < NVOTERS; i++) {
        ferry_scale_put_bytes(w, voters[i].pk, 32);
        ferry_scale_put_u64(w, 1);
    }
    ferry_scale_put_u64(w, set_id);
    put_nodes(w, &c->proof[at]);
}

static void genesis_info(struct ferry_scale_writer *w, const struct chain *c, uint64_t set_id)
{
    genesis_info_at(w, c, set_id, 0);
}

static void do_init(struct tw *t, const struct chain *c)
{
    struct ferry_scale_writer gi;
    genesis_info(&gi, c, 0);
    PruntimeRpc__InitRuntimeRequest req = PRUNTIME_RPC__INIT_RUNTIME_REQUEST__INIT;
    req.encoded_genesis_info = (ProtobufCBinaryData){gi.len, gi.buf};
    uint8_t op[32] = {0x0b};
    req.encoded_operator = (ProtobufCBinaryData){32, op};
    struct ferry_workerapi_response r;
    ck_assert_int_eq(call(t, "InitRuntime", &req.base, &r), 200);
    PruntimeRpc__InitRuntimeResponse *ir =
        pruntime_rpc__init_runtime_response__unpack(NULL, r.len, r.body);
    ck_assert_ptr_nonnull(ir);
    ck_assert_uint_eq(ir->encoded_genesis_block_hash.len, 32);
    ck_assert_int_eq(memcmp(ir->encoded_genesis_block_hash.data, c->h[0].hash, 32), 0);
    ck_assert_int_eq(memcmp(ir->encoded_public_key.data, t->info.public_key, 32), 0);
    ck_assert_ptr_null(ir->attestation);
    pruntime_rpc__init_runtime_response__free_unpacked(ir, NULL);
    ferry_workerapi_response_free(&r);
    ferry_scale_writer_free(&gi);
}

/* HeadersToSync for headers [from, to], justification on the last (signers of 4). */
static void headers_req(struct ferry_scale_writer *w, const struct chain *c, uint32_t from,
                        uint32_t to, size_t signers)
{
    ferry_scale_writer_init(w);
    ferry_scale_put_compact(w, to - from + 1);
    for (uint32_t i = from; i <= to; i++) {
        ferry_scale_put_bytes(w, c->h[i].encoded, c->h[i].encoded_len);
        if (i == to && signers) {
            struct ferry_scale_writer j;
            justify(&j, &c->h[i], signers, 0);
            ferry_scale_put_u8(w, 1);
            ferry_scale_put_byte_vec(w, j.buf, j.len);
            ferry_scale_writer_free(&j);
        } else {
            ferry_scale_put_u8(w, 0);
        }
    }
}

static uint32_t sync_headers(struct tw *t, const struct chain *c, uint32_t from, uint32_t to)
{
    struct ferry_scale_writer w;
    headers_req(&w, c, from, to, NVOTERS);
    PruntimeRpc__HeadersToSync req = PRUNTIME_RPC__HEADERS_TO_SYNC__INIT;
    req.encoded_headers = (ProtobufCBinaryData){w.len, w.buf};
    struct ferry_workerapi_response r;
    int st = call(t, "SyncHeader", &req.base, &r);
    ck_assert_msg(st == 200, "SyncHeader %u..%u: %d %s", from, to, st,
                  st == 200 ? "" : err_text(&r));
    PruntimeRpc__SyncedTo *s = pruntime_rpc__synced_to__unpack(NULL, r.len, r.body);
    uint32_t to_ = s->synced_to;
    pruntime_rpc__synced_to__free_unpacked(s, NULL);
    ferry_workerapi_response_free(&r);
    ferry_scale_writer_free(&w);
    return to_;
}

/* Blocks request for [from, to], block i proven with proof of block proof_of(i). */
static void blocks_req(struct ferry_scale_writer *w, const struct chain *c, uint32_t from,
                       uint32_t to, int wrong_root_at)
{
    ferry_scale_writer_init(w);
    ferry_scale_put_compact(w, to - from + 1);
    for (uint32_t i = from; i <= to; i++) {
        ferry_scale_put_compact(w, i);
        put_nodes(w, &c->proof[(int)i == wrong_root_at ? i + 1 : i]);
    }
}

static int dispatch(struct tw *t, const struct chain *c, uint32_t from, uint32_t to,
                    struct ferry_workerapi_response *r)
{
    struct ferry_scale_writer w;
    blocks_req(&w, c, from, to, -1);
    PruntimeRpc__Blocks req = PRUNTIME_RPC__BLOCKS__INIT;
    req.encoded_blocks = (ProtobufCBinaryData){w.len, w.buf};
    int st = call(t, "DispatchBlocks", &req.base, r);
    ferry_scale_writer_free(&w);
    return st;
}

/* A user's envelope to the worker, and the session to read the reply with. */
static void make_envelope(struct ferry_scale_writer *payload, const uint8_t worker_ecdh[32],
                          const char *text, struct ferry_envelope_session *ses)
{
    size_t n = strlen(text), el = 0;
    uint8_t *env = malloc(FERRY_ENVELOPE_OVERHEAD + n);
    ck_assert_int_eq(ferry_envelope_seal(ses, env, FERRY_ENVELOPE_OVERHEAD + n, &el, worker_ecdh,
                                         (const uint8_t *)text, n, NULL),
                     FERRY_OK);
    ferry_scale_writer_init(payload);
    ferry_scale_put_bytes(payload, env, el);
    free(env);
}

/* Append Message{AccountId(sender), topic, payload} to a Vec<Message> being built. */
static void put_message(struct ferry_scale_writer *w, const uint8_t *topic, size_t tl,
                        const uint8_t *payload, size_t pl)
{
    uint8_t who[32] = {0xa1};
    ferry_scale_put_u8(w, 0x03);
    ferry_scale_put_bytes(w, who, 32);
    ferry_scale_put_byte_vec(w, topic, tl);
    ferry_scale_put_byte_vec(w, payload, pl);
}

/* ---- tests
 * ---------------------------------------------------------------------------------------- */

START_TEST(fresh_worker_reports_itself)
{
    struct tw t;
    tw_open(&t, FERRY_WORKER_ATTEST_NONE, NULL);
    struct ferry_workerapi_response r;
    ck_assert_int_eq(call_raw(&t, "GetInfo", NULL, 0, &r), 200);
    PruntimeRpc__PhactoryInfo *pi = pruntime_rpc__phactory_info__unpack(NULL, r.len, r.body);
    ck_assert_ptr_nonnull(pi);
    ck_assert(!pi->initialized);
    ck_assert_uint_eq(strlen(pi->public_key), 64);
    ck_assert(pi->dev_mode);
    pruntime_rpc__phactory_info__free_unpacked(pi, NULL);
    ferry_workerapi_response_free(&r);
    /* JSON rendering of the same message */
    ferry_workerapi_handle(t.w, "GetInfo", 7, NULL, 0, true, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(r.json);
    ck_assert_ptr_nonnull(strstr((char *)r.body, "\"initialized\":false"));
    ck_assert_ptr_nonnull(strstr((char *)r.body, "\"headernum\":0"));
    ferry_workerapi_response_free(&r);
    /* methods that need InitRuntime are refused with 409 */
    PruntimeRpc__HeadersToSync hs = PRUNTIME_RPC__HEADERS_TO_SYNC__INIT;
    expect_refused(&t, "SyncHeader", &hs.base, 409, "not initialised");
    expect_refused(&t, "GetRuntimeInfo", NULL, 409, "not initialised");
    /* unknown method, garbage protobuf, oversized body */
    expect_refused(&t, "Frobnicate", NULL, 404, "unknown method");
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    struct snap s;
    snap_take(&t, &s);
    ck_assert_int_eq(call_raw(&t, "SyncHeader", garbage, sizeof garbage, &r), 400);
    ck_assert_ptr_nonnull(strstr(err_text(&r), "not a protobuf"));
    ferry_workerapi_response_free(&r);
    uint8_t *big = calloc(2048, 1);
    ck_assert_int_eq(call_raw(&t, "GetInfo", big, 2048, &r), 413);
    ck_assert_ptr_nonnull(strstr(err_text(&r), "over the limit"));
    ferry_workerapi_response_free(&r);
    free(big);
    snap_same(&t, &s);
    tw_close(&t);
}
END_TEST

START_TEST(init_sync_dispatch_echo_round_trip)
{
    make_voters();
    struct tw t;
    tw_open(&t, FERRY_WORKER_ATTEST_NONE, NULL);
    static struct chain c;
    memset(&c, 0, sizeof c);
    memcpy(c.worker_pk, t.info.public_key, 32);
    /* block 3: two messages for the worker (one undecryptable) and one for someone else;
     * block 5: OffchainIngress = 1 (the first reply is on chain); the worker is registered. */
    uint8_t topic[FERRY_WORKER_TOPIC_LEN];
    ferry_worker_topic(t.info.public_key, topic);
    struct ferry_scale_writer p1, p2;
    struct ferry_envelope_session s1, s2;
    make_envelope(&p1, t.info.ecdh_public_key, "hello worker", &s1);
    make_envelope(&p2, t.info.ecdh_public_key, "second", &s2);
    p2.buf[p2.len - 1] ^= 1; /* tag broken */
    struct block_state *b3 = &c.st[3];
    b3->has_outbound = true;
    ferry_scale_writer_init(&b3->outbound);
    ferry_scale_put_compact(&b3->outbound, 3);
    put_message(&b3->outbound, topic, sizeof topic, p1.buf, p1.len);
    put_message(&b3->outbound, (const uint8_t *)"other/topic", 11, p1.buf, p1.len);
    put_message(&b3->outbound, topic, sizeof topic, p2.buf, p2.len);
    /* the chain already took 5 messages from this worker key before block 1 (sequences start
     * at the proven value), and the reply (sequence 5) lands before block 5 */
    for (int i = 1; i < 8; i++) {
        c.st[i].has_ingress = true;
        c.st[i].ingress = i < 5 ? 5 : 6;
        c.st[i].registered = i >= 5;
    }
    chain_build(&c, 8);
    do_init(&t, &c);
    ferry_worker_get_info(t.w, &t.info);
    ck_assert(t.info.initialized);
    ck_assert_uint_eq(t.info.headernum, 1);
    ck_assert_uint_eq(t.info.blocknum, 1);

    ck_assert_uint_eq(sync_headers(&t, &c, 1, 4), 4);
    struct ferry_workerapi_response r;
    /* block 5 is not validated yet */
    {
        struct ferry_scale_writer w;
        blocks_req(&w, &c, 1, 5, -1);
        PruntimeRpc__Blocks req = PRUNTIME_RPC__BLOCKS__INIT;
        req.encoded_blocks = (ProtobufCBinaryData){w.len, w.buf};
        expect_refused(&t, "DispatchBlocks", &req.base, 409, "block 5 is not validated yet");
        ferry_scale_writer_free(&w);
    }
    ck_assert_int_eq(dispatch(&t, &c, 1, 4, &r), 200);
    ferry_workerapi_response_free(&r);
    ferry_worker_get_info(t.w, &t.info);
    ck_assert_uint_eq(t.info.blocknum, 5);
    ck_assert_uint_eq(t.info.counters.ingress_messages, 2);
    ck_assert_uint_eq(t.info.counters.ingress_handled, 1);
    ck_assert_uint_eq(t.info.counters.ingress_undecryptable, 1);
    ck_assert_uint_eq(t.info.pending_egress, 1);

    /* the egress reply: signed over SCALE(message) ‖ seq, readable with the sender's key */
    ck_assert_int_eq(call_raw(&t, "GetEgressMessages", NULL, 0, &r), 200);
    PruntimeRpc__GetEgressMessagesResponse *eg =
        pruntime_rpc__get_egress_messages_response__unpack(NULL, r.len, r.body);
    ck_assert_ptr_nonnull(eg);
    struct ferry_scale_reader rd;
    ferry_scale_reader_init(&rd, eg->encoded_messages.data, eg->encoded_messages.len);
    uint32_t groups = 0, nmsg = 0;
    uint8_t tag = 0;
    const uint8_t *pk, *dest, *payload, *sig;
    size_t dl, pl, sl;
    uint64_t seq = 99;
    ck_assert_int_eq(ferry_scale_compact_u32(&rd, &groups), FERRY_OK);
    ck_assert_uint_eq(groups, 1);
    ferry_scale_u8(&rd, &tag);
    ck_assert_uint_eq(tag, 2);
    ferry_scale_bytes(&rd, 32, &pk);
    ck_assert_int_eq(memcmp(pk, t.info.public_key, 32), 0);
    ferry_scale_compact_u32(&rd, &nmsg);
    ck_assert_uint_eq(nmsg, 1);
    size_t msg_start = rd.pos;
    ferry_scale_u8(&rd, &tag);
    ferry_scale_bytes(&rd, 32, &pk);
    ferry_scale_byte_vec(&rd, &dest, &dl);
    ferry_scale_byte_vec(&rd, &payload, &pl);
    ferry_scale_u64(&rd, &seq);
    size_t signed_end = rd.pos;
    ferry_scale_byte_vec(&rd, &sig, &sl);
    ck_assert_int_eq(ferry_scale_finish(&rd), FERRY_OK);
    ck_assert_uint_eq(seq, 5);
    ck_assert_uint_eq(sl, 64);
    uint8_t rtopic[FERRY_WORKER_REPLY_TOPIC_LEN];
    ferry_worker_reply_topic(s1.ephemeral_public, rtopic);
    ck_assert_uint_eq(dl, sizeof rtopic);
    ck_assert_int_eq(memcmp(dest, rtopic, dl), 0);
    ck_assert(ferry_sr25519_verify(t.info.public_key, (const uint8_t *)"substrate", 9,
                                   eg->encoded_messages.data + msg_start, signed_end - msg_start,
                                   sig));
    uint8_t plain[64];
    size_t plain_len = 0;
    ck_assert_uint_eq(pl, FERRY_ENVELOPE_OVERHEAD + 12);
    ck_assert_int_eq(
        ferry_envelope_open_reply(&s1, plain, sizeof plain, &plain_len, payload, pl, NULL),
        FERRY_OK);
    ck_assert_uint_eq(plain_len, 12);
    ck_assert_int_eq(memcmp(plain, "hello worker", 12), 0);
    /* the other session cannot read it */
    ck_assert_int_ne(
        ferry_envelope_open_reply(&s2, plain, sizeof plain, &plain_len, payload, pl, NULL),
        FERRY_OK);
    pruntime_rpc__get_egress_messages_response__free_unpacked(eg, NULL);
    ferry_workerapi_response_free(&r);

    /* hostile dispatches: repeated, skipped, proof against another block's root */
    ck_assert_uint_eq(sync_headers(&t, &c, 5, 7), 7);
    {
        struct ferry_scale_writer w;
        PruntimeRpc__Blocks req = PRUNTIME_RPC__BLOCKS__INIT;
        blocks_req(&w, &c, 4, 5, -1);
        req.encoded_blocks = (ProtobufCBinaryData){w.len, w.buf};
        expect_refused(&t, "DispatchBlocks", &req.base, 409, "block 4 is already dispatched");
        ferry_scale_writer_free(&w);
        blocks_req(&w, &c, 6, 6, -1);
        req.encoded_blocks = (ProtobufCBinaryData){w.len, w.buf};
        expect_refused(&t, "DispatchBlocks", &req.base, 409, "block 6 skips ahead");
        ferry_scale_writer_free(&w);
        blocks_req(&w, &c, 5, 6, 6); /* block 6 proven with block 7's nodes */
        req.encoded_blocks = (ProtobufCBinaryData){w.len, w.buf};
        expect_refused(&t, "DispatchBlocks", &req.base, 409, "block 6");
        ferry_scale_writer_free(&w);
        /* truncated SCALE */
        blocks_req(&w, &c, 5, 6, -1);
        req.encoded_blocks = (ProtobufCBinaryData){w.len - 3, w.buf};
        expect_refused(&t, "DispatchBlocks", &req.base, 400, "encoded_blocks");
        ferry_scale_writer_free(&w);
    }
    /* block 5: OffchainIngress 6 → the reply is confirmed and leaves the queue */
    ck_assert_int_eq(dispatch(&t, &c, 5, 6, &r), 200);
    ferry_workerapi_response_free(&r);
    ferry_worker_get_info(t.w, &t.info);
    ck_assert_uint_eq(t.info.pending_egress, 0);
    ck_assert_uint_eq(t.info.counters.egress_confirmed, 1);
    ck_assert(t.info.registered);
    ck_assert_uint_eq(t.info.blocknum, 7);

    /* restart: the sealed state comes back byte-identical */
    uint8_t *before;
    size_t before_len;
    ck_assert_int_eq(ferry_worker_state(t.w, &before, &before_len), FERRY_OK);
    ck_assert_int_eq(ferry_worker_close(t.w, NULL), FERRY_OK);
    struct ferry_reason why = {{0}};
    ck_assert_msg(ferry_worker_open(&t.w, &t.cfg, &why) == FERRY_OK, "%s", why.text);
    uint8_t *after;
    size_t after_len;
    ck_assert_int_eq(ferry_worker_state(t.w, &after, &after_len), FERRY_OK);
    ck_assert_uint_eq(before_len, after_len);
    ck_assert_int_eq(memcmp(before, after, before_len), 0);
    free(before);
    free(after);
    ck_assert_int_eq(dispatch(&t, &c, 7, 7, &r), 200);
    ferry_workerapi_response_free(&r);

    ferry_scale_writer_free(&p1);
    ferry_scale_writer_free(&p2);
    chain_free(&c);
    tw_close(&t);
}
END_TEST

/* The sealed file's bytes (malloc'd). */
static uint8_t *sealed_now(const struct tw *t, size_t *len)
{
    char p[256];
    snprintf(p, sizeof p, "%s/state.sealed", t->dir);
    uint8_t *b = read_file(p, len);
    ck_assert_ptr_nonnull(b);
    return b;
}

static bool sealed_changed(const struct tw *t, uint8_t **last, size_t *last_len)
{
    size_t n = 0;
    uint8_t *now = sealed_now(t, &n);
    bool changed = n != *last_len || memcmp(now, *last, n) != 0;
    free(*last);
    *last = now;
    *last_len = n;
    return changed;
}

/* A second worker (same seal key, own data dir) started from the sealed file as it is now: what
 * a worker killed at this point would restart with. */
static void restart_copy(const struct tw *t, struct tw *copy)
{
    memset(copy, 0, sizeof *copy);
    strcpy(copy->dir, "/tmp/ferry-worker-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(copy->dir));
    size_t n = 0;
    uint8_t *b = sealed_now(t, &n);
    char p[256];
    snprintf(p, sizeof p, "%s/state.sealed", copy->dir);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
    free(b);
    copy->cfg = t->cfg;
    copy->cfg.data_dir = copy->dir;
    struct ferry_reason why = {{0}};
    ck_assert_msg(ferry_worker_open(&copy->w, &copy->cfg, &why) == FERRY_OK, "%s", why.text);
    ferry_worker_get_info(copy->w, &copy->info);
}

static void assert_same_state(struct ferry_worker *a, struct ferry_worker *b)
{
    uint8_t *sa, *sb;
    size_t la, lb;
    ck_assert_int_eq(ferry_worker_state(a, &sa, &la), FERRY_OK);
    ck_assert_int_eq(ferry_worker_state(b, &sb, &lb), FERRY_OK);
    ck_assert_uint_eq(la, lb);
    ck_assert_int_eq(memcmp(sa, sb, la), 0);
    free(sa);
    free(sb);
}

/* seal_interval_ms: headers and plain dispatch progress wait for the interval (or close),
 * signed egress, registration and InitRuntime are sealed at once; a worker restarted from a
 * seal that is behind is brought forward to the very same state; refused dispatches that signed
 * or confirmed messages before failing leave the state and the file as they were. */
START_TEST(seal_policy_and_dispatch_rollback)
{
    make_voters();
    struct tw t;
    tw_open(&t, FERRY_WORKER_ATTEST_NONE, NULL);
    ck_assert_int_eq(ferry_worker_close(t.w, NULL), FERRY_OK);
    t.cfg.seal_interval_ms = 3600000;
    struct ferry_reason why = {{0}};
    ck_assert_msg(ferry_worker_open(&t.w, &t.cfg, &why) == FERRY_OK, "%s", why.text);
    static struct chain c;
    memset(&c, 0, sizeof c);
    memcpy(c.worker_pk, t.info.public_key, 32);
    /* block 3: a message for the worker; from block 4 its reply (sequence 0) is on chain; from
     * block 6 the worker is registered */
    uint8_t topic[FERRY_WORKER_TOPIC_LEN];
    ferry_worker_topic(t.info.public_key, topic);
    struct ferry_scale_writer p1;
    struct ferry_envelope_session s1;
    make_envelope(&p1, t.info.ecdh_public_key, "ping", &s1);
    c.st[3].has_outbound = true;
    ferry_scale_writer_init(&c.st[3].outbound);
    ferry_scale_put_compact(&c.st[3].outbound, 1);
    put_message(&c.st[3].outbound, topic, sizeof topic, p1.buf, p1.len);
    for (int i = 1; i < 10; i++) {
        c.st[i].has_ingress = true;
        c.st[i].ingress = i < 4 ? 0 : 1;
        c.st[i].registered = i >= 6;
    }
    chain_build(&c, 10);
    size_t last_len = 0;
    uint8_t *last = sealed_now(&t, &last_len);
    do_init(&t, &c);
    ck_assert(sealed_changed(&t, &last, &last_len)); /* InitRuntime: at once */
    ck_assert_uint_eq(sync_headers(&t, &c, 1, 8), 8);
    ck_assert(!sealed_changed(&t, &last, &last_len)); /* headers: later */

    /* refused: block 3 signs a reply, block 4 fails; block 3 signs, block 4 confirms, block 5
     * fails */
    PruntimeRpc__Blocks req = PRUNTIME_RPC__BLOCKS__INIT;
    struct ferry_scale_writer w;
    blocks_req(&w, &c, 1, 4, 4);
    req.encoded_blocks = (ProtobufCBinaryData){w.len, w.buf};
    expect_refused(&t, "DispatchBlocks", &req.base, 409, "block 4");
    ferry_scale_writer_free(&w);
    blocks_req(&w, &c, 1, 5, 5);
    req.encoded_blocks = (ProtobufCBinaryData){w.len, w.buf};
    expect_refused(&t, "DispatchBlocks", &req.base, 409, "block 5");
    ferry_scale_writer_free(&w);

    struct ferry_workerapi_response r;
    ck_assert_int_eq(dispatch(&t, &c, 1, 2, &r), 200);
    ferry_workerapi_response_free(&r);
    ck_assert(!sealed_changed(&t, &last, &last_len)); /* no message: later */
    ck_assert_int_eq(dispatch(&t, &c, 3, 3, &r), 200);
    ferry_workerapi_response_free(&r);
    ck_assert(sealed_changed(&t, &last, &last_len)); /* a signed reply: at once */
    ferry_worker_get_info(t.w, &t.info);
    ck_assert_uint_eq(t.info.pending_egress, 1);
    struct tw copy;
    restart_copy(&t, &copy); /* killed now: restarts exactly here, reply included */
    assert_same_state(t.w, copy.w);
    ck_assert_int_eq(ferry_worker_close(copy.w, NULL), FERRY_OK);
    copy.w = NULL;
    tw_close(&copy);

    ck_assert_int_eq(dispatch(&t, &c, 4, 4, &r), 200); /* the reply is confirmed */
    ferry_workerapi_response_free(&r);
    ck_assert(!sealed_changed(&t, &last, &last_len));
    ferry_worker_get_info(t.w, &t.info);
    ck_assert_uint_eq(t.info.pending_egress, 0);
    ck_assert_uint_eq(t.info.blocknum, 5);
    /* killed now: the restarted worker is behind (block 4, reply pending) and the same blocks
     * bring it to the very same state */
    restart_copy(&t, &copy);
    ck_assert_uint_eq(copy.info.blocknum, 4);
    ck_assert_uint_eq(copy.info.pending_egress, 1);
    ck_assert_int_eq(dispatch(&copy, &c, 4, 4, &r), 200);
    ferry_workerapi_response_free(&r);
    assert_same_state(t.w, copy.w);
    ck_assert_int_eq(ferry_worker_close(copy.w, NULL), FERRY_OK);
    copy.w = NULL;
    tw_close(&copy);

    ck_assert_int_eq(dispatch(&t, &c, 5, 6, &r), 200); /* registered: at once */
    ferry_workerapi_response_free(&r);
    ck_assert(sealed_changed(&t, &last, &last_len));
    ck_assert_uint_eq(sync_headers(&t, &c, 9, 9), 9);
    ck_assert(!sealed_changed(&t, &last, &last_len));
    ck_assert_int_eq(ferry_worker_flush(t.w, &why), FERRY_OK); /* what close/SIGTERM does */
    ck_assert(sealed_changed(&t, &last, &last_len));
    restart_copy(&t, &copy);
    assert_same_state(t.w, copy.w);
    ck_assert_int_eq(ferry_worker_close(copy.w, NULL), FERRY_OK);
    copy.w = NULL;
    tw_close(&copy);

    free(last);
    ferry_scale_writer_free(&p1);
    chain_free(&c);
    tw_close(&t);
}
END_TEST

START_TEST(hostile_header_batches_leave_state_unchanged)
{
    make_voters();
    struct tw t;
    tw_open(&t, FERRY_WORKER_ATTEST_NONE, NULL);
    static struct chain c;
    memset(&c, 0, sizeof c);
    memcpy(c.worker_pk, t.info.public_key, 32);
    chain_build(&c, 10);
    /* InitRuntime: hostile first */
    {
        struct ferry_scale_writer gi;
        genesis_info(&gi, &c, 0);
        PruntimeRpc__InitRuntimeRequest req = PRUNTIME_RPC__INIT_RUNTIME_REQUEST__INIT;
        req.encoded_genesis_info = (ProtobufCBinaryData){gi.len - 5, gi.buf};
        expect_refused(&t, "InitRuntime", &req.base, 400, "GenesisBlockInfo");
        ferry_scale_writer_free(&gi);
        genesis_info(&gi, &c, 7); /* the proof says set id 0 */
        req.encoded_genesis_info = (ProtobufCBinaryData){gi.len, gi.buf};
        expect_refused(&t, "InitRuntime", &req.base, 409, "not the proven one");
        ferry_scale_writer_free(&gi);
        genesis_info(&gi, &c, 0);
        req.encoded_genesis_info = (ProtobufCBinaryData){gi.len, gi.buf};
        uint8_t st[4] = {1, 2, 3, 4};
        req.encoded_genesis_state = (ProtobufCBinaryData){4, st};
        expect_refused(&t, "InitRuntime", &req.base, 409, "encoded_genesis_state must be empty");
        ferry_scale_writer_free(&gi);
    }
    do_init(&t, &c);
    {
        struct ferry_scale_writer gi;
        genesis_info(&gi, &c, 0);
        PruntimeRpc__InitRuntimeRequest req = PRUNTIME_RPC__INIT_RUNTIME_REQUEST__INIT;
        req.encoded_genesis_info = (ProtobufCBinaryData){gi.len, gi.buf};
        expect_refused(&t, "InitRuntime", &req.base, 409, "already initialised");
        ferry_scale_writer_free(&gi);
    }
    PruntimeRpc__HeadersToSync req = PRUNTIME_RPC__HEADERS_TO_SYNC__INIT;
    struct ferry_scale_writer w;
    /* not starting at the next expected header */
    headers_req(&w, &c, 2, 4, NVOTERS);
    req.encoded_headers = (ProtobufCBinaryData){w.len, w.buf};
    expect_refused(&t, "SyncHeader", &req.base, 409, "next expected header is 1");
    ferry_scale_writer_free(&w);
    /* justification by 2 of 4 voters: below the threshold */
    headers_req(&w, &c, 1, 4, 2);
    req.encoded_headers = (ProtobufCBinaryData){w.len, w.buf};
    expect_refused(&t, "SyncHeader", &req.base, 409, "justification of header 4");
    ferry_scale_writer_free(&w);
    /* no justification at all */
    headers_req(&w, &c, 1, 4, 0);
    req.encoded_headers = (ProtobufCBinaryData){w.len, w.buf};
    expect_refused(&t, "SyncHeader", &req.base, 409, "carries no justification");
    ferry_scale_writer_free(&w);
    /* a batch that does not link: header 3 replaced by a sibling */
    {
        struct ferry_header alt;
        uint8_t root[32] = {9};
        make_header(&alt, c.h[2].hash, 3, root, 0x33);
        struct ferry_header keep = c.h[3];
        c.h[3] = alt;
        headers_req(&w, &c, 1, 4, NVOTERS);
        c.h[3] = keep;
        ferry_header_free(&alt);
        req.encoded_headers = (ProtobufCBinaryData){w.len, w.buf};
        expect_refused(&t, "SyncHeader", &req.base, 409, "header #4: parent hash");
        ferry_scale_writer_free(&w);
    }
    /* truncated SCALE and an empty batch */
    headers_req(&w, &c, 1, 4, NVOTERS);
    req.encoded_headers = (ProtobufCBinaryData){w.len - 10, w.buf};
    expect_refused(&t, "SyncHeader", &req.base, 400, "HeaderToSync");
    ferry_scale_writer_free(&w);
    uint8_t empty = 0;
    req.encoded_headers = (ProtobufCBinaryData){1, &empty};
    expect_refused(&t, "SyncHeader", &req.base, 400, "empty");
    /* and the valid batch still applies afterwards */
    ck_assert_uint_eq(sync_headers(&t, &c, 1, 9), 9);
    chain_free(&c);
    tw_close(&t);
}
END_TEST

START_TEST(checkpoint_start)
{
    make_voters();
    struct tw t;
    tw_open(&t, FERRY_WORKER_ATTEST_NONE, NULL);
    static struct chain c;
    memset(&c, 0, sizeof c);
    memcpy(c.worker_pk, t.info.public_key, 32);
    chain_build(&c, 8);
    /* a trusted start at block 3: its authority set proven against its own state root */
    struct ferry_scale_writer gi;
    genesis_info_at(&gi, &c, 0, 3);
    PruntimeRpc__InitRuntimeRequest ir = PRUNTIME_RPC__INIT_RUNTIME_REQUEST__INIT;
    ir.encoded_genesis_info = (ProtobufCBinaryData){gi.len, gi.buf};
    /* with block 2's proof the authority set is not proven against block 3's root */
    struct ferry_scale_writer bad;
    ferry_scale_writer_init(&bad);
    ferry_scale_put_bytes(&bad, gi.buf, gi.len);
    {
        struct ferry_scale_writer g2;
        genesis_info_at(&g2, &c, 0, 2);
        /* header 3 with block 2's authority part and proof */
        ferry_scale_writer_free(&bad);
        ferry_scale_writer_init(&bad);
        ferry_scale_put_bytes(&bad, c.h[3].encoded, c.h[3].encoded_len);
        ferry_scale_put_bytes(&bad, g2.buf + c.h[2].encoded_len, g2.len - c.h[2].encoded_len);
        ferry_scale_writer_free(&g2);
    }
    PruntimeRpc__InitRuntimeRequest irb = PRUNTIME_RPC__INIT_RUNTIME_REQUEST__INIT;
    irb.encoded_genesis_info = (ProtobufCBinaryData){bad.len, bad.buf};
    expect_refused(&t, "InitRuntime", &irb.base, 409, "does not verify against header 3");
    ferry_scale_writer_free(&bad);
    struct ferry_workerapi_response r;
    ck_assert_int_eq(call(&t, "InitRuntime", &ir.base, &r), 200);
    ferry_workerapi_response_free(&r);
    ferry_scale_writer_free(&gi);
    ferry_worker_get_info(t.w, &t.info);
    ck_assert_uint_eq(t.info.headernum, 4);
    ck_assert_uint_eq(t.info.blocknum, 4);
    ck_assert_int_eq(memcmp(t.info.genesis_hash, c.h[3].hash, 32), 0);
    ck_assert_uint_eq(sync_headers(&t, &c, 4, 7), 7);
    ck_assert_int_eq(dispatch(&t, &c, 4, 7, &r), 200);
    ferry_workerapi_response_free(&r);
    chain_free(&c);
    tw_close(&t);
}
END_TEST

START_TEST(runtime_info_none_and_gramine)
{
    make_voters();
    char adir[] = "/tmp/ferry-attest-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(adir));
    char qp[128];
    snprintf(qp, sizeof qp, "%s/quote", adir);
    /* Gramine's quote file: the real DCAP sample (../shared/chain/phala) when present. */
    static const uint8_t fake_quote[] = {3, 0, 2, 0, 'q', 'u', 'o', 't', 'e'};
    const char *vec = getenv("FERRY_VECTORS");
    char sp[512];
    snprintf(sp, sizeof sp, "%s/../chain/phala/dcap_quote.bin", vec ? vec : "../shared/vectors");
    size_t sample_len = 0;
    uint8_t *sample = read_file(sp, &sample_len);
    const uint8_t *quote = sample ? sample : fake_quote;
    size_t quote_len = sample ? sample_len : sizeof fake_quote;
    FILE *f = fopen(qp, "wb");
    fwrite(quote, 1, quote_len, f);
    fclose(f);
    for (int mode = 0; mode < 2; mode++) {
        struct tw t;
        tw_open(&t, mode ? FERRY_WORKER_ATTEST_GRAMINE : FERRY_WORKER_ATTEST_NONE,
                mode ? adir : NULL);
        static struct chain c;
        memset(&c, 0, sizeof c);
        memcpy(c.worker_pk, t.info.public_key, 32);
        chain_build(&c, 1);
        struct ferry_scale_writer gi;
        genesis_info(&gi, &c, 0);
        PruntimeRpc__InitRuntimeRequest ir = PRUNTIME_RPC__INIT_RUNTIME_REQUEST__INIT;
        ir.encoded_genesis_info = (ProtobufCBinaryData){gi.len, gi.buf};
        ir.para_id = PARA_ID;
        uint8_t dcap = 2;
        if (mode) {
            expect_refused(&t, "InitRuntime", &ir.base, 409, "--attestation gramine");
            ir.attestation_provider = (ProtobufCBinaryData){1, &dcap};
        }
        struct ferry_workerapi_response r;
        ck_assert_int_eq(call(&t, "InitRuntime", &ir.base, &r), 200);
        ferry_workerapi_response_free(&r);
        ferry_scale_writer_free(&gi);
        PruntimeRpc__GetRuntimeInfoRequest req = PRUNTIME_RPC__GET_RUNTIME_INFO_REQUEST__INIT;
        uint8_t op[32] = {0x42};
        req.encoded_operator = (ProtobufCBinaryData){32, op};
        ck_assert_int_eq(call(&t, "GetRuntimeInfo", &req.base, &r), 200);
        PruntimeRpc__InitRuntimeResponse *resp =
            pruntime_rpc__init_runtime_response__unpack(NULL, r.len, r.body);
        ck_assert_ptr_nonnull(resp->attestation);
        /* WorkerRegistrationInfoV2: version, machine_id, pk, ecdh, genesis, features, operator,
         * para_id, max_consensus_version */
        struct ferry_scale_reader rd;
        ferry_scale_reader_init(&rd, resp->encoded_runtime_info.data,
                                resp->encoded_runtime_info.len);
        uint32_t ver, para, mcv, nfeat, f0;
        const uint8_t *mid, *pk, *epk, *gh, *opp;
        size_t ml;
        bool has_op;
        ferry_scale_u32(&rd, &ver);
        ferry_scale_byte_vec(&rd, &mid, &ml);
        ferry_scale_bytes(&rd, 32, &pk);
        ferry_scale_bytes(&rd, 32, &epk);
        ferry_scale_bytes(&rd, 32, &gh);
        ferry_scale_compact_u32(&rd, &nfeat);
        for (uint32_t i = 0; i < nfeat; i++)
            ferry_scale_u32(&rd, &f0);
        ferry_scale_option(&rd, &has_op);
        ck_assert(has_op);
        ferry_scale_bytes(&rd, 32, &opp);
        ferry_scale_u32(&rd, &para);
        ferry_scale_u32(&rd, &mcv);
        ck_assert_int_eq(ferry_scale_finish(&rd), FERRY_OK);
        ck_assert_int_eq(memcmp(pk, t.info.public_key, 32), 0);
        ck_assert_int_eq(memcmp(epk, t.info.ecdh_public_key, 32), 0);
        ck_assert_int_eq(memcmp(gh, c.h[0].hash, 32), 0);
        ck_assert_int_eq(memcmp(opp, op, 32), 0);
        ck_assert_uint_eq(para, PARA_ID);
        ProtobufCBinaryData rep = resp->attestation->encoded_report;
        if (!mode) {
            ck_assert_str_eq(resp->attestation->provider, "none");
            ck_assert_uint_eq(rep.len, 1);
            ck_assert_uint_eq(rep.data[0], 0);
        } else {
            ck_assert_str_eq(resp->attestation->provider, "gramine");
            /* Some(SgxDcap{quote, collateral: None}) */
            struct ferry_scale_reader qr;
            ferry_scale_reader_init(&qr, rep.data, rep.len);
            uint8_t some = 0, variant = 0, coll = 9;
            const uint8_t *q;
            size_t ql;
            ferry_scale_u8(&qr, &some);
            ferry_scale_u8(&qr, &variant);
            ferry_scale_byte_vec(&qr, &q, &ql);
            ferry_scale_u8(&qr, &coll);
            ck_assert_int_eq(ferry_scale_finish(&qr), FERRY_OK);
            ck_assert_uint_eq(some, 1);
            ck_assert_uint_eq(variant, 1);
            ck_assert_uint_eq(coll, 0);
            ck_assert_uint_eq(ql, quote_len);
            ck_assert_int_eq(memcmp(q, quote, ql), 0);
            /* the report data written is blake2_256(info) ‖ 32 zero bytes */
            char up[160];
            snprintf(up, sizeof up, "%s/user_report_data", adir);
            size_t ul = 0;
            uint8_t *urd = read_file(up, &ul);
            ck_assert_uint_eq(ul, 64);
            uint8_t h[32], z[32] = {0};
            ferry_blake2b_256(h, resp->encoded_runtime_info.data, resp->encoded_runtime_info.len);
            ck_assert_int_eq(memcmp(urd, h, 32), 0);
            ck_assert_int_eq(memcmp(urd + 32, z, 32), 0);
            free(urd);
            /* With the sample quote (its report data is "Hello, world!", not ours), the check a
             * relayer makes before register_worker_v2 refuses it for exactly that reason, and
             * accepts the quote itself (collateral window 2023-11-21..12-21). */
            char cp[512];
            snprintf(cp, sizeof cp, "%s/../chain/phala/dcap_quote_collateral.scale",
                     vec ? vec : "../shared/vectors");
            size_t cl = 0;
            uint8_t *col = sample ? read_file(cp, &cl) : NULL;
            if (col) {
                struct ferry_attest_verdict v;
                ck_assert_int_eq(ferry_attest_verify_report(q, ql, col, cl, 1701388800, h, &v),
                                 FERRY_E_VERIFY);
                ck_assert_int_eq(ferry_attest_verify_report(q, ql, col, cl, 1701388800, NULL, &v),
                                 FERRY_OK);
                free(col);
            }
        }
        pruntime_rpc__init_runtime_response__free_unpacked(resp, NULL);
        ferry_workerapi_response_free(&r);
        chain_free(&c);
        tw_close(&t);
    }
    rm_rf(adir);
    free(sample);
}
END_TEST

START_TEST(sealed_state_lock_and_refusals)
{
    struct tw t;
    tw_open(&t, FERRY_WORKER_ATTEST_NONE, NULL);
    struct ferry_reason why = {{0}};
    struct ferry_worker *w2 = NULL;
    /* a second worker on the same data dir */
    ck_assert_int_eq(ferry_worker_open(&w2, &t.cfg, &why), FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(why.text, "in use by another ferry-worker"));
    ck_assert_int_eq(ferry_worker_close(t.w, NULL), FERRY_OK);
    t.w = NULL;
    char p[256];
    snprintf(p, sizeof p, "%s/state.sealed", t.dir);
    size_t len = 0;
    uint8_t *orig = read_file(p, &len);
    ck_assert_ptr_nonnull(orig);
    /* foreign key */
    struct ferry_worker_config other = t.cfg;
    memset(other.seal_key, 0x11, 32);
    ck_assert_int_eq(ferry_worker_open(&w2, &other, &why), FERRY_E_VERIFY);
    ck_assert_ptr_nonnull(strstr(why.text, "does not open under this seal key"));
    /* corrupted, then truncated: refused, never rewritten */
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(p, "wb");
        if (k == 0) {
            orig[len / 2] ^= 0x40;
            fwrite(orig, 1, len, f);
            orig[len / 2] ^= 0x40;
        } else {
            fwrite(orig, 1, 20, f);
        }
        fclose(f);
        size_t bl = 0;
        uint8_t *bad = read_file(p, &bl);
        ck_assert_int_eq(ferry_worker_open(&w2, &t.cfg, &why), FERRY_E_VERIFY);
        ck_assert_ptr_nonnull(strstr(why.text, k ? "truncated" : "does not open"));
        size_t al = 0;
        uint8_t *after = read_file(p, &al);
        ck_assert_uint_eq(al, bl);
        ck_assert_int_eq(memcmp(after, bad, bl), 0);
        free(after);
        free(bad);
    }
    /* the original file opens again */
    FILE *f = fopen(p, "wb");
    fwrite(orig, 1, len, f);
    fclose(f);
    ck_assert_msg(ferry_worker_open(&t.w, &t.cfg, &why) == FERRY_OK, "%s", why.text);
    free(orig);
    /* seal key files: mode and content */
    char kp[256];
    snprintf(kp, sizeof kp, "%s/seal.key", t.dir);
    uint8_t key[32];
    f = fopen(kp, "w");
    fputs("0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n", f);
    fclose(f);
    chmod(kp, 0644);
    ck_assert_int_eq(ferry_worker_read_seal_key(kp, key, &why), FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(why.text, "must be 0600"));
    chmod(kp, 0600);
    ck_assert_int_eq(ferry_worker_read_seal_key(kp, key, &why), FERRY_OK);
    ck_assert_uint_eq(key[0], 1);
    ck_assert_uint_eq(key[31], 0x20);
    f = fopen(kp, "w");
    fputs("0102", f);
    fclose(f);
    ck_assert_int_eq(ferry_worker_read_seal_key(kp, key, &why), FERRY_E_HEX);
    tw_close(&t);
}
END_TEST

/* Relay blocks 0..n-1: authorities and (for blocks with head_of[i] >= 0) Paras::Heads(PARA_ID)
 * = the para header head_of[i]. */
static void relay_build(struct chain *relay, const struct chain *para, const int *head_of, size_t n)
{
    uint8_t parent[32] = {0};
    uint8_t k_auth[32], k_heads[FERRY_PARAS_HEADS_KEY_LEN];
    ferry_storage_prefix(k_auth, "Grandpa", "Authorities");
    ferry_paras_heads_key(PARA_ID, k_heads);
    for (size_t i = 0; i < n; i++) {
        struct ferry_scale_writer av, hv;
        authorities_value(&av);
        ferry_scale_writer_init(&hv);
        struct ferry_trie_kv kv[3];
        size_t k = 0;
        kv[k++] = (struct ferry_trie_kv){k_auth, 32, av.buf, av.len};
        uint8_t salt[5] = {'r', (uint8_t)i};
        static const uint8_t salt_key[] = ":relay_salt";
        kv[k++] = (struct ferry_trie_kv){salt_key, sizeof salt_key - 1, salt, sizeof salt};
        if (head_of[i] >= 0) {
            const struct ferry_header *ph = &para->h[head_of[i]];
            ferry_scale_put_byte_vec(&hv, ph->encoded, ph->encoded_len);
            kv[k++] = (struct ferry_trie_kv){k_heads, sizeof k_heads, hv.buf, hv.len};
        }
        uint8_t root[32];
        trie_make(kv, k, root, &relay->proof[i]);
        make_header(&relay->h[i], parent, (uint32_t)i, root, 0x77);
        memcpy(parent, relay->h[i].hash, 32);
        ferry_scale_writer_free(&av);
        ferry_scale_writer_free(&hv);
    }
    relay->n = n;
}

static int para_sync(struct tw *t, const struct chain *para, uint32_t from, uint32_t to,
                     uint32_t skip, const struct nodes *proof, struct ferry_workerapi_response *r)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_compact(&w, to - from + 1 - (skip >= from && skip <= to ? 1 : 0));
    for (uint32_t i = from; i <= to; i++)
        if (i != skip)
            ferry_scale_put_bytes(&w, para->h[i].encoded, para->h[i].encoded_len);
    PruntimeRpc__ParaHeadersToSync req = PRUNTIME_RPC__PARA_HEADERS_TO_SYNC__INIT;
    req.encoded_headers = (ProtobufCBinaryData){w.len, w.buf};
    ProtobufCBinaryData nodes[256];
    for (size_t i = 0; i < proof->n; i++)
        nodes[i] = (ProtobufCBinaryData){proof->len[i], proof->data[i]};
    req.n_proof = proof->n;
    req.proof = nodes;
    int st;
    if (r) {
        st = call(t, "SyncParaHeader", &req.base, r);
    } else {
        st = 0;
        expect_refused(t, "SyncParaHeader", &req.base, 409, "para headers at relay block 2");
    }
    ferry_scale_writer_free(&w);
    return st;
}

START_TEST(parachain_mode)
{
    make_voters();
    struct tw t;
    tw_open(&t, FERRY_WORKER_ATTEST_NONE, NULL);
    static struct chain para, relay;
    memset(&para, 0, sizeof para);
    memset(&relay, 0, sizeof relay);
    memcpy(para.worker_pk, t.info.public_key, 32);
    para.st[2].has_ingress = true;
    para.st[2].ingress = 0;
    para.st[3].registered = true;
    chain_build(&para, 6);
    int head_of[4] = {-1, 1, 3, 5};
    relay_build(&relay, &para, head_of, 4);
    /* InitRuntime in parachain mode from relay genesis */
    struct ferry_scale_writer gi;
    genesis_info(&gi, &relay, 0);
    PruntimeRpc__InitRuntimeRequest ir = PRUNTIME_RPC__INIT_RUNTIME_REQUEST__INIT;
    ir.encoded_genesis_info = (ProtobufCBinaryData){gi.len, gi.buf};
    ir.is_parachain = true;
    ir.para_id = PARA_ID;
    struct ferry_workerapi_response r;
    ck_assert_int_eq(call(&t, "InitRuntime", &ir.base, &r), 200);
    ferry_workerapi_response_free(&r);
    ferry_scale_writer_free(&gi);
    ferry_worker_get_info(t.w, &t.info);
    ck_assert(t.info.waiting_for_paraheaders);
    ck_assert_uint_eq(t.info.para_headernum, 0);
    /* dispatch before any para header */
    {
        struct ferry_scale_writer w;
        blocks_req(&w, &para, 1, 1, -1);
        PruntimeRpc__Blocks req = PRUNTIME_RPC__BLOCKS__INIT;
        req.encoded_blocks = (ProtobufCBinaryData){w.len, w.buf};
        expect_refused(&t, "DispatchBlocks", &req.base, 409, "no para header validated yet");
        ferry_scale_writer_free(&w);
    }
    ck_assert_uint_eq(sync_headers(&t, &relay, 1, 2), 2);
    /* hostile: the proof of relay block 1 (another root), a gap in the para headers */
    para_sync(&t, &para, 0, 3, UINT32_MAX, &relay.proof[1], NULL);
    para_sync(&t, &para, 0, 3, 2, &relay.proof[2], NULL);
    /* valid: para headers 0..3 proven by Paras::Heads at relay block 2 */
    ck_assert_int_eq(para_sync(&t, &para, 0, 3, UINT32_MAX, &relay.proof[2], &r), 200);
    PruntimeRpc__SyncedTo *st = pruntime_rpc__synced_to__unpack(NULL, r.len, r.body);
    ck_assert_uint_eq(st->synced_to, 3);
    pruntime_rpc__synced_to__free_unpacked(st, NULL);
    ferry_workerapi_response_free(&r);
    ferry_worker_get_info(t.w, &t.info);
    ck_assert(!t.info.waiting_for_paraheaders);
    ck_assert_uint_eq(t.info.para_headernum, 4);
    ck_assert_uint_eq(t.info.blocknum, 1);
    /* para blocks 1..3 dispatch against para state roots; 4 is not validated yet */
    ck_assert_int_eq(dispatch(&t, &para, 1, 3, &r), 200);
    ferry_workerapi_response_free(&r);
    ferry_worker_get_info(t.w, &t.info);
    ck_assert_uint_eq(t.info.blocknum, 4);
    ck_assert(t.info.registered);
    {
        struct ferry_scale_writer w;
        blocks_req(&w, &para, 4, 4, -1);
        PruntimeRpc__Blocks req = PRUNTIME_RPC__BLOCKS__INIT;
        req.encoded_blocks = (ProtobufCBinaryData){w.len, w.buf};
        expect_refused(&t, "DispatchBlocks", &req.base, 409, "block 4 is not validated yet");
        ferry_scale_writer_free(&w);
    }
    /* next relay block, next para headers 4..5 */
    ck_assert_uint_eq(sync_headers(&t, &relay, 3, 3), 3);
    ck_assert_int_eq(para_sync(&t, &para, 4, 5, UINT32_MAX, &relay.proof[3], &r), 200);
    ferry_workerapi_response_free(&r);
    ck_assert_int_eq(dispatch(&t, &para, 4, 5, &r), 200);
    ferry_workerapi_response_free(&r);
    chain_free(&para);
    chain_free(&relay);
    tw_close(&t);
}
END_TEST

/* ---- over real HTTP ----------------------------------------------------------------------------
 */

static void *serve(void *arg)
{
    ferry_workerapi_server_run(arg);
    return NULL;
}

/* A client thread: 10 GetInfo calls; returns the number answered 200. */
static void *client_thread(void *arg)
{
    const char *url = arg;
    uintptr_t ok = 0;
    for (int i = 0; i < 10; i++) {
        int status = 0;
        uint8_t *resp = NULL;
        size_t rl = 0;
        if (ferry_workerapi_call(url, "GetInfo", NULL, 0, false, 10000, &status, &resp, &rl,
                                 NULL) == FERRY_OK &&
            status == 200)
            ok++;
        free(resp);
    }
    return (void *)ok;
}

START_TEST(http_transport)
{
    struct tw t;
    tw_open(&t, FERRY_WORKER_ATTEST_NONE, NULL);
    struct ferry_workerapi_server *s = NULL;
    struct ferry_workerapi_server_config cfg = {
        .host = "127.0.0.1", .port = 0, .body_limit = 1 << 20};
    struct ferry_reason why = {{0}};
    ck_assert_msg(ferry_workerapi_server_start(&s, t.w, &cfg, &why) == FERRY_OK, "%s", why.text);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, serve, s), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", ferry_workerapi_server_port(s));
    int status = 0;
    uint8_t *resp = NULL;
    size_t rl = 0;
    ck_assert_int_eq(
        ferry_workerapi_call(url, "GetInfo", NULL, 0, false, 5000, &status, &resp, &rl, &why),
        FERRY_OK);
    ck_assert_int_eq(status, 200);
    PruntimeRpc__PhactoryInfo *pi = pruntime_rpc__phactory_info__unpack(NULL, rl, resp);
    ck_assert_ptr_nonnull(pi);
    ck_assert_int_eq(memcmp(pi->public_key, "", 1) != 0, 1);
    pruntime_rpc__phactory_info__free_unpacked(pi, NULL);
    free(resp);
    /* JSON */
    ck_assert_int_eq(
        ferry_workerapi_call(url, "GetInfo", NULL, 0, true, 5000, &status, &resp, &rl, &why),
        FERRY_OK);
    ck_assert_int_eq(status, 200);
    ck_assert_ptr_nonnull(strstr((char *)resp, "\"public_key\""));
    free(resp);
    /* a body over the server's cap: 413 before it is buffered */
    size_t big = (2u << 20);
    uint8_t *b = calloc(big, 1);
    ck_assert_int_eq(
        ferry_workerapi_call(url, "SyncHeader", b, big, false, 5000, &status, &resp, &rl, &why),
        FERRY_OK);
    ck_assert_int_eq(status, 413);
    free(resp);
    free(b);
    /* garbage protobuf */
    static const uint8_t garbage[] = {0x0a, 0xff};
    ck_assert_int_eq(ferry_workerapi_call(url, "SyncHeader", garbage, sizeof garbage, false, 5000,
                                          &status, &resp, &rl, &why),
                     FERRY_OK);
    ck_assert_int_eq(status, 400);
    free(resp);
    /* concurrent clients are served one request at a time, all answered */
    pthread_t cl[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&cl[i], NULL, client_thread, url), 0);
    for (int i = 0; i < 4; i++) {
        void *ok;
        pthread_join(cl[i], &ok);
        ck_assert_uint_eq((uintptr_t)ok, 10);
    }
    /* unknown method */
    ck_assert_int_eq(
        ferry_workerapi_call(url, "Nope", NULL, 0, false, 5000, &status, &resp, &rl, &why),
        FERRY_OK);
    ck_assert_int_eq(status, 404);
    free(resp);
    ferry_workerapi_server_stop(s);
    pthread_join(th, NULL);
    ferry_workerapi_server_free(s);
    tw_close(&t);
}
END_TEST

Suite *worker_suite(void)
{
    Suite *s = suite_create("worker");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fresh_worker_reports_itself);
    tcase_add_test(tc, init_sync_dispatch_echo_round_trip);
    tcase_add_test(tc, seal_policy_and_dispatch_rollback);
    tcase_add_test(tc, hostile_header_batches_leave_state_unchanged);
    tcase_add_test(tc, runtime_info_none_and_gramine);
    tcase_add_test(tc, sealed_state_lock_and_refusals);
    tcase_add_test(tc, parachain_mode);
    tcase_add_test(tc, checkpoint_start);
    tcase_add_test(tc, http_transport);
    suite_add_tcase(s, tc);
    return s;
}
