/* test_experts.c — streamed MoE experts (experts/store.h) give the same
 * bits as resident ones: every MoE fixture (Qwen3.5 MoE, Gemma 4 b — a is dense;
 * GGUF f32/bf16/q8_0/q4_0 and the HF folders) with caches of one and three
 * experts per layer (of 8: a 64-token prefill runs in waves) and one that
 * holds them all, in prefill and in token-by-token decode; reads split
 * short and interrupted by EINTR, through O_DIRECT and buffered pread; an
 * I/O error and an end of file inside an expert fail the call with a clear
 * message and the next call works; a file cut inside an expert is refused;
 * two contexts streaming from one model at once; the same with the next
 * layer's experts read ahead. The per-expert HF folder
 * (tools/gen_qwen35_per_expert.py) against transformers' logits and the
 * stacked folder bit for bit. The routing histogram: saved after a run
 * and read here byte by byte (its counts add up to the store's hits and
 * misses), loaded into a fresh model it saves the same bytes, a run seeded
 * with it hits from the first token and more often than a cold one, with
 * the resident logits; files of another model, cut, garbage or of the wrong
 * size are refused with a message. Streamed reads add none of the
 * expert tensors' pages to the page cache (mincore). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/model_file.h"
#include "base/file.h"
#include "experts/store.h"
#include "experts/store_io.h"
#include "model_fixture.h"

#define N_PREFILL 64

typedef struct result {
    float *logits; /* [n][V], NULL on failure */
    flint_expert_stats es;
    flint_status st;
} result;

static void result_free(result *r) { free(r->logits), r->logits = NULL; }

/* tokens through a fresh context: one prefill step of all of them, or
 * one token at a time (decode) */
static result run_ctx(flint_model *m, const int32_t *tok, int32_t n, bool decode) {
    result r = {0};
    flint_context *ctx = NULL;
    flint_context_params cp = {.n_ctx = MAX_TOK, .n_batch = N_PREFILL, .n_threads = 2, .kv_type = FLINT_KV_F32};
    if ((r.st = flint_context_create(m, &cp, &ctx))) return r;
    const int64_t V = flint_context_n_vocab(ctx);
    r.logits = malloc((size_t)(n * V) * sizeof(float));
    if (decode)
        for (int32_t i = 0; i < n && !r.st; i++) r.st = flint_decode(ctx, 0, tok + i, 1, r.logits + i * V, 0);
    else
        r.st = flint_decode(ctx, 0, tok, n, r.logits, 1);
    flint_model_expert_stats(m, &r.es);
    flint_context_free(ctx);
    if (r.st) result_free(&r);
    return r;
}

static result run(const char *path, int64_t cache, const int32_t *tok, int32_t n, bool decode) {
    flint_model *m = NULL;
    result r = {0};
    if ((r.st = flint_model_open(path, &(flint_model_params){.expert_cache = cache}, &m))) return r;
    r = run_ctx(m, tok, n, decode);
    flint_model_close(m);
    return r;
}

static int64_t vocab_of(const char *path) {
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    int64_t V = 0;
    if (!flint_model_open(path, NULL, &m) && !flint_context_create(m, &(flint_context_params){.n_ctx = 64}, &ctx))
        V = flint_context_n_vocab(ctx);
    flint_context_free(ctx);
    flint_model_close(m);
    return V;
}

/* The budget that gives `slots` experts per layer. */
static int64_t budget_for(const char *path, int32_t slots, flint_expert_stats *es) {
    result r = run(path, 1, (const int32_t[]){3}, 1, false);
    *es = r.es;
    result_free(&r);
    return (int64_t)slots * (int64_t)es->slot_bytes * es->n_layers;
}

static bool same(const result *a, const result *b, int32_t n, int64_t V) {
    return a->logits && b->logits && !memcmp(a->logits, b->logits, (size_t)(n * V) * sizeof(float));
}

