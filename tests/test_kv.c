/* test_kv.c — the paged KV pool through the public API: block accounting
 * (back to all free after resets), sliding-window layers holding only
 * their window far past it, FLINT_E_KV_FULL on a small pool with nothing
 * changed, forks (at a block boundary, mid-block, from snapshots, nothing
 * reusable) equal to cold runs for Gemma 3 (sliding layers) and Qwen3.5
 * (recurrent layers), copy on write when rewinding into a shared block,
 * and the argument checks. Models: the random-weight fixtures (f32 GGUF)
 * on generated token streams longer than their windows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flint.h"
#include "harness.h"

#define GEMMA FIXTURE("gemma3/a/model-f32.gguf") /* window 16, 8 layers, sliding and global */
#define QWEN FIXTURE("qwen35/dense/model-f32.gguf") /* recurrent and global layers */
#define N_TOK 300

static int32_t toks[N_TOK];

static void make_tokens(int32_t n_vocab) {
    uint32_t x = 12345;
    for (int32_t i = 0; i < N_TOK; i++) {
        x = x * 1664525u + 1013904223u;
        toks[i] = (int32_t)((x >> 8) % (uint32_t)n_vocab);
    }
}

static flint_context *open_ctx(flint_model **m, const char *path, flint_context_params cp) {
    flint_context *ctx = NULL;
    *m = NULL;
    if (flint_model_open(path, NULL, m) || flint_context_create(*m, &cp, &ctx)) {
        CHECK_MSG(0, "%s: %s", path, flint_errmsg());
        flint_model_close(*m);
        *m = NULL;
        return NULL;
    }
    return ctx;
}

static void close_ctx(flint_context *ctx, flint_model *m) {
    flint_context_free(ctx);
    flint_model_close(m);
}

static double max_rel_diff(const float *ref, const float *x, int64_t n) {
    double d = 0, r = 0;
    for (int64_t i = 0; i < n; i++) d = fmax(d, fabs(x[i] - ref[i])), r = fmax(r, fabs(ref[i]));
    return r > 0 ? d / r : d;
}

/* Decodes toks[from..to) into seq in pieces ending at each of cuts[] (and
 * at to); logits of every token to out + (t - from) * V when out. */
static int decode_cuts(flint_context *ctx, int32_t seq, int32_t from, int32_t to, const int32_t *cuts, int n_cuts,
                       float *out) {
    const int64_t V = flint_context_n_vocab(ctx);
    int32_t at = from;
    for (int i = 0; i <= n_cuts && at < to; i++) {
        int32_t end = i < n_cuts && cuts[i] < to ? cuts[i] : to;
        if (end <= at) continue;
        float *o = out ? out + (int64_t)(at - from) * V : NULL;
        float *tmp = o ? NULL : malloc((size_t)V * sizeof(float));
        flint_status st = flint_decode(ctx, seq, toks + at, end - at, o ? o : tmp, o != NULL);
        free(tmp);
        if (st) {
            CHECK_MSG(0, "decode %d..%d of sequence %d: %s", at, end, seq, flint_errmsg());
            return 0;
        }
        at = end;
    }
    return 1;
}

static int64_t used_blocks(const flint_context *ctx) {
    return flint_context_kv_blocks_total(ctx) - flint_context_kv_blocks_free(ctx);
}

