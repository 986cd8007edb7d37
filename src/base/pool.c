/* pool.c — a persistent fork/join thread pool.
 *
 * Workers wait for a new generation number: they spin (cheap wake-up
 * between the many small ops of a decode step), then sleep on a condition
 * variable so an idle pool costs nothing. Tasks are claimed from an atomic
 * counter. The caller works too and then spins until every worker has
 * reported the generation done. Workers compute with denormals flushed
 * to zero (base/fpenv.h). */
#define _GNU_SOURCE
#include "base/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fpenv.h"

/* ~0.1-0.3 ms of pause instructions (about 140 cycles each on recent x86)
 * before a worker sleeps or a waiting caller yields its core */
#define SPIN_ITERS 2000

struct fl_pool {
    int32_t n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_uint_fast64_t generation;
    atomic_int_fast64_t next_task;
    atomic_int n_done;
    atomic_int n_sleeping;
    atomic_bool stop;
    /* the current job: written before generation is bumped */
    int64_t n_tasks;
    fl_pool_fn fn;
    void *ctx;
};

typedef struct worker_arg {
    fl_pool *pool;
    int32_t thread;
} worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void do_tasks(fl_pool *p, int32_t thread) {
    for (;;) {
        int64_t t = atomic_fetch_add_explicit(&p->next_task, 1, memory_order_relaxed);
        if (t >= p->n_tasks) return;
        p->fn(p->ctx, t, thread);
    }
}

static void *worker_main(void *arg) {
    fl_pool *p = ((worker_arg *)arg)->pool;
    int32_t thread = ((worker_arg *)arg)->thread;
    free(arg);
    fl_fpenv_flush_denormals(); /* this thread only computes for flint */
    uint64_t seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen &&
               !atomic_load_explicit(&p->stop, memory_order_relaxed) && spins < SPIN_ITERS) {
            cpu_relax();
            spins++;
        }
        if (atomic_load_explicit(&p->generation, memory_order_acquire) == seen &&
            !atomic_load_explicit(&p->stop, memory_order_relaxed)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->n_sleeping, 1); /* seq_cst: pairs with the check in fl_pool_run */
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->n_sleeping, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        do_tasks(p, thread);
        atomic_fetch_add_explicit(&p->n_done, 1, memory_order_release);
    }
}

int32_t fl_physical_cores(void) {
    /* count distinct (package, core) pairs; SMT siblings share one */
    char seen[1024] = {0};
    int32_t n = 0;
    for (int cpu = 0; cpu < 1024; cpu++) {
        char path[128];
        int pkg = 0, core = 0;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
        FILE *f = fopen(path, "r");
        if (!f) break;
        int ok = fscanf(f, "%d", &core) == 1;
        fclose(f);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
        if ((f = fopen(path, "r"))) {
            ok = ok && fscanf(f, "%d", &pkg) == 1;
            fclose(f);
        }
        if (!ok || core < 0 || pkg < 0) continue;
        int key = (pkg * 256 + core) % 1024;
        if (!seen[key]) seen[key] = 1, n++;
    }
    if (n > 0) return n;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int32_t)online : 1;
}

flint_status fl_pool_create(int32_t n_threads, fl_pool **out) {
    *out = NULL;
    if (n_threads <= 0) n_threads = fl_physical_cores();
    if (n_threads > 1024) return fl_errorf(FLINT_E_INVALID_ARG, "%d threads is more than the 1024 allowed", n_threads);
    fl_pool *p = calloc(1, sizeof *p);
    if (!p) return fl_errorf(FLINT_E_NOMEM, "out of memory for the thread pool");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    if (!p->threads) {
        fl_pool_free(p);
        return fl_errorf(FLINT_E_NOMEM, "out of memory for the thread pool");
    }
    for (int32_t i = 1; i < n_threads; i++) {
        worker_arg *a = malloc(sizeof *a);
        int rc = a ? 0 : -1;
        if (a) {
            a->pool = p;
            a->thread = i;
            rc = pthread_create(&p->threads[i], NULL, worker_main, a);
            if (rc) free(a);
        }
        if (rc) {
            p->n_threads = i; /* join the ones that started */
            fl_pool_free(p);
            return fl_errorf(FLINT_E_NOMEM, "cannot start thread %d of the pool: %s", i, strerror(rc > 0 ? rc : 12));
        }
    }
    *out = p;
    return FLINT_OK;
}

void fl_pool_free(fl_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int32_t i = 1; i < p->n_threads; i++)
        if (p->threads) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    free(p->threads);
    free(p);
}

int32_t fl_pool_threads(const fl_pool *p) { return p->n_threads; }

void fl_pool_run(fl_pool *p, int64_t n_tasks, fl_pool_fn fn, void *ctx) {
    if (n_tasks <= 0) return;
    if (p->n_threads == 1 || n_tasks == 1) {
        for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    p->n_tasks = n_tasks;
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->next_task, 0, memory_order_relaxed);
    atomic_store_explicit(&p->n_done, 0, memory_order_relaxed);
    atomic_fetch_add(&p->generation, 1); /* seq_cst: publishes the job */
    if (atomic_load(&p->n_sleeping) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    do_tasks(p, 0);
    int spins = 0;
    while (atomic_load_explicit(&p->n_done, memory_order_acquire) < p->n_threads - 1) {
        cpu_relax();
        if (++spins > SPIN_ITERS) sched_yield(); /* a worker may be waking from sleep */
    }
}
