/* ferry — worker API client over libcurl: one POST per call, either on a connection of its own
 * (Connection: close, as pherry) or on a connection kept between calls (the relayer). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/bytes.h"
#include "ferry/workerapi.h"

struct ferry_workerapi_conn {
    CURL *curl;
    struct curl_slist *headers;
};

struct sink {
    struct ferry_buf b;
    bool oom;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t k = size * n;
    if (ferry_buf_append(&s->b, p, k)) {
        s->oom = true;
        return 0;
    }
    return k;
}

/* The handle and headers of a connection: kept (keep) or for one call. NULL when out of memory. */
static struct ferry_workerapi_conn *conn_new(bool json, bool keep)
{
    struct ferry_workerapi_conn *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->curl = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, json ? "Content-Type: application/json"
                                                        : "Content-Type: application/octet-stream");
    struct curl_slist *h2 = h ? curl_slist_append(h, "Expect:") : NULL;
    struct curl_slist *h3 = h2 && !keep ? curl_slist_append(h2, "Connection: close") : h2;
    k->headers = h3 ? h3 : h2 ? h2 : h;
    if (!k->curl || !h3) {
        ferry_workerapi_conn_close(&k);
        return NULL;
    }
    return k;
}

void ferry_workerapi_conn_close(struct ferry_workerapi_conn **conn)
{
    if (!*conn)
        return;
    if ((*conn)->curl)
        curl_easy_cleanup((*conn)->curl);
    curl_slist_free_all((*conn)->headers);
    free(*conn);
    *conn = NULL;
}

/* POST on k; the rest as ferry_workerapi_post. */
static ferry_err post(struct ferry_workerapi_conn *k, const char *base_url, const char *method,
                      const uint8_t *body, size_t len, long timeout_ms, int *status, uint8_t **resp,
                      size_t *resp_len, unsigned long *connects, struct ferry_reason *why)
{
    *status = 0;
    *resp = NULL;
    *resp_len = 0;
    size_t bl = strlen(base_url);
    while (bl && base_url[bl - 1] == '/')
        bl--;
    char url[1024];
    int n = snprintf(url, sizeof url, "%.*s%s%s", (int)bl, base_url, FERRY_WORKERAPI_PATH_PREFIX,
                     method);
    if (n < 0 || (size_t)n >= sizeof url)
        return ferry_reason_set(why, FERRY_E_ARG, "worker URL too long");
    CURL *c = k->curl;
    struct sink s = {{0}, false};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, len ? (const char *)body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, k->headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 0L);
    CURLcode rc = curl_easy_perform(c);
    if (connects) {
        long opened = 0;
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &opened);
        *connects += (unsigned long)opened;
    }
    if (rc != CURLE_OK) {
        free(s.b.p);
        return ferry_reason_set(why, rc == CURLE_OPERATION_TIMEDOUT ? FERRY_E_TIMEOUT : FERRY_E_NET,
                                "%s: %s", url, curl_easy_strerror(rc));
    }
    if (s.oom) {
        free(s.b.p);
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    *status = (int)code;
    *resp = s.b.p ? s.b.p : calloc(1, 1);
    *resp_len = s.b.len;
    return *resp ? FERRY_OK : ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
}

ferry_err ferry_workerapi_call(const char *base_url, const char *method, const uint8_t *body,
                               size_t len, bool json, long timeout_ms, int *status, uint8_t **resp,
                               size_t *resp_len, struct ferry_reason *why)
{
    *status = 0;
    *resp = NULL;
    *resp_len = 0;
    struct ferry_workerapi_conn *k = conn_new(json, false);
    if (!k)
        return ferry_reason_set(why, FERRY_E_NOMEM, "cannot create a curl handle");
    ferry_err err =
        post(k, base_url, method, body, len, timeout_ms, status, resp, resp_len, NULL, why);
    ferry_workerapi_conn_close(&k);
    return err;
}

ferry_err ferry_workerapi_post(struct ferry_workerapi_conn **conn, const char *base_url,
                               const char *method, const uint8_t *body, size_t len, long timeout_ms,
                               int *status, uint8_t **resp, size_t *resp_len,
                               unsigned long *connects, struct ferry_reason *why)
{
    *status = 0;
    *resp = NULL;
    *resp_len = 0;
    if (!*conn && !(*conn = conn_new(false, true)))
        return ferry_reason_set(why, FERRY_E_NOMEM, "cannot create a curl handle");
    return post(*conn, base_url, method, body, len, timeout_ms, status, resp, resp_len, connects,
                why);
}
