/* PCCS client: the four requests pherry makes to assemble a quote's SgxV30 collateral.
 *
 *   GET {base}/pckcrl?ca=processor|platform  body: the PCK CRL; header SGX-PCK-CRL-Issuer-Chain
 *   GET {base}/rootcacrl                     body: the root CA CRL
 *   GET {base}/tcb?fmspc=<upper hex>         body: {"tcbInfo":{...},"signature":"<hex>"};
 *                                            header SGX-TCB-Info-Issuer-Chain (or TCB-Info-…)
 *   GET {base}/qe/identity                   body: {"enclaveIdentity":{...},"signature":"<hex>"};
 *                                            header SGX-Enclave-Identity-Issuer-Chain
 *
 * Issuer chains arrive URL-encoded in headers and are decoded. The signed JSON objects are kept as
 * the exact bytes the PCCS sent (the signature covers those bytes; re-serialising would break
 * it), so their span is located in the body by a small scanner after cJSON has validated the
 * whole body. CRLs are stored as hex text of DER whatever form they came in (hex, PEM or DER),
 * which is what Phala's runtime expects. Unlike pherry, TLS is verified unless opts->insecure.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ferry/attest.h"
#include "ferry/hex.h"

#define BODY_MAX   (1024 * 1024)
#define HEADER_MAX (64 * 1024)

struct buf {
    char *p;
    size_t len;
    bool too_large;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool buf_append(struct buf *b, const char *data, size_t n, size_t max)
{
    if (b->len + n > max) {
        b->too_large = true;
        return false;
    }
    char *np = realloc(b->p, b->len + n + 1);
    if (!np)
        return false;
    memcpy(np + b->len, data, n);
    b->p = np;
    b->len += n;
    b->p[b->len] = 0;
    return true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    return buf_append(arg, data, size * nmemb, BODY_MAX) ? size * nmemb : 0;
}

struct hdr {
    const char *const *names; /* accepted header names, NULL-terminated */
    struct buf value;
};

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct hdr *h = arg;
    size_t n = size * nmemb;
    if (!h->names)
        return n;
    for (const char *const *name = h->names; *name; name++) {
        size_t nl = strlen(*name);
        if (n > nl && data[nl] == ':' && strncasecmp(data, *name, nl) == 0) {
            const char *v = data + nl + 1;
            size_t vl = n - nl - 1;
            while (vl && (*v == ' ' || *v == '\t'))
                v++, vl--;
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
                vl--;
            free(h->value.p);
            h->value = (struct buf){0};
            if (!buf_append(&h->value, v, vl, HEADER_MAX))
                return 0;
        }
    }
    return n;
}

static ferry_err http_get(const struct ferry_pccs_opts *o, const char *url,
                          const char *const *header_names, struct buf *body, struct buf *header,
                          struct ferry_reason *why)
{
    *body = (struct buf){0};
    *header = (struct buf){0};
    CURL *e = curl_easy_init();
    if (!e)
        return FERRY_E_NOMEM;
    struct hdr h = {.names = header_names};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : 30000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
    CURLcode rc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    ferry_err err = FERRY_OK;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        err = ferry_reason_set(why, FERRY_E_TIMEOUT, "PCCS GET %s timed out", url);
    else if (rc == CURLE_WRITE_ERROR && body->too_large)
        err = ferry_reason_set(why, FERRY_E_INVALID, "PCCS GET %s: response larger than %d bytes",
                               url, BODY_MAX);
    else if (rc != CURLE_OK)
        err = ferry_reason_set(why, FERRY_E_NET, "PCCS GET %s failed: %s", url,
                               errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else if (status != 200)
        err = ferry_reason_set(why, FERRY_E_RPC, "PCCS GET %s answered HTTP %ld", url, status);
    else if (header_names && !h.value.p)
        err = ferry_reason_set(why, FERRY_E_INVALID, "PCCS GET %s: the response has no %s header",
                               url, header_names[0]);
    if (err) {
        free(body->p);
        free(h.value.p);
        *body = (struct buf){0};
        return err;
    }
    if (!body->p && !buf_append(body, "", 0, BODY_MAX)) {
        free(h.value.p);
        return FERRY_E_NOMEM;
    }
    *header = h.value;
    return FERRY_OK;
}

/* URL-decode an issuer-chain header in place into a PEM text. */
static ferry_err url_decode(struct buf *b, const char *what, struct ferry_reason *why)
{
    int n = 0;
    char *d = curl_easy_unescape(NULL, b->p, (int)b->len, &n);
    if (!d)
        return FERRY_E_NOMEM;
    free(b->p);
    b->p = malloc((size_t)n + 1);
    if (!b->p) {
        curl_free(d);
        return FERRY_E_NOMEM;
    }
    memcpy(b->p, d, (size_t)n);
    b->p[n] = 0;
    b->len = (size_t)n;
    curl_free(d);
    if (!strstr(b->p, "-----BEGIN CERTIFICATE-----"))
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "PCCS: the %s header is not a URL-encoded PEM chain", what);
    return FERRY_OK;
}

