/* store.c — the expert store (see store.h): the per-layer slot tables, the
 * session protocol, the slot policy and the I/O threads. The reads
 * themselves are in store_io.c. */
#define _GNU_SOURCE /* O_DIRECT */
#include "experts/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "experts/histogram.h"
#include "experts/store_io.h"

#define IO_THREADS 8
/* Each token's 3 likeliest experts of the next layer are read ahead: on the
 * 35B-A3B-shaped bench files that ran as fast as none with a small cache
 * and 10-20% faster with a large one, where 8 (all) was slower with a
 * small cache (docs/PERF.md). */
#define AHEAD_DEFAULT 3
/* Reads ahead in progress at once, at most: the rest of the threads stay
 * free for the next session's reads, which otherwise queued behind reads
 * ahead already started (Gemma 4's bench file ran slower with reads ahead
 * until this limit; docs/PERF.md). Fills take any idle thread. */
#define AHEAD_READS 2

enum { SLOT_EMPTY, SLOT_LOADING, SLOT_READY, SLOT_FAILED };
/* an expert in the open session: not needed, waiting to be handed out, handed out, done */
enum { NEED_NO, NEED_WAIT, NEED_HANDED, NEED_DONE };

typedef struct slot_error {
    flint_status st;
    char msg[256];
} slot_error;

struct fl_store_layer {
    fl_expert_store *st;
    int32_t l, n_expert, n_range, n_slot;
    fl_expert_range *ranges;  /* [n_expert][n_range] */
    int32_t *file;            /* [n_expert][n_range] index into st->files */
    uint64_t *pos;            /* [n_range] where each range's aligned read starts in a slot */
    uint64_t slot_bytes;      /* a multiple of FL_IO_ALIGN */
    uint8_t *mem;             /* [n_slot][slot_bytes], mapped and populated by slots_alloc */
    const uint8_t **base;     /* [n_slot][n_range] where each range's bytes lie once read */
    int32_t *slot_expert;     /* [n_slot] the expert a slot holds or loads (-1: none) */
    uint64_t *slot_tick;      /* [n_slot] last use */
    int8_t *slot_state;       /* [n_slot] SLOT_*, under st->mu */
    slot_error *slot_err;     /* [n_slot] why a read failed */
    int8_t *slot_left;        /* [n_slot] ranges still to land (SLOT_LOADING) */
    int8_t *slot_started;     /* [n_slot] a range of it is being read */
    int32_t *expert_slot;     /* [n_expert] (-1: not in a slot) */
    uint64_t *hist;           /* [n_expert] sessions that routed to it (under use) */
    int8_t *need;             /* [n_expert] NEED_* of the open session */
    int8_t *hot;              /* [n_expert] the pinned set (FL_POLICY_PINNED) */
    int32_t *need_list;       /* [n_expert] the session's experts, ascending */
    int32_t n_need, n_left;   /* needed; not yet handed out */
    uint64_t tick;
    pthread_mutex_t use;      /* held from begin to end */
};

/* Reads the forward waits on go first; reads ahead (hints of the next
 * layer's experts) and fills (a loaded histogram's hot set) only while no
 * such read is pending, so they use the disk while the forward computes;
 * a read ahead still queued when its layer's session opens is promoted if
 * the session needs it and dropped if not. */
typedef enum job_kind { JOB_NEED, JOB_AHEAD, JOB_FILL } job_kind;

/* One byte range of an expert (gate, up or down, their scales): the
 * ranges of a slot are read in parallel, and the slot is ready once the
 * last lands. */
typedef struct job {
    fl_store_layer *sl;
    int32_t slot, e, r;
    job_kind kind;
} job;

typedef struct job_ring {
    job *a;
    int32_t head, len, cap;
} job_ring;

static void ring_push(job_ring *q, job j) { q->a[(q->head + q->len++) % q->cap] = j; }

