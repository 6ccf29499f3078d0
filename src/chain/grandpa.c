/* GRANDPA justifications: the SCALE codec (justification, FinalityProof), voter sets and the
 * verification rules documented in include/ferry/grandpa.h.
 *
 * Verification runs in three passes. First every signature is checked — the only expensive part —
 * spread over worker threads when asked, each writing its own slice of a result array. Then the
 * structure is checked with hash-indexed ancestry walks that remember what they resolved, so a
 * hostile justification with many precommits and a long votes_ancestries chain still costs
 * O((precommits + headers) · log headers). Finally the votes are tallied per voter.
 */
#include <pthread.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/grandpa.h"
#include "ferry/hex.h"

/* Smallest encodings, used to bound Vec lengths before allocating. */
#define PRECOMMIT_SIZE  (32 + 4 + 64 + 32)
#define MIN_HEADER_SIZE (32 + 1 + 32 + 32 + 1)

/* ---- codec ----------------------------------------------------------------------------------- */

static ferry_err read_headers(struct ferry_scale_reader *r, struct ferry_header **out, size_t *n)
{
    size_t count;
    *out = NULL;
    *n = 0;
    if (ferry_scale_vec_len(r, MIN_HEADER_SIZE, &count))
        return r->err;
    if (count == 0)
        return FERRY_OK;
    struct ferry_header *hs = calloc(count, sizeof *hs);
    if (!hs)
        return ferry_scale_fail(r, FERRY_E_NOMEM, "out of memory for headers");
    for (size_t i = 0; i < count; i++) {
        if (ferry_header_read(r, &hs[i])) {
            for (size_t k = 0; k < i; k++)
                ferry_header_free(&hs[k]);
            free(hs);
            return r->err;
        }
    }
    *out = hs;
    *n = count;
    return FERRY_OK;
}

static void free_headers(struct ferry_header *hs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ferry_header_free(&hs[i]);
    free(hs);
}

ferry_err ferry_grandpa_justification_read(struct ferry_scale_reader *r,
                                           struct ferry_grandpa_justification *j)
{
    size_t count;
    memset(j, 0, sizeof *j);
    ferry_scale_u64(r, &j->round);
    ferry_scale_copy(r, j->target_hash, 32);
    ferry_scale_u32(r, &j->target_number);
    if (ferry_scale_vec_len(r, PRECOMMIT_SIZE, &count))
        return r->err;
    if (count) {
        j->precommits = calloc(count, sizeof *j->precommits);
        if (!j->precommits)
            return ferry_scale_fail(r, FERRY_E_NOMEM, "out of memory for precommits");
        j->n_precommits = count;
        for (size_t i = 0; i < count; i++) {
            struct ferry_grandpa_precommit *p = &j->precommits[i];
            ferry_scale_copy(r, p->target_hash, 32);
            ferry_scale_u32(r, &p->target_number);
            ferry_scale_copy(r, p->signature, 64);
            ferry_scale_copy(r, p->id, 32);
        }
    }
    if (!r->err)
        read_headers(r, &j->ancestries, &j->n_ancestries);
    if (r->err) {
        ferry_grandpa_justification_free(j);
        return r->err;
    }
    return FERRY_OK;
}

ferry_err ferry_grandpa_justification_decode(struct ferry_grandpa_justification *j,
                                             const uint8_t *buf, size_t len,
                                             struct ferry_scale_reader *diag)
{
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, buf, len);
    ferry_err err = ferry_grandpa_justification_read(&r, j);
    if (!err) {
        err = ferry_scale_finish(&r);
        if (err)
            ferry_grandpa_justification_free(j);
    }
    if (diag)
        *diag = r;
    return err;
}

void ferry_grandpa_justification_free(struct ferry_grandpa_justification *j)
{
    free(j->precommits);
    free_headers(j->ancestries, j->n_ancestries);
    memset(j, 0, sizeof *j);
}

