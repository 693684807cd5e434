/* The monotonic clock the gateway's threads time their waits and measurements by, so a
 * wall-clock step (NTP, an operator) neither stretches nor cuts a wait short. */
#ifndef GATEWAY_MONOTONIC_H
#define GATEWAY_MONOTONIC_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Nanoseconds on the monotonic clock (0 if it cannot be read). */
uint64_t gw_mono_ns(void);
/* The monotonic time ns from now, for pthread_cond_timedwait on a condition made by
 * gw_cond_init_monotonic. */
void gw_mono_deadline(struct timespec *out, uint64_t ns);
/* pthread_cond_init with waits timed on the monotonic clock; 0 or an error number. */
int gw_cond_init_monotonic(pthread_cond_t *cond);

#endif