static job ring_pop(job_ring *q) {
    const job j = q->a[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return j;
}

struct fl_expert_store {
    int64_t budget;           /* asked: bytes, or -1 (auto) until commit */
    fl_expert_policy policy;
    bool committed, direct_allowed;
    fl_io_file *files;
    int32_t n_files;
    fl_store_layer **layers;  /* [n_layers] by layer index, NULL: not MoE */
    int32_t n_layers;
    pthread_mutex_t reg;      /* registration and commit */
    pthread_mutex_t mu;       /* the queue, slot states, counters */
    pthread_cond_t work, done;
    job_ring need_q, low_q;   /* JOB_NEED; JOB_AHEAD and JOB_FILL */
    int32_t need_reading;     /* JOB_NEED reads in progress */
    int32_t ahead_reading;    /* JOB_AHEAD reads in progress */
    pthread_t threads[IO_THREADS];
    int32_t n_threads;
    bool stop;
    int32_t ahead;            /* FLINT_EXPERT_PREFETCH: experts per token read ahead */
    fl_histogram seed;        /* loaded counts, added to each layer as it registers (n_layers 0: none) */
    uint64_t hits, misses, prefetches, bytes_read, reads_direct, reads_buffered;
    int32_t pending;          /* reads queued or in progress */
    double busy_since;        /* when pending last became nonzero */
    double io_busy, io_wait;  /* seconds */
};

static bool direct_allowed = true;
void fl_store_set_direct(bool allow) { direct_allowed = allow; }

/* LFU read the fewest bytes and ran as fast as any (docs/PERF.md). */
static fl_expert_policy policy_from_env(void) {
    const char *p = getenv("FLINT_EXPERT_POLICY");
    if (p && !strcmp(p, "lru")) return FL_POLICY_LRU;
    if (p && !strcmp(p, "pinned")) return FL_POLICY_PINNED;
    return FL_POLICY_LFU;
}

flint_status fl_store_create(int64_t budget, fl_expert_store **out) {
    if (budget == 0 || budget < -1)
        return fl_errorf(FLINT_E_INVALID_ARG, "expert cache of %lld bytes", (long long)budget);
    fl_expert_store *st = calloc(1, sizeof *st);
    if (!st) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    st->budget = budget;
    st->policy = policy_from_env();
    const char *pf = getenv("FLINT_EXPERT_PREFETCH");
    st->ahead = pf ? atoi(pf) : AHEAD_DEFAULT;
    if (st->ahead < 0) st->ahead = 0;
    st->direct_allowed = direct_allowed;
    pthread_mutex_init(&st->reg, NULL);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->work, NULL);
    pthread_cond_init(&st->done, NULL);
    *out = st;
    return FLINT_OK;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Slot memory with every page faulted in now, before any read. A page's
 * first touch zeroes it (and, in a VM, has the host back it); left to the
 * O_DIRECT reads, that cost fell on the I/O threads during the first tokens
 * (a quarter of a cold streamed decode's CPU time, docs/PERF.md). Huge
 * pages where the kernel gives them: fewer faults, fewer TLB misses in the
 * expert matmuls. NULL: the memory could not be had. */
static uint8_t *slots_alloc(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    madvise(p, bytes, MADV_HUGEPAGE);
    if (!madvise(p, bytes, MADV_POPULATE_WRITE)) return p;
    if (errno == EINVAL) { /* a kernel before 5.14: touch each page */
        for (size_t i = 0; i < bytes; i += FL_IO_ALIGN) ((volatile uint8_t *)p)[i] = 0;
        return p;
    }
    munmap(p, bytes);
    return NULL;
}

static void layer_free(fl_store_layer *sl) {
    if (!sl) return;
    pthread_mutex_destroy(&sl->use);
    if (sl->mem) munmap(sl->mem, (size_t)sl->n_slot * sl->slot_bytes);
    free(sl->ranges), free(sl->file), free(sl->pos), free(sl->base), free(sl->slot_expert);
    free(sl->slot_tick), free(sl->slot_state), free(sl->slot_err), free(sl->expert_slot), free(sl->hist);
    free(sl->slot_left), free(sl->slot_started);
    free(sl->need), free(sl->hot), free(sl->need_list);
    free(sl);
}

void fl_store_free(fl_expert_store *st) {
    if (!st) return;
    pthread_mutex_lock(&st->mu);
    st->stop = true;
    pthread_cond_broadcast(&st->work);
    pthread_mutex_unlock(&st->mu);
    for (int32_t i = 0; i < st->n_threads; i++) pthread_join(st->threads[i], NULL);
    for (int32_t l = 0; l < st->n_layers; l++) layer_free(st->layers[l]);
    for (int32_t i = 0; i < st->n_files; i++) fl_io_file_close(&st->files[i]);
    free(st->files), free(st->layers), free(st->need_q.a), free(st->low_q.a);
    fl_hist_free(&st->seed);
    pthread_mutex_destroy(&st->reg), pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->work), pthread_cond_destroy(&st->done);
    free(st);
}

static flint_status file_index(fl_expert_store *st, const char *path, int32_t *out) {
    for (int32_t i = 0; i < st->n_files; i++)
        if (!strcmp(st->files[i].path, path)) return *out = i, FLINT_OK;
    fl_io_file *f = realloc(st->files, (size_t)(st->n_files + 1) * sizeof *f);
    if (!f) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    st->files = f;
    flint_status s = fl_io_file_open(&f[st->n_files], path, st->direct_allowed);
    if (s) return s;
    *out = st->n_files++;
    return FLINT_OK;
}

/* The mapping of the experts is never read in streamed mode: drop what a
 * look at the file may have faulted in and turn read-ahead off there. */
static void advise_unused(const fl_expert_range *r) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)r->mapped + page - 1) & ~(page - 1), b = ((uintptr_t)r->mapped + r->size) & ~(page - 1);
    if (b <= a) return;
    madvise((void *)a, b - a, MADV_DONTNEED);
    madvise((void *)a, b - a, MADV_RANDOM);
}