void ferry_grandpa_justification_encode(const struct ferry_grandpa_justification *j,
                                        struct ferry_scale_writer *w)
{
    ferry_scale_put_u64(w, j->round);
    ferry_scale_put_bytes(w, j->target_hash, 32);
    ferry_scale_put_u32(w, j->target_number);
    ferry_scale_put_compact(w, j->n_precommits);
    for (size_t i = 0; i < j->n_precommits; i++) {
        const struct ferry_grandpa_precommit *p = &j->precommits[i];
        ferry_scale_put_bytes(w, p->target_hash, 32);
        ferry_scale_put_u32(w, p->target_number);
        ferry_scale_put_bytes(w, p->signature, 64);
        ferry_scale_put_bytes(w, p->id, 32);
    }
    ferry_scale_put_compact(w, j->n_ancestries);
    for (size_t i = 0; i < j->n_ancestries; i++) {
        const struct ferry_header *h = &j->ancestries[i];
        if (h->encoded) /* byte-exact: what was decoded is what gets hashed */
            ferry_scale_put_bytes(w, h->encoded, h->encoded_len);
        else
            ferry_header_encode(h, w);
    }
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void ferry_grandpa_precommit_payload(uint8_t out[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN],
                                     const uint8_t target_hash[32], uint32_t target_number,
                                     uint64_t round, uint64_t set_id)
{
    out[0] = 0x01; /* Message::Precommit */
    memcpy(out + 1, target_hash, 32);
    put_le(out + 33, target_number, 4);
    put_le(out + 37, round, 8);
    put_le(out + 45, set_id, 8);
}

ferry_err ferry_grandpa_finality_proof_decode(struct ferry_grandpa_finality_proof *p,
                                              const uint8_t *buf, size_t len,
                                              struct ferry_scale_reader *diag)
{
    struct ferry_scale_reader r;
    const uint8_t *just;
    memset(p, 0, sizeof *p);
    ferry_scale_reader_init(&r, buf, len);
    ferry_scale_copy(&r, p->block, 32);
    if (!ferry_scale_byte_vec(&r, &just, &p->justification_len)) {
        p->justification = malloc(p->justification_len ? p->justification_len : 1);
        if (!p->justification)
            ferry_scale_fail(&r, FERRY_E_NOMEM, "out of memory for justification");
        else if (p->justification_len)
            memcpy(p->justification, just, p->justification_len);
    }
    if (!r.err)
        read_headers(&r, &p->unknown_headers, &p->n_unknown_headers);
    ferry_err err = ferry_scale_finish(&r);
    if (err)
        ferry_grandpa_finality_proof_free(p);
    if (diag)
        *diag = r;
    return err;
}

void ferry_grandpa_finality_proof_free(struct ferry_grandpa_finality_proof *p)
{
    free(p->justification);
    free_headers(p->unknown_headers, p->n_unknown_headers);
    memset(p, 0, sizeof *p);
}

/* ---- voter sets ------------------------------------------------------------------------------ */

uint64_t ferry_grandpa_threshold(uint64_t total_weight)
{
    if (total_weight == 0)
        return 0;
    return total_weight - (total_weight - 1) / 3;
}

static int cmp_authority(const void *a, const void *b)
{
    return memcmp(((const struct ferry_authority *)a)->id, ((const struct ferry_authority *)b)->id,
                  32);
}

ferry_err ferry_voter_set_init(struct ferry_voter_set *vs, const struct ferry_authority *list,
                               size_t n)
{
    memset(vs, 0, sizeof *vs);
    struct ferry_authority *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return FERRY_E_NOMEM;
    size_t m = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (list[i].weight == 0)
            continue; /* VoterSet::new drops zero weights */
        if (total + list[i].weight < total) {
            free(v);
            return FERRY_E_OVERFLOW;
        }
        total += list[i].weight;
        v[m++] = list[i];
    }
    if (m == 0) {
        free(v);
        return FERRY_E_INVALID;
    }
    qsort(v, m, sizeof *v, cmp_authority);
    size_t out = 0;
    for (size_t i = 0; i < m; i++) {
        if (out && memcmp(v[out - 1].id, v[i].id, 32) == 0)
            v[out - 1].weight += v[i].weight; /* partial weights add up; total did not overflow */
        else
            v[out++] = v[i];
    }
    vs->voters = v;
    vs->n_voters = out;
    vs->total_weight = total;
    vs->threshold = ferry_grandpa_threshold(total);
    return FERRY_OK;
}

void ferry_voter_set_free(struct ferry_voter_set *vs)
{
    free(vs->voters);
    memset(vs, 0, sizeof *vs);
}

