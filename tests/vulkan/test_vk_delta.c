/* test_vk_delta.c — the Gated DeltaNet ops on the device against the CPU
 * backend: conv_silu over several calls in a row (the state carries), and
 * the delta rule:
 * - the device's recurrence (FLINT_VK_DELTA=recurrent) at Qwen3.5-like
 *   shapes, tiled and grouped, over runs of 1 to 70 tokens in a row,
 *   against the CPU's recurrence (deterministic mode: agreement to f32
 *   rounding, 1e-5) and its chunked form (runs of 16+ tokens, 1e-4);
 * - the device's chunked form (runs of 16+ tokens without the variable)
 *   over runs of 63, 64, 65, 130 and 200 tokens and of 100, 70 and 1 in a
 *   row, head dims 16 to 128 and unequal, GQA tiled and grouped, in three
 *   decay regimes, against both CPU forms, each with its own state.
 * Tolerances are relative to the largest output (and state) of the call.
 * Weights come from the backend's memory: an upload is found again by its
 * host address, so a freed and reused host array would read stale.
 * FLINT_VK_DELTA_BENCH=1 times the two device forms instead (no checks). */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "vk_harness.h"

static void test_conv(vk_pair *p) {
    static const struct { int64_t C; int32_t K; } shapes[] = {{37, 4}, {1029, 4}, {8, 2}, {5, 1}, {65, 7}};
    static const int64_t runs[] = {1, 3, 1, 9, 2, 1};
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const int64_t C = shapes[si].C;
        const int32_t K = shapes[si].K;
        float *w = vk_floats(p, C * K), *st = vk_floats(p, (K - 1) * C + 1), *st_ref = malloc((K * C) * sizeof *st_ref);
        vk_fill(w, C * K, 80 + si, -1, 1);
        vk_fill(st, (K - 1) * C, 90 + si, -2, 2);
        memcpy(st_ref, st, (K - 1) * C * sizeof *st);
        for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
            const int64_t n = runs[r];
            float *x = vk_floats(p, n * C), *y = vk_floats(p, n * C), *ref = malloc(n * C * sizeof *ref);
            vk_fill(x, n * C, 100 + 10 * si + r, -3, 3);
            TEST_GROUP("conv_silu");
            p->gpu->ops->conv_silu(p->gpu, y, x, w, st, n, C, K);
            p->cpu->ops->conv_silu(p->cpu, ref, x, w, st_ref, n, C, K);
            CHECK_CLOSE(y, ref, n * C, 1e-6, 1e-5, "C %lld K %d call %zu (n %lld)", (long long)C, K, r, (long long)n);
            TEST_GROUP("conv_silu state");
            CHECK_CLOSE(st, st_ref, (K - 1) * C, 0, 0, "C %lld K %d call %zu", (long long)C, K, r);
            vk_release(p, x), vk_release(p, y);
            free(ref);
        }
        vk_release(p, st), vk_release(p, w);
        free(st_ref);
    }
}

typedef struct delta_case {
    int32_t n_k_heads, n_v_heads, d_k, d_v;
    bool tiled;
} delta_case;

static const delta_case cases[] = {
    {2, 4, 128, 128, true}, {2, 4, 128, 128, false}, {2, 2, 128, 128, false},
    {1, 3, 16, 24, false},  {3, 6, 40, 200, true},   {1, 1, 256, 64, false},
};

/* q and k rows L2-normed (q then scaled by d_k^-1/2), as the model gives them */
static void fill_qk(float *x, int64_t rows, int32_t d, uint64_t seed, float scale) {
    vk_fill(x, rows * d, seed, -1, 1);
    for (int64_t r = 0; r < rows; r++) {
        double ss = 0;
        for (int32_t i = 0; i < d; i++) ss += (double)x[r * d + i] * x[r * d + i];
        const float s = (float)(scale / sqrt(ss + 1e-12));
        for (int32_t i = 0; i < d; i++) x[r * d + i] *= s;
    }
}