/* Adds a loaded histogram's row to the layer's counts (none: nothing). */
static flint_status seed_layer(fl_store_layer *sl, const fl_histogram *h) {
    if (!h->n_layers) return FLINT_OK;
    if (sl->l >= h->n_layers || sl->n_expert != h->n_expert)
        return fl_errorf(FLINT_E_INVALID_ARG,
                         "expert histogram of %d layers x %d experts: not this model's (layer %d has %d experts)",
                         h->n_layers, h->n_expert, sl->l, sl->n_expert);
    for (int32_t e = 0; e < sl->n_expert; e++) sl->hist[e] += h->counts[(size_t)sl->l * (size_t)h->n_expert + e];
    return FLINT_OK;
}

static flint_status layer_new(fl_expert_store *st, int32_t l, const fl_experts *ex, fl_store_layer **out) {
    const int32_t E = ex->n_expert, R = ex->n_range;
    fl_store_layer *sl = calloc(1, sizeof *sl);
    if (!sl) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    *sl = (fl_store_layer){.st = st, .l = l, .n_expert = E, .n_range = R};
    pthread_mutex_init(&sl->use, NULL);
    const size_t er = (size_t)E * (size_t)R;
    sl->ranges = malloc(er * sizeof *sl->ranges);
    sl->file = malloc(er * sizeof *sl->file);
    sl->pos = calloc((size_t)R, sizeof *sl->pos);
    sl->expert_slot = malloc((size_t)E * sizeof *sl->expert_slot);
    sl->hist = calloc((size_t)E, sizeof *sl->hist);
    sl->need = calloc((size_t)E, 1);
    sl->hot = calloc((size_t)E, 1);
    sl->need_list = malloc((size_t)E * sizeof *sl->need_list);
    if (!sl->ranges || !sl->file || !sl->pos || !sl->expert_slot || !sl->hist || !sl->need || !sl->hot ||
        !sl->need_list) {
        layer_free(sl);
        return fl_errorf(FLINT_E_NOMEM, "out of memory");
    }
    memcpy(sl->ranges, ex->ranges, er * sizeof *sl->ranges);
    /* each range's place: its largest aligned superset (a range of size s
     * starting anywhere spans at most round_up(s) + one block) */
    uint64_t at = 0;
    for (int32_t r = 0; r < R; r++) {
        uint64_t span = 0;
        for (int32_t e = 0; e < E; e++) {
            const uint64_t s = fl_io_span(sl->ranges[(size_t)e * R + r].size);
            span = s > span ? s : span;
        }
        sl->pos[r] = at;
        at += span;
    }
    sl->slot_bytes = at;
    for (size_t i = 0; i < er; i++) {
        flint_status s = file_index(st, sl->ranges[i].file, &sl->file[i]);
        if (s) {
            layer_free(sl);
            return s;
        }
        advise_unused(&sl->ranges[i]);
    }
    for (int32_t e = 0; e < E; e++) sl->expert_slot[e] = -1;
    flint_status s = seed_layer(sl, &st->seed);
    if (s) {
        layer_free(sl);
        return s;
    }
    *out = sl;
    return FLINT_OK;
}

flint_status fl_store_layer_get(fl_expert_store *st, int32_t l, const fl_experts *ex, fl_store_layer **out) {
    flint_status s = FLINT_OK;
    pthread_mutex_lock(&st->reg);
    if (l >= st->n_layers) {
        fl_store_layer **ls = realloc(st->layers, (size_t)(l + 1) * sizeof *ls);
        if (!ls) s = fl_errorf(FLINT_E_NOMEM, "out of memory");
        else {
            for (int32_t i = st->n_layers; i <= l; i++) ls[i] = NULL;
            st->layers = ls;
            st->n_layers = l + 1;
        }
    }
    if (!s && !st->layers[l]) {
        if (st->committed) s = fl_errorf(FLINT_E_INVALID_ARG, "expert store: layer %d joins after the slots were sized", l);
        else s = layer_new(st, l, ex, &st->layers[l]);
    }
    if (!s && (st->layers[l]->n_expert != ex->n_expert || st->layers[l]->n_range != ex->n_range))
        s = fl_errorf(FLINT_E_INVALID_ARG, "expert store: layer %d registered with another shape", l);
    if (!s) *out = st->layers[l];
    pthread_mutex_unlock(&st->reg);
    return s;
}

static void *io_main(void *arg);

/* Bytes the cache may take when asked for "auto": half of the memory
 * available less 1 GiB, the rest left to the KV pool and to the page cache
 * that holds the resident weights. */
static int64_t auto_budget(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    long long kb = 0;
    char line[128];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1) break;
    if (f) fclose(f);
    const int64_t avail = (int64_t)kb * 1024 - ((int64_t)1 << 30);
    return avail > 0 ? avail / 2 : 0;
}

static void schedule(fl_store_layer *sl, job_kind kind);

