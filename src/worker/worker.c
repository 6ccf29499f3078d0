/* ferry — the worker (worker.h): light validation through lc, read proofs of the few keys it
 * needs, the echo service, egress signing and sealed state. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ferry/hash.h"
#include "ferry/header.h"
#include "ferry/lc.h"
#include "ferry/msgcrypt.h"
#include "ferry/scale.h"
#include "ferry/sr25519.h"
#include "ferry/trie.h"
#include "ferry/worker.h"
#include "ferry/workerapi.h"

#define STATE_VERSION     1
#define STATE_FILE        "state.sealed"
#define LOCK_FILE         "lock"
#define SEAL_MAGIC        "FERRYWS\x01"
#define SEAL_MAGIC_LEN    8
#define KEEP_ROOTS        0 /* lc default (65536): headers may run far ahead of dispatch */
#define WORKER_VERSION    ((0u << 16) | (1u << 8) | 0u) /* ferry 0.1.0, as compat_app_version */
#define MAX_CONSENSUS_VER 0u                            /* pRuntime's MAX_SUPPORTED_CONSENSUS */
#define MAX_QUOTE         (64u * 1024)
#define MIN_HEADER_LEN    (32 + 1 + 32 + 32 + 1)

static const uint8_t SIGNING_CTX[] = "substrate";

struct egress_msg {
    uint64_t seq;
    uint8_t *enc; /* SCALE SignedMessage */
    size_t len;
    bool fresh; /* signed by the DispatchBlocks call in progress (never sealed) */
};

/* Everything sealed. */
struct wstate {
    struct ferry_sr25519_keypair identity, ecdh;
    bool debug_key;
    bool initialized;
    bool parachain;
    uint32_t para_id;
    bool has_operator;
    uint8_t operator_id[32];
    uint8_t provider; /* enum ferry_worker_attestation chosen at init */
    uint32_t genesis_block;
    uint8_t genesis_hash[32];
    struct ferry_lc *lc;
    bool para_started; /* a para header was imported: next_block is meaningful */
    uint32_t next_block;
    bool has_root;
    uint8_t last_root[32];
    bool registered;
    uint64_t chain_seq; /* last proven OffchainIngress value */
    uint64_t next_seq;  /* sequence of the next egress message */
    struct egress_msg *egress;
    size_t n_egress, cap_egress;
    struct ferry_worker_counters counters;
};

struct ferry_worker {
    struct ferry_worker_config cfg;
    char *data_dir;
    char *attestation_dir;
    int lock_fd;
    bool dirty;         /* changed since the last seal */
    bool must_seal;     /* ... in a way the next ferry_worker_seal must write (see worker.h) */
    uint64_t sealed_at; /* monotonic ms of the last seal */
    struct wstate s;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Progress the chain can bring back (headers, block numbers, confirmations): sealed at most
 * every seal_interval_ms. */
static void changed(struct ferry_worker *w)
{
    w->dirty = true;
}

/* Identity, registration, InitRuntime, operator, newly signed egress: sealed before the
 * request returns. */
static void changed_must_seal(struct ferry_worker *w)
{
    w->dirty = true;
    w->must_seal = true;
}

/* ---- state serialisation ------------------------------------------------------------------------
 */

static void wstate_free(struct wstate *s)
{
    ferry_lc_free(s->lc);
    for (size_t i = 0; i < s->n_egress; i++)
        free(s->egress[i].enc);
    free(s->egress);
    sodium_memzero(s, sizeof *s);
}

static void put_bytes(struct ferry_scale_writer *w, const uint8_t *p, size_t n)
{
    ferry_scale_put_bytes(w, p, n);
}

static void put_vec(struct ferry_scale_writer *w, const uint8_t *p, size_t n)
{
    ferry_scale_put_byte_vec(w, p, n);
}

static void wstate_encode(const struct wstate *s, struct ferry_scale_writer *w)
{
    ferry_scale_put_u8(w, STATE_VERSION);
    put_bytes(w, s->identity.secret, sizeof s->identity.secret);
    put_bytes(w, s->identity.public_key, 32);
    put_bytes(w, s->ecdh.secret, sizeof s->ecdh.secret);
    put_bytes(w, s->ecdh.public_key, 32);
    ferry_scale_put_bool(w, s->debug_key);
    const struct ferry_worker_counters *c = &s->counters;
    uint64_t cs[8] = {c->headers_synced,   c->para_headers_synced, c->blocks_dispatched,
                      c->ingress_messages, c->ingress_handled,     c->ingress_undecryptable,
                      c->egress_queued,    c->egress_confirmed};
    for (int i = 0; i < 8; i++)
        ferry_scale_put_u64(w, cs[i]);
    ferry_scale_put_bool(w, s->initialized);
    if (!s->initialized)
        return;
    ferry_scale_put_bool(w, s->parachain);
    ferry_scale_put_u32(w, s->para_id);
    ferry_scale_put_bool(w, s->has_operator);
    if (s->has_operator)
        put_bytes(w, s->operator_id, 32);
    ferry_scale_put_u8(w, s->provider);
    ferry_scale_put_u32(w, s->genesis_block);
    put_bytes(w, s->genesis_hash, 32);
    struct ferry_scale_writer lw;
    ferry_scale_writer_init(&lw);
    ferry_lc_encode(s->lc, &lw);
    if (lw.oom)
        w->oom = true;
    put_vec(w, lw.buf, lw.len);
    ferry_scale_writer_free(&lw);
    ferry_scale_put_bool(w, s->para_started);
    ferry_scale_put_u32(w, s->next_block);
    ferry_scale_put_bool(w, s->has_root);
    if (s->has_root)
        put_bytes(w, s->last_root, 32);
    ferry_scale_put_bool(w, s->registered);
    ferry_scale_put_u64(w, s->chain_seq);
    ferry_scale_put_u64(w, s->next_seq);
    ferry_scale_put_compact(w, s->n_egress);
    for (size_t i = 0; i < s->n_egress; i++) {
        ferry_scale_put_u64(w, s->egress[i].seq);
        put_vec(w, s->egress[i].enc, s->egress[i].len);
    }
}

static ferry_err wstate_decode(struct wstate *s, const uint8_t *buf, size_t len,
                               struct ferry_reason *why)
{
    memset(s, 0, sizeof *s);
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, buf, len);
    uint8_t ver = 0;
    ferry_scale_u8(&r, &ver);
    if (!r.err && ver != STATE_VERSION)
        return ferry_reason_set(why, FERRY_E_UNSUPPORTED, "state version %u is not supported", ver);
    ferry_scale_copy(&r, s->identity.secret, sizeof s->identity.secret);
    ferry_scale_copy(&r, s->identity.public_key, 32);
    ferry_scale_copy(&r, s->ecdh.secret, sizeof s->ecdh.secret);
    ferry_scale_copy(&r, s->ecdh.public_key, 32);
    ferry_scale_bool(&r, &s->debug_key);
    uint64_t cs[8] = {0};
    for (int i = 0; i < 8; i++)
        ferry_scale_u64(&r, &cs[i]);
    struct ferry_worker_counters *c = &s->counters;
    c->headers_synced = cs[0];
    c->para_headers_synced = cs[1];
    c->blocks_dispatched = cs[2];
    c->ingress_messages = cs[3];
    c->ingress_handled = cs[4];
    c->ingress_undecryptable = cs[5];
    c->egress_queued = cs[6];
    c->egress_confirmed = cs[7];
    ferry_scale_bool(&r, &s->initialized);
    ferry_err err = FERRY_OK;
    if (!r.err && s->initialized) {
        ferry_scale_bool(&r, &s->parachain);
        ferry_scale_u32(&r, &s->para_id);
        ferry_scale_bool(&r, &s->has_operator);
        if (s->has_operator)
            ferry_scale_copy(&r, s->operator_id, 32);
        ferry_scale_u8(&r, &s->provider);
        ferry_scale_u32(&r, &s->genesis_block);
        ferry_scale_copy(&r, s->genesis_hash, 32);
        const uint8_t *lcb = NULL;
        size_t lcl = 0;
        if (ferry_scale_byte_vec(&r, &lcb, &lcl) == FERRY_OK) {
            err = ferry_lc_decode(&s->lc, lcb, lcl, why);
            if (err) {
                wstate_free(s);
                return ferry_reason_prefix(why, err, "light-client state: ");
            }
        }
        ferry_scale_bool(&r, &s->para_started);
        ferry_scale_u32(&r, &s->next_block);
        ferry_scale_bool(&r, &s->has_root);
        if (s->has_root)
            ferry_scale_copy(&r, s->last_root, 32);
        ferry_scale_bool(&r, &s->registered);
        ferry_scale_u64(&r, &s->chain_seq);
        ferry_scale_u64(&r, &s->next_seq);
        size_t n = 0;
        if (ferry_scale_vec_len(&r, 9, &n) == FERRY_OK && n) {
            s->egress = calloc(n, sizeof *s->egress);
            if (!s->egress) {
                wstate_free(s);
                return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
            }
            s->cap_egress = n;
            for (size_t i = 0; i < n && !r.err; i++) {
                const uint8_t *p = NULL;
                size_t pl = 0;
                ferry_scale_u64(&r, &s->egress[i].seq);
                if (ferry_scale_byte_vec(&r, &p, &pl))
                    break;
                s->egress[i].enc = malloc(pl ? pl : 1);
                if (!s->egress[i].enc) {
                    wstate_free(s);
                    return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
                }
                memcpy(s->egress[i].enc, p, pl);
                s->egress[i].len = pl;
                s->n_egress = i + 1;
            }
        }
    }
    err = ferry_scale_finish(&r);
    if (err) {
        char d[128];
        ferry_scale_describe(&r, d, sizeof d);
        wstate_free(s);
        return ferry_reason_set(why, err, "state does not decode: %s", d);
    }
    return FERRY_OK;
}