/* Largest |x| over n, so that tolerances scale with the outputs. */
static double peak(const float *x, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

static void test_delta(vk_pair *p, bool chunked) {
    static const int64_t runs[] = {1, 5, 16, 70, 1};
    setenv("FLINT_VK_DELTA", "recurrent", 1);
    fl_cpu_backend_set_deterministic(p->cpu, !chunked);
    const double rtol = chunked ? 1e-4 : 1e-5;
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const delta_case *c = &cases[ci];
        const int32_t nk = c->n_k_heads, nv = c->n_v_heads, dk = c->d_k, dv = c->d_v;
        const int64_t ns = (int64_t)nv * dk * dv;
        float *ssm_a = vk_floats(p, nv), *dt_bias = vk_floats(p, nv);
        for (int32_t j = 0; j < nv; j++) {
            ssm_a[j] = -expf(-1.0f + 2.0f * (float)j / (float)nv); /* -exp(A_log) */
            dt_bias[j] = 0.5f - 0.3f * (float)j;
        }
        const fl_delta_params dp = {nk, nv, dk, dv, c->tiled, ssm_a, dt_bias};
        float *st = vk_floats(p, ns), *st_ref = malloc(ns * sizeof *st_ref);
        vk_fill(st, ns, 200 + ci, -0.05f, 0.05f);
        memcpy(st_ref, st, ns * sizeof *st);
        for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
            const int64_t n = runs[r];
            const uint64_t seed = 1000 * ci + 10 * r + (chunked ? 5 : 0);
            float *q = vk_floats(p, n * nk * dk), *k = vk_floats(p, n * nk * dk), *v = vk_floats(p, n * nv * dv);
            float *a = vk_floats(p, n * nv), *b = vk_floats(p, n * nv), *out = vk_floats(p, n * nv * dv);
            float *ref = malloc(n * nv * dv * sizeof *ref);
            fill_qk(q, n * nk, dk, seed + 1, 1.0f / sqrtf((float)dk));
            fill_qk(k, n * nk, dk, seed + 2, 1.0f);
            vk_fill(v, n * nv * dv, seed + 3, -1, 1);
            vk_fill(a, n * nv, seed + 4, -4, 2);
            vk_fill(b, n * nv, seed + 5, -3, 3);
            if (n == 5) { /* softplus past 20 (the state nearly forgotten) and far below 0 (kept) */
                a[0] = 30, a[nv] = -30, a[2 * nv + nv - 1] = 21;
                b[1] = -40, b[nv + 1] = 40;
            }
            TEST_GROUP(chunked ? "delta_rule vs chunked" : "delta_rule vs recurrence");
            flint_status sg = p->gpu->ops->delta_rule(p->gpu, &dp, out, q, k, v, a, b, st, n);
            flint_status sc = p->cpu->ops->delta_rule(p->cpu, &dp, ref, q, k, v, a, b, st_ref, n);
            CHECK_MSG(sg == FLINT_OK && sc == FLINT_OK, "status %s / %s: %s", flint_status_name(sg),
                      flint_status_name(sc), flint_errmsg());
            CHECK_CLOSE(out, ref, n * nv * dv, rtol * peak(ref, n * nv * dv), rtol,
                        "heads %d/%d %dx%d %s, call %zu (n %lld)", nk, nv, dk, dv, c->tiled ? "tiled" : "grouped", r,
                        (long long)n);
            TEST_GROUP(chunked ? "delta_rule state vs chunked" : "delta_rule state vs recurrence");
            CHECK_CLOSE(st, st_ref, ns, rtol * peak(st_ref, ns), rtol, "heads %d/%d %dx%d %s, call %zu", nk, nv, dk,
                        dv, c->tiled ? "tiled" : "grouped", r);
            vk_release(p, q), vk_release(p, k), vk_release(p, v), vk_release(p, a), vk_release(p, b);
            vk_release(p, out);
            free(ref);
        }
        vk_release(p, st), vk_release(p, ssm_a), vk_release(p, dt_bias);
        free(st_ref);
    }
    fl_cpu_backend_set_deterministic(p->cpu, false);
    unsetenv("FLINT_VK_DELTA");
}