static void test_accounting(void) {
    TEST_GROUP("accounting and sliding windows");
    flint_model *m;
    flint_context_params cp = {.n_ctx = 1024, .n_batch = 64, .n_seq = 2, .n_threads = 2};
    flint_context *ctx = open_ctx(&m, GEMMA, cp);
    if (!ctx) return;
    make_tokens(flint_context_n_vocab(ctx));
    const int64_t total = flint_context_kv_blocks_total(ctx);
    CHECK_INT_EQ(flint_context_kv_block_size(ctx), 64);
    CHECK(total > 0 && flint_context_kv_blocks_free(ctx) == total && flint_context_kv_bytes_used(ctx) == 0);
    /* by default both groups have 16 blocks per sequence (n_ctx / 64): snapshots may pin
     * sliding blocks up to the whole context; the live sequence holds far fewer (below) */
    CHECK_MSG(total == 2 * 2 * 16, "blocks in all: %lld", (long long)total);
    CHECK_INT_EQ(flint_seq_blocks_needed(ctx, 0, 1), 2);    /* one of each group */
    CHECK_INT_EQ(flint_seq_blocks_needed(ctx, 0, 65), 4);
    CHECK_INT_EQ(flint_seq_blocks_needed(ctx, 0, 0), 0);

    /* far past the window: global blocks follow the context (ceil(n/64)),
     * sliding ones the window (window / 64 + 2 at most) */
    CHECK(decode_cuts(ctx, 0, 0, N_TOK, NULL, 0, NULL));
    int64_t used = used_blocks(ctx), global = (N_TOK + 63) / 64;
    printf("  %d positions: %lld blocks held (%lld global)\n", N_TOK, (long long)used, (long long)global);
    CHECK_MSG(used > global && used <= global + 16 / 64 + 2, "%lld blocks held for %d positions", (long long)used, N_TOK);
    uint64_t bytes1 = flint_context_kv_bytes_used(ctx);
    CHECK(bytes1 > 0);
    CHECK_INT_EQ(flint_seq_blocks_needed(ctx, 0, 20), 0); /* 300..319 are inside block 4 */
    CHECK_INT_EQ(flint_seq_blocks_needed(ctx, 0, 21), 2);

    /* a copy shares the full blocks: only the partly filled ones are new */
    CHECK(flint_seq_copy(ctx, 1, 0) == FLINT_OK && flint_context_n_past(ctx, 1) == N_TOK);
    CHECK_MSG(used_blocks(ctx) == used + 2, "after a copy: %lld blocks held (was %lld)", (long long)used_blocks(ctx),
              (long long)used);
    CHECK(flint_seq_snapshot(ctx, 1) == FLINT_OK && flint_seq_snapshot(ctx, 0) == FLINT_OK);
    CHECK(flint_seq_reset(ctx, 0) == FLINT_OK);
    CHECK(flint_context_kv_blocks_free(ctx) < total);
    CHECK(flint_seq_reset(ctx, 1) == FLINT_OK);
    CHECK_MSG(flint_context_kv_blocks_free(ctx) == total && flint_context_kv_bytes_used(ctx) == 0,
              "after resets: %lld of %lld free, %llu bytes used", (long long)flint_context_kv_blocks_free(ctx),
              (long long)total, (unsigned long long)flint_context_kv_bytes_used(ctx));
    close_ctx(ctx, m);
}

/* A pool that holds a few blocks: the step that does not fit is refused
 * with nothing changed, and runs once another sequence frees its blocks,
 * with the logits of a run in a large pool. */
