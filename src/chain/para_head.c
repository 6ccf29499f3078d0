/* Parachain heads proven through the relay chain's Paras::Heads storage (see trie.h).
 *
 * A relay state root commits to Paras::Heads(id) = HeadData, a Vec<u8> holding the para's
 * SCALE header; a read proof of that key therefore proves the para's head at that relay block.
 * Older para headers are then proven by walking parent hashes back from it.
 */
#include <string.h>

#include "ferry/hash.h"
#include "ferry/trie.h"
#include "ferry/para_head.h"

#include "internal.h"

static ferry_err set_why(const char **why, const char *text, ferry_err err)
{
    if (why)
        *why = text;
    return err;
}

void ferry_paras_heads_key(uint32_t para_id, uint8_t out[FERRY_PARAS_HEADS_KEY_LEN])
{
    uint8_t id[4] = {(uint8_t)para_id, (uint8_t)(para_id >> 8), (uint8_t)(para_id >> 16),
                     (uint8_t)(para_id >> 24)};
    ferry_storage_prefix(out, "Paras", "Heads");
    ferry_twox64(out + 32, id, 4);
    memcpy(out + 40, id, 4);
}

static ferry_err para_head_verify_static(const struct ferry_trie_proof *relay_proof,
                                         const uint8_t relay_root[32], uint32_t para_id,
                                         struct ferry_header *head, const char **why)
{
    memset(head, 0, sizeof *head);
    uint8_t key[FERRY_PARAS_HEADS_KEY_LEN];
    ferry_paras_heads_key(para_id, key);
    const uint8_t *value;
    size_t value_len;
    ferry_err err =
        chain_trie_proof_lookup(relay_proof, relay_root, key, sizeof key, &value, &value_len, why);
    if (err == FERRY_E_NOT_FOUND)
        return set_why(why, "Paras::Heads has no entry for this para id (proven absent)", err);
    if (err)
        return err;
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, value, value_len);
    const uint8_t *hd;
    size_t hd_len;
    (void)ferry_scale_byte_vec(&r, &hd, &hd_len);
    err = ferry_scale_finish(&r);
    if (err)
        return set_why(why, "proven Paras::Heads value is not a HeadData byte vector", err);
    err = ferry_header_decode(head, hd, hd_len, NULL);
    if (err)
        return set_why(why, "proven HeadData does not hold a header", err);
    return set_why(why, "para head proven", FERRY_OK);
}

ferry_err ferry_para_head_verify(const struct ferry_trie_proof *relay_proof,
                                 const uint8_t relay_root[32], uint32_t para_id,
                                 struct ferry_header *head, struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err =
        para_head_verify_static(relay_proof, relay_root, para_id, head, why ? &reason : NULL);
    if (err && reason)
        ferry_reason_set(why, err, "%s", reason);
    return err;
}

static ferry_err para_chain_verify_static(const uint8_t from_hash[32], uint32_t from_number,
                                          const struct ferry_header *headers, size_t n,
                                          const uint8_t target_hash[32], size_t *bad,
                                          const char **why)
{
    const uint8_t *prev = from_hash;
    uint32_t prev_number = from_number;
    for (size_t i = 0; i < n; i++) {
        if (bad)
            *bad = i;
        if (memcmp(headers[i].parent_hash, prev, 32) != 0)
            return set_why(why, "header's parent hash is not the previous header's hash",
                           FERRY_E_VERIFY);
        if (prev_number == UINT32_MAX || headers[i].number != prev_number + 1)
            return set_why(why, "header number does not follow the previous header's",
                           FERRY_E_VERIFY);
        prev = headers[i].hash;
        prev_number = headers[i].number;
    }
    if (bad)
        *bad = n;
    if (memcmp(prev, target_hash, 32) != 0)
        return set_why(why, "header chain does not end at the target head", FERRY_E_VERIFY);
    return set_why(why, "header chain links to the target", FERRY_OK);
}

ferry_err ferry_para_chain_verify(const uint8_t from_hash[32], uint32_t from_number,
                                  const struct ferry_header *headers, size_t n,
                                  const uint8_t target_hash[32], size_t *bad,
                                  struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err = para_chain_verify_static(from_hash, from_number, headers, n, target_hash, bad,
                                             why ? &reason : NULL);
    if (err && reason)
        ferry_reason_set(why, err, "%s", reason);
    return err;
}
