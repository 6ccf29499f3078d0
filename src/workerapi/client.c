/* ferry — worker API client: one POST per call over libcurl (Connection: close, as pherry). */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/bytes.h"
#include "ferry/workerapi.h"

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

ferry_err ferry_workerapi_call(const char *base_url, const char *method, const uint8_t *body,
                               size_t len, bool json, long timeout_ms, int *status, uint8_t **resp,
                               size_t *resp_len, struct ferry_reason *why)
{
    *status = 0;
    *resp = NULL;
    *resp_len = 0;
    size_t bl = strlen(base_url);
    while (bl && base_url[bl - 1] == '/')
        bl--;
    size_t ul = bl + strlen(FERRY_WORKERAPI_PATH_PREFIX) + strlen(method) + 1;
    char *url = malloc(ul);
    if (!url)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    memcpy(url, base_url, bl);
    strcpy(url + bl, FERRY_WORKERAPI_PATH_PREFIX);
    strcat(url, method);
    CURL *c = curl_easy_init();
    if (!c) {
        free(url);
        return ferry_reason_set(why, FERRY_E_NOMEM, "cannot create a curl handle");
    }
    struct sink s = {0};
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, json ? "Content-Type: application/json"
                                  : "Content-Type: application/octet-stream");
    h = curl_slist_append(h, "Expect:");
    h = curl_slist_append(h, "Connection: close");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (timeout_ms > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    CURLcode rc = curl_easy_perform(c);
    ferry_err err = FERRY_OK;
    if (rc != CURLE_OK) {
        err = ferry_reason_set(why, rc == CURLE_OPERATION_TIMEDOUT ? FERRY_E_TIMEOUT : FERRY_E_NET,
                               "%s: %s", url, curl_easy_strerror(rc));
        free(s.b.p);
    } else if (s.oom) {
        err = ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
        free(s.b.p);
    } else {
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        *status = (int)code;
        *resp = s.b.p ? s.b.p : calloc(1, 1);
        *resp_len = s.b.len;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(url);
    return err;
}
