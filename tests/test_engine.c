/* test_engine.c — the engine (include/flint.h) on the model fixtures of
 * every family: one request equals a hand-written decode-and-sample loop
 * over the context API, token for token; in deterministic mode, requests
 * batched together, chunked, preempted or started from a cached prefix
 * give exactly what each gives alone; cancelling frees everything;
 * stop strings, limits, bad requests and non-finite logits. */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flint.h"
#include "harness.h"

#define MAX_OUT 64

static const char *const families[] = {"gemma1/a", "gemma2/a", "gemma3/a", "gemma4/a", "qwen35/dense", "qwen35/moe"};
#define N_FAMILIES ((int)(sizeof families / sizeof families[0]))

static flint_model *open_fixture(const char *family) {
    char path[256];
    snprintf(path, sizeof path, FIXTURE_DIR "/%s/model-f32.gguf", family);
    flint_model *m = NULL;
    if (flint_model_open(path, NULL, &m)) {
        CHECK_MSG(0, "%s: %s", path, flint_errmsg());
        return NULL;
    }
    return m;
}

/* A prompt of n ids below vocab, different per salt. */
static void make_prompt(int32_t *ids, int32_t n, int32_t vocab, uint32_t salt) {
    uint64_t x = 0x9E3779B97F4A7C15ull * (salt + 1);
    for (int32_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((x >> 33) % (uint64_t)vocab);
    }
}

typedef struct output {
    int32_t tok[MAX_OUT], n;
    char text[4096];
    size_t len;
    float logprob[MAX_OUT];
    flint_token_logprob top[MAX_OUT][4];
    flint_finish_reason finish;
    flint_usage usage;
    flint_status error;
    char error_msg[256], stop[64];
} output;

/* Polls request id to its end. */
static void collect(flint_engine *e, uint64_t id, output *o) {
    memset(o, 0, sizeof *o);
    for (;;) {
        flint_event ev;
        flint_status st = flint_engine_poll(e, id, -1, &ev);
        if (st) {
            CHECK_MSG(0, "poll: %s", flint_errmsg());
            return;
        }
        for (int32_t i = 0; i < ev.n_tokens && o->n < MAX_OUT; i++) {
            if (ev.logprobs) o->logprob[o->n] = ev.logprobs[i];
            for (int32_t j = 0; j < ev.n_top && j < 4; j++) o->top[o->n][j] = ev.top[(size_t)i * ev.n_top + j];
            o->tok[o->n++] = ev.tokens[i];
        }
        if (ev.len && o->len + ev.len < sizeof o->text) {
            memcpy(o->text + o->len, ev.text, ev.len);
            o->text[o->len += ev.len] = '\0';
        }
        if (ev.finish) {
            o->finish = ev.finish;
            o->usage = *ev.usage;
            o->error = ev.error;
            if (ev.error_msg) snprintf(o->error_msg, sizeof o->error_msg, "%s", ev.error_msg);
            if (ev.stop) snprintf(o->stop, sizeof o->stop, "%s", ev.stop);
            return;
        }
    }
}

static uint64_t submit(flint_engine *e, const int32_t *prompt, int32_t n, int32_t max_tokens,
                       const flint_sampling_params *sp) {
    flint_request r = {.prompt_tokens = prompt, .n_prompt_tokens = n, .max_tokens = max_tokens};
    if (sp) r.sampling = *sp;
    uint64_t id = 0;
    flint_status st = flint_engine_submit(e, &r, &id);
    CHECK_MSG(st == FLINT_OK, "submit: %s", flint_errmsg());
    return id;
}

/* The generate loop every front end had before the engine: the prompt in
 * one call, then one token at a time, sampled by the public sampler. */
