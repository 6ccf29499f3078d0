/* SS58 and Base58: every address, prefix encoding and invalid case in
 * vectors/hashing/ss58-and-keys.json, plus hand-made negatives (labelled below). */
#include <stdlib.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/ss58.h"
#include "testutil.h"

static void check_roundtrip(const char *pub_hex, unsigned prefix, const char *address)
{
    size_t len;
    uint8_t *pub = tu_hex(pub_hex, &len);
    char out[FERRY_SS58_MAX_LEN];
    ck_assert_int_eq(ferry_ss58_encode(pub, len, (uint16_t)prefix, out, sizeof out), FERRY_OK);
    ck_assert_str_eq(out, address);
    struct ferry_ss58 d;
    struct ferry_reason why = {""};
    ck_assert_msg(ferry_ss58_decode(address, &d, &why) == FERRY_OK, "%s: %s", address, why.text);
    ck_assert_uint_eq(d.prefix, prefix);
    ck_assert_uint_eq(d.len, len);
    ck_assert_mem_eq(d.payload, pub, len);
    free(pub);
}

START_TEST(wallet_core_addresses_for_one_and_two_byte_prefixes)
{
    TU_VECTOR_OR_SKIP(v, "hashing/ss58-and-keys.json");
    const cJSON *row;
    int n = 0, two_byte = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "addresses"))
    {
        int prefix = cJSON_GetObjectItem(row, "prefix")->valueint;
        check_roundtrip(tu_str(row, "public_key"), (unsigned)prefix, tu_str(row, "address"));
        two_byte += prefix >= 64;
        n++;
    }
    ck_assert_int_ge(n, 7);
    ck_assert_int_ge(two_byte, 4);
}
END_TEST

START_TEST(dev_key_addresses_for_prefixes_42_0_2)
{
    TU_VECTOR_OR_SKIP(v, "hashing/ss58-and-keys.json");
    const cJSON *row;
    int n = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "dev_keys"))
    {
        const cJSON *acct = cJSON_GetObjectItem(row, "account_id");
        if (cJSON_GetObjectItem(row, "ss58_42")) {
            check_roundtrip(acct->valuestring, 42, tu_str(row, "ss58_42"));
            check_roundtrip(acct->valuestring, 0, tu_str(row, "ss58_0_polkadot"));
            check_roundtrip(acct->valuestring, 2, tu_str(row, "ss58_2_kusama"));
            n++;
        } else {
            /* ECDSA: the account id (hash of the key) and the 33-byte public key itself. */
            check_roundtrip(acct->valuestring, 42, tu_str(row, "ss58_42_of_account_id"));
            check_roundtrip(tu_str(row, "public_key_compressed"), 42,
                            tu_str(row, "ss58_42_of_public_key_33_bytes"));
            n++;
        }
    }
    ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(extra_valid_addresses_decode)
{
    TU_VECTOR_OR_SKIP(v, "hashing/ss58-and-keys.json");
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "extra_valid"))
    {
        struct ferry_ss58 d;
        ck_assert_int_eq(ferry_ss58_decode(tu_str(row, "address"), &d, NULL), FERRY_OK);
        ck_assert_int_eq(d.prefix, cJSON_GetObjectItem(row, "prefix")->valueint);
        char again[FERRY_SS58_MAX_LEN];
        ck_assert_int_eq(ferry_ss58_encode(d.payload, d.len, d.prefix, again, sizeof again),
                         FERRY_OK);
        ck_assert_str_eq(again, tu_str(row, "address"));
    }
}
END_TEST

/* The invalid rows are addresses paired with a claimed prefix they do not carry: either the
 * address does not decode at all, or it decodes to a different prefix. */
START_TEST(invalid_prefix_claims_are_not_confirmed)
{
    TU_VECTOR_OR_SKIP(v, "hashing/ss58-and-keys.json");
    const cJSON *row;
    int n = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "invalid"))
    {
        struct ferry_ss58 d;
        ferry_err err = ferry_ss58_decode(tu_str(row, "address"), &d, NULL);
        int claimed = cJSON_GetObjectItem(row, "claimed_prefix")->valueint;
        ck_assert(err != FERRY_OK || d.prefix != claimed);
        n++;
    }
    ck_assert_int_ge(n, 4);
}
END_TEST