/* Reads the experts routed most often so far (a loaded histogram's) into
 * the empty slots, so the first token finds the learned hot set (st->mu
 * held). */
static void preload(fl_store_layer *sl) {
    for (int32_t i = 0; i < sl->n_slot; i++) {
        int32_t top = -1;
        for (int32_t e = 0; e < sl->n_expert; e++)
            if (sl->hist[e] && sl->need[e] == NEED_NO && (top < 0 || sl->hist[e] > sl->hist[top])) top = e;
        if (top < 0) break;
        sl->need[top] = NEED_WAIT;
        sl->need_list[sl->n_need++] = top;
    }
    schedule(sl, JOB_FILL);
    for (int32_t i = 0; i < sl->n_need; i++) sl->need[sl->need_list[i]] = NEED_NO;
    sl->n_need = 0;
}

int32_t fl_store_n_layers(const fl_expert_store *st) { return st->n_layers; }

void fl_store_slots(const fl_expert_store *st, int32_t l, void **p, size_t *bytes) {
    const fl_store_layer *sl = l >= 0 && l < st->n_layers && st->committed ? st->layers[l] : NULL;
    *p = sl ? sl->mem : NULL;
    *bytes = sl ? (size_t)sl->n_slot * sl->slot_bytes : 0;
}

flint_status fl_store_commit(fl_expert_store *st) {
    flint_status s = FLINT_OK;
    pthread_mutex_lock(&st->reg);
    if (st->committed) goto out;
    int32_t n_moe = 0, total_slots = 0;
    uint64_t all_bytes = 0;
    for (int32_t l = 0; l < st->n_layers; l++)
        if (st->layers[l]) n_moe++, all_bytes += st->layers[l]->slot_bytes * (uint64_t)st->layers[l]->n_expert;
    if (!n_moe) goto out;
    if (st->budget < 0) {
        const int64_t b = auto_budget();
        st->budget = (uint64_t)b > all_bytes ? (int64_t)all_bytes : b;
    }
    for (int32_t l = 0; l < st->n_layers && !s; l++) {
        fl_store_layer *sl = st->layers[l];
        if (!sl) continue;
        /* at least one slot per layer, whatever the budget */
        int64_t n = st->budget / n_moe / (int64_t)sl->slot_bytes;
        sl->n_slot = (int32_t)(n < 1 ? 1 : n > sl->n_expert ? sl->n_expert : n);
        const size_t ns = (size_t)sl->n_slot;
        sl->mem = slots_alloc(ns * sl->slot_bytes);
        sl->base = calloc(ns * (size_t)sl->n_range, sizeof *sl->base);
        sl->slot_expert = malloc(ns * sizeof *sl->slot_expert);
        sl->slot_tick = calloc(ns, sizeof *sl->slot_tick);
        sl->slot_state = calloc(ns, 1);
        sl->slot_err = calloc(ns, sizeof *sl->slot_err);
        sl->slot_left = calloc(ns, 1);
        sl->slot_started = calloc(ns, 1);
        if (!sl->mem || !sl->base || !sl->slot_expert || !sl->slot_tick || !sl->slot_state || !sl->slot_err ||
            !sl->slot_left || !sl->slot_started)
            s = fl_errorf(FLINT_E_NOMEM, "out of memory for the expert cache (%llu bytes, layer %d)",
                          (unsigned long long)(ns * sl->slot_bytes), l);
        else
            for (size_t i = 0; i < ns; i++) sl->slot_expert[i] = -1;
        total_slots += sl->n_slot * sl->n_range;
    }
    /* a slot's range is in at most one job */
    st->need_q = st->low_q = (job_ring){.cap = total_slots};
    if (!s && (!(st->need_q.a = malloc((size_t)total_slots * sizeof(job))) ||
               !(st->low_q.a = malloc((size_t)total_slots * sizeof(job)))))
        s = fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (s) goto out;
    for (; st->n_threads < IO_THREADS; st->n_threads++)
        if (pthread_create(&st->threads[st->n_threads], NULL, io_main, st)) break;
    if (!st->n_threads) s = fl_errorf(FLINT_E_NOMEM, "expert store: no I/O thread could start");
    st->committed = !s;
    pthread_mutex_lock(&st->mu);
    for (int32_t l = 0; l < st->n_layers && !s; l++)
        if (st->layers[l]) preload(st->layers[l]);
    pthread_mutex_unlock(&st->mu);
out:
    pthread_mutex_unlock(&st->reg);
    return s;
}

/* ---- the I/O threads ---- */

/* Whether the low queue's first job may start now that no needed read is
 * pending (st->mu held). */
static bool low_may_go(const fl_expert_store *st) {
    return st->low_q.a[st->low_q.head].kind == JOB_FILL || st->ahead_reading < AHEAD_READS;
}