static void direct_loop(flint_model *m, const int32_t *prompt, int32_t n, int32_t max_tokens,
                        const flint_sampling_params *sp, output *o) {
    memset(o, 0, sizeof *o);
    flint_context *ctx = NULL;
    flint_sampler *smp = NULL;
    flint_context_params cp = {.n_ctx = 256, .n_threads = 2};
    if (flint_context_create(m, &cp, &ctx) ||
        flint_sampler_create(sp, flint_context_n_vocab(ctx), &smp)) {
        CHECK_MSG(0, "%s", flint_errmsg());
        flint_context_free(ctx);
        return;
    }
    float *logits = malloc((size_t)flint_context_n_vocab(ctx) * sizeof *logits);
    for (int32_t i = 0; i < n; i++) flint_sampler_accept(smp, prompt[i]);
    flint_status st = flint_decode(ctx, 0, prompt, n, logits, 0);
    while (!st && o->n < max_tokens) {
        int32_t t = flint_sampler_sample(smp, logits);
        flint_sampler_accept(smp, t);
        o->tok[o->n++] = t;
        if (o->n < max_tokens) st = flint_decode(ctx, 0, &t, 1, logits, 0);
    }
    CHECK_MSG(st == FLINT_OK, "%s", flint_errmsg());
    free(logits);
    flint_sampler_free(smp);
    flint_context_free(ctx);
}

static int same_tokens(const output *a, const output *b) {
    return a->n == b->n && !memcmp(a->tok, b->tok, (size_t)a->n * sizeof *a->tok);
}

static void test_solo_equals_direct(void) {
    TEST_GROUP("one request = the direct loop");
    const flint_sampling_params greedy = {0}, seeded = {.temperature = 0.9f, .top_k = 40, .top_p = 0.95f, .seed = 7};
    for (int f = 0; f < N_FAMILIES; f++) {
        flint_model *m = open_fixture(families[f]);
        if (!m) continue;
        flint_engine *e = NULL;
        flint_engine_params ep = {.n_ctx = 256, .n_threads = 2, .n_cache = -1};
        if (flint_engine_create(m, &ep, &e)) {
            CHECK_MSG(0, "%s: %s", families[f], flint_errmsg());
            flint_model_close(m);
            continue;
        }
        int32_t prompt[40];
        make_prompt(prompt, 40, 200, (uint32_t)f);
        for (int s = 0; s < 2; s++) {
            output want, got;
            direct_loop(m, prompt, 40, 16, s ? &seeded : &greedy, &want);
            collect(e, submit(e, prompt, 40, 16, s ? &seeded : &greedy), &got);
            CHECK_MSG(same_tokens(&want, &got), "%s %s: %d vs %d tokens, first %d vs %d", families[f],
                      s ? "seeded" : "greedy", want.n, got.n, want.tok[0], got.tok[0]);
            CHECK_INT_EQ(got.finish, FLINT_FINISH_LENGTH);
            CHECK_INT_EQ(got.usage.prompt_tokens, 40);
            CHECK_INT_EQ(got.usage.generated_tokens, 16);
        }
        flint_engine_free(e);
        flint_model_close(m);
    }
}

/* The smallest pool a context accepts (about one block of each group). */
static int64_t least_pool(flint_model *m) {
    for (int64_t bytes = 4096;; bytes += bytes / 4) {
        flint_context *ctx = NULL;
        flint_context_params cp = {.n_ctx = 160, .n_threads = 1, .kv_bytes = bytes};
        if (flint_context_create(m, &cp, &ctx) == FLINT_OK) {
            flint_context_free(ctx);
            return bytes;
        }
    }
}

/* Requests run alone, then all together through few slots, a small step
 * budget (chunked prefill beside decodes) and, with tiny_pool, a KV pool
 * too small for all of them (preemption): each must give the same tokens.
 * Deterministic mode makes that exact. */
