/* Trie roots from key/value pairs (see include/ferry/trie.h): the same result as Substrate's
 * `trie_root` / `ordered_trie_root` for LayoutV0 and LayoutV1.
 *
 * The pairs are sorted by key; a node covers a run of pairs that share the nibbles above it. A
 * single pair is a leaf; several pairs become a branch whose partial key is the nibbles they
 * all share, whose value is the pair that ends exactly there (it sorts first), and whose
 * children are the runs grouped by the next nibble. Each child is encoded into a scratch writer
 * for its depth and then referenced by hash (>= 32 bytes) or inlined (< 32 bytes). Recursion
 * depth is bounded by the number of branch levels (at most one per nibble of the longest key
 * and one per pair).
 */
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/trie.h"

/* V1 hashes values of this many bytes or more (sp-trie LayoutV1 MAX_INLINE_VALUE). */
#define V1_HASH_THRESHOLD 33
/* Keys longer than this would need partial keys over FERRY_TRIE_MAX_PARTIAL_NIBBLES. */
#define MAX_KEY_BYTES 32767

/* Every entry a proof of the whole trie needs (nodes referenced by hash, the root, hashed
 * values), concatenated in `blob` with their lengths in `lens`. */
struct node_sink {
    struct ferry_scale_writer blob;
    struct ferry_scale_writer lens; /* size_t per entry, host order */
    size_t n;
};

struct root_ctx {
    const struct ferry_trie_kv **kv; /* sorted */
    enum ferry_trie_version version;
    struct ferry_scale_writer *scratch; /* one writer per depth level, grown on demand */
    size_t n_scratch;
    struct node_sink *sink; /* NULL unless building a proof */
};

static void emit(struct root_ctx *c, const uint8_t *data, size_t len)
{
    if (!c->sink)
        return;
    ferry_scale_put_bytes(&c->sink->blob, data, len);
    ferry_scale_put_bytes(&c->sink->lens, &len, sizeof len);
    c->sink->n++;
}

static uint8_t nib(const struct ferry_trie_kv *kv, size_t i)
{
    uint8_t b = kv->key[i / 2];
    return (i & 1) ? (b & 0x0f) : (b >> 4);
}

