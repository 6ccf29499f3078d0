/* Trie node codec and read-proof lookups (see include/ferry/trie.h).
 *
 * A proof is stored as one blob holding every distinct entry, plus an array of (hash, slice)
 * sorted by hash so a lookup is a binary search per node. Proofs are built once and never
 * change, which keeps lookups free of locking and of lazy state.
 *
 * The decoder is as strict as smoldot's (trailing bytes, a zero children bitmap, a child
 * reference over 32 bytes, non-zero padding are all errors) and accepts both state versions'
 * node kinds anywhere: Substrate's single NodeCodec decodes both, and a V1 trie keeps V0 nodes
 * until they are rewritten.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/hex.h"
#include "ferry/trie.h"

#include "internal.h"

const uint8_t ferry_trie_empty_root[32] = {
    0x03, 0x17, 0x0a, 0x2e, 0x75, 0x97, 0xb7, 0xb7, 0xe3, 0xd8, 0x4c, 0x05, 0x39, 0x1d, 0x13, 0x9a,
    0x62, 0xb1, 0x57, 0xe7, 0x87, 0x86, 0xd8, 0xc0, 0x82, 0xf2, 0x9d, 0xcf, 0x4c, 0x11, 0x13, 0x14,
};

/* ---- node codec ------------------------------------------------------------------------------ */

/* Read the nibble count: low `bits` bits of the header byte, continued by bytes that add up
 * while they are 255 (sp-trie node_header.rs, smoldot trie_node.rs). */
static ferry_err read_nibble_count(struct ferry_scale_reader *r, uint8_t first, unsigned bits,
                                   size_t *count)
{
    unsigned max = 0xffu >> (8 - bits);
    size_t n = first & max;
    if (n == max) {
        for (;;) {
            uint8_t b;
            if (!ferry_scale_remaining(r))
                return ferry_scale_fail(r, FERRY_E_TRUNCATED, "truncated partial-key length");
            (void)ferry_scale_u8(r, &b);
            n += b;
            if (n > FERRY_TRIE_MAX_PARTIAL_NIBBLES)
                return ferry_scale_fail(r, FERRY_E_INVALID,
                                        "partial key longer than 65535 nibbles");
            if (b != 255)
                break;
        }
    }
    *count = n;
    return FERRY_OK;
}

/* Borrow n bytes, failing with this decoder's own reason (the cursor's is generic). */
static ferry_err take(struct ferry_scale_reader *r, size_t n, const char *why, const uint8_t **out)
{
    if (ferry_scale_remaining(r) < n) {
        *out = NULL;
        return ferry_scale_fail(r, FERRY_E_TRUNCATED, why);
    }
    return ferry_scale_bytes(r, n, out);
}

ferry_err ferry_trie_node_decode(const uint8_t *buf, size_t len, struct ferry_trie_node *node,
                                 struct ferry_scale_reader *diag)
{
    struct ferry_scale_reader local;
    struct ferry_scale_reader *r = diag ? diag : &local;
    ferry_scale_reader_init(r, buf, len);
    memset(node, 0, sizeof *node);

    uint8_t h;
    if (!ferry_scale_remaining(r))
        return ferry_scale_fail(r, FERRY_E_TRUNCATED, "empty node");
    (void)ferry_scale_u8(r, &h);
    node->header = h;
    unsigned bits;
    switch (h >> 6) {
    case 1:
        node->kind = FERRY_TRIE_NODE_LEAF;
        node->has_value = true;
        bits = 6;
        break;
    case 2:
        node->kind = FERRY_TRIE_NODE_BRANCH;
        bits = 6;
        break;
    case 3:
        node->kind = FERRY_TRIE_NODE_BRANCH;
        node->has_value = true;
        bits = 6;
        break;
    default:
        if ((h >> 5) == 1) {
            node->kind = FERRY_TRIE_NODE_LEAF;
            node->has_value = node->value_hashed = true;
            bits = 5;
        } else if ((h >> 4) == 1) {
            node->kind = FERRY_TRIE_NODE_BRANCH;
            node->has_value = node->value_hashed = true;
            bits = 4;
        } else if (h == 0) {
            node->kind = FERRY_TRIE_NODE_EMPTY;
            return ferry_scale_finish(r);
        } else {
            r->pos = 0;
            return ferry_scale_fail(r, FERRY_E_INVALID, "undefined node header byte");
        }
    }

