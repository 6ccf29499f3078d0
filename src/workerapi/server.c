/* ferry — worker API HTTP server on libwebsockets (docs/worker-api.md says why lws).
 *
 * One lws service thread (the caller of ferry_workerapi_server_run) handles every request in its
 * callback, so requests are serialised by construction: a request runs to completion, its state
 * sealed, before the next one is read. Bodies are collected up to the method's limit; anything
 * larger is answered 413 without being buffered.
 */
#include <libwebsockets.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/clock.h"
#include "ferry/log.h"
#include "ferry/worker.h"
#include "ferry/workerapi.h"
#include "internal.h"

#define DEFAULT_LIMIT (100u << 20)

struct ferry_workerapi_server {
    struct lws_context *ctx;
    struct ferry_worker *w;
    size_t body_limit;
    uint16_t port;
    volatile sig_atomic_t stop;
    unsigned active; /* requests between their headers and their response written (service
                      * thread only): run() finishes these before returning */
};

struct conn {
    bool active; /* counted in the server's `active` */
    char method[80];
    size_t method_len;
    bool known_path;
    bool json;
    bool too_large;
    size_t limit;
    uint8_t *body;
    size_t len, cap;
    uint8_t *out; /* LWS_PRE headroom + body */
    size_t out_len;
};

static void conn_reset(struct ferry_workerapi_server *s, struct conn *c)
{
    if (c->active && s && s->active)
        s->active--;
    free(c->body);
    free(c->out);
    memset(c, 0, sizeof *c);
}

static int send_response(struct lws *wsi, struct conn *c, const struct ferry_workerapi_response *r)
{
    unsigned char hdr[LWS_PRE + 512], *p = hdr + LWS_PRE, *end = hdr + sizeof hdr - 1;
    c->out = malloc(LWS_PRE + r->len + 1);
    if (!c->out)
        return -1;
    if (r->len)
        memcpy(c->out + LWS_PRE, r->body, r->len);
    c->out_len = r->len;
    const char *ctype = r->json ? "application/json" : "application/octet-stream";
    if (lws_add_http_common_headers(wsi, (unsigned)r->status, ctype, r->len, &p, end) ||
        lws_finalize_write_http_header(wsi, hdr + LWS_PRE, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int error_response(struct lws *wsi, struct conn *c, int status, const char *msg)
{
    struct ferry_workerapi_response r;
    ferry_workerapi_error(&r, status, c->json, msg);
    int rc = send_response(wsi, c, &r);
    ferry_workerapi_response_free(&r);
    return rc;
}

static bool header_is(struct lws *wsi, enum lws_token_indexes tok, const char *prefix)
{
    char v[128];
    if (lws_hdr_copy(wsi, v, sizeof v, tok) <= 0)
        return false;
    return strncasecmp(v, prefix, strlen(prefix)) == 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct conn *c = user;
    struct lws_context *ctx = lws_get_context(wsi);
    struct ferry_workerapi_server *s = ctx ? lws_context_user(ctx) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        conn_reset(s, c);
        c->active = true;
        s->active++;
        const char *path = in ? (const char *)in : "";
        bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
        bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
        c->json = header_is(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, "application/json");
        char a[64];
        if (lws_hdr_copy(wsi, a, sizeof a, WSI_TOKEN_HTTP_URI_ARGS) > 0 &&
            strncmp(a, "json", 4) == 0)
            c->json = true;
        size_t pl = strlen(FERRY_WORKERAPI_PATH_PREFIX);
        if (strncmp(path, FERRY_WORKERAPI_PATH_PREFIX, pl) != 0 ||
            strlen(path + pl) >= sizeof c->method) {
            return error_response(wsi, c, 404,
                                  "unknown path (expected /prpc/PhactoryAPI.<Method>)");
        }
        c->method_len = strlen(path + pl);
        memcpy(c->method, path + pl, c->method_len);
        ferry_log_debug("worker", "%s: request started", c->method);
        enum ferry_workerapi_method m = ferry_workerapi_method_parse(c->method, c->method_len);
        c->limit = ferry_workerapi_body_limit(m);
        if (c->limit > s->body_limit)
            c->limit = s->body_limit;
        if (get) {
            if (m != FERRY_WORKERAPI_GET_INFO)
                return error_response(wsi, c, 405, "only GetInfo answers GET; use POST");
            struct ferry_workerapi_response r;
            ferry_workerapi_handle(s->w, c->method, c->method_len, NULL, 0, true, &r);
            int rc = send_response(wsi, c, &r);
            ferry_workerapi_response_free(&r);
            return rc;
        }
        if (!post)
            return error_response(wsi, c, 405, "use POST");
        char cl[32];
        if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
            unsigned long long n = strtoull(cl, NULL, 10);
            if (n > c->limit) {
                char msg[200];
                snprintf(msg, sizeof msg,
                         "%.40s: request body of %llu bytes is over the limit of %zu", c->method, n,
                         c->limit);
                c->too_large = true;
                return error_response(wsi, c, 413, msg);
            }
        }
        /* A body-less POST (Empty request) gets no BODY callbacks on every lws version: handle
         * it at completion, which lws raises for Content-Length 0 as well. */
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (c->too_large || c->out || !len)
            return 0;
        if (c->len + len > c->limit) {
            c->too_large = true;
            char msg[200];
            snprintf(msg, sizeof msg, "%.40s: request body is over the limit of %zu", c->method,
                     c->limit);
            return error_response(wsi, c, 413, msg);
        }
        if (c->len + len > c->cap) {
            size_t cap = c->cap ? c->cap : 4096;
            while (cap < c->len + len)
                cap *= 2;
            if (cap > c->limit)
                cap = c->limit;
            uint8_t *b = realloc(c->body, cap);
            if (!b)
                return -1;
            c->body = b;
            c->cap = cap;
        }
        if (len)
            memcpy(c->body + c->len, in, len);
        c->len += len;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
        if (c->too_large || c->out)
            return 0;
        struct ferry_workerapi_response r;
        ferry_workerapi_handle(s->w, c->method, c->method_len, c->body, c->len, c->json, &r);
        free(c->body);
        c->body = NULL;
        c->len = c->cap = 0;
        int rc = send_response(wsi, c, &r);
        ferry_workerapi_response_free(&r);
        return rc;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!c->out)
            break;
        int n = lws_write(wsi, c->out + LWS_PRE, c->out_len, LWS_WRITE_HTTP_FINAL);
        bool close = c->too_large;
        free(c->out);
        c->out = NULL;
        if (c->active) {
            c->active = false;
            s->active--;
        }
        if (n < 0 || close)
            return -1;
        if (lws_http_transaction_completed(wsi))
            return -1;
        break;
    }
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c)
            conn_reset(s, c);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"ferry-worker", callback, sizeof(struct conn), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_to_ferry_log(int level, const char *line)
{
    ferry_log_debug("lws", "%s", line);
}