/* Streamed with 1, 3 and all experts per layer equals resident, bit for bit. */
static void check_file(const char *path, const fixture *f) {
    const int32_t n = f->len[0] < N_PREFILL ? f->len[0] : N_PREFILL, nd = 12;
    const int64_t V = vocab_of(path);
    result ref_p = run(path, 0, f->tok[0], n, false), ref_d = run(path, 0, f->tok[0], nd, true);
    CHECK_MSG(ref_p.logits && ref_d.logits, "%s: resident run: %s", path, flint_errmsg());
    flint_expert_stats es;
    const int64_t three = budget_for(path, 3, &es);
    const int64_t budgets[3] = {1, three, (int64_t)es.n_expert * (int64_t)es.slot_bytes * es.n_layers};
    const int32_t slots[3] = {1, 3, es.n_expert};
    for (int b = 0; b < 3; b++) {
        result p = run(path, budgets[b], f->tok[0], n, false), d = run(path, budgets[b], f->tok[0], nd, true);
        CHECK_MSG(p.logits && d.logits, "%s streamed: %s", path, flint_errmsg());
        CHECK_MSG(same(&p, &ref_p, n, V), "%s, %d slots: prefill of %d differs from resident", path, slots[b], n);
        CHECK_MSG(same(&d, &ref_d, nd, V), "%s, %d slots: decode differs from resident", path, slots[b]);
        CHECK_MSG(p.es.streamed && p.es.slots_per_layer == slots[b], "%s: %d slots per layer, expected %d", path,
                  p.es.slots_per_layer, slots[b]);
        /* a prefill that routes to every expert needs more reads than the slots hold: waves */
        if (slots[b] < es.n_expert)
            CHECK_MSG(p.es.misses > (uint64_t)slots[b] * (uint64_t)es.n_layers, "%s: %llu reads with %d slots", path,
                      (unsigned long long)p.es.misses, slots[b]);
        else
            CHECK_MSG(d.es.hits > 0 && d.es.misses <= (uint64_t)es.n_expert * (uint64_t)es.n_layers,
                      "%s: a cache of every expert read %llu and hit %llu", path, (unsigned long long)d.es.misses,
                      (unsigned long long)d.es.hits);
        CHECK_MSG(p.es.bytes_read > 0 && p.es.reads_direct + p.es.reads_buffered >= p.es.misses, "bytes read");
        /* decode reads the next layer's likely experts ahead unless told not to */
        const char *ahead = getenv("FLINT_EXPERT_PREFETCH");
        if (ahead && !atoi(ahead))
            CHECK_MSG(d.es.prefetches == 0, "%s: %llu read ahead with FLINT_EXPERT_PREFETCH=0", path,
                      (unsigned long long)d.es.prefetches);
        else
            CHECK_MSG(d.es.prefetches > 0, "%s, %d slots: nothing read ahead in decode", path, slots[b]);
        result_free(&p), result_free(&d);
    }
    printf("  %-48s bit-identical with 1, 3 and %d slots of %llu bytes per layer (%d layers)\n", path, es.n_expert,
           (unsigned long long)es.slot_bytes, es.n_layers);
    result_free(&ref_p), result_free(&ref_d);
}

static const char *const fixture_files[][2] = {
    {"qwen35/moe", ""},                     {"qwen35/moe", "model-f32.gguf"},
    {"qwen35/moe", "model-bf16.gguf"},      {"qwen35/moe", "model-q8_0.gguf"},
    {"qwen35/moe", "model-q4_0.gguf"},      {"qwen35/trained-moe", "model-q8_0.gguf"},
    {"qwen35/trained-moe", "model-q4_0.gguf"}, {"gemma4/b", ""},                       {"gemma4/b", "model-f32.gguf"},
    {"gemma4/b", "model-q8_0.gguf"},        {"gemma4/b", "model-q4_0.gguf"},
    {"gemma4/trained-b", "model-q8_0.gguf"},
    /* MLX stacks (switch_mlp): each expert's codes, scales and biases */
    {"mlx/qwen35moe-q5-g32", ""},           {"mlx/qwen35moe-mxfp4", ""},
    {"mlx/gemma4b-q4", ""},                 {"mlx/gemma4b-nvfp4", ""},
};

/* ---- the read hook: EINTR on every third call, reads cut to `chunk` ---- */

static size_t hook_chunk;
static int hook_calls, hook_eintr, hook_short;
static enum { HOOK_FLAKY, HOOK_EOF, HOOK_EIO } hook_mode;

static ssize_t hooked_read(int fd, void *buf, size_t n, off_t off) {
    const int call = __atomic_fetch_add(&hook_calls, 1, __ATOMIC_RELAXED);
    if (hook_mode == HOOK_EIO) return errno = EIO, -1;
    if (hook_mode == HOOK_EOF) return 0;
    if (call % 3 == 0) {
        __atomic_fetch_add(&hook_eintr, 1, __ATOMIC_RELAXED);
        return errno = EINTR, -1;
    }
    if (n > hook_chunk) __atomic_fetch_add(&hook_short, 1, __ATOMIC_RELAXED);
    return pread(fd, buf, n < hook_chunk ? n : hook_chunk, off);
}

/* The read queue at the store's level: two layers of 8 one-block experts
 * in a scratch file, every read held at a gate. Reads ahead wait behind a
 * read a session waits on; a queued read ahead the next session needs is
 * promoted (a miss), one it does not need is dropped unread; one that
 * landed is a hit; no more than two run at once. */
#define QBLOCK 4096
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int gate_log[64], gate_n; /* the blocks reads started on, in order */

static ssize_t gated_read(int fd, void *buf, size_t n, off_t off) {
    pthread_mutex_lock(&gate_mu);
    if (gate_n < 64) gate_log[gate_n++] = (int)(off / QBLOCK);
    pthread_cond_broadcast(&gate_cv);
    while (!gate_open) pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    return pread(fd, buf, n, off);
}

static void *gate_open_later(void *arg) {
    (void)arg;
    usleep(20 * 1000);
    pthread_mutex_lock(&gate_mu);
    gate_open = true;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    return NULL;
}

/* Waits up to 5 s for n reads to have started. */
static bool gate_wait_log(int n) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&gate_mu);
    while (gate_n < n && pthread_cond_timedwait(&gate_cv, &gate_mu, &until) == 0) {}
    const bool ok = gate_n >= n;
    pthread_mutex_unlock(&gate_mu);
    return ok;
}

static bool gate_logged(int block) {
    for (int i = 0; i < gate_n; i++)
        if (gate_log[i] == block) return true;
    return false;
}

/* Takes the n experts of the open session of layer l, checks their bytes
 * (block b holds b + 1), and closes it. */