static void *io_main(void *arg) {
    fl_expert_store *st = arg;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->stop && !st->need_q.len && !(st->low_q.len && !st->need_reading && low_may_go(st)))
            pthread_cond_wait(&st->work, &st->mu);
        if (st->stop) break;
        const job j = ring_pop(st->need_q.len ? &st->need_q : &st->low_q);
        st->need_reading += j.kind == JOB_NEED;
        st->ahead_reading += j.kind == JOB_AHEAD;
        fl_store_layer *sl = j.sl;
        sl->slot_started[j.slot] = 1;
        pthread_mutex_unlock(&st->mu);

        const size_t i = (size_t)j.e * sl->n_range + j.r;
        fl_io_counts c = {0};
        flint_status s = fl_io_read_range(&st->files[sl->file[i]], &sl->ranges[i],
                                          sl->mem + (size_t)j.slot * sl->slot_bytes + sl->pos[j.r],
                                          &sl->base[(size_t)j.slot * sl->n_range + j.r], &c);
        pthread_mutex_lock(&st->mu);
        slot_error *err = &sl->slot_err[j.slot];
        if (s && !err->st) {
            err->st = s;
            snprintf(err->msg, sizeof err->msg, "expert %d of layer %d: %s", j.e, sl->l, flint_errmsg());
        }
        if (!--sl->slot_left[j.slot]) sl->slot_state[j.slot] = err->st ? SLOT_FAILED : SLOT_READY;
        /* the last needed read done, or a place among the reads ahead freed: queued ones may go */
        if (j.kind == JOB_NEED ? !--st->need_reading : j.kind == JOB_AHEAD && st->ahead_reading-- == AHEAD_READS)
            if (st->low_q.len) pthread_cond_broadcast(&st->work);
        if (!--st->pending) st->io_busy += fl_now_seconds() - st->busy_since;
        st->bytes_read += c.bytes;
        st->reads_direct += c.direct;
        st->reads_buffered += c.buffered;
        pthread_cond_broadcast(&st->done);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* ---- the policy ---- */

/* The slot a missing expert may take: an empty one, else by the policy
 * among those whose expert the session no longer needs; -1: none. */
static int32_t pick_slot(const fl_store_layer *sl) {
    int32_t best = -1;
    uint64_t best_key = UINT64_MAX;
    for (int32_t s = 0; s < sl->n_slot; s++) {
        if (sl->slot_state[s] == SLOT_LOADING) continue;
        const int32_t x = sl->slot_expert[s];
        if (x < 0) return s;
        if (sl->need[x] == NEED_WAIT || sl->need[x] == NEED_HANDED) continue;
        uint64_t key = sl->slot_tick[s];
        if (sl->st->policy == FL_POLICY_LFU) key = sl->hist[x];
        else if (sl->st->policy == FL_POLICY_PINNED && sl->hot[x]) key = UINT64_MAX - 1; /* only when nothing else */
        if (key < best_key || best < 0) best = s, best_key = key;
    }
    return best;
}

/* The pinned set: the n_slot / 2 experts routed most often so far. */
static void pick_hot(fl_store_layer *sl) {
    memset(sl->hot, 0, (size_t)sl->n_expert);
    for (int32_t i = 0; i < sl->n_slot / 2; i++) {
        int32_t top = -1;
        for (int32_t e = 0; e < sl->n_expert; e++)
            if (!sl->hot[e] && (top < 0 || sl->hist[e] > sl->hist[top])) top = e;
        sl->hot[top] = 1;
    }
}

/* Queues reads of waiting experts into the slots they may take (st->mu
 * held). */
static void schedule(fl_store_layer *sl, job_kind kind) {
    fl_expert_store *st = sl->st;
    for (int32_t i = 0; i < sl->n_need; i++) {
        const int32_t e = sl->need_list[i];
        if (sl->need[e] != NEED_WAIT || sl->expert_slot[e] >= 0) continue;
        const int32_t s = pick_slot(sl);
        if (s < 0) return;
        if (sl->slot_expert[s] >= 0) sl->expert_slot[sl->slot_expert[s]] = -1;
        sl->slot_expert[s] = e;
        sl->expert_slot[e] = s;
        sl->slot_state[s] = SLOT_LOADING;
        sl->slot_left[s] = (int8_t)sl->n_range;
        sl->slot_started[s] = 0;
        sl->slot_err[s].st = FLINT_OK;
        sl->slot_tick[s] = ++sl->tick;
        if (kind == JOB_NEED) st->misses++;
        else st->prefetches++;
        if (!st->pending) st->busy_since = fl_now_seconds();
        st->pending += sl->n_range;
        for (int32_t r = 0; r < sl->n_range; r++)
            ring_push(kind == JOB_NEED ? &st->need_q : &st->low_q, (job){sl, s, e, r, kind});
        pthread_cond_broadcast(&st->work);
    }
}

/* ---- sessions ---- */

/* The layer's reads ahead and fills still queued, now that its session
 * knows what it needs: the needed ones join the needed reads (as misses:
 * they were not read ahead of time), the reads ahead it does not need are
 * dropped and their slots freed (st->mu held). Returns how many were
 * promoted. */
