/* ferry — operational metrics and health: a small Prometheus registry and the HTTP endpoint that
 * serves it.
 *
 * The registry holds gauges and counters by name and label set ("chain=\"relay\""), each a
 * double. The relay loop updates it; the server thread renders it in the Prometheus text
 * exposition format (version 0.0.4) on GET /metrics. Health is two answers:
 *   /healthz  200 while the loop is alive: it completed a step (or a deliberate wait) within the
 *             stall limit; 503 otherwise (hung). A supervisor restarts on this.
 *   /readyz   200 while the caller says it is ready (for ferry relay: the worker is within the
 *             configured lag of finality); 503 with the reason otherwise. A load balancer or an
 *             alert watches this; it is expected to be 503 while catching up.
 * The server binds the address it is given (the configuration defaults to 127.0.0.1), answers
 * one request per connection (Connection: close), GET and HEAD only, on its own thread.
 *
 * Thread-safe: every function may be called from any thread.
 */
#ifndef FERRY_METRICS_H
#define FERRY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

enum ferry_metric_type {
    FERRY_METRIC_GAUGE,
    FERRY_METRIC_COUNTER,
};

struct ferry_metrics;

/* Returns: a new empty registry, or NULL (OOM). */
struct ferry_metrics *ferry_metrics_new(void);
void ferry_metrics_free(struct ferry_metrics *m);

/* Declare a metric family (name [a-zA-Z_:][a-zA-Z0-9_:]*), its type and help line. Declaring
 * again replaces type and help. Samples of undeclared families are rendered as untyped.
 * Returns: FERRY_OK; FERRY_E_ARG (bad name); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_metrics_declare(struct ferry_metrics *m, const char *name,
                                                  enum ferry_metric_type type, const char *help);

/* Set / add to the sample name{labels} (labels NULL or "" for none, else the inside of the
 * braces, e.g. "chain=\"relay\""), creating it at 0. Silently ignored on OOM or a bad name
 * (metrics never stop the work they measure). */
void ferry_metrics_set(struct ferry_metrics *m, const char *name, const char *labels, double value);
void ferry_metrics_add(struct ferry_metrics *m, const char *name, const char *labels, double delta);

/* Returns: the sample's value; *found (optional) says whether it exists. */
double ferry_metrics_get(struct ferry_metrics *m, const char *name, const char *labels,
                         bool *found);

/* Render every family (in declaration order, samples in creation order).
 * Returns: a malloc'd NUL-terminated text, or NULL (OOM). */
char *ferry_metrics_render(struct ferry_metrics *m);

/* ---- health ------------------------------------------------------------------------------------
 */

/* The loop is alive now (call after every completed step and while waiting on purpose). */
void ferry_metrics_heartbeat(struct ferry_metrics *m);

/* Set readiness and its reason (copied; NULL = none). */
void ferry_metrics_set_ready(struct ferry_metrics *m, bool ready, const char *reason);

struct ferry_health {
    bool alive;          /* a heartbeat within the stall limit */
    double since_beat_s; /* seconds since the last heartbeat (-1: never) */
    bool ready;
    char reason[160];
};

/* Out: *h as of now, alive meaning a heartbeat within stall_s seconds. */
void ferry_metrics_health(struct ferry_metrics *m, uint32_t stall_s, struct ferry_health *h);

/* ---- parsing (tests, `ferry relay` checks of another instance)
 * ----------------------------------- */

/* Called for each sample of a parsed exposition. */
typedef void (*ferry_metrics_sample_fn)(void *user, const char *name, const char *labels,
                                        double value);

/* Parse Prometheus text: "# HELP name text", "# TYPE name gauge|counter|untyped|…", other "#"
 * comments, blank lines, and samples "name[{labels}] value [timestamp]". Label values may hold
 * escaped \" \\ \n; the labels are passed as written between the braces.
 * Returns: FERRY_OK; FERRY_E_INVALID (*why gives the line number and reason). */
FERRY_WARN_UNUSED ferry_err ferry_metrics_parse(const char *text, ferry_metrics_sample_fn fn,
                                                void *user, struct ferry_reason *why);

/* ---- the HTTP endpoint --------------------------------------------------------------------------
 */

struct ferry_httpd;

/* Bind host:port (host an IPv4 address; port 0 picks a free one) and serve /metrics, /healthz
 * and /readyz from m on a new thread.
 * Returns: FERRY_OK; FERRY_E_NET (cannot bind; *why names the address); FERRY_E_ARG;
 *          FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_httpd_start(const char *host, uint16_t port,
                                              struct ferry_metrics *m, uint32_t stall_s,
                                              struct ferry_httpd **out, struct ferry_reason *why);

/* Returns: the bound port. */
uint16_t ferry_httpd_port(const struct ferry_httpd *s);

/* Stop the thread (within ~250 ms), close the socket, free s. NULL is ignored. */
void ferry_httpd_stop(struct ferry_httpd *s);

#endif
