/* ferry_strerror: the one table of error descriptions. */
#include "ferry/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const messages[FERRY_E__COUNT] = {
    [FERRY_OK] = "success",
    [FERRY_E_TRUNCATED] = "input truncated",
    [FERRY_E_NONCANONICAL] = "non-canonical encoding",
    [FERRY_E_OVERFLOW] = "value out of range",
    [FERRY_E_INVALID] = "invalid input",
    [FERRY_E_UTF8] = "invalid UTF-8",
    [FERRY_E_TRAILING] = "trailing bytes after value",
    [FERRY_E_TOO_LARGE] = "length exceeds input or limit",
    [FERRY_E_NOMEM] = "out of memory",
    [FERRY_E_HEX] = "invalid hex string",
    [FERRY_E_JSON] = "invalid JSON",
    [FERRY_E_ARG] = "invalid argument",
    [FERRY_E_UNSUPPORTED] = "unsupported",
    [FERRY_E_NOT_FOUND] = "not found",
    [FERRY_E_VERIFY] = "verification failed",
    [FERRY_E_INCOMPLETE] = "proof incomplete",
    [FERRY_E_IO] = "I/O error",
    [FERRY_E_NET] = "network error",
    [FERRY_E_TIMEOUT] = "timed out",
    [FERRY_E_RPC] = "remote returned an error",
    [FERRY_E_RETRY] = "temporary failure, retry",
    [FERRY_E_STATE] = "invalid state for operation",
};

const char *ferry_strerror(ferry_err err)
{
    if ((unsigned)err >= FERRY_E__COUNT || messages[err] == 0)
        return "unknown error";
    return messages[err];
}

ferry_err ferry_reason_set(struct ferry_reason *why, ferry_err err, const char *fmt, ...)
{
    if (why) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why->text, sizeof why->text, fmt, ap);
        va_end(ap);
    }
    return err;
}

ferry_err ferry_reason_prefix(struct ferry_reason *why, ferry_err err, const char *fmt, ...)
{
    if (why) {
        char prefix[FERRY_REASON_MAX];
        char old[FERRY_REASON_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        size_t n;
        memcpy(old, why->text, sizeof old);
        old[sizeof old - 1] = '\0';
        n = strlen(prefix);
        memcpy(why->text, prefix, n + 1);
        if (n < sizeof why->text - 1) {
            size_t room = sizeof why->text - 1 - n, m = strlen(old);
            if (m > room)
                m = room;
            memcpy(why->text + n, old, m);
            why->text[n + m] = '\0';
        }
    }
    return err;
}
