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

#if defined(__GNUC__)
#define FERRY_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define FERRY_WARN_UNUSED
#endif

#endif