static void test_full(void) {
    TEST_GROUP("pool full");
    flint_model *m;
    flint_context_params cp = {.n_ctx = 1024, .n_batch = 64, .n_seq = 2, .n_threads = 2, .kv_type = FLINT_KV_F32};
    flint_context *big = open_ctx(&m, GEMMA, cp);
    if (!big) return;
    const int64_t V = flint_context_n_vocab(big);
    float *ref = malloc((size_t)(N_TOK * V) * sizeof(float)), *out = malloc((size_t)(N_TOK * V) * sizeof(float));
    /* the bytes of a block of each group: at 1 position one of each is
     * held, at 145 three global ones and two sliding (the sliding group
     * keeps window + n_batch = 80 positions: block 0 has left) */
    CHECK(flint_decode(big, 0, toks, 1, ref, 0) == FLINT_OK);
    const uint64_t pair = flint_context_kv_bytes_used(big);
    CHECK(flint_decode(big, 0, toks + 1, 144, ref, 0) == FLINT_OK);
    const uint64_t per_g = flint_context_kv_bytes_used(big) - 2 * pair, per_s = pair - per_g;
    CHECK(flint_seq_reset(big, 0) == FLINT_OK);
    CHECK(flint_decode(big, 0, toks, 200, ref, 1) == FLINT_OK);
    flint_context_free(big);

    /* the sliding group's steady need (2 sequences x (window + step: 2,
     * ends 2, snapshots 8) blocks), then 4 global blocks */
    cp.kv_bytes = (int64_t)(24 * per_s + 4 * per_g + per_g / 2);
    flint_context *ctx = NULL;
    CHECK(flint_context_create(m, &cp, &ctx) == FLINT_OK);
    if (ctx) {
        const int64_t total = flint_context_kv_blocks_total(ctx);
        printf("  kv_bytes %lld: %lld blocks\n", (long long)cp.kv_bytes, (long long)total);
        CHECK_INT_EQ(total, 24 + 4);
        /* sequence 0 takes blocks, sequence 1 asks for more than is left */
        CHECK(decode_cuts(ctx, 0, 0, 150, NULL, 0, NULL));
        const int64_t free0 = flint_context_kv_blocks_free(ctx);
        /* 4 of each group; what is short is the global group (1 free) */
        CHECK_INT_EQ(flint_seq_blocks_needed(ctx, 1, 200), 8);
        flint_batch_seq two[2] = {{0, toks + 150, 1, 0}, {1, toks, 200, 1}};
        CHECK_FAILS(flint_decode_batch(ctx, two, 2, out), FLINT_E_KV_FULL, "sequence 1");
        CHECK(flint_context_n_past(ctx, 0) == 150 && flint_context_n_past(ctx, 1) == 0);
        CHECK_INT_EQ(flint_context_kv_blocks_free(ctx), free0);
        CHECK_FAILS(flint_decode(ctx, 1, toks, 200, out, 1), FLINT_E_KV_FULL, "sequence 1");
        /* freeing sequence 0 makes room; the same call then runs */
        CHECK(flint_seq_reset(ctx, 0) == FLINT_OK);
        CHECK(flint_decode(ctx, 1, toks, 200, out, 1) == FLINT_OK);
        double d = max_rel_diff(ref, out, 200 * V);
        CHECK_MSG(d <= 1e-6, "after a refused step: max|d|/max|ref| %.3g", d);
        /* longer than the pool's global blocks: refused up front, whatever the steps */
        CHECK(flint_seq_reset(ctx, 1) == FLINT_OK);
        CHECK_FAILS(flint_decode(ctx, 0, toks, N_TOK, out, 0), FLINT_E_KV_FULL, "sequence 0");
        CHECK(flint_context_n_past(ctx, 0) == 0 && flint_context_kv_blocks_free(ctx) == total);
        flint_context_free(ctx);
    }
    cp.kv_bytes = 100;
    CHECK_FAILS(flint_context_create(m, &cp, &ctx), FLINT_E_INVALID_ARG, "kv_bytes");
    free(ref);
    free(out);
    flint_model_close(m);
}

/* fork(dst 1, src 0, n_keep) restores want positions, and continuing from
 * there gives the logits of a cold run split at cold_cuts (max |d| / max
 * |ref| <= tol). */
static void check_fork(flint_context *ctx, int32_t n_keep, int32_t want, const int32_t *cold_cuts, int n_cold,
                       double tol, float *ref, float *out) {
    const int64_t V = flint_context_n_vocab(ctx);
    int32_t got = -1;
    CHECK(flint_seq_fork(ctx, 1, 0, n_keep, &got) == FLINT_OK);
    CHECK_MSG(got == want && flint_context_n_past(ctx, 1) == want, "fork at %d: restored %d (want %d), n_past %d",
              n_keep, got, want, flint_context_n_past(ctx, 1));
    if (got != want || want == 0) return;
    if (!decode_cuts(ctx, 1, want, N_TOK, NULL, 0, out)) return;
    /* the cold run, in sequence 1 after the check (sequence 0 stays) */
    CHECK(flint_seq_reset(ctx, 1) == FLINT_OK);
    if (!decode_cuts(ctx, 1, 0, N_TOK, cold_cuts, n_cold, ref)) return;
    double d = max_rel_diff(ref + (int64_t)want * V, out, (int64_t)(N_TOK - want) * V);
    printf("  fork at %d (asked %d) vs cold: max|d|/max|ref| %.2e\n", want, n_keep, d);
    CHECK_MSG(d <= tol, "fork at %d: max|d|/max|ref| %.3g (bound %.g)", want, d, tol);
}

