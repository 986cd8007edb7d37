/* test_deterministic.c — deterministic (batch-invariant) mode,
 * flint_context_params.deterministic: a sequence's logits are the same
 * bits whatever shares its batch and however its tokens are cut into
 * steps.
 *   ops      on every ISA this machine runs: a matmul of n rows against
 *            each row alone and a middle run of rows; attention of n
 *            queries over a cache long enough to be split, against each
 *            query alone; the delta rule over a run against the same run
 *            token by token and cut in two (outputs and the state);
 *   models   every family's fixtures (f32 and Q4_0 GGUF) through the
 *            public API: (a) a sequence alone against the same tokens in
 *            one flint_decode_batch with 1..7 others of other lengths, a
 *            prompt step then single-token steps; (b) a prompt longer than
 *            one attention split (DET_SPLIT_KEYS, attention.c) as one call,
 *            cut at 7 and at 300, in steps of 13, 1, 1, 50, and token by
 *            token from 480 on (and model_fixture.h's checks: steps of 1
 *            and 7 over the fixture's tokens, sequences interleaved, a
 *            batch of three, at tolerance 0); (c) a prefix computed inside another sequence's batch
 *            and copied (flint_seq_copy), or truncated and decoded again
 *            (Gemma; recurrent layers cannot rewind), then continued;
 *            all memcmp-equal, and a context of one thread gives what
 *            one of two gives. With the mode off the same runs must differ
 *            somewhere (printed), which shows the comparisons can fail;
 *   bounds   the fixtures' transformers bounds (model_fixture.h) hold
 *            with the mode on. */
#include <stdlib.h>

#include "det_models.h"
#include "quant/dequant.h"
#include "quant/types.h"

/* ---- ops ---- */

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float rndf(void) { return (float)(rnd() & 0xffffff) / 16777216.0f * 2.0f - 1.0f; }

static const struct {
    fl_cpu_isa isa;
    const char *name;
} isas[] = {{FL_ISA_SCALAR, "scalar"}, {FL_ISA_AVX2, "avx2"}, {FL_ISA_AVX512, "avx512"},
            {FL_ISA_AMX, "amx"},       {FL_ISA_NEON, "neon"}};

static fl_backend *backend(fl_cpu_isa isa, bool det) {
    fl_backend *be = NULL;
    if (fl_cpu_backend_create(2, isa, &be) != FLINT_OK) return NULL;
    fl_cpu_backend_set_deterministic(be, det);
    return be;
}

/* rows of y (m wide) that differ from ref in any bit */
static int rows_differ(const float *ref, const float *y, int64_t n, int64_t m) {
    int d = 0;
    for (int64_t r = 0; r < n; r++) d += memcmp(ref + r * m, y + r * m, (size_t)m * sizeof *y) != 0;
    return d;
}

/* y of all n rows, of each row alone and of rows [3, 15): returns the rows
 * that differ from the all-rows product. */
static int matmul_split_diffs(fl_backend *be, const fl_weight *w, const float *x, int64_t n, float *all, float *part) {
    const int64_t m = w->m, k = w->k;
    int d = 0;
    CHECK(be->ops->matmul(be, w, x, all, n) == FLINT_OK);
    for (int64_t r = 0; r < n; r++) {
        CHECK(be->ops->matmul(be, w, x + r * k, part, 1) == FLINT_OK);
        d += rows_differ(all + r * m, part, 1, m);
    }
    CHECK(be->ops->matmul(be, w, x + 3 * k, part, 12) == FLINT_OK);
    return d + rows_differ(all + 3 * m, part, 12, m);
}