const struct ferry_authority *ferry_voter_set_find(const struct ferry_voter_set *vs,
                                                   const uint8_t id[32])
{
    struct ferry_authority key;
    memcpy(key.id, id, 32);
    return bsearch(&key, vs->voters, vs->n_voters, sizeof key, cmp_authority);
}

/* ---- signatures ------------------------------------------------------------------------------ */

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ready;

static void sodium_setup(void)
{
    sodium_ready = sodium_init() >= 0;
}

struct sig_job {
    const struct ferry_grandpa_precommit *pc;
    size_t begin, end;
    uint64_t round, set_id;
    uint8_t *ok;
};

static void *sig_worker(void *arg)
{
    struct sig_job *job = arg;
    uint8_t msg[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN];
    for (size_t i = job->begin; i < job->end; i++) {
        const struct ferry_grandpa_precommit *p = &job->pc[i];
        ferry_grandpa_precommit_payload(msg, p->target_hash, p->target_number, job->round,
                                        job->set_id);
        job->ok[i] = crypto_sign_verify_detached(p->signature, msg, sizeof msg, p->id) == 0;
    }
    return NULL;
}

#define MAX_THREADS 64
/* Fewer signatures than this per thread are checked on fewer threads: starting and joining a
 * thread (~30-60 us of CPU with its stack's page faults) would cost about as much as the
 * ~50 us verifications it takes over (a 4-voter justification: 4 signatures). */
#define MIN_SIGS_PER_THREAD 8

/* Check every signature; ok[i] = 1 when precommit i verifies. */
static void verify_signatures(const struct ferry_grandpa_justification *j, uint64_t set_id,
                              unsigned threads, uint8_t *ok)
{
    size_t n = j->n_precommits;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads < 1)
        threads = 1;
    size_t most = n / MIN_SIGS_PER_THREAD; /* threads with at least that many each */
    if (threads > most)
        threads = most ? (unsigned)most : 1;
    struct sig_job jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    bool started[MAX_THREADS] = {false};
    for (unsigned t = 0; t < threads; t++) {
        jobs[t] = (struct sig_job){.pc = j->precommits,
                                   .begin = n * t / threads,
                                   .end = n * (t + 1) / threads,
                                   .round = j->round,
                                   .set_id = set_id,
                                   .ok = ok};
    }
    for (unsigned t = 1; t < threads; t++)
        started[t] = pthread_create(&tids[t], NULL, sig_worker, &jobs[t]) == 0;
    sig_worker(&jobs[0]);
    for (unsigned t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tids[t], NULL);
        else
            sig_worker(&jobs[t]); /* could not start a thread: do its share here */
    }
}

/* ---- ancestry -------------------------------------------------------------------------------- */

/* votes_ancestries indexed by hash; duplicates collapse onto the first copy (Substrate keeps
 * them in a HashMap and compares sets). */
struct ancestry {
    const struct ferry_header *h;
    size_t n;
    size_t *order; /* indices of distinct headers sorted by hash */
    size_t n_order;
    size_t *stack; /* scratch for walks */
};

/* Order indices into the header array `base` by the headers' hashes (qsort_r: no shared state,
 * so concurrent verifications need no lock). */
static int cmp_header_idx(const void *a, const void *b, void *base)
{
    const struct ferry_header *h = base;
    return memcmp(h[*(const size_t *)a].hash, h[*(const size_t *)b].hash, 32);
}

static ferry_err ancestry_init(struct ancestry *a, const struct ferry_header *h, size_t n)
{
    memset(a, 0, sizeof *a);
    a->h = h;
    a->n = n;
    a->order = malloc((n ? n : 1) * sizeof *a->order);
    a->stack = malloc((n ? n : 1) * sizeof *a->stack);
    if (!a->order || !a->stack) {
        free(a->order);
        free(a->stack);
        return FERRY_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        a->order[i] = i;
    qsort_r(a->order, n, sizeof *a->order, cmp_header_idx, (void *)h);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && memcmp(h[a->order[m - 1]].hash, h[a->order[i]].hash, 32) == 0)
            continue;
        a->order[m++] = a->order[i];
    }
    a->n_order = m;
    return FERRY_OK;
}

static void ancestry_free(struct ancestry *a)
{
    free(a->order);
    free(a->stack);
}

