/* Egress exactly once, against a simulated chain that applies the rules the real one does:
 * account nonces (stale refused, one transaction per nonce in the pool), mortal eras (outdated
 * refused, dropped from the pool when over), PhalaMq's per-sender sequence (stale refused, a
 * future one waits), inclusion in nonce order, finality a few blocks behind the best block, and
 * a pool that a node restart empties. The simulation counts how often each (sender, sequence)
 * executes and whether two different signed transactions for one message were ever in the pool
 * at once. The relayer's "crashes" close the outbox without any cleanup after every possible
 * number of chain calls, then continue from a reopened database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/egress.h"
#include "ferry/hash.h"
#include "ferry/scale.h"
#include "testutil.h"

#define NS       2 /* senders */
#define MAXSEQ   32
#define MAXB     4096
#define PERIOD   8 /* era length in blocks */
#define FIN_LAG  2
#define MAX_POOL 256

struct sim_tx {
    uint8_t hash[32];
    uint64_t nonce;
    uint32_t birth, death;
    int sender;
    uint64_t seq;
};

struct sim {
    uint32_t best;
    uint64_t acct_nonce;
    uint64_t ingress[NS];
    uint64_t hist[MAXB][NS]; /* ingress after each block */
    struct sim_tx pool[MAX_POOL];
    size_t npool;
    int exec[NS][MAXSEQ];
    int violations;
    /* faults */
    long calls;
    long die_at;           /* >= 0: every call from this one on fails (the process died) */
    long lose_reply_at;    /* the submit with this call number is applied, its reply lost */
    long drop_at;          /* the submit with this call number never reaches the node */
    uint8_t banned[8][32]; /* hashes the node refuses ("temporarily banned") */
    int nbanned;
};

static uint8_t sender_id[NS][33];

static void init_senders(void)
{
    for (int s = 0; s < NS; s++) {
        memset(sender_id[s], 0x10 + s, 33);
        sender_id[s][0] = 0x02; /* MessageOrigin::Worker */
    }
}

static int sender_index(const uint8_t *p, size_t len)
{
    for (int s = 0; s < NS; s++)
        if (len == 33 && !memcmp(p, sender_id[s], 33))
            return s;
    return -1;
}

static void sim_init(struct sim *sim)
{
    memset(sim, 0, sizeof *sim);
    sim->best = 10;
    sim->acct_nonce = 3; /* the account already sent something */
    sim->die_at = sim->lose_reply_at = sim->drop_at = -1;
}

/* Our signed "extrinsic": nonce ‖ birth ‖ death ‖ sender index ‖ seq ‖ payload. */
static bool parse_xt(const uint8_t *xt, size_t len, struct sim_tx *t)
{
    if (len < 8 + 4 + 4 + 1 + 8)
        return false;
    memcpy(&t->nonce, xt, 8);
    memcpy(&t->birth, xt + 8, 4);
    memcpy(&t->death, xt + 12, 4);
    t->sender = xt[16];
    memcpy(&t->seq, xt + 17, 8);
    ferry_blake2b_256(t->hash, xt, len);
    return t->sender < NS;
}

static struct sim_tx *pool_find(struct sim *sim, const uint8_t hash[32])
{
    for (size_t i = 0; i < sim->npool; i++)
        if (!memcmp(sim->pool[i].hash, hash, 32))
            return &sim->pool[i];
    return NULL;
}

static void pool_remove(struct sim *sim, size_t i)
{
    sim->pool[i] = sim->pool[--sim->npool];
}

static bool tx_valid_now(const struct sim *sim, const struct sim_tx *t)
{
    return t->nonce >= sim->acct_nonce && sim->best < t->death && t->seq >= sim->ingress[t->sender];
}

