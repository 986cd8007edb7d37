/* test_gemma3.c — the Gemma 3 forward pass against transformers: logits
 * of random-weight models written by tools/gen_gemma3_fixtures.py, from the
 * HF folder and from GGUF files of every stored type; chunked prefill vs
 * token-by-token decode; two sequences sharing one context. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "harness.h"
#include "model/model.h"

#define MAX_SEQ 4
#define MAX_TOK 128

typedef struct fixture {
    int32_t n_seq, len[MAX_SEQ], tok[MAX_SEQ][MAX_TOK];
    float *logits; /* [seq][tok][vocab], sequences back to back */
    int64_t n_logits;
} fixture;

static int load_fixture_logits(const char *dir, const char *logits_file, fixture *f) {
    char path[256];
    memset(f, 0, sizeof *f);
    snprintf(path, sizeof path, "%s/tokens.txt", dir);
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    char line[4096];
    int64_t total = 0;
    while (f->n_seq < MAX_SEQ && fgets(line, sizeof line, fp)) {
        int32_t n = 0;
        for (char *t = strtok(line, " \n"); t && n < MAX_TOK; t = strtok(NULL, " \n")) f->tok[f->n_seq][n++] = atoi(t);
        f->len[f->n_seq++] = n;
        total += n;
    }
    fclose(fp);
    snprintf(path, sizeof path, "%s/%s", dir, logits_file);
    fp = fopen(path, "rb");
    if (!fp) return 0;
    fseek(fp, 0, SEEK_END);
    long bytes = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->logits = malloc((size_t)bytes);
    f->n_logits = bytes / 4;
    int ok = f->logits && fread(f->logits, 1, (size_t)bytes, fp) == (size_t)bytes && f->n_logits % total == 0;
    fclose(fp);
    return ok;
}

static int load_fixture(const char *dir, fixture *f) { return load_fixture_logits(dir, "logits.bin", f); }

typedef struct runner {
    flint_model *file;
    fl_lm lm;
    fl_backend *be;
    fl_lm_scratch s;
    fl_kv_cache cache;
} runner;

static int runner_open(runner *r, const char *path, int32_t n_batch) {
    memset(r, 0, sizeof *r);
    flint_status st = flint_model_open(path, NULL, &r->file);
    if (!st) st = fl_lm_load(&r->lm, r->file, path);
    if (!st) st = fl_cpu_backend_create(2, FL_ISA_AUTO, &r->be);
    if (!st) st = fl_lm_scratch_init(&r->s, &r->lm.hp, n_batch);
    if (!st) st = fl_kv_cache_init(&r->cache, &r->lm.hp, MAX_TOK, n_batch);
    CHECK_MSG(st == FLINT_OK, "%s: %s", path, flint_errmsg());
    return st == FLINT_OK;
}

static void runner_close(runner *r) {
    fl_kv_cache_free(&r->cache);
    fl_lm_scratch_free(&r->s);
    if (r->be) r->be->ops->free(r->be);
    fl_lm_free(&r->lm);
    flint_model_close(r->file);
}

/* Runs tokens through a fresh cache in chunks of `chunk`, all logits out. */
static int run_seq(runner *r, fl_kv_cache *cache, const int32_t *tok, int32_t n, int32_t chunk, float *out) {
    int64_t V = r->lm.hp.n_vocab;
    for (int32_t i = 0; i < n; i += chunk) {
        int32_t m = n - i < chunk ? n - i : chunk;
        if (fl_lm_forward(&r->lm, r->be, &r->s, cache, tok + i, m, out + i * V, true) != FLINT_OK) {
            CHECK_MSG(0, "forward: %s", flint_errmsg());
            return 0;
        }
    }
    return 1;
}

static double softmax_kl(const float *p_logits, const float *q_logits, int64_t V) {
    double mp = -INFINITY, mq = -INFINITY, zp = 0, zq = 0, kl = 0;
    for (int64_t i = 0; i < V; i++) mp = fmax(mp, p_logits[i]), mq = fmax(mq, q_logits[i]);
    for (int64_t i = 0; i < V; i++) zp += exp(p_logits[i] - mp), zq += exp(q_logits[i] - mq);
    for (int64_t i = 0; i < V; i++) {
        double lp = p_logits[i] - mp - log(zp), lq = q_logits[i] - mq - log(zq);
        kl += exp(lp) * (lp - lq);
    }
    return kl;
}

