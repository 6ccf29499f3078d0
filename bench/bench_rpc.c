/* bench_rpc: JSON-RPC client throughput on loopback against the scripted test server (compiled
 * into this program; it runs its own service thread).
 *   - round trips per second, sequential (one request at a time) and pipelined (a window of
 *     requests in flight on the one connection), over WebSocket; HTTP sequential as a baseline;
 *   - MB/s for large (20 MiB) answers, against the same-run baseline of parsing the identical
 *     text with cJSON alone (the ceiling: the client must at least parse what it receives). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "ferry/jsonrpc.h"
#include "tests/unit/rpcserver.c"

#define WINDOW 64

static struct ferry_rpc *open_client(const char *url)
{
    const char *urls[1] = {url};
    struct ferry_rpc_config cfg = {0};
    cfg.urls = urls;
    cfg.n_urls = 1;
    struct ferry_rpc *c = NULL;
    if (ferry_rpc_open(&cfg, &c) || ferry_rpc_wait_connected(c, 5000)) {
        fprintf(stderr, "bench_rpc: cannot connect to %s\n", url);
        exit(1);
    }
    return c;
}

static void must(ferry_err err, const char *what)
{
    if (err) {
        fprintf(stderr, "bench_rpc: %s failed: %s\n", what, ferry_strerror(err));
        exit(1);
    }
}

static double sequential(struct ferry_rpc *c, int n)
{
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        cJSON *r = NULL;
        must(ferry_rpc_call(c, "echo", "[1]", 5000, &r, NULL), "echo");
        cJSON_Delete(r);
    }
    return n / (bench_now() - t0);
}

static double pipelined(struct ferry_rpc *c, int n)
{
    struct ferry_rpc_pending *win[WINDOW];
    double t0 = bench_now();
    int sent = 0, done = 0;
    while (done < n) {
        while (sent < n && sent - done < WINDOW) {
            must(ferry_rpc_send(c, "echo", "[1]", 5000, &win[sent % WINDOW]), "send");
            sent++;
        }
        cJSON *r = NULL;
        must(ferry_rpc_wait(win[done % WINDOW], &r, NULL), "wait");
        cJSON_Delete(r);
        done++;
    }
    return n / (bench_now() - t0);
}

int main(void)
{
    struct tu_rpcserver *srv = tu_rpcserver_start(0);
    if (!srv) {
        fprintf(stderr, "bench_rpc: cannot start the test server\n");
        return 1;
    }
    char ws[64], http[64];
    snprintf(ws, sizeof ws, "ws://127.0.0.1:%d", tu_rpcserver_port(srv));
    snprintf(http, sizeof http, "http://127.0.0.1:%d", tu_rpcserver_port(srv));
    struct ferry_rpc *c = open_client(ws);
    struct ferry_rpc *h = open_client(http);

    enum { N = 5000 };
    sequential(c, 200); /* warm up */
    double seq = sequential(c, N);
    double pipe = pipelined(c, N);
    double hseq = sequential(h, 1000);
    printf("bench_rpc: loopback, %d echo round trips each (client and server share this process)\n",
           N);
    printf("  ws sequential:            %8.0f req/s\n", seq);
    printf("  ws pipelined (window %d): %8.0f req/s  speed-up %.2fx vs sequential\n", WINDOW, pipe,
           pipe / seq);
    printf("  http sequential (baseline, 1000): %8.0f req/s  ws/http ratio %.2f\n", hseq,
           seq / hseq);

    size_t big = (size_t)20 << 20;
    char params[32];
    snprintf(params, sizeof params, "[%zu]", big);
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        double t0 = bench_now();
        cJSON *r = NULL;
        must(ferry_rpc_call(c, "big", params, 30000, &r, NULL), "big");
        double t = bench_now() - t0;
        if (!cJSON_IsString(r) || strlen(r->valuestring) != big) {
            fprintf(stderr, "bench_rpc: wrong big answer\n");
            return 1;
        }
        cJSON_Delete(r);
        if (t < best)
            best = t;
    }
    /* Baseline: parse the identical message text with cJSON alone. */
    struct smsg *m = big_answer(NULL, big, NULL);
    double pbest = 1e9;
    for (int i = 0; m && i < 5; i++) {
        double t0 = bench_now();
        cJSON *j = cJSON_ParseWithLength((const char *)m->buf + LWS_PRE, m->len);
        double t = bench_now() - t0;
        cJSON_Delete(j);
        if (t < pbest)
            pbest = t;
    }
    double mb = (double)big / 1e6;
    printf("  20 MiB answer (ws, 64 KiB fragments, best of 5): %7.1f MB/s  (%.0f ms)\n", mb / best,
           best * 1e3);
    printf("  cJSON parse of the same text (baseline):        %7.1f MB/s  ratio %.2f of baseline\n",
           mb / pbest, pbest / best);
    msg_free(m);
    ferry_rpc_close(h);
    ferry_rpc_close(c);
    tu_rpcserver_stop(srv);
    return 0;
}
