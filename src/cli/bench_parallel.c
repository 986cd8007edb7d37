/* bench_parallel.c — `flint bench --parallel N -p P -n G`: N requests of P
 * prompt tokens and G generated tokens each, submitted at once through the
 * engine (N slots), as a server under load sees them. Reports the
 * aggregate generated tokens/s (all generated tokens / wall time from the
 * first submit to the last token), time to first token p50/p99,
 * inter-token latency p50/p99, and the KV pool's peak bytes. With
 * --shared-prefix S, every prompt of a round begins with the same S
 * tokens, and a lone request with that prefix runs first (cold) so the
 * round's requests find it cached: ttft_cold_ms against their TTFT. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cli/bench_parallel.h"
#include "cli/gpu.h"
#include "flint.h"

typedef struct track {
    double t_submit, t_first, t_prev;
    int32_t n_gen, n_cached;
    int done;
} track;

typedef struct samples {
    double *v;
    int64_t n, cap;
} samples;

typedef struct round {
    pthread_mutex_t lock;
    track *tr;
    samples itl;
    int n_done;
    int failed;
    char error[256];
} round;

static void push(samples *s, double x) {
    if (s->n == s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 1024;
        double *v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) return;
        s->v = v, s->cap = cap;
    }
    s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile (nearest rank) of s, sorted in place. */
static double percentile(samples *s, double p) {
    if (!s->n) return 0;
    qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_double);
    int64_t i = (int64_t)(p / 100.0 * (double)s->n + 0.999999) - 1;
    return s->v[i < 0 ? 0 : i >= s->n ? s->n - 1 : i];
}

static void on_event(const flint_event *ev, void *user) {
    round *r = user;
    double now = fl_now_seconds();
    pthread_mutex_lock(&r->lock);
    track *t = &r->tr[ev->request];
    for (int32_t i = 0; i < ev->n_tokens; i++) {
        if (t->n_gen++ == 0) t->t_first = now;
        else push(&r->itl, now - t->t_prev);
        t->t_prev = now;
    }
    if (ev->finish) {
        t->done = 1;
        t->n_cached = ev->usage->cached_tokens;
        if (ev->finish == FLINT_FINISH_ERROR && !r->failed) {
            r->failed = 1;
            snprintf(r->error, sizeof r->error, "%s", ev->error_msg ? ev->error_msg : "error");
        }
        r->n_done++;
    }
    pthread_mutex_unlock(&r->lock);
}

void bench_random_tokens(int32_t *ids, int32_t n, int32_t vocab, uint64_t state) {
    for (int32_t i = 0; i < n; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((state >> 33) % (uint64_t)vocab);
    }
}

/* Prompt tokens of one stream, different per seed. */
static void fill(int32_t *ids, int32_t n, int32_t vocab, uint64_t seed) {
    bench_random_tokens(ids, n, vocab, seed * 0x9E3779B97F4A7C15ull + 1);
}

/* Submits n requests (request ids index r->tr: the engine numbers them
 * from 1 in submit order, so tr has room for every id) and waits for them,
 * sampling the pool's use. Returns the wall time, or -1. */