/* One block: include ready transactions in nonce order, then drop the invalid ones. */
static void sim_block(struct sim *sim)
{
    sim->best++;
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; i < sim->npool; i++) {
            struct sim_tx *t = &sim->pool[i];
            if (t->nonce == sim->acct_nonce && t->birth <= sim->best && sim->best < t->death &&
                t->seq == sim->ingress[t->sender]) {
                sim->exec[t->sender][t->seq]++;
                sim->acct_nonce++;
                sim->ingress[t->sender]++;
                pool_remove(sim, i);
                again = true;
                break;
            }
        }
    }
    for (size_t i = 0; i < sim->npool;)
        if (!tx_valid_now(sim, &sim->pool[i]))
            pool_remove(sim, i);
        else
            i++;
    ck_assert_uint_lt(sim->best, MAXB);
    memcpy(sim->hist[sim->best], sim->ingress, sizeof sim->ingress);
}

static bool dead(struct sim *sim)
{
    long n = sim->calls++;
    return sim->die_at >= 0 && n >= sim->die_at;
}

static ferry_err c_ingress(void *user, const uint8_t *sender, size_t len, bool finalized,
                           uint64_t *next, struct ferry_reason *why)
{
    struct sim *sim = user;
    if (dead(sim))
        return ferry_reason_set(why, FERRY_E_NET, "dead");
    int s = sender_index(sender, len);
    ck_assert_int_ge(s, 0);
    uint32_t at = finalized ? (sim->best > FIN_LAG ? sim->best - FIN_LAG : 0) : sim->best;
    *next = at <= 10 ? 0 : sim->hist[at][s];
    return FERRY_OK;
}

static ferry_err c_best(void *user, uint32_t *n, struct ferry_reason *why)
{
    struct sim *sim = user;
    if (dead(sim))
        return ferry_reason_set(why, FERRY_E_NET, "dead");
    *n = sim->best;
    return FERRY_OK;
}

static ferry_err c_nonce(void *user, bool pool, uint64_t *nonce, struct ferry_reason *why)
{
    struct sim *sim = user;
    if (dead(sim))
        return ferry_reason_set(why, FERRY_E_NET, "dead");
    uint64_t n = sim->acct_nonce;
    for (bool found = pool; found;) {
        found = false;
        for (size_t i = 0; i < sim->npool; i++)
            if (sim->pool[i].nonce == n) {
                n++;
                found = true;
            }
    }
    *nonce = n;
    return FERRY_OK;
}

static ferry_err c_in_pool(void *user, const uint8_t hash[32], bool *present,
                           struct ferry_reason *why)
{
    struct sim *sim = user;
    if (dead(sim))
        return ferry_reason_set(why, FERRY_E_NET, "dead");
    *present = pool_find(sim, hash) != NULL;
    return FERRY_OK;
}

static ferry_err c_sign(void *user, const uint8_t *payload, size_t len, uint64_t nonce,
                        uint8_t **xt, size_t *xt_len, uint8_t hash[32], uint32_t *birth,
                        uint32_t *death, struct ferry_reason *why)
{
    struct sim *sim = user;
    if (dead(sim))
        return ferry_reason_set(why, FERRY_E_NET, "dead");
    size_t slen;
    uint64_t seq;
    ck_assert_int_eq(ferry_signed_message_id(payload, len, &slen, &seq), FERRY_OK);
    int s = sender_index(payload, slen);
    ck_assert_int_ge(s, 0);
    *birth = sim->best;
    *death = sim->best + PERIOD;
    *xt_len = 25 + len;
    *xt = malloc(*xt_len);
    memcpy(*xt, &nonce, 8);
    memcpy(*xt + 8, birth, 4);
    memcpy(*xt + 12, death, 4);
    (*xt)[16] = (uint8_t)s;
    memcpy(*xt + 17, &seq, 8);
    memcpy(*xt + 25, payload, len);
    ferry_blake2b_256(hash, *xt, *xt_len);
    return FERRY_OK;
}