static ferry_err wstate_to_bytes(const struct wstate *s, uint8_t **out, size_t *len)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    wstate_encode(s, &w);
    if (ferry_scale_writer_error(&w)) {
        ferry_scale_writer_free(&w);
        return FERRY_E_NOMEM;
    }
    *out = ferry_scale_writer_take(&w, len);
    return *out ? FERRY_OK : FERRY_E_NOMEM;
}

ferry_err ferry_worker_state(const struct ferry_worker *w, uint8_t **out, size_t *len)
{
    return wstate_to_bytes(&w->s, out, len);
}

/* ---- files: seal key, lock, sealed state
 * ---------------------------------------------------------- */

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ferry_err ferry_worker_read_seal_key(const char *path, uint8_t key[32], struct ferry_reason *why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ferry_reason_set(why, FERRY_E_IO, "seal key file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ferry_reason_set(why, FERRY_E_IO, "seal key file %s is not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return ferry_reason_set(why, FERRY_E_STATE,
                                "seal key file %s has mode %04o: it must be 0600 (chmod 600)", path,
                                (unsigned)(st.st_mode & 07777));
    }
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return ferry_reason_set(why, FERRY_E_IO, "seal key file %s: %s", path, strerror(errno));
    buf[n] = 0;
    char *p = buf;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    size_t i = 0;
    for (; i < 32; i++) {
        int hi = hexval((unsigned char)p[2 * i]),
            lo = hi < 0 ? -1 : hexval((unsigned char)p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            break;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    char *rest = p + 2 * i;
    while (i == 32 && (*rest == ' ' || *rest == '\t' || *rest == '\n' || *rest == '\r'))
        rest++;
    if (i != 32 || *rest) {
        sodium_memzero(buf, sizeof buf);
        sodium_memzero(key, 32);
        return ferry_reason_set(
            why, FERRY_E_HEX, "seal key file %s must hold exactly 64 hex digits (32 bytes)", path);
    }
    sodium_memzero(buf, sizeof buf);
    return FERRY_OK;
}

static ferry_err write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return FERRY_E_IO;
        }
        p += k;
        n -= (size_t)k;
    }
    return FERRY_OK;
}

static ferry_err seal_write(struct ferry_worker *w, struct ferry_reason *why)
{
    uint8_t *plain = NULL;
    size_t plen = 0;
    if (wstate_to_bytes(&w->s, &plain, &plen))
        return ferry_reason_set(why, FERRY_E_NOMEM, "sealing: out of memory");
    size_t total = SEAL_MAGIC_LEN + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plen +
                   crypto_aead_xchacha20poly1305_ietf_ABYTES;
    uint8_t *out = malloc(total);
    if (!out) {
        sodium_memzero(plain, plen);
        free(plain);
        return ferry_reason_set(why, FERRY_E_NOMEM, "sealing: out of memory");
    }
    memcpy(out, SEAL_MAGIC, SEAL_MAGIC_LEN);
    uint8_t *nonce = out + SEAL_MAGIC_LEN;
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                               &clen, plain, plen, out, SEAL_MAGIC_LEN, NULL, nonce,
                                               w->cfg.seal_key);
    sodium_memzero(plain, plen);
    free(plain);

    char *path = path_join(w->data_dir, STATE_FILE);
    char *tmp = path_join(w->data_dir, STATE_FILE ".tmp");
    ferry_err err = FERRY_OK;
    int fd = -1;
    if (!path || !tmp) {
        err = ferry_reason_set(why, FERRY_E_NOMEM, "sealing: out of memory");
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, out, total) || fsync(fd) != 0) {
        err =
            ferry_reason_set(why, FERRY_E_IO, "sealing: cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        goto done;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        err = ferry_reason_set(why, FERRY_E_IO, "sealing: cannot rename %s: %s", tmp,
                               strerror(errno));
        unlink(tmp);
        goto done;
    }
    int dfd = open(w->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0)
            err = ferry_reason_set(why, FERRY_E_IO, "sealing: fsync of %s: %s", w->data_dir,
                                   strerror(errno));
        close(dfd);
    }
done:
    free(out);
    free(path);
    free(tmp);
    return err;
}

ferry_err ferry_worker_flush(struct ferry_worker *w, struct ferry_reason *why)
{
    if (!w->dirty || !w->data_dir)
        return FERRY_OK;
    ferry_err err = seal_write(w, why);
    if (!err) {
        w->dirty = false;
        w->must_seal = false;
        w->sealed_at = now_ms();
    }
    return err;
}

