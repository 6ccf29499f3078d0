/* Leveled logging (see log.h). Lines are rendered outside the lock; one mutex serialises their
 * delivery to the sink (stderr by default) so concurrent threads never interleave. JSON escaping
 * goes through cJSON so messages cannot break the line format. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "ferry/log.h"

static enum ferry_log_level current_level = FERRY_LOG_INFO;
static bool json_lines;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static ferry_log_sink_fn sink; /* guarded by log_lock; NULL = stderr */
static void *sink_user;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void ferry_log_set_level(enum ferry_log_level level)
{
    current_level = level;
}

enum ferry_log_level ferry_log_get_level(void)
{
    return current_level;
}

int ferry_log_parse_level(const char *name, enum ferry_log_level *out)
{
    for (int i = 0; i <= FERRY_LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum ferry_log_level)i;
            return 1;
        }
    }
    return 0;
}

void ferry_log_set_json(bool json)
{
    json_lines = json;
}

void ferry_log_set_sink(ferry_log_sink_fn fn, void *user)
{
    pthread_mutex_lock(&log_lock);
    sink = fn;
    sink_user = user;
    pthread_mutex_unlock(&log_lock);
}

static void timestamp(char *buf, size_t cap)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

void ferry_log(enum ferry_log_level level, const char *component, const char *fmt, ...)
{
    if (level > current_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char ts[40];
    timestamp(ts, sizeof ts);
    char text[2200];
    char *json = NULL;
    const char *line = text;
    if (json_lines) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "ts", ts);
        cJSON_AddStringToObject(o, "level", level_names[level]);
        cJSON_AddStringToObject(o, "component", component);
        cJSON_AddStringToObject(o, "msg", msg);
        json = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!json)
            return;
        line = json;
    } else {
        static const char *const upper[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
        snprintf(text, sizeof text, "%s %s %s: %s", ts, upper[level], component, msg);
    }
    pthread_mutex_lock(&log_lock);
    if (sink) {
        sink(sink_user, level, component, line);
    } else {
        fprintf(stderr, "%s\n", line);
        fflush(stderr);
    }
    pthread_mutex_unlock(&log_lock);
    free(json);
}