static int32_t sort_ahead(fl_store_layer *sl) {
    int32_t promoted = 0, moved = 0;
    fl_expert_store *st = sl->st;
    for (int32_t i = 0, n = st->low_q.len; i < n; i++) {
        job j = ring_pop(&st->low_q);
        const bool first = j.r == 0; /* an expert's ranges are queued in order: count it once */
        if (j.sl == sl && sl->need[j.e] == NEED_WAIT) {
            j.kind = JOB_NEED;
            ring_push(&st->need_q, j);
            moved++;
            if (first && !sl->slot_started[j.slot]) st->prefetches--, st->misses++, promoted++;
        } else if (j.sl != sl || j.kind == JOB_FILL || sl->slot_started[j.slot]) {
            ring_push(&st->low_q, j);
        } else {
            if (!--sl->slot_left[j.slot]) {
                sl->expert_slot[j.e] = -1;
                sl->slot_expert[j.slot] = -1;
                sl->slot_state[j.slot] = SLOT_EMPTY;
                st->prefetches--;
            }
            if (!--st->pending) st->io_busy += fl_now_seconds() - st->busy_since;
        }
    }
    if (moved) pthread_cond_broadcast(&st->work);
    return promoted;
}

flint_status fl_store_begin(fl_store_layer *sl, const int32_t *need, int32_t n_need) {
    fl_expert_store *st = sl->st;
    if (!st->committed) return fl_errorf(FLINT_E_INVALID_ARG, "expert store: a session before the slots were sized");
    pthread_mutex_lock(&sl->use);
    sl->n_need = sl->n_left = n_need;
    for (int32_t i = 0; i < n_need; i++) {
        const int32_t e = need[i];
        sl->need_list[i] = e;
        sl->need[e] = NEED_WAIT;
        sl->hist[e]++;
    }
    if (st->policy == FL_POLICY_PINNED) pick_hot(sl);
    pthread_mutex_lock(&st->mu);
    const int32_t promoted = sort_ahead(sl);
    for (int32_t i = 0; i < n_need; i++)
        if (sl->expert_slot[need[i]] >= 0) st->hits++;
    st->hits -= (uint64_t)promoted;
    schedule(sl, JOB_NEED);
    pthread_mutex_unlock(&st->mu);
    return FLINT_OK;
}

flint_status fl_store_next(fl_store_layer *sl, int32_t *e, const uint8_t *const **base, int32_t max, int32_t *n) {
    fl_expert_store *st = sl->st;
    flint_status s = FLINT_OK;
    pthread_mutex_lock(&st->mu);
    for (*n = 0; !*n && sl->n_left;) {
        for (int32_t i = 0; i < sl->n_need && *n < max; i++) {
            const int32_t x = sl->need_list[i], slot = sl->expert_slot[x];
            if (sl->need[x] != NEED_WAIT || slot < 0) continue;
            if (sl->slot_state[slot] == SLOT_FAILED) {
                s = fl_errorf(sl->slot_err[slot].st, "%s", sl->slot_err[slot].msg);
                goto out;
            }
            if (sl->slot_state[slot] != SLOT_READY) continue;
            sl->need[x] = NEED_HANDED;
            sl->slot_tick[slot] = ++sl->tick;
            sl->n_left--;
            e[*n] = x;
            base[(*n)++] = &sl->base[(size_t)slot * sl->n_range];
        }
        if (*n || !sl->n_left) break;
        /* a read ahead that landed frees its slot for what this session waits on */
        schedule(sl, JOB_NEED);
        const double t0 = fl_now_seconds();
        pthread_cond_wait(&st->done, &st->mu);
        st->io_wait += fl_now_seconds() - t0;
    }
out:
    pthread_mutex_unlock(&st->mu);
    return s;
}

void fl_store_done(fl_store_layer *sl, int32_t e) {
    pthread_mutex_lock(&sl->st->mu);
    sl->need[e] = NEED_DONE;
    schedule(sl, JOB_NEED);
    pthread_mutex_unlock(&sl->st->mu);
}

void fl_store_end(fl_store_layer *sl) {
    fl_expert_store *st = sl->st;
    pthread_mutex_lock(&st->mu);
    /* after an error: let this session's reads in flight finish (reads
     * ahead and fills of other experts go on), then forget the failed */
    for (int32_t i = 0; i < sl->n_need; i++) {
        const int32_t s = sl->expert_slot[sl->need_list[i]];
        while (s >= 0 && sl->slot_state[s] == SLOT_LOADING) pthread_cond_wait(&st->done, &st->mu);
    }
    for (int32_t s = 0; s < sl->n_slot; s++) {
        if (sl->slot_state[s] == SLOT_FAILED) {
            sl->expert_slot[sl->slot_expert[s]] = -1;
            sl->slot_expert[s] = -1;
            sl->slot_state[s] = SLOT_EMPTY;
        }
    }
    pthread_mutex_unlock(&st->mu);
    for (int32_t i = 0; i < sl->n_need; i++) sl->need[sl->need_list[i]] = NEED_NO;
    sl->n_need = sl->n_left = 0;
    pthread_mutex_unlock(&sl->use);
}