ferry_err ferry_worker_seal(struct ferry_worker *w, struct ferry_reason *why)
{
    if (!w->dirty || !w->data_dir)
        return FERRY_OK;
    if (!w->must_seal && w->cfg.seal_interval_ms &&
        now_ms() - w->sealed_at < w->cfg.seal_interval_ms)
        return FERRY_OK;
    return ferry_worker_flush(w, why);
}

/* Read and open the sealed state. Returns FERRY_E_NOT_FOUND when there is none. */
static ferry_err seal_read(struct ferry_worker *w, struct ferry_reason *why)
{
    char *path = path_join(w->data_dir, STATE_FILE);
    if (!path)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(path);
        if (e == ENOENT)
            return FERRY_E_NOT_FOUND;
        return ferry_reason_set(why, FERRY_E_IO, "cannot open the sealed state: %s", strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)(1u << 30)) {
        close(fd);
        ferry_err e = ferry_reason_set(why, FERRY_E_IO, "%s is not a plausible state file", path);
        free(path);
        return e;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    size_t got = 0;
    while (buf && got < size) {
        ssize_t k = read(fd, buf + got, size - got);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t)k;
    }
    close(fd);
    if (!buf || got != size) {
        free(buf);
        ferry_err e = ferry_reason_set(why, buf ? FERRY_E_IO : FERRY_E_NOMEM,
                                       "cannot read the sealed state %s", path);
        free(path);
        return e;
    }
    const size_t hdr = SEAL_MAGIC_LEN + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    ferry_err err = FERRY_OK;
    uint8_t *plain = NULL;
    if (size < hdr + crypto_aead_xchacha20poly1305_ietf_ABYTES) {
        err = ferry_reason_set(why, FERRY_E_VERIFY,
                               "refusing the sealed state %s: truncated (%zu bytes)", path, size);
    } else if (memcmp(buf, SEAL_MAGIC, SEAL_MAGIC_LEN - 1) != 0) {
        err = ferry_reason_set(why, FERRY_E_VERIFY, "refusing %s: not a ferry-worker state file",
                               path);
    } else if (buf[SEAL_MAGIC_LEN - 1] != (uint8_t)SEAL_MAGIC[SEAL_MAGIC_LEN - 1]) {
        err = ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                               "refusing %s: sealed-state format %u is not supported", path,
                               buf[SEAL_MAGIC_LEN - 1]);
    } else {
        size_t clen = size - hdr;
        plain = malloc(clen);
        unsigned long long plen = 0;
        if (!plain) {
            err = ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
        } else if (crypto_aead_xchacha20poly1305_ietf_decrypt(
                       plain, &plen, NULL, buf + hdr, clen, buf, SEAL_MAGIC_LEN,
                       buf + SEAL_MAGIC_LEN, w->cfg.seal_key) != 0) {
            err = ferry_reason_set(why, FERRY_E_VERIFY,
                                   "refusing the sealed state %s: it does not open under this "
                                   "seal key (altered, truncated, or sealed with another key)",
                                   path);
        } else {
            err = wstate_decode(&w->s, plain, (size_t)plen, why);
            if (err)
                err = ferry_reason_prefix(why, err == FERRY_E_NOMEM ? err : FERRY_E_VERIFY,
                                          "refusing the sealed state %s: ", path);
            sodium_memzero(plain, (size_t)plen);
        }
    }
    free(plain);
    free(buf);
    free(path);
    return err;
}

static void new_keypair(struct ferry_sr25519_keypair *kp)
{
    uint8_t mini[32];
    randombytes_buf(mini, sizeof mini);
    ferry_sr25519_from_mini_secret(kp, mini);
    sodium_memzero(mini, sizeof mini);
}

/* Release the lock and everything the worker holds, wiping its secrets. */
static void worker_free(struct ferry_worker *w)
{
    if (w->lock_fd >= 0)
        close(w->lock_fd);
    wstate_free(&w->s);
    free(w->data_dir);
    free(w->attestation_dir);
    sodium_memzero(w, sizeof *w);
    free(w);
}

ferry_err ferry_worker_open(struct ferry_worker **out, const struct ferry_worker_config *cfg,
                            struct ferry_reason *why)
{
    *out = NULL;
    if (sodium_init() < 0)
        return ferry_reason_set(why, FERRY_E_UNSUPPORTED, "libsodium cannot initialise");
    struct ferry_worker *w = calloc(1, sizeof *w);
    if (!w)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    w->cfg = *cfg;
    w->lock_fd = -1;
    const char *adir = cfg->attestation_dir ? cfg->attestation_dir : "/dev/attestation";
    w->attestation_dir = strdup(adir);
    if (!w->attestation_dir) {
        free(w);
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    }
    w->cfg.attestation_dir = w->attestation_dir;
    ferry_err err = FERRY_OK;
    if (cfg->data_dir) {
        w->data_dir = strdup(cfg->data_dir);
        if (!w->data_dir) {
            err = ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
            goto fail;
        }
        w->cfg.data_dir = w->data_dir;
        if (mkdir(w->data_dir, 0700) != 0 && errno != EEXIST) {
            err = ferry_reason_set(why, FERRY_E_IO, "cannot create data dir %s: %s", w->data_dir,
                                   strerror(errno));
            goto fail;
        }
        char *lp = path_join(w->data_dir, LOCK_FILE);
        if (!lp) {
            err = ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
            goto fail;
        }
        w->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        free(lp);
        if (w->lock_fd < 0) {
            err = ferry_reason_set(why, FERRY_E_IO, "cannot open the lock file in %s: %s",
                                   w->data_dir, strerror(errno));
            goto fail;
        }
        if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            err = ferry_reason_set(why, FERRY_E_STATE,
                                   "data dir %s is in use by another ferry-worker (lock held)",
                                   w->data_dir);
            goto fail;
        }
        char pid[32];
        int pl = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(w->lock_fd, 0) == 0 && pl > 0)
            (void)!write(w->lock_fd, pid, (size_t)pl);
        err = seal_read(w, why);
        w->sealed_at = now_ms();
        if (err == FERRY_OK) {
            *out = w;
            return FERRY_OK;
        }
        if (err != FERRY_E_NOT_FOUND)
            goto fail;
    }
    new_keypair(&w->s.identity);
    new_keypair(&w->s.ecdh);
    changed_must_seal(w);
    err = ferry_worker_flush(w, why);
    if (err)
        goto fail;
    *out = w;
    return FERRY_OK;
fail:
    worker_free(w);
    return err;
}

ferry_err ferry_worker_close(struct ferry_worker *w, struct ferry_reason *why)
{
    if (!w)
        return FERRY_OK;
    ferry_err err = ferry_worker_flush(w, why);
    worker_free(w);
    return err;
}

/* ---- decoding helpers
 * ---------------------------------------------------------------------------- */

static ferry_err scale_error(struct ferry_scale_reader *r, ferry_err err, struct ferry_reason *why,
                             const char *what)
{
    char d[128];
    ferry_scale_describe(r, d, sizeof d);
    return ferry_reason_set(why, err ? err : FERRY_E_INVALID, "%s: %s", what, d);
}