static double run_requests(flint_engine *e, round *r, int32_t *const *prompts, int32_t n, int32_t p, int32_t g,
                           uint64_t *kv_peak) {
    pthread_mutex_lock(&r->lock);
    r->n_done = 0; /* the previous call's requests have all ended */
    pthread_mutex_unlock(&r->lock);
    double t0 = fl_now_seconds();
    int32_t submitted = 0;
    for (int32_t i = 0; i < n; i++) {
        flint_request q = {.prompt_tokens = prompts[i], .n_prompt_tokens = p, .max_tokens = g, .ignore_eos = 1,
                           .on_event = on_event, .user = r};
        uint64_t id;
        pthread_mutex_lock(&r->lock); /* the callback may come before submit returns */
        flint_status st = flint_engine_submit(e, &q, &id);
        if (!st) r->tr[id] = (track){.t_submit = fl_now_seconds()};
        pthread_mutex_unlock(&r->lock);
        if (st) {
            fprintf(stderr, "flint bench: %s\n", flint_errmsg());
            break;
        }
        submitted++;
    }
    pthread_mutex_lock(&r->lock);
    while (r->n_done < submitted) {
        pthread_mutex_unlock(&r->lock);
        flint_engine_stats s;
        flint_engine_stats_get(e, &s);
        if (s.kv_bytes_used > *kv_peak) *kv_peak = s.kv_bytes_used;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    double wall = fl_now_seconds() - t0;
    return submitted == n && !r->failed ? wall : -1;
}

int cli_bench_parallel(flint_model *m, const bench_parallel_args *a) {
    const int32_t n = a->parallel, p = a->prompt, g = a->gen, S = a->shared_prefix;
    const int64_t per_round = n + (S > 0);
    flint_engine_params ep = {.n_slots = n, .n_ctx = p + g + 1, .n_threads = a->threads, .n_cache = S > 0 ? 1 : -1,
                              .kv_type = a->kv_type, .deterministic = a->deterministic, .exact = a->exact,
                              .gpu = a->gpu, .gpu_layers = a->gpu_layers, .gpu_memory = a->gpu_memory};
    flint_engine *e = NULL;
    round r = {.lock = PTHREAD_MUTEX_INITIALIZER};
    int32_t **prompts = calloc((size_t)n, sizeof *prompts);
    samples ttft = {0}, cold = {0}, aggregate = {0};
    uint64_t kv_peak = 0;
    int64_t cached = 0;
    int rc = 1;
    r.tr = calloc((size_t)(per_round * a->reps + 1), sizeof *r.tr);
    if (!prompts || !r.tr || flint_engine_create(m, &ep, &e)) {
        fprintf(stderr, "flint bench: %s\n", prompts && r.tr ? flint_errmsg() : "out of memory");
        goto done;
    }
    const int32_t V = flint_tokenizer_n_vocab(flint_engine_tokenizer(e)) > 0
                          ? flint_tokenizer_n_vocab(flint_engine_tokenizer(e))
                          : 256;
    for (int32_t i = 0; i < n; i++)
        if (!(prompts[i] = malloc((size_t)p * sizeof **prompts))) goto done;
    for (int rep = 0; rep < a->reps; rep++) {
        for (int32_t i = 0; i < n; i++) {
            fill(prompts[i], p, V, (uint64_t)rep * 1000003u + (uint64_t)i + 1);
            if (S > 0) fill(prompts[i], S, V, (uint64_t)rep + 7777777u); /* the round's shared prefix */
        }
        uint64_t first_id = (uint64_t)rep * per_round + 1;
        if (S > 0) { /* the cold request: the prefix is new to the engine */
            int32_t *lone = prompts[0];
            if (run_requests(e, &r, &lone, 1, p, g, &kv_peak) < 0) break;
            push(&cold, 1e3 * (r.tr[first_id].t_first - r.tr[first_id].t_submit));
            first_id++;
            /* the round's own requests differ from the lone one after the prefix */
            fill(prompts[0] + S, p - S, V, (uint64_t)rep * 1000003u + 999983u);
        }
        double wall = run_requests(e, &r, prompts, n, p, g, &kv_peak);
        if (wall < 0) break;
        push(&aggregate, (double)n * g / wall);
        for (int32_t i = 0; i < n; i++) {
            const track *t = &r.tr[first_id + (uint64_t)i];
            push(&ttft, 1e3 * (t->t_first - t->t_submit));
            cached += t->n_cached;
        }
    }
    if (r.failed || aggregate.n < a->reps) {
        fprintf(stderr, "flint bench: %s\n", r.failed ? r.error : "a request could not be submitted");
        goto done;
    }
    for (int64_t i = 0; i < r.itl.n; i++) r.itl.v[i] *= 1e3;
    double agg = percentile(&aggregate, 50), t50 = percentile(&ttft, 50), t99 = percentile(&ttft, 99);
    double i50 = percentile(&r.itl, 50), i99 = percentile(&r.itl, 99), c50 = percentile(&cold, 50);
    const char *name = strrchr(a->path, '/') ? strrchr(a->path, '/') + 1 : a->path;
    if (a->json) {
        printf("{\"model\": \"%s\", \"test\": \"parallel\", \"parallel\": %d, \"prompt_tokens\": %d, \"gen_tokens\": %d, "
               "\"reps\": %d, \"aggregate_tokens_per_s\": %.3f, \"ttft_p50_ms\": %.2f, \"ttft_p99_ms\": %.2f, "
               "\"itl_p50_ms\": %.2f, \"itl_p99_ms\": %.2f, \"kv_bytes_peak\": %llu, \"kv_bytes_per_slot\": %.0f",
               name, n, p, g, a->reps, agg, t50, t99, i50, i99, (unsigned long long)kv_peak, (double)kv_peak / n);
        if (S > 0)
            printf(", \"shared_prefix\": %d, \"ttft_cold_ms\": %.2f, \"cached_tokens_mean\": %.1f", S, c50,
                   (double)cached / ((double)n * a->reps));
        cli_device_json(stdout, flint_engine_device(e));
        printf("}\n");
    } else {
        printf("device: %s\n\n", flint_engine_device(e));
        printf("| model | parallel | prompt | gen | aggregate t/s | TTFT p50 / p99 ms | ITL p50 / p99 ms | KV peak "
               "MiB |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        printf("| %s | %d | %d | %d | %.2f | %.1f / %.1f | %.1f / %.1f | %.1f |\n", name, n, p, g, agg, t50, t99, i50,
               i99, (double)kv_peak / 1048576.0);
        if (S > 0)
            printf("\nshared prefix of %d tokens: cold TTFT %.1f ms, cached TTFT p50 %.1f ms (%.1fx); %.1f tokens "
                   "reused per request\n",
                   S, c50, t50, t50 > 0 ? c50 / t50 : 0.0, (double)cached / ((double)n * a->reps));
    }
    rc = 0;
done:
    flint_engine_free(e);
    for (int32_t i = 0; prompts && i < n; i++) free(prompts[i]);
    free(prompts);
    free(r.tr);
    free(r.itl.v);
    free(ttft.v);
    free(cold.v);
    free(aggregate.v);
    return rc;
}