static void queue_drain(fl_store_layer *sl, int32_t l, int32_t n) {
    for (int32_t left = n; left > 0;) {
        int32_t e[8], got = 0;
        const uint8_t *const *base[8];
        if (fl_store_next(sl, e, base, 8, &got) || !got) {
            CHECK_MSG(0, "layer %d: %d experts never came: %s", l, left, flint_errmsg());
            break;
        }
        for (int32_t i = 0; i < got; i++) {
            CHECK_MSG(base[i][0][0] == l * 8 + e[i] + 1 && base[i][0][QBLOCK - 1] == l * 8 + e[i] + 1,
                      "layer %d expert %d: wrong bytes", l, e[i]);
            fl_store_done(sl, e[i]);
        }
        left -= got;
    }
    fl_store_end(sl);
}

static void check_read_queue(void) {
    char path[] = "/tmp/flint-queue-XXXXXX";
    const int fd = mkstemp(path);
    uint8_t block[QBLOCK];
    bool ok = fd >= 0;
    for (int b = 0; ok && b < 16; b++) memset(block, b + 1, sizeof block), ok = write(fd, block, sizeof block) == QBLOCK;
    const uint8_t *map = ok ? mmap(NULL, 16 * QBLOCK, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    if (fd >= 0) close(fd);
    CHECK_MSG(map != MAP_FAILED, "scratch file %s", path);
    if (map == MAP_FAILED) {
        unlink(path);
        return;
    }
    fl_expert_range ranges[2][8];
    fl_experts ex[2];
    for (int32_t l = 0; l < 2; l++) {
        for (int32_t e = 0; e < 8; e++)
            ranges[l][e] = (fl_expert_range){path, (uint64_t)(l * 8 + e) * QBLOCK, QBLOCK, map + (l * 8 + e) * QBLOCK};
        ex[l] = (fl_experts){.n_expert = 8, .n_range = 1, .ranges = ranges[l]};
    }
    setenv("FLINT_EXPERT_PREFETCH", "2", 1);
    fl_store_set_direct(false);
    fl_store_set_read_fn(gated_read);
    gate_open = false, gate_n = 0;
    fl_expert_store *st = NULL;
    fl_store_layer *a = NULL, *b = NULL;
    flint_expert_stats es;
    /* 4 slots per layer (a slot of one block takes two: any alignment) */
    const bool made = !fl_store_create(2 * 4 * 2 * QBLOCK, &st) && !fl_store_layer_get(st, 0, &ex[0], &a) &&
                      !fl_store_layer_get(st, 1, &ex[1], &b) && !fl_store_commit(st);
    CHECK_MSG(made, "store: %s", flint_errmsg());
    if (made) {
        CHECK_MSG(fl_store_ahead(a) == 2, "FLINT_EXPERT_PREFETCH=2 reads %d ahead", fl_store_ahead(a));
        /* layer 0's session waits on expert 0; layer 1's hints 1 and 2 queue behind it */
        CHECK_MSG(!fl_store_begin(a, (int32_t[]){0}, 1), "begin: %s", flint_errmsg());
        CHECK_MSG(gate_wait_log(1) && gate_log[0] == 0, "the needed read did not start");
        fl_store_prefetch(b, (int32_t[]){1, 2}, 2);
        usleep(50 * 1000);
        CHECK_MSG(gate_n == 1, "%d reads started while a needed one was pending (read ahead first?)", gate_n);
        /* layer 1's session needs 2 and 3: 2 is promoted, 1 dropped unread */
        CHECK_MSG(!fl_store_begin(b, (int32_t[]){2, 3}, 2), "begin: %s", flint_errmsg());
        fl_store_stats(st, &es);
        CHECK_MSG(es.misses == 3 && es.hits == 0 && es.prefetches == 0,
                  "after promotion: %llu misses (3), %llu hits (0), %llu read ahead (0)",
                  (unsigned long long)es.misses, (unsigned long long)es.hits, (unsigned long long)es.prefetches);
        CHECK_MSG(gate_wait_log(3), "the promoted and the new read did not start");
        /* the gate opens 20 ms into the wait for expert 0 */
        pthread_t opener;
        const bool opening = !pthread_create(&opener, NULL, gate_open_later, NULL);
        CHECK_MSG(opening, "%s", "a thread to open the gate");
        if (!opening) gate_open_later(NULL);
        queue_drain(a, 0, 1);
        if (opening) pthread_join(opener, NULL);
        queue_drain(b, 1, 2);
        CHECK_MSG(gate_logged(0) && gate_logged(10) && gate_logged(11) && !gate_logged(9) && gate_n == 3,
                  "reads of %d blocks: the dropped read ahead (block 9) ran, or a needed one did not", gate_n);
        /* with nothing pending a read ahead goes at once, and the session finds it: a hit */
        fl_store_stats(st, &es);
        const uint64_t bytes = es.bytes_read;
        fl_store_prefetch(b, (int32_t[]){5}, 1);
        for (int i = 0; i < 500 && es.bytes_read == bytes; i++) usleep(10 * 1000), fl_store_stats(st, &es);
        CHECK_MSG(es.bytes_read > bytes && gate_logged(13), "the read ahead of expert 5 did not run");
        CHECK_MSG(!fl_store_begin(b, (int32_t[]){5}, 1), "begin: %s", flint_errmsg());
        queue_drain(b, 1, 1);
        fl_store_stats(st, &es);
        CHECK_MSG(es.hits == 1 && es.misses == 3 && es.prefetches == 1 && gate_n == 4,
                  "read ahead then routed: %llu hits (1), %llu misses (3), %llu read ahead (1), %d reads (4)",
                  (unsigned long long)es.hits, (unsigned long long)es.misses, (unsigned long long)es.prefetches, gate_n);
        CHECK_MSG(es.io_busy_ns > 70ull * 1000 * 1000 && es.io_wait_ns > 10ull * 1000 * 1000,
                  "reads pending %llu ns (> the 70 ms held at the gate), waited %llu ns (> 10 ms)",
                  (unsigned long long)es.io_busy_ns, (unsigned long long)es.io_wait_ns);
        double bw = 0;
        CHECK_MSG(!fl_store_probe(st, 64 * QBLOCK, &bw) && bw > 0, "probe: %s", flint_errmsg());
        fl_store_stats(st, &es);
        CHECK_MSG(es.hits == 1 && es.misses == 3 && gate_n > 4, "the probe read %d blocks and left the counters",
                  gate_n - 4);
        /* three reads ahead with the gate shut: two start, the third waits */
        pthread_mutex_lock(&gate_mu);
        gate_open = false;
        const int before = gate_n;
        pthread_mutex_unlock(&gate_mu);
        fl_store_prefetch(b, (int32_t[]){4, 6, 7}, 3);
        CHECK_MSG(gate_wait_log(before + 2), "%s", "reads ahead did not start");
        usleep(50 * 1000);
        CHECK_MSG(gate_n == before + 2, "%d reads ahead at once (2 at most)", gate_n - before);
        gate_open_later(NULL);
    }
    if (st) fl_store_free(st);
    fl_store_set_read_fn(NULL);
    fl_store_set_direct(true);
    unsetenv("FLINT_EXPERT_PREFETCH");
    munmap((void *)map, 16 * QBLOCK);
    unlink(path);
}

static void check_flaky_reads(const char *path, const fixture *f, bool direct) {
    const int32_t n = f->len[0] < N_PREFILL ? f->len[0] : N_PREFILL;
    const int64_t V = vocab_of(path);
    result ref = run(path, 0, f->tok[0], n, false);
    fl_store_set_direct(direct);
    fl_store_set_read_fn(hooked_read);
    hook_mode = HOOK_FLAKY;
    hook_chunk = direct ? FL_IO_ALIGN : 1000; /* O_DIRECT continues at aligned offsets only */
    hook_calls = hook_eintr = hook_short = 0;
    result r = run(path, 1, f->tok[0], n, false);
    fl_store_set_read_fn(NULL);
    fl_store_set_direct(true);
    CHECK_MSG(r.logits, "%s: flaky reads: %s", path, flint_errmsg());
    CHECK_MSG(same(&r, &ref, n, V), "%s: reads split and interrupted (%s) change the logits", path,
              direct ? "O_DIRECT" : "buffered");
    CHECK_MSG(hook_eintr > 0 && hook_short > 0, "the hook interrupted %d and cut %d reads", hook_eintr, hook_short);
    if (direct)
        CHECK_MSG(r.es.direct && r.es.reads_direct > 0 && r.es.reads_buffered == 0,
                  "O_DIRECT: %llu direct and %llu buffered reads", (unsigned long long)r.es.reads_direct,
                  (unsigned long long)r.es.reads_buffered);
    else
        CHECK_MSG(!r.es.direct && r.es.reads_direct == 0 && r.es.reads_buffered > 0,
                  "buffered: %llu direct and %llu buffered reads", (unsigned long long)r.es.reads_direct,
                  (unsigned long long)r.es.reads_buffered);
    printf("  %-48s %s: %d reads interrupted, %d cut short: bit-identical\n", path, direct ? "O_DIRECT" : "buffered",
           hook_eintr, hook_short);
    result_free(&r), result_free(&ref);
}

/* A failed read fails the call with its message; the next call reads again. */
static void check_read_errors(const char *path, const fixture *f) {
    const int32_t n = 16;
    const int64_t V = vocab_of(path);
    result ref = run(path, 0, f->tok[0], n, false);
    flint_model *m = NULL;
    if (flint_model_open(path, &(flint_model_params){.expert_cache = 1}, &m)) {
        CHECK_MSG(0, "%s: %s", path, flint_errmsg());
        return;
    }
    fl_store_set_read_fn(hooked_read);
    hook_mode = HOOK_EOF;
    result r = run_ctx(m, f->tok[0], n, false);
    CHECK_MSG(r.st == FLINT_E_FORMAT && strstr(flint_errmsg(), "the file ends at") && strstr(flint_errmsg(), "expert"),
              "end of file inside an expert: %s \"%s\"", flint_status_name(r.st), flint_errmsg());
    printf("  end of file: %s\n", flint_errmsg());
    hook_mode = HOOK_EIO;
    r = run_ctx(m, f->tok[0], n, false);
    CHECK_MSG(r.st == FLINT_E_IO && strstr(flint_errmsg(), "Input/output error") && strstr(flint_errmsg(), path),
              "I/O error: %s \"%s\"", flint_status_name(r.st), flint_errmsg());
    printf("  I/O error: %s\n", flint_errmsg());
    fl_store_set_read_fn(NULL);
    r = run_ctx(m, f->tok[0], n, false);
    CHECK_MSG(same(&r, &ref, n, V), "%s: after failed reads the logits differ (%s)", path, flint_errmsg());
    result_free(&r), result_free(&ref);
    flint_model_close(m);
}

/* A copy cut inside its last expert is refused at open, naming the file. */
static void check_truncated(const char *path) {
    flint_model *m = NULL;
    if (flint_model_open(path, NULL, &m)) return;
    flint_tensor_info t, last = {0};
    for (int64_t i = 0; i < flint_tensor_count(m); i++)
        if (!flint_tensor_get(m, i, &t) && strstr(t.name, "exps") && t.offset > last.offset) last = t;
    const uint64_t cut = last.offset + last.size - last.size / 3;
    char name[128];
    snprintf(name, sizeof name, "%s", last.name ? last.name : "");
    flint_model_close(m);
    char tmp[] = "/tmp/flint-test-experts-XXXXXX";
    int fd = mkstemp(tmp);
    char *data = NULL;
    uint64_t len = 0;
    CHECK(*name && fd >= 0 && !fl_read_file(path, 1 << 26, &data, &len) && write(fd, data, cut) == (ssize_t)cut);
    close(fd);
    free(data);
    CHECK_MSG(flint_model_open(tmp, &(flint_model_params){.expert_cache = 1}, &m) == FLINT_E_FORMAT &&
                  strstr(flint_errmsg(), tmp),
              "a file cut inside expert tensor %s: \"%s\"", name, flint_errmsg());
    printf("  cut inside %s: %s\n", name, flint_errmsg());
    unlink(tmp);
}

/* Two contexts on one streamed model, decoding at the same time. */
typedef struct shared_run {
    flint_model *m;
    const int32_t *tok;
    int32_t n;
    bool decode;
    result r;
} shared_run;

static void *shared_main(void *arg) {
    shared_run *s = arg;
    s->r = run_ctx(s->m, s->tok, s->n, s->decode);
    return NULL;
}

static void check_shared_model(const char *path, const fixture *f) {
    const int32_t n = 40;
    const int64_t V = vocab_of(path);
    result ref_p = run(path, 0, f->tok[0], n, false), ref_d = run(path, 0, f->tok[1], n, true);
    flint_model *m = NULL;
    flint_expert_stats es;
    if (flint_model_open(path, &(flint_model_params){.expert_cache = budget_for(path, 3, &es)}, &m)) return;
    shared_run a = {m, f->tok[0], n, false, {0}}, b = {m, f->tok[1], n, true, {0}};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, shared_main, &a);
    pthread_create(&tb, NULL, shared_main, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_MSG(same(&a.r, &ref_p, n, V) && same(&b.r, &ref_d, n, V), "%s: two contexts sharing the store", path);
    result_free(&a.r), result_free(&b.r), result_free(&ref_p), result_free(&ref_d);
    flint_model_close(m);
}

/* ---- the routing histogram ---- */

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    while (n--) v = v << 8 | p[n];
    return v;
}