/* Read a Vec<Vec<u8>> of proof nodes into a proof. */
static ferry_err read_proof(struct ferry_scale_reader *r, struct ferry_trie_proof **out)
{
    *out = NULL;
    size_t n = 0;
    ferry_err err = ferry_scale_vec_len(r, 1, &n);
    if (err)
        return err;
    const uint8_t **nodes = calloc(n ? n : 1, sizeof *nodes);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    if (!nodes || !lens) {
        free(nodes);
        free(lens);
        return FERRY_E_NOMEM;
    }
    for (size_t i = 0; i < n && !err; i++)
        err = ferry_scale_byte_vec(r, &nodes[i], &lens[i]);
    if (!err)
        err = ferry_trie_proof_build(nodes, lens, n, out);
    free(nodes);
    free(lens);
    return err;
}

/* ---- InitRuntime
 * ----------------------------------------------------------------------------------- */

ferry_err ferry_worker_init_runtime(struct ferry_worker *w, const struct ferry_worker_init *in,
                                    struct ferry_reason *why)
{
    if (w->s.initialized)
        return ferry_reason_set(why, FERRY_E_STATE, "the runtime is already initialised");
    if (in->genesis_state_len)
        return ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                                "encoded_genesis_state must be empty: ferry-worker reads chain "
                                "state through DispatchBlocks read proofs");
    if (in->debug_set_key && in->debug_set_key_len != 32)
        return ferry_reason_set(why, FERRY_E_INVALID, "debug_set_key must be 32 bytes, not %zu",
                                in->debug_set_key_len);
    if (in->debug_set_key && w->cfg.attestation != FERRY_WORKER_ATTEST_NONE)
        return ferry_reason_set(why, FERRY_E_STATE,
                                "debug_set_key is refused with a remote-attestation provider");
    if (in->operator_id && in->operator_len != 32)
        return ferry_reason_set(why, FERRY_E_INVALID, "encoded_operator must be 32 bytes, not %zu",
                                in->operator_len);
    /* attestation_provider: absent = none; Dcap (2) = gramine. */
    if (in->provider && in->provider_len) {
        if (in->provider_len != 1 || in->provider[0] > 2)
            return ferry_reason_set(why, FERRY_E_INVALID,
                                    "attestation_provider is not a SCALE AttestationProvider");
        if (in->provider[0] != 2 || w->cfg.attestation != FERRY_WORKER_ATTEST_GRAMINE)
            return ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                                    "attestation provider %u requested, but this worker runs "
                                    "with --attestation %s",
                                    in->provider[0],
                                    w->cfg.attestation == FERRY_WORKER_ATTEST_GRAMINE ? "gramine"
                                                                                      : "none");
    } else if (w->cfg.attestation != FERRY_WORKER_ATTEST_NONE) {
        return ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                                "no attestation provider requested, but this worker runs with "
                                "--attestation gramine (send Dcap = 0x02)");
    }

    /* GenesisBlockInfo = Header ‖ AuthoritySet{Vec<(id, u64)>, u64 id} ‖ Vec<Vec<u8>> proof */
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, in->genesis_info, in->genesis_info_len);
    struct ferry_header h = {0};
    struct ferry_authority *list = NULL;
    struct ferry_trie_proof *proof = NULL;
    struct ferry_lc *lc = NULL;
    struct ferry_authority_set set = {0};
    ferry_err err = ferry_header_read(&r, &h);
    size_t n = 0;
    uint64_t set_id = 0;
    if (!err)
        err = ferry_scale_vec_len(&r, 40, &n);
    if (!err) {
        list = calloc(n ? n : 1, sizeof *list);
        if (!list)
            return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n && !err; i++) {
            err = ferry_scale_copy(&r, list[i].id, 32);
            if (!err)
                err = ferry_scale_u64(&r, &list[i].weight);
        }
    }
    if (!err)
        err = ferry_scale_u64(&r, &set_id);
    if (!err)
        err = read_proof(&r, &proof);
    if (!err)
        err = ferry_scale_finish(&r);
    if (err) {
        if (err == FERRY_E_NOMEM)
            ferry_reason_set(why, err, "out of memory");
        else
            scale_error(&r, err, why, "encoded_genesis_info is not a GenesisBlockInfo");
        goto out;
    }
    if (n == 0) {
        err = ferry_reason_set(why, FERRY_E_INVALID, "the authority set is empty");
        goto out;
    }

    struct ferry_lc_config cfg = {.parachain = in->is_parachain,
                                  .para_id = in->para_id,
                                  .accept_forced = false,
                                  .threads = 1,
                                  .keep_roots = KEEP_ROOTS};
    struct ferry_reason swhy = {""};
    err = ferry_authority_set_from_proof(&set, proof, h.state_root, h.number, h.hash, &swhy);
    if (err) {
        ferry_reason_set(why, err == FERRY_E_NOT_FOUND ? FERRY_E_INCOMPLETE : err,
                         "the authority-set proof does not verify against header %u's state "
                         "root: %s",
                         h.number, swhy.text[0] ? swhy.text : ferry_strerror(err));
        err = err == FERRY_E_NOT_FOUND ? FERRY_E_INCOMPLETE : err;
        goto out;
    }
    if (set.n_authorities != n || set.set_id != set_id) {
        err = ferry_reason_set(why, FERRY_E_VERIFY,
                               "the authority set in the request (%zu authorities, id %llu) is "
                               "not the proven one (%zu authorities, id %llu)",
                               n, (unsigned long long)set_id, set.n_authorities,
                               (unsigned long long)set.set_id);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (memcmp(set.authorities[i].id, list[i].id, 32) != 0 ||
            set.authorities[i].weight != list[i].weight) {
            err = ferry_reason_set(why, FERRY_E_VERIFY,
                                   "authority %zu in the request is not the proven one", i);
            goto out;
        }
    if (h.number == 0)
        err = ferry_lc_new_genesis(&lc, &cfg, &h, proof, why);
    else
        err = ferry_lc_new_checkpoint(&lc, &cfg, h.hash, &h, &set, why);
    if (err) {
        ferry_reason_prefix(why, err, "InitRuntime: ");
        goto out;
    }
    /* Commit. */
    if (in->debug_set_key) {
        ferry_sr25519_from_mini_secret(&w->s.identity, in->debug_set_key);
        w->s.debug_key = true;
    }
    w->s.lc = lc;
    lc = NULL;
    w->s.initialized = true;
    w->s.parachain = in->is_parachain;
    w->s.para_id = in->para_id;
    w->s.has_operator = in->operator_id != NULL;
    if (in->operator_id)
        memcpy(w->s.operator_id, in->operator_id, 32);
    w->s.provider = (uint8_t)w->cfg.attestation;
    w->s.genesis_block = h.number;
    memcpy(w->s.genesis_hash, h.hash, 32);
    w->s.para_started = false;
    w->s.next_block = in->is_parachain ? 1 : h.number + 1;
    changed_must_seal(w);
out:
    ferry_lc_free(lc);
    ferry_authority_set_free(&set);
    ferry_trie_proof_free(proof);
    free(list);
    ferry_header_free(&h);
    return err;
}

static ferry_err need_init(const struct ferry_worker *w, struct ferry_reason *why)
{
    if (!w->s.initialized)
        return ferry_reason_set(why, FERRY_E_STATE, "the runtime is not initialised (InitRuntime)");
    return FERRY_OK;
}

/* ---- SyncHeader
 * ------------------------------------------------------------------------------------- */

