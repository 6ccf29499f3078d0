/* ferry rpc — the WebSocket transport for ws:// on ferry's own RFC 6455 framing (rpc/wsframe.c)
 * over a plain TCP socket.
 *
 * Why: libwebsockets 4.1 parses every received byte through its frame state machine, which was
 * ~30 % of `ferry follow`'s CPU during a catch-up (docs/performance.md). Here the socket is read
 * in 512 KiB pieces and payload is copied in bulk. wss:// stays on libwebsockets (ws.c), and
 * FERRY_WS=lws selects libwebsockets for ws:// too (for comparison).
 *
 * Same model as ws.c: one service thread owns the socket; callers queue frames (ws_submit) and
 * wake it through an eventfd; it writes queued frames (masked, as a client must), hands each
 * complete message to the core (rpc_rx_finish), answers pings, and drives time with a periodic
 * tick: reconnect after backoff with jitter, the connect deadline (TCP + handshake), pings after
 * silence, declaring a silent connection dead. Name resolution (getaddrinfo) blocks the service
 * thread; the addresses are tried in turn within one attempt.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ferry/log.h"
#include "rpc/wsconn.h"
#include "rpc/wsframe.h"

#define IN_BUF_SIZE    ((size_t)512 << 10)
#define HANDSHAKE_MAX  16384 /* the server's HTTP response head */
#define ROUNDS_PER_RUN 32    /* reads per wake-up before timers and writes get a turn */

_Static_assert(RPC_FRAME_HEADROOM >= WS_HEADER_MAX, "frames need room for a WebSocket header");

enum phase { PH_NONE, PH_TCP, PH_HANDSHAKE, PH_OPEN };

struct wp_state {
    struct ferry_rpc *c;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    int wake; /* eventfd */
    int64_t tick_us;

    /* Service thread only (under mu unless said). */
    int fd;
    enum phase phase;
    struct addrinfo *ai_list, *ai_next; /* the addresses of this attempt still to try */
    char key[32];                       /* Sec-WebSocket-Key (base64 of 16 random bytes) */
    char accept[32];                    /* the Sec-WebSocket-Accept the server must send */
    unsigned attempt, rng;
    int64_t next_attempt_us, attempt_started_us, established_us, last_rx_us, last_ping_us;
    uint8_t *in; /* IN_BUF_SIZE: read without mu */
    size_t in_len;
    char *hs; /* the handshake response as it arrives */
    size_t hs_len;
    struct ws_rx dec;
    struct rpc_rx rx;
    bool peer_closed; /* a close frame arrived (the decoder stopped at it) */
    /* Output: one frame at a time (out_mem is freed when it is sent), control frames between. */
    uint8_t *out_mem;
    const uint8_t *out_p;
    size_t out_left;
    uint8_t ctl[WS_HEADER_MAX + WS_CONTROL_MAX];
    bool ping_due, pong_due;
    uint8_t pong[WS_CONTROL_MAX];
    size_t pong_len;
};

#define W(c) ((struct wp_state *)(c)->tp)

/* ---- connection lifecycle (service thread, mu held) ------------------------------------------ */

static void drop_socket(struct wp_state *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    w->phase = PH_NONE;
    if (w->ai_list)
        freeaddrinfo(w->ai_list);
    w->ai_list = w->ai_next = NULL;
    free(w->out_mem);
    w->out_mem = NULL;
    w->out_p = NULL;
    w->out_left = 0;
    free(w->hs);
    w->hs = NULL;
    w->hs_len = 0;
    w->in_len = 0;
    w->ping_due = w->pong_due = w->peer_closed = false;
    rpc_rx_free(&w->rx);
}

static void conn_lost(struct ferry_rpc *c, ferry_err why)
{
    struct wp_state *w = W(c);
    drop_socket(w);
    if (c->conn == CONN_WAIT)
        return;
    if (rpc_ws_lost(c, why, c->conn == CONN_OPEN, w->established_us))
        w->attempt = 0;
    int64_t now = ferry_clock_us();
    w->next_attempt_us = now + rpc_ws_backoff_us(c, &w->attempt, &w->rng);
    ferry_log_debug("rpc", "next attempt %s in %lld ms", rpc_url(c, c->url_index),
                    (long long)(w->next_attempt_us - now) / 1000);
}

