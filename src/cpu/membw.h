/* membw.h — this machine's memory read bandwidth, measured: the floor that
 * decode speed is compared against (bytes of weights per token over bytes
 * per second). The probe reads with the widest loads the CPU has, as the
 * decode kernels do: a scalar loop is bound by load issue, not by memory
 * (on an AVX-512 server two threads of 64-bit loads read ~2/3 of what
 * two threads of 512-bit loads read), and would put the floor too low. */
#ifndef FL_CPU_MEMBW_H
#define FL_CPU_MEMBW_H

#include <stddef.h>
#include <stdint.h>

#include "base/pool.h"

/* Best of `reps` streaming reads of a buffer of `bytes` (much larger than
 * the last-level cache) on all threads of pool, each thread reading its
 * own slice, in bytes per second; 0 if the buffer cannot be allocated.
 * The result is kept per process for each (threads, bytes): the first
 * call reads reps x bytes, later ones read nothing. Thread-safe. */
double fl_cpu_read_bandwidth(fl_pool *pool, uint64_t bytes, int reps);

/* A read kernel: touches every byte of [p, p + n), p 64-byte aligned and n
 * a multiple of 512, and returns a value that depends on all of them (so
 * the loads cannot be dropped). */
typedef uint64_t (*fl_membw_read_fn)(const void *p, size_t n);

/* One uncached probe with a given kernel (NULL: the one
 * fl_cpu_read_bandwidth uses), for side-by-side comparisons. */
double fl_membw_measure(fl_pool *pool, uint64_t bytes, int reps, fl_membw_read_fn read);

/* The kernel of each ISA's translation unit; NULL where it is not built
 * for this architecture. */
fl_membw_read_fn fl_membw_read_scalar(void); /* 64-bit loads: the reference */
fl_membw_read_fn fl_membw_read_avx2(void);
fl_membw_read_fn fl_membw_read_avx512(void);
fl_membw_read_fn fl_membw_read_neon(void);

#endif