static void run_batch(flint_model *m, const char *family, int tiny_pool) {
    enum { N_REQ = 6 };
    int32_t prompts[N_REQ][100], len[N_REQ];
    output solo[N_REQ], together[N_REQ];
    for (int i = 0; i < N_REQ; i++) {
        len[i] = 20 + 13 * i;
        make_prompt(prompts[i], len[i], 200, (uint32_t)(100 + i));
        /* two of them share a prefix */
        if (i == 3) memcpy(prompts[3], prompts[1], 30 * sizeof(int32_t));
    }
    flint_engine *e = NULL;
    flint_engine_params solo_p = {.n_ctx = 160, .n_threads = 2, .n_cache = -1, .deterministic = 1};
    if (flint_engine_create(m, &solo_p, &e)) {
        CHECK_MSG(0, "%s: %s", family, flint_errmsg());
        return;
    }
    for (int i = 0; i < N_REQ; i++) collect(e, submit(e, prompts[i], len[i], 12, NULL), &solo[i]);
    flint_engine_free(e);

    flint_engine_params bp = {.n_slots = 4, .n_ctx = 160, .n_threads = 2, .step_tokens = 24, .deterministic = 1,
                              .n_cache = tiny_pool ? -1 : 2};
    if (tiny_pool) bp.kv_bytes = 4 * least_pool(m); /* about 4 blocks: 2 requests of 2 blocks at once */
    if (flint_engine_create(m, &bp, &e)) {
        CHECK_MSG(0, "%s: %s", family, flint_errmsg());
        return;
    }
    uint64_t ids[N_REQ];
    for (int i = 0; i < N_REQ; i++) ids[i] = submit(e, prompts[i], len[i], 12, NULL);
    for (int i = 0; i < N_REQ; i++) collect(e, ids[i], &together[i]);
    for (int i = 0; i < N_REQ; i++)
        CHECK_MSG(same_tokens(&solo[i], &together[i]) && together[i].finish == FLINT_FINISH_LENGTH,
                  "%s%s: request %d differs batched (%d tokens, finish %d, first %d vs %d)", family,
                  tiny_pool ? " (tiny pool)" : "", i, together[i].n, together[i].finish, solo[i].tok[0],
                  together[i].tok[0]);
    flint_engine_stats s;
    flint_engine_stats_get(e, &s);
    CHECK_INT_EQ(s.requests_done[FLINT_FINISH_LENGTH], N_REQ);
    if (tiny_pool) {
        CHECK_MSG(s.preemptions > 0, "%s: the tiny pool preempted nothing (%lld blocks)", family,
                  (long long)s.kv_blocks_total);
        CHECK_MSG(s.kv_blocks_free == s.kv_blocks_total, "%s: %lld of %lld blocks free after the requests", family,
                  (long long)s.kv_blocks_free, (long long)s.kv_blocks_total);
    }
    flint_engine_free(e);
}

static void test_batched_equals_solo(void) {
    TEST_GROUP("batched = solo (deterministic)");
    for (int f = 0; f < N_FAMILIES; f++) {
        flint_model *m = open_fixture(families[f]);
        if (!m) continue;
        run_batch(m, families[f], 0);
        run_batch(m, families[f], 1);
        flint_model_close(m);
    }
}

/* A request sharing a prefix with a finished one reuses it and gives what
 * a cold engine gives, every family: attention blocks, sliding windows
 * well past the window (gemma2/a, gemma3/a and gemma4/a have windows of
 * 16), recurrent state (qwen35). */
static void test_prefix_reuse(void) {
    TEST_GROUP("prefix reuse");
    const char *const *fams = families;
    for (int f = 0; f < N_FAMILIES; f++) {
        flint_model *m = open_fixture(fams[f]);
        if (!m) continue;
        int32_t first[150], second[150];
        make_prompt(first, 150, 200, 1);
        memcpy(second, first, sizeof second);
        make_prompt(second + 140, 10, 200, 2); /* the same first 140 */
        output cold, warm, before;
        flint_engine *e = NULL;
        flint_engine_params ep = {.n_ctx = 200, .n_threads = 2, .deterministic = 1, .step_tokens = 64};
        if (flint_engine_create(m, &ep, &e) == FLINT_OK) {
            collect(e, submit(e, second, 150, 8, NULL), &cold);
            flint_engine_free(e);
        }
        if (flint_engine_create(m, &ep, &e) == FLINT_OK) {
            collect(e, submit(e, first, 150, 8, NULL), &before);
            collect(e, submit(e, second, 150, 8, NULL), &warm);
            flint_engine_free(e);
        }
        CHECK_MSG(warm.usage.cached_tokens >= 64, "%s: %d tokens reused", fams[f], warm.usage.cached_tokens);
        CHECK_MSG(warm.usage.cached_tokens <= 140, "%s: %d tokens reused", fams[f], warm.usage.cached_tokens);
        CHECK_INT_EQ(cold.usage.cached_tokens, 0);
        CHECK_MSG(same_tokens(&cold, &warm), "%s: a cached prefix changed the output", fams[f]);
        /* the whole prompt in one step: attention restores the whole shared
         * prefix; recurrent layers the last snapshot below it (every 128) */
        const int recurrent = !strncmp(fams[f], "qwen35", 6);
        ep.step_tokens = 512;
        if (flint_engine_create(m, &ep, &e) == FLINT_OK) {
            collect(e, submit(e, first, 150, 8, NULL), &before);
            collect(e, submit(e, second, 150, 8, NULL), &warm);
            flint_engine_free(e);
        }
        CHECK_MSG(warm.usage.cached_tokens == (recurrent ? 128 : 140), "%s, one step: %d tokens reused", fams[f],
                  warm.usage.cached_tokens);
        CHECK_MSG(same_tokens(&cold, &warm), "%s, one step: a cached prefix changed the output", fams[f]);
        flint_model_close(m);
    }
}

