/* Retry delays and failure classes for the relayer (include/ferry/backoff.h). */
#include <unistd.h>

#include "ferry/clock.h"
#include "ferry/backoff.h"

#define DEFAULT_INITIAL_MS 250u
#define DEFAULT_MAX_MS     30000u

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

void ferry_backoff_init(struct ferry_backoff *b, uint32_t initial_ms, uint32_t max_ms,
                        uint64_t seed)
{
    b->initial_ms = initial_ms ? initial_ms : DEFAULT_INITIAL_MS;
    b->max_ms = max_ms ? max_ms : DEFAULT_MAX_MS;
    if (b->max_ms < b->initial_ms)
        b->max_ms = b->initial_ms;
    b->current_ms = 0;
    b->failures = 0;
    if (!seed) {
        /* Jitter only needs processes started together to differ: the clock and the pid. */
        seed = ((uint64_t)ferry_clock_us() * 1000000007u) ^ ((uint64_t)getpid() << 32);
    }
    b->rng = seed ? seed : 0x9e3779b97f4a7c15u;
}

uint32_t ferry_backoff_next(struct ferry_backoff *b)
{
    if (b->current_ms == 0)
        b->current_ms = b->initial_ms;
    else if (b->current_ms > b->max_ms / 2)
        b->current_ms = b->max_ms;
    else
        b->current_ms *= 2;
    if (b->failures < UINT32_MAX)
        b->failures++;
    uint32_t half = b->current_ms / 2;
    uint32_t span = b->current_ms - half; /* delay in [half, current] */
    uint32_t d = half + (uint32_t)(xorshift(&b->rng) % ((uint64_t)span + 1));
    return d ? d : 1;
}

void ferry_backoff_reset(struct ferry_backoff *b)
{
    b->current_ms = 0;
    b->failures = 0;
}

static bool network_error(ferry_err err)
{
    return err == FERRY_E_NET || err == FERRY_E_TIMEOUT || err == FERRY_E_RETRY;
}

enum ferry_fault_class ferry_fault_classify(enum ferry_fault_origin origin, ferry_err err)
{
    if (err == FERRY_OK)
        return FERRY_FAULT_NONE;
    if (err == FERRY_E_NOMEM)
        return FERRY_FAULT_INTERNAL;
    switch (origin) {
    case FERRY_ORIGIN_NODE:
        return FERRY_FAULT_TRANSIENT;
    case FERRY_ORIGIN_WORKER:
        /* busy (FERRY_E_RPC: an HTTP 5xx without a verdict) or unreachable: wait for it;
         * anything else is a refusal of input ferry verified, or an undecodable answer */
        if (network_error(err) || err == FERRY_E_IO || err == FERRY_E_RPC)
            return FERRY_FAULT_TRANSIENT;
        return FERRY_FAULT_WORKER;
    case FERRY_ORIGIN_CHAIN:
        if (network_error(err) || err == FERRY_E_RPC)
            return FERRY_FAULT_TRANSIENT;
        return FERRY_FAULT_CHAIN;
    case FERRY_ORIGIN_STORE:
        return FERRY_FAULT_IO;
    case FERRY_ORIGIN_CONFIG:
        return err == FERRY_E_IO ? FERRY_FAULT_IO : FERRY_FAULT_USAGE;
    }
    return FERRY_FAULT_INTERNAL;
}

bool ferry_fault_is_permanent(enum ferry_fault_class c)
{
    return c != FERRY_FAULT_NONE && c != FERRY_FAULT_TRANSIENT;
}

const char *ferry_fault_name(enum ferry_fault_class c)
{
    switch (c) {
    case FERRY_FAULT_NONE:
        return "none";
    case FERRY_FAULT_TRANSIENT:
        return "transient";
    case FERRY_FAULT_USAGE:
        return "usage";
    case FERRY_FAULT_IO:
        return "io";
    case FERRY_FAULT_CHAIN:
        return "chain";
    case FERRY_FAULT_WORKER:
        return "worker";
    case FERRY_FAULT_ACCOUNT:
        return "account";
    case FERRY_FAULT_ATTEST:
        return "attestation";
    case FERRY_FAULT_INTERNAL:
        return "internal";
    }
    return "internal";
}

int ferry_fault_exit_status(enum ferry_fault_class c)
{
    return (int)c;
}
