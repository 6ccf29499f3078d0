/* Metrics registry, Prometheus text rendering and parsing, and the /metrics /healthz /readyz
 * server (include/ferry/metrics.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ferry/clock.h"
#include "ferry/metrics.h"

struct sample {
    char *labels; /* "" for none */
    double value;
};

struct family {
    char *name;
    char *help; /* NULL: undeclared */
    enum ferry_metric_type type;
    bool declared;
    struct sample *s;
    size_t n, cap;
};

struct ferry_metrics {
    pthread_mutex_t mu;
    struct family *f;
    size_t n, cap;
    int64_t beat_us;
    bool beaten;
    bool ready;
    char reason[160];
};

struct ferry_metrics *ferry_metrics_new(void)
{
    struct ferry_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    pthread_mutex_init(&m->mu, NULL);
    snprintf(m->reason, sizeof m->reason, "starting");
    return m;
}

void ferry_metrics_free(struct ferry_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        for (size_t j = 0; j < m->f[i].n; j++)
            free(m->f[i].s[j].labels);
        free(m->f[i].s);
        free(m->f[i].name);
        free(m->f[i].help);
    }
    free(m->f);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static bool valid_name(const char *s)
{
    if (!s || !*s || !(isalpha((unsigned char)*s) || *s == '_' || *s == ':'))
        return false;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == ':'))
            return false;
    return true;
}

/* Called with the lock held. */
static struct family *family(struct ferry_metrics *m, const char *name, bool create)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->f[i].name, name))
            return &m->f[i];
    if (!create)
        return NULL;
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 32;
        struct family *nf = realloc(m->f, nc * sizeof *nf);
        if (!nf)
            return NULL;
        m->f = nf;
        m->cap = nc;
    }
    struct family *f = &m->f[m->n];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    if (!f->name)
        return NULL;
    m->n++;
    return f;
}

static struct sample *sample(struct family *f, const char *labels, bool create)
{
    if (!labels)
        labels = "";
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->s[i].labels, labels))
            return &f->s[i];
    if (!create)
        return NULL;
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 4;
        struct sample *ns = realloc(f->s, nc * sizeof *ns);
        if (!ns)
            return NULL;
        f->s = ns;
        f->cap = nc;
    }
    struct sample *s = &f->s[f->n];
    s->labels = strdup(labels);
    if (!s->labels)
        return NULL;
    s->value = 0;
    f->n++;
    return s;
}

ferry_err ferry_metrics_declare(struct ferry_metrics *m, const char *name,
                                enum ferry_metric_type type, const char *help)
{
    if (!valid_name(name))
        return FERRY_E_ARG;
    pthread_mutex_lock(&m->mu);
    struct family *f = family(m, name, true);
    char *h = f ? strdup(help ? help : "") : NULL;
    if (h) {
        free(f->help);
        f->help = h;
        f->type = type;
        f->declared = true;
    }
    pthread_mutex_unlock(&m->mu);
    return h ? FERRY_OK : FERRY_E_NOMEM;
}

static void update(struct ferry_metrics *m, const char *name, const char *labels, double v,
                   bool add)
{
    if (!valid_name(name))
        return;
    pthread_mutex_lock(&m->mu);
    struct family *f = family(m, name, true);
    struct sample *s = f ? sample(f, labels, true) : NULL;
    if (s)
        s->value = add ? s->value + v : v;
    pthread_mutex_unlock(&m->mu);
}

void ferry_metrics_set(struct ferry_metrics *m, const char *name, const char *labels, double value)
{
    update(m, name, labels, value, false);
}

void ferry_metrics_add(struct ferry_metrics *m, const char *name, const char *labels, double delta)
{
    update(m, name, labels, delta, true);
}

