/* Fuzz target: the worker API's request decoders. Byte 0 picks the method and the mode:
 *   bit 7 set  - the rest is the raw protobuf body, through ferry_workerapi_handle;
 *   bit 7 clear - the rest is the SCALE payload of the method's bytes field, handed straight to
 *                 the worker (solo worker for SyncHeader/DispatchBlocks, parachain worker for
 *                 SyncParaHeader, whose rest is Vec<Header> ‖ Vec<Vec<u8>> proof).
 * Both workers are initialised from a generated genesis, so the SCALE decoders run on real
 * state. A refused request must leave the state byte-identical. */
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/scale.h"
#include "ferry/trie.h"
#include "ferry/worker.h"
#include "ferry/workerapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ferry_worker *solo, *para;

static void put_node_tree(struct ferry_scale_writer *w, const struct ferry_trie_proof *p,
                          const uint8_t *node, size_t len, size_t *count, bool add)
{
    if (add) {
        ferry_scale_put_byte_vec(w, node, len);
        (*count)++;
    }
    struct ferry_trie_node nd;
    if (ferry_trie_node_decode(node, len, &nd, NULL))
        return;
    for (int i = 0; i < 16; i++) {
        const uint8_t *d;
        size_t l;
        if (nd.child_len[i] == 32 && ferry_trie_proof_get(p, nd.child[i], &d, &l))
            put_node_tree(w, p, d, l, count, true);
        else if (nd.child_len[i] && nd.child_len[i] < 32)
            put_node_tree(w, p, nd.child[i], nd.child_len[i], count, false);
    }
}

static struct ferry_worker *make(bool parachain)
{
    struct ferry_worker_config cfg = {0};
    struct ferry_worker *w = NULL;
    if (ferry_worker_open(&w, &cfg, NULL))
        abort();
    uint8_t k_auth[32], id[32] = {7};
    ferry_storage_prefix(k_auth, "Grandpa", "Authorities");
    struct ferry_scale_writer av, nodes, gi;
    ferry_scale_writer_init(&av);
    ferry_scale_put_compact(&av, 1);
    ferry_scale_put_bytes(&av, id, 32);
    ferry_scale_put_u64(&av, 1);
    struct ferry_trie_kv kv = {k_auth, 32, av.buf, av.len};
    uint8_t root[32];
    struct ferry_trie_proof *p = NULL;
    if (ferry_trie_build_proof(&kv, 1, FERRY_TRIE_V0, root, &p))
        abort();
    const uint8_t *d;
    size_t l, count = 0;
    ferry_scale_writer_init(&nodes);
    if (!ferry_trie_proof_get(p, root, &d, &l))
        abort();
    put_node_tree(&nodes, p, d, l, &count, true);
    ferry_scale_writer_init(&gi);
    uint8_t zero[32] = {0};
    ferry_scale_put_bytes(&gi, zero, 32);
    ferry_scale_put_compact(&gi, 0);
    ferry_scale_put_bytes(&gi, root, 32);
    ferry_scale_put_bytes(&gi, zero, 32);
    ferry_scale_put_compact(&gi, 0);
    ferry_scale_put_bytes(&gi, av.buf, av.len);
    ferry_scale_put_u64(&gi, 0);
    ferry_scale_put_compact(&gi, count);
    ferry_scale_put_bytes(&gi, nodes.buf, nodes.len);
    struct ferry_worker_init in = {.genesis_info = gi.buf,
                                   .genesis_info_len = gi.len,
                                   .is_parachain = parachain,
                                   .para_id = 2000};
    struct ferry_reason why;
    if (ferry_worker_init_runtime(w, &in, &why))
        abort();
    ferry_trie_proof_free(p);
    ferry_scale_writer_free(&av);
    ferry_scale_writer_free(&nodes);
    ferry_scale_writer_free(&gi);
    return w;
}

static void same_state(struct ferry_worker *w, const uint8_t *before, size_t len)
{
    uint8_t *now;
    size_t nl;
    if (ferry_worker_state(w, &now, &nl))
        abort();
    if (nl != len || memcmp(now, before, len) != 0)
        abort();
    free(now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!solo) {
        solo = make(false);
        para = make(true);
    }
    if (size < 1)
        return 0;
    static const char *methods[] = {"GetInfo",          "InitRuntime",    "SyncHeader",
                                    "SyncParaHeader",   "DispatchBlocks", "GetRuntimeInfo",
                                    "GetEgressMessages"};
    uint8_t sel = data[0];
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    struct ferry_worker *w = (sel & 1) ? para : solo;
    uint8_t *before;
    size_t blen;
    if (ferry_worker_state(w, &before, &blen))
        abort();
    if (sel & 0x80) {
        const char *m = methods[(sel >> 1) % 7];
        struct ferry_workerapi_response r;
        ferry_workerapi_handle(w, m, strlen(m), body, len, (sel & 0x40) != 0, &r);
        if (r.status != 200)
            same_state(w, before, blen);
        ferry_workerapi_response_free(&r);
    } else {
        struct ferry_reason why;
        uint32_t to;
        ferry_err err = FERRY_OK;
        switch ((sel >> 1) % 3) {
        case 0:
            err = ferry_worker_sync_header(w, body, len, &to, &why);
            break;
        case 1:
            err = ferry_worker_dispatch_blocks(w, body, len, &to, &why);
            break;
        default: {
            /* split: first byte = header bytes length / 4 */
            size_t hl = len ? (size_t)body[0] * 4 : 0;
            if (hl > len - (len ? 1 : 0))
                hl = len ? len - 1 : 0;
            const uint8_t *nodes[4];
            size_t lens[4], n = 0;
            const uint8_t *rest = body + (len ? 1 : 0) + hl;
            size_t rl = len - (len ? 1 : 0) - hl;
            while (rl && n < 4) {
                size_t k = rest[0] % 64 + 1;
                if (k > rl)
                    k = rl;
                nodes[n] = rest;
                lens[n++] = k;
                rest += k;
                rl -= k;
            }
            err = ferry_worker_sync_para_header(w, body + (len ? 1 : 0), hl, nodes, lens, n, &to,
                                                &why);
            break;
        }
        }
        if (err)
            same_state(w, before, blen);
    }
    free(before);
    return 0;
}