static ferry_err c_submit(void *user, const uint8_t *xt, size_t len, enum ferry_submit_verdict *v,
                          struct ferry_reason *why)
{
    struct sim *sim = user;
    long call = sim->calls;
    if (dead(sim))
        return ferry_reason_set(why, FERRY_E_NET, "dead");
    if (call == sim->drop_at) {
        *v = FERRY_SUBMIT_UNKNOWN;
        return FERRY_OK;
    }
    struct sim_tx t;
    ck_assert(parse_xt(xt, len, &t));
    bool banned = false;
    for (int i = 0; i < sim->nbanned; i++)
        banned |= !memcmp(sim->banned[i], t.hash, 32);
    if (banned)
        *v = FERRY_SUBMIT_REJECTED;
    else if (pool_find(sim, t.hash))
        *v = FERRY_SUBMIT_ACCEPTED; /* already imported */
    else if (t.nonce < sim->acct_nonce)
        *v = FERRY_SUBMIT_STALE_NONCE;
    else if (sim->best >= t.death)
        *v = FERRY_SUBMIT_OUTDATED;
    else if (t.seq < sim->ingress[t.sender])
        *v = FERRY_SUBMIT_STALE_SEQ;
    else {
        *v = FERRY_SUBMIT_ACCEPTED;
        for (size_t i = 0; i < sim->npool; i++) {
            if (sim->pool[i].nonce == t.nonce)
                *v = FERRY_SUBMIT_REJECTED; /* priority too low to replace */
            if (sim->pool[i].sender == t.sender && sim->pool[i].seq == t.seq)
                sim->violations++; /* two live transactions for one message */
        }
        if (*v == FERRY_SUBMIT_ACCEPTED) {
            ck_assert_uint_lt(sim->npool, MAX_POOL);
            sim->pool[sim->npool++] = t;
        }
    }
    if (call == sim->lose_reply_at)
        *v = FERRY_SUBMIT_UNKNOWN;
    return FERRY_OK;
}

static struct ferry_egress_chain chain_of(struct sim *sim)
{
    struct ferry_egress_chain c = {sim, c_ingress, c_best, c_nonce, c_in_pool, c_sign, c_submit};
    return c;
}

/* ---- the worker's messages ----------------------------------------------------------------------
 */

static void put_signed_message(struct ferry_scale_writer *w, int s, uint64_t seq)
{
    ferry_scale_put_bytes(w, sender_id[s], 33);
    ferry_scale_put_byte_vec(w, "topic", 5);
    char body[32];
    int n = snprintf(body, sizeof body, "reply %d/%llu", s, (unsigned long long)seq);
    ferry_scale_put_byte_vec(w, body, (size_t)n);
    ferry_scale_put_u64(w, seq);
    uint8_t sig[64];
    memset(sig, (int)seq, sizeof sig);
    ferry_scale_put_byte_vec(w, sig, sizeof sig);
}

/* Vec<(origin, Vec<SignedMessage>)> with messages [from, to) of every sender. */
static uint8_t *batch(uint64_t from, uint64_t to, size_t *len)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_compact(&w, NS);
    for (int s = 0; s < NS; s++) {
        ferry_scale_put_bytes(&w, sender_id[s], 33);
        ferry_scale_put_compact(&w, to - from);
        for (uint64_t q = from; q < to; q++)
            put_signed_message(&w, s, q);
    }
    return ferry_scale_writer_take(&w, len);
}

static char path[256];

