/* ferry relay's saved light-client state (relay.h: ferry_relay_state_save/load): round trip,
 * atomic replacement (no temporary file left), and every damaged or foreign file refused with the
 * documented error instead of loading or crashing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ferry/lc.h"
#include "ferry/relay.h"
#include "ferry/scale.h"
#include "testutil.h"

static char dir[64];
static char file[128];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/ferry-relaystate-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/lc.state", dir);
}

static void remove_dir(void)
{
    char p[160];
    snprintf(p, sizeof p, "%s/lc.state.tmp", dir);
    unlink(p);
    unlink(file);
    rmdir(dir);
}

/* An lc trusted at block 5 (a checkpoint) of the chain with genesis hash g. */
static struct ferry_lc *make_lc(const uint8_t g[32], bool parachain)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    uint8_t b32[32];
    memset(b32, 0x11, 32);
    ferry_scale_put_bytes(&w, b32, 32); /* parent */
    ferry_scale_put_compact(&w, 5);
    memset(b32, 0x22, 32);
    ferry_scale_put_bytes(&w, b32, 32); /* state root */
    memset(b32, 0x33, 32);
    ferry_scale_put_bytes(&w, b32, 32); /* extrinsics root */
    ferry_scale_put_compact(&w, 0);     /* digest */
    struct ferry_header h;
    ck_assert_int_eq(ferry_header_decode(&h, w.buf, w.len, NULL), FERRY_OK);
    ferry_scale_writer_free(&w);
    struct ferry_authority a;
    memset(a.id, 0x44, 32);
    a.weight = 1;
    struct ferry_authority_set set = {0};
    set.set_id = 3;
    set.authorities = &a;
    set.n_authorities = 1;
    set.number = 5;
    memcpy(set.hash, h.hash, 32);
    struct ferry_lc_config cfg = {0};
    cfg.parachain = parachain;
    cfg.para_id = parachain ? 2035 : 0;
    struct ferry_lc *lc = NULL;
    struct ferry_reason why = {""};
    ck_assert_msg(ferry_lc_new_checkpoint(&lc, &cfg, g, &h, &set, &why) == FERRY_OK, "%s",
                  why.text);
    ferry_header_free(&h);
    return lc;
}

static uint8_t *slurp(size_t *len)
{
    FILE *f = fopen(file, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spit(const uint8_t *buf, size_t len)
{
    FILE *f = fopen(file, "wb");
    ck_assert_ptr_nonnull(f);
    if (len)
        ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static ferry_err load(const uint8_t g[32], struct ferry_reason *why)
{
    struct ferry_lc *lc = (struct ferry_lc *)1;
    ferry_err err = ferry_relay_state_load(dir, g, &lc, why);
    if (err)
        ck_assert_ptr_null(lc);
    ferry_lc_free(lc);
    return err;
}

START_TEST(round_trip)
{
    make_dir();
    uint8_t g[32];
    memset(g, 0xab, 32);
    struct ferry_reason why = {""};
    ck_assert_int_eq(load(g, &why), FERRY_E_NOT_FOUND);
    struct ferry_lc *lc = make_lc(g, true);
    ck_assert_msg(ferry_relay_state_save(dir, lc, &why) == FERRY_OK, "%s", why.text);
    ck_assert_msg(ferry_relay_state_save(dir, lc, &why) == FERRY_OK, "%s", why.text); /* replace */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/lc.state.tmp", dir);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    struct ferry_lc *back = NULL;
    ck_assert_msg(ferry_relay_state_load(dir, g, &back, &why) == FERRY_OK, "%s", why.text);
    struct ferry_scale_writer a, b;
    ferry_scale_writer_init(&a);
    ferry_scale_writer_init(&b);
    ferry_lc_encode(lc, &a);
    ferry_lc_encode(back, &b);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert_int_eq(memcmp(a.buf, b.buf, a.len), 0);
    struct ferry_lc_status st;
    ferry_lc_status(back, &st);
    ck_assert_uint_eq(st.number, 5);
    ck_assert_uint_eq(st.set_id, 3);
    ck_assert(st.parachain);
    ck_assert_uint_eq(st.para_id, 2035);
    ferry_scale_writer_free(&a);
    ferry_scale_writer_free(&b);
    ferry_lc_free(back);
    ferry_lc_free(lc);
    remove_dir();
}
END_TEST

START_TEST(other_chain_is_permanent)
{
    make_dir();
    uint8_t g[32], other[32];
    memset(g, 0xab, 32);
    memset(other, 0xcd, 32);
    struct ferry_lc *lc = make_lc(g, false);
    struct ferry_reason why = {""};
    ck_assert_int_eq(ferry_relay_state_save(dir, lc, &why), FERRY_OK);
    ferry_lc_free(lc);
    ck_assert_int_eq(load(other, &why), FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(why.text, "another chain"));
    remove_dir();
}
END_TEST

START_TEST(damaged_files_refused)
{
    make_dir();
    uint8_t g[32];
    memset(g, 0xab, 32);
    struct ferry_lc *lc = make_lc(g, false);
    struct ferry_reason why = {""};
    ck_assert_int_eq(ferry_relay_state_save(dir, lc, &why), FERRY_OK);
    ferry_lc_free(lc);
    size_t len;
    uint8_t *good = slurp(&len);
    uint8_t *bad = malloc(len);
    /* every truncation */
    for (size_t n = 0; n < len; n++) {
        spit(good, n);
        ck_assert_int_eq(load(g, &why), FERRY_E_INVALID);
    }
    /* every single-byte change (the header's genesis: a mismatch with the lc's own) */
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, good, len);
        bad[i] ^= 0x01;
        spit(bad, len);
        ferry_err err = load(g, &why);
        ck_assert_msg(err == FERRY_E_INVALID, "byte %zu: %d (%s)", i, err, why.text);
    }
    /* trailing garbage, another format version, a foreign file */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, good, len);
    longer[len] = 0;
    spit(longer, len + 1);
    ck_assert_int_eq(load(g, &why), FERRY_E_INVALID);
    memcpy(bad, good, len);
    bad[4] = 9;
    spit(bad, len);
    ck_assert_int_eq(load(g, &why), FERRY_E_INVALID);
    ck_assert_ptr_nonnull(strstr(why.text, "version"));
    spit((const uint8_t *)"SQLite format 3\0 and more bytes than a header holds....", 56);
    ck_assert_int_eq(load(g, &why), FERRY_E_INVALID);
    /* the good file still loads */
    spit(good, len);
    ck_assert_int_eq(load(g, &why), FERRY_OK);
    free(longer);
    free(bad);
    free(good);
    remove_dir();
}
END_TEST

START_TEST(unwritable_dir)
{
    struct ferry_reason why = {""};
    uint8_t g[32];
    memset(g, 0xab, 32);
    struct ferry_lc *lc = make_lc(g, false);
    ck_assert_int_eq(ferry_relay_state_save("/nonexistent/ferry-dir", lc, &why), FERRY_E_IO);
    ck_assert_ptr_nonnull(strstr(why.text, "/nonexistent/ferry-dir"));
    ferry_lc_free(lc);
}
END_TEST

Suite *relaystate_suite(void)
{
    Suite *s = suite_create("relaystate");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, other_chain_is_permanent);
    tcase_add_test(tc, damaged_files_refused);
    tcase_add_test(tc, unwritable_dir);
    suite_add_tcase(s, tc);
    return s;
}