static bool write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, n, f) == n;
    return f && !fclose(f) && ok;
}

/* A streamed run that loads `hist` (NULL: cold) and saves to `save` (NULL: no). */
static result run_hist(const char *path, int64_t cache, const char *hist, const char *save, const int32_t *tok,
                       int32_t n) {
    flint_model *m = NULL;
    result r = {0};
    if ((r.st = flint_model_open(path, &(flint_model_params){.expert_cache = cache}, &m))) return r;
    if (hist && (r.st = flint_model_expert_histogram_load(m, hist))) {
        flint_model_close(m);
        return r;
    }
    r = run_ctx(m, tok, n, true);
    if (!r.st && save) r.st = flint_model_expert_histogram_save(m, save);
    flint_model_close(m);
    return r;
}

static void check_histogram(const char *path, const fixture *f) {
    const int32_t nd = 24;
    const int64_t V = vocab_of(path);
    char h1[] = "/tmp/flint-test-hist-XXXXXX", h2[] = "/tmp/flint-test-hist-XXXXXX", bad[] = "/tmp/flint-test-hist-XXXXXX";
    close(mkstemp(h1)), close(mkstemp(h2)), close(mkstemp(bad));
    flint_expert_stats es;
    const int64_t three = budget_for(path, 3, &es);
    result ref = run(path, 0, f->tok[0], nd, true), cold = run_hist(path, three, NULL, h1, f->tok[0], nd);
    CHECK_MSG(ref.logits && cold.logits, "%s: %s", path, flint_errmsg());

    /* the file, read here: header, shape, the model's tensor bytes, counts that add up */
    char *d = NULL;
    uint64_t len = 0;
    CHECK(!fl_read_file(h1, 1 << 20, &d, &len) && len >= 24);
    const uint8_t *b = (const uint8_t *)d;
    const uint64_t L = len >= 24 ? le(b + 16, 4) : 0, E = len >= 24 ? le(b + 20, 4) : 0;
    uint64_t weights = 0, sum = 0;
    flint_model *m = NULL;
    flint_tensor_info t;
    CHECK(!flint_model_open(path, NULL, &m));
    for (int64_t i = 0; i < flint_tensor_count(m); i++) weights += !flint_tensor_get(m, i, &t) ? t.size : 0;
    flint_model_close(m);
    CHECK_MSG(len >= 24 && !memcmp(b, "FLXH", 4) && le(b + 4, 4) == 1 && le(b + 8, 8) == weights && E == (uint64_t)es.n_expert &&
                  L >= (uint64_t)es.n_layers && len == 24 + 8 * L * E,
              "%s: histogram header (%llu bytes, %llu x %llu)", h1, (unsigned long long)len, (unsigned long long)L,
              (unsigned long long)E);
    for (uint64_t i = 0; len == 24 + 8 * L * E && i < L * E; i++) sum += le(b + 24 + 8 * i, 8);
    CHECK_MSG(sum > 0 && sum == cold.es.hits + cold.es.misses, "histogram counts %llu, the store routed %llu",
              (unsigned long long)sum, (unsigned long long)(cold.es.hits + cold.es.misses));

    /* loaded into a fresh model, saved again before any token: the same bytes */
    char *d2 = NULL;
    uint64_t len2 = 0;
    flint_context *ctx = NULL;
    CHECK(!flint_model_open(path, &(flint_model_params){.expert_cache = three}, &m));
    CHECK_MSG(!flint_model_expert_histogram_load(m, h1), "load: %s", flint_errmsg());
    CHECK_FAILS(flint_model_expert_histogram_load(m, h1), FLINT_E_INVALID_ARG, "loaded already");
    CHECK_FAILS(flint_model_expert_histogram_save(m, h2), FLINT_E_INVALID_ARG, "no context");
    CHECK(!flint_context_create(m, &(flint_context_params){.n_ctx = 64}, &ctx));
    CHECK_MSG(!flint_model_expert_histogram_save(m, h2), "save: %s", flint_errmsg());
    flint_context_free(ctx);
    flint_model_close(m);
    CHECK_MSG(!fl_read_file(h2, 1 << 20, &d2, &len2) && len2 == len && !memcmp(d, d2, len), "saved again: other bytes");
    free(d2);

    /* seeded: the most routed experts are there for the first token; more hits; the same bits */
    result cold1 = run_hist(path, three, NULL, NULL, f->tok[0], 1), warm1 = run_hist(path, three, h1, NULL, f->tok[0], 1);
    result warm = run_hist(path, three, h1, NULL, f->tok[0], nd);
    CHECK_MSG(cold1.logits && warm1.logits && cold1.es.hits == 0 && warm1.es.hits > 0 && warm1.es.prefetches > 0,
              "first token: %llu hits cold, %llu seeded", (unsigned long long)cold1.es.hits,
              (unsigned long long)warm1.es.hits);
    CHECK_MSG(warm.logits && warm.es.hits > cold.es.hits, "%d tokens: %llu hits seeded, %llu cold", nd,
              (unsigned long long)warm.es.hits, (unsigned long long)cold.es.hits);
    CHECK_MSG(same(&warm, &ref, nd, V), "%s: seeded with a histogram the logits differ from resident", path);
    printf("  %-48s %d tokens, 3 slots: hit rate %.2f cold, %.2f seeded; first token %llu hits\n", path, nd,
           (double)cold.es.hits / (double)(cold.es.hits + cold.es.misses),
           (double)warm.es.hits / (double)(warm.es.hits + warm.es.misses), (unsigned long long)warm1.es.hits);
    result_free(&cold1), result_free(&warm1), result_free(&warm), result_free(&cold), result_free(&ref);

    /* refused: another model, cut, garbage, counts of the wrong size, a shape that is not the model's */
    const char *other = FIXTURE("gemma4/b/model-q8_0.gguf");
    CHECK(!flint_model_open(other, &(flint_model_params){.expert_cache = three}, &m));
    CHECK_FAILS(flint_model_expert_histogram_load(m, h1), FLINT_E_INVALID_ARG, "another model");
    flint_model_close(m);
    CHECK(!flint_model_open(path, NULL, &m));
    CHECK_FAILS(flint_model_expert_histogram_load(m, h1), FLINT_E_INVALID_ARG, "resident");
    CHECK_FAILS(flint_model_expert_histogram_save(m, h1), FLINT_E_INVALID_ARG, "resident");
    flint_model_close(m);
    CHECK(!flint_model_open(path, &(flint_model_params){.expert_cache = three}, &m));
    CHECK(write_bytes(bad, d, len - 5));
    CHECK_FAILS(flint_model_expert_histogram_load(m, bad), FLINT_E_FORMAT, "do not match");
    CHECK(write_bytes(bad, d, 10));
    CHECK_FAILS(flint_model_expert_histogram_load(m, bad), FLINT_E_FORMAT, "not an expert histogram");
    CHECK(write_bytes(bad, "{\"layers\": [1, 2, 3], \"experts\": 8}\n", 35));
    CHECK_FAILS(flint_model_expert_histogram_load(m, bad), FLINT_E_FORMAT, "not an expert histogram");
    d[20]++; /* one more expert per layer than the counts hold */
    CHECK(write_bytes(bad, d, len));
    CHECK_FAILS(flint_model_expert_histogram_load(m, bad), FLINT_E_FORMAT, "do not match");
    d[20]--, d[4] = 2;
    CHECK(write_bytes(bad, d, len));
    CHECK_FAILS(flint_model_expert_histogram_load(m, bad), FLINT_E_FORMAT, "version 2");
    d[4] = 1, d[16] /= 2, d[20] *= 2; /* as many counts, shaped as half the layers of twice the experts */
    CHECK(write_bytes(bad, d, len));
    CHECK_FAILS(flint_model_expert_histogram_load(m, bad), FLINT_E_INVALID_ARG, "another model");
    CHECK_FAILS(flint_model_expert_histogram_load(m, "/nonexistent/hist"), FLINT_E_IO, "/nonexistent/hist");
    flint_model_close(m);
    free(d);
    unlink(h1), unlink(h2), unlink(bad);
}

