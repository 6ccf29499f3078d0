/* ferry — error codes shared by every module.
 *
 * Every function that can fail returns a ferry_err; FERRY_OK is zero so `if (err)` reads
 * naturally. Decoders additionally record the byte offset and a static reason string in their
 * cursor (see scale.h) so a rejected input can be reported precisely.
 */
#ifndef FERRY_ERROR_H
#define FERRY_ERROR_H

typedef enum ferry_err {
    FERRY_OK = 0,
    FERRY_E_TRUNCATED,    /* input ended before the value was complete */
    FERRY_E_NONCANONICAL, /* a value encoded in a longer form than needed */
    FERRY_E_OVERFLOW,     /* a value too large for its target width */
    FERRY_E_INVALID,      /* malformed input (bad tag, bad bool, bad index, bad structure) */
    FERRY_E_UTF8,         /* a String that is not valid UTF-8 */
    FERRY_E_TRAILING,     /* bytes left after a value that must consume all input */
    FERRY_E_TOO_LARGE,    /* a length larger than the input or a configured limit */
    FERRY_E_NOMEM,        /* allocation failed */
    FERRY_E_HEX,          /* not a valid 0x-prefixed hex string */
    FERRY_E_JSON,         /* malformed or unexpected JSON */
    FERRY_E_ARG,          /* invalid argument from the caller */
    FERRY_E_UNSUPPORTED,  /* well-formed but not supported (unknown version, extension, ...) */
    FERRY_E_NOT_FOUND,    /* a looked-up item does not exist */
    FERRY_E_VERIFY,       /* a cryptographic or consensus verification failed */
    FERRY_E_INCOMPLETE,   /* a proof lacks a node needed to answer */
    FERRY_E_IO,           /* file or database I/O failed */
    FERRY_E_NET,          /* connection failed or was lost */
    FERRY_E_TIMEOUT,      /* a deadline passed */
    FERRY_E_RPC,          /* the remote returned a JSON-RPC error */
    FERRY_E_RETRY,        /* transient failure; the same call may succeed later */
    FERRY_E_STATE,        /* operation not valid in the current state */
    FERRY_E__COUNT
} ferry_err;

/* Returns: a static, human-readable description of err (never NULL). */
const char *ferry_strerror(ferry_err err);

/* ---- failure reasons ---------------------------------------------------------------------------
 *
 * The one way a failure's reason crosses the library: a function that can fail returns a
 * ferry_err and, when the caller passes a non-NULL `struct ferry_reason *why`, writes one
 * sentence there saying what failed and where ("header 4812: parent hash does not match block
 * 4811"). Callers that do not care pass NULL. The text is always NUL-terminated; on success it is
 * left untouched.
 *
 * The rule:
 *   - A public function that can fail for a reason worth telling takes `struct ferry_reason *why`
 *     as its last parameter (never `char *why, size_t cap`, `const char **why` or a length
 *     named whylen). It writes the reason with ferry_reason_set and returns the same error:
 *         return ferry_reason_set(why, FERRY_E_INVALID, "block %u: ...", n);
 *   - A caller that adds context to a callee's reason uses ferry_reason_prefix:
 *         return ferry_reason_prefix(why, err, "para %u: ", id);
 *   - Decoders keep their cursor (scale.h): an offset and a static reason, cheap on hot paths.
 *     Where a cursor's failure leaves the library it becomes a reason through
 *     ferry_reason_from_scale (scale.h): "<what>: <reason> at byte <n>".
 *   - A node's JSON-RPC error (struct ferry_rpc_error, jsonrpc.h) is data — its code and message
 *     decide retries — and becomes a reason through ferry_reason_rpc (jsonrpc.h).
 *   - Verdicts that are results rather than failures (grandpa.h's struct ferry_grandpa_verdict,
 *     with the reason codes of the conformance vectors) stay structured.
 * Reasons name things, never secrets: no key material or seed ever goes into one. */
#define FERRY_REASON_MAX 256

struct ferry_reason {
    char text[FERRY_REASON_MAX];
};

/* Format a reason into *why (NULL allowed: nothing happens). Returns err, so that
 *     return ferry_reason_set(why, FERRY_E_INVALID, "block %u: ...", n);
 * reads as one statement. */
ferry_err ferry_reason_set(struct ferry_reason *why, ferry_err err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefix an existing reason with context ("SyncHeader: " + reason). Returns err. */
ferry_err ferry_reason_prefix(struct ferry_reason *why, ferry_err err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#if defined(__GNUC__)
#define FERRY_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define FERRY_WARN_UNUSED
#endif

#endif