/* Fail the connection for a reason (recorded as the last error). */
static void fail(struct ferry_rpc *c, ferry_err why, const char *fmt, const char *detail)
{
    char msg[200];
    snprintf(msg, sizeof msg, fmt, detail);
    rpc_set_last_error(c, "%s: %s", rpc_url(c, c->url_index), msg);
    conn_lost(c, why);
}

/* Best effort: a close frame with a status code, written now if the socket takes it. */
static void send_close_now(struct wp_state *w, unsigned code)
{
    if (w->fd < 0 || w->phase != PH_OPEN || w->out_left)
        return; /* never in the middle of another frame */
    uint8_t f[WS_HEADER_MAX + 2], mask[4];
    arc4random_buf(mask, sizeof mask);
    size_t h = ws_frame_header(f, WS_OP_CLOSE, 2, mask);
    f[h] = (uint8_t)(code >> 8);
    f[h + 1] = (uint8_t)code;
    ws_mask(f + h, 2, mask, 0);
    ssize_t n = send(w->fd, f, h + 2, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n;
}

/* Start an attempt on the next address of the list; false when none is left. */
static bool try_next_address(struct ferry_rpc *c)
{
    struct wp_state *w = W(c);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    for (; w->ai_next; w->ai_next = w->ai_next->ai_next) {
        struct addrinfo *a = w->ai_next;
        int fd =
            socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
            w->fd = fd;
            w->phase = PH_TCP;
            w->ai_next = a->ai_next;
            return true;
        }
        rpc_set_last_error(c, "%s: %s", rpc_url(c, c->url_index), strerror(errno));
        close(fd);
    }
    return false;
}

static void start_connect(struct ferry_rpc *c)
{
    struct wp_state *w = W(c);
    const char *url = rpc_url(c, c->url_index);
    struct rpc_ws_url u;
    c->conn = CONN_CONNECTING;
    w->attempt_started_us = ferry_clock_us();
    if (rpc_ws_parse_url(url, &u) != 0 || u.tls) { /* validated at open; defensive */
        fail(c, FERRY_E_ARG, "%s", "not a ws:// URL");
        return;
    }
    char port[8];
    snprintf(port, sizeof port, "%d", u.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int g = getaddrinfo(u.host, port, &hints, &w->ai_list);
    if (g != 0) {
        w->ai_list = NULL;
        fail(c, FERRY_E_NET, "cannot resolve host: %s", gai_strerror(g));
        return;
    }
    w->ai_next = w->ai_list;
    if (!try_next_address(c))
        conn_lost(c, FERRY_E_NET); /* try_next_address recorded why */
}

/* The TCP connection is up: queue the HTTP upgrade request. */
static void start_handshake(struct ferry_rpc *c)
{
    struct wp_state *w = W(c);
    struct rpc_ws_url u;
    if (rpc_ws_parse_url(rpc_url(c, c->url_index), &u) != 0) {
        fail(c, FERRY_E_ARG, "%s", "malformed URL");
        return;
    }
    uint8_t nonce[16], digest[EVP_MAX_MD_SIZE];
    arc4random_buf(nonce, sizeof nonce);
    EVP_EncodeBlock((unsigned char *)w->key, nonce, sizeof nonce); /* 24 chars + NUL */
    char cat[80];
    int cl = snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", w->key);
    unsigned dl = 0;
    if (cl <= 0 || !EVP_Digest(cat, (size_t)cl, digest, &dl, EVP_sha1(), NULL) || dl != 20) {
        fail(c, FERRY_E_NOMEM, "%s", "SHA-1 unavailable");
        return;
    }
    EVP_EncodeBlock((unsigned char *)w->accept, digest, 20); /* 28 chars + NUL */
    bool v6 = strchr(u.host, ':') != NULL;
    char *req = NULL;
    int n = asprintf(&req,
                     "GET %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     u.path, v6 ? "[" : "", u.host, v6 ? "]" : "", u.port, w->key);
    if (n < 0) {
        fail(c, FERRY_E_NOMEM, "%s", "out of memory");
        return;
    }
    w->out_mem = (uint8_t *)req;
    w->out_p = w->out_mem;
    w->out_left = (size_t)n;
    w->phase = PH_HANDSHAKE;
}

/* The value of header name in the response head (lines after the status line), trimmed; NULL
 * when absent. Writes at most cap - 1 characters to out. */
static const char *header_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) != 0 || line[nl] != ':')
            continue;
        const char *v = line + nl + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        const char *e = strstr(v, "\r\n");
        size_t len = e ? (size_t)(e - v) : strlen(v);
        while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
            len--;
        if (len >= cap)
            len = cap - 1;
        memcpy(out, v, len);
        out[len] = 0;
        return out;
    }
    return NULL;
}