/* The sequence sharing the most tokens need not restore the most: with
 * snapshots only at prompt ends, a recurrent model restores a cached
 * sequence at exactly its prompt's length. */
static void test_best_source(void) {
    TEST_GROUP("prefix reuse: the source that restores the most");
    flint_model *m = open_fixture("qwen35/dense");
    if (!m) return;
    int32_t x[160], s1[160], r[160];
    make_prompt(x, 160, 200, 5);
    memcpy(s1, x, sizeof s1);
    make_prompt(s1 + 145, 15, 200, 6); /* shares 145 with r, snapshot only at 160 */
    memcpy(r, x, sizeof r);
    make_prompt(r + 145, 15, 200, 7);
    flint_engine *e = NULL;
    flint_engine_params ep = {.n_ctx = 200, .n_threads = 2, .n_cache = 2, .snapshot_interval = -1};
    output o;
    if (flint_engine_create(m, &ep, &e) == FLINT_OK) {
        collect(e, submit(e, x, 100, 4, NULL), &o);  /* shares 100, snapshot at 100 */
        collect(e, submit(e, s1, 160, 4, NULL), &o);
        collect(e, submit(e, r, 160, 4, NULL), &o);
        CHECK_MSG(o.usage.cached_tokens == 100, "%d tokens reused", o.usage.cached_tokens);
        flint_engine_free(e);
    } else {
        CHECK_MSG(0, "%s", flint_errmsg());
    }
    flint_model_close(m);
}

static void test_cancel(void) {
    TEST_GROUP("cancel");
    flint_model *m = open_fixture("qwen35/dense");
    if (!m) return;
    flint_engine *e = NULL;
    flint_engine_params ep = {.n_slots = 2, .n_ctx = 256, .n_threads = 2, .step_tokens = 8, .n_cache = -1};
    if (flint_engine_create(m, &ep, &e)) {
        CHECK_MSG(0, "%s", flint_errmsg());
        flint_model_close(m);
        return;
    }
    int32_t prompt[240];
    make_prompt(prompt, 240, 200, 9);
    /* mid-prefill: 240 prompt tokens at 8 a step, cancelled after two steps */
    uint64_t a = submit(e, prompt, 240, 0, NULL);
    flint_engine_stats s;
    for (int i = 0; i < 4000; i++) {
        flint_engine_stats_get(e, &s);
        if (s.steps >= 2) break;
        usleep(1000);
    }
    CHECK(flint_engine_cancel(e, a) == FLINT_OK);
    output oa;
    collect(e, a, &oa);
    /* mid-decode: after a few tokens */
    uint64_t b = submit(e, prompt, 10, 0, NULL);
    output ob = {0};
    while (ob.n < 3) {
        flint_event ev;
        if (flint_engine_poll(e, b, -1, &ev)) break;
        ob.n += ev.n_tokens;
        if (ev.finish) break;
    }
    CHECK(flint_engine_cancel(e, b) == FLINT_OK);
    collect(e, b, &ob);
    CHECK_INT_EQ(oa.finish, FLINT_FINISH_CANCELLED);
    CHECK_INT_EQ(ob.finish, FLINT_FINISH_CANCELLED);
    CHECK_MSG(oa.n == 0, "cancelled mid-prefill after %d tokens", oa.n);
    CHECK_FAILS(flint_engine_cancel(e, a), FLINT_E_NOT_FOUND, "ended");
    flint_engine_stats_get(e, &s);
    CHECK_INT_EQ(s.running, 0);
    CHECK_INT_EQ(s.requests_done[FLINT_FINISH_CANCELLED], 2);
    CHECK_MSG(s.kv_blocks_free == s.kv_blocks_total, "%lld of %lld blocks free", (long long)s.kv_blocks_free,
              (long long)s.kv_blocks_total);
    flint_engine_free(e);
    flint_model_close(m);
}

