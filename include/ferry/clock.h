/* ferry — time for deadlines, waits and rates: the monotonic clock (never the wall clock, which
 * can jump), deadlines as absolute microseconds on it, sleeping, and condition variables that
 * wait on it.
 *
 *     int64_t deadline = ferry_deadline_ms(timeout_ms);
 *     pthread_mutex_lock(&mu);
 *     while (!ready && !ferry_deadline_passed(deadline))
 *         ferry_cond_wait_until(&cv, &mu, deadline);   // cv made by ferry_cond_init_monotonic
 */
#ifndef FERRY_CLOCK_H
#define FERRY_CLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Returns: CLOCK_MONOTONIC in microseconds. */
int64_t ferry_clock_us(void);

/* Returns: CLOCK_MONOTONIC in seconds (for rates and durations). */
double ferry_clock_s(void);

/* Returns: the deadline ms milliseconds from now, in ferry_clock_us() time. */
int64_t ferry_deadline_ms(uint32_t ms);

/* Returns: true once ferry_clock_us() has reached deadline_us. */
bool ferry_deadline_passed(int64_t deadline_us);

/* Sleep ms milliseconds (resumes after a signal until the time is up). */
void ferry_sleep_ms(uint32_t ms);

/* Initialise cv to time its waits on CLOCK_MONOTONIC (what ferry_cond_wait_until expects).
 * Returns: 0, or the pthread error. */
int ferry_cond_init_monotonic(pthread_cond_t *cv);

/* pthread_cond_timedwait on a monotonic cv until deadline_us (mu held).
 * Returns: 0 when woken (perhaps spuriously: re-check the condition), ETIMEDOUT. */
int ferry_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_us);

#endif