/* Check the server's answer to the upgrade. Returns: NULL when it accepts, else why not. */
static const char *check_handshake(struct wp_state *w, char *head)
{
    char v[256];
    if (strncmp(head, "HTTP/1.1 101", 12) != 0 && strncmp(head, "HTTP/1.0 101", 12) != 0)
        return "the server refused the WebSocket upgrade";
    if (!header_value(head, "Upgrade", v, sizeof v) || strcasecmp(v, "websocket") != 0)
        return "handshake without Upgrade: websocket";
    if (!header_value(head, "Connection", v, sizeof v) || !strcasestr(v, "upgrade"))
        return "handshake without Connection: Upgrade";
    if (!header_value(head, "Sec-WebSocket-Accept", v, sizeof v) || strcmp(v, w->accept) != 0)
        return "handshake with a wrong Sec-WebSocket-Accept";
    if (header_value(head, "Sec-WebSocket-Extensions", v, sizeof v))
        return "the server chose an extension that was not offered";
    return NULL;
}

static void on_established(struct ferry_rpc *c)
{
    struct wp_state *w = W(c);
    int64_t now = ferry_clock_us();
    w->phase = PH_OPEN;
    w->established_us = w->last_rx_us = w->last_ping_us = now;
    ws_rx_init(&w->dec);
    rpc_ws_established(c);
}

/* ---- receiving (service thread, mu held) ------------------------------------------------------
 */

static int rx_data(void *user, const uint8_t *p, size_t n, uint64_t frame_left)
{
    struct ferry_rpc *c = user;
    rpc_rx_append(c, &W(c)->rx, (const char *)p, n, frame_left);
    return 0;
}

static int rx_message_end(void *user)
{
    struct ferry_rpc *c = user;
    rpc_rx_finish(c, &W(c)->rx);
    /* Time spent parsing a large message here is not silence of the peer. */
    W(c)->last_rx_us = ferry_clock_us();
    return 0;
}

static int rx_control(void *user, unsigned opcode, const uint8_t *p, size_t n)
{
    struct ferry_rpc *c = user;
    struct wp_state *w = W(c);
    if (opcode == WS_OP_PING) {
        memcpy(w->pong, p, n); /* answer the latest ping only (RFC 6455 5.5.3) */
        w->pong_len = n;
        w->pong_due = true;
    } else if (opcode == WS_OP_CLOSE) {
        unsigned code = n >= 2 ? (unsigned)p[0] << 8 | p[1] : 1000;
        rpc_set_last_error(c, "%s: connection closed by peer (code %u)", rpc_url(c, c->url_index),
                           code);
        w->peer_closed = true;
        return 1; /* nothing after a close frame counts */
    }
    return 0;
}

static const struct ws_rx_ops rx_ops = {rx_data, rx_message_end, rx_control};