/* The per-expert folder (two shards): transformers' logits within the
 * F32 bound, and the stacked folder's bits, resident and streamed. */
static void check_per_expert(void) {
    const char *dir = FIXTURE("qwen35/moe-per-expert"), *stacked = FIXTURE("qwen35/moe");
    fixture ref;
    if (!load_fixture(dir, &ref)) {
        CHECK_MSG(0, "%s: fixture files", dir);
        return;
    }
    check_model(dir, &ref, 1e-4, 0, 0);
    const int32_t n = ref.len[0] < N_PREFILL ? ref.len[0] : N_PREFILL;
    const int64_t V = vocab_of(dir);
    flint_expert_stats es;
    result a = run(stacked, 0, ref.tok[0], n, false), b = run(dir, 0, ref.tok[0], n, false),
           c = run(dir, budget_for(dir, 3, &es), ref.tok[0], n, false);
    CHECK_MSG(same(&a, &b, n, V), "per-expert folder vs stacked folder: the logits differ");
    CHECK_MSG(same(&a, &c, n, V), "per-expert folder streamed vs stacked resident: the logits differ");
    result_free(&a), result_free(&b), result_free(&c);
    free(ref.logits);
}

/* Pages of m's expert tensors (whole pages inside them) held by the page
 * cache now, and how many such pages there are (mmap and mincore read
 * nothing). */