/* Returns: the index of the header with this hash, or SIZE_MAX. */
static size_t ancestry_find(const struct ancestry *a, const uint8_t hash[32])
{
    size_t lo = 0, hi = a->n_order;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(a->h[a->order[mid]].hash, hash, 32);
        if (c == 0)
            return a->order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

enum { W_UNKNOWN = 0, W_PENDING, W_OK, W_FAIL };

/* Does `from` reach `root` by parent links through the ancestry (from != root)? Results are
 * remembered in state[] per header; top[] (when non-NULL) records, for every header that
 * reaches root, the header on its path whose parent is root. *via receives that header for
 * `from`. Each header is walked at most once per (root, state) pair. */
static bool ancestry_walk(struct ancestry *a, const uint8_t root[32], const uint8_t from[32],
                          uint8_t *state, size_t *top, size_t *via)
{
    size_t depth = 0, last = SIZE_MAX;
    const uint8_t *cur = from;
    int result;
    for (;;) {
        if (memcmp(cur, root, 32) == 0) {
            result = W_OK;
            last = depth ? a->stack[depth - 1] : SIZE_MAX;
            break;
        }
        size_t k = ancestry_find(a, cur);
        if (k == SIZE_MAX || state[k] == W_FAIL || state[k] == W_PENDING) {
            result = W_FAIL; /* missing header (or a cycle, which blake2b makes impossible) */
            break;
        }
        if (state[k] == W_OK) {
            result = W_OK;
            last = top ? top[k] : SIZE_MAX;
            break;
        }
        state[k] = W_PENDING;
        a->stack[depth++] = k;
        cur = a->h[k].parent_hash;
    }
    for (size_t i = 0; i < depth; i++) {
        state[a->stack[i]] = (uint8_t)result;
        if (top)
            top[a->stack[i]] = last;
    }
    if (via)
        *via = result == W_OK ? last : SIZE_MAX;
    return result == W_OK;
}

/* ---- verdicts -------------------------------------------------------------------------------- */

static const char *const reason_names[FERRY_GRANDPA_REASON__COUNT] = {
    [FERRY_GRANDPA_VALID] = "valid",
    [FERRY_GRANDPA_DECODE] = "decode",
    [FERRY_GRANDPA_TARGET_MISMATCH] = "commit_target_mismatch",
    [FERRY_GRANDPA_BAD_SIGNATURE] = "bad_signature",
    [FERRY_GRANDPA_NOT_DESCENDANT] = "precommit_not_descendant_of_target",
    [FERRY_GRANDPA_EQUIVOCATIONS] = "too_many_equivocations",
    [FERRY_GRANDPA_BELOW_THRESHOLD] = "below_threshold",
    [FERRY_GRANDPA_GHOST_BEYOND] = "ghost_beyond_target",
    [FERRY_GRANDPA_ANCESTRY_ROUTE] = "invalid_ancestry_route",
    [FERRY_GRANDPA_UNUSED_ANCESTRIES] = "unused_votes_ancestries",
    [FERRY_GRANDPA_NOMEM] = "out_of_memory",
};

const char *ferry_grandpa_reason_name(enum ferry_grandpa_reason r)
{
    if ((unsigned)r >= FERRY_GRANDPA_REASON__COUNT)
        return "unknown";
    return reason_names[r];
}

/* "0x1234abcd..": enough of a hash to find it again in a log. */
static const char *short_hex(const uint8_t *b, char out[16])
{
    snprintf(out, 16, "0x%02x%02x%02x%02x..", b[0], b[1], b[2], b[3]);
    return out;
}

__attribute__((format(printf, 4, 5))) static ferry_err reject(struct ferry_grandpa_verdict *v,
                                                              enum ferry_grandpa_reason reason,
                                                              size_t index, const char *fmt, ...)
{
    va_list ap;
    v->reason = reason;
    v->index = index;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof v->detail, fmt, ap);
    va_end(ap);
    return reason == FERRY_GRANDPA_NOMEM ? FERRY_E_NOMEM : FERRY_E_VERIFY;
}

static bool same_vote(const struct ferry_grandpa_precommit *a,
                      const struct ferry_grandpa_precommit *b)
{
    return a->target_number == b->target_number &&
           memcmp(a->target_hash, b->target_hash, 32) == 0 &&
           memcmp(a->signature, b->signature, 64) == 0;
}

/* ---- verification ---------------------------------------------------------------------------- */

