/* ferry's own ws:// transport (rpc/wsplain.c) against a raw TCP server that speaks the
 * handshake and frames byte by byte, so it can send what a library server never would: pings
 * and an answer fragmented around them, a masked (forbidden) server frame, a wrong
 * Sec-WebSocket-Accept. The rpc suite covers everything else on the same transport. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ferry/clock.h"
#include "ferry/jsonrpc.h"

enum mode { M_PING_AND_FRAGMENTS, M_MASKED_FRAME, M_BAD_ACCEPT };

struct raw_server {
    int lfd, port;
    enum mode mode;
    pthread_t thread;
    pthread_mutex_t mu;
    volatile int stop;
    int accepted;
    int client_frames_masked; /* every frame from the client had its mask bit */
    int client_frames;
    char pong[64];  /* payload of the last pong received */
    int close_code; /* status code of the client's close frame, 0 if none */
};

static int read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, (char *)buf + got, n - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* One client frame: opcode, unmasked payload (at most cap - 1 bytes kept, NUL-terminated).
 * Returns: the opcode, or -1 on EOF/error. */
static int read_client_frame(struct raw_server *s, int fd, char *payload, size_t cap)
{
    uint8_t h[2], ext[8], mask[4] = {0};
    if (read_full(fd, h, 2))
        return -1;
    uint64_t len = h[1] & 0x7f;
    if (len == 126) {
        if (read_full(fd, ext, 2))
            return -1;
        len = (uint64_t)ext[0] << 8 | ext[1];
    } else if (len == 127) {
        if (read_full(fd, ext, 8))
            return -1;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | ext[i];
    }
    bool masked = h[1] & 0x80;
    if (masked && read_full(fd, mask, 4))
        return -1;
    pthread_mutex_lock(&s->mu);
    s->client_frames++;
    if (masked)
        s->client_frames_masked++;
    pthread_mutex_unlock(&s->mu);
    size_t kept = 0;
    for (uint64_t i = 0; i < len; i++) {
        uint8_t b;
        if (read_full(fd, &b, 1))
            return -1;
        b ^= mask[i & 3];
        if (kept + 1 < cap)
            payload[kept++] = (char)b;
    }
    payload[kept] = 0;
    return h[0] & 0x0f;
}

static void send_frame(int fd, uint8_t b0, const char *p, size_t n, bool masked)
{
    uint8_t f[256];
    size_t h = 2;
    f[0] = b0;
    f[1] = (uint8_t)n | (masked ? 0x80 : 0);
    if (masked) {
        memset(f + 2, 0x5a, 4);
        h = 6;
    }
    for (size_t i = 0; i < n; i++)
        f[h + i] = (uint8_t)(p[i] ^ (masked ? 0x5a : 0));
    ssize_t w = send(fd, f, h + n, MSG_NOSIGNAL);
    (void)w;
}

static int handshake(struct raw_server *s, int fd)
{
    char req[4096];
    size_t n = 0;
    while (n + 1 < sizeof req) {
        ssize_t r = recv(fd, req + n, 1, 0);
        if (r <= 0)
            return -1;
        n++;
        req[n] = 0;
        if (n >= 4 && strcmp(req + n - 4, "\r\n\r\n") == 0)
            break;
    }
    const char *k = strstr(req, "Sec-WebSocket-Key: ");
    if (!k)
        return -1;
    char key[64], cat[128], acc[64];
    sscanf(k + 19, "%63[^\r]", key);
    snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    EVP_Digest(cat, strlen(cat), d, &dl, EVP_sha1(), NULL);
    if (s->mode == M_BAD_ACCEPT)
        d[0] ^= 1;
    EVP_EncodeBlock((unsigned char *)acc, d, 20);
    char resp[256];
    int rl = snprintf(resp, sizeof resp,
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                      acc);
    return send(fd, resp, (size_t)rl, MSG_NOSIGNAL) == rl ? 0 : -1;
}

static void serve(struct raw_server *s, int fd)
{
    char p[512];
    if (handshake(s, fd))
        return;
    if (s->mode == M_BAD_ACCEPT) {
        while (read_client_frame(s, fd, p, sizeof p) >= 0) {
        }
        return;
    }
    if (s->mode == M_MASKED_FRAME) {
        send_frame(fd, 0x81, "{}", 2, true); /* a server must not mask */
    } else {
        /* The request: {"jsonrpc":"2.0","id":N,...}. Answer it in two fragments with pings
         * before and between them. */
        if (read_client_frame(s, fd, p, sizeof p) != 1)
            return;
        const char *id = strstr(p, "\"id\":");
        unsigned long n = id ? strtoul(id + 5, NULL, 10) : 0;
        char first[64];
        int fl = snprintf(first, sizeof first, "{\"jsonrpc\":\"2.0\",\"id\":%lu,", n);
        send_frame(fd, 0x89, "hi", 2, false);
        send_frame(fd, 0x01, first, (size_t)fl, false);
        send_frame(fd, 0x89, "hi", 2, false);
        send_frame(fd, 0x80, "\"result\":\"ok\"}", 14, false);
    }
    int op;
    while ((op = read_client_frame(s, fd, p, sizeof p)) >= 0) {
        pthread_mutex_lock(&s->mu);
        if (op == 0xa)
            snprintf(s->pong, sizeof s->pong, "%.63s", p);
        if (op == 0x8)
            s->close_code = (int)((uint8_t)p[0] << 8 | (uint8_t)p[1]);
        pthread_mutex_unlock(&s->mu);
        if (op == 0x8)
            break;
    }
}

