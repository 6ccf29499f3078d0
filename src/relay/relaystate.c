/* ferry relay's persisted light-client state (relay.h): `<data_dir>/lc.state`, replaced
 * atomically, bound to the chain's genesis hash. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ferry/hex.h"
#include "ferry/lc.h"
#include "ferry/relay.h"
#include "ferry/scale.h"

#define STATE_FILE    "lc.state"
#define STATE_TMP     "lc.state.tmp"
#define STATE_MAGIC   "FRLC"
#define STATE_VERSION 1
#define STATE_HEAD    (4 + 1 + 32)
/* Two chains of 65 536 retained roots (64 bytes each) and a large authority set are well under
 * this; anything larger is not a state this version wrote. */
#define STATE_MAX ((size_t)64 << 20)

static ferry_err io_error(struct ferry_reason *why, const char *what, const char *path)
{
    return ferry_reason_set(why, FERRY_E_IO, "%s %s: %s", what, path, strerror(errno));
}

static ferry_err write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return FERRY_E_IO;
        p += w;
        n -= (size_t)w;
    }
    return FERRY_OK;
}

ferry_err ferry_relay_state_save(const char *dir, const struct ferry_lc *lc,
                                 struct ferry_reason *why)
{
    struct ferry_lc_status st;
    ferry_lc_status(lc, &st);
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_bytes(&w, (const uint8_t *)STATE_MAGIC, 4);
    ferry_scale_put_u8(&w, STATE_VERSION);
    ferry_scale_put_bytes(&w, st.genesis_hash, 32);
    ferry_lc_encode(lc, &w);
    size_t len;
    uint8_t *buf = ferry_scale_writer_take(&w, &len);
    if (!buf)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory encoding the relay state");
    char tmp[4096], path[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/%s", dir, STATE_TMP) >= sizeof tmp ||
        (size_t)snprintf(path, sizeof path, "%s/%s", dir, STATE_FILE) >= sizeof path) {
        free(buf);
        return ferry_reason_set(why, FERRY_E_IO, "data_dir %s: path too long", dir);
    }
    ferry_err err = FERRY_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        err = io_error(why, "cannot create", tmp);
    } else {
        if (write_all(fd, buf, len))
            err = io_error(why, "cannot write", tmp);
        else if (fsync(fd))
            err = io_error(why, "cannot fsync", tmp);
        if (close(fd) && !err)
            err = io_error(why, "cannot close", tmp);
    }
    free(buf);
    if (!err && rename(tmp, path))
        err = io_error(why, "cannot rename to", path);
    if (err) {
        unlink(tmp);
        return err;
    }
    /* the rename itself must survive a power cut */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return io_error(why, "cannot open directory", dir);
    if (fsync(dfd)) {
        err = io_error(why, "cannot fsync directory", dir);
        close(dfd);
        return err;
    }
    close(dfd);
    return FERRY_OK;
}

ferry_err ferry_relay_state_load(const char *dir, const uint8_t genesis[32], struct ferry_lc **out,
                                 struct ferry_reason *why)
{
    *out = NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, STATE_FILE) >= sizeof path)
        return ferry_reason_set(why, FERRY_E_IO, "data_dir %s: path too long", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return ferry_reason_set(why, FERRY_E_NOT_FOUND, "no %s", path);
        return io_error(why, "cannot open", path);
    }
    struct stat sb;
    if (fstat(fd, &sb)) {
        ferry_err err = io_error(why, "cannot stat", path);
        close(fd);
        return err;
    }
    if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size < STATE_HEAD ||
        (uint64_t)sb.st_size > STATE_MAX) {
        close(fd);
        return ferry_reason_set(why, FERRY_E_INVALID, "%s is not a ferry relay state (%lld bytes)",
                                path, (long long)sb.st_size);
    }
    size_t len = (size_t)sb.st_size;
    uint8_t *buf = malloc(len);
    if (!buf) {
        close(fd);
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != len) {
        free(buf);
        return ferry_reason_set(why, FERRY_E_INVALID, "%s: short read (%zu of %zu bytes)", path,
                                got, len);
    }
    if (memcmp(buf, STATE_MAGIC, 4)) {
        free(buf);
        return ferry_reason_set(why, FERRY_E_INVALID, "%s is not a ferry relay state", path);
    }
    if (buf[4] != STATE_VERSION) {
        unsigned v = buf[4];
        free(buf);
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "%s has format version %u, this ferry knows %u", path, v,
                                STATE_VERSION);
    }
    struct ferry_reason dw = {""};
    struct ferry_lc *lc = NULL;
    ferry_err err = ferry_lc_decode(&lc, buf + STATE_HEAD, len - STATE_HEAD, &dw);
    uint8_t head_genesis[32];
    memcpy(head_genesis, buf + 5, 32);
    free(buf);
    if (err == FERRY_E_NOMEM)
        return ferry_reason_set(why, err, "out of memory loading %s", path);
    if (err)
        return ferry_reason_set(why, FERRY_E_INVALID, "%s does not load: %s", path,
                                dw.text[0] ? dw.text : ferry_strerror(err));
    struct ferry_lc_status st;
    ferry_lc_status(lc, &st);
    if (memcmp(st.genesis_hash, head_genesis, 32)) {
        ferry_lc_free(lc);
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "%s: its header and its light-client state name different chains",
                                path);
    }
    if (memcmp(st.genesis_hash, genesis, 32)) {
        char have[67], want[67];
        ferry_hex_encode(st.genesis_hash, 32, have);
        ferry_hex_encode(genesis, 32, want);
        ferry_lc_free(lc);
        return ferry_reason_set(why, FERRY_E_STATE,
                                "%s is for another chain (genesis %s, not %s): use another "
                                "data directory",
                                path, have, want);
    }
    *out = lc;
    return FERRY_OK;
}
