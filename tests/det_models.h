/* det_models.h — the model checks of deterministic (batch-invariant)
 * mode, shared by test_deterministic.c (the CPU) and
 * tests/vulkan/test_vk_deterministic.c (the device, det_gpu): a sequence's
 * logits against the same tokens (a) in one flint_decode_batch with 1..7
 * others of other lengths, then single-token steps beside them; (b) cut
 * into steps in several ways, across an attention split; (c) computed
 * inside another sequence's batch and copied, or truncated and decoded
 * again; all memcmp-equal with the mode on, and with it off something
 * must differ (so the comparisons can fail). */
#ifndef FL_TESTS_DET_MODELS_H
#define FL_TESTS_DET_MODELS_H

#include "model_fixture.h"

#define LONG_LEN 560 /* more keys than one attention split of 512 */

typedef struct det_model {
    flint_model *m;
    flint_context *ctx;
    int64_t V;
} det_model;

/* The device the checks run on (flint_context_params.gpu): NULL, the CPU. */
static const char *det_gpu;

static int det_open(det_model *d, const char *path, bool det, int32_t threads) {
    flint_context_params cp = {.n_ctx = 1024, .n_batch = 64, .n_seq = 8, .n_threads = threads, .deterministic = det,
                               .gpu = det_gpu};
    memset(d, 0, sizeof *d);
    if (flint_model_open(path, NULL, &d->m) || flint_context_create(d->m, &cp, &d->ctx)) {
        CHECK_MSG(0, "%s: %s", path, flint_errmsg());
        flint_model_close(d->m);
        return 0;
    }
    d->V = flint_context_n_vocab(d->ctx);
    return 1;
}

static void det_close(det_model *d) {
    flint_context_free(d->ctx);
    flint_model_close(d->m);
}

static void reset_all(det_model *d) {
    for (int32_t s = 0; s < 8; s++) flint_seq_reset(d->ctx, s);
}

/* Sequence seq takes tok in runs of the given lengths (0-terminated, the
 * last run taking what is left), all logits into out. */
static int run_split(det_model *d, int32_t seq, const int32_t *tok, int32_t n, const int32_t *runs, float *out) {
    for (int32_t t = 0, i = 0; t < n; i++) {
        int32_t r = runs[i] && runs[i] < n - t ? runs[i] : n - t;
        if (flint_decode(d->ctx, seq, tok + t, r, out + t * d->V, 1) != FLINT_OK) {
            CHECK_MSG(0, "decode: %s", flint_errmsg());
            return 0;
        }
        t += r;
    }
    return 1;
}

/* Positions whose logits differ in any bit (and the largest relative
 * difference into *rel). */
static int pos_differ(const float *ref, const float *x, int32_t n, int64_t V, double *rel) {
    int d = 0;
    for (int32_t t = 0; t < n; t++) {
        if (memcmp(ref + t * V, x + t * V, (size_t)V * sizeof *x) == 0) continue;
        d++;
        *rel = fmax(*rel, max_rel_diff(ref + t * V, x + t * V, V));
    }
    return d;
}

/* (b): the long prompt cut in several ways against one call. */
static int check_splits(det_model *d, const int32_t *tok, const float *whole, float *out, double *rel) {
    static const int32_t cut7[] = {7, 0}, cut300[] = {300, 0}, mixed[] = {13, 1, 1, 50, 0};
    /* token by token across the first split boundary (model_fixture.h's
     * check_consistency runs the first 40-100 tokens one at a time) */
    int32_t ones[LONG_LEN - 480 + 1] = {480};
    for (int i = 1; i < LONG_LEN - 480; i++) ones[i] = 1;
    ones[LONG_LEN - 480] = 0;
    const int32_t *splits[4] = {cut7, cut300, mixed, ones};
    int diffs = 0;
    for (int s = 0; s < 4; s++) {
        reset_all(d);
        if (!run_split(d, 1, tok, LONG_LEN, splits[s], out)) return diffs + 1;
        diffs += pos_differ(whole, out, LONG_LEN, d->V, rel);
    }
    return diffs;
}

/* (a): sequence 0's first n0 tokens in one batch with k others (lengths 3
 * .. 50, sequence 0 in the middle of the entries), then n1 single-token
 * steps, each with the others taking 1 or 4 tokens; against whole. */