/* Normalise a CRL response (hex of DER, PEM or DER) to hex text of DER. */
static ferry_err crl_to_hex(struct buf *b, const char *what, struct ferry_reason *why)
{
    X509_CRL *crl = NULL;
    size_t n = b->len;
    while (n && isspace((unsigned char)b->p[n - 1]))
        n--;
    uint8_t *der = NULL;
    size_t der_len = 0;
    if (n >= 5 && memcmp(b->p, "-----", 5) == 0) {
        BIO *bio = BIO_new_mem_buf(b->p, (int)n);
        crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    } else if (ferry_hex_decode(b->p, n, &der, &der_len) == FERRY_OK) {
        const unsigned char *q = der;
        crl = d2i_X509_CRL(NULL, &q, (long)der_len);
        free(der);
    } else {
        const unsigned char *q = (const unsigned char *)b->p;
        crl = d2i_X509_CRL(NULL, &q, (long)b->len);
    }
    ERR_clear_error();
    if (!crl)
        return ferry_reason_set(why, FERRY_E_INVALID, "PCCS: the %s response is not a CRL", what);
    unsigned char *out = NULL;
    int len = i2d_X509_CRL(crl, &out);
    X509_CRL_free(crl);
    if (len <= 0)
        return FERRY_E_NOMEM;
    char *hex = ferry_hex_alloc(out, (size_t)len);
    OPENSSL_free(out);
    if (!hex)
        return FERRY_E_NOMEM;
    free(b->p);
    b->len = strlen(hex) - 2;
    b->p = malloc(b->len + 1);
    if (!b->p) {
        free(hex);
        return FERRY_E_NOMEM;
    }
    memcpy(b->p, hex + 2, b->len + 1);
    free(hex);
    return FERRY_OK;
}

/* ---- locating a member's raw value in a JSON object text ------------------------------------ */

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

/* Index just past the string starting at s[i] == '"', or 0. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return 0;
}

/* Index just past the value starting at s[i], or 0. Nesting is bounded by the input length. */
static size_t skip_value(const char *s, size_t i, size_t n)
{
    if (i >= n)
        return 0;
    if (s[i] == '"')
        return skip_string(s, i, n);
    if (s[i] != '{' && s[i] != '[') {
        while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && !isspace((unsigned char)s[i]))
            i++;
        return i;
    }
    size_t depth = 0;
    for (; i < n; i++) {
        if (s[i] == '"') {
            i = skip_string(s, i, n);
            if (!i)
                return 0;
            i--;
        } else if (s[i] == '{' || s[i] == '[') {
            depth++;
        } else if (s[i] == '}' || s[i] == ']') {
            if (--depth == 0)
                return i + 1;
        }
    }
    return 0;
}

/* The raw text of top-level member `name` of the (already cJSON-validated) object s[n]. */
static int member_span(const char *s, size_t n, const char *name, size_t *start, size_t *end)
{
    size_t i = skip_ws(s, 0, n), nl = strlen(name);
    if (i >= n || s[i] != '{')
        return 0;
    i++;
    for (;;) {
        i = skip_ws(s, i, n);
        if (i >= n || s[i] != '"')
            return 0;
        size_t k = i, ke = skip_string(s, i, n);
        if (!ke)
            return 0;
        i = skip_ws(s, ke, n);
        if (i >= n || s[i] != ':')
            return 0;
        i = skip_ws(s, i + 1, n);
        size_t ve = skip_value(s, i, n);
        if (!ve)
            return 0;
        if (ke - k - 2 == nl && memcmp(s + k + 1, name, nl) == 0) {
            *start = i;
            *end = ve;
            return 1;
        }
        i = skip_ws(s, ve, n);
        if (i >= n || s[i] != ',')
            return 0;
        i++;
    }
}

/* Split a {"<member>":{...},"signature":"hex"} body into the member's exact text and the
 * 64-byte signature. */
static ferry_err signed_body(struct buf *body, const char *member, const char *what,
                             struct buf *text, struct buf *sig, struct ferry_reason *why)
{
    cJSON *j = cJSON_ParseWithLength(body->p, body->len);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "signature");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, member);
    size_t a = 0, b = 0;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    ferry_err err = FERRY_OK;
    if (!cJSON_IsObject(m) || !cJSON_IsString(s) ||
        !member_span(body->p, body->len, member, &a, &b))
        err = ferry_reason_set(why, FERRY_E_INVALID,
                               "PCCS: the %s response is not {\"%s\": {...}, \"signature\": ...}",
                               what, member);
    else if (ferry_hex_decode(s->valuestring, strlen(s->valuestring), &raw, &raw_len) ||
             raw_len != 64)
        err = ferry_reason_set(why, FERRY_E_INVALID,
                               "PCCS: the %s signature is not 64 bytes of hex", what);
    if (!err) {
        *text = (struct buf){0};
        *sig = (struct buf){0};
        if (!buf_append(text, body->p + a, b - a, BODY_MAX) ||
            !buf_append(sig, (const char *)raw, 64, BODY_MAX))
            err = FERRY_E_NOMEM;
    }
    free(raw);
    cJSON_Delete(j);
    return err;
}

