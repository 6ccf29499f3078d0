/* Fuzz target: the trie node decoder. A node that decodes must re-encode to exactly the input
 * (the encoding is canonical: one header form per nibble count, canonical compacts), every
 * pointer must stay inside the input, and a lookup and a reachability walk over a one-entry
 * proof holding the input must end in one of their documented outcomes. */
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/trie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_header(struct ferry_scale_writer *w, uint8_t prefix, unsigned bits, size_t count)
{
    size_t max = 0xffu >> (8 - bits);
    if (count < max) {
        ferry_scale_put_u8(w, (uint8_t)(prefix | count));
        return;
    }
    ferry_scale_put_u8(w, (uint8_t)(prefix | max));
    size_t rem = count - max;
    for (; rem >= 255; rem -= 255)
        ferry_scale_put_u8(w, 255);
    ferry_scale_put_u8(w, (uint8_t)rem);
}

static void reencode(const struct ferry_trie_node *n, struct ferry_scale_writer *w)
{
    if (n->kind == FERRY_TRIE_NODE_EMPTY) {
        ferry_scale_put_u8(w, 0);
        return;
    }
    if (n->kind == FERRY_TRIE_NODE_LEAF)
        put_header(w, n->value_hashed ? 0x20 : 0x40, n->value_hashed ? 5 : 6, n->partial_nibbles);
    else if (n->value_hashed)
        put_header(w, 0x10, 4, n->partial_nibbles);
    else
        put_header(w, n->has_value ? 0xc0 : 0x80, 6, n->partial_nibbles);
    ferry_scale_put_bytes(w, n->partial, (n->partial_nibbles + 1) / 2);
    if (n->kind == FERRY_TRIE_NODE_BRANCH)
        ferry_scale_put_u16(w, n->children_bitmap);
    if (n->value_hashed)
        ferry_scale_put_bytes(w, n->value, 32);
    else if (n->has_value)
        ferry_scale_put_byte_vec(w, n->value, n->value_len);
    for (unsigned i = 0; i < 16; i++) {
        if (n->child_len[i])
            ferry_scale_put_byte_vec(w, n->child[i], n->child_len[i]);
    }
}

static int inside(const uint8_t *p, size_t len, const uint8_t *data, size_t size)
{
    return len == 0 || (p >= data && p + len <= data + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_trie_node n;
    struct ferry_scale_reader diag;
    if (ferry_trie_node_decode(data, size, &n, &diag) == FERRY_OK) {
        if (!inside(n.partial, (n.partial_nibbles + 1) / 2, data, size) ||
            !inside(n.value, n.value_len, data, size))
            abort();
        for (unsigned i = 0; i < 16; i++) {
            int bit = (n.children_bitmap >> i) & 1;
            if (bit != (n.child_len[i] != 0) || n.child_len[i] > 32 ||
                !inside(n.child[i], n.child_len[i], data, size))
                abort();
        }
        for (size_t i = 0; i < n.partial_nibbles; i++) {
            if (ferry_trie_node_partial_nibble(&n, i) > 15)
                abort();
        }
        struct ferry_scale_writer w;
        ferry_scale_writer_init(&w);
        reencode(&n, &w);
        if (w.len != size || memcmp(w.buf, data, size) != 0)
            abort();
        ferry_scale_writer_free(&w);
    } else if (diag.err == FERRY_OK || diag.err_pos > size) {
        abort();
    }

    /* The input as the only entry of a proof, and as the root: the walk must not misbehave. */
    struct ferry_trie_proof *p;
    const uint8_t *entries[1] = {data};
    size_t lens[1] = {size};
    if (ferry_trie_proof_build(entries, lens, 1, &p) != FERRY_OK)
        return 0;
    uint8_t root[32];
    ferry_blake2b_256(root, data, size);
    const uint8_t *key = size > 4 ? data + size - 4 : data;
    const uint8_t *v;
    size_t vlen;
    ferry_err err = ferry_trie_proof_lookup(p, root, key, size > 4 ? 4 : size, &v, &vlen, NULL);
    if (err != FERRY_OK && err != FERRY_E_NOT_FOUND && err != FERRY_E_INCOMPLETE &&
        err != FERRY_E_INVALID)
        abort();
    if (err == FERRY_OK) {
        /* The only entry is the root itself, so an inline value lies inside its stored copy. */
        const uint8_t *e;
        size_t elen;
        if (!ferry_trie_proof_get(p, root, &e, &elen) || !inside(v, vlen, e, elen))
            abort();
    }
    size_t unused;
    (void)ferry_trie_proof_check(p, root, &unused, NULL);
    ferry_trie_proof_free(p);
    return 0;
}