    if (read_nibble_count(r, h, bits, &node->partial_nibbles))
        return r->err;
    size_t pk_bytes = (node->partial_nibbles + 1) / 2;
    if (take(r, pk_bytes, "truncated partial key", &node->partial))
        return r->err;
    if ((node->partial_nibbles & 1) && (node->partial[0] & 0xf0)) {
        r->pos -= pk_bytes;
        return ferry_scale_fail(r, FERRY_E_INVALID, "non-zero padding nibble in partial key");
    }

    if (node->kind == FERRY_TRIE_NODE_BRANCH) {
        const uint8_t *bm;
        if (take(r, 2, "truncated children bitmap", &bm))
            return r->err;
        node->children_bitmap = (uint16_t)(bm[0] | bm[1] << 8);
        if (node->children_bitmap == 0) {
            r->pos -= 2;
            return ferry_scale_fail(r, FERRY_E_INVALID, "branch with an empty children bitmap");
        }
    }

    if (node->value_hashed) {
        node->value_len = 32;
        if (take(r, 32, "truncated value hash", &node->value))
            return r->err;
    } else if (node->has_value) {
        uint32_t vlen;
        if (ferry_scale_compact_u32(r, &vlen))
            return r->err;
        node->value_len = vlen;
        if (take(r, vlen, "truncated value", &node->value))
            return r->err;
    }

    for (unsigned i = 0; i < 16; i++) {
        if (!(node->children_bitmap & (1u << i)))
            continue;
        uint32_t clen;
        if (ferry_scale_compact_u32(r, &clen))
            return r->err;
        if (clen == 0 || clen > 32) {
            return ferry_scale_fail(r, FERRY_E_INVALID,
                                    clen ? "child reference longer than 32 bytes"
                                         : "empty child reference");
        }
        if (take(r, clen, "truncated child reference", &node->child[i]))
            return r->err;
        node->child_len[i] = clen;
    }
    if (ferry_scale_remaining(r))
        return ferry_scale_fail(r, FERRY_E_TRAILING, "bytes after the end of the node");
    return r->err;
}

uint8_t ferry_trie_node_partial_nibble(const struct ferry_trie_node *node, size_t i)
{
    size_t k = i + (node->partial_nibbles & 1);
    uint8_t b = node->partial[k / 2];
    return (k & 1) ? (b & 0x0f) : (b >> 4);
}

const char *ferry_trie_node_type_name(const struct ferry_trie_node *node)
{
    switch (node->kind) {
    case FERRY_TRIE_NODE_EMPTY:
        return "empty";
    case FERRY_TRIE_NODE_LEAF:
        return node->value_hashed ? "leaf_hashed_value" : "leaf";
    case FERRY_TRIE_NODE_BRANCH:
        if (!node->has_value)
            return "branch_no_value";
        return node->value_hashed ? "branch_hashed_value" : "branch_with_value";
    }
    return "unknown";
}

/* ---- proofs ---------------------------------------------------------------------------------- */

struct proof_entry {
    uint8_t hash[32];
    const uint8_t *data; /* into proof->blob */
    size_t len;
};

struct ferry_trie_proof {
    struct proof_entry *e; /* sorted by hash, distinct */
    size_t n;
    uint8_t *blob;
};

static int entry_cmp(const void *a, const void *b)
{
    return memcmp(((const struct proof_entry *)a)->hash, ((const struct proof_entry *)b)->hash, 32);
}

