/* ops_scalar.c — the scalar reference kernels of the CPU backend (ops.h):
 * plain, readable C that every SIMD table is tested against. Runs on any
 * CPU. Numerics are chosen to be accurate, not fast: sums of squares in
 * double, GELU-tanh in its sigmoid form (no cancellation for x << 0). */
#include <math.h>

#include "cpu/ops.h"
#include "quant/dequant.h"

/* gelu_tanh(x) = 0.5 x (1 + tanh(u)) = x * sigmoid(2u) = x / (1 + exp(-2u)),
 * u = sqrt(2/pi) (x + 0.044715 x^3); the last form keeps full relative
 * accuracy where 1 + tanh(u) would cancel. */
static float act1(fl_act act, float x) {
    if (act == FL_ACT_GELU_TANH) {
        float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        return x / (1.0f + expf(-2.0f * u));
    }
    return (act == FL_ACT_SIGMOID ? 1.0f : x) / (1.0f + expf(-x));
}

static void act_scalar(fl_act act, float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = act1(act, x[i]);
}

static void gated_scalar(fl_act act, float *y, const float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = act1(act, g[i]) * u[i];
}

static void add_scalar(float *y, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

static void mul_scalar(float *y, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] * b[i];
}

static void scale_scalar(float *y, const float *x, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * s;
}

static void rmsnorm_row_scalar(float *y, const float *x, const float *w, int64_t dim, float eps) {
    double ss = 0;
    for (int64_t i = 0; i < dim; i++) ss += (double)x[i] * x[i];
    float r = (float)(1.0 / sqrt(ss / (double)dim + eps));
    for (int64_t i = 0; i < dim; i++) y[i] = w ? x[i] * r * w[i] : x[i] * r;
}

static void softmax_row_scalar(float *x, int64_t n) {
    float m = x[0];
    for (int64_t i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
    float sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (x[i] = expf(x[i] - m));
    float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

static void rope_pairs_scalar(float *x0, float *x1, const float *cs, const float *sn, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float a = x0[i], b = x1[i];
        x0[i] = a * cs[i] - b * sn[i];
        x1[i] = a * sn[i] + b * cs[i];
    }
}

static void f16_to_f32_scalar(float *y, const uint16_t *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = fl_f16_to_f32(x[i]);
}

static void attn_scores_scalar(float *s, int64_t lds, const float *q, int64_t nr, const float *k, int64_t ldk,
                               int64_t nk, int64_t d) {
    for (int64_t r = 0; r < nr; r++)
        for (int64_t j = 0; j < nk; j++) {
            float acc = 0;
            for (int64_t c = 0; c < d; c++) acc += q[r * d + c] * k[j * ldk + c];
            s[r * lds + j] = acc;
        }
}

static void attn_softcap_scalar(float *x, int64_t n, float cap) {
    for (int64_t i = 0; i < n; i++) x[i] = cap * tanhf(x[i] / cap);
}

static float attn_exp_scalar(float *x, int64_t n, float m) {
    float sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (x[i] = expf(x[i] - m));
    return sum;
}

static void attn_accum_scalar(float *o, int64_t ldo, const float *p, int64_t ldp, int64_t nr, const float *v,
                              int64_t ldv, int64_t nk, int64_t dv) {
    for (int64_t r = 0; r < nr; r++)
        for (int64_t j = 0; j < nk; j++) {
            float pj = p[r * ldp + j];
            if (pj == 0.0f) continue;
            for (int64_t c = 0; c < dv; c++) o[r * ldo + c] += pj * v[j * ldv + c];
        }
}

static const fl_cpu_kernels kernels = {
    .isa = FL_ISA_SCALAR,
    .act = act_scalar,
    .gated = gated_scalar,
    .add = add_scalar,
    .mul = mul_scalar,
    .scale = scale_scalar,
    .rmsnorm_row = rmsnorm_row_scalar,
    .softmax_row = softmax_row_scalar,
    .rope_pairs = rope_pairs_scalar,
    .f16_to_f32 = f16_to_f32_scalar,
    .attn_scores = attn_scores_scalar,
    .attn_softcap = attn_softcap_scalar,
    .attn_exp = attn_exp_scalar,
    .attn_accum = attn_accum_scalar,
};

const fl_cpu_kernels *fl_cpu_kernels_scalar(void) { return &kernels; }
