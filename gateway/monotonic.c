#include "monotonic.h"

uint64_t gw_mono_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void gw_mono_deadline(struct timespec *out, uint64_t ns)
{
    /* Cannot fail for this clock and a valid pointer. */
    (void)clock_gettime(CLOCK_MONOTONIC, out);
    uint64_t nsec = (uint64_t)out->tv_nsec + ns % 1000000000u;
    out->tv_sec += (time_t)(ns / 1000000000u + nsec / 1000000000u);
    out->tv_nsec = (long)(nsec % 1000000000u);
}

int gw_cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}