/* Feed w->in[0 .. in_len) to the decoder (open) or to the handshake (handshake). */
static void on_bytes(struct ferry_rpc *c)
{
    struct wp_state *w = W(c);
    const uint8_t *p = w->in;
    size_t len = w->in_len;
    w->in_len = 0;
    if (w->phase == PH_HANDSHAKE) {
        if (w->out_left) {
            fail(c, FERRY_E_NET, "%s", "the server answered before the upgrade request was sent");
            return;
        }
        size_t take = len < HANDSHAKE_MAX - w->hs_len ? len : HANDSHAKE_MAX - w->hs_len;
        if (!w->hs && !(w->hs = malloc(HANDSHAKE_MAX + 1))) {
            fail(c, FERRY_E_NOMEM, "%s", "out of memory");
            return;
        }
        memcpy(w->hs + w->hs_len, p, take);
        w->hs_len += take;
        w->hs[w->hs_len] = 0;
        char *end = strstr(w->hs, "\r\n\r\n");
        if (!end) {
            if (w->hs_len >= HANDSHAKE_MAX || memchr(w->hs, 0, w->hs_len))
                fail(c, FERRY_E_NET, "%s", "malformed handshake response");
            return;
        }
        size_t head_len = (size_t)(end - w->hs) + 4;
        end[2] = 0; /* keep the last header's CRLF for header_value */
        const char *bad = check_handshake(w, w->hs);
        if (bad) {
            fail(c, FERRY_E_NET, "%s", bad);
            return;
        }
        /* Frames may follow the head in the same read: they were copied into hs. */
        size_t extra = w->hs_len - head_len;
        size_t beyond = len - take; /* bytes not copied into hs at all (after 16 KiB) */
        memmove(w->in, w->hs + head_len, extra);
        if (beyond)
            memmove(w->in + extra, p + take, beyond);
        free(w->hs);
        w->hs = NULL;
        w->hs_len = 0;
        on_established(c);
        p = w->in;
        len = extra + beyond;
    }
    while (len && w->phase == PH_OPEN) {
        size_t used = 0;
        struct ferry_reason why = {""};
        w->last_rx_us = ferry_clock_us();
        enum ws_rx_result r = ws_rx_feed(&w->dec, p, len, &rx_ops, c, &used, &why);
        if (r == WS_RX_PROTOCOL) {
            send_close_now(w, WS_CLOSE_PROTOCOL);
            fail(c, FERRY_E_NET, "%s", why.text);
            return;
        }
        if (w->peer_closed) {
            send_close_now(w, 1000);
            conn_lost(c, FERRY_E_NET);
            return;
        }
        p += used;
        len -= used;
    }
}

/* ---- sending (service thread, mu held) --------------------------------------------------------
 */

/* Put the next frame in the output if there is none: a pong, a ping, then queued requests. */
static bool next_frame(struct ferry_rpc *c)
{
    struct wp_state *w = W(c);
    uint8_t mask[4];
    if (w->out_left)
        return true;
    if (w->phase != PH_OPEN)
        return false;
    if (w->pong_due || w->ping_due) {
        bool pong = w->pong_due;
        size_t n = pong ? w->pong_len : 0;
        arc4random_buf(mask, sizeof mask);
        size_t h = ws_frame_header(w->ctl, pong ? WS_OP_PONG : WS_OP_PING, n, mask);
        memcpy(w->ctl + h, w->pong, n);
        ws_mask(w->ctl + h, n, mask, 0);
        if (pong)
            w->pong_due = false;
        else {
            w->ping_due = false;
            c->stats.pings_sent++;
        }
        w->out_p = w->ctl;
        w->out_left = h + n;
        return true;
    }
    if (!c->q_head)
        return false;
    struct ferry_rpc_pending *r = c->q_head;
    rpc_list_unlink(c, r);
    rpc_inflight_push(c, r);
    /* The header goes into the frame's headroom; the JSON is masked in place. The frame's memory
     * moves to the output, so the request may complete (and be freed) before it is all sent. */
    uint8_t *text = (uint8_t *)rpc_req_text(r);
    uint8_t hdr[WS_HEADER_MAX];
    arc4random_buf(mask, sizeof mask);
    size_t h = ws_frame_header(hdr, WS_OP_TEXT, r->frame_len, mask);
    memcpy(text - h, hdr, h);
    ws_mask(text, r->frame_len, mask, 0);
    w->out_mem = r->frame;
    w->out_p = text - h;
    w->out_left = h + r->frame_len;
    r->frame = NULL;
    return true;
}

/* Write what the socket takes. Returns: false when the connection failed (already handled). */
static bool flush_out(struct ferry_rpc *c)
{
    struct wp_state *w = W(c);
    for (int frames = 0; frames < 64 && (w->out_left || next_frame(c)); frames++) {
        /* More frames to follow: let the kernel put them in the same segments. Only once the
         * connection is open: during the handshake next_frame sends nothing after the upgrade
         * request, and MSG_MORE would hold that request back for the kernel's cork timeout
         * (200 ms, every connect). */
        int more = w->phase == PH_OPEN && c->q_head && frames < 63 ? MSG_MORE : 0;
        ssize_t n = send(w->fd, w->out_p, w->out_left, MSG_NOSIGNAL | MSG_DONTWAIT | more);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return true;
            fail(c, FERRY_E_NET, "send: %s", strerror(errno));
            return false;
        }
        w->out_p += n;
        w->out_left -= (size_t)n;
        if (w->out_left)
            return true;
        free(w->out_mem);
        w->out_mem = NULL;
    }
    return true;
}