/* Decay regimes of the chunked test: a's range (ssm_a near -e^-1..-e). */
typedef struct decay_regime {
    const char *name;
    float a_lo, a_hi;
} decay_regime;

static const decay_regime regimes[] = {
    {"mixed decay", -4, 2},       /* e^g from about 0.02 to 0.99 */
    {"strong decay", 8, 12},      /* e^g below e^-3: each token nearly forgets the state */
    {"near-zero decay", -30, -20} /* g about -1e-9: the state keeps everything */
};

static const delta_case chunk_cases[] = {
    {2, 4, 16, 16, true}, {2, 4, 64, 64, false}, {1, 2, 128, 128, true},
    {2, 4, 128, 128, false}, {1, 1, 32, 48, false}, {3, 6, 32, 48, true},
};

/* One call of n tokens on the device (its chosen form: the chunked one
 * from 16 tokens) and on the CPU in both forms, each form carrying its own
 * state; checks out and the state against each. */
static void chunk_call(vk_pair *p, const fl_delta_params *dp, const decay_regime *rg, float *st, float *st_chk,
                       float *st_rec, int64_t n, uint64_t seed, const char *what) {
    const int32_t nk = dp->n_k_heads, nv = dp->n_v_heads, dk = dp->d_k, dv = dp->d_v;
    const int64_t ns = (int64_t)nv * dk * dv, no = n * nv * dv;
    float *q = vk_floats(p, n * nk * dk), *k = vk_floats(p, n * nk * dk), *v = vk_floats(p, n * nv * dv);
    float *a = vk_floats(p, n * nv), *b = vk_floats(p, n * nv), *out = vk_floats(p, no);
    float *chk = malloc(no * sizeof *chk), *rec = malloc(no * sizeof *rec);
    fill_qk(q, n * nk, dk, seed + 1, 1.0f / sqrtf((float)dk));
    fill_qk(k, n * nk, dk, seed + 2, 1.0f);
    vk_fill(v, n * nv * dv, seed + 3, -1, 1);
    vk_fill(a, n * nv, seed + 4, rg->a_lo, rg->a_hi);
    vk_fill(b, n * nv, seed + 5, -3, 3);
    flint_status sg = p->gpu->ops->delta_rule(p->gpu, dp, out, q, k, v, a, b, st, n);
    fl_cpu_backend_set_deterministic(p->cpu, false);
    flint_status sc = p->cpu->ops->delta_rule(p->cpu, dp, chk, q, k, v, a, b, st_chk, n);
    fl_cpu_backend_set_deterministic(p->cpu, true);
    flint_status sr = p->cpu->ops->delta_rule(p->cpu, dp, rec, q, k, v, a, b, st_rec, n);
    fl_cpu_backend_set_deterministic(p->cpu, false);
    TEST_GROUP("chunked delta_rule status");
    CHECK_MSG(sg == FLINT_OK && sc == FLINT_OK && sr == FLINT_OK, "status %s / %s / %s: %s", flint_status_name(sg),
              flint_status_name(sc), flint_status_name(sr), flint_errmsg());
    /* the forms differ by rounding, which grows with the run (the chunk's
     * solve and the state's products): 1e-5 of the largest output or
     * state, and 5e-5 of each element where that is more (on lavapipe
     * the worst case is 0.16 of this) */
    const double rtol = 5e-5, scale = 1e-5;
    TEST_GROUP("chunked delta_rule vs CPU chunked");
    CHECK_CLOSE(out, chk, no, scale * peak(chk, no), rtol, "%s n %lld: out", what, (long long)n);
    CHECK_CLOSE(st, st_chk, ns, scale * peak(st_chk, ns), rtol, "%s n %lld: state", what, (long long)n);
    TEST_GROUP("chunked delta_rule vs CPU recurrence");
    CHECK_CLOSE(out, rec, no, scale * peak(rec, no), rtol, "%s n %lld: out", what, (long long)n);
    CHECK_CLOSE(st, st_rec, ns, scale * peak(st_rec, ns), rtol, "%s n %lld: state", what, (long long)n);
    vk_release(p, q), vk_release(p, k), vk_release(p, v), vk_release(p, a), vk_release(p, b);
    vk_release(p, out);
    free(chk), free(rec);
}