static void expert_pages_cached(const flint_model *m, const char *path, size_t *cached, size_t *total) {
    *cached = *total = 0;
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb)) {
        if (fd >= 0) close(fd);
        return;
    }
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
    unsigned char *vec = malloc((size_t)sb.st_size / pg + 1);
    for (int64_t i = 0; map != MAP_FAILED && vec && i < flint_tensor_count(m); i++) {
        flint_tensor_info t;
        if (flint_tensor_get(m, i, &t) || !strstr(t.name, "_exps.")) continue;
        const size_t first = (t.offset + pg - 1) / pg, end = (t.offset + t.size) / pg; /* whole pages */
        if (end <= first || mincore(map + first * pg, (end - first) * pg, vec)) continue;
        for (size_t p = 0; p < end - first; p++) *cached += vec[p] & 1;
        *total += end - first;
    }
    free(vec);
    if (map != MAP_FAILED) munmap(map, (size_t)sb.st_size);
    close(fd);
}

/* Streamed reads never pass through the page cache: O_DIRECT bypasses it
 * and the mapping's expert regions are not touched. A warm-up token first
 * faults in the rest of the weights, then the file's pages are dropped
 * (POSIX_FADV_DONTNEED, after writing back a fresh checkout's dirty pages;
 * the pages still mapped stay: those that straddle two experts, which the
 * store leaves mapped), and 12 more tokens read experts from disk: mincore
 * must find no expert page more than before. */