/* Bounds: a fork's prefix K/V (and state) come from src's steps; where the
 * cold run makes the same steps they are the same bits, and so are the
 * logits (0). Where the steps differ (n_keep 263: src wrote 256..269 in one
 * step, the cold run 256..262), the rows differ by the matmul's summation
 * order, as chunk sizes do (check_consistency: <= 1e-5 on these models). */
static void test_fork_gemma(int32_t kv_type) {
    TEST_GROUP(kv_type == FLINT_KV_F32 ? "fork gemma3 (F32 KV)" : "fork gemma3 (F16 KV)");
    flint_model *m;
    flint_context_params cp = {.n_ctx = 1024, .n_batch = 64, .n_seq = 2, .n_threads = 2, .kv_type = kv_type};
    flint_context *ctx = open_ctx(&m, GEMMA, cp);
    if (!ctx) return;
    const int64_t V = flint_context_n_vocab(ctx);
    float *ref = malloc((size_t)(N_TOK * V) * sizeof(float)), *out = malloc((size_t)(N_TOK * V) * sizeof(float));
    /* src: 256 (snapshot: a block boundary), 270 (snapshot: mid-block), 300 */
    CHECK(decode_cuts(ctx, 0, 0, 256, NULL, 0, NULL) && flint_seq_snapshot(ctx, 0) == FLINT_OK);
    CHECK(decode_cuts(ctx, 0, 256, 270, NULL, 0, NULL) && flint_seq_snapshot(ctx, 0) == FLINT_OK);
    CHECK(decode_cuts(ctx, 0, 270, N_TOK, NULL, 0, NULL));
    /* the window of 256 (240..255) left src's table at 300: only the snapshot holds it */
    static const int32_t c256[] = {256}, c270[] = {256, 270}, c263[] = {256, 263}, c290[] = {256, 270, 290};
    check_fork(ctx, 256, 256, c256, 1, 0, ref, out);
    check_fork(ctx, 270, 270, c270, 2, 0, ref, out);
    check_fork(ctx, 263, 263, c263, 2, kv_type == FLINT_KV_F32 ? 1e-5 : 5e-3, ref, out); /* pins of 270 serve 263 */
    check_fork(ctx, 290, 290, c290, 3, 0, ref, out); /* src's own blocks */
    check_fork(ctx, 5000, N_TOK, c290, 3, 0, ref, out); /* all of src */
    check_fork(ctx, 100, 0, NULL, 0, 0, ref, out); /* the window of 100 is gone */
    CHECK(flint_context_n_past(ctx, 1) == 0);
    CHECK(flint_seq_reset(ctx, 0) == FLINT_OK && flint_seq_reset(ctx, 1) == FLINT_OK);
    CHECK_INT_EQ(flint_context_kv_blocks_free(ctx), flint_context_kv_blocks_total(ctx));
    free(ref);
    free(out);
    close_ctx(ctx, m);
}

