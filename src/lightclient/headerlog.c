/* The store's header log: segment files of full relay-header chunks (see headerlog.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ferry/hash.h"
#include "headerlog.h"

#define WBUF_CAP (256u * 1024u) /* appends are written in pieces of this size */
#define SEG_NAME "%08" PRIu32 ".hlog"

struct hlog {
    char *dir;
    bool dir_ready; /* exists (made, and its parent synced, if it was new) */
    /* the segment appended to */
    int fd; /* -1: none open */
    uint32_t seg;
    uint64_t file_end; /* bytes in the file (written) */
    bool unsynced;     /* written since the last fdatasync */
    uint8_t *wbuf;     /* appended, not yet written: they follow file_end */
    size_t wbuf_used;
    /* a segment opened for reading (another than fd's) */
    int rfd;
    uint32_t rseg;
    uint8_t *rbuf;
    size_t rbuf_cap;
};

ferry_err hlog_open(const char *dir, struct hlog **out)
{
    *out = NULL;
    struct hlog *l = calloc(1, sizeof *l);
    if (!l)
        return FERRY_E_NOMEM;
    l->dir = strdup(dir);
    if (!l->dir) {
        free(l);
        return FERRY_E_NOMEM;
    }
    l->fd = -1;
    l->rfd = -1;
    *out = l;
    return FERRY_OK;
}

void hlog_close(struct hlog *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    if (l->rfd >= 0)
        close(l->rfd);
    free(l->wbuf);
    free(l->rbuf);
    free(l->dir);
    free(l);
}

static void seg_path(const struct hlog *l, uint32_t seg, char *out, size_t cap)
{
    snprintf(out, cap, "%s/" SEG_NAME, l->dir, seg);
}

/* fsync a directory so that an entry made in it survives a power cut. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static ferry_err make_dir(struct hlog *l, struct ferry_reason *why)
{
    if (l->dir_ready)
        return FERRY_OK;
    if (mkdir(l->dir, 0755) == 0) {
        /* the new entry in the parent directory */
        char *parent = strdup(l->dir);
        if (!parent)
            return FERRY_E_NOMEM;
        char *slash = strrchr(parent, '/');
        if (slash)
            *(slash == parent ? slash + 1 : slash) = '\0';
        int rc = sync_dir(slash ? parent : ".");
        free(parent);
        if (rc != 0)
            return ferry_reason_set(why, FERRY_E_IO, "header log %s: cannot sync its parent: %s",
                                    l->dir, strerror(errno));
    } else if (errno != EEXIST) {
        return ferry_reason_set(why, FERRY_E_IO, "header log %s: cannot create it: %s", l->dir,
                                strerror(errno));
    }
    l->dir_ready = true;
    return FERRY_OK;
}

/* Write out the buffered appends. */
static ferry_err write_buffer(struct hlog *l, struct ferry_reason *why)
{
    size_t done = 0;
    while (done < l->wbuf_used) {
        ssize_t w = pwrite(l->fd, l->wbuf + done, l->wbuf_used - done, (off_t)l->file_end);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* what was written stays beyond every reference; drop the rest */
            l->wbuf_used = 0;
            return ferry_reason_set(why, FERRY_E_IO,
                                    "header log %s: cannot write segment %" PRIu32 ": %s", l->dir,
                                    l->seg, w < 0 ? strerror(errno) : "no space");
        }
        done += (size_t)w;
        l->file_end += (uint64_t)w;
        l->unsynced = true;
    }
    l->wbuf_used = 0;
    return FERRY_OK;
}

ferry_err hlog_sync(struct hlog *l, struct ferry_reason *why)
{
    if (l->fd < 0)
        return FERRY_OK;
    ferry_err err = write_buffer(l, why);
    if (err)
        return err;
    if (l->unsynced) {
        if (fdatasync(l->fd) != 0)
            return ferry_reason_set(why, FERRY_E_IO,
                                    "header log %s: cannot sync segment %" PRIu32 ": %s", l->dir,
                                    l->seg, strerror(errno));
        l->unsynced = false;
    }
    return FERRY_OK;
}

