/* test_cpu_ops.c — the CPU backend's non-matmul ops: the scalar reference
 * against double precision written here, and every SIMD ISA this machine
 * runs against the scalar reference, on random inputs with awkward sizes.
 * Tolerances are stated per op with the reason next to them. Also: ISA
 * selection (FLINT_ISA cap, an ISA the CPU lacks). */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "cpu/cpu.h"
#include "harness.h"
#include "quant/dequant.h"

#define N_THREADS 2

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double urand(void) { /* [0, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static float frand(float lo, float hi) { return lo + (hi - lo) * (float)urand(); }
static void fill(float *x, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) x[i] = frand(lo, hi);
}
static float *falloc(int64_t n) { return malloc((size_t)(n > 0 ? n : 1) * sizeof(float)); }

/* max over i of |got - want| / (abs_tol + rel_tol |want|); <= 1 passes */
static double err_ratio(const float *got, const double *want, int64_t n, double rel_tol, double abs_tol) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]) / (abs_tol + rel_tol * fabs(want[i]));
        if (!(e <= worst)) worst = e; /* NaN counts as a failure */
    }
    return worst;
}
static double err_ratio_f(const float *got, const float *want, int64_t n, double rel_tol, double abs_tol) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]) / (abs_tol + rel_tol * fabs((double)want[i]));
        if (!(e <= worst)) worst = e;
    }
    return worst;
}

static fl_backend *backends[4];
static fl_cpu_isa isas[4];
static int n_backends;

/* ---------------- elementwise ---------------- */

/* GELU-tanh as x / (1 + exp(-2u)), the identity 0.5 (1 + tanh u) =
 * sigmoid(2u): 1 + tanh(u) cancels to 0 even in double for x < -6 */