typedef struct cb_state {
    pthread_mutex_t lock;
    output out;
    int done;
} cb_state;

static void on_event(const flint_event *ev, void *user) {
    cb_state *s = user;
    pthread_mutex_lock(&s->lock);
    for (int32_t i = 0; i < ev->n_tokens && s->out.n < MAX_OUT; i++) s->out.tok[s->out.n++] = ev->tokens[i];
    if (ev->finish) s->out.finish = ev->finish, s->done = 1;
    pthread_mutex_unlock(&s->lock);
}

/* A callback that stops at its request's first event until opened. */
typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int entered, open, done;
} gate;

static void on_gated_event(const flint_event *ev, void *user) {
    gate *g = user;
    pthread_mutex_lock(&g->lock);
    g->entered = 1;
    pthread_cond_broadcast(&g->cond);
    while (!g->open) pthread_cond_wait(&g->cond, &g->lock);
    if (ev->finish) g->done = 1, pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static void test_requests(void) {
    TEST_GROUP("requests");
    flint_model *m = open_fixture("gemma3/a");
    if (!m) return;
    flint_engine *e = NULL;
    flint_engine_params ep = {.n_slots = 1, .n_ctx = 64, .n_threads = 2, .max_queue = 2, .n_cache = -1};
    if (flint_engine_create(m, &ep, &e)) {
        CHECK_MSG(0, "%s", flint_errmsg());
        flint_model_close(m);
        return;
    }
    int32_t prompt[80];
    make_prompt(prompt, 80, 200, 3);
    uint64_t id;
    flint_request r = {.prompt_tokens = prompt, .n_prompt_tokens = 64};
    CHECK_FAILS(flint_engine_submit(e, &r, &id), FLINT_E_INVALID_ARG, "context holds 64");
    r.n_prompt_tokens = 10;
    r.top_logprobs = 3;
    CHECK_FAILS(flint_engine_submit(e, &r, &id), FLINT_E_INVALID_ARG, "needs logprobs");
    r.top_logprobs = 0;
    r.prompt = "hello";
    CHECK_FAILS(flint_engine_submit(e, &r, &id), FLINT_E_INVALID_ARG, "exactly one");
    r.prompt_tokens = NULL, r.n_prompt_tokens = 0;
    CHECK_FAILS(flint_engine_submit(e, &r, &id), FLINT_E_UNSUPPORTED, "no tokenizer");
    int32_t bad = 1 << 30;
    r = (flint_request){.prompt_tokens = &bad, .n_prompt_tokens = 1};
    CHECK_FAILS(flint_engine_submit(e, &r, &id), FLINT_E_INVALID_ARG, "outside the vocabulary");
    r = (flint_request){.prompt_tokens = prompt, .n_prompt_tokens = 10, .sampling = {.temperature = -1}};
    CHECK_FAILS(flint_engine_submit(e, &r, &id), FLINT_E_INVALID_ARG, "temperature");

    /* the context ends a request that asks for more */
    output o;
    collect(e, submit(e, prompt, 60, 100, NULL), &o);
    CHECK_INT_EQ(o.finish, FLINT_FINISH_LENGTH);
    CHECK_INT_EQ(o.n, 4);

    /* a stop token: the greedy output's third token ends it there */
    output free_run;
    collect(e, submit(e, prompt, 10, 8, NULL), &free_run);
    r = (flint_request){.prompt_tokens = prompt, .n_prompt_tokens = 10, .max_tokens = 8,
                        .stop_tokens = &free_run.tok[2], .n_stop_tokens = 1};
    CHECK(flint_engine_submit(e, &r, &id) == FLINT_OK);
    collect(e, id, &o);
    CHECK_INT_EQ(o.finish, FLINT_FINISH_STOP);
    int32_t first = 0;
    while (free_run.tok[first] != free_run.tok[2]) first++;
    CHECK_INT_EQ(o.n, first + 1);

    /* callbacks give what polls give */
    cb_state cs = {.lock = PTHREAD_MUTEX_INITIALIZER};
    r = (flint_request){.prompt_tokens = prompt, .n_prompt_tokens = 10, .max_tokens = 8, .on_event = on_event,
                        .user = &cs};
    CHECK(flint_engine_submit(e, &r, &id) == FLINT_OK);
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&cs.lock);
        int done = cs.done;
        pthread_mutex_unlock(&cs.lock);
        if (done) break;
        usleep(5000);
    }
    CHECK(cs.done && same_tokens(&cs.out, &free_run) && cs.out.finish == FLINT_FINISH_LENGTH);
    CHECK_FAILS(flint_engine_poll(e, id, 0, &(flint_event){0}), FLINT_E_NOT_FOUND, "not pollable");

    /* a full queue: one running, two waiting, the fourth refused. The
     * running one's callback holds the scheduler at its first event, so
     * that it cannot finish and let a waiting one in before the fourth. */
    gate g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    uint64_t q[3];
    r = (flint_request){.prompt_tokens = prompt, .n_prompt_tokens = 10, .on_event = on_gated_event, .user = &g};
    CHECK(flint_engine_submit(e, &r, &q[0]) == FLINT_OK);
    pthread_mutex_lock(&g.lock);
    while (!g.entered) pthread_cond_wait(&g.cond, &g.lock); /* it runs */
    pthread_mutex_unlock(&g.lock);
    for (int i = 1; i < 3; i++) q[i] = submit(e, prompt, 10, 0, NULL);
    r = (flint_request){.prompt_tokens = prompt, .n_prompt_tokens = 10};
    flint_status st = flint_engine_submit(e, &r, &id);
    CHECK_MSG(st == FLINT_E_BUSY && strstr(flint_errmsg(), "queue is full"), "%s", flint_errmsg());
    for (int i = 0; i < 3; i++) flint_engine_cancel(e, q[i]);
    pthread_mutex_lock(&g.lock);
    g.open = 1;
    pthread_cond_broadcast(&g.cond);
    while (!g.done) pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
    for (int i = 1; i < 3; i++) collect(e, q[i], &o);
    flint_engine_free(e);
    flint_model_close(m);
}

