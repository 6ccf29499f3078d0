/* ferry_strerror: the one table of error descriptions. */
#include "ferry/error.h"

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