double ferry_metrics_get(struct ferry_metrics *m, const char *name, const char *labels, bool *found)
{
    pthread_mutex_lock(&m->mu);
    struct family *f = family(m, name, false);
    struct sample *s = f ? sample(f, labels, false) : NULL;
    double v = s ? s->value : 0;
    pthread_mutex_unlock(&m->mu);
    if (found)
        *found = s != NULL;
    return v;
}

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bprintf(struct buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->p && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = (b->cap ? b->cap : 1024);
        while (nc < b->len + (size_t)n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
}

static void render_value(struct buf *b, double v)
{
    if (isnan(v))
        bprintf(b, "NaN");
    else if (isinf(v))
        bprintf(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(int64_t)v && fabs(v) < 9e15)
        bprintf(b, "%lld", (long long)v);
    else
        bprintf(b, "%.17g", v);
}

char *ferry_metrics_render(struct ferry_metrics *m)
{
    struct buf b = {0};
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++) {
        const struct family *f = &m->f[i];
        if (f->declared) {
            bprintf(&b, "# HELP %s ", f->name);
            for (const char *h = f->help; *h; h++) /* help escapes \ and newline */
                bprintf(&b, "%s", *h == '\\' ? "\\\\" : *h == '\n' ? "\\n" : (char[2]){*h, 0});
            bprintf(&b, "\n# TYPE %s %s\n", f->name,
                    f->type == FERRY_METRIC_COUNTER ? "counter" : "gauge");
        }
        for (size_t j = 0; j < f->n; j++) {
            if (f->s[j].labels[0])
                bprintf(&b, "%s{%s} ", f->name, f->s[j].labels);
            else
                bprintf(&b, "%s ", f->name);
            render_value(&b, f->s[j].value);
            bprintf(&b, "\n");
        }
    }
    pthread_mutex_unlock(&m->mu);
    if (!b.p && !b.oom)
        bprintf(&b, "%s", "");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

void ferry_metrics_heartbeat(struct ferry_metrics *m)
{
    int64_t now = ferry_clock_us();
    pthread_mutex_lock(&m->mu);
    m->beat_us = now;
    m->beaten = true;
    pthread_mutex_unlock(&m->mu);
}

void ferry_metrics_set_ready(struct ferry_metrics *m, bool ready, const char *reason)
{
    pthread_mutex_lock(&m->mu);
    m->ready = ready;
    snprintf(m->reason, sizeof m->reason, "%s", reason ? reason : "");
    pthread_mutex_unlock(&m->mu);
}

void ferry_metrics_health(struct ferry_metrics *m, uint32_t stall_s, struct ferry_health *h)
{
    int64_t now = ferry_clock_us();
    pthread_mutex_lock(&m->mu);
    h->since_beat_s = m->beaten ? (double)(now - m->beat_us) * 1e-6 : -1;
    h->alive = m->beaten && h->since_beat_s <= (double)stall_s;
    h->ready = m->ready;
    snprintf(h->reason, sizeof h->reason, "%s", m->reason);
    pthread_mutex_unlock(&m->mu);
}

/* ---- parsing -----------------------------------------------------------------------------------
 */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static bool parse_number(const char *p, const char **end, double *v)
{
    if (!strncmp(p, "+Inf", 4) || !strncmp(p, "-Inf", 4) || !strncmp(p, "NaN", 3)) {
        *v = p[0] == 'N' ? NAN : p[0] == '-' ? -INFINITY : INFINITY;
        *end = p + (p[0] == 'N' ? 3 : 4);
        return true;
    }
    char *e;
    errno = 0;
    *v = strtod(p, &e);
    if (e == p || errno == ERANGE)
        return false;
    *end = e;
    return true;
}

/* Labels: name="value"(,name="value")* with escapes in values; returns the position of '}'. */
static const char *scan_labels(const char *p)
{
    for (;;) {
        p = skip_ws(p);
        if (*p == '}')
            return p;
        if (!(isalpha((unsigned char)*p) || *p == '_'))
            return NULL;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        p = skip_ws(p);
        if (*p++ != '=')
            return NULL;
        p = skip_ws(p);
        if (*p++ != '"')
            return NULL;
        while (*p && *p != '"' && *p != '\n') {
            if (*p == '\\') {
                p++;
                if (*p != '"' && *p != '\\' && *p != 'n')
                    return NULL;
            }
            p++;
        }
        if (*p++ != '"')
            return NULL;
        p = skip_ws(p);
        if (*p == ',')
            p++;
        else if (*p != '}')
            return NULL;
    }
}

ferry_err ferry_metrics_parse(const char *text, ferry_metrics_sample_fn fn, void *user,
                              struct ferry_reason *why)
{
    unsigned line = 0;
    const char *p = text;
    while (*p) {
        line++;
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        char *l = strndup(p, n);
        if (!l)
            return FERRY_E_NOMEM;
        ferry_err err = FERRY_OK;
        const char *q = skip_ws(l);
        if (*q == 0) {
            /* blank */
        } else if (*q == '#') {
            q = skip_ws(q + 1);
            if (!strncmp(q, "TYPE ", 5)) {
                char name[200], type[32];
                if (sscanf(q + 5, "%199s %31s", name, type) != 2 || !valid_name(name) ||
                    (strcmp(type, "gauge") && strcmp(type, "counter") && strcmp(type, "untyped") &&
                     strcmp(type, "histogram") && strcmp(type, "summary")))
                    err = ferry_reason_set(why, FERRY_E_INVALID, "line %u: bad TYPE line", line);
            } else if (!strncmp(q, "HELP ", 5)) {
                char name[200];
                if (sscanf(q + 5, "%199s", name) != 1 || !valid_name(name))
                    err = ferry_reason_set(why, FERRY_E_INVALID, "line %u: bad HELP line", line);
            }
        } else {
            const char *s = q;
            while (isalnum((unsigned char)*q) || *q == '_' || *q == ':')
                q++;
            char *name = strndup(s, (size_t)(q - s));
            char *labels = NULL;
            if (!name)
                err = FERRY_E_NOMEM;
            else if (!valid_name(name))
                err = ferry_reason_set(why, FERRY_E_INVALID, "line %u: bad metric name", line);
            if (!err && *q == '{') {
                const char *close = scan_labels(q + 1);
                if (!close)
                    err = ferry_reason_set(why, FERRY_E_INVALID, "line %u: bad labels", line);
                else {
                    labels = strndup(q + 1, (size_t)(close - q - 1));
                    if (!labels)
                        err = FERRY_E_NOMEM;
                    q = close + 1;
                }
            }
            double v = 0;
            if (!err) {
                const char *after = skip_ws(q);
                const char *end;
                if (after == q || !parse_number(after, &end, &v))
                    err = ferry_reason_set(why, FERRY_E_INVALID, "line %u: bad sample value", line);
                else {
                    end = skip_ws(end);
                    if (*end) { /* optional integer timestamp */
                        char *e2;
                        (void)strtoll(end, &e2, 10);
                        if (e2 == end || *skip_ws(e2))
                            err = ferry_reason_set(why, FERRY_E_INVALID,
                                                   "line %u: trailing text after the value", line);
                    }
                }
            }
            if (!err && fn)
                fn(user, name, labels ? labels : "", v);
            free(name);
            free(labels);
        }
        free(l);
        if (err)
            return err;
        p += n + (eol ? 1 : 0);
    }
    return FERRY_OK;
}

/* ---- HTTP server ------------------------------------------------------------------------------
 */

struct ferry_httpd {
    int fd;
    uint16_t port;
    struct ferry_metrics *m;
    uint32_t stall_s;
    atomic_bool stop;
    pthread_t thread;
};

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, int status, const char *ctype, const char *body, bool head)
{
    const char *text = status == 200   ? "OK"
                       : status == 404 ? "Not Found"
                       : status == 405 ? "Method Not Allowed"
                       : status == 400 ? "Bad Request"
                                       : "Service Unavailable";
    char hdr[256];
    size_t len = strlen(body);
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, text, ctype, len);
    send_all(fd, hdr, (size_t)n);
    if (!head)
        send_all(fd, body, len);
}