START_TEST(network_prefix_byte_encodings)
{
    TU_VECTOR_OR_SKIP(v, "hashing/ss58-and-keys.json");
    const cJSON *row;
    int n = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "network_prefix_encoding"))
    {
        unsigned prefix = (unsigned)cJSON_GetArrayItem(row, 0)->valueint;
        const char *want = cJSON_GetArrayItem(row, 1)->valuestring;
        uint8_t b[2];
        size_t len = ferry_ss58_prefix_encode((uint16_t)prefix, b);
        ck_assert_uint_eq(len, strlen(want) / 2);
        ck_assert_str_eq(tu_tohex(b, len) + 2, want);
        uint16_t back;
        size_t used;
        ck_assert_int_eq(ferry_ss58_prefix_decode(b, len, &back, &used), FERRY_OK);
        ck_assert_uint_eq(back, prefix);
        ck_assert_uint_eq(used, len);
        n++;
    }
    ck_assert_int_ge(n, 27);
}
END_TEST

START_TEST(network_prefix_invalid_byte_forms)
{
    TU_VECTOR_OR_SKIP(v, "hashing/ss58-and-keys.json");
    const cJSON *row;
    int n = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "network_prefix_decoding_invalid"))
    {
        size_t len;
        uint8_t *b = tu_hex(tu_str(row, "bytes"), &len);
        uint16_t prefix;
        size_t used;
        ck_assert_msg(ferry_ss58_prefix_decode(b, len, &prefix, &used) != FERRY_OK, "%s",
                      tu_str(row, "bytes"));
        free(b);
        n++;
    }
    ck_assert_int_ge(n, 9);
}
END_TEST

/* Every prefix 0..16383 survives encode/decode of its bytes and of a whole address. */
START_TEST(every_prefix_roundtrips)
{
    uint8_t acct[32];
    for (int i = 0; i < 32; i++)
        acct[i] = (uint8_t)(i * 7 + 1);
    for (unsigned p = 0; p <= FERRY_SS58_MAX_PREFIX; p++) {
        uint8_t b[2];
        uint16_t back;
        size_t used, len = ferry_ss58_prefix_encode((uint16_t)p, b);
        ck_assert_uint_eq(len, p < 64 ? 1 : 2);
        ck_assert_int_eq(ferry_ss58_prefix_decode(b, len, &back, &used), FERRY_OK);
        ck_assert_uint_eq(back, p);
        char addr[FERRY_SS58_MAX_LEN];
        ferry_err err = ferry_ss58_encode(acct, 32, (uint16_t)p, addr, sizeof addr);
        if (p == 46 || p == 47) {
            ck_assert_int_eq(err, FERRY_E_ARG);
            continue;
        }
        ck_assert_int_eq(err, FERRY_OK);
        struct ferry_ss58 d;
        ck_assert_int_eq(ferry_ss58_decode(addr, &d, NULL), FERRY_OK);
        ck_assert_uint_eq(d.prefix, p);
        ck_assert_mem_eq(d.payload, acct, 32);
    }
    uint8_t b[2];
    ck_assert_uint_eq(ferry_ss58_prefix_encode(16384, b), 0);
    ck_assert_int_eq(
        ferry_ss58_encode(acct, 32, 16384, (char[FERRY_SS58_MAX_LEN]){0}, FERRY_SS58_MAX_LEN),
        FERRY_E_ARG);
}
END_TEST

/* Hand-made negatives below. */
static ferry_err decode_why(const char *addr, char *why)
{
    struct ferry_ss58 d;
    struct ferry_reason r = {""};
    ferry_err err = ferry_ss58_decode(addr, &d, &r);
    memcpy(why, r.text, FERRY_SS58_WHY_LEN);
    why[FERRY_SS58_WHY_LEN - 1] = 0;
    return err;
}