static void test_fork_qwen(void) {
    TEST_GROUP("fork qwen35 (recurrent, snapshots)");
    flint_model *m;
    flint_context_params cp = {.n_ctx = 512, .n_batch = 64, .n_seq = 2, .n_threads = 2, .kv_type = FLINT_KV_F32};
    flint_context *ctx = open_ctx(&m, QWEN, cp);
    if (!ctx) return;
    const int64_t V = flint_context_n_vocab(ctx);
    float *ref = malloc((size_t)(N_TOK * V) * sizeof(float)), *out = malloc((size_t)(N_TOK * V) * sizeof(float));
    CHECK(decode_cuts(ctx, 0, 0, 128, NULL, 0, NULL) && flint_seq_snapshot(ctx, 0) == FLINT_OK);
    CHECK(decode_cuts(ctx, 0, 128, 150, NULL, 0, NULL) && flint_seq_snapshot(ctx, 0) == FLINT_OK);
    CHECK(decode_cuts(ctx, 0, 150, 200, NULL, 0, NULL));
    CHECK(flint_context_kv_bytes_used(ctx) > 0);
    static const int32_t c128[] = {128}, c150[] = {128, 150}, c200[] = {128, 150, 200};
    /* the recurrent state exists only at the snapshots and at src's end */
    check_fork(ctx, 128, 128, c128, 1, 0, ref, out);
    check_fork(ctx, 150, 150, c150, 2, 0, ref, out);
    check_fork(ctx, 149, 128, c128, 1, 0, ref, out);
    CHECK(decode_cuts(ctx, 0, 200, 230, NULL, 0, NULL));
    int32_t got = -1;
    CHECK(flint_seq_fork(ctx, 1, 0, 229, &got) == FLINT_OK && got == 150);
    CHECK(flint_seq_fork(ctx, 1, 0, 100, &got) == FLINT_OK && got == 0);
    CHECK(flint_seq_reset(ctx, 0) == FLINT_OK);
    /* at most FLINT_MAX_SNAPSHOTS */
    for (int32_t i = 1; i <= FLINT_MAX_SNAPSHOTS + 1; i++)
        CHECK(decode_cuts(ctx, 0, 10 * (i - 1), 10 * i, NULL, 0, NULL) && flint_seq_snapshot(ctx, 0) == FLINT_OK);
    /* the first stays; the one beside it, furthest from the end, goes */
    CHECK(flint_seq_fork(ctx, 1, 0, 10, &got) == FLINT_OK && got == 10);
    CHECK(flint_seq_fork(ctx, 1, 0, 25, &got) == FLINT_OK && got == 10);
    CHECK(flint_seq_fork(ctx, 1, 0, 35, &got) == FLINT_OK && got == 30);
    /* three times as many: they thin out into the past, the first stays */
    CHECK(flint_seq_reset(ctx, 0) == FLINT_OK);
    for (int32_t i = 1; i <= 3 * FLINT_MAX_SNAPSHOTS; i++)
        CHECK(decode_cuts(ctx, 0, 10 * (i - 1), 10 * i, NULL, 0, NULL) && flint_seq_snapshot(ctx, 0) == FLINT_OK);
    CHECK(flint_seq_fork(ctx, 1, 0, 50, &got) == FLINT_OK);
    CHECK_MSG(got == 10, "fork at 50 restored %d", got);
    CHECK(flint_seq_fork(ctx, 1, 0, 235, &got) == FLINT_OK);
    CHECK_MSG(got == 230, "fork at 235 restored %d", got);
    CHECK(flint_seq_reset(ctx, 0) == FLINT_OK && flint_seq_reset(ctx, 1) == FLINT_OK);
    CHECK_MSG(flint_context_kv_blocks_free(ctx) == flint_context_kv_blocks_total(ctx) &&
                  flint_context_kv_bytes_used(ctx) == 0,
              "after resets: %lld of %lld free, %llu bytes", (long long)flint_context_kv_blocks_free(ctx),
              (long long)flint_context_kv_blocks_total(ctx), (unsigned long long)flint_context_kv_bytes_used(ctx));
    (void)c200;
    free(ref);
    free(out);
    close_ctx(ctx, m);
}

/* Rewinding a sequence into a block it shares with another copies the
 * block first: the other sequence goes on as if nothing happened. */
