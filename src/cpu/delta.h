/* delta.h — internal to cpu/: the Gated DeltaNet ops (delta.c). The delta
 * rule keeps grow-only per-thread scratch, so steady-state calls do not
 * allocate. */
#ifndef FL_CPU_DELTA_H
#define FL_CPU_DELTA_H

#include "backend/backend.h"
#include "base/pool.h"
#include "cpu/ops.h"

/* Runs of at least this many tokens use the chunked form. */
#define FL_CPU_DELTA_CHUNKED_MIN 16

typedef struct fl_cpu_delta fl_cpu_delta;

flint_status fl_cpu_delta_create(int32_t n_threads, fl_cpu_delta **out);
void fl_cpu_delta_free(fl_cpu_delta *d);
/* Deterministic mode (backend.h): the recurrence for runs of every length
 * (the chunked form rounds otherwise, and a run split anywhere would
 * change where its chunks start). */
void fl_cpu_delta_set_deterministic(fl_cpu_delta *d, bool on);
flint_status fl_cpu_delta_run(fl_cpu_delta *d, fl_pool *pool, const fl_cpu_kernels *kern, const fl_delta_params *p,
                              float *out, const float *q, const float *k, const float *v, const float *a,
                              const float *b, float *state, int64_t n);
/* K <= 16 taps (the loader checks). */
void fl_cpu_conv_silu(fl_pool *pool, const fl_cpu_kernels *kern, float *y, const float *x, const float *w,
                      float *state, int64_t n, int64_t C, int32_t K);

#endif