static void tmp_db(void)
{
    snprintf(path, sizeof path, "/tmp/ferry-egress-test-%d.db", (int)getpid());
    char side[300];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static struct ferry_outbox *open_db(void)
{
    struct ferry_outbox *ob;
    ck_assert_int_eq(ferry_outbox_open(path, &ob, NULL), FERRY_OK);
    return ob;
}

static void offer(struct ferry_outbox *ob, uint64_t from, uint64_t to)
{
    size_t len, added;
    uint8_t *b = batch(from, to, &len);
    struct ferry_reason why = {{0}};
    ck_assert_msg(ferry_egress_offer(ob, b, len, &added, &why) == FERRY_OK, "%s", why.text);
    free(b);
}

/* Rounds and blocks until every message is finalized (or a bound). */
static void run_until_done(struct ferry_outbox *ob, struct sim *sim, uint64_t n_msgs,
                           const struct ferry_egress_limits *lim)
{
    for (int i = 0; i < 400; i++) {
        struct ferry_egress_chain c = chain_of(sim);
        struct ferry_egress_stats st;
        struct ferry_reason why = {{0}};
        ferry_err err = ferry_egress_round(ob, &c, lim, &st, &why);
        ck_assert_msg(err == FERRY_OK || err == FERRY_E_RETRY || err == FERRY_E_NET, "round: %s",
                      why.text);
        uint64_t counts[FERRY_OUTBOX_STATES];
        ck_assert_int_eq(ferry_outbox_counts(ob, counts, NULL), FERRY_OK);
        if (counts[FERRY_OUTBOX_FINALIZED] == NS * n_msgs)
            return;
        sim_block(sim);
    }
    ck_abort_msg("messages not all finalized after 400 blocks");
}

static void assert_exactly_once(const struct sim *sim, uint64_t n_msgs)
{
    for (int s = 0; s < NS; s++) {
        ck_assert_uint_eq(sim->ingress[s], n_msgs);
        for (uint64_t q = 0; q < n_msgs; q++)
            ck_assert_msg(sim->exec[s][q] == 1, "sender %d message %llu executed %d times", s,
                          (unsigned long long)q, sim->exec[s][q]);
    }
    ck_assert_int_eq(sim->violations, 0);
}

START_TEST(messages_reach_the_chain_once_each_in_order)
{
    init_senders();
    tmp_db();
    struct sim sim;
    sim_init(&sim);
    struct ferry_outbox *ob = open_db();
    offer(ob, 0, 10);
    offer(ob, 0, 12); /* the worker repeats its queue until the chain has it */
    struct ferry_egress_limits lim = {4, 200};
    run_until_done(ob, &sim, 12, &lim);
    assert_exactly_once(&sim, 12);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

START_TEST(a_crash_after_any_chain_call_neither_loses_nor_duplicates)
{
    init_senders();
    const uint64_t n = 6;
    /* measure the number of chain calls of an undisturbed run */
    long total;
    {
        tmp_db();
        struct sim sim;
        sim_init(&sim);
        struct ferry_outbox *ob = open_db();
        offer(ob, 0, n);
        struct ferry_egress_limits lim = {3, 200};
        run_until_done(ob, &sim, n, &lim);
        total = sim.calls;
        ferry_outbox_close(ob);
    }
    ck_assert_int_gt(total, 20);
    for (long k = 0; k <= total; k++) {
        tmp_db();
        struct sim sim;
        sim_init(&sim);
        struct ferry_outbox *ob = open_db();
        offer(ob, 0, n);
        struct ferry_egress_limits lim = {3, 200};
        sim.die_at = k;
        /* run until the process "dies", producing blocks meanwhile */
        for (int i = 0; i < 40 && sim.calls < k; i++) {
            struct ferry_egress_chain c = chain_of(&sim);
            if (ferry_egress_round(ob, &c, &lim, NULL, NULL))
                break;
            sim_block(&sim);
        }
        ferry_outbox_close(ob); /* every state change was committed: this is kill -9 */
        sim.die_at = -1;
        sim_block(&sim);
        ob = open_db();
        offer(ob, 0, n); /* the restarted worker hands over its queue again */
        run_until_done(ob, &sim, n, &lim);
        assert_exactly_once(&sim, n);
        ferry_outbox_close(ob);
    }
    tmp_db();
}
END_TEST

START_TEST(a_lost_reply_or_lost_submission_is_resolved_with_the_same_bytes)
{
    init_senders();
    for (long at = 0; at < 60; at += 3) {
        for (int mode = 0; mode < 2; mode++) {
            tmp_db();
            struct sim sim;
            sim_init(&sim);
            if (mode)
                sim.lose_reply_at = at;
            else
                sim.drop_at = at;
            struct ferry_outbox *ob = open_db();
            offer(ob, 0, 5);
            struct ferry_egress_limits lim = {8, 200};
            run_until_done(ob, &sim, 5, &lim);
            assert_exactly_once(&sim, 5);
            ferry_outbox_close(ob);
        }
    }
    tmp_db();
}
END_TEST

START_TEST(an_emptied_pool_and_expired_eras_are_repaired_without_gaps)
{
    init_senders();
    tmp_db();
    struct sim sim;
    sim_init(&sim);
    struct ferry_outbox *ob = open_db();
    offer(ob, 0, 4);
    struct ferry_egress_limits lim = {16, 200};
    struct ferry_egress_chain c = chain_of(&sim);
    struct ferry_egress_stats st;
    ck_assert_int_eq(ferry_egress_round(ob, &c, &lim, &st, NULL), FERRY_OK);
    ck_assert_uint_eq(st.submitted, 8);
    /* the node restarts: its pool is gone, and the relayer is away for longer than an era */
    sim.npool = 0;
    for (int i = 0; i < PERIOD + 1; i++)
        sim_block(&sim);
    ck_assert_uint_eq(sim.ingress[0], 0);
    ck_assert_int_eq(ferry_egress_round(ob, &c, &lim, &st, NULL), FERRY_OK);
    ck_assert_uint_eq(st.expired, 8);
    ck_assert_uint_eq(st.submitted, 8); /* signed again, with the same nonces */
    struct ferry_outbox_msg *v;
    size_t n;
    ck_assert_int_eq(ferry_outbox_list(ob, FERRY_OUTBOX_INFLIGHT, 100, &v, &n, NULL), FERRY_OK);
    ck_assert_uint_eq(n, 8);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_ge(v[i].nonce, 3);
        ck_assert_uint_lt(v[i].nonce, 11);
        ck_assert_uint_eq(v[i].attempts, 2);
    }
    ferry_outbox_msgs_free(v, n);
    run_until_done(ob, &sim, 4, &lim);
    assert_exactly_once(&sim, 4);
    /* nothing else used the account: its nonce advanced by exactly the messages */
    ck_assert_uint_eq(sim.acct_nonce, 3 + 8);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

START_TEST(a_pool_drop_within_the_era_rebroadcasts_instead_of_resigning)
{
    init_senders();
    tmp_db();
    struct sim sim;
    sim_init(&sim);
    struct ferry_outbox *ob = open_db();
    offer(ob, 0, 2);
    struct ferry_egress_chain c = chain_of(&sim);
    struct ferry_egress_stats st;
    ck_assert_int_eq(ferry_egress_round(ob, &c, NULL, &st, NULL), FERRY_OK);
    sim.npool = 0;
    ck_assert_int_eq(ferry_egress_round(ob, &c, NULL, &st, NULL), FERRY_OK);
    ck_assert_uint_eq(st.rebroadcast, 4);
    ck_assert_uint_eq(st.submitted, 0);
    ck_assert_uint_eq(st.expired, 0);
    run_until_done(ob, &sim, 2, NULL);
    assert_exactly_once(&sim, 2);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

START_TEST(an_expired_message_takes_its_own_nonce_back_so_later_ones_are_not_stuck)
{
    init_senders();
    tmp_db();
    struct sim sim;
    sim_init(&sim);
    struct ferry_outbox *ob = open_db();
    offer(ob, 0, 1);
    struct ferry_egress_chain c = chain_of(&sim);
    struct ferry_egress_stats st;
    ck_assert_int_eq(ferry_egress_round(ob, &c, NULL, &st, NULL), FERRY_OK);
    ck_assert_uint_eq(st.submitted, 2); /* nonces 3 and 4 */
    /* the node drops both and bans their hashes: they cannot come back */
    for (size_t i = 0; i < sim.npool; i++)
        memcpy(sim.banned[sim.nbanned++], sim.pool[i].hash, 32);
    sim.npool = 0;
    sim_block(&sim);
    sim_block(&sim);
    offer(ob, 1, 4);
    ck_assert_int_eq(ferry_egress_round(ob, &c, NULL, &st, NULL), FERRY_OK);
    ck_assert_uint_eq(st.submitted, 6); /* nonces 5..10, waiting for 3 and 4 */
    ck_assert_uint_eq(st.rejected, 2);
    while (sim.best < 10 + PERIOD)
        sim_block(&sim);
    ck_assert_uint_eq(sim.ingress[0], 0);
    ck_assert_int_eq(ferry_egress_round(ob, &c, NULL, &st, NULL), FERRY_OK);
    ck_assert_uint_eq(st.expired, 2);
    ck_assert_uint_eq(st.submitted, 2);
    sim_block(&sim); /* nonces 3..10 are all there: everything goes in at once */
    ck_assert_uint_eq(sim.ingress[0], 4);
    ck_assert_uint_eq(sim.ingress[1], 4);
    ck_assert_uint_eq(sim.acct_nonce, 11);
    run_until_done(ob, &sim, 4, NULL);
    assert_exactly_once(&sim, 4);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

START_TEST(limits_bound_what_is_in_flight)
{
    init_senders();
    tmp_db();
    struct sim sim;
    sim_init(&sim);
    struct ferry_outbox *ob = open_db();
    offer(ob, 0, 10);
    struct ferry_egress_chain c = chain_of(&sim);
    struct ferry_egress_limits lim = {5, 3};
    struct ferry_egress_stats st;
    ck_assert_int_eq(ferry_egress_round(ob, &c, &lim, &st, NULL), FERRY_OK);
    ck_assert_uint_eq(st.submitted, 3);
    ck_assert_int_eq(ferry_egress_round(ob, &c, &lim, &st, NULL), FERRY_OK);
    ck_assert_uint_eq(st.submitted, 2); /* 5 in flight */
    ck_assert_uint_eq(st.inflight, 5);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

START_TEST(offer_refuses_malformed_batches_whole)
{
    init_senders();
    tmp_db();
    struct ferry_outbox *ob = open_db();
    size_t len, added = 99;
    uint8_t *b = batch(0, 3, &len);
    struct ferry_reason why = {{0}};
    /* truncated */
    ck_assert_int_ne(ferry_egress_offer(ob, b, len - 1, &added, &why), FERRY_OK);
    ck_assert_uint_eq(added, 0);
    ck_assert_ptr_nonnull(strstr(why.text, "egress messages"));
    /* a message whose sender is not its group's */
    b[1 + 33 + 1 + 1] ^= 0x01;
    ck_assert_int_eq(ferry_egress_offer(ob, b, len, &added, &why), FERRY_E_INVALID);
    b[1 + 33 + 1 + 1] ^= 0x01;
    /* trailing bytes */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, b, len);
    longer[len] = 0;
    ck_assert_int_eq(ferry_egress_offer(ob, longer, len + 1, &added, &why), FERRY_E_TRAILING);
    free(longer);
    uint64_t counts[FERRY_OUTBOX_STATES];
    ck_assert_int_eq(ferry_outbox_counts(ob, counts, NULL), FERRY_OK);
    ck_assert_uint_eq(counts[FERRY_OUTBOX_PENDING], 0);
    ck_assert_int_eq(ferry_egress_offer(ob, b, len, &added, &why), FERRY_OK);
    ck_assert_uint_eq(added, 6);
    free(b);
    /* an empty batch is fine */
    ck_assert_int_eq(ferry_egress_offer(ob, (const uint8_t *)"\x00", 1, &added, &why), FERRY_OK);
    ferry_outbox_close(ob);
    tmp_db();
}
END_TEST

Suite *egress_suite(void)
{
    Suite *s = suite_create("egress");
    TCase *tc = tcase_create("exactly once");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, messages_reach_the_chain_once_each_in_order);
    tcase_add_test(tc, a_crash_after_any_chain_call_neither_loses_nor_duplicates);
    tcase_add_test(tc, a_lost_reply_or_lost_submission_is_resolved_with_the_same_bytes);
    tcase_add_test(tc, an_emptied_pool_and_expired_eras_are_repaired_without_gaps);
    tcase_add_test(tc, a_pool_drop_within_the_era_rebroadcasts_instead_of_resigning);
    tcase_add_test(tc, an_expired_message_takes_its_own_nonce_back_so_later_ones_are_not_stuck);
    tcase_add_test(tc, limits_bound_what_is_in_flight);
    tcase_add_test(tc, offer_refuses_malformed_batches_whole);
    suite_add_tcase(s, tc);
    return s;
}