/* ---- the service thread -----------------------------------------------------------------------
 */

static void timers(struct ferry_rpc *c, int64_t now)
{
    struct wp_state *w = W(c);
    rpc_spare_sweep(c, now);
    if (c->closing) {
        if (w->fd >= 0 || c->conn != CONN_WAIT) {
            send_close_now(w, 1000);
            rpc_set_last_error(c, "%s: client closing", rpc_url(c, c->url_index));
            conn_lost(c, FERRY_E_NET);
        }
        return;
    }
    switch (c->conn) {
    case CONN_WAIT:
        if (now >= w->next_attempt_us)
            start_connect(c);
        break;
    case CONN_CONNECTING:
        if (now - w->attempt_started_us > (int64_t)c->cfg.connect_timeout_ms * 1000)
            fail(c, FERRY_E_NET, "%s", "connect timed out");
        break;
    case CONN_OPEN: {
        int64_t silence = now - w->last_rx_us;
        if (silence >= (int64_t)c->cfg.dead_after_ms * 1000) {
            c->stats.dead_declared++;
            fail(c, FERRY_E_NET, "%s", "no answer to pings; connection declared dead");
            break;
        }
        for (struct ferry_rpc_pending *r = c->in_head; r; r = r->next) {
            if (r->kind == REQ_RESUB && now > r->deadline_us) {
                fail(c, FERRY_E_NET, "%s", "re-subscription not answered");
                return;
            }
        }
        if (silence >= (int64_t)c->cfg.ping_interval_ms * 1000 &&
            now - w->last_ping_us >= (int64_t)c->cfg.ping_interval_ms * 1000) {
            w->ping_due = true;
            w->last_ping_us = now;
        }
        break;
    }
    }
}

/* The socket polled writable while the TCP connection was being made. */
static void on_tcp_ready(struct ferry_rpc *c)
{
    struct wp_state *w = W(c);
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY)
        return;
    if (err) {
        rpc_set_last_error(c, "%s: %s", rpc_url(c, c->url_index), strerror(err));
        if (!try_next_address(c))
            conn_lost(c, FERRY_E_NET);
        return;
    }
    freeaddrinfo(w->ai_list);
    w->ai_list = w->ai_next = NULL;
    start_handshake(c);
}