static int kv_cmp(const void *a, const void *b)
{
    const struct ferry_trie_kv *x = *(const struct ferry_trie_kv *const *)a;
    const struct ferry_trie_kv *y = *(const struct ferry_trie_kv *const *)b;
    size_t m = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = m ? memcmp(x->key, y->key, m) : 0;
    if (c)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Header byte(s): prefix | nibble count in the low `bits` bits, continued by bytes that add up
 * while they are 255 (the inverse of the decoder in trie.c). */
static void put_header(struct ferry_scale_writer *w, uint8_t prefix, unsigned bits, size_t count)
{
    size_t max = 0xffu >> (8 - bits);
    if (count < max) {
        ferry_scale_put_u8(w, (uint8_t)(prefix | count));
        return;
    }
    ferry_scale_put_u8(w, (uint8_t)(prefix | max));
    size_t rem = count - max;
    while (rem >= 255) {
        ferry_scale_put_u8(w, 255);
        rem -= 255;
    }
    ferry_scale_put_u8(w, (uint8_t)rem);
}

/* Nibbles [from, to) of kv's key, left-padded to whole bytes. */
static void put_partial(struct ferry_scale_writer *w, const struct ferry_trie_kv *kv, size_t from,
                        size_t to)
{
    size_t i = from;
    if ((to - from) & 1)
        ferry_scale_put_u8(w, nib(kv, i++));
    for (; i < to; i += 2)
        ferry_scale_put_u8(w, (uint8_t)(nib(kv, i) << 4 | nib(kv, i + 1)));
}

static bool hashed_value(const struct root_ctx *c, const struct ferry_trie_kv *kv)
{
    return c->version == FERRY_TRIE_V1 && kv->value_len >= V1_HASH_THRESHOLD;
}

static void put_value(struct ferry_scale_writer *w, struct root_ctx *c,
                      const struct ferry_trie_kv *kv)
{
    if (hashed_value(c, kv)) {
        uint8_t h[32];
        ferry_blake2b_256(h, kv->value, kv->value_len);
        ferry_scale_put_bytes(w, h, 32);
        emit(c, kv->value, kv->value_len);
    } else {
        ferry_scale_put_byte_vec(w, kv->value, kv->value_len);
    }
}

static ferry_err encode_node(struct root_ctx *c, size_t lo, size_t hi, size_t depth, size_t level,
                             struct ferry_scale_writer *out);

/* Encode the child covering kv[lo..hi) at nibble depth `depth` and append its reference. */
static ferry_err put_child(struct root_ctx *c, size_t lo, size_t hi, size_t depth, size_t level,
                           struct ferry_scale_writer *out)
{
    if (level >= c->n_scratch) {
        size_t nn = c->n_scratch ? c->n_scratch * 2 : 16;
        struct ferry_scale_writer *ns = realloc(c->scratch, nn * sizeof *ns);
        if (!ns)
            return FERRY_E_NOMEM;
        for (size_t i = c->n_scratch; i < nn; i++)
            ferry_scale_writer_init(&ns[i]);
        c->scratch = ns;
        c->n_scratch = nn;
    }
    c->scratch[level].len = 0;
    ferry_err err = encode_node(c, lo, hi, depth, level + 1, &c->scratch[level]);
    if (err)
        return err;
    /* Deeper levels may have grown (moved) the scratch array: look the writer up again. */
    struct ferry_scale_writer *w = &c->scratch[level];
    if (ferry_scale_writer_error(w))
        return FERRY_E_NOMEM;
    if (w->len >= 32) {
        uint8_t h[32];
        ferry_blake2b_256(h, w->buf, w->len);
        ferry_scale_put_byte_vec(out, h, 32);
        emit(c, w->buf, w->len);
    } else {
        ferry_scale_put_byte_vec(out, w->buf, w->len);
    }
    return FERRY_OK;
}

static ferry_err encode_node(struct root_ctx *c, size_t lo, size_t hi, size_t depth, size_t level,
                             struct ferry_scale_writer *out)
{
    const struct ferry_trie_kv *first = c->kv[lo];
    size_t first_end = first->key_len * 2;
    if (hi - lo == 1) {
        if (hashed_value(c, first))
            put_header(out, 0x20, 5, first_end - depth);
        else
            put_header(out, 0x40, 6, first_end - depth);
        put_partial(out, first, depth, first_end);
        put_value(out, c, first);
        return FERRY_OK;
    }
    /* Sorted input: what the first and last keys share, every key shares. */
    const struct ferry_trie_kv *last = c->kv[hi - 1];
    size_t last_end = last->key_len * 2;
    size_t split = depth;
    while (split < first_end && split < last_end && nib(first, split) == nib(last, split))
        split++;
    bool has_value = first_end == split;
    uint16_t bitmap = 0;
    for (size_t i = lo + has_value; i < hi; i++)
        bitmap |= (uint16_t)(1u << nib(c->kv[i], split));
    if (!has_value)
        put_header(out, 0x80, 6, split - depth);
    else if (hashed_value(c, first))
        put_header(out, 0x10, 4, split - depth);
    else
        put_header(out, 0xc0, 6, split - depth);
    put_partial(out, first, depth, split);
    ferry_scale_put_u16(out, bitmap);
    if (has_value)
        put_value(out, c, first);
    size_t i = lo + has_value;
    while (i < hi) {
        uint8_t n = nib(c->kv[i], split);
        size_t j = i + 1;
        while (j < hi && nib(c->kv[j], split) == n)
            j++;
        ferry_err err = put_child(c, i, j, split + 1, level, out);
        if (err)
            return err;
        i = j;
    }
    return FERRY_OK;
}

static ferry_err compute_root(const struct ferry_trie_kv *pairs, size_t n,
                              enum ferry_trie_version version, uint8_t root[32],
                              struct node_sink *sink)
{
    if (n == 0) {
        static const uint8_t empty_node = 0;
        memcpy(root, ferry_trie_empty_root, 32);
        if (sink) {
            struct root_ctx c = {.sink = sink};
            emit(&c, &empty_node, 1);
        }
        return FERRY_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (pairs[i].key_len > MAX_KEY_BYTES)
            return FERRY_E_UNSUPPORTED;
    }
    struct root_ctx c = {.version = version, .sink = sink};
    c.kv = malloc(n * sizeof *c.kv);
    if (!c.kv)
        return FERRY_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        c.kv[i] = &pairs[i];
    qsort(c.kv, n, sizeof *c.kv, kv_cmp);
    ferry_err err = FERRY_OK;
    for (size_t i = 1; i < n && !err; i++) {
        if (kv_cmp(&c.kv[i - 1], &c.kv[i]) == 0)
            err = FERRY_E_ARG;
    }
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    if (!err)
        err = encode_node(&c, 0, n, 0, 0, &w);
    if (!err)
        err = ferry_scale_writer_error(&w);
    for (size_t i = 0; i < c.n_scratch; i++) {
        if (!err)
            err = ferry_scale_writer_error(&c.scratch[i]);
        ferry_scale_writer_free(&c.scratch[i]);
    }
    /* The root is referenced by hash even when its encoding is shorter than 32 bytes. */
    if (!err) {
        ferry_blake2b_256(root, w.buf, w.len);
        emit(&c, w.buf, w.len);
    }
    ferry_scale_writer_free(&w);
    free(c.scratch);
    free(c.kv);
    return err;
}

ferry_err ferry_trie_root(const struct ferry_trie_kv *pairs, size_t n,
                          enum ferry_trie_version version, uint8_t root[32])
{
    return compute_root(pairs, n, version, root, NULL);
}

ferry_err ferry_trie_build_proof(const struct ferry_trie_kv *pairs, size_t n,
                                 enum ferry_trie_version version, uint8_t root[32],
                                 struct ferry_trie_proof **out)
{
    *out = NULL;
    struct node_sink sink = {0};
    ferry_scale_writer_init(&sink.blob);
    ferry_scale_writer_init(&sink.lens);
    ferry_err err = compute_root(pairs, n, version, root, &sink);
    if (!err && (ferry_scale_writer_error(&sink.blob) || ferry_scale_writer_error(&sink.lens)))
        err = FERRY_E_NOMEM;
    const uint8_t **ptrs = NULL;
    size_t *lens = NULL;
    if (!err) {
        ptrs = malloc((sink.n ? sink.n : 1) * sizeof *ptrs);
        lens = malloc((sink.n ? sink.n : 1) * sizeof *lens);
        if (!ptrs || !lens)
            err = FERRY_E_NOMEM;
    }
    if (!err) {
        size_t off = 0;
        for (size_t i = 0; i < sink.n; i++) {
            memcpy(&lens[i], sink.lens.buf + i * sizeof(size_t), sizeof(size_t));
            ptrs[i] = sink.blob.buf + off;
            off += lens[i];
        }
        err = ferry_trie_proof_build(ptrs, lens, sink.n, out);
    }
    free(ptrs);
    free(lens);
    ferry_scale_writer_free(&sink.blob);
    ferry_scale_writer_free(&sink.lens);
    return err;
}

/* SCALE Compact(v) into out[5] without a writer (one per extrinsic would be one malloc each).
 * Returns: the number of bytes written. */
static size_t put_compact_u32(uint8_t out[5], uint32_t v)
{
    size_t n;
    uint64_t x;
    if (v < (1u << 6)) {
        x = (uint64_t)v << 2;
        n = 1;
    } else if (v < (1u << 14)) {
        x = (uint64_t)v << 2 | 1;
        n = 2;
    } else if (v < (1u << 30)) {
        x = (uint64_t)v << 2 | 2;
        n = 4;
    } else {
        out[0] = 3;
        for (size_t i = 0; i < 4; i++)
            out[1 + i] = (uint8_t)(v >> (8 * i));
        return 5;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(x >> (8 * i));
    return n;
}

ferry_err ferry_trie_ordered_root(const uint8_t *const *items, const size_t *lens, size_t n,
                                  enum ferry_trie_version version, uint8_t root[32])
{
    if (n > UINT32_MAX)
        return FERRY_E_ARG;
    struct ferry_trie_kv *kv = calloc(n ? n : 1, sizeof *kv);
    uint8_t *keys = malloc(n ? n * 5 : 1);
    ferry_err err = FERRY_E_NOMEM;
    if (kv && keys) {
        for (size_t i = 0; i < n; i++) {
            kv[i].key = keys + i * 5;
            kv[i].key_len = put_compact_u32(keys + i * 5, (uint32_t)i);
            kv[i].value = items[i];
            kv[i].value_len = lens[i];
        }
        err = ferry_trie_root(kv, n, version, root);
    }
    free(kv);
    free(keys);
    return err;
}