struct scratch {
    uint8_t *sig_ok;    /* per precommit */
    uint8_t *st_target; /* per header: walk state towards the commit target */
    size_t *top;        /* per header: header on its path whose parent is the commit target */
    uint8_t *st_base;   /* per header: walk state towards the base (lowest precommit) */
    size_t *first;      /* per voter: index of its first precommit */
    size_t *second;     /* per voter: its equivocating precommit */
    uint64_t *child_w;  /* per header: non-equivocating weight through this child of target */
    uint8_t *child_on;  /* per header: some first vote passes through this child of target */
};

static void scratch_free(struct scratch *s)
{
    free(s->sig_ok);
    free(s->st_target);
    free(s->top);
    free(s->st_base);
    free(s->first);
    free(s->second);
    free(s->child_w);
    free(s->child_on);
}

static bool scratch_alloc(struct scratch *s, size_t np, size_t nh, size_t nv)
{
    memset(s, 0, sizeof *s);
    np = np ? np : 1;
    nh = nh ? nh : 1;
    s->sig_ok = calloc(np, 1);
    s->st_target = calloc(nh, 1);
    s->top = calloc(nh, sizeof *s->top);
    s->st_base = calloc(nh, 1);
    s->first = malloc(nv * sizeof *s->first);
    s->second = malloc(nv * sizeof *s->second);
    s->child_w = calloc(nh, sizeof *s->child_w);
    s->child_on = calloc(nh, 1);
    if (!s->sig_ok || !s->st_target || !s->top || !s->st_base || !s->first || !s->second ||
        !s->child_w || !s->child_on) {
        scratch_free(s);
        return false;
    }
    for (size_t i = 0; i < nv; i++)
        s->first[i] = s->second[i] = SIZE_MAX;
    return true;
}

/* Rule 3: every precommit is on the commit target or a descendant reachable through the
 * ancestry, with a number not below the target's. */
static ferry_err check_descendants(const struct ferry_grandpa_justification *j, struct ancestry *a,
                                   struct scratch *s, struct ferry_grandpa_verdict *v)
{
    char h1[16], h2[16];
    for (size_t i = 0; i < j->n_precommits; i++) {
        const struct ferry_grandpa_precommit *p = &j->precommits[i];
        if (p->target_number < j->target_number)
            return reject(v, FERRY_GRANDPA_NOT_DESCENDANT, i,
                          "precommit %zu targets #%u, below the commit target #%u", i,
                          p->target_number, j->target_number);
        if (memcmp(p->target_hash, j->target_hash, 32) == 0)
            continue;
        if (!ancestry_walk(a, j->target_hash, p->target_hash, s->st_target, s->top, NULL))
            return reject(v, FERRY_GRANDPA_NOT_DESCENDANT, i,
                          "precommit %zu targets #%u %s, which votes_ancestries does not link "
                          "to the commit target #%u %s",
                          i, p->target_number, short_hex(p->target_hash, h1), j->target_number,
                          short_hex(j->target_hash, h2));
    }
    return FERRY_OK;
}

/* Rules 4 and 5: tally weights per voter and check the threshold and the precommit-GHOST. */
static ferry_err tally(const struct ferry_grandpa_justification *j,
                       const struct ferry_voter_set *vs, const struct ancestry *a,
                       struct scratch *s, unsigned flags, struct ferry_grandpa_verdict *v)
{
    uint64_t weight = 0, equivocated = 0;
    for (size_t i = 0; i < j->n_precommits; i++) {
        const struct ferry_grandpa_precommit *p = &j->precommits[i];
        const struct ferry_authority *voter = ferry_voter_set_find(vs, p->id);
        if (!voter) {
            v->unknown++; /* Substrate: an "invalid voter", ignored */
            continue;
        }
        size_t vi = (size_t)(voter - vs->voters);
        if (s->first[vi] == SIZE_MAX) {
            s->first[vi] = i;
            weight += voter->weight;
            v->voters++;
        } else if (same_vote(&j->precommits[s->first[vi]], p) ||
                   (s->second[vi] != SIZE_MAX && same_vote(&j->precommits[s->second[vi]], p))) {
            v->duplicates++;
        } else if (s->second[vi] == SIZE_MAX) {
            s->second[vi] = i;
            v->equivocators++;
            equivocated += voter->weight;
        } else if (flags & FERRY_GRANDPA_STRICT_EQUIVOCATIONS) {
            char h[16];
            return reject(v, FERRY_GRANDPA_EQUIVOCATIONS, i,
                          "precommit %zu is a third distinct vote from voter %s, who already "
                          "equivocated at precommits %zu and %zu",
                          i, short_hex(p->id, h), s->first[vi], s->second[vi]);
        }
        /* else: finality-grandpa ignores votes after a voter's first equivocation */
    }
    v->weight = weight;
    if (weight < vs->threshold)
        return reject(v, FERRY_GRANDPA_BELOW_THRESHOLD, SIZE_MAX,
                      "weight %llu of %zu voters is below the threshold %llu of total %llu "
                      "(%zu unknown voters and %zu duplicates ignored)",
                      (unsigned long long)weight, v->voters, (unsigned long long)vs->threshold,
                      (unsigned long long)vs->total_weight, v->unknown, v->duplicates);

