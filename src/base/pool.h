/* pool.h — the persistent thread pool: n-1 workers plus the caller, fork/join
 * over task indices with a spin-then-sleep wait. No allocation per call, no
 * OpenMP. One job runs at a time per pool (calls are serialized by the
 * caller: a pool belongs to one context). */
#ifndef FL_BASE_POOL_H
#define FL_BASE_POOL_H

#include <stdint.h>

#include "flint.h"

typedef struct fl_pool fl_pool;

/* fn(ctx, task, thread): runs once for each task in [0, n_tasks); thread in
 * [0, n_threads) names the running thread (for per-thread scratch). */
typedef void (*fl_pool_fn)(void *ctx, int64_t task, int32_t thread);

/* n_threads <= 0 means the number of physical cores. */
flint_status fl_pool_create(int32_t n_threads, fl_pool **out);
void fl_pool_free(fl_pool *pool);
int32_t fl_pool_threads(const fl_pool *pool);

/* Runs fn over [0, n_tasks) on all threads (the caller included) and
 * returns when every task is done. Tasks are handed out dynamically, one
 * index at a time, so uneven tasks balance. */
void fl_pool_run(fl_pool *pool, int64_t n_tasks, fl_pool_fn fn, void *ctx);

/* Splits [0, n) into the part that task t of n_tasks owns, aligned to
 * multiples of align (the last part takes the remainder). */
static inline void fl_split_range(int64_t n, int64_t n_tasks, int64_t t, int64_t align, int64_t *begin, int64_t *end) {
    int64_t units = (n + align - 1) / align;
    int64_t per = units / n_tasks, extra = units % n_tasks;
    int64_t b = t * per + (t < extra ? t : extra);
    int64_t e = b + per + (t < extra ? 1 : 0);
    *begin = b * align < n ? b * align : n;
    *end = e * align < n ? e * align : n;
}

/* Physical cores of this machine (logical CPUs when unknown). */
int32_t fl_physical_cores(void);

#endif
