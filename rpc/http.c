/* ferry rpc — the HTTP transport: one JSON-RPC POST per call (a batch is an array body) on the
 * libcurl easy API. One easy handle per client is kept for connection reuse and guarded by its
 * own mutex, so concurrent callers take turns; client.c does the JSON-RPC side. TLS is verified
 * against the system CA store unless the client was opened `insecure`. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/bytes.h"
#include "rpc/client.h"

struct http_state {
    pthread_mutex_t mu;
    CURL *easy;
    size_t url_index;
};

struct body {
    struct ferry_buf buf;
    size_t max;
    bool too_large;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static ferry_err http_open(struct ferry_rpc *c)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return FERRY_E_NET;
    struct http_state *h = calloc(1, sizeof *h);
    if (!h)
        return FERRY_E_NOMEM;
    h->easy = curl_easy_init();
    if (!h->easy) {
        free(h);
        return FERRY_E_NET;
    }
    pthread_mutex_init(&h->mu, NULL);
    c->tp = h;
    c->conn = CONN_OPEN; /* each call is its own connection: nothing to wait for */
    return FERRY_OK;
}

static void http_close(struct ferry_rpc *c)
{
    struct http_state *h = c->tp;
    if (!h)
        return;
    curl_easy_cleanup(h->easy);
    pthread_mutex_destroy(&h->mu);
    free(h);
    c->tp = NULL;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t n = size * nmemb;
    if (b->buf.len + n > b->max) {
        b->too_large = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (ferry_buf_append(&b->buf, data, n))
        return 0;
    return n;
}

/* One POST to one URL. */
static ferry_err post_once(struct ferry_rpc *c, CURL *e, const char *url, const char *body,
                           size_t len, uint32_t timeout_ms, struct body *out, long *status)
{
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (!hdrs)
        return FERRY_E_NOMEM;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (c->cfg.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = curl_easy_perform(e);
    curl_slist_free_all(hdrs);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    if (rc == CURLE_OK)
        return FERRY_OK;
    if (out->too_large) {
        rpc_note_error(c, "%s: response larger than %zu bytes", url, out->max);
        return FERRY_E_TOO_LARGE;
    }
    rpc_note_error(c, "%s: %s", url, curl_easy_strerror(rc));
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return FERRY_E_TIMEOUT;
    if (rc == CURLE_OUT_OF_MEMORY || rc == CURLE_WRITE_ERROR)
        return FERRY_E_NOMEM;
    return FERRY_E_NET;
}

static ferry_err http_post(struct ferry_rpc *c, const char *body, size_t len, uint32_t timeout_ms,
                           char **resp, size_t *resp_len, long *http_status)
{
    struct http_state *h = c->tp;
    ferry_err err = FERRY_E_NET;
    *resp = NULL;
    *resp_len = 0;
    *http_status = 0;
    pthread_mutex_lock(&h->mu);
    /* Try each URL once, starting from the last one that worked. */
    for (size_t tries = 0; tries < c->n_urls; tries++) {
        struct body b = {.max = c->cfg.max_message_bytes};
        const char *url = rpc_url(c, h->url_index);
        err = post_once(c, h->easy, url, body, len, timeout_ms, &b, http_status);
        if (!err) {
            if (!b.buf.p) {
                b.buf.p = calloc(1, 1);
                if (!b.buf.p) {
                    err = FERRY_E_NOMEM;
                    break;
                }
            }
            *resp = (char *)b.buf.p;
            *resp_len = b.buf.len;
            break;
        }
        free(b.buf.p);
        if (err != FERRY_E_NET)
            break; /* a timeout or an oversized answer would repeat elsewhere */
        h->url_index = (h->url_index + 1) % c->n_urls;
    }
    pthread_mutex_unlock(&h->mu);
    return err;
}

/* HTTP: perform the request now, in the caller's thread, and dispatch the answer. */
static void http_perform(struct ferry_rpc *c, struct ferry_rpc_pending *r, uint32_t timeout_ms)
{
    char *resp = NULL;
    size_t resp_len = 0;
    long status = 0;
    pthread_mutex_lock(&c->mu);
    if (c->closing) {
        rpc_req_fail(r, FERRY_E_STATE);
        pthread_mutex_unlock(&c->mu);
        return;
    }
    rpc_user_enter(c);
    rpc_inflight_push(c, r);
    pthread_mutex_unlock(&c->mu);
    ferry_err err =
        http_post(c, rpc_req_text(r), r->frame_len, timeout_ms, &resp, &resp_len, &status);
    pthread_mutex_lock(&c->mu);
    if (!err) {
        uint64_t before = c->stats.malformed;
        /* a hex answer is decoded in place and handed to r without a copy (fast.c) */
        struct rpc_rx_hex rxh;
        rpc_rx_hex_reset(&rxh);
        rpc_rx_hex_feed(&rxh, (unsigned char *)resp, &resp_len);
        if (rpc_dispatch_rx(c, &rxh, (unsigned char *)resp, resp_len,
                            r->where == WHERE_INFLIGHT ? r : NULL))
            resp = NULL;
        if (!r->done)
            err = c->stats.malformed != before && status >= 200 && status < 300 ? FERRY_E_JSON
                  : status >= 500 || status == 429                              ? FERRY_E_RETRY
                  : status >= 300                                               ? FERRY_E_NET
                                                                                : FERRY_E_JSON;
    }
    if (!r->done) {
        rpc_list_unlink(c, r);
        rpc_req_fail(r, err);
        atomic_store(&r->finished, true);
    }
    rpc_user_leave(c);
    pthread_mutex_unlock(&c->mu);
    free(resp);
}

static ferry_err http_submit(struct ferry_rpc *c, struct ferry_rpc_pending *r, uint32_t timeout_ms)
{
    http_perform(c, r, timeout_ms);
    return FERRY_OK;
}

static bool http_url_ok(const char *url)
{
    return url[strncmp(url, "http://", 7) == 0 ? 7 : 8] != 0;
}

const struct rpc_transport rpc_transport_http = {
    .name = "http",
    .streams = false,
    .url_ok = http_url_ok,
    .open = http_open,
    .submit = http_submit,
    .close = http_close,
};