static int check_batches(det_model *d, const int32_t *tok, int32_t n0, int32_t n1, const float *whole, float *out,
                         double *rel) {
    int diffs = 0;
    const int64_t V = d->V;
    for (int32_t k = 1; k <= 7; k++) {
        reset_all(d);
        flint_batch_seq in[8];
        int32_t n_in = 0, rows = 0, row0 = 0;
        for (int32_t j = 0; j <= k; j++) {
            if (j == k / 2 + 1) row0 = rows, in[n_in++] = (flint_batch_seq){0, tok, n0, 1}, rows += n0;
            if (j < k) {
                int32_t len = 3 + (17 * (j + k)) % 48;
                in[n_in++] = (flint_batch_seq){j + 1, tok + 100 + 7 * j, len, j % 2};
                rows += j % 2 ? len : 1;
            }
        }
        if (flint_decode_batch(d->ctx, in, n_in, out) != FLINT_OK) {
            CHECK_MSG(0, "batch of %d: %s", n_in, flint_errmsg());
            return diffs + 1;
        }
        diffs += pos_differ(whole, out + (int64_t)row0 * V, n0, V, rel);
        for (int32_t t = n0; t < n0 + n1; t++) {
            n_in = 0;
            for (int32_t j = 0; j < k; j++) {
                in[n_in++] = (flint_batch_seq){j + 1, tok + 300 + 5 * t, 1 + 3 * ((t + j) % 2), 0};
            }
            for (int32_t e = n_in; e > k / 2; e--) in[e] = in[e - 1];
            in[k / 2] = (flint_batch_seq){0, tok + t, 1, 0};
            n_in++;
            if (flint_decode_batch(d->ctx, in, n_in, out) != FLINT_OK) {
                CHECK_MSG(0, "decode step: %s", flint_errmsg());
                return diffs + 1;
            }
            diffs += pos_differ(whole + t * V, out + (int64_t)(k / 2) * V, 1, V, rel);
        }
    }
    return diffs;
}

/* (c): the first p tokens computed in sequence 1 beside sequence 2,
 * copied to sequence 3, which goes on alone; and (rewind) the whole
 * prompt, truncated by 20 and decoded again token by token. */
static int check_prefix(det_model *d, const int32_t *tok, int32_t n, bool rewind, const float *whole, float *out,
                        double *rel) {
    const int32_t p = 37;
    const int64_t V = d->V;
    reset_all(d);
    flint_batch_seq in[2] = {{2, tok + 200, 30, 0}, {1, tok, p, 0}};
    int ok = flint_decode_batch(d->ctx, in, 2, out) == FLINT_OK && flint_seq_copy(d->ctx, 3, 1) == FLINT_OK &&
             flint_seq_reset(d->ctx, 1) == FLINT_OK &&
             flint_decode(d->ctx, 3, tok + p, n - p, out + p * V, 1) == FLINT_OK;
    CHECK_MSG(ok, "prefix copy: %s", flint_errmsg());
    int diffs = ok ? pos_differ(whole + p * V, out + p * V, n - p, V, rel) : 1;
    if (rewind) {
        static const int32_t ones[] = {1};
        reset_all(d);
        ok = flint_decode(d->ctx, 4, tok, n, out, 1) == FLINT_OK && flint_seq_truncate(d->ctx, 4, n - 20) == FLINT_OK;
        for (int32_t t = n - 20; ok && t < n; t++) ok = run_split(d, 4, tok + t, 1, ones, out + t * V);
        CHECK_MSG(ok, "rewind: %s", flint_errmsg());
        diffs += ok ? pos_differ(whole, out, n, V, rel) : 1;
    }
    return diffs;
}

static void check_model_det(const char *path, const int32_t *tok, bool rewind) {
    int diffs[2][3] = {{0}};
    double rel[2] = {0, 0};
    const int32_t n0 = 40, n1 = 6;
    for (int det = 1; det >= 0; det--) {
        det_model d;
        if (!det_open(&d, path, det, 2)) return;
        const int64_t V = d.V;
        float *whole = malloc((size_t)(LONG_LEN * V) * sizeof *whole);
        float *out = malloc((size_t)(8 * LONG_LEN * V) * sizeof *out);
        static const int32_t one_call[] = {0};
        if (run_split(&d, 0, tok, LONG_LEN, one_call, whole)) {
            diffs[det][0] = check_batches(&d, tok, n0, n1, whole, out, &rel[det]);
            diffs[det][1] = check_splits(&d, tok, whole, out, &rel[det]);
            diffs[det][2] = check_prefix(&d, tok, 120, rewind, whole, out, &rel[det]);
        }
        det_model d1; /* one thread instead of two: the same bits */
        if (det && det_open(&d1, path, det, 1)) {
            if (run_split(&d1, 0, tok, LONG_LEN, one_call, out)) diffs[det][1] += pos_differ(whole, out, LONG_LEN, V, &rel[det]);
            det_close(&d1);
        }
        free(whole);
        free(out);
        det_close(&d);
    }
    printf("  %-34s on: %d/%d/%d positions differ (batch/split/prefix); off: %d/%d/%d, max|d|/max|ref| %.1e\n",
           path, diffs[1][0], diffs[1][1], diffs[1][2], diffs[0][0], diffs[0][1], diffs[0][2], rel[0]);
    CHECK_MSG(!diffs[1][0] && !diffs[1][1] && !diffs[1][2], "%s: deterministic runs differ (max|d|/max|ref| %.3g)",
              path, rel[1]);
    CHECK_MSG(diffs[0][0] + diffs[0][1] + diffs[0][2] > 0, "%s: with the mode off nothing differs: the test proves nothing",
              path);
}

#endif
