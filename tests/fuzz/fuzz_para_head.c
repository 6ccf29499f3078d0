/* Fuzz target: proof parsing and the Paras::Heads path. Input = para id (u32 LE) ‖ a SCALE
 * Vec<Vec<u8>> proof; the relay root is the hash of the proof's first entry, so generated
 * proofs reach real decoding instead of stopping at "root not in proof". Inputs starting with
 * '[' or '{' also go through the JSON proof parser. */
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/trie.h"
#include "ferry/para_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct ferry_trie_proof *p, const uint8_t root[32], uint32_t para_id)
{
    struct ferry_header h;
    ferry_err err = ferry_para_head_verify(p, root, para_id, &h, NULL);
    if (err == FERRY_OK) {
        /* A proven head is a decoded header that links to itself as a one-step chain. */
        if (h.number > 0 &&
            ferry_para_chain_verify(h.parent_hash, h.number - 1, &h, 1, h.hash, NULL, NULL))
            abort();
        ferry_header_free(&h);
    } else if (h.encoded_len != 0 || h.digest != NULL) {
        abort(); /* a failed verification leaves nothing to free */
    }
    size_t unused;
    if (ferry_trie_proof_check(p, root, &unused, NULL) == FERRY_OK &&
        unused > ferry_trie_proof_count(p))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && (data[0] == '[' || data[0] == '{')) {
        struct ferry_trie_proof *p;
        if (ferry_trie_proof_from_json((const char *)data, size, &p, NULL) == FERRY_OK) {
            uint8_t root[32] = {0};
            exercise(p, root, 2000);
            ferry_trie_proof_free(p);
        }
        return 0;
    }
    if (size < 4)
        return 0;
    uint32_t para_id = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                       (uint32_t)data[3] << 24;
    struct ferry_trie_proof *p;
    struct ferry_scale_reader r;
    if (ferry_trie_proof_from_scale(data + 4, size - 4, &p, &r) != FERRY_OK)
        return 0;
    /* Root = hash of the first entry as encoded (re-read it from the input). */
    struct ferry_scale_reader rr;
    size_t n;
    const uint8_t *first = NULL;
    size_t first_len = 0;
    ferry_scale_reader_init(&rr, data + 4, size - 4);
    if (ferry_scale_vec_len(&rr, 1, &n) == FERRY_OK && n > 0)
        (void)ferry_scale_byte_vec(&rr, &first, &first_len);
    uint8_t root[32];
    if (first)
        ferry_blake2b_256(root, first, first_len);
    else
        memcpy(root, ferry_trie_empty_root, 32);
    exercise(p, root, para_id);
    ferry_trie_proof_free(p);
    return 0;
}