static void test_copy_on_write(void) {
    TEST_GROUP("copy on write");
    flint_model *m;
    flint_context_params cp = {.n_ctx = 1024, .n_batch = 64, .n_seq = 2, .n_threads = 2, .kv_type = FLINT_KV_F32};
    flint_context *ctx = open_ctx(&m, FIXTURE("gemma1/a/model-f32.gguf"), cp); /* global layers only */
    if (!ctx) return;
    const int64_t V = flint_context_n_vocab(ctx);
    float *ref = malloc((size_t)(N_TOK * V) * sizeof(float)), *out = malloc((size_t)(N_TOK * V) * sizeof(float));
    static const int32_t cuts[] = {100};
    CHECK(decode_cuts(ctx, 0, 0, N_TOK, cuts, 1, ref));
    CHECK(flint_seq_reset(ctx, 0) == FLINT_OK);
    CHECK(decode_cuts(ctx, 0, 0, 100, NULL, 0, NULL));
    int32_t other[60];
    for (int i = 0; i < 60; i++) other[i] = (toks[i] + 7) % (int32_t)V;
    /* a copy goes on with other tokens: it writes its own copy of block 1 */
    CHECK(flint_seq_copy(ctx, 1, 0) == FLINT_OK);
    CHECK(flint_decode(ctx, 1, other, 60, out, 0) == FLINT_OK);
    CHECK(flint_seq_copy(ctx, 1, 0) == FLINT_OK); /* again, of the untouched original */
    const int64_t free0 = flint_context_kv_blocks_free(ctx);
    CHECK(flint_seq_truncate(ctx, 0, 50) == FLINT_OK); /* block 0 is shared: copied */
    CHECK_INT_EQ(flint_context_kv_blocks_free(ctx), free0); /* block 1 back, a copy of block 0 taken */
    CHECK(flint_decode(ctx, 0, other, 60, out, 0) == FLINT_OK);
    CHECK(decode_cuts(ctx, 1, 100, N_TOK, NULL, 0, out));
    double d = max_rel_diff(ref + 100 * V, out, (N_TOK - 100) * V);
    CHECK_MSG(d == 0, "the sharer after a rewind: max|d|/max|ref| %.3g", d);
    CHECK(flint_seq_reset(ctx, 0) == FLINT_OK && flint_seq_reset(ctx, 1) == FLINT_OK);
    CHECK_INT_EQ(flint_context_kv_blocks_free(ctx), flint_context_kv_blocks_total(ctx));
    free(ref);
    free(out);
    close_ctx(ctx, m);
}

static void test_args(void) {
    TEST_GROUP("arguments");
    flint_model *m;
    flint_context_params cp = {.n_ctx = 256, .n_seq = 2, .n_threads = 1};
    flint_context *ctx = open_ctx(&m, GEMMA, cp);
    if (!ctx) return;
    int32_t got = 7;
    CHECK_FAILS(flint_seq_fork(ctx, 0, 0, 10, &got), FLINT_E_INVALID_ARG, "itself");
    CHECK(got == 0);
    CHECK_FAILS(flint_seq_fork(ctx, 2, 0, 10, &got), FLINT_E_INVALID_ARG, "sequence 2");
    CHECK_FAILS(flint_seq_snapshot(ctx, -1), FLINT_E_INVALID_ARG, "sequence -1");
    CHECK_INT_EQ(flint_seq_blocks_needed(ctx, 5, 1), -1);
    CHECK_INT_EQ(flint_seq_blocks_needed(ctx, 0, -1), -1);
    CHECK(decode_cuts(ctx, 0, 0, 40, NULL, 0, NULL));
    CHECK_FAILS(flint_seq_truncate(ctx, 0, 41), FLINT_E_INVALID_ARG, "cannot keep");
    CHECK(flint_seq_snapshot(ctx, 0) == FLINT_OK);
    close_ctx(ctx, m);
    cp.kv_type = 9;
    CHECK(flint_model_open(GEMMA, NULL, &m) == FLINT_OK);
    CHECK_FAILS(flint_context_create(m, &cp, &ctx), FLINT_E_INVALID_ARG, "kv_type 9");
    cp.kv_type = 0, cp.kv_bytes = -1;
    CHECK_FAILS(flint_context_create(m, &cp, &ctx), FLINT_E_INVALID_ARG, "kv_bytes -1");
    flint_model_close(m);
    CHECK(flint_context_kv_block_size(NULL) == 0 && flint_context_kv_blocks_total(NULL) == 0 &&
          flint_context_kv_bytes_used(NULL) == 0 && flint_seq_blocks_needed(NULL, 0, 1) == -1);
}

int main(void) {
    test_accounting();
    test_full();
    test_fork_gemma(FLINT_KV_F32);
    test_fork_gemma(FLINT_KV_F16);
    test_fork_qwen();
    test_copy_on_write();
    test_args();
    return test_finish("kv");
}