ferry_err ferry_trie_proof_build(const uint8_t *const *entries, const size_t *lens, size_t n,
                                 struct ferry_trie_proof **out)
{
    *out = NULL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!entries[i] && lens[i])
            return FERRY_E_ARG;
        if (lens[i] > SIZE_MAX - total)
            return FERRY_E_NOMEM;
        total += lens[i];
    }
    struct ferry_trie_proof *p = calloc(1, sizeof *p);
    if (!p)
        return FERRY_E_NOMEM;
    p->blob = malloc(total ? total : 1);
    p->e = calloc(n ? n : 1, sizeof *p->e);
    if (!p->blob || !p->e) {
        ferry_trie_proof_free(p);
        return FERRY_E_NOMEM;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i])
            memcpy(p->blob + off, entries[i], lens[i]);
        p->e[i].data = p->blob + off;
        p->e[i].len = lens[i];
        ferry_blake2b_256(p->e[i].hash, p->e[i].data, lens[i]);
        off += lens[i];
    }
    qsort(p->e, n, sizeof *p->e, entry_cmp);
    /* Equal hashes mean equal entries; keep one. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && memcmp(p->e[k - 1].hash, p->e[i].hash, 32) == 0)
            continue;
        p->e[k++] = p->e[i];
    }
    p->n = k;
    *out = p;
    return FERRY_OK;
}

ferry_err ferry_trie_proof_from_scale(const uint8_t *buf, size_t len, struct ferry_trie_proof **out,
                                      struct ferry_scale_reader *diag)
{
    struct ferry_scale_reader local;
    struct ferry_scale_reader *r = diag ? diag : &local;
    ferry_scale_reader_init(r, buf, len);
    *out = NULL;
    size_t n;
    if (ferry_scale_vec_len(r, 1, &n))
        return r->err;
    const uint8_t **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    ferry_err err = FERRY_E_NOMEM;
    if (ptrs && lens) {
        for (size_t i = 0; i < n && !r->err; i++)
            (void)ferry_scale_byte_vec(r, &ptrs[i], &lens[i]);
        err = ferry_scale_finish(r);
        if (!err)
            err = ferry_trie_proof_build(ptrs, lens, n, out);
    }
    free(ptrs);
    free(lens);
    return err;
}

static ferry_err set_why(const char **why, const char *text, ferry_err err)
{
    if (why)
        *why = text;
    return err;
}

static ferry_err proof_from_json_static(const char *json, size_t len, struct ferry_trie_proof **out,
                                        const char **why)
{
    *out = NULL;
    cJSON *doc = cJSON_ParseWithLength(json, len);
    if (!doc)
        return set_why(why, "proof is not valid JSON", FERRY_E_JSON);
    const cJSON *arr = doc;
    if (cJSON_IsObject(doc))
        arr = cJSON_GetObjectItemCaseSensitive(doc, "proof");
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(doc);
        return set_why(why, "proof must be an array of hex nodes or {\"proof\": [...]}",
                       FERRY_E_JSON);
    }
    size_t n = (size_t)cJSON_GetArraySize(arr);
    uint8_t **bufs = calloc(n ? n : 1, sizeof *bufs);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    ferry_err err = bufs && lens ? FERRY_OK : FERRY_E_NOMEM;
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        if (err)
            break;
        if (!cJSON_IsString(item)) {
            err = set_why(why, "proof entry is not a string", FERRY_E_JSON);
            break;
        }
        const char *s = item->valuestring;
        size_t sl = strlen(s);
        if (sl < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
            err = set_why(why, "proof entry is not 0x-prefixed hex", FERRY_E_HEX);
            break;
        }
        err = ferry_hex_decode(s, sl, &bufs[i], &lens[i]);
        if (err)
            set_why(why, "proof entry is not valid hex", err);
        i++;
    }
    if (!err)
        err = ferry_trie_proof_build((const uint8_t *const *)bufs, lens, n, out);
    for (size_t j = 0; bufs && j < n; j++)
        free(bufs[j]);
    free(bufs);
    free(lens);
    cJSON_Delete(doc);
    if (err == FERRY_E_NOMEM)
        set_why(why, "out of memory", err);
    return err;
}

ferry_err(ferry_trie_proof_from_json)(const char *json, size_t len, struct ferry_trie_proof **out,
                                      struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err = proof_from_json_static(json, len, out, why ? &reason : NULL);
    if (err && reason)
        ferry_reason_set(why, err, "%s", reason);
    return err;
}

void ferry_trie_proof_free(struct ferry_trie_proof *proof)
{
    if (!proof)
        return;
    free(proof->e);
    free(proof->blob);
    free(proof);
}

size_t ferry_trie_proof_count(const struct ferry_trie_proof *proof)
{
    return proof->n;
}

static const struct proof_entry *find_entry(const struct ferry_trie_proof *p,
                                            const uint8_t hash[32])
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(p->e[mid].hash, hash, 32);
        if (c == 0)
            return &p->e[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool ferry_trie_proof_get(const struct ferry_trie_proof *proof, const uint8_t hash[32],
                          const uint8_t **data, size_t *len)
{
    const struct proof_entry *e = find_entry(proof, hash);
    if (!e)
        return false;
    *data = e->data;
    *len = e->len;
    return true;
}

static uint8_t key_nibble(const uint8_t *key, size_t i)
{
    return (i & 1) ? (key[i / 2] & 0x0f) : (key[i / 2] >> 4);
}

ferry_err chain_trie_proof_lookup(const struct ferry_trie_proof *proof, const uint8_t root[32],
                                  const uint8_t *key, size_t key_len, const uint8_t **value,
                                  size_t *value_len, const char **why)
{
    *value = NULL;
    *value_len = 0;
    const uint8_t *nb;
    size_t nl;
    if (!ferry_trie_proof_get(proof, root, &nb, &nl))
        return set_why(why, "state root node is not in the proof", FERRY_E_INCOMPLETE);
    size_t pos = 0, total = key_len * 2;
    for (bool is_root = true;; is_root = false) {
        struct ferry_trie_node node;
        if (ferry_trie_node_decode(nb, nl, &node, NULL))
            return set_why(why, "a node on the key's path does not decode", FERRY_E_INVALID);
        if (node.kind == FERRY_TRIE_NODE_EMPTY) {
            if (!is_root)
                return set_why(why, "empty node below the root", FERRY_E_INVALID);
            return set_why(why, "the trie is empty", FERRY_E_NOT_FOUND);
        }
        for (size_t i = 0; i < node.partial_nibbles; i++) {
            if (pos + i >= total)
                return set_why(why, "key ends inside a partial key", FERRY_E_NOT_FOUND);
            if (key_nibble(key, pos + i) != ferry_trie_node_partial_nibble(&node, i))
                return set_why(why, "key diverges from a partial key", FERRY_E_NOT_FOUND);
        }
        pos += node.partial_nibbles;
        if (pos == total) {
            if (!node.has_value)
                return set_why(why, "branch at the key has no value", FERRY_E_NOT_FOUND);
            if (node.value_hashed) {
                if (!ferry_trie_proof_get(proof, node.value, value, value_len))
                    return set_why(why, "hashed value is not in the proof", FERRY_E_INCOMPLETE);
            } else {
                *value = node.value;
                *value_len = node.value_len;
            }
            return set_why(why, "present", FERRY_OK);
        }
        if (node.kind == FERRY_TRIE_NODE_LEAF)
            return set_why(why, "key extends past a leaf", FERRY_E_NOT_FOUND);
        uint8_t nib = key_nibble(key, pos++);
        if (!node.child_len[nib])
            return set_why(why, "branch has no child for the key's next nibble", FERRY_E_NOT_FOUND);
        if (node.child_len[nib] == 32) {
            if (!ferry_trie_proof_get(proof, node.child[nib], &nb, &nl))
                return set_why(why, "a node on the key's path is not in the proof",
                               FERRY_E_INCOMPLETE);
        } else {
            nb = node.child[nib];
            nl = node.child_len[nib];
        }
    }
}

ferry_err ferry_trie_proof_lookup(const struct ferry_trie_proof *proof, const uint8_t root[32],
                                  const uint8_t *key, size_t key_len, const uint8_t **value,
                                  size_t *value_len, struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err =
        chain_trie_proof_lookup(proof, root, key, key_len, value, value_len, why ? &reason : NULL);
    if (err && reason)
        ferry_reason_set(why, err, "%s", reason);
    return err;
}

/* A node still to visit in ferry_trie_proof_check. */
struct visit {
    const uint8_t *data;
    size_t len;
};

