/* The monotonic clock, deadlines, sleeping and monotonic condition waits (see clock.h): the one
 * place ferry reads time for anything but log timestamps. */
#include <errno.h>
#include <time.h>

#include "ferry/clock.h"

int64_t ferry_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double ferry_clock_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int64_t ferry_deadline_ms(uint32_t ms)
{
    return ferry_clock_us() + (int64_t)ms * 1000;
}

bool ferry_deadline_passed(int64_t deadline_us)
{
    return ferry_clock_us() >= deadline_us;
}

void ferry_sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int ferry_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc)
        return rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (!rc)
        rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

int ferry_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_us)
{
    struct timespec ts;
    if (deadline_us < 0)
        deadline_us = 0;
    ts.tv_sec = (time_t)(deadline_us / 1000000);
    ts.tv_nsec = (long)(deadline_us % 1000000) * 1000;
    return pthread_cond_timedwait(cv, mu, &ts);
}