    /* The precommit-GHOST is the commit target unless some child of it (on the way to a first
     * vote: the vote graph holds first votes only) gathers the threshold on its own, counting
     * equivocators for every block. Weight only shrinks going up, so children suffice. */
    for (size_t vi = 0; vi < vs->n_voters; vi++) {
        if (s->first[vi] == SIZE_MAX)
            continue;
        const struct ferry_grandpa_precommit *p = &j->precommits[s->first[vi]];
        if (memcmp(p->target_hash, j->target_hash, 32) == 0)
            continue;
        size_t c = s->top[ancestry_find(a, p->target_hash)];
        s->child_on[c] = 1;
        if (s->second[vi] == SIZE_MAX)
            s->child_w[c] += vs->voters[vi].weight;
    }
    for (size_t c = 0; c < a->n; c++) {
        if (s->child_on[c] && s->child_w[c] + equivocated >= vs->threshold) {
            char h[16];
            return reject(v, FERRY_GRANDPA_GHOST_BEYOND, SIZE_MAX,
                          "block #%u %s, a descendant of the commit target, has weight %llu >= "
                          "threshold %llu: the precommit-GHOST is not the commit target",
                          a->h[c].number, short_hex(a->h[c].hash, h),
                          (unsigned long long)(s->child_w[c] + equivocated),
                          (unsigned long long)vs->threshold);
        }
    }
    return FERRY_OK;
}

/* Rule 6: routes from the lowest precommit to every other one use every ancestry header. */
static ferry_err check_routes(const struct ferry_grandpa_justification *j, struct ancestry *a,
                              struct scratch *s, struct ferry_grandpa_verdict *v)
{
    char h1[16], h2[16];
    size_t base = 0;
    for (size_t i = 1; i < j->n_precommits; i++)
        if (j->precommits[i].target_number < j->precommits[base].target_number)
            base = i;
    const uint8_t *base_hash = j->n_precommits ? j->precommits[base].target_hash : j->target_hash;
    for (size_t i = 0; i < j->n_precommits; i++) {
        const struct ferry_grandpa_precommit *p = &j->precommits[i];
        if (memcmp(p->target_hash, base_hash, 32) == 0)
            continue;
        if (!ancestry_walk(a, base_hash, p->target_hash, s->st_base, NULL, NULL))
            return reject(v, FERRY_GRANDPA_ANCESTRY_ROUTE, i,
                          "precommit %zu target %s does not reach the lowest precommit target "
                          "%s (precommit %zu) through votes_ancestries",
                          i, short_hex(p->target_hash, h1), short_hex(base_hash, h2), base);
    }
    for (size_t k = 0; k < a->n_order; k++) {
        size_t i = a->order[k];
        if (s->st_base[i] != W_OK)
            return reject(v, FERRY_GRANDPA_UNUSED_ANCESTRIES, i,
                          "votes_ancestries header %zu (#%u %s) is on no route between "
                          "precommit targets",
                          i, a->h[i].number, short_hex(a->h[i].hash, h1));
    }
    return FERRY_OK;
}

ferry_err ferry_grandpa_verify(const struct ferry_grandpa_justification *j,
                               const struct ferry_voter_set *vs, uint64_t set_id,
                               const struct ferry_grandpa_verify_opts *opts,
                               struct ferry_grandpa_verdict *v)
{
    static const struct ferry_grandpa_verify_opts defaults;
    char h1[16], h2[16];
    if (!opts)
        opts = &defaults;
    memset(v, 0, sizeof *v);
    v->index = SIZE_MAX;
    v->threshold = vs->threshold;