ferry_err ferry_worker_sync_header(struct ferry_worker *w, const uint8_t *encoded, size_t len,
                                   uint32_t *synced_to, struct ferry_reason *why)
{
    ferry_err err = need_init(w, why);
    if (err)
        return err;
    struct ferry_lc_status st;
    ferry_lc_status(w->s.lc, &st);
    uint32_t next = st.number + 1;
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, encoded, len);
    size_t n = 0;
    err = ferry_scale_vec_len(&r, MIN_HEADER_LEN + 1, &n);
    if (err)
        return scale_error(&r, err, why, "encoded_headers is not a Vec<HeaderToSync>");
    if (n == 0)
        return ferry_reason_set(why, FERRY_E_INVALID, "the header batch is empty");
    struct ferry_lc_batch *b = NULL;
    err = ferry_lc_batch_begin(w->s.lc, &b, why);
    if (err)
        return err;
    const uint8_t *just = NULL;
    size_t just_len = 0;
    bool has_just = false;
    uint32_t last = 0;
    for (size_t i = 0; i < n; i++) {
        struct ferry_header h = {0};
        err = ferry_header_read(&r, &h);
        bool present = false;
        if (!err)
            err = ferry_scale_option(&r, &present);
        if (!err && present)
            err = ferry_scale_byte_vec(&r, &just, &just_len);
        if (err) {
            ferry_header_free(&h);
            ferry_lc_batch_abort(b);
            return scale_error(&r, err, why, "encoded_headers is not a Vec<HeaderToSync>");
        }
        has_just = present;
        if (i == 0 && h.number != next) {
            uint32_t first = h.number;
            ferry_lc_batch_abort(b);
            ferry_header_free(&h);
            return ferry_reason_set(why, FERRY_E_STATE,
                                    "the batch starts at header %u, but the next expected "
                                    "header is %u",
                                    first, next);
        }
        err = ferry_lc_batch_add(b, &h, why);
        last = h.number;
        ferry_header_free(&h);
        if (err) {
            ferry_lc_batch_abort(b);
            return err;
        }
    }
    err = ferry_scale_finish(&r);
    if (err) {
        ferry_lc_batch_abort(b);
        return scale_error(&r, err, why, "encoded_headers");
    }
    if (!has_just) {
        ferry_lc_batch_abort(b);
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "the last header of the batch (%u) carries no justification", last);
    }
    struct ferry_lc_change ch;
    err = ferry_lc_batch_finish(b, just, just_len, &ch, NULL, why);
    if (err)
        return ferry_reason_prefix(why, err, "justification of header %u: ", last);
    w->s.counters.headers_synced += ch.finalized_count;
    changed(w);
    /* The relay roots a later SyncParaHeader or DispatchBlocks may still need. */
    if (w->s.parachain)
        ferry_lc_forget_below(w->s.lc, last > 64 ? last - 64 : 0, 0);
    *synced_to = last;
    return FERRY_OK;
}

/* ---- SyncParaHeader
 * --------------------------------------------------------------------------------- */

ferry_err ferry_worker_sync_para_header(struct ferry_worker *w, const uint8_t *encoded, size_t len,
                                        const uint8_t *const *proof_nodes, const size_t *proof_lens,
                                        size_t n_nodes, uint32_t *synced_to,
                                        struct ferry_reason *why)
{
    ferry_err err = need_init(w, why);
    if (err)
        return err;
    if (!w->s.parachain)
        return ferry_reason_set(why, FERRY_E_STATE,
                                "SyncParaHeader in solo mode (InitRuntime had is_parachain false)");
    struct ferry_lc_status st;
    ferry_lc_status(w->s.lc, &st);
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, encoded, len);
    size_t n = 0;
    err = ferry_scale_vec_len(&r, MIN_HEADER_LEN, &n);
    if (err)
        return scale_error(&r, err, why, "encoded_headers is not a Vec<Header>");
    struct ferry_header *hs = calloc(n ? n : 1, sizeof *hs);
    struct ferry_trie_proof *proof = NULL;
    if (!hs)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    size_t got = 0;
    for (; got < n && !err; got++)
        err = ferry_header_read(&r, &hs[got]);
    if (err)
        got--;
    if (!err)
        err = ferry_scale_finish(&r);
    if (err) {
        scale_error(&r, err, why, "encoded_headers is not a Vec<Header>");
        goto out;
    }
    uint32_t next = st.has_para ? st.para_number + 1 : 0;
    if (n && st.has_para && hs[0].number != next) {
        err = ferry_reason_set(why, FERRY_E_STATE,
                               "the batch starts at para header %u, but the next expected para "
                               "header is %u",
                               hs[0].number, next);
        goto out;
    }
    err = ferry_trie_proof_build(proof_nodes, proof_lens, n_nodes, &proof);
    if (err) {
        ferry_reason_set(why, err, "proof: %s", ferry_strerror(err));
        goto out;
    }
    struct ferry_lc_change ch;
    memset(&ch, 0, sizeof ch);
    err = ferry_lc_import_para(w->s.lc, st.number, proof, hs, n, &ch, why);
    if (err) {
        ferry_reason_prefix(why, err, "para headers at relay block %u: ", st.number);
        goto out;
    }
    struct ferry_lc_status st2;
    ferry_lc_status(w->s.lc, &st2);
    /* The first para import fixes where dispatch starts: sealed at once, like InitRuntime. */
    bool first_import = !w->s.para_started;
    if (first_import) {
        w->s.para_started = true;
        uint32_t first = n ? hs[0].number : st2.para_number;
        w->s.next_block = first > 1 ? first : 1;
    }
    w->s.counters.para_headers_synced += n;
    if (first_import)
        changed_must_seal(w);
    else
        changed(w);
    *synced_to = st2.para_number;
out:
    for (size_t i = 0; i < got; i++)
        ferry_header_free(&hs[i]);
    free(hs);
    ferry_trie_proof_free(proof);
    return err;
}

/* ---- messages
 * --------------------------------------------------------------------------------------- */

/* Skip a MessageOrigin. */
static ferry_err read_origin(struct ferry_scale_reader *r)
{
    static const uint8_t tags[] = {0, 1, 2, 3, 4, 5, 6, 255};
    uint8_t t = 0;
    ferry_err err = ferry_scale_enum(r, tags, sizeof tags, &t);
    const uint8_t *p;
    size_t l;
    if (err)
        return err;
    switch (t) {
    case 0:
    case 4:
        return ferry_scale_byte_vec(r, &p, &l);
    case 1:
    case 2:
    case 3:
    case 6:
        return ferry_scale_bytes(r, 32, &p);
    default:
        return FERRY_OK;
    }
}

static ferry_err egress_push(struct wstate *s, uint64_t seq, uint8_t *enc, size_t len)
{
    if (s->n_egress == s->cap_egress) {
        size_t cap = s->cap_egress ? 2 * s->cap_egress : 8;
        struct egress_msg *e = realloc(s->egress, cap * sizeof *e);
        if (!e)
            return FERRY_E_NOMEM;
        s->egress = e;
        s->cap_egress = cap;
    }
    s->egress[s->n_egress++] = (struct egress_msg){seq, enc, len, true};
    return FERRY_OK;
}