START_TEST(bad_checksum_is_rejected)
{
    char addr[] = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    char why[FERRY_SS58_WHY_LEN];
    ck_assert_int_eq(decode_why(addr, why), FERRY_OK);
    addr[strlen(addr) - 1] = 'Z'; /* last character: changes the checksum bytes */
    ck_assert_int_eq(decode_why(addr, why), FERRY_E_VERIFY);
    ck_assert_ptr_nonnull(strstr(why, "checksum"));
    addr[strlen(addr) - 1] = 'Y';
    addr[10] = addr[10] == 'a' ? 'b' : 'a'; /* a payload character */
    ck_assert_int_eq(decode_why(addr, why), FERRY_E_VERIFY);
}
END_TEST

START_TEST(bad_base58_character_is_reported_with_offset)
{
    char why[FERRY_SS58_WHY_LEN];
    ck_assert_int_eq(decode_why("5Grwva0F5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", why),
                     FERRY_E_INVALID);
    ck_assert_str_eq(why, "invalid base58 character '0' at offset 6");
    ck_assert_int_eq(decode_why("5GrwvaIF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", why),
                     FERRY_E_INVALID);
    ck_assert_int_eq(decode_why("5GrwvalF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", why),
                     FERRY_E_INVALID);
    ck_assert_int_eq(decode_why("5Grwva F5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", why),
                     FERRY_E_INVALID);
    ck_assert_int_eq(decode_why("5Grwva\xc3\xa9zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", why),
                     FERRY_E_INVALID);
    ck_assert_str_eq(why, "invalid base58 byte 0xc3 at offset 6");
}
END_TEST

START_TEST(wrong_lengths_are_rejected)
{
    char why[FERRY_SS58_WHY_LEN];
    char addr[FERRY_SS58_MAX_LEN];
    uint8_t raw[2 + 33 + 2] = {42};
    ck_assert_int_eq(decode_why("", why), FERRY_E_TRUNCATED);
    /* Drop a character from a valid address: every byte shifts, so the reason varies (here the
     * first byte lands in the reserved range), but it must not decode. */
    ck_assert_int_ne(decode_why("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQ", why), FERRY_OK);
    ck_assert_str_ne(why, "");
    /* 20-byte payload with a correct prefix: a length error, not a checksum error. */
    ck_assert_int_eq(ferry_base58_encode(raw, 1 + 20 + 2, addr, sizeof addr), FERRY_OK);
    ck_assert_int_eq(decode_why(addr, why), FERRY_E_TRUNCATED);
    ck_assert_ptr_nonnull(strstr(why, "20 payload bytes"));
    /* 34-byte payload. */
    ck_assert_int_eq(ferry_base58_encode(raw, 1 + 34 + 2, addr, sizeof addr), FERRY_OK);
    ck_assert_int_eq(decode_why(addr, why), FERRY_E_TOO_LARGE);
    /* Far too long. */
    char longaddr[200];
    memset(longaddr, 'z', sizeof longaddr - 1);
    longaddr[sizeof longaddr - 1] = 0;
    ck_assert_int_eq(decode_why(longaddr, why), FERRY_E_TOO_LARGE);
    /* One-character input: decodes to one byte. */
    ck_assert_int_ne(decode_why("2", why), FERRY_OK);
}
END_TEST

/* Builds an address with a valid checksum over arbitrary prefix bytes, so the prefix check (not
 * the checksum) must be what rejects it. */
static void forge(const uint8_t *prefix, size_t plen, char *out)
{
    uint8_t raw[2 + 32 + 2], h[64], pre[7 + 2 + 32];
    memcpy(raw, prefix, plen);
    memset(raw + plen, 0x11, 32);
    memcpy(pre, "SS58PRE", 7);
    memcpy(pre + 7, raw, plen + 32);
    ferry_blake2b_512(h, pre, 7 + plen + 32);
    raw[plen + 32] = h[0];
    raw[plen + 33] = h[1];
    ck_assert_int_eq(ferry_base58_encode(raw, plen + 34, out, FERRY_SS58_MAX_LEN), FERRY_OK);
}