    /* Rule 1. */
    if ((opts->flags & FERRY_GRANDPA_CHECK_TARGET) &&
        (j->target_number != opts->expected_number ||
         memcmp(j->target_hash, opts->expected_hash, 32) != 0)) {
        char got[67], want[67];
        return reject(v, FERRY_GRANDPA_TARGET_MISMATCH, SIZE_MAX,
                      "the justification commits to #%u %s, not the expected #%u %s",
                      j->target_number, ferry_hex_encode(j->target_hash, 32, got),
                      opts->expected_number, ferry_hex_encode(opts->expected_hash, 32, want));
    }

    pthread_once(&sodium_once, sodium_setup);
    if (!sodium_ready)
        return reject(v, FERRY_GRANDPA_NOMEM, SIZE_MAX, "libsodium failed to initialise");

    struct scratch s;
    struct ancestry a;
    if (!scratch_alloc(&s, j->n_precommits, j->n_ancestries, vs->n_voters))
        return reject(v, FERRY_GRANDPA_NOMEM, SIZE_MAX, "out of memory");
    if (ancestry_init(&a, j->ancestries, j->n_ancestries)) {
        scratch_free(&s);
        return reject(v, FERRY_GRANDPA_NOMEM, SIZE_MAX, "out of memory");
    }

    /* Rule 2, all signatures first. */
    ferry_err err = FERRY_OK;
    verify_signatures(j, set_id, opts->threads, s.sig_ok);
    for (size_t i = 0; i < j->n_precommits && !err; i++) {
        if (s.sig_ok[i]) {
            v->signatures++;
            continue;
        }
        const struct ferry_grandpa_precommit *p = &j->precommits[i];
        err = reject(v, FERRY_GRANDPA_BAD_SIGNATURE, i,
                     "precommit %zu by %s for #%u %s has a bad signature for round %llu, "
                     "set_id %llu",
                     i, short_hex(p->id, h1), p->target_number, short_hex(p->target_hash, h2),
                     (unsigned long long)j->round, (unsigned long long)set_id);
    }
    if (!err)
        err = check_descendants(j, &a, &s, v);
    if (!err)
        err = tally(j, vs, &a, &s, opts->flags, v);
    if (!err)
        err = check_routes(j, &a, &s, v);
    if (!err)
        snprintf(v->detail, sizeof v->detail,
                 "#%u finalized by weight %llu of %zu voters (threshold %llu)", j->target_number,
                 (unsigned long long)v->weight, v->voters, (unsigned long long)vs->threshold);
    ancestry_free(&a);
    scratch_free(&s);
    return err;
}

ferry_err ferry_grandpa_verify_encoded(const uint8_t *buf, size_t len,
                                       const struct ferry_voter_set *vs, uint64_t set_id,
                                       const struct ferry_grandpa_verify_opts *opts,
                                       struct ferry_grandpa_verdict *v, uint8_t target_hash[32],
                                       uint32_t *target_number)
{
    struct ferry_grandpa_justification j;
    struct ferry_scale_reader diag;
    if (target_hash)
        memset(target_hash, 0, 32);
    if (target_number)
        *target_number = 0;
    ferry_err err = ferry_grandpa_justification_decode(&j, buf, len, &diag);
    if (err == FERRY_E_NOMEM) {
        memset(v, 0, sizeof *v);
        v->index = SIZE_MAX;
        return reject(v, FERRY_GRANDPA_NOMEM, SIZE_MAX, "out of memory while decoding");
    }
    if (err) {
        char why[120];
        memset(v, 0, sizeof *v);
        v->threshold = vs->threshold;
        return reject(v, FERRY_GRANDPA_DECODE, SIZE_MAX, "not a justification: %s",
                      ferry_scale_describe(&diag, why, sizeof why));
    }
    if (target_hash)
        memcpy(target_hash, j.target_hash, 32);
    if (target_number)
        *target_number = j.target_number;
    err = ferry_grandpa_verify(&j, vs, set_id, opts, v);
    ferry_grandpa_justification_free(&j);
    return err;
}
