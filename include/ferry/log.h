/* ferry — leveled logging, as text or one JSON object per line, to stderr or to a sink the
 * program installs (a daemon redirecting its log to a file, syslog or a test buffer).
 *
 * Text:  2026-11-21T05:55:00.123Z INFO  follow: verified #1024 (set 3)
 * JSON:  {"ts":"2026-11-21T05:55:00.123Z","level":"info","component":"follow","msg":"…"}
 *
 * Secrets never reach a log line: callers log key names and public keys only, and nothing in
 * ferry passes secret material to these functions. Thread-safe.
 */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

#include <stdbool.h>

enum ferry_log_level {
    FERRY_LOG_ERROR = 0,
    FERRY_LOG_WARN,
    FERRY_LOG_INFO,
    FERRY_LOG_DEBUG,
};

/* Messages above level are dropped (default FERRY_LOG_INFO). */
void ferry_log_set_level(enum ferry_log_level level);
enum ferry_log_level ferry_log_get_level(void);

/* Parse "error", "warn", "info" or "debug". Returns: 1 on success. */
int ferry_log_parse_level(const char *name, enum ferry_log_level *out);

/* Switch between text (default) and JSON lines. */
void ferry_log_set_json(bool json);

/* Where finished lines go. Called once per line, serialised (never concurrently), with the line
 * rendered in the current format (text or JSON) and no trailing newline; also given the line's
 * level and component for filtering or routing. It must not call ferry_log (it would deadlock)
 * and should not block for long: every logging thread waits for it. */
typedef void (*ferry_log_sink_fn)(void *user, enum ferry_log_level level, const char *component,
                                  const char *line);

/* Send lines to fn(user, ...) from now on; fn == NULL restores the default (stderr, flushed after
 * each line). Returns once no line is being written to the previous sink, so the caller may
 * free what the previous user pointed to. */
void ferry_log_set_sink(ferry_log_sink_fn fn, void *user);

void ferry_log(enum ferry_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ferry_log_error(comp, ...) ferry_log(FERRY_LOG_ERROR, comp, __VA_ARGS__)
#define ferry_log_warn(comp, ...)  ferry_log(FERRY_LOG_WARN, comp, __VA_ARGS__)
#define ferry_log_info(comp, ...)  ferry_log(FERRY_LOG_INFO, comp, __VA_ARGS__)
#define ferry_log_debug(comp, ...) ferry_log(FERRY_LOG_DEBUG, comp, __VA_ARGS__)

#endif