static void serve(struct ferry_httpd *s, int fd)
{
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char req[4096];
    size_t got = 0;
    while (got < sizeof req - 1) {
        ssize_t r = recv(fd, req + got, sizeof req - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        req[got] = 0;
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[got] = 0;
    char method[8], path[256];
    if (sscanf(req, "%7s %255s", method, path) != 2) {
        respond(fd, 400, "text/plain", "bad request\n", false);
        return;
    }
    bool head = !strcmp(method, "HEAD");
    if (!head && strcmp(method, "GET")) {
        respond(fd, 405, "text/plain", "only GET and HEAD\n", false);
        return;
    }
    char *q = strchr(path, '?');
    if (q)
        *q = 0;
    if (!strcmp(path, "/metrics")) {
        char *text = ferry_metrics_render(s->m);
        respond(fd, text ? 200 : 503, "text/plain; version=0.0.4; charset=utf-8",
                text ? text : "out of memory\n", head);
        free(text);
        return;
    }
    struct ferry_health h;
    ferry_metrics_health(s->m, s->stall_s, &h);
    char body[320];
    if (!strcmp(path, "/healthz")) {
        if (h.alive)
            snprintf(body, sizeof body, "ok: last step %.1f s ago\n", h.since_beat_s);
        else if (h.since_beat_s < 0)
            snprintf(body, sizeof body, "starting: no step completed yet\n");
        else
            snprintf(body, sizeof body, "stalled: no step completed for %.0f s (limit %u s)\n",
                     h.since_beat_s, s->stall_s);
        /* before the first step the process is starting, not hung */
        respond(fd, h.alive || h.since_beat_s < 0 ? 200 : 503, "text/plain", body, head);
        return;
    }
    if (!strcmp(path, "/readyz")) {
        snprintf(body, sizeof body, "%s: %s\n", h.ready ? "ready" : "not ready", h.reason);
        respond(fd, h.ready ? 200 : 503, "text/plain", body, head);
        return;
    }
    respond(fd, 404, "text/plain", "not found: /metrics /healthz /readyz\n", head);
}

static void *httpd_main(void *arg)
{
    struct ferry_httpd *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {s->fd, POLLIN, 0};
        int r = poll(&pfd, 1, 250);
        if (r <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve(s, c);
        close(c);
    }
    return NULL;
}

ferry_err ferry_httpd_start(const char *host, uint16_t port, struct ferry_metrics *m,
                            uint32_t stall_s, struct ferry_httpd **out, struct ferry_reason *why)
{
    *out = NULL;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    const char *h = !host || !strcmp(host, "localhost") ? "127.0.0.1" : host;
    if (inet_pton(AF_INET, h, &sa.sin_addr) != 1)
        return ferry_reason_set(why, FERRY_E_ARG, "metrics: \"%s\" is not an IPv4 address", h);
    struct ferry_httpd *s = calloc(1, sizeof *s);
    if (!s)
        return FERRY_E_NOMEM;
    s->m = m;
    s->stall_s = stall_s;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (s->fd >= 0)
        setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t sl = sizeof sa;
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof sa) || listen(s->fd, 16) ||
        getsockname(s->fd, (struct sockaddr *)&sa, &sl)) {
        ferry_err err = ferry_reason_set(why, FERRY_E_NET, "metrics: cannot listen on %s:%u: %s", h,
                                         port, strerror(errno));
        if (s->fd >= 0)
            close(s->fd);
        free(s);
        return err;
    }
    s->port = ntohs(sa.sin_port);
    if (pthread_create(&s->thread, NULL, httpd_main, s)) {
        close(s->fd);
        free(s);
        return FERRY_E_NOMEM;
    }
    *out = s;
    return FERRY_OK;
}

uint16_t ferry_httpd_port(const struct ferry_httpd *s)
{
    return s->port;
}

void ferry_httpd_stop(struct ferry_httpd *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->fd);
    free(s);
}