ferry_err ferry_workerapi_server_start(struct ferry_workerapi_server **out, struct ferry_worker *w,
                                       const struct ferry_workerapi_server_config *cfg,
                                       struct ferry_reason *why)
{
    *out = NULL;
    struct ferry_workerapi_server *s = calloc(1, sizeof *s);
    if (!s)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    s->w = w;
    s->body_limit = cfg && cfg->body_limit ? cfg->body_limit : DEFAULT_LIMIT;
    lws_set_log_level(LLL_ERR, lws_to_ferry_log);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg ? cfg->port : 0; /* 0: lws binds a free port */
    info.iface = cfg && cfg->host ? cfg->host : "127.0.0.1";
    info.protocols = protocols;
    info.user = s;
    info.pt_serv_buf_size = 256 * 1024;
    info.count_threads = 1;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        free(s);
        return ferry_reason_set(why, FERRY_E_NET, "cannot listen on %s:%u",
                                cfg && cfg->host ? cfg->host : "127.0.0.1", cfg ? cfg->port : 0);
    }
    int port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->ctx, "default"));
    if (port <= 0) {
        lws_context_destroy(s->ctx);
        free(s);
        return ferry_reason_set(why, FERRY_E_NET, "cannot listen on %s:%u",
                                cfg && cfg->host ? cfg->host : "127.0.0.1", cfg ? cfg->port : 0);
    }
    s->port = (uint16_t)port;
    *out = s;
    return FERRY_OK;
}

uint16_t ferry_workerapi_server_port(const struct ferry_workerapi_server *s)
{
    return s->port;
}

void ferry_workerapi_server_run(struct ferry_workerapi_server *s)
{
    while (!s->stop)
        if (lws_service(s->ctx, 0) < 0)
            return;
    /* Stopping: finish the requests already started (their bodies may still be arriving), for
     * at most 30 s, then return. New connections are still accepted meanwhile but a client
     * that keeps sending does not hold the process forever. */
    int64_t deadline = ferry_deadline_ms(30000);
    while (s->active > 0) {
        if (lws_service(s->ctx, 0) < 0)
            return;
        if (ferry_deadline_passed(deadline)) {
            ferry_log_warn("worker", "stopping with %u request(s) unfinished after 30 s",
                           s->active);
            return;
        }
    }
}

void ferry_workerapi_server_stop(struct ferry_workerapi_server *s)
{
    s->stop = 1;
    lws_cancel_service(s->ctx);
}

void ferry_workerapi_server_free(struct ferry_workerapi_server *s)
{
    if (!s)
        return;
    lws_context_destroy(s->ctx);
    free(s);
}