static ferry_err push_visit(struct visit **stack, size_t *n, size_t *cap, const uint8_t *data,
                            size_t len)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct visit *ns = realloc(*stack, nc * sizeof *ns);
        if (!ns)
            return FERRY_E_NOMEM;
        *stack = ns;
        *cap = nc;
    }
    (*stack)[*n].data = data;
    (*stack)[(*n)++].len = len;
    return FERRY_OK;
}

/* How an entry was reached in ferry_trie_proof_check. A value can also be a valid node
 * encoding, so "used as a value" must not stop the same entry from being walked as a node. */
enum { USED_AS_VALUE = 1, USED_AS_NODE = 2 };

/* Mark the entry with this hash as used in the given role; returns it when it had not been
 * used in that role before (so each node is walked once even when referenced twice). */
static const struct proof_entry *mark(const struct ferry_trie_proof *p, uint8_t *used,
                                      const uint8_t hash[32], uint8_t role)
{
    const struct proof_entry *e = find_entry(p, hash);
    if (!e || (used[e - p->e] & role))
        return NULL;
    used[e - p->e] |= role;
    return e;
}

static ferry_err proof_check_static(const struct ferry_trie_proof *proof, const uint8_t root[32],
                                    size_t *unused, const char **why)
{
    if (unused)
        *unused = proof->n;
    uint8_t *used = calloc(proof->n ? proof->n : 1, sizeof *used);
    if (!used)
        return set_why(why, "out of memory", FERRY_E_NOMEM);
    const struct proof_entry *re = mark(proof, used, root, USED_AS_NODE);
    if (!re) {
        free(used);
        return set_why(why, "state root node is not in the proof", FERRY_E_INCOMPLETE);
    }
    struct visit *stack = NULL;
    size_t sn = 0, cap = 0;
    ferry_err err = push_visit(&stack, &sn, &cap, re->data, re->len);
    bool is_root = true;
    while (!err && sn) {
        struct visit v = stack[--sn];
        struct ferry_trie_node node;
        if (ferry_trie_node_decode(v.data, v.len, &node, NULL)) {
            err = set_why(why, "a reachable proof node does not decode", FERRY_E_INVALID);
            break;
        }
        if (node.kind == FERRY_TRIE_NODE_EMPTY && !is_root) {
            err = set_why(why, "empty node below the root", FERRY_E_INVALID);
            break;
        }
        is_root = false;
        if (node.value_hashed)
            (void)mark(proof, used, node.value, USED_AS_VALUE);
        for (unsigned i = 0; i < 16 && !err; i++) {
            if (node.child_len[i] == 32) {
                const struct proof_entry *e = mark(proof, used, node.child[i], USED_AS_NODE);
                if (e)
                    err = push_visit(&stack, &sn, &cap, e->data, e->len);
            } else if (node.child_len[i]) {
                err = push_visit(&stack, &sn, &cap, node.child[i], node.child_len[i]);
            }
        }
        if (err == FERRY_E_NOMEM)
            set_why(why, "out of memory", err);
    }
    if (!err && unused) {
        size_t u = 0;
        for (size_t i = 0; i < proof->n; i++)
            u += !used[i];
        *unused = u;
    }
    if (!err)
        set_why(why, "every reachable node decodes", FERRY_OK);
    free(stack);
    free(used);
    return err;
}

ferry_err(ferry_trie_proof_check)(const struct ferry_trie_proof *proof, const uint8_t root[32],
                                  size_t *unused, struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err = proof_check_static(proof, root, unused, why ? &reason : NULL);
    if (err && reason)
        ferry_reason_set(why, err, "%s", reason);
    return err;
}
