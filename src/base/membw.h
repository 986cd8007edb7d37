/* membw.h — this machine's memory read bandwidth, measured: the floor that
 * decode speed is compared against (bytes of weights per token over bytes
 * per second). */
#ifndef FL_BASE_MEMBW_H
#define FL_BASE_MEMBW_H

#include <stdint.h>

#include "base/pool.h"

/* Best of `reps` streaming reads of a buffer of `bytes` (much larger than
 * the last-level cache) on all threads of pool, in bytes per second; 0 if
 * the buffer cannot be allocated. */
double fl_read_bandwidth(fl_pool *pool, uint64_t bytes, int reps);

#endif