static void check_page_cache(const char *path, const fixture *f) {
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    const flint_context_params cp = {.n_ctx = MAX_TOK, .n_threads = 2};
    float *logits = NULL;
    flint_status st = flint_model_open(path, &(flint_model_params){.expert_cache = 1}, &m);
    if (!st) st = flint_context_create(m, &cp, &ctx);
    if (!st && !(logits = malloc((size_t)flint_context_n_vocab(ctx) * sizeof *logits))) st = FLINT_E_NOMEM;
    if (!st) st = flint_decode(ctx, 0, f->tok[0], 1, logits, 0);
    flint_expert_stats warm = {0}, es = {0};
    flint_model_expert_stats(m, &warm);
    int fd = open(path, O_RDONLY);
    CHECK_MSG(fd >= 0 && !fdatasync(fd) && !posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), "%s: dropping its pages",
              path);
    if (fd >= 0) close(fd);
    size_t kept, cached, total;
    expert_pages_cached(m, path, &kept, &total);
    for (int32_t i = 1; i < 13 && !st; i++) st = flint_decode(ctx, 0, f->tok[0] + i, 1, logits, 0);
    CHECK_MSG(!st, "%s streamed: %s", path, flint_errmsg());
    flint_model_expert_stats(m, &es);
    expert_pages_cached(m, path, &cached, &total);
    const unsigned long long reads = es.misses - warm.misses;
    CHECK_MSG(total > 8 && reads > 0, "%s: %zu whole pages of experts, %llu reads", path, total, reads);
    if (es.reads_buffered) /* a file system without O_DIRECT: buffered reads go through the cache */
        printf("  %s: buffered reads (no O_DIRECT here): the page cache is not checked\n", path);
    else
        CHECK_MSG(cached == kept, "%s: %zu of %zu expert pages in the page cache after %llu streamed reads, %zu before",
                  path, cached, total, reads, kept);
    printf("  %-48s %llu expert reads from disk added %zu pages to the page cache (%zu of %zu were still mapped)\n",
           path, reads, cached - kept, kept, total);
    free(logits);
    flint_context_free(ctx);
    flint_model_close(m);
}