static void *server_main(void *arg)
{
    struct raw_server *s = arg;
    while (!s->stop) {
        struct pollfd pf = {.fd = s->lfd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = 5};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        pthread_mutex_lock(&s->mu);
        s->accepted++;
        pthread_mutex_unlock(&s->mu);
        serve(s, fd);
        close(fd);
    }
    return NULL;
}

static struct raw_server *server_start(enum mode m)
{
    struct raw_server *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    s->mode = m;
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(s->lfd, 8), 0);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&s->thread, NULL, server_main, s), 0);
    return s;
}

static void server_stop(struct raw_server *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->lfd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static int server_get(struct raw_server *s, const int *field)
{
    pthread_mutex_lock(&s->mu);
    int v = *field;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static struct ferry_rpc *client(int port)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
    const char *urls[1] = {url};
    struct ferry_rpc_config cfg = {.urls = urls, .n_urls = 1};
    cfg.backoff_initial_ms = 20;
    cfg.backoff_max_ms = 50;
    cfg.connect_timeout_ms = 2000;
    struct ferry_rpc *c = NULL;
    ck_assert_int_eq(ferry_rpc_open(&cfg, &c), FERRY_OK);
    return c;
}

START_TEST(fragmented_answer_around_pings_is_reassembled_and_pings_answered)
{
    setenv("FERRY_WS", "", 1);
    struct raw_server *s = server_start(M_PING_AND_FRAGMENTS);
    struct ferry_rpc *c = client(s->port);
    cJSON *r = NULL;
    ck_assert_int_eq(ferry_rpc_call(c, "anything", NULL, 5000, &r, NULL), FERRY_OK);
    ck_assert(cJSON_IsString(r) && strcmp(r->valuestring, "ok") == 0);
    cJSON_Delete(r);
    int64_t deadline = ferry_clock_us() + 5000000;
    while (ferry_clock_us() < deadline) {
        pthread_mutex_lock(&s->mu);
        int got = strcmp(s->pong, "hi") == 0;
        pthread_mutex_unlock(&s->mu);
        if (got)
            break;
        usleep(2000);
    }
    ck_assert_str_eq(s->pong, "hi");
    ferry_rpc_close(c); /* sends a close frame (1000) */
    deadline = ferry_clock_us() + 5000000;
    while (server_get(s, &s->close_code) == 0 && ferry_clock_us() < deadline)
        usleep(2000);
    ck_assert_int_eq(server_get(s, &s->close_code), 1000);
    ck_assert_int_gt(server_get(s, &s->client_frames), 2);
    ck_assert_int_eq(server_get(s, &s->client_frames_masked), server_get(s, &s->client_frames));
    server_stop(s);
}
END_TEST

START_TEST(masked_server_frame_fails_the_connection_with_1002_and_it_reconnects)
{
    setenv("FERRY_WS", "", 1);
    struct raw_server *s = server_start(M_MASKED_FRAME);
    struct ferry_rpc *c = client(s->port);
    int64_t deadline = ferry_clock_us() + 5000000;
    while (server_get(s, &s->accepted) < 2 && ferry_clock_us() < deadline)
        usleep(2000);
    ck_assert_int_ge(server_get(s, &s->accepted), 2);
    ck_assert_int_eq(server_get(s, &s->close_code), 1002);
    char why[256];
    ferry_rpc_last_error(c, why, sizeof why);
    ck_assert_msg(strstr(why, "masked frame"), "last error: %s", why);
    ferry_rpc_close(c);
    server_stop(s);
}
END_TEST

START_TEST(wrong_accept_key_never_connects)
{
    setenv("FERRY_WS", "", 1);
    struct raw_server *s = server_start(M_BAD_ACCEPT);
    struct ferry_rpc *c = client(s->port);
    ck_assert_int_ne(ferry_rpc_wait_connected(c, 300), FERRY_OK);
    ck_assert_int_ge(server_get(s, &s->accepted), 1);
    struct ferry_rpc_stats st;
    ferry_rpc_get_stats(c, &st);
    ck_assert_uint_eq(st.connects, 0);
    char why[256];
    ferry_rpc_last_error(c, why, sizeof why);
    ck_assert_msg(strstr(why, "Sec-WebSocket-Accept"), "last error: %s", why);
    ferry_rpc_close(c);
    server_stop(s);
}
END_TEST

Suite *wsplain_suite(void)
{
    Suite *s = suite_create("wsplain");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, fragmented_answer_around_pings_is_reassembled_and_pings_answered);
    tcase_add_test(t, masked_server_frame_fails_the_connection_with_1002_and_it_reconnects);
    tcase_add_test(t, wrong_accept_key_never_connects);
    suite_add_tcase(s, t);
    return s;
}