/* Answer one ingress payload with an echo reply (docs/messages.md's envelope). Returns
 * FERRY_E_VERIFY for an envelope that does not open (counted, not fatal), FERRY_E_NOMEM. */
static ferry_err echo(struct wstate *s, const uint8_t *payload, size_t len)
{
    if (len < FERRY_ENVELOPE_OVERHEAD)
        return FERRY_E_VERIFY;
    size_t cap = len - FERRY_ENVELOPE_OVERHEAD, plen = 0, env_len = 0;
    uint8_t *plain = malloc(cap ? cap : 1);
    uint8_t *reply = malloc(len);
    struct ferry_envelope_session ses;
    memset(&ses, 0, sizeof ses);
    ferry_err err = FERRY_E_NOMEM;
    if (!plain || !reply)
        goto out;
    err = ferry_envelope_open(&ses, plain, cap, &plen, &s->ecdh, payload, len, NULL);
    if (err) {
        err = FERRY_E_VERIFY;
        goto out;
    }
    err = ferry_envelope_seal_reply(&ses, reply, len, &env_len, plain, plen, NULL);
    if (err) {
        err = FERRY_E_NOMEM;
        goto out;
    }
    /* Message{sender: Worker(pk), destination: reply topic, payload: reply} */
    uint8_t topic[FERRY_WORKER_REPLY_TOPIC_LEN];
    ferry_worker_reply_topic(ses.ephemeral_public, topic);
    struct ferry_scale_writer mw;
    ferry_scale_writer_init(&mw);
    ferry_scale_put_u8(&mw, 0x02);
    put_bytes(&mw, s->identity.public_key, 32);
    put_vec(&mw, topic, sizeof topic);
    put_vec(&mw, reply, env_len);
    size_t msg_len = mw.len;
    uint64_t seq = s->next_seq;
    ferry_scale_put_u64(&mw, seq);
    uint8_t sig[FERRY_SR25519_SIGNATURE_LEN];
    err = FERRY_E_NOMEM;
    if (ferry_scale_writer_error(&mw) ||
        ferry_sr25519_sign(&s->identity, SIGNING_CTX, sizeof SIGNING_CTX - 1, mw.buf, msg_len + 8,
                           sig)) {
        ferry_scale_writer_free(&mw);
        goto out;
    }
    put_vec(&mw, sig, sizeof sig);
    size_t enc_len = 0;
    uint8_t *enc = ferry_scale_writer_take(&mw, &enc_len);
    if (!enc || egress_push(s, seq, enc, enc_len)) {
        free(enc);
        goto out;
    }
    s->next_seq++;
    s->counters.egress_queued++;
    err = FERRY_OK;
out:
    ferry_envelope_session_wipe(&ses);
    if (plain)
        sodium_memzero(plain, cap);
    free(plain);
    free(reply);
    return err;
}

/* What a DispatchBlocks call needs to undo itself without copying the light client, which
 * DispatchBlocks only reads (its roots are dropped after the call succeeded): the fields as they
 * were, the queue's entries as they were, and the entries the call took out of the queue (freed
 * only once it succeeded). Its cost is that of the egress queue, not of the retained roots. */
struct dispatch_undo {
    struct wstate saved;      /* shallow: saved.egress may be stale once the queue grew */
    struct egress_msg *queue; /* the queue's entries before the call (shallow copy) */
    struct egress_msg *gone;  /* entries confirmed during the call, not yet freed */
    size_t n_gone, cap_gone;
};

static ferry_err undo_begin(const struct wstate *s, struct dispatch_undo *u)
{
    memset(u, 0, sizeof *u);
    if (s->n_egress) {
        u->queue = malloc(s->n_egress * sizeof *u->queue);
        if (!u->queue)
            return FERRY_E_NOMEM;
        memcpy(u->queue, s->egress, s->n_egress * sizeof *u->queue);
    }
    u->saved = *s;
    return FERRY_OK;
}

static void undo_release(struct dispatch_undo *u)
{
    free(u->queue);
    free(u->gone);
    sodium_memzero(u, sizeof *u); /* saved holds a copy of the keys */
}

/* The call succeeded: free what it confirmed; its new entries are now ordinary ones. */
static void undo_commit(struct wstate *s, struct dispatch_undo *u)
{
    for (size_t i = 0; i < u->n_gone; i++)
        free(u->gone[i].enc);
    for (size_t i = 0; i < s->n_egress; i++)
        s->egress[i].fresh = false;
    undo_release(u);
}

/* The call failed: free what it signed, put the queue and the fields back. Allocates nothing. */
static void undo_abort(struct wstate *s, struct dispatch_undo *u)
{
    for (size_t i = 0; i < s->n_egress; i++)
        if (s->egress[i].fresh)
            free(s->egress[i].enc);
    for (size_t i = 0; i < u->n_gone; i++)
        if (u->gone[i].fresh)
            free(u->gone[i].enc);
    struct egress_msg *arr = s->egress; /* capacity only grows: it holds the old entries */
    size_t cap = s->cap_egress;
    *s = u->saved;
    s->egress = arr;
    s->cap_egress = cap;
    if (s->n_egress)
        memcpy(s->egress, u->queue, s->n_egress * sizeof *s->egress);
    undo_release(u);
}

/* Apply one block's proven values. Fails only on NOMEM (the caller then undoes the call). */
static ferry_err apply_block(struct wstate *s, struct dispatch_undo *u, const uint8_t *outbound,
                             size_t outbound_len, bool has_outbound, uint64_t ingress,
                             bool registered, struct ferry_reason *why)
{
    /* Egress the chain has accepted leaves the queue (kept in u->gone until the call ends). */
    size_t drop = 0;
    for (size_t i = 0; i < s->n_egress; i++)
        drop += s->egress[i].seq < ingress;
    if (drop && u->n_gone + drop > u->cap_gone) {
        size_t cap = u->n_gone + drop > 2 * u->cap_gone ? u->n_gone + drop : 2 * u->cap_gone;
        struct egress_msg *g = realloc(u->gone, cap * sizeof *g);
        if (!g)
            return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
        u->gone = g;
        u->cap_gone = cap;
    }
    size_t keep = 0;
    for (size_t i = 0; i < s->n_egress; i++) {
        if (s->egress[i].seq < ingress) {
            u->gone[u->n_gone++] = s->egress[i];
            s->counters.egress_confirmed++;
        } else {
            s->egress[keep++] = s->egress[i];
        }
    }
    s->n_egress = keep;
    s->chain_seq = ingress;
    if (s->next_seq < ingress)
        s->next_seq = ingress;
    s->registered = registered;
    if (!has_outbound)
        return FERRY_OK;
    uint8_t topic[FERRY_WORKER_TOPIC_LEN];
    ferry_worker_topic(s->identity.public_key, topic);
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, outbound, outbound_len);
    size_t n = 0;
    ferry_err err = ferry_scale_vec_len(&r, 3, &n);
    for (size_t i = 0; i < n && !err; i++) {
        const uint8_t *dest, *payload;
        size_t dl, pl;
        err = read_origin(&r);
        if (!err)
            err = ferry_scale_byte_vec(&r, &dest, &dl);
        if (!err)
            err = ferry_scale_byte_vec(&r, &payload, &pl);
        if (err)
            break;
        if (dl != sizeof topic || memcmp(dest, topic, dl) != 0)
            continue;
        s->counters.ingress_messages++;
        ferry_err e = echo(s, payload, pl);
        if (e == FERRY_E_NOMEM)
            return ferry_reason_set(why, e, "out of memory");
        if (e)
            s->counters.ingress_undecryptable++;
        else
            s->counters.ingress_handled++;
    }
    return FERRY_OK;
}