int32_t fl_store_ahead(const fl_store_layer *sl) { return sl->st->ahead; }

void fl_store_prefetch(fl_store_layer *sl, const int32_t *e, int32_t n) {
    fl_expert_store *st = sl->st;
    if (!st->ahead || !st->committed || pthread_mutex_trylock(&sl->use)) return; /* busy: not worth waiting */
    pthread_mutex_lock(&st->mu);
    /* a session of the hinted experts: none of them evicts another */
    sl->n_need = sl->n_left = n;
    for (int32_t i = 0; i < n; i++) sl->need_list[i] = e[i], sl->need[e[i]] = NEED_WAIT;
    schedule(sl, JOB_AHEAD);
    for (int32_t i = 0; i < n; i++) sl->need[e[i]] = NEED_NO;
    sl->n_need = sl->n_left = 0;
    pthread_mutex_unlock(&st->mu);
    pthread_mutex_unlock(&sl->use);
}

flint_status fl_store_histogram(const fl_expert_store *cst, int32_t n_layers, fl_histogram *out) {
    fl_expert_store *st = (fl_expert_store *)cst;
    flint_status s = FLINT_OK;
    *out = (fl_histogram){0};
    pthread_mutex_lock(&st->reg);
    for (int32_t l = 0; l < st->n_layers && !s; l++) {
        const fl_store_layer *sl = st->layers[l];
        if (!sl) continue;
        if (out->n_expert && out->n_expert != sl->n_expert)
            s = fl_errorf(FLINT_E_UNSUPPORTED, "expert histogram: layers of %d and %d experts", out->n_expert, sl->n_expert);
        out->n_expert = sl->n_expert;
    }
    if (!s && !out->n_expert) s = fl_errorf(FLINT_E_INVALID_ARG, "expert histogram: no context has loaded the experts yet");
    if (!s && st->n_layers > n_layers)
        s = fl_errorf(FLINT_E_INVALID_ARG, "expert histogram: experts in layer %d of a model of %d layers", st->n_layers - 1, n_layers);
    if (!s && !(out->counts = calloc((size_t)n_layers * (size_t)out->n_expert, sizeof *out->counts)))
        s = fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (!s) {
        out->n_layers = n_layers;
        for (int32_t l = 0; l < st->n_layers; l++) {
            fl_store_layer *sl = st->layers[l];
            if (!sl) continue;
            pthread_mutex_lock(&sl->use); /* sessions count under it */
            memcpy(out->counts + (size_t)l * (size_t)out->n_expert, sl->hist, (size_t)out->n_expert * sizeof *out->counts);
            pthread_mutex_unlock(&sl->use);
        }
    }
    pthread_mutex_unlock(&st->reg);
    return s;
}

flint_status fl_store_seed(fl_expert_store *st, fl_histogram *h) {
    flint_status s = FLINT_OK;
    pthread_mutex_lock(&st->reg);
    if (st->seed.n_layers) s = fl_errorf(FLINT_E_INVALID_ARG, "expert histogram: one was loaded already");
    for (int32_t l = 0; l < st->n_layers && !s; l++)
        if (st->layers[l] && (st->layers[l]->l >= h->n_layers || st->layers[l]->n_expert != h->n_expert))
            s = seed_layer(st->layers[l], h);
    if (!s) {
        for (int32_t l = 0; l < st->n_layers; l++) {
            fl_store_layer *sl = st->layers[l];
            if (!sl) continue;
            pthread_mutex_lock(&sl->use);
            seed_layer(sl, h);
            pthread_mutex_unlock(&sl->use);
        }
        st->seed = *h;
        *h = (fl_histogram){0};
    }
    pthread_mutex_unlock(&st->reg);
    return s;
}

void fl_store_stats(const fl_expert_store *cst, flint_expert_stats *out) {
    fl_expert_store *st = (fl_expert_store *)cst; /* the lock, not the contents, changes */
    *out = (flint_expert_stats){.streamed = 1, .io_threads = st->n_threads};
    pthread_mutex_lock(&st->reg);
    out->budget = st->budget;
    for (int32_t l = 0; l < st->n_layers; l++) {
        const fl_store_layer *sl = st->layers[l];
        if (!sl) continue;
        out->n_layers++;
        out->n_expert = sl->n_expert;
        out->slots_per_layer = sl->n_slot;
        out->slot_bytes = sl->slot_bytes;
    }
    pthread_mutex_unlock(&st->reg);
    pthread_mutex_lock(&st->mu);
    out->hits = st->hits;
    out->misses = st->misses;
    out->prefetches = st->prefetches;
    out->bytes_read = st->bytes_read;
    out->reads_direct = st->reads_direct;
    out->reads_buffered = st->reads_buffered;
    const double busy = st->io_busy + (st->pending ? fl_now_seconds() - st->busy_since : 0);
    out->io_busy_ns = (uint64_t)(busy * 1e9);
    out->io_wait_ns = (uint64_t)(st->io_wait * 1e9);
    pthread_mutex_unlock(&st->mu);
    out->direct = st->direct_allowed;
    for (int32_t i = 0; i < st->n_files; i++) out->direct &= fl_io_file_direct(&st->files[i]);
}