ferry_err ferry_pccs_fetch_collateral(const struct ferry_pccs_opts *opts,
                                      const struct ferry_sgx_pck_info *pck, uint8_t **out,
                                      size_t *out_len, struct ferry_reason *why)
{
    static const char *const h_pck[] = {"SGX-PCK-CRL-Issuer-Chain", NULL};
    static const char *const h_tcb[] = {"SGX-TCB-Info-Issuer-Chain", "TCB-Info-Issuer-Chain", NULL};
    static const char *const h_qe[] = {"SGX-Enclave-Identity-Issuer-Chain", NULL};
    *out = NULL;
    *out_len = 0;
    if (!opts || !opts->base_url || !*opts->base_url)
        return ferry_reason_set(why, FERRY_E_ARG, "no PCCS URL given");
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return ferry_reason_set(why, FERRY_E_NET, "libcurl could not be initialised");
    size_t bl = strlen(opts->base_url);
    while (bl && opts->base_url[bl - 1] == '/')
        bl--;
    char fmspc[13];
    for (int i = 0; i < 6; i++)
        snprintf(fmspc + 2 * i, 3, "%02X", pck->fmspc[i]);
    struct buf pck_crl = {0}, pck_chain = {0}, root_crl = {0}, none = {0}, tcb_body = {0},
               tcb_chain = {0}, qe_body = {0}, qe_chain = {0}, tcb = {0}, tcb_sig = {0}, qe = {0},
               qe_sig = {0};
    char *url = malloc(bl + 64);
    if (!url)
        return FERRY_E_NOMEM;
    ferry_err err;
    snprintf(url, bl + 64, "%.*s/pckcrl?ca=%s", (int)bl, opts->base_url,
             pck->platform_ca ? "platform" : "processor");
    err = http_get(opts, url, h_pck, &pck_crl, &pck_chain, why);
    if (!err)
        err = url_decode(&pck_chain, h_pck[0], why);
    if (!err)
        err = crl_to_hex(&pck_crl, "pckcrl", why);
    if (!err) {
        snprintf(url, bl + 64, "%.*s/rootcacrl", (int)bl, opts->base_url);
        err = http_get(opts, url, NULL, &root_crl, &none, why);
    }
    if (!err)
        err = crl_to_hex(&root_crl, "rootcacrl", why);
    if (!err) {
        snprintf(url, bl + 64, "%.*s/tcb?fmspc=%s", (int)bl, opts->base_url, fmspc);
        err = http_get(opts, url, h_tcb, &tcb_body, &tcb_chain, why);
    }
    if (!err)
        err = url_decode(&tcb_chain, h_tcb[0], why);
    if (!err)
        err = signed_body(&tcb_body, "tcbInfo", "tcb", &tcb, &tcb_sig, why);
    if (!err) {
        cJSON *j = cJSON_ParseWithLength(tcb.p, tcb.len);
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "fmspc");
        if (!cJSON_IsString(f) || strcasecmp(f->valuestring, fmspc) != 0)
            err = ferry_reason_set(why, FERRY_E_INVALID,
                                   "PCCS returned TCB info for FMSPC %.16s, not the platform's %s",
                                   cJSON_IsString(f) ? f->valuestring : "(none)", fmspc);
        cJSON_Delete(j);
    }
    if (!err) {
        snprintf(url, bl + 64, "%.*s/qe/identity", (int)bl, opts->base_url);
        err = http_get(opts, url, h_qe, &qe_body, &qe_chain, why);
    }
    if (!err)
        err = url_decode(&qe_chain, h_qe[0], why);
    if (!err)
        err = signed_body(&qe_body, "enclaveIdentity", "qe/identity", &qe, &qe_sig, why);
    if (!err) {
        struct ferry_dcap_collateral c = {
            .pck_crl_issuer_chain = {(uint8_t *)pck_chain.p, pck_chain.len},
            .root_ca_crl = {(uint8_t *)root_crl.p, root_crl.len},
            .pck_crl = {(uint8_t *)pck_crl.p, pck_crl.len},
            .tcb_info_issuer_chain = {(uint8_t *)tcb_chain.p, tcb_chain.len},
            .tcb_info = {(uint8_t *)tcb.p, tcb.len},
            .tcb_info_signature = {(uint8_t *)tcb_sig.p, tcb_sig.len},
            .qe_identity_issuer_chain = {(uint8_t *)qe_chain.p, qe_chain.len},
            .qe_identity = {(uint8_t *)qe.p, qe.len},
            .qe_identity_signature = {(uint8_t *)qe_sig.p, qe_sig.len},
        };
        err = ferry_dcap_collateral_encode(&c, out, out_len);
    }
    struct buf *all[] = {&pck_crl, &pck_chain, &root_crl, &none,    &tcb_body, &tcb_chain,
                         &qe_body, &qe_chain,  &tcb,      &tcb_sig, &qe,       &qe_sig};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]->p);
    free(url);
    return err;
}