static int64_t argmax(const float *x, int64_t n) {
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* Every position of every sequence against transformers. tol > 0: max|d| /
 * max|ref| < tol; tol == 0: quantized, top-1 >= min_top1 and mean KL < max_kl. */
static void check_model(const char *path, const fixture *f, double tol, double min_top1, double max_kl) {
    runner r;
    if (!runner_open(&r, path, 64)) return;
    int64_t V = r.lm.hp.n_vocab;
    float *out = malloc((size_t)(MAX_TOK * V) * sizeof *out);
    const float *ref = f->logits;
    double worst = 0, kl_sum = 0;
    int64_t agree = 0, positions = 0;
    for (int32_t q = 0; q < f->n_seq; q++) {
        fl_kv_cache_reset(&r.cache);
        if (!run_seq(&r, &r.cache, f->tok[q], f->len[q], 64, out)) break;
        for (int32_t t = 0; t < f->len[q]; t++) {
            const float *a = out + t * V, *b = ref + t * V;
            double dmax = 0, rmax = 0;
            for (int64_t i = 0; i < V; i++) dmax = fmax(dmax, fabs(a[i] - b[i])), rmax = fmax(rmax, fabs(b[i]));
            worst = fmax(worst, dmax / rmax);
            kl_sum += softmax_kl(b, a, V);
            agree += argmax(a, V) == argmax(b, V);
            positions++;
        }
        ref += f->len[q] * V;
    }
    double top1 = (double)agree / (double)positions, kl = kl_sum / (double)positions;
    printf("  %-44s max|d|/max|ref| %.2e  top-1 %.4f  mean KL %.2e\n", path, worst, top1, kl);
    if (tol > 0) CHECK_MSG(worst < tol, "%s: max|d|/max|ref| = %.3g (bound %.g)", path, worst, tol);
    else CHECK_MSG(top1 >= min_top1 && kl < max_kl, "%s: top-1 %.4f (>= %.2f), KL %.4g (< %.g)", path, top1, min_top1, kl, max_kl);
    free(out);
    runner_close(&r);
}

static double max_rel_diff(const float *ref, const float *x, int64_t n) {
    double d = 0, r = 0;
    for (int64_t i = 0; i < n; i++) d = fmax(d, fabs(x[i] - ref[i])), r = fmax(r, fabs(ref[i]));
    return r > 0 ? d / r : d;
}

/* Chunk sizes 1 (decode), 7 and 64 give the same logits; two interleaved
 * sequences in one context equal each run alone. */
static void check_consistency(const char *path, const fixture *f) {
    runner r;
    if (!runner_open(&r, path, 64)) return;
    int64_t V = r.lm.hp.n_vocab;
    int32_t n = f->len[0];
    float *whole = malloc((size_t)(MAX_TOK * V) * sizeof(float)), *other = malloc((size_t)(MAX_TOK * V) * sizeof(float));
    run_seq(&r, &r.cache, f->tok[0], n, 64, whole);
    int32_t chunks[2] = {1, 7};
    for (int c = 0; c < 2; c++) {
        fl_kv_cache_reset(&r.cache);
        run_seq(&r, &r.cache, f->tok[0], n, chunks[c], other);
        double d = max_rel_diff(whole, other, (int64_t)n * V);
        CHECK_MSG(d <= 1e-5, "chunk %d vs 64: max|d|/max|ref| %.3g", chunks[c], d);
        printf("  chunk %d vs one chunk of %d: max|d|/max|ref| %.2e\n", chunks[c], n, d);
    }
    /* rewinding: keep 30 positions, decode the rest again */
    fl_kv_cache_reset(&r.cache);
    run_seq(&r, &r.cache, f->tok[0], n, 64, other);
    CHECK(fl_kv_cache_truncate(&r.cache, 30, r.lm.hp.sliding_window) == FLINT_OK && r.cache.n_past == 30);
    CHECK(fl_lm_forward(&r.lm, r.be, &r.s, &r.cache, f->tok[0] + 30, n - 30, other + 30 * V, true) == FLINT_OK);
    double dt = max_rel_diff(whole + 30 * V, other + 30 * V, (int64_t)(n - 30) * V);
    CHECK_MSG(dt <= 1e-5, "after truncating to 30: max|d|/max|ref| %.3g", dt);
    CHECK_FAILS(fl_kv_cache_truncate(&r.cache, n + 1, r.lm.hp.sliding_window), FLINT_E_INVALID_ARG, "cannot keep");

    /* two sequences, one context: alternate chunks of 5 between two caches */
    fl_kv_cache second;
    CHECK(fl_kv_cache_init(&second, &r.lm.hp, MAX_TOK, 64) == FLINT_OK);
    fl_kv_cache_reset(&r.cache);
    int32_t m = f->len[1];
    float *b_alone = malloc((size_t)(MAX_TOK * V) * sizeof(float));
    run_seq(&r, &second, f->tok[1], m, 64, b_alone);
    fl_kv_cache_reset(&second);
    int ok = 1;
    for (int32_t i = 0; i < n || i < m; i += 5) {
        if (i < n) ok &= fl_lm_forward(&r.lm, r.be, &r.s, &r.cache, f->tok[0] + i, n - i < 5 ? n - i : 5, other + i * V, true) == FLINT_OK;
        if (i < m) {
            float *tmp = malloc((size_t)(5 * V) * sizeof(float));
            int32_t k = m - i < 5 ? m - i : 5;
            ok &= fl_lm_forward(&r.lm, r.be, &r.s, &second, f->tok[1] + i, k, tmp, true) == FLINT_OK;
            ok &= max_rel_diff(b_alone + i * V, tmp, (int64_t)k * V) <= 1e-5;
            free(tmp);
        }
    }
    double d = max_rel_diff(whole, other, (int64_t)n * V);
    CHECK_MSG(ok && d <= 1e-5, "interleaved sequences differ from each alone (max|d|/max|ref| %.3g)", d);
    fl_kv_cache_free(&second);
    free(b_alone);
    free(whole);
    free(other);
    runner_close(&r);
}

int main(void) {
    fixture a, b, a_q8, a_q4;
    TEST_GROUP("fixtures");
    CHECK(load_fixture(FIXTURE("gemma3/a"), &a));
    CHECK(load_fixture(FIXTURE("gemma3/b"), &b));
    CHECK(load_fixture_logits(FIXTURE("gemma3/a"), "logits-q8_0.bin", &a_q8));
    CHECK(load_fixture_logits(FIXTURE("gemma3/a"), "logits-q4_0.bin", &a_q4));

    TEST_GROUP("transformers logits");
    check_model(FIXTURE("gemma3/a"), &a, 1e-4, 0, 0);
    check_model(FIXTURE("gemma3/b"), &b, 1e-4, 0, 0);
    check_model(FIXTURE("gemma3/a/model-f32.gguf"), &a, 1e-4, 0, 0);
    check_model(FIXTURE("gemma3/a/model-f16.gguf"), &a, 1e-2, 0, 0);
    check_model(FIXTURE("gemma3/a/model-bf16.gguf"), &a, 1e-2, 0, 0);
    check_model(FIXTURE("gemma3/a/model-q8_0.gguf"), &a, 0, 0.98, 0.01);
    /* Q4_0 of this 64-wide random model loses much (measured: top-1 0.53,
     * KL 0.094 against the f32 model); the engine itself is held tight below */
    check_model(FIXTURE("gemma3/a/model-q4_0.gguf"), &a, 0, 0.45, 0.15);

    /* against transformers running the gguf package's dequantization of the
     * same weights: what remains is flint's own error, mostly the 8-bit
     * activations of the integer dot products, as in llama.cpp (measured:
     * top-1 0.98 / 0.91, mean KL 3.6e-4 / 3.3e-4) */
    TEST_GROUP("quantized vs dequantized transformers");
    check_model(FIXTURE("gemma3/a/model-q8_0.gguf"), &a_q8, 0, 0.95, 2e-3);
    check_model(FIXTURE("gemma3/a/model-q4_0.gguf"), &a_q4, 0, 0.88, 2e-3);

    TEST_GROUP("chunking and sequences");
    check_consistency(FIXTURE("gemma3/a/model-f32.gguf"), &a);

    TEST_GROUP("bad input");
    runner r;
    if (runner_open(&r, FIXTURE("gemma3/a/model-f32.gguf"), 8)) {
        float *out = malloc((size_t)(8 * r.lm.hp.n_vocab) * sizeof(float));
        int32_t bad[2] = {5, 999999};
        CHECK_FAILS(fl_lm_forward(&r.lm, r.be, &r.s, &r.cache, bad, 2, out, true), FLINT_E_INVALID_ARG, "999999");
        int32_t many[9] = {0};
        CHECK_FAILS(fl_lm_forward(&r.lm, r.be, &r.s, &r.cache, many, 9, out, true), FLINT_E_INVALID_ARG, "9 tokens");
        free(out);
        runner_close(&r);
    }
    free(a.logits);
    free(b.logits);
    free(a_q8.logits);
    free(a_q4.logits);
    return test_finish("gemma3");
}