/* ---- DispatchBlocks
 * --------------------------------------------------------------------------------- */

ferry_err ferry_worker_dispatch_blocks(struct ferry_worker *w, const uint8_t *encoded, size_t len,
                                       uint32_t *synced_to, struct ferry_reason *why)
{
    ferry_err err = need_init(w, why);
    if (err)
        return err;
    if (w->s.parachain && !w->s.para_started)
        return ferry_reason_set(why, FERRY_E_STATE,
                                "no para header validated yet (SyncParaHeader first)");
    enum ferry_lc_chain chain = w->s.parachain ? FERRY_LC_PARA : FERRY_LC_RELAY;
    uint8_t keys[FERRY_WORKER_N_KEYS][FERRY_WORKER_KEY_MAX];
    size_t klens[FERRY_WORKER_N_KEYS];
    ferry_worker_dispatch_keys(w->s.identity.public_key, keys, klens);

    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, encoded, len);
    size_t n = 0;
    err = ferry_scale_vec_len(&r, 2, &n);
    if (err)
        return scale_error(&r, err, why, "encoded_blocks is not a Vec<BlockProof>");
    if (n == 0)
        return ferry_reason_set(why, FERRY_E_INVALID, "no blocks to dispatch");

    /* All or nothing: apply to the live state, undo on any failure. */
    struct dispatch_undo undo;
    if (undo_begin(&w->s, &undo))
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    uint32_t expect = w->s.next_block;
    for (size_t i = 0; i < n && !err; i++) {
        uint32_t number = 0;
        struct ferry_trie_proof *proof = NULL;
        err = ferry_scale_compact_u32(&r, &number);
        if (!err)
            err = read_proof(&r, &proof);
        if (err) {
            if (err == FERRY_E_NOMEM)
                ferry_reason_set(why, err, "out of memory");
            else
                scale_error(&r, err, why, "encoded_blocks is not a Vec<BlockProof>");
            break;
        }
        if (number != expect) {
            if (number < expect)
                err = ferry_reason_set(why, FERRY_E_STATE,
                                       "block %u is already dispatched (next expected %u)", number,
                                       expect);
            else
                err = ferry_reason_set(why, FERRY_E_STATE,
                                       "block %u skips ahead: the next expected block is %u",
                                       number, expect);
            ferry_trie_proof_free(proof);
            break;
        }
        const uint8_t *vals[FERRY_WORKER_N_KEYS] = {0};
        size_t vlens[FERRY_WORKER_N_KEYS] = {0};
        bool present[FERRY_WORKER_N_KEYS] = {0};
        static const char *names[] = {"PhalaMq.OutboundMessages", "PhalaMq.OffchainIngress",
                                      "PhalaRegistry.Workers"};
        for (int k = 0; k < FERRY_WORKER_N_KEYS && !err; k++) {
            ferry_err e = ferry_lc_read(w->s.lc, chain, number, proof, keys[k], klens[k], &vals[k],
                                        &vlens[k], why);
            if (e == FERRY_OK)
                present[k] = true;
            else if (e == FERRY_E_STATE)
                err = ferry_reason_set(
                    why, e, "block %u is not validated yet or no longer retained (%s)", number,
                    w->s.parachain ? "SyncParaHeader first" : "SyncHeader first");
            else if (e != FERRY_E_NOT_FOUND)
                err = ferry_reason_prefix(why, e, "block %u: %s: ", number, names[k]);
        }
        uint64_t ingress = 0;
        if (!err && present[1]) {
            struct ferry_scale_reader vr;
            ferry_scale_reader_init(&vr, vals[1], vlens[1]);
            ferry_scale_u64(&vr, &ingress);
            if (ferry_scale_finish(&vr))
                err = ferry_reason_set(why, FERRY_E_INVALID,
                                       "block %u: PhalaMq.OffchainIngress is not a u64", number);
        }
        if (!err && present[0]) {
            /* Validate the whole Vec<Message> before handling any of it. */
            struct ferry_scale_reader vr;
            ferry_scale_reader_init(&vr, vals[0], vlens[0]);
            size_t m = 0;
            ferry_err e = ferry_scale_vec_len(&vr, 3, &m);
            for (size_t j = 0; j < m && !e; j++) {
                const uint8_t *p;
                size_t l;
                e = read_origin(&vr);
                if (!e)
                    e = ferry_scale_byte_vec(&vr, &p, &l);
                if (!e)
                    e = ferry_scale_byte_vec(&vr, &p, &l);
            }
            if (!e)
                e = ferry_scale_finish(&vr);
            if (e)
                err = scale_error(&vr, e, why, "PhalaMq.OutboundMessages is not a Vec<Message>");
        }
        if (!err && ingress < w->s.chain_seq)
            err = ferry_reason_set(why, FERRY_E_VERIFY,
                                   "block %u: OffchainIngress went back from %llu to %llu", number,
                                   (unsigned long long)w->s.chain_seq, (unsigned long long)ingress);
        if (!err)
            err =
                apply_block(&w->s, &undo, vals[0], vlens[0], present[0], ingress, present[2], why);
        if (!err) {
            uint8_t root[32], hash[32];
            if (ferry_lc_state_root(w->s.lc, chain, number, root, hash) == FERRY_OK) {
                memcpy(w->s.last_root, root, 32);
                w->s.has_root = true;
            }
            w->s.next_block = ++expect;
            w->s.counters.blocks_dispatched++;
        }
        ferry_trie_proof_free(proof);
    }
    if (!err)
        err = ferry_scale_finish(&r)
                  ? scale_error(&r, ferry_scale_finish(&r), why, "encoded_blocks")
                  : FERRY_OK;
    if (err) {
        undo_abort(&w->s, &undo);
        return err;
    }
    /* New signed egress or a new registration status must be on disk before anyone sees it. */
    bool visible = w->s.counters.egress_queued != undo.saved.counters.egress_queued ||
                   w->s.registered != undo.saved.registered;
    undo_commit(&w->s, &undo);
    /* Roots below the next block are no longer needed for dispatch. */
    if (!w->s.parachain)
        ferry_lc_forget_below(w->s.lc, expect > 1 ? expect - 1 : 0, 0);
    else
        ferry_lc_forget_below(w->s.lc, 0, expect > 1 ? expect - 1 : 0);
    if (visible)
        changed_must_seal(w);
    else
        changed(w);
    *synced_to = expect - 1;
    return FERRY_OK;
}

/* ---- GetRuntimeInfo
 * ---------------------------------------------------------------------------------- */

