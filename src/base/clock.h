/* clock.h — a monotonic clock in seconds, for timings and benchmarks. */
#ifndef FL_BASE_CLOCK_H
#define FL_BASE_CLOCK_H

#include <time.h>

static inline double fl_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