static void test_matmul(fl_cpu_isa isa, const char *name) {
    static const flint_type types[] = {FLINT_TYPE_F32,  FLINT_TYPE_F16,  FLINT_TYPE_BF16, FLINT_TYPE_Q8_0,
                                       FLINT_TYPE_Q4_0, FLINT_TYPE_Q4_K, FLINT_TYPE_Q5_K, FLINT_TYPE_Q6_K};
    const int64_t m = 70, k = 512, n = 37;
    float *wf = malloc((size_t)(m * k) * sizeof *wf), *x = malloc((size_t)(n * k) * sizeof *x);
    float *all = malloc((size_t)(n * m) * sizeof *all), *part = malloc((size_t)(n * m) * sizeof *part);
    uint8_t *wq = malloc((size_t)(m * k) * 4);
    for (int64_t i = 0; i < m * k; i++) wf[i] = rndf();
    for (int64_t i = 0; i < n * k; i++) x[i] = rndf();
    fl_backend *on = backend(isa, true), *off = backend(isa, false);
    int off_diffs = 0;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        uint64_t rb = 0;
        CHECK(fl_type_row_bytes(types[t], (uint64_t)k, &rb));
        for (int64_t r = 0; r < m; r++) CHECK(fl_quant_row(types[t], wf + r * k, wq + r * rb, k) == FLINT_OK);
        const fl_weight w = {.type = types[t], .m = m, .k = k, .data = wq, .row_bytes = rb};
        int d = matmul_split_diffs(on, &w, x, n, all, part);
        CHECK_MSG(d == 0, "%s %s: %d rows differ from the %lld-row product", name, fl_type_get(types[t])->name, d,
                  (long long)n);
        off_diffs += matmul_split_diffs(off, &w, x, n, all, part);
    }
    printf("  matmul %-7s off: %d of %d rows differ from the %lld-row product; on: none\n", name, off_diffs,
           (int)(sizeof types / sizeof types[0]) * (int)(n + 12), (long long)n);
    on->ops->free(on);
    off->ops->free(off);
    free(wf), free(x), free(all), free(part), free(wq);
}

/* n_q queries at the end of a 1200-key cache of 1344 rows (21 tiles; three
 * splits of 512), against each alone: the rows that differ. */
static int attention_diffs(fl_backend *be, const fl_attn_params *p, const float *q, const fl_kv_tile *tiles,
                           int64_t n_tiles, int64_t n_q, float *all, float *one) {
    int32_t pos_q[32];
    const int64_t qd = (int64_t)p->n_head * p->head_dim_k, od = (int64_t)p->n_head * p->head_dim_v;
    const int64_t stride = (int64_t)p->n_head_kv * p->head_dim_k;
    for (int64_t i = 0; i < n_q; i++) pos_q[i] = 1200 - (int32_t)n_q + (int32_t)i;
    CHECK(be->ops->attention(be, p, all, q, pos_q, n_q, tiles, n_tiles, stride) == FLINT_OK);
    int d = 0;
    for (int64_t i = 0; i < n_q; i++) {
        CHECK(be->ops->attention(be, p, one, q + i * qd, pos_q + i, 1, tiles, n_tiles, stride) == FLINT_OK);
        d += rows_differ(all + i * od, one, 1, od);
    }
    return d;
}