static ferry_err gramine_quote(struct ferry_worker *w, const uint8_t report_data[64],
                               uint8_t **quote, size_t *qlen, struct ferry_reason *why)
{
    char *urd = path_join(w->attestation_dir, "user_report_data");
    char *qp = path_join(w->attestation_dir, "quote");
    ferry_err err = FERRY_OK;
    uint8_t *buf = NULL;
    if (!urd || !qp) {
        err = ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    int fd = open(urd, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, report_data, 64)) {
        err = ferry_reason_set(why, FERRY_E_IO, "attestation: cannot write %s: %s", urd,
                               strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    close(fd);
    fd = open(qp, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = ferry_reason_set(why, FERRY_E_IO, "attestation: cannot read %s: %s", qp,
                               strerror(errno));
        goto out;
    }
    buf = malloc(MAX_QUOTE);
    size_t got = 0;
    while (buf && got < MAX_QUOTE) {
        ssize_t k = read(fd, buf + got, MAX_QUOTE - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    if (!buf || got == 0 || got == MAX_QUOTE) {
        err = ferry_reason_set(why, buf ? FERRY_E_IO : FERRY_E_NOMEM,
                               "attestation: %s is empty, unreadable or over %u bytes", qp,
                               MAX_QUOTE);
        free(buf);
        buf = NULL;
        goto out;
    }
    *quote = buf;
    *qlen = got;
out:
    free(urd);
    free(qp);
    return err;
}

ferry_err ferry_worker_runtime_info(struct ferry_worker *w, bool with_attestation,
                                    const uint8_t *operator_id, size_t operator_len,
                                    struct ferry_worker_runtime_info *out, struct ferry_reason *why)
{
    memset(out, 0, sizeof *out);
    ferry_err err = need_init(w, why);
    if (err)
        return err;
    if (operator_id && operator_len != 32)
        return ferry_reason_set(why, FERRY_E_INVALID, "encoded_operator must be 32 bytes, not %zu",
                                operator_len);
    struct ferry_scale_writer iw;
    ferry_scale_writer_init(&iw);
    bool has_op = operator_id ? true : w->s.has_operator;
    const uint8_t *op = operator_id ? operator_id : w->s.operator_id;
    ferry_scale_put_u32(&iw, WORKER_VERSION);
    ferry_scale_put_compact(&iw, 0); /* machine_id: empty (no TEE machine) */
    put_bytes(&iw, w->s.identity.public_key, 32);
    put_bytes(&iw, w->s.ecdh.public_key, 32);
    put_bytes(&iw, w->s.genesis_hash, 32);
    ferry_scale_put_compact(&iw, 2); /* features: [cores, level] as pRuntime reports them */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    ferry_scale_put_u32(&iw, cores > 0 ? (uint32_t)cores : 1);
    ferry_scale_put_u32(&iw, 1);
    ferry_scale_put_bool(&iw, has_op);
    if (has_op)
        put_bytes(&iw, op, 32);
    ferry_scale_put_u32(&iw, w->s.para_id);
    ferry_scale_put_u32(&iw, MAX_CONSENSUS_VER);
    if (ferry_scale_writer_error(&iw)) {
        ferry_scale_writer_free(&iw);
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    }
    out->info = ferry_scale_writer_take(&iw, &out->info_len);
    memcpy(out->genesis_hash, w->s.genesis_hash, 32);
    memcpy(out->public_key, w->s.identity.public_key, 32);
    memcpy(out->ecdh_public_key, w->s.ecdh.public_key, 32);
    if (with_attestation) {
        struct ferry_scale_writer rw;
        ferry_scale_writer_init(&rw);
        if (w->cfg.attestation == FERRY_WORKER_ATTEST_NONE) {
            out->provider = "none";
            ferry_scale_put_u8(&rw, 0x00);
        } else {
            out->provider = "gramine";
            uint8_t rd[64] = {0};
            ferry_blake2b_256(rd, out->info, out->info_len);
            uint8_t *q = NULL;
            size_t ql = 0;
            err = gramine_quote(w, rd, &q, &ql, why);
            if (err) {
                ferry_scale_writer_free(&rw);
                ferry_worker_runtime_info_free(out);
                return err;
            }
            ferry_scale_put_u8(&rw, 0x01); /* Some */
            ferry_scale_put_u8(&rw, 0x01); /* AttestationReport::SgxDcap */
            put_vec(&rw, q, ql);
            ferry_scale_put_u8(&rw, 0x00); /* collateral: None (the relayer adds it) */
            free(q);
        }
        if (ferry_scale_writer_error(&rw)) {
            ferry_scale_writer_free(&rw);
            ferry_worker_runtime_info_free(out);
            return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
        }
        out->report = ferry_scale_writer_take(&rw, &out->report_len);
        out->has_attestation = true;
        out->timestamp = (uint64_t)time(NULL);
    }
    if (operator_id && (!w->s.has_operator || memcmp(w->s.operator_id, operator_id, 32) != 0)) {
        w->s.has_operator = true;
        memcpy(w->s.operator_id, operator_id, 32);
        changed_must_seal(w);
    }
    return FERRY_OK;
}

void ferry_worker_runtime_info_free(struct ferry_worker_runtime_info *ri)
{
    free(ri->info);
    free(ri->report);
    memset(ri, 0, sizeof *ri);
}

/* ---- GetEgressMessages / GetInfo
 * --------------------------------------------------------------------- */

ferry_err ferry_worker_egress(struct ferry_worker *w, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (w->must_seal && w->data_dir) {
        struct ferry_reason ignore;
        if (ferry_worker_flush(w, &ignore))
            return FERRY_E_IO;
    }
    struct ferry_scale_writer ew;
    ferry_scale_writer_init(&ew);
    if (w->s.n_egress == 0) {
        ferry_scale_put_compact(&ew, 0);
    } else {
        ferry_scale_put_compact(&ew, 1);
        ferry_scale_put_u8(&ew, 0x02);
        put_bytes(&ew, w->s.identity.public_key, 32);
        ferry_scale_put_compact(&ew, w->s.n_egress);
        for (size_t i = 0; i < w->s.n_egress; i++)
            put_bytes(&ew, w->s.egress[i].enc, w->s.egress[i].len);
    }
    if (ferry_scale_writer_error(&ew)) {
        ferry_scale_writer_free(&ew);
        return FERRY_E_NOMEM;
    }
    *out = ferry_scale_writer_take(&ew, len);
    return *out ? FERRY_OK : FERRY_E_NOMEM;
}

void ferry_worker_get_info(const struct ferry_worker *w, struct ferry_worker_info *info)
{
    memset(info, 0, sizeof *info);
    const struct wstate *s = &w->s;
    info->initialized = s->initialized;
    info->registered = s->registered;
    info->parachain = s->parachain;
    info->para_id = s->para_id;
    info->attestation = w->cfg.attestation;
    memcpy(info->public_key, s->identity.public_key, 32);
    memcpy(info->ecdh_public_key, s->ecdh.public_key, 32);
    info->pending_egress = s->n_egress;
    info->counters = s->counters;
    if (!s->initialized)
        return;
    struct ferry_lc_status st;
    ferry_lc_status(s->lc, &st);
    memcpy(info->genesis_hash, s->genesis_hash, 32);
    info->genesis_block = s->genesis_block;
    info->headernum = st.number + 1;
    info->para_headernum = st.has_para ? st.para_number + 1 : 0;
    info->blocknum = s->next_block;
    info->has_state_root = s->has_root;
    memcpy(info->state_root, s->last_root, 32);
    info->set_id = st.set_id;
    info->waiting_for_paraheaders = s->parachain && !st.has_para;
}