/* ---- the probe ---- */

typedef struct probe {
    fl_expert_store *st;
    const int32_t *pick;  /* [n][3] layer, expert, range */
    int32_t n;
    atomic_int next;
    atomic_ullong bytes;
    atomic_int failed;    /* a read failed: its status */
    char msg[256];        /* and its message (the first failure's) */
    uint64_t scratch_bytes;
} probe;

static void probe_fail(probe *p, flint_status s) {
    int none = 0;
    if (atomic_compare_exchange_strong(&p->failed, &none, (int)s)) snprintf(p->msg, sizeof p->msg, "%s", flint_errmsg());
}

static void *probe_main(void *arg) {
    probe *p = arg;
    uint8_t *buf = aligned_alloc(FL_IO_ALIGN, p->scratch_bytes);
    if (!buf) {
        probe_fail(p, fl_errorf(FLINT_E_NOMEM, "out of memory for the disk probe"));
        return NULL;
    }
    for (int32_t i; !atomic_load(&p->failed) && (i = atomic_fetch_add(&p->next, 1)) < p->n;) {
        const int32_t *q = p->pick + 3 * i;
        const fl_store_layer *sl = p->st->layers[q[0]];
        const size_t k = (size_t)q[1] * sl->n_range + q[2];
        const uint8_t *base;
        fl_io_counts c = {0};
        flint_status s = fl_io_read_range(&p->st->files[sl->file[k]], &sl->ranges[k], buf + sl->pos[q[2]], &base, &c);
        if (s) probe_fail(p, s);
        atomic_fetch_add(&p->bytes, c.bytes);
    }
    free(buf);
    return NULL;
}

flint_status fl_store_probe(fl_expert_store *st, uint64_t bytes, double *bytes_per_s) {
    *bytes_per_s = 0;
    if (!st->committed) return fl_errorf(FLINT_E_INVALID_ARG, "expert store: a probe before the slots were sized");
    int32_t n_moe = 0;
    uint64_t scratch = 0, per_expert = 0;
    for (int32_t l = 0; l < st->n_layers; l++)
        if (st->layers[l]) {
            n_moe++;
            scratch = st->layers[l]->slot_bytes > scratch ? st->layers[l]->slot_bytes : scratch;
            per_expert += st->layers[l]->slot_bytes;
        }
    if (!n_moe) return fl_errorf(FLINT_E_INVALID_ARG, "expert store: no layer to probe");
    per_expert /= (uint64_t)n_moe;
    const uint64_t want = bytes / per_expert;
    const int32_t n_exp = want < 1 ? 1 : want > (1 << 20) ? 1 << 20 : (int32_t)want;
    int32_t *pick = malloc((size_t)n_exp * FL_EXPERT_MAX_RANGES * 3 * sizeof *pick), n = 0;
    if (!pick) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    /* a new sequence each call, and in each process: a probe must not read
     * what an earlier one read, which a cache on the way (the host's, the
     * disk's) may still hold */
    static atomic_uint calls;
    uint64_t x = 0x9e3779b97f4a7c15ull * (atomic_fetch_add(&calls, 1) + 1) ^ (uint64_t)(fl_now_seconds() * 1e9);
    for (int32_t i = 0; i < n_exp; i++) {
        int32_t l;
        do {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            l = (int32_t)((x >> 33) % (uint64_t)st->n_layers);
        } while (!st->layers[l]);
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        const int32_t e = (int32_t)((x >> 33) % (uint64_t)st->layers[l]->n_expert);
        for (int32_t r = 0; r < st->layers[l]->n_range; r++, n++) pick[3 * n] = l, pick[3 * n + 1] = e, pick[3 * n + 2] = r;
    }
    probe p = {.st = st, .pick = pick, .n = n, .scratch_bytes = scratch};
    pthread_t th[IO_THREADS];
    int32_t nt = 0;
    const double t0 = fl_now_seconds();
    for (; nt < IO_THREADS; nt++)
        if (pthread_create(&th[nt], NULL, probe_main, &p)) break;
    if (!nt) probe_main(&p);
    for (int32_t i = 0; i < nt; i++) pthread_join(th[i], NULL);
    const double dt = fl_now_seconds() - t0;
    free(pick);
    const int failed = atomic_load(&p.failed);
    if (failed) return fl_errorf((flint_status)failed, "expert store: disk probe: %s", p.msg);
    *bytes_per_s = dt > 0 ? (double)atomic_load(&p.bytes) / dt : 0;
    return FLINT_OK;
}