static double act_ref(fl_act act, double x) {
    if (act == FL_ACT_GELU_TANH)
        return x / (1 + exp(-2 * sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
    return (act == FL_ACT_SIGMOID ? 1 : x) / (1 + exp(-x));
}

static void test_elementwise(void) {
    static const int64_t sizes[] = {1, 7, 17, 100, 1000, 100003}; /* the last one runs on the pool */
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int64_t n = sizes[si];
        float *a = falloc(n), *b = falloc(n), *ref = falloc(n), *y = falloc(n);
        double *dref = malloc((size_t)n * sizeof(double));
        fill(a, n, -8, 8);
        fill(b, n, -3, 3);
        if (n > 4) a[0] = -90, a[1] = 90, a[2] = 0, a[3] = -1e-6f; /* exp saturation, zero, tiny */
        for (int act = FL_ACT_SILU; act <= FL_ACT_SIGMOID; act++) {
            TEST_GROUP(act == FL_ACT_SILU ? "silu" : act == FL_ACT_GELU_TANH ? "gelu_tanh" : "sigmoid");
            /* Scalar vs double: the reference is x / (1 + expf(-z)); expf is
             * within 1 ulp, but z itself is rounded in f32 and exp turns its
             * absolute error |z| 2^-24 into a relative one: |z| <= ~60 on
             * [-8, 8] gives up to ~4e-6. Tolerance: relative 1e-5 + 1e-30. */
            backends[0]->ops->act(backends[0], (fl_act)act, ref, a, n);
            for (int64_t i = 0; i < n; i++) dref[i] = act_ref((fl_act)act, a[i]);
            double e = err_ratio(ref, dref, n, 1e-5, 1e-30);
            CHECK_MSG(e <= 1, "scalar vs double n=%lld: error ratio %g", (long long)n, e);
            /* gated: act(g) * u adds one rounding */
            backends[0]->ops->gated(backends[0], (fl_act)act, ref, a, b, n);
            for (int64_t i = 0; i < n; i++) dref[i] = act_ref((fl_act)act, a[i]) * b[i];
            e = err_ratio(ref, dref, n, 1e-5, 1e-30);
            CHECK_MSG(e <= 1, "gated scalar vs double n=%lld: error ratio %g", (long long)n, e);
            /* SIMD vs scalar: the polynomial exp is within ~2 ulp and z may be
             * fused differently (FMA): same 1e-5 relative bound (the exp
             * argument's rounding dominates), typically ~3e-7. */
            for (int bi = 1; bi < n_backends; bi++) {
                backends[0]->ops->act(backends[0], (fl_act)act, ref, a, n);
                backends[bi]->ops->act(backends[bi], (fl_act)act, y, a, n);
                e = err_ratio_f(y, ref, n, 1e-5, 1e-30);
                CHECK_MSG(e <= 1, "%s act n=%lld: error ratio %g", fl_cpu_isa_name(isas[bi]), (long long)n, e);
                backends[0]->ops->gated(backends[0], (fl_act)act, ref, a, b, n);
                memcpy(y, a, (size_t)n * sizeof(float));
                backends[bi]->ops->gated(backends[bi], (fl_act)act, y, y, b, n); /* y aliases g */
                e = err_ratio_f(y, ref, n, 1e-5, 1e-30);
                CHECK_MSG(e <= 1, "%s gated n=%lld: error ratio %g", fl_cpu_isa_name(isas[bi]), (long long)n, e);
            }
        }
        /* add / mul / scale: one IEEE rounding in every ISA, so the results
         * are bit-identical to scalar and within 2^-24 relative of double */
        TEST_GROUP("add_mul_scale");
        for (int op = 0; op < 3; op++) {
            fl_backend *s = backends[0];
            if (op == 0) s->ops->add(s, ref, a, b, n);
            if (op == 1) s->ops->mul(s, ref, a, b, n);
            if (op == 2) s->ops->scale(s, ref, a, 0.37f, n);
            for (int64_t i = 0; i < n; i++)
                dref[i] = op == 0 ? (double)a[i] + b[i] : op == 1 ? (double)a[i] * b[i] : (double)a[i] * 0.37f;
            double e = err_ratio(ref, dref, n, 6e-8, 1e-38);
            CHECK_MSG(e <= 1, "op %d scalar vs double n=%lld: %g", op, (long long)n, e);
            for (int bi = 1; bi < n_backends; bi++) {
                fl_backend *be = backends[bi];
                if (op == 0) be->ops->add(be, y, a, b, n);
                if (op == 1) be->ops->mul(be, y, a, b, n);
                if (op == 2) be->ops->scale(be, y, a, 0.37f, n);
                CHECK_MSG(memcmp(y, ref, (size_t)n * sizeof(float)) == 0, "%s op %d n=%lld differs from scalar",
                          fl_cpu_isa_name(isas[bi]), op, (long long)n);
            }
        }
        free(a), free(b), free(ref), free(y), free(dref);
    }
}

/* ---------------- rmsnorm, softmax ---------------- */

static void test_rows(void) {
    static const int64_t dims[] = {1, 15, 17, 100, 2304, 4096};
    static const int64_t rows[] = {1, 17};
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
        for (size_t ri = 0; ri < 2; ri++) {
            int64_t dim = dims[di], nr = rows[ri], n = dim * nr;
            float *x = falloc(n), *w = falloc(dim), *ref = falloc(n), *y = falloc(n);
            double *dref = malloc((size_t)n * sizeof(double));
            fill(x, n, -4, 4);
            fill(w, dim, 0.5f, 1.5f);
            TEST_GROUP("rmsnorm");
            for (int use_w = 0; use_w < 2; use_w++) {
                const float *wp = use_w ? w : NULL;
                /* Scalar: sum of squares in double, then x * r * w in f32 (3
                 * roundings): relative 1e-6. */
                backends[0]->ops->rmsnorm(backends[0], ref, x, wp, nr, dim, 1e-6f);
                for (int64_t r = 0; r < nr; r++) {
                    double ss = 0;
                    for (int64_t i = 0; i < dim; i++) ss += (double)x[r * dim + i] * x[r * dim + i];
                    double inv = 1 / sqrt(ss / dim + 1e-6f);
                    for (int64_t i = 0; i < dim; i++) dref[r * dim + i] = x[r * dim + i] * inv * (wp ? wp[i] : 1.0);
                }
                double e = err_ratio(ref, dref, n, 1e-6, 1e-30);
                CHECK_MSG(e <= 1, "scalar vs double dim=%lld rows=%lld: %g", (long long)dim, (long long)nr, e);
                /* SIMD sums squares in f32 lanes: relative error of the sum
                 * ~sqrt(dim) 2^-24 (all terms positive), halved by the sqrt: 2e-6 */
                for (int bi = 1; bi < n_backends; bi++) {
                    memcpy(y, x, (size_t)n * sizeof(float));
                    backends[bi]->ops->rmsnorm(backends[bi], y, y, wp, nr, dim, 1e-6f); /* in place */
                    e = err_ratio_f(y, ref, n, 2e-6, 1e-30);
                    CHECK_MSG(e <= 1, "%s dim=%lld rows=%lld: %g", fl_cpu_isa_name(isas[bi]), (long long)dim,
                              (long long)nr, e);
                }
            }
            TEST_GROUP("softmax");
            fill(x, n, -12, 12);
            memcpy(ref, x, (size_t)n * sizeof(float));
            backends[0]->ops->softmax(backends[0], ref, nr, dim);
            for (int64_t r = 0; r < nr; r++) {
                double m = -INFINITY, s = 0;
                for (int64_t i = 0; i < dim; i++) m = fmax(m, x[r * dim + i]);
                for (int64_t i = 0; i < dim; i++) s += exp(x[r * dim + i] - m);
                for (int64_t i = 0; i < dim; i++) dref[r * dim + i] = exp(x[r * dim + i] - m) / s;
            }
            /* exp of x - m (|x - m| <= 24, rounded in f32: 24 * 2^-24 = 1.4e-6
             * relative) and the f32 sum of up to 4096 terms (~sqrt(n) 2^-24
             * typical): relative 1e-5 */
            double e = err_ratio(ref, dref, n, 1e-5, 1e-30);
            CHECK_MSG(e <= 1, "scalar vs double dim=%lld rows=%lld: %g", (long long)dim, (long long)nr, e);
            for (int bi = 1; bi < n_backends; bi++) {
                memcpy(y, x, (size_t)n * sizeof(float));
                backends[bi]->ops->softmax(backends[bi], y, nr, dim);
                e = err_ratio_f(y, ref, n, 1e-5, 1e-30);
                CHECK_MSG(e <= 1, "%s dim=%lld rows=%lld: %g", fl_cpu_isa_name(isas[bi]), (long long)dim,
                          (long long)nr, e);
            }
            free(x), free(w), free(ref), free(y), free(dref);
        }
}

/* ---------------- rope ---------------- */

typedef struct rope_case {
    int32_t n_tok, n_head, head_dim, n_rot, exp_dims;
    float base, freq_scale;
    int ff; /* 0 none, 1 random in [1, 4], 2 Gemma 4 proportional: 1 then 1e30 */
} rope_case;

static void test_rope(void) {
    TEST_GROUP("rope");
    static const rope_case cases[] = {
        {1, 8, 64, 64, 0, 10000, 0, 0},      /* decode, full rotary */
        {17, 6, 80, 80, 0, 10000, 0, 0},     /* odd-ish head dim */
        {5, 4, 96, 96, 0, 1e6f, 0.25f, 0},   /* linear scaling */
        {64, 8, 128, 128, 0, 1e6f, 0, 1},    /* freq_factors; runs on the pool */
        {3, 2, 256, 64, 0, 1e7f, 0, 0},      /* partial rotary: 64 of 256 (Qwen3.5 style) */
        {7, 4, 512, 512, 512, 1e6f, 0, 2},   /* Gemma 4 proportional via freq_factors */
        {9, 3, 512, 128, 512, 1e6f, 0, 0},   /* exp_dims != n_rot */
        {2, 1, 18, 10, 0, 10000, 0, 0},      /* n_rot/2 = 5: tails everywhere */
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const rope_case *c = &cases[ci];
        int64_t n = (int64_t)c->n_tok * c->n_head * c->head_dim, half = c->n_rot / 2;
        float *x = falloc(n), *ref = falloc(n), *y = falloc(n), *ff = falloc(half);
        double *dref = malloc((size_t)n * sizeof(double));
        int32_t *pos = malloc((size_t)c->n_tok * sizeof(int32_t));
        fill(x, n, -2, 2);
        for (int32_t t = 0; t < c->n_tok; t++) pos[t] = (int32_t)(urand() * 5000);
        if (c->n_tok > 1) pos[0] = 0;
        for (int64_t i = 0; i < half; i++) ff[i] = c->ff == 1 ? frand(1, 4) : (i < 16 ? 1.0f : 1e30f);
        fl_rope_params p = {.n_rot = c->n_rot, .exp_dims = c->exp_dims, .base = c->base, .freq_scale = c->freq_scale,
                            .freq_factors = c->ff ? ff : NULL};
        memcpy(ref, x, (size_t)n * sizeof(float));
        backends[0]->ops->rope(backends[0], ref, pos, c->n_tok, c->n_head, c->head_dim, &p);
        /* double reference, and a per-element bound: theta is f32 in the
         * kernel (HF computes it in f32 too) with ~3 ulp of relative error,
         * i.e. an angle error <= |theta| 2e-7 <= pos 2e-7; the rotated pair
         * moves by (|x0| + |x1|) times that, plus a few ulp of rounding. */
        int ok = 1;
        double worst = 0;
        for (int32_t t = 0; t < c->n_tok; t++)
            for (int32_t h = 0; h < c->n_head; h++) {
                const float *xh = x + ((int64_t)t * c->n_head + h) * c->head_dim;
                double *dh = dref + ((int64_t)t * c->n_head + h) * c->head_dim;
                double ed = c->exp_dims ? c->exp_dims : c->n_rot, fs = c->freq_scale ? c->freq_scale : 1;
                for (int64_t i = 0; i < c->head_dim; i++) dh[i] = xh[i];
                for (int64_t i = 0; i < half; i++) {
                    double th = pos[t] * fs * pow(c->base, -2.0 * i / ed) / (c->ff ? ff[i] : 1.0);
                    dh[i] = xh[i] * cos(th) - xh[i + half] * sin(th);
                    dh[i + half] = xh[i] * sin(th) + xh[i + half] * cos(th);
                }
                const float *rh = ref + ((int64_t)t * c->n_head + h) * c->head_dim;
                for (int64_t i = 0; i < c->head_dim; i++) {
                    int64_t pair = i < half ? i : i - half;
                    double mag = i < c->n_rot ? fabs(xh[pair]) + fabs(xh[pair + half]) : fabs(xh[i]);
                    double tol = i < c->n_rot ? mag * (pos[t] * 3e-7 + 5e-7) : 0; /* pass-through is exact */
                    double e = fabs(rh[i] - dh[i]);
                    if (!(e <= tol)) ok = 0;
                    if (tol > 0 && e / tol > worst) worst = e / tol;
                }
            }
        CHECK_MSG(ok, "case %zu scalar vs double: worst ratio %g", ci, worst);
        /* SIMD vs scalar: the same f32 cos/sin tables (computed once, shared
         * by every ISA); only the rotation may fuse (FMA): 1 ulp of the pair
         * magnitude. */
        for (int bi = 1; bi < n_backends; bi++) {
            memcpy(y, x, (size_t)n * sizeof(float));
            backends[bi]->ops->rope(backends[bi], y, pos, c->n_tok, c->n_head, c->head_dim, &p);
            double e = err_ratio_f(y, ref, n, 0, 1e-6 * 4);
            CHECK_MSG(e <= 1, "%s case %zu: %g", fl_cpu_isa_name(isas[bi]), ci, e);
        }
        free(x), free(ref), free(y), free(ff), free(dref), free(pos);
    }
}

/* ---------------- attention ---------------- */

typedef struct attn_case {
    int32_t n_head, n_head_kv, dk, dv;
    int64_t n_q, n_kv;
    int32_t window;
    float softcap;
    int kvt;    /* 0: F32, 1: F16, 2: BF16 */
    int layout; /* 0: cache in order, queries are its last n_q; 1: ring buffer, shuffled + empty rows;
                   2: queries before every key (nothing visible) */
} attn_case;

static float kv_get(const attn_case *c, const void *buf, int64_t idx) {
    if (c->kvt == 1) return fl_f16_to_f32(((const uint16_t *)buf)[idx]);
    if (c->kvt == 2) return fl_bf16_to_f32(((const uint16_t *)buf)[idx]);
    return ((const float *)buf)[idx];
}

/* out[n_q][n_head][dv] in double: two-pass softmax, scores in double */
static void attn_ref(const attn_case *c, const fl_attn_params *p, double *out, const float *q, const int32_t *pos_q,
                     const void *k, const void *v, const int32_t *pos_k, int64_t n_kv, int64_t stride) {
    double *s = malloc((size_t)(n_kv > 0 ? n_kv : 1) * sizeof(double));
    int32_t G = c->n_head / c->n_head_kv;
    for (int64_t i = 0; i < c->n_q; i++)
        for (int32_t h = 0; h < c->n_head; h++) {
            int32_t kvh = h / G;
            const float *qh = q + (i * c->n_head + h) * c->dk;
            double m = -INFINITY;
            for (int64_t j = 0; j < n_kv; j++) {
                int vis = pos_k[j] >= 0 && pos_k[j] <= pos_q[i] && (c->window == 0 || pos_q[i] - pos_k[j] < c->window);
                if (!vis) {
                    s[j] = -INFINITY;
                    continue;
                }
                double d = 0;
                for (int32_t t = 0; t < c->dk; t++) d += (double)qh[t] * kv_get(c, k, j * stride + kvh * c->dk + t);
                d *= p->scale;
                if (c->softcap > 0) d = c->softcap * tanh(d / c->softcap);
                s[j] = d;
                m = fmax(m, d);
            }
            double *o = out + (i * c->n_head + h) * c->dv, l = 0;
            for (int32_t t = 0; t < c->dv; t++) o[t] = 0;
            if (m == -INFINITY) continue;
            for (int64_t j = 0; j < n_kv; j++) {
                if (s[j] == -INFINITY) continue;
                double w = exp(s[j] - m);
                l += w;
                for (int32_t t = 0; t < c->dv; t++) o[t] += w * kv_get(c, v, j * stride + kvh * c->dv + t);
            }
            for (int32_t t = 0; t < c->dv; t++) o[t] /= l;
        }
    free(s);
}

static void test_attention(void) {
    TEST_GROUP("attention");
    static const attn_case cases[] = {
        {8, 8, 64, 64, 1, 300, 0, 0, 0, 0},        /* decode, MHA */
        {6, 2, 80, 80, 1, 129, 0, 0, 1, 0},        /* 6 heads over 2 KV heads, F16 */
        {5, 1, 96, 96, 17, 100, 0, 0, 0, 0},       /* 5 over 1, prefill 17 */
        {4, 2, 128, 128, 64, 200, 0, 0, 1, 0},     /* GQA 2, prefill 64, F16 */
        {16, 2, 128, 128, 64, 64, 0, 0, 0, 0},     /* GQA 8, 512 rows per KV head */
        {8, 1, 256, 256, 1, 2000, 0, 0, 1, 0},     /* long decode on one KV head: split keys */
        {8, 4, 256, 256, 17, 150, 32, 0, 0, 0},    /* sliding window */
        {8, 4, 256, 256, 1, 700, 512, 0, 1, 1},    /* window + ring buffer, split keys */
        {4, 2, 128, 128, 17, 90, 0, 50, 0, 0},     /* softcap (Gemma 2) */
        {2, 1, 512, 512, 3, 70, 0, 30, 1, 1},      /* head dim 512, ring buffer + empty rows */
        {6, 2, 192, 128, 5, 40, 0, 0, 0, 1},       /* dk != dv */
        {4, 4, 64, 64, 17, 33, 0, 0, 0, 2},        /* nothing visible: zeros */
        {4, 2, 64, 64, 3, 0, 0, 0, 0, 0},          /* empty cache: zeros */
        {3, 3, 17, 33, 9, 77, 8, 20, 1, 1},        /* every size odd */
        {8, 2, 128, 128, 1, 1000, 0, 0, 2, 1},     /* BF16, split keys, tiles out of order */
        {4, 2, 64, 64, 17, 150, 32, 10, 2, 0},     /* BF16, window + softcap */
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const attn_case *c = &cases[ci];
        int64_t row = (int64_t)c->n_head_kv * (c->dk > c->dv ? c->dk : c->dv);
        int64_t stride = row + 3; /* rows padded: kv_stride is honoured */
        /* keys in tiles of FL_ATTN_TILE rows, the last padded with empty rows */
        int64_t n_tiles = (c->n_kv + FL_ATTN_TILE - 1) / FL_ATTN_TILE;
        int64_t nkv_alloc = n_tiles > 0 ? n_tiles * FL_ATTN_TILE : 1;
        int64_t nq_el = c->n_q * c->n_head * c->dk, no_el = c->n_q * c->n_head * c->dv;
        float *q = falloc(nq_el), *ref = falloc(no_el), *y = falloc(no_el);
        double *dref = malloc((size_t)no_el * sizeof(double));
        size_t esz = c->kvt ? 2 : 4;
        void *k = malloc((size_t)(nkv_alloc * stride) * esz), *v = malloc((size_t)(nkv_alloc * stride) * esz);
        int32_t *pos_q = malloc((size_t)c->n_q * sizeof(int32_t));
        int32_t *pos_k = malloc((size_t)nkv_alloc * sizeof(int32_t));
        /* |q| up to 3 sharpens the softmax so that max tracking matters */
        fill(q, nq_el, -3, 3);
        for (int64_t i = 0; i < nkv_alloc * stride; i++) {
            float a = frand(-1, 1), b = frand(-1, 1);
            if (c->kvt == 1) ((uint16_t *)k)[i] = fl_f32_to_f16(a), ((uint16_t *)v)[i] = fl_f32_to_f16(b);
            else if (c->kvt == 2) ((uint16_t *)k)[i] = fl_f32_to_bf16(a), ((uint16_t *)v)[i] = fl_f32_to_bf16(b);
            else ((float *)k)[i] = a, ((float *)v)[i] = b;
        }
        for (int64_t j = 0; j < nkv_alloc; j++) pos_k[j] = j < c->n_kv ? (int32_t)j : -1;
        for (int64_t i = 0; i < c->n_q; i++) pos_q[i] = (int32_t)(c->n_kv - c->n_q + i);
        if (c->layout == 1) { /* ring buffer: rotate, shuffle a little, and leave holes (garbage in them) */
            int64_t shift = c->n_kv / 3;
            for (int64_t j = 0; j < c->n_kv; j++) pos_k[j] = (int32_t)((j + shift) % c->n_kv);
            for (int64_t j = 0; j + 1 < c->n_kv; j += 7) {
                int32_t t = pos_k[j];
                pos_k[j] = pos_k[j + 1], pos_k[j + 1] = t;
            }
            for (int64_t j = 3; j < c->n_kv; j += 11) {
                pos_k[j] = -1;
                for (int64_t t = 0; t < row; t++) { /* an empty row may hold anything */
                    if (c->kvt) ((uint16_t *)v)[j * stride + t] = 0x7fc0; /* NaN in F16 and BF16 */
                    else ((float *)v)[j * stride + t] = NAN;
                }
            }
        }
        if (c->layout == 2)
            for (int64_t j = 0; j < c->n_kv; j++) pos_k[j] = (int32_t)(1000 + j);
        fl_attn_params p = {.n_head = c->n_head, .n_head_kv = c->n_head_kv, .head_dim_k = c->dk, .head_dim_v = c->dv,
                            .scale = 1.0f / sqrtf((float)c->dk), .softcap = c->softcap, .window = c->window,
                            .kv_type = c->kvt == 1 ? FLINT_TYPE_F16 : c->kvt == 2 ? FLINT_TYPE_BF16 : FLINT_TYPE_F32};
        /* ring layouts also hand the tiles over in reverse order */
        fl_kv_tile *tiles = malloc((size_t)(n_tiles > 0 ? n_tiles : 1) * sizeof *tiles);
        for (int64_t t = 0; t < n_tiles; t++) {
            int64_t src = c->layout == 1 ? n_tiles - 1 - t : t;
            tiles[t] = (fl_kv_tile){(const uint8_t *)k + src * FL_ATTN_TILE * stride * (int64_t)esz,
                                    (const uint8_t *)v + src * FL_ATTN_TILE * stride * (int64_t)esz,
                                    pos_k + src * FL_ATTN_TILE};
        }
        attn_ref(c, &p, dref, q, pos_q, k, v, pos_k, n_tiles * FL_ATTN_TILE, stride);
        flint_status st =
            backends[0]->ops->attention(backends[0], &p, ref, q, pos_q, c->n_q, tiles, n_tiles, stride);
        CHECK_MSG(st == FLINT_OK, "case %zu: %s", ci, flint_errmsg());
        /* Scalar vs double: f32 dot products of dk terms (|q| <= 3, |k| <= 1:
         * error ~sqrt(dk) 2^-24 |q||k| in the score, ~1e-6 after the scale),
         * f32 exp and running sums; the output is a convex mix of |v| <= 1,
         * so an absolute bound: 2e-5. */
        double e = err_ratio(ref, dref, no_el, 0, 2e-5);
        CHECK_MSG(e <= 1, "case %zu scalar vs double: error ratio %g", ci, e);
        if (c->layout == 2 || c->n_kv == 0) {
            int zeros = 1;
            for (int64_t i = 0; i < no_el; i++) zeros &= ref[i] == 0.0f;
            CHECK_MSG(zeros, "case %zu: no visible key must give zeros", ci);
        }
        /* SIMD vs scalar: reassociated dot products and the polynomial exp
         * (~2 ulp): absolute 1e-5 on outputs bounded by 1 */
        for (int bi = 1; bi < n_backends; bi++) {
            memset(y, 0xff, (size_t)no_el * sizeof(float)); /* NaN: every output must be written */
            st = backends[bi]->ops->attention(backends[bi], &p, y, q, pos_q, c->n_q, tiles, n_tiles, stride);
            CHECK_MSG(st == FLINT_OK, "%s case %zu: %s", fl_cpu_isa_name(isas[bi]), ci, flint_errmsg());
            e = err_ratio_f(y, ref, no_el, 0, 1e-5);
            CHECK_MSG(e <= 1, "%s case %zu: error ratio %g", fl_cpu_isa_name(isas[bi]), ci, e);
        }
        free(q), free(ref), free(y), free(dref), free(k), free(v), free(pos_q), free(pos_k), free(tiles);
    }

    TEST_GROUP("attention_args");
    float q[64 * 64] = {0}, out[64];
    int32_t pq = 0, pk[64] = {0};
    fl_kv_tile one = {q, q, pk}, none = {q, NULL, pk};
    fl_attn_params bad = {.n_head = 6, .n_head_kv = 4, .head_dim_k = 8, .head_dim_v = 8, .scale = 1,
                          .kv_type = FLINT_TYPE_F32};
    CHECK_FAILS(backends[0]->ops->attention(backends[0], &bad, out, q, &pq, 1, &one, 1, 64),
                FLINT_E_INVALID_ARG, "query heads");
    bad.n_head_kv = 2;
    bad.kv_type = FLINT_TYPE_Q8_0;
    CHECK_FAILS(backends[0]->ops->attention(backends[0], &bad, out, q, &pq, 1, &one, 1, 64),
                FLINT_E_UNSUPPORTED, "KV cache type");
    bad.kv_type = FLINT_TYPE_F32;
    CHECK_FAILS(backends[0]->ops->attention(backends[0], &bad, out, q, &pq, 1, &one, 1, 8),
                FLINT_E_INVALID_ARG, "kv_stride");
    CHECK_FAILS(backends[0]->ops->attention(backends[0], &bad, out, q, &pq, 1, &none, 1, 64),
                FLINT_E_INVALID_ARG, "key tile 0");
}

/* ---------------- ISA selection ---------------- */

static void test_isa(void) {
    TEST_GROUP("isa");
    CHECK(fl_cpu_has_isa(FL_ISA_SCALAR));
    CHECK_STR_EQ(fl_cpu_isa_name(FL_ISA_AVX512), "avx512");
    fl_backend *be = NULL;
#if defined(__x86_64__)
    CHECK_FAILS(fl_cpu_backend_create(1, FL_ISA_NEON, &be), FLINT_E_UNSUPPORTED, "neon");
    CHECK(be == NULL);
#endif
    const char *old = getenv("FLINT_ISA");
    char saved[32] = {0};
    if (old) snprintf(saved, sizeof saved, "%s", old);
    setenv("FLINT_ISA", "scalar", 1);
    CHECK_INT_EQ(fl_cpu_best_isa(), FL_ISA_SCALAR);
    if (fl_cpu_has_isa(FL_ISA_AVX2)) {
        setenv("FLINT_ISA", "avx2", 1);
        CHECK_INT_EQ(fl_cpu_best_isa(), FL_ISA_AVX2);
    }
    if (fl_cpu_has_isa(FL_ISA_AVX512)) {
        setenv("FLINT_ISA", "avx512", 1); /* AVX-512 without AMX */
        CHECK_INT_EQ(fl_cpu_best_isa(), FL_ISA_AVX512);
        setenv("FLINT_ISA", "amx", 1);
        CHECK_INT_EQ(fl_cpu_best_isa(), fl_cpu_has_isa(FL_ISA_AMX) ? FL_ISA_AMX : FL_ISA_AVX512);
    }
    unsetenv("FLINT_ISA");
    fl_cpu_isa best = fl_cpu_best_isa();
    CHECK(fl_cpu_has_isa(best));
    if (fl_cpu_has_isa(FL_ISA_AVX512)) CHECK_INT_EQ(best, fl_cpu_has_isa(FL_ISA_AMX) ? FL_ISA_AMX : FL_ISA_AVX512);
    CHECK_STR_EQ(fl_cpu_isa_name(FL_ISA_AMX), "amx");
    if (!fl_cpu_has_isa(FL_ISA_AMX)) CHECK_FAILS(fl_cpu_backend_create(1, FL_ISA_AMX, &be), FLINT_E_UNSUPPORTED, "amx");
    if (old) setenv("FLINT_ISA", saved, 1);
    CHECK(fl_cpu_backend_create(0, FL_ISA_AUTO, &be) == FLINT_OK && be);
    if (be) {
        CHECK_STR_EQ(be->ops->name, "cpu");
        be->ops->free(be);
    }
}

/* The gated delta rule in double precision, token by token, as MODELS.md
 * §5.4 states it (state S[i][c], i < d_k, c < d_v). */
static void delta_ref(const fl_delta_params *p, double *out, const float *q, const float *k, const float *v,
                      const float *a, const float *b, double *S, int64_t n) {
    const int64_t dk = p->d_k, dv = p->d_v;
    double *kS = malloc((size_t)dv * sizeof *kS);
    for (int64_t t = 0; t < n; t++)
        for (int32_t j = 0; j < p->n_v_heads; j++) {
            int32_t kh = p->tiled ? j % p->n_k_heads : j / (p->n_v_heads / p->n_k_heads);
            const float *qt = q + (t * p->n_k_heads + kh) * dk, *kt = k + (t * p->n_k_heads + kh) * dk;
            const float *vt = v + (t * p->n_v_heads + j) * dv;
            double x = a[t * p->n_v_heads + j] + (double)p->dt_bias[j];
            double g = p->ssm_a[j] * (x > 20 ? x : log1p(exp(x))), beta = 1 / (1 + exp(-(double)b[t * p->n_v_heads + j]));
            double *Sj = S + (int64_t)j * dk * dv;
            for (int64_t i = 0; i < dk * dv; i++) Sj[i] *= exp(g);
            for (int64_t c = 0; c < dv; c++) {
                kS[c] = 0;
                for (int64_t i = 0; i < dk; i++) kS[c] += kt[i] * Sj[i * dv + c];
            }
            for (int64_t i = 0; i < dk; i++)
                for (int64_t c = 0; c < dv; c++) Sj[i * dv + c] += kt[i] * beta * (vt[c] - kS[c]);
            for (int64_t c = 0; c < dv; c++) {
                double o = 0;
                for (int64_t i = 0; i < dk; i++) o += qt[i] * Sj[i * dv + c];
                out[(t * p->n_v_heads + j) * dv + c] = o;
            }
        }
    free(kS);
}

static void normalize_heads(float *x, int64_t rows, int64_t d, float scale) {
    for (int64_t r = 0; r < rows; r++) {
        double ss = 0;
        for (int64_t i = 0; i < d; i++) ss += (double)x[r * d + i] * x[r * d + i];
        for (int64_t i = 0; i < d; i++) x[r * d + i] = (float)(x[r * d + i] / sqrt(ss) * scale);
    }
}

static void test_delta_on(fl_backend *be);

/* Token by token (recurrence), one run of 150 (chunked, 64 + 64 + 22) and
 * a mix of runs, each against the double-precision recurrence, for both
 * value-head pairings, on every ISA; and the causal convolution against
 * its definition. */
static void test_delta(void) {
    TEST_GROUP("delta_rule");
    for (int bi = 0; bi < n_backends; bi++) test_delta_on(backends[bi]);
}

static void test_delta_on(fl_backend *be) {
    const int64_t n = 150, nk = 2, nv = 4, dk = 16, dv = 24;
    float *q = falloc(n * nk * dk), *k = falloc(n * nk * dk), *v = falloc(n * nv * dv), *a = falloc(n * nv);
    float *b = falloc(n * nv), *out = falloc(n * nv * dv), *state = falloc(nv * dk * dv);
    float ssm_a[4], dt_bias[4];
    double *ref = malloc((size_t)(n * nv * dv) * sizeof *ref), *S = malloc((size_t)(nv * dk * dv) * sizeof *S);
    fill(q, n * nk * dk, -1, 1);
    fill(k, n * nk * dk, -1, 1);
    fill(v, n * nv * dv, -2, 2);
    fill(a, n * nv, -4, 3);
    fill(b, n * nv, -3, 3);
    fill(dt_bias, nv, -1, 1);
    fill(ssm_a, nv, -6, -0.5f);
    normalize_heads(q, n * nk, dk, 1.0f / sqrtf((float)dk));
    normalize_heads(k, n * nk, dk, 1.0f);
    static const int64_t runs[3][4] = {{1, 0}, {150, 0}, {37, 1, 64, 48}};
    for (int tiled = 0; tiled < 2; tiled++) {
        fl_delta_params p = {.n_k_heads = nk, .n_v_heads = nv, .d_k = dk, .d_v = dv, .tiled = tiled,
                             .ssm_a = ssm_a, .dt_bias = dt_bias};
        memset(S, 0, (size_t)(nv * dk * dv) * sizeof *S);
        delta_ref(&p, ref, q, k, v, a, b, S, n);
        double rmax = 0, smax = 0; /* the scales of the output and of the state */
        for (int64_t i = 0; i < n * nv * dv; i++) rmax = fmax(rmax, fabs(ref[i]));
        for (int64_t i = 0; i < nv * dk * dv; i++) smax = fmax(smax, fabs(S[i]));
        for (int r = 0; r < 3; r++) {
            memset(state, 0, (size_t)(nv * dk * dv) * sizeof *state);
            int64_t t = 0;
            for (int i = 0; t < n; i = (i + 1) % 4) {
                int64_t m = runs[r][i] ? runs[r][i] : runs[r][0];
                if (m > n - t) m = n - t;
                CHECK(be->ops->delta_rule(be, &p, out + t * nv * dv, q + t * nk * dk, k + t * nk * dk, v + t * nv * dv,
                                          a + t * nv, b + t * nv, state, m) == FLINT_OK);
                t += m;
            }
            double d = 0, ds = 0;
            for (int64_t i = 0; i < n * nv * dv; i++) d = fmax(d, fabs(out[i] - ref[i]));
            for (int64_t i = 0; i < nv * dk * dv; i++) ds = fmax(ds, fabs(state[i] - S[i]));
            CHECK_MSG(d <= 1e-5 * rmax && ds <= 1e-5 * smax,
                      "%s tiled %d runs %d: max|d| %.3g (max|ref| %.3g), state %.3g (max|S| %.3g)", be->ops->name, tiled,
                      r, d, rmax, ds, smax);
        }
    }
    fl_delta_params bad = {.n_k_heads = 3, .n_v_heads = 4, .d_k = 16, .d_v = 8, .ssm_a = ssm_a, .dt_bias = dt_bias};
    CHECK_FAILS(be->ops->delta_rule(be, &bad, out, q, k, v, a, b, state, 1), FLINT_E_INVALID_ARG, "value heads");

    TEST_GROUP("conv_silu");
    const int64_t C = 301; /* several tasks of 64 channels and a short last one; n x C reaches the pool */
    const int32_t K = 4;
    float w[301 * 4], st[3 * 301] = {0}, *x = falloc(n * C), *y = falloc(n * C);
    fill(w, C * K, -1, 1);
    fill(x, n * C, -2, 2);
    /* runs of 1, 2, 7 and the rest, carried through the state */
    static const int64_t conv_runs[4] = {1, 2, 7, 140};
    for (int64_t t = 0, i = 0; t < n; t += conv_runs[i++]) be->ops->conv_silu(be, y + t * C, x + t * C, w, st, conv_runs[i], C, K);
    double worst = 0;
    for (int64_t t = 0; t < n; t++)
        for (int64_t c = 0; c < C; c++) {
            double s = 0;
            for (int32_t j = 0; j < K; j++)
                if (t - (K - 1) + j >= 0) s += (double)w[c * K + j] * x[(t - (K - 1) + j) * C + c];
            worst = fmax(worst, fabs(y[t * C + c] - s / (1 + exp(-s))));
        }
    CHECK_MSG(worst < 1e-5, "conv_silu: max|d| %.3g", worst);
    for (int64_t c = 0; c < C; c++) CHECK(st[2 * C + c] == x[(n - 1) * C + c] && st[c] == x[(n - 3) * C + c]);
    free(q), free(k), free(v), free(a), free(b), free(out), free(state), free(ref), free(S), free(x), free(y);
}

/* copy_rows and store_rows move rows to strided / scattered places and
 * touch nothing else; store_rows rounds to F16 and BF16 to nearest even
 * (values whose halves and bfloat16s are written out here). */
static void test_row_moves(void) {
    TEST_GROUP("copy_rows");
    fl_backend *be = backends[0];
    float x[5 * 9], y[4 * 7];
    for (int i = 0; i < 5 * 9; i++) x[i] = (float)i;
    for (int i = 0; i < 4 * 7; i++) y[i] = -1;
    be->ops->copy_rows(be, y, 7, x + 2, 9, 4, 5); /* rows of 5 from column 2 of x[.][9] into y[.][7] */
    int bad = 0;
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < 7; i++) bad += y[r * 7 + i] != (i < 5 ? (float)(r * 9 + 2 + i) : -1.0f);
    CHECK_MSG(bad == 0, "%d misplaced values", bad);

    TEST_GROUP("store_rows");
    /* 1/3: f16 0x3555 (rounds down), bf16 0x3eab (rounds up); 65520 overflows f16 to inf; 1 + 2^-11 is a tie
     * (even: 0x3c00); -2.5 exact */
    const float v[4] = {1.0f / 3.0f, 65520.0f, 1.0f + 0x1p-11f, -2.5f};
    const uint16_t f16[4] = {0x3555, 0x7c00, 0x3c00, 0xc100}, bf16[4] = {0x3eab, 0x4780, 0x3f80, 0xc020};
    float rows[3][4];
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 4; i++) rows[r][i] = v[i] * (float)(1 << r);
    uint16_t h[3][6];
    float f[3][6];
    for (int t = 0; t < 3; t++) {
        const flint_type type = t == 0 ? FLINT_TYPE_F16 : t == 1 ? FLINT_TYPE_BF16 : FLINT_TYPE_F32;
        memset(h, 0xab, sizeof h), memset(f, 0, sizeof f);
        /* rows land in reverse order, one element in from each destination row's start */
        void *dst[3];
        for (int r = 0; r < 3; r++) dst[r] = t < 2 ? (void *)&h[2 - r][1] : (void *)&f[2 - r][1];
        be->ops->store_rows(be, type, dst, &rows[0][0], 1, 4); /* the first row alone */
        bad = 0;
        for (int i = 0; i < 4; i++)
            bad += t == 0 ? h[2][1 + i] != f16[i] : t == 1 ? h[2][1 + i] != bf16[i] : f[2][1 + i] != v[i];
        bad += t < 2 ? h[2][0] != 0xabab || h[2][5] != 0xabab || h[1][1] != 0xabab : f[1][1] != 0;
        CHECK_MSG(bad == 0, "type %d: %d wrong or touched values", t, bad);
        be->ops->store_rows(be, type, dst, &rows[0][0], 3, 4);
        bad = 0;
        for (int r = 0; r < 3; r++)
            for (int i = 0; i < 4; i++) {
                const float want = rows[r][i];
                bad += t == 0 ? h[2 - r][1 + i] != fl_f32_to_f16(want) : t == 1 ? h[2 - r][1 + i] != fl_f32_to_bf16(want)
                                                                                : f[2 - r][1 + i] != want;
            }
        CHECK_MSG(bad == 0, "type %d: %d rows misplaced", t, bad);
    }
}

int main(void) {
    static const fl_cpu_isa all[] = {FL_ISA_SCALAR, FL_ISA_AVX2, FL_ISA_AVX512, FL_ISA_NEON};
    for (size_t i = 0; i < 4; i++) {
        if (!fl_cpu_has_isa(all[i])) continue;
        fl_backend *be = NULL;
        flint_status st = fl_cpu_backend_create(N_THREADS, all[i], &be);
        CHECK_MSG(st == FLINT_OK, "create %s: %s", fl_cpu_isa_name(all[i]), flint_errmsg());
        if (st != FLINT_OK) continue;
        backends[n_backends] = be;
        isas[n_backends++] = all[i];
        printf("test_cpu_ops: testing %s\n", fl_cpu_isa_name(all[i]));
    }
    if (n_backends > 0 && isas[0] == FL_ISA_SCALAR) {
        test_isa();
        test_elementwise();
        test_rows();
        test_rope();
        test_attention();
        test_delta();
        test_row_moves();
    }
    for (int i = 0; i < n_backends; i++) backends[i]->ops->free(backends[i]);
    return test_finish("test_cpu_ops");
}