static void test_chunked(vk_pair *p) {
    static const int64_t seq_a[] = {63, 64, 65, 130, 200, 0}, seq_b[] = {100, 70, 1, 0};
    static const int64_t *seqs[] = {seq_a, seq_b};
    for (size_t ci = 0; ci < sizeof chunk_cases / sizeof *chunk_cases; ci++) {
        const delta_case *c = &chunk_cases[ci];
        const int32_t nv = c->n_v_heads;
        const int64_t ns = (int64_t)nv * c->d_k * c->d_v;
        float *ssm_a = vk_floats(p, nv), *dt_bias = vk_floats(p, nv);
        for (int32_t j = 0; j < nv; j++) {
            ssm_a[j] = -expf(-1.0f + 2.0f * (float)j / (float)nv);
            dt_bias[j] = 0.5f - 0.3f * (float)j;
        }
        const fl_delta_params dp = {c->n_k_heads, nv, c->d_k, c->d_v, c->tiled, ssm_a, dt_bias};
        for (size_t ri = 0; ri < sizeof regimes / sizeof *regimes; ri++)
            for (size_t si = 0; si < 2; si++) {
                float *st = vk_floats(p, ns), *st_chk = malloc(ns * sizeof *st_chk), *st_rec = malloc(ns * sizeof *st_rec);
                vk_fill(st, ns, 300 + 10 * ci + ri, -0.05f, 0.05f);
                memcpy(st_chk, st, ns * sizeof *st), memcpy(st_rec, st, ns * sizeof *st);
                for (size_t r = 0; seqs[si][r]; r++) {
                    char what[128];
                    snprintf(what, sizeof what, "heads %d/%d %dx%d %s, %s, sequence %zu call %zu", c->n_k_heads, nv,
                             c->d_k, c->d_v, c->tiled ? "tiled" : "grouped", regimes[ri].name, si, r);
                    chunk_call(p, &dp, &regimes[ri], st, st_chk, st_rec, seqs[si][r],
                               5000 + 1000 * ci + 100 * ri + 10 * si + r, what);
                }
                vk_release(p, st);
                free(st_chk), free(st_rec);
            }
        vk_release(p, ssm_a), vk_release(p, dt_bias);
    }
    /* 64 value heads of 128 x 128: a chunk of all heads takes 0.59 M floats of scratch, so a run of 200 tokens
     * goes in segments of 3 chunks (delta.c's SCRATCH_FLOATS), the state carried between them */
    const int32_t nk = 16, nv = 64, d = 128;
    const int64_t ns = (int64_t)nv * d * d;
    float *ssm_a = vk_floats(p, nv), *dt_bias = vk_floats(p, nv), *st = vk_floats(p, ns);
    float *st_chk = malloc(ns * sizeof *st_chk), *st_rec = malloc(ns * sizeof *st_rec);
    vk_fill(ssm_a, nv, 400, -2.5f, -0.3f);
    vk_fill(dt_bias, nv, 401, -1, 1);
    vk_fill(st, ns, 402, -0.05f, 0.05f);
    memcpy(st_chk, st, ns * sizeof *st), memcpy(st_rec, st, ns * sizeof *st);
    const fl_delta_params dp = {nk, nv, d, d, true, ssm_a, dt_bias};
    chunk_call(p, &dp, &regimes[0], st, st_chk, st_rec, 200, 9000, "heads 16/64 128x128 tiled, in segments");
    vk_release(p, st), vk_release(p, ssm_a), vk_release(p, dt_bias);
    free(st_chk), free(st_rec);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Best of 5 runs of each device form at Qwen3.5's 16 value heads (and 16
 * key heads) of 128 x 128, over several run lengths. */