/* Text through the tokenizer of the bundled model (random weights: its
 * greedy output for "Hello" is " model" over and over). */
static void test_text(void) {
    TEST_GROUP("text, stop strings, chat, logprobs");
    flint_model *m = NULL;
    flint_engine *e = NULL;
    flint_engine_params ep = {.n_ctx = 128, .n_threads = 2, .n_cache = -1};
    if (flint_model_open("models/tiny-gemma3.gguf", NULL, &m) || flint_engine_create(m, &ep, &e)) {
        CHECK_MSG(0, "%s", flint_errmsg());
        flint_model_close(m);
        return;
    }
    uint64_t id;
    output o;
    flint_request r = {.prompt = "Hello", .max_tokens = 6};
    CHECK(flint_engine_submit(e, &r, &id) == FLINT_OK);
    collect(e, id, &o);
    CHECK_STR_EQ(o.text, " model model model model model model");
    CHECK_INT_EQ(o.finish, FLINT_FINISH_LENGTH);

    /* a stop string across two tokens (" mo|del| mo|del"): the text before it, nothing after */
    const char *stops[] = {"zzz", "del mo"};
    r = (flint_request){.prompt = "Hello", .max_tokens = 6, .stop = stops, .n_stop = 2};
    CHECK(flint_engine_submit(e, &r, &id) == FLINT_OK);
    collect(e, id, &o);
    CHECK_STR_EQ(o.text, " mo");
    CHECK_INT_EQ(o.finish, FLINT_FINISH_STOP);
    CHECK_STR_EQ(o.stop, "del mo");
    CHECK_INT_EQ(o.n, 2);

    /* a stop string never completed: held-back text comes out at the end */
    const char *tail[] = {" model!"};
    r = (flint_request){.prompt = "Hello", .max_tokens = 2, .stop = tail, .n_stop = 1};
    CHECK(flint_engine_submit(e, &r, &id) == FLINT_OK);
    collect(e, id, &o);
    CHECK_STR_EQ(o.text, " model model");
    CHECK_INT_EQ(o.finish, FLINT_FINISH_LENGTH);

    /* chat messages: the prompt is the template's rendering */
    const flint_chat_message msgs[] = {{.role = "system", .content = "Be brief."}, {.role = "user", .content = "Hi"}};
    char rendered[512];
    size_t len = 0, n_ids = 0;
    int32_t ids[256];
    const flint_tokenizer *tok = flint_engine_tokenizer(e);
    CHECK(flint_chat_render(tok, msgs, 2, NULL, rendered, sizeof rendered, &len) == FLINT_OK && len < sizeof rendered);
    CHECK(strstr(rendered, "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n") != NULL);
    CHECK(flint_tokenize(tok, rendered, len, FLINT_TOKENIZE_SPECIAL, ids, 256, &n_ids) == FLINT_OK);
    r = (flint_request){.messages = msgs, .n_messages = 2, .max_tokens = 3, .logprobs = 1, .top_logprobs = 3};
    CHECK(flint_engine_submit(e, &r, &id) == FLINT_OK);
    collect(e, id, &o);
    CHECK_INT_EQ(o.usage.prompt_tokens, (int64_t)n_ids);
    /* greedy: the chosen token is the most likely one, its log-probability the top one's */
    for (int32_t i = 0; i < o.n; i++) {
        CHECK(o.top[i][0].token == o.tok[i] && o.top[i][0].logprob == o.logprob[i]);
        CHECK(o.logprob[i] <= 0 && o.top[i][1].logprob <= o.top[i][0].logprob &&
              o.top[i][2].logprob <= o.top[i][1].logprob);
    }

    /* control tokens: left out of the text unless the request asks for them
     * (the bias makes <start_of_turn> the only choice) */
    int32_t sot = flint_token_find(tok, "<start_of_turn>", 15);
    CHECK(sot >= 0);
    flint_logit_bias force = {.token = sot, .bias = 1000};
    r = (flint_request){.prompt = "Hello", .max_tokens = 2, .sampling = {.logit_bias = &force, .n_logit_bias = 1}};
    CHECK(flint_engine_submit(e, &r, &id) == FLINT_OK);
    collect(e, id, &o);
    CHECK_INT_EQ(o.n, 2);
    CHECK_STR_EQ(o.text, "");
    r.special_text = 1;
    CHECK(flint_engine_submit(e, &r, &id) == FLINT_OK);
    collect(e, id, &o);
    CHECK_STR_EQ(o.text, "<start_of_turn><start_of_turn>");
    flint_engine_free(e);
    flint_model_close(m);
}

