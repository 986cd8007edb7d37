#define _DEFAULT_SOURCE
/* test_pool.c — the thread pool: every task runs exactly once, with thread
 * ids in range, across many back-to-back jobs (the decode pattern) and
 * after the workers have gone to sleep; workers flush denormals to zero. */
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/fpenv.h"
#include "base/pool.h"
#include "harness.h"

typedef struct job {
    atomic_int *hits;
    int32_t n_threads;
    atomic_int bad_thread;
} job;

static void count(void *ctx, int64_t task, int32_t thread) {
    job *j = ctx;
    atomic_fetch_add(&j->hits[task], 1);
    if (thread < 0 || thread >= j->n_threads) atomic_store(&j->bad_thread, 1);
}

static void run_jobs(fl_pool *p, int64_t n_tasks, int rounds) {
    atomic_int *hits = calloc((size_t)n_tasks, sizeof *hits);
    job j = {hits, fl_pool_threads(p), 0};
    for (int r = 0; r < rounds; r++) fl_pool_run(p, n_tasks, count, &j);
    int wrong = 0;
    for (int64_t t = 0; t < n_tasks; t++) wrong += atomic_load(&hits[t]) != rounds;
    CHECK_MSG(wrong == 0, "%d of %lld tasks did not run exactly %d times", wrong, (long long)n_tasks, rounds);
    CHECK(atomic_load(&j.bad_thread) == 0);
    free(hits);
}

typedef struct flush_job {
    atomic_int on_workers, kept;
} flush_job;

static void flushes(void *ctx, int64_t task, int32_t thread) {
    flush_job *j = ctx;
    volatile float tiny = 1e-38f;
    (void)task;
    usleep(500); /* long enough that the workers take tasks too */
    if (thread == 0) return;
    atomic_fetch_add(&j->on_workers, 1);
    if (tiny * 0.5f != 0.0f) atomic_store(&j->kept, 1);
}

static void check_fpenv(void) {
    TEST_GROUP("fpenv");
    volatile float tiny = 1e-38f;
    CHECK(tiny * 0.5f != 0.0f); /* the C default keeps denormals */
    fl_fpenv saved = fl_fpenv_flush_denormals();
    CHECK(tiny * 0.5f == 0.0f);
    fl_fpenv_restore(saved);
    CHECK(tiny * 0.5f != 0.0f);
    fl_pool *p;
    CHECK(fl_pool_create(3, &p) == FLINT_OK);
    flush_job j = {0, 0};
    fl_pool_run(p, 64, flushes, &j);
    CHECK(atomic_load(&j.on_workers) > 0);
    CHECK_MSG(atomic_load(&j.kept) == 0, "a worker thread computed with denormals");
    fl_pool_free(p);
}

int main(void) {
    TEST_GROUP("pool");
    CHECK(fl_physical_cores() >= 1);
    int32_t sizes[] = {1, 2, 3, 8};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        fl_pool *p;
        CHECK(fl_pool_create(sizes[s], &p) == FLINT_OK);
        CHECK_INT_EQ(fl_pool_threads(p), sizes[s]);
        run_jobs(p, 1, 10);
        run_jobs(p, 7, 2000);
        run_jobs(p, 1000, 20);
        usleep(20000); /* let the workers fall asleep, then wake them */
        run_jobs(p, 64, 3);
        fl_pool_run(p, 0, count, NULL); /* nothing to do */
        fl_pool_free(p);
    }
    fl_pool *p;
    CHECK(fl_pool_create(0, &p) == FLINT_OK && fl_pool_threads(p) == fl_physical_cores());
    fl_pool_free(p);
    CHECK(fl_pool_create(5000, &p) == FLINT_E_INVALID_ARG);

    check_fpenv();

    TEST_GROUP("split");
    int64_t b, e, covered = 0, prev = 0;
    for (int64_t t = 0; t < 7; t++) {
        fl_split_range(1000, 7, t, 32, &b, &e);
        CHECK(b == prev && b % 32 == 0 && e >= b);
        covered += e - b;
        prev = e;
    }
    CHECK_INT_EQ(covered, 1000);
    return test_finish("pool");
}