START_TEST(reserved_and_noncanonical_prefixes_are_rejected)
{
    char why[FERRY_SS58_WHY_LEN], addr[FERRY_SS58_MAX_LEN];
    forge((const uint8_t[]){46}, 1, addr);
    ck_assert_int_eq(decode_why(addr, why), FERRY_E_UNSUPPORTED);
    ck_assert_str_eq(why, "reserved prefix 46");
    forge((const uint8_t[]){47}, 1, addr);
    ck_assert_int_eq(decode_why(addr, why), FERRY_E_UNSUPPORTED);
    forge((const uint8_t[]){0x40, 0x80}, 2, addr); /* two-byte form of 2 */
    ck_assert_int_eq(decode_why(addr, why), FERRY_E_NONCANONICAL);
    forge((const uint8_t[]){0x80, 0x00}, 2, addr); /* first byte 128..255 */
    ck_assert_int_eq(decode_why(addr, why), FERRY_E_INVALID);
    ck_assert_ptr_nonnull(strstr(why, "prefix"));
    forge((const uint8_t[]){0x50, 0x00}, 2, addr); /* 64: fine */
    ck_assert_int_eq(decode_why(addr, why), FERRY_OK);
}
END_TEST

START_TEST(base58_handles_leading_zeros_and_small_buffers)
{
    char out[16];
    uint8_t back[8];
    size_t n;
    ck_assert_int_eq(ferry_base58_encode((const uint8_t[]){0, 0, 1}, 3, out, sizeof out), FERRY_OK);
    ck_assert_str_eq(out, "112");
    ck_assert_int_eq(ferry_base58_decode("112", 3, back, sizeof back, &n, NULL), FERRY_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(back, ((const uint8_t[]){0, 0, 1}), 3);
    ck_assert_int_eq(ferry_base58_encode(NULL, 0, out, sizeof out), FERRY_OK);
    ck_assert_str_eq(out, "");
    /* "hello world" -> known Bitcoin base58 */
    ck_assert_int_eq(ferry_base58_encode((const uint8_t *)"hello world", 11, out, sizeof out),
                     FERRY_OK);
    ck_assert_str_eq(out, "StV1DL6CwTryKyV");
    ck_assert_int_eq(ferry_base58_encode((const uint8_t *)"hello world", 11, out, 15),
                     FERRY_E_TOO_LARGE);
    ck_assert_int_eq(ferry_base58_decode("StV1DL6CwTryKyV", 15, back, sizeof back, &n, NULL),
                     FERRY_E_TOO_LARGE);
}
END_TEST

Suite *ss58_suite(void)
{
    Suite *s = suite_create("ss58");
    TCase *tc = tcase_create("vectors");
    tcase_add_test(tc, wallet_core_addresses_for_one_and_two_byte_prefixes);
    tcase_add_test(tc, dev_key_addresses_for_prefixes_42_0_2);
    tcase_add_test(tc, extra_valid_addresses_decode);
    tcase_add_test(tc, invalid_prefix_claims_are_not_confirmed);
    tcase_add_test(tc, network_prefix_byte_encodings);
    tcase_add_test(tc, network_prefix_invalid_byte_forms);
    suite_add_tcase(s, tc);
    TCase *neg = tcase_create("negatives");
    tcase_add_test(neg, every_prefix_roundtrips);
    tcase_add_test(neg, bad_checksum_is_rejected);
    tcase_add_test(neg, bad_base58_character_is_reported_with_offset);
    tcase_add_test(neg, wrong_lengths_are_rejected);
    tcase_add_test(neg, reserved_and_noncanonical_prefixes_are_rejected);
    tcase_add_test(neg, base58_handles_leading_zeros_and_small_buffers);
    suite_add_tcase(s, neg);
    return s;
}