static void test_attention(fl_cpu_isa isa, const char *name) {
    const int64_t n_kv = 21 * FL_ATTN_TILE, n_q = 20;
    fl_attn_params p = {.n_head = 4, .n_head_kv = 2, .head_dim_k = 64, .head_dim_v = 64, .scale = 0.125f,
                        .kv_type = FLINT_TYPE_F32};
    const int64_t stride = p.n_head_kv * p.head_dim_k, qd = p.n_head * p.head_dim_k;
    float *kc = malloc((size_t)(n_kv * stride) * sizeof *kc), *q = malloc((size_t)(n_q * qd) * sizeof *q);
    float *all = malloc((size_t)(n_q * qd) * sizeof *all), *one = malloc((size_t)qd * sizeof *one);
    int32_t *pos_k = malloc((size_t)n_kv * sizeof *pos_k);
    for (int64_t i = 0; i < n_kv * stride; i++) kc[i] = 2.0f * rndf();
    for (int64_t i = 0; i < n_q * qd; i++) q[i] = 2.0f * rndf();
    for (int64_t j = 0; j < n_kv; j++) pos_k[j] = j < 1200 ? (int32_t)j : -1;
    fl_kv_tile tiles[21];
    for (int64_t t = 0; t < 21; t++)
        tiles[t] = (fl_kv_tile){kc + t * FL_ATTN_TILE * stride, kc + t * FL_ATTN_TILE * stride, pos_k + t * FL_ATTN_TILE};
    fl_backend *on = backend(isa, true), *off = backend(isa, false);
    int off_diffs = 0;
    for (int window = 0; window <= 700; window += 700) {
        p.window = window;
        int d = attention_diffs(on, &p, q, tiles, 21, n_q, all, one);
        CHECK_MSG(d == 0, "%s window %d: %d of %lld queries differ from the batch", name, window, d, (long long)n_q);
        off_diffs += attention_diffs(off, &p, q, tiles, 21, n_q, all, one);
    }
    printf("  attention %-7s off: %d of %lld queries differ alone vs %lld together; on: none\n", name, off_diffs,
           (long long)(2 * n_q), (long long)n_q);
    on->ops->free(on);
    off->ops->free(off);
    free(kc), free(q), free(all), free(one), free(pos_k);
}

/* The delta rule over n tokens in runs of the given lengths (summing to n). */
static void delta_runs(fl_backend *be, const fl_delta_params *p, const float *q, const float *k, const float *v,
                       const float *a, const float *b, int64_t n, const int64_t *runs, float *out, float *state) {
    const int64_t qd = (int64_t)p->n_k_heads * p->d_k, vd = (int64_t)p->n_v_heads * p->d_v;
    memset(state, 0, (size_t)(p->n_v_heads * p->d_k * p->d_v) * sizeof *state);
    for (int64_t t = 0, i = 0; t < n; t += runs[i++])
        CHECK(be->ops->delta_rule(be, p, out + t * vd, q + t * qd, k + t * qd, v + t * vd, a + t * p->n_v_heads,
                                  b + t * p->n_v_heads, state, runs[i]) == FLINT_OK);
}

static void test_delta(fl_cpu_isa isa, const char *name) {
    enum { N = 80 };
    const float ssm_a[4] = {-0.5f, -1.0f, -0.1f, -2.0f}, dt[4] = {0.1f, -0.2f, 0.3f, 0.0f};
    const fl_delta_params p = {.n_k_heads = 2, .n_v_heads = 4, .d_k = 32, .d_v = 32, .ssm_a = ssm_a, .dt_bias = dt};
    const int64_t qd = 64, vd = 128, sd = 4 * 32 * 32;
    float *q = malloc(N * qd * sizeof *q), *k = malloc(N * qd * sizeof *k), *v = malloc(N * vd * sizeof *v);
    float *a = malloc(N * 4 * sizeof *a), *b = malloc(N * 4 * sizeof *b);
    float *o1 = malloc(N * vd * sizeof *o1), *o2 = malloc(N * vd * sizeof *o2);
    float *s1 = malloc((size_t)sd * sizeof *s1), *s2 = malloc((size_t)sd * sizeof *s2);
    for (int64_t i = 0; i < N * qd; i++) q[i] = 0.2f * rndf(), k[i] = 0.2f * rndf();
    for (int64_t i = 0; i < N * vd; i++) v[i] = rndf();
    for (int64_t i = 0; i < N * 4; i++) a[i] = rndf(), b[i] = rndf();
    static const int64_t whole[] = {N}, cut[] = {7, N - 7}, cut2[] = {64, N - 64};
    int64_t ones[N];
    for (int i = 0; i < N; i++) ones[i] = 1;
    const int64_t *splits[3] = {cut, cut2, ones};
    fl_backend *on = backend(isa, true), *off = backend(isa, false);
    int off_diffs = 0;
    for (int det = 1; det >= 0; det--) {
        fl_backend *be = det ? on : off;
        delta_runs(be, &p, q, k, v, a, b, N, whole, o1, s1);
        for (int s = 0; s < 3; s++) {
            delta_runs(be, &p, q, k, v, a, b, N, splits[s], o2, s2);
            int d = rows_differ(o1, o2, N, vd) + rows_differ(s1, s2, 1, sd);
            if (det) CHECK_MSG(d == 0, "%s: split %d: %d tokens (or the state) differ from one run", name, s, d);
            else off_diffs += d;
        }
    }
    printf("  delta rule %-7s off: %d of %d token rows (and states) differ between splits; on: none\n", name,
           off_diffs, 3 * (N + 1));
    on->ops->free(on);
    off->ops->free(off);
    free(q), free(k), free(v), free(a), free(b), free(o1), free(o2), free(s1), free(s2);
}