static void *service_main(void *arg)
{
    struct ferry_rpc *c = arg;
    struct wp_state *w = W(c);
    int64_t next_tick = 0;
    pthread_mutex_lock(&c->mu);
    while (!atomic_load(&w->stop)) {
        int64_t now = ferry_clock_us();
        if (now >= next_tick || c->closing) {
            timers(c, now);
            next_tick = now + w->tick_us;
        }
        if (w->fd >= 0 && w->phase >= PH_HANDSHAKE)
            flush_out(c);
        rpc_flush_callbacks(c);

        struct pollfd pf[2] = {{.fd = w->wake, .events = POLLIN}, {.fd = -1}};
        if (w->fd >= 0) {
            pf[1].fd = w->fd;
            pf[1].events = w->phase == PH_TCP ? POLLOUT : POLLIN;
            if (w->out_left || (w->phase == PH_OPEN && (c->q_head || w->ping_due || w->pong_due)))
                pf[1].events |= POLLOUT;
        }
        int64_t wait_us = next_tick - ferry_clock_us();
        int timeout = wait_us <= 0 ? 0 : (int)((wait_us + 999) / 1000);
        enum phase ph = w->phase;
        int fd = w->fd;
        pthread_mutex_unlock(&c->mu);

        int pn = poll(pf, 2, timeout);
        if (pn > 0 && (pf[0].revents & POLLIN)) {
            uint64_t v;
            ssize_t r = read(w->wake, &v, sizeof v);
            (void)r;
        }
        /* Read without the lock: the socket and w->in are this thread's alone. */
        ssize_t got = 0;
        int rerr = 0;
        if (pn > 0 && fd >= 0 && ph >= PH_HANDSHAKE &&
            (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            got = recv(fd, w->in, IN_BUF_SIZE, MSG_DONTWAIT);
            rerr = got < 0 ? errno : 0;
        }
        pthread_mutex_lock(&c->mu);
        if (fd < 0 || w->fd != fd || pn <= 0)
            continue;
        if (ph == PH_TCP) {
            if (pf[1].revents & (POLLOUT | POLLERR | POLLHUP))
                on_tcp_ready(c);
            continue;
        }
        if (got > 0) {
            w->in_len = (size_t)got;
            on_bytes(c);
            /* Keep reading while data is there, but let timers and writes run now and then. */
            for (int round = 1; round < ROUNDS_PER_RUN && w->fd == fd && w->phase >= PH_HANDSHAKE;
                 round++) {
                pthread_mutex_unlock(&c->mu);
                got = recv(fd, w->in, IN_BUF_SIZE, MSG_DONTWAIT);
                rerr = got < 0 ? errno : 0;
                pthread_mutex_lock(&c->mu);
                if (got <= 0 || w->fd != fd)
                    break;
                w->in_len = (size_t)got;
                on_bytes(c);
            }
            if (got > 0 || w->fd != fd)
                continue;
        }
        if (got == 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            rpc_set_last_error(c, "%s: connection closed by peer", rpc_url(c, c->url_index));
            conn_lost(c, FERRY_E_NET);
        } else if (got < 0 && rerr != EAGAIN && rerr != EWOULDBLOCK && rerr != EINTR) {
            fail(c, FERRY_E_NET, "recv: %s", strerror(rerr));
        }
    }
    drop_socket(w);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static ferry_err wp_open(struct ferry_rpc *c)
{
    struct wp_state *w = calloc(1, sizeof *w);
    if (!w)
        return FERRY_E_NOMEM;
    w->c = c;
    w->fd = -1;
    w->in = malloc(IN_BUF_SIZE);
    w->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!w->in || w->wake < 0) {
        if (w->wake >= 0)
            close(w->wake);
        free(w->in);
        free(w);
        return FERRY_E_NOMEM;
    }
    w->rng = (unsigned)ferry_clock_us() ^ (unsigned)(uintptr_t)c;
    if (!w->rng)
        w->rng = 1;
    uint32_t shortest = c->cfg.ping_interval_ms;
    if (c->cfg.dead_after_ms < shortest)
        shortest = c->cfg.dead_after_ms;
    if (c->cfg.backoff_initial_ms < shortest)
        shortest = c->cfg.backoff_initial_ms;
    int64_t t = (int64_t)shortest * 1000 / 5;
    w->tick_us = t < 5000 ? 5000 : t > 100000 ? 100000 : t;
    c->tp = w;
    c->conn = CONN_WAIT;
    atomic_store(&w->stop, false);
    if (pthread_create(&w->thread, NULL, service_main, c) != 0) {
        close(w->wake);
        free(w->in);
        free(w);
        c->tp = NULL;
        return FERRY_E_NOMEM;
    }
    w->thread_started = true;
    return FERRY_OK;
}

static void wake(struct wp_state *w)
{
    uint64_t one = 1;
    ssize_t n = write(w->wake, &one, sizeof one);
    (void)n; /* EAGAIN: the counter is already non-zero, the thread wakes anyway */
}

static void wp_wake(struct ferry_rpc *c)
{
    wake(W(c));
}

static ferry_err wp_submit(struct ferry_rpc *c, struct ferry_rpc_pending *r, uint32_t timeout_ms)
{
    return rpc_ws_submit(c, r, wp_wake);
}

static void wp_close(struct ferry_rpc *c)
{
    struct wp_state *w = W(c);
    if (!w)
        return;
    if (w->thread_started) {
        /* The service thread sees c->closing, sends a close frame and drops the connection. */
        wake(w);
        int64_t deadline = ferry_clock_us() + 1000 * 1000;
        pthread_mutex_lock(&c->mu);
        while (c->conn != CONN_WAIT && ferry_clock_us() < deadline)
            ferry_cond_wait_until(&c->cv, &c->mu, deadline);
        pthread_mutex_unlock(&c->mu);
        atomic_store(&w->stop, true);
        wake(w);
        pthread_join(w->thread, NULL);
    }
    drop_socket(w);
    close(w->wake);
    free(w->in);
    free(w);
    c->tp = NULL;
}

static bool wp_url_ok(const char *url)
{
    struct rpc_ws_url u;
    return rpc_ws_parse_url(url, &u) == 0 && !u.tls;
}

const struct rpc_transport rpc_transport_wsplain = {
    .name = "websocket",
    .url_ok = wp_url_ok,
    .streams = true,
    .open = wp_open,
    .submit = wp_submit,
    .close = wp_close,
};
