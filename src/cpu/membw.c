/* membw.c — the streaming-read probe (membw.h): each thread of the pool
 * writes (first touch: its pages land near it) and then reads its own
 * contiguous slice of a buffer much larger than the last-level cache, with
 * the widest loads this CPU runs (the ISA the CPU backend would pick,
 * FLINT_ISA included) and 8 independent accumulators; best of several
 * passes. Results are cached per process: a probe reads gigabytes. */
#define _POSIX_C_SOURCE 200809L
#include "cpu/membw.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cpu/cpu.h"

enum { BLOCK = 512 }; /* the kernels' unit of length */

/* The reference: 64-bit loads, the probe this file replaced. */
static uint64_t read_scalar(const void *p, size_t n) {
    const uint64_t *w = p;
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (size_t i = 0; i < n / 8; i += 8) {
        a0 += w[i], a1 += w[i + 1], a2 += w[i + 2], a3 += w[i + 3];
        a4 += w[i + 4], a5 += w[i + 5], a6 += w[i + 6], a7 += w[i + 7];
    }
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

fl_membw_read_fn fl_membw_read_scalar(void) { return read_scalar; }

static fl_membw_read_fn pick_kernel(void) {
    fl_membw_read_fn fn = NULL;
    switch (fl_cpu_best_isa()) {
    case FL_ISA_AMX:
    case FL_ISA_AVX512: fn = fl_membw_read_avx512(); break;
    case FL_ISA_AVX2: fn = fl_membw_read_avx2(); break;
    case FL_ISA_NEON: fn = fl_membw_read_neon(); break;
    default: break;
    }
    return fn ? fn : read_scalar;
}

typedef struct probe {
    unsigned char *buf;
    int64_t n_blocks, n_tasks;
    fl_membw_read_fn read;
    int touch; /* 1: write the slice (first touch), 0: read it */
    uint64_t sink[256];
} probe;

static void slice(void *ctx, int64_t task, int32_t thread) {
    probe *p = ctx;
    int64_t b, e;
    fl_split_range(p->n_blocks, p->n_tasks, task, 8, &b, &e); /* page-aligned slices */
    unsigned char *s = p->buf + b * BLOCK;
    size_t n = (size_t)(e - b) * BLOCK;
    if (p->touch) memset(s, 1, n);
    else p->sink[thread & 255] += p->read(s, n);
}

double fl_membw_measure(fl_pool *pool, uint64_t bytes, int reps, fl_membw_read_fn read) {
    probe p = {.n_blocks = (int64_t)(bytes / BLOCK), .n_tasks = fl_pool_threads(pool), .read = read ? read : pick_kernel()};
    void *buf = NULL;
    if (p.n_blocks == 0 || posix_memalign(&buf, 4096, (size_t)p.n_blocks * BLOCK)) return 0;
    p.buf = buf;
    p.touch = 1;
    fl_pool_run(pool, p.n_tasks, slice, &p);
    p.touch = 0;
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = fl_now_seconds();
        fl_pool_run(pool, p.n_tasks, slice, &p);
        double bw = (double)p.n_blocks * BLOCK / (fl_now_seconds() - t0);
        if (bw > best) best = bw;
    }
    free(buf);
    return best;
}

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int32_t threads;
    uint64_t bytes;
    double bw;
} cache[16];
static int n_cache;

double fl_cpu_read_bandwidth(fl_pool *pool, uint64_t bytes, int reps) {
    int32_t threads = fl_pool_threads(pool);
    pthread_mutex_lock(&cache_lock); /* held while measuring: two probes at once would halve each other */
    double bw = 0;
    for (int i = 0; i < n_cache && bw == 0; i++)
        if (cache[i].threads == threads && cache[i].bytes == bytes) bw = cache[i].bw;
    if (bw == 0 && (bw = fl_membw_measure(pool, bytes, reps, NULL)) > 0 && n_cache < 16)
        cache[n_cache].threads = threads, cache[n_cache].bytes = bytes, cache[n_cache++].bw = bw;
    pthread_mutex_unlock(&cache_lock);
    return bw;
}