static void bench(vk_pair *p) {
    static const int64_t lens[] = {8, 16, 32, 64, 128, 512};
    const int32_t nh = 16, d = 128;
    const int64_t n_max = 512, ns = (int64_t)nh * d * d;
    float *ssm_a = vk_floats(p, nh), *dt_bias = vk_floats(p, nh), *st = vk_floats(p, ns);
    float *q = vk_floats(p, n_max * nh * d), *k = vk_floats(p, n_max * nh * d), *v = vk_floats(p, n_max * nh * d);
    float *a = vk_floats(p, n_max * nh), *b = vk_floats(p, n_max * nh), *out = vk_floats(p, n_max * nh * d);
    vk_fill(ssm_a, nh, 1, -2, -0.5f);
    fill_qk(q, n_max * nh, d, 2, 1.0f / sqrtf((float)d));
    fill_qk(k, n_max * nh, d, 3, 1.0f);
    vk_fill(v, n_max * nh * d, 4, -1, 1), vk_fill(a, n_max * nh, 5, -4, 2), vk_fill(b, n_max * nh, 6, -3, 3);
    const fl_delta_params dp = {nh, nh, d, d, false, ssm_a, dt_bias};
    printf("delta rule, %d heads of %d x %d, ms (best of 5)\n%6s %10s %10s\n", nh, d, d, "n", "recurrent", "chunked");
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        double best[2] = {INFINITY, INFINITY};
        for (int rep = 0; rep < 6; rep++) /* the forms alternate (a shared machine's load shifts); the first */
            for (int form = 0; form < 2; form++) { /* round compiles the shaders */
                setenv("FLINT_VK_DELTA", form ? "chunked" : "recurrent", 1);
                memset(st, 0, ns * sizeof *st);
                const double t = now_ms();
                p->gpu->ops->delta_rule(p->gpu, &dp, out, q, k, v, a, b, st, lens[li]);
                const double ms = now_ms() - t;
                if (rep > 0 && ms < best[form]) best[form] = ms;
            }
        printf("%6lld %10.2f %10.2f\n", (long long)lens[li], best[0], best[1]);
    }
    unsetenv("FLINT_VK_DELTA");
    vk_release(p, ssm_a), vk_release(p, dt_bias), vk_release(p, st), vk_release(p, q), vk_release(p, k);
    vk_release(p, v), vk_release(p, a), vk_release(p, b), vk_release(p, out);
}

static void test_delta_args(vk_pair *p) {
    TEST_GROUP("delta_rule arguments");
    float one[1] = {0}, ssm_a[4] = {-1, -1, -1, -1}, dt[4] = {0};
    float *buf = vk_floats(p, 4 * 512 * 512);
    CHECK_FAILS(p->gpu->ops->delta_rule(p->gpu, &(fl_delta_params){2, 3, 16, 16, false, ssm_a, dt}, buf, buf, buf,
                                        buf, one, one, buf, 1),
                FLINT_E_INVALID_ARG, "3 value heads over 2 key heads");
    CHECK_FAILS(p->gpu->ops->delta_rule(p->gpu, &(fl_delta_params){0, 4, 16, 16, false, ssm_a, dt}, buf, buf, buf,
                                        buf, one, one, buf, 1),
                FLINT_E_INVALID_ARG, "delta rule");
    CHECK_FAILS(p->gpu->ops->delta_rule(p->gpu, &(fl_delta_params){1, 1, 512, 16, false, ssm_a, dt}, buf, buf, buf,
                                        buf, one, one, buf, 1),
                FLINT_E_UNSUPPORTED, "key heads of 512");
    CHECK_FAILS(p->gpu->ops->delta_rule(p->gpu, &(fl_delta_params){1, 1, 16, 0, false, ssm_a, dt}, buf, buf, buf,
                                        buf, one, one, buf, 1),
                FLINT_E_INVALID_ARG, "16 x 0");
    vk_release(p, buf);
}

int main(void) {
    vk_pair p = vk_pair_open();
    if (getenv("FLINT_VK_DELTA_BENCH")) {
        bench(&p);
        vk_pair_close(&p);
        return 0;
    }
    test_conv(&p);
    test_delta(&p, false);
    test_delta(&p, true);
    test_chunked(&p);
    test_delta_args(&p);
    vk_pair_close(&p);
    return test_finish("test_vk_delta");
}
