/* membw.c — a streaming-read probe: each thread sums its contiguous slice
 * of a large buffer with several independent accumulators, so the loop is
 * bound by memory, not by the adds. */
#define _POSIX_C_SOURCE 200809L
#include "base/membw.h"

#include "base/clock.h"

#include <stdlib.h>
#include <string.h>

typedef struct probe {
    const uint64_t *buf;
    int64_t n_words, n_tasks;
    uint64_t sink[256];
} probe;

static void read_slice(void *ctx, int64_t task, int32_t thread) {
    probe *p = ctx;
    int64_t b, e;
    fl_split_range(p->n_words, p->n_tasks, task, 64, &b, &e);
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (int64_t i = b; i + 8 <= e; i += 8) {
        a0 += p->buf[i], a1 += p->buf[i + 1], a2 += p->buf[i + 2], a3 += p->buf[i + 3];
        a4 += p->buf[i + 4], a5 += p->buf[i + 5], a6 += p->buf[i + 6], a7 += p->buf[i + 7];
    }
    p->sink[thread & 255] += a0 ^ a1 ^ a2 ^ a3 ^ a4 ^ a5 ^ a6 ^ a7;
}

double fl_read_bandwidth(fl_pool *pool, uint64_t bytes, int reps) {
    probe p = {0};
    p.n_words = (int64_t)(bytes / 8);
    uint64_t *buf = malloc((size_t)p.n_words * 8);
    if (!buf) return 0;
    memset(buf, 1, (size_t)p.n_words * 8); /* touch every page before timing */
    p.buf = buf;
    p.n_tasks = fl_pool_threads(pool);
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = fl_now_seconds();
        fl_pool_run(pool, p.n_tasks, read_slice, &p);
        double bw = (double)p.n_words * 8 / (fl_now_seconds() - t0);
        if (bw > best) best = bw;
    }
    free(buf);
    return best;
}