/* The cache's slots are in memory from the load on (the store sizes them
 * as the first context loads the layers), before any read: their pages'
 * first-touch cost is paid there, not by the reads of the first tokens
 * (mincore counts resident pages of anonymous memory too). */
static void check_slots_populated(const char *path) {
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    flint_status st = flint_model_open(path, &(flint_model_params){.expert_cache = 3 << 20}, &m);
    if (!st) st = flint_context_create(m, &(flint_context_params){.n_ctx = MAX_TOK, .n_threads = 2}, &ctx);
    CHECK_MSG(!st, "%s: %s", path, flint_errmsg());
    if (st) {
        flint_model_close(m);
        return;
    }
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    fl_expert_store *es = fl_model_file_store(m);
    size_t resident = 0, pages = 0;
    for (int32_t l = 0; es && l < fl_store_n_layers(es); l++) {
        void *p;
        size_t bytes;
        fl_store_slots(es, l, &p, &bytes);
        const size_t n = (bytes + pg - 1) / pg;
        unsigned char *vec = p ? malloc(n) : NULL;
        if (vec && !mincore(p, n * pg, vec))
            for (size_t i = 0; i < n; i++) resident += vec[i] & 1, pages++;
        free(vec);
    }
    CHECK_MSG(pages > 0 && resident == pages, "%s: %zu of %zu slot pages resident after the load", path, resident,
              pages);
    printf("  %-48s %zu of %zu slot pages resident before the first read\n", path, resident, pages);
    flint_context_free(ctx);
    flint_model_close(m);
}

int main(void) {
    (void)check_case, (void)load_f32_fixture, (void)check_consistency, (void)check_batch; /* for the family tests */
    TEST_GROUP("streamed = resident");
    for (size_t i = 0; i < sizeof fixture_files / sizeof *fixture_files; i++) {
        char dir[256], path[320];
        fixture f;
        snprintf(dir, sizeof dir, "%s/%s", FIXTURE_DIR, fixture_files[i][0]);
        if (!load_fixture(dir, &f)) {
            CHECK_MSG(0, "%s: fixture files", dir);
            continue;
        }
        snprintf(path, sizeof path, "%s%s%s", dir, *fixture_files[i][1] ? "/" : "", fixture_files[i][1]);
        check_file(path, &f);
        free(f.logits);
    }

    fixture f;
    TEST_GROUP("short reads, EINTR, errors");
    if (load_fixture(FIXTURE("qwen35/moe"), &f)) {
        check_flaky_reads(FIXTURE("qwen35/moe/model-q8_0.gguf"), &f, true);
        check_flaky_reads(FIXTURE("qwen35/moe/model-q8_0.gguf"), &f, false);
        check_flaky_reads(FIXTURE("qwen35/moe"), &f, true);
        check_read_errors(FIXTURE("qwen35/moe/model-q4_0.gguf"), &f);
        check_truncated(FIXTURE("qwen35/moe/model-q4_0.gguf"));
        TEST_GROUP("page cache");
        check_page_cache(FIXTURE("qwen35/moe/model-f32.gguf"), &f);
        check_slots_populated(FIXTURE("qwen35/moe/model-q4_0.gguf"));
        TEST_GROUP("threads");
        check_shared_model(FIXTURE("qwen35/moe/model-f32.gguf"), &f);
        free(f.logits);
    }
    if (load_fixture(FIXTURE("gemma4/b"), &f)) {
        check_flaky_reads(FIXTURE("gemma4/b/model-f32.gguf"), &f, false);
        free(f.logits);
    }
    CHECK_FAILS(flint_model_open(FIXTURE("gemma4/b/model-f32.gguf"), &(flint_model_params){.expert_cache = -2}, &(flint_model *){0}),
                FLINT_E_INVALID_ARG, "expert_cache");

    TEST_GROUP("read ahead");
    check_read_queue();
    /* the groups above read 3 ahead (the default); every routed one here, and none */
    setenv("FLINT_EXPERT_PREFETCH", "8", 1);
    if (load_fixture(FIXTURE("qwen35/moe"), &f)) {
        check_file(FIXTURE("qwen35/moe/model-q8_0.gguf"), &f);
        check_shared_model(FIXTURE("qwen35/moe/model-q8_0.gguf"), &f);
        free(f.logits);
    }
    setenv("FLINT_EXPERT_PREFETCH", "0", 1);
    if (load_fixture(FIXTURE("qwen35/moe"), &f)) {
        check_file(FIXTURE("qwen35/moe/model-q4_0.gguf"), &f);
        free(f.logits);
    }

    /* without reads ahead: a cold first token's hits come from the seed alone */
    TEST_GROUP("routing histogram");
    if (load_fixture(FIXTURE("qwen35/trained-moe"), &f)) {
        check_histogram(FIXTURE("qwen35/trained-moe/model-q8_0.gguf"), &f);
        free(f.logits);
    }
    unsetenv("FLINT_EXPERT_PREFETCH");

    TEST_GROUP("per-expert tensors");
    check_per_expert();
    return test_finish("experts");
}