/* A model whose final norm is NaN: the request ends with an error naming
 * the position, not with silent garbage. */
static void test_nan_logits(void) {
    TEST_GROUP("non-finite logits");
    const char *src = "models/tiny-gemma3.gguf", *dst = "build/tests/nan-gemma3.gguf";
    flint_model *m = NULL;
    flint_tensor_info ti;
    if (flint_model_open(src, NULL, &m) || flint_tensor_find(m, "output_norm.weight", &ti)) {
        CHECK_MSG(0, "%s", flint_errmsg());
        flint_model_close(m);
        return;
    }
    flint_model_close(m);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    CHECK(in && out);
    if (!in || !out) return;
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, k, out);
    fclose(in);
    const float nan = __builtin_nanf("");
    fseek(out, (long)ti.offset, SEEK_SET);
    for (uint64_t i = 0; i < ti.size / 4; i++) fwrite(&nan, 4, 1, out);
    fclose(out);
    flint_engine *e = NULL;
    flint_engine_params ep = {.n_ctx = 64, .n_threads = 2};
    if (flint_model_open(dst, NULL, &m) || flint_engine_create(m, &ep, &e)) {
        CHECK_MSG(0, "%s", flint_errmsg());
        flint_model_close(m);
        return;
    }
    flint_request r = {.prompt = "Hello there", .max_tokens = 4};
    uint64_t id;
    output o;
    CHECK(flint_engine_submit(e, &r, &id) == FLINT_OK);
    collect(e, id, &o);
    CHECK_INT_EQ(o.finish, FLINT_FINISH_ERROR);
    CHECK_INT_EQ(o.error, FLINT_E_NUMERIC);
    CHECK_MSG(strstr(o.error_msg, "non-finite") && strstr(o.error_msg, "position"), "%s", o.error_msg);
    CHECK_INT_EQ(o.n, 0);
    flint_engine_free(e);
    flint_model_close(m);
    remove(dst);
}

int main(void) {
    test_solo_equals_direct();
    test_text();
    test_nan_logits();
    test_requests();
    test_cancel();
    test_prefix_reuse();
    test_best_source();
    test_batched_equals_solo();
    return test_finish("test_engine");
}