/* Make seg the segment appended to: the one open before is synced and closed first. */
static ferry_err open_segment(struct hlog *l, uint32_t seg, struct ferry_reason *why)
{
    if (l->fd >= 0 && l->seg == seg)
        return FERRY_OK;
    ferry_err err = hlog_sync(l, why);
    if (err)
        return err;
    if (l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }
    err = make_dir(l, why);
    if (err)
        return err;
    char path[4096];
    seg_path(l, seg, path, sizeof path);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    bool created = false;
    if (fd < 0 && errno == ENOENT) {
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        created = fd >= 0;
    }
    if (fd < 0)
        return ferry_reason_set(why, FERRY_E_IO, "header log: cannot open %s: %s", path,
                                strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || (created && sync_dir(l->dir) != 0)) {
        int e = errno;
        close(fd);
        return ferry_reason_set(why, FERRY_E_IO, "header log: cannot set up %s: %s", path,
                                strerror(e));
    }
    l->fd = fd;
    l->seg = seg;
    l->file_end = (uint64_t)st.st_size;
    l->unsynced = false;
    if (l->rfd >= 0 && l->rseg == seg) {
        close(l->rfd);
        l->rfd = -1;
    }
    return FERRY_OK;
}

ferry_err hlog_append(struct hlog *l, uint32_t key, const uint8_t *blob, size_t len,
                      struct ferry_store_chunk_ref *ref, struct ferry_reason *why)
{
    if (len == 0 || len > HLOG_MAX_CHUNK)
        return ferry_reason_set(why, FERRY_E_INVALID, "header log: a chunk of %zu bytes", len);
    if (!l->wbuf) {
        l->wbuf = malloc(WBUF_CAP);
        if (!l->wbuf)
            return FERRY_E_NOMEM;
    }
    ferry_err err = open_segment(l, key / HLOG_SEG_CHUNKS, why);
    if (!err && WBUF_CAP - l->wbuf_used < len)
        err = write_buffer(l, why);
    if (err)
        return err;
    ref->seg = l->seg;
    ref->off = l->file_end + l->wbuf_used;
    ref->len = (uint32_t)len;
    ref->sum = ferry_xxh64(blob, len, key);
    if (len > WBUF_CAP) {
        /* the buffer is empty here: write it directly */
        size_t done = 0;
        while (done < len) {
            ssize_t w = pwrite(l->fd, blob + done, len - done, (off_t)(l->file_end + done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return ferry_reason_set(why, FERRY_E_IO,
                                        "header log %s: cannot write segment %" PRIu32 ": %s",
                                        l->dir, l->seg, w < 0 ? strerror(errno) : "no space");
            done += (size_t)w;
        }
        l->file_end += len;
        l->unsynced = true;
        return FERRY_OK;
    }
    memcpy(l->wbuf + l->wbuf_used, blob, len);
    l->wbuf_used += len;
    return FERRY_OK;
}

ferry_err hlog_read(struct hlog *l, uint32_t key, const struct ferry_store_chunk_ref *ref,
                    const uint8_t **blob, struct ferry_reason *why)
{
    *blob = NULL;
    if (ref->len == 0 || ref->len > HLOG_MAX_CHUNK || ref->off > (uint64_t)INT64_MAX - ref->len)
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "header log: chunk %u has a reference of %" PRIu32
                                " bytes at %" PRIu64,
                                key, ref->len, ref->off);
    if (ref->seg != key / HLOG_SEG_CHUNKS)
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "header log: chunk %u refers to segment %" PRIu32, key, ref->seg);
    int fd;
    if (l->fd >= 0 && l->seg == ref->seg) {
        /* the segment being appended to: what is asked may still be buffered */
        if (ref->off + ref->len > l->file_end) {
            ferry_err err = write_buffer(l, why);
            if (err)
                return err;
        }
        fd = l->fd;
    } else {
        if (l->rfd < 0 || l->rseg != ref->seg) {
            if (l->rfd >= 0)
                close(l->rfd);
            char path[4096];
            seg_path(l, ref->seg, path, sizeof path);
            l->rfd = open(path, O_RDONLY | O_CLOEXEC);
            if (l->rfd < 0)
                return ferry_reason_set(why, FERRY_E_IO, "header log: cannot open %s: %s", path,
                                        strerror(errno));
            l->rseg = ref->seg;
        }
        fd = l->rfd;
    }
    if (l->rbuf_cap < ref->len) {
        uint8_t *b = realloc(l->rbuf, ref->len);
        if (!b)
            return FERRY_E_NOMEM;
        l->rbuf = b;
        l->rbuf_cap = ref->len;
    }
    size_t got = 0;
    while (got < ref->len) {
        ssize_t r = pread(fd, l->rbuf + got, ref->len - got, (off_t)(ref->off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ferry_reason_set(why, FERRY_E_IO,
                                    "header log %s: cannot read segment %" PRIu32 ": %s", l->dir,
                                    ref->seg, strerror(errno));
        if (r == 0)
            return ferry_reason_set(why, FERRY_E_INVALID,
                                    "header log %s: segment %" PRIu32 " ends before chunk %u "
                                    "(%" PRIu32 " bytes at %" PRIu64 ")",
                                    l->dir, ref->seg, key, ref->len, ref->off);
        got += (size_t)r;
    }
    if (ferry_xxh64(l->rbuf, ref->len, key) != ref->sum)
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "header log %s: chunk %u in segment %" PRIu32
                                " does not match its checksum",
                                l->dir, key, ref->seg);
    *blob = l->rbuf;
    return FERRY_OK;
}

void hlog_refresh(struct hlog *l)
{
    struct stat st;
    if (l->fd >= 0 && l->wbuf_used == 0 && fstat(l->fd, &st) == 0)
        l->file_end = (uint64_t)st.st_size;
}

void hlog_mark(const struct hlog *l, struct hlog_pos *pos)
{
    pos->valid = l->fd >= 0;
    pos->seg = l->seg;
    pos->end = l->file_end + l->wbuf_used;
}

void hlog_rewind(struct hlog *l, const struct hlog_pos *pos)
{
    if (l->fd < 0 || !pos->valid || pos->seg != l->seg)
        return; /* another segment's bytes stay, unreferenced */
    if (pos->end >= l->file_end) {
        if (pos->end - l->file_end < l->wbuf_used)
            l->wbuf_used = (size_t)(pos->end - l->file_end);
        return;
    }
    l->wbuf_used = 0;
    if (ftruncate(l->fd, (off_t)pos->end) != 0) {
        /* what stays is beyond every reference, and the next append overwrites it */
    }
    l->file_end = pos->end;
}

/* Is name a segment file's ("%08u.hlog")? Out: *n its number. */
static bool segment_name(const char *name, uint32_t *n)
{
    char tail[8];
    return strlen(name) == 13 && sscanf(name, "%8" SCNu32 ".%4s", n, tail) == 2 &&
           strcmp(tail, "hlog") == 0;
}

/* Remove segment n's file, closing what l has open of it. Returns its size, or 0. */
static uint64_t remove_segment(struct hlog *l, uint32_t n)
{
    if (l->fd >= 0 && l->seg == n) {
        close(l->fd);
        l->fd = -1;
        l->wbuf_used = 0;
    }
    if (l->rfd >= 0 && l->rseg == n) {
        close(l->rfd);
        l->rfd = -1;
    }
    char path[4096];
    seg_path(l, n, path, sizeof path);
    struct stat st;
    if (stat(path, &st) != 0 || unlink(path) != 0)
        return 0;
    return (uint64_t)st.st_size;
}

uint64_t hlog_trim(struct hlog *l, bool any, uint32_t seg, uint64_t end)
{
    DIR *d = opendir(l->dir);
    if (!d)
        return 0;
    uint64_t dropped = 0;
    struct dirent *e;
    uint32_t n;
    while ((e = readdir(d)) != NULL) {
        if (!segment_name(e->d_name, &n) || (any && n < seg))
            continue;
        if (!any || n > seg) {
            dropped += remove_segment(l, n); /* nothing in it was committed */
            continue;
        }
        char path[4096];
        seg_path(l, n, path, sizeof path);
        struct stat st;
        if (stat(path, &st) != 0 || (uint64_t)st.st_size <= end || truncate(path, (off_t)end) != 0)
            continue;
        dropped += (uint64_t)st.st_size - end;
        if (l->fd >= 0 && l->seg == n) {
            l->file_end = end;
            l->wbuf_used = 0;
        }
    }
    closedir(d);
    return dropped;
}

void hlog_drop_below(struct hlog *l, uint32_t seg)
{
    DIR *d = opendir(l->dir);
    if (!d)
        return;
    struct dirent *e;
    uint32_t n;
    while ((e = readdir(d)) != NULL)
        if (segment_name(e->d_name, &n) && n < seg)
            (void)remove_segment(l, n);
    closedir(d);
}