/* ---- the transformers bounds with the mode on ---- */

static const model_case cases[] = {
    {"gemma1/a", "f32 q8_0 q4_0", &dense_bounds, NULL},
    {"gemma2/a", "hf f32 q8_0 q4_0", &dense_bounds, NULL},
    {"gemma3/a", "f32 bf16 q8_0 q4_0", &dense_bounds, NULL},
    {"gemma4/a", "f32 q8_0 q4_0", &dense_bounds, NULL},
    {"gemma4/b", "f32 q8_0 q4_0", &moe_bounds, NULL},
    {"gemma3/trained-a", "q8_0 q4_0", &trained_bounds, NULL},
    {"qwen35/dense", "hf f32 q8_0 q4_0", &hybrid_dense_bounds, NULL},
    {"qwen35/moe", "f32 q8_0 q4_0", &hybrid_moe_bounds, NULL},
    {"qwen35/trained-moe", "q8_0 q4_0", &trained_bounds, NULL},
};

int main(void) {
    TEST_GROUP("ops");
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        if (!fl_cpu_has_isa(isas[i].isa)) continue;
        test_matmul(isas[i].isa, isas[i].name);
        test_attention(isas[i].isa, isas[i].name);
        test_delta(isas[i].isa, isas[i].name);
    }

    TEST_GROUP("models");
    /* the long prompt: a fixture's tokens, then pseudo-random ones */
    static const char *models[] = {"gemma1/a", "gemma2/a", "gemma3/a", "gemma4/a", "gemma4/b", "qwen35/dense", "qwen35/moe"};
    static const char *files[] = {"model-f32.gguf", "model-q4_0.gguf"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char dir[256], path[320];
        fixture f;
        if (!load_f32_fixture(models[i], path, sizeof path, &f)) continue;
        int32_t tok[LONG_LEN];
        int32_t V = 0;
        flint_model *m = NULL;
        if (flint_model_open(path, NULL, &m) == FLINT_OK) {
            flint_context *c = NULL;
            flint_context_params cp = {.n_ctx = 16, .n_threads = 1};
            if (flint_context_create(m, &cp, &c) == FLINT_OK) V = flint_context_n_vocab(c);
            flint_context_free(c);
            flint_model_close(m);
        }
        CHECK_MSG(V > 0, "%s: %s", path, flint_errmsg());
        for (int32_t t = 0; t < LONG_LEN; t++) tok[t] = t < f.len[0] ? f.tok[0][t] : (int32_t)(rnd() % (uint32_t)V);
        /* model_fixture.h's own consistency and batch checks, at tolerance 0 */
        fixture_deterministic = true;
        check_consistency(path, &f, strncmp(models[i], "qwen35", 6) != 0, 0);
        check_batch(path, &f, 0);
        fixture_deterministic = false;
        snprintf(dir, sizeof dir, "%s/%s", FIXTURE_DIR, models[i]);
        for (int j = 0; j < 2 && V > 0; j++) {
            snprintf(path, sizeof path, "%s/%s", dir, files[j]);
            check_model_det(path, tok, strncmp(models[i], "qwen35", 6) != 0);
        }
        free(f.logits);
    }

    TEST_GROUP("transformers bounds");
    fixture_deterministic = true;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
    return test_finish("deterministic");
}
