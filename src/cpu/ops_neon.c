/* ops_neon.c — the aarch64 NEON kernels of the CPU backend (ops.h): 4 f32
 * lanes with scalar tails. Compiles to a NULL stub off aarch64 (`make
 * neon-check` cross-compiles it; it cannot run on the x86 build machine,
 * so it is written plainly and mirrors the AVX2 file kernel for kernel).
 * exp: the same Cephes-style reduction and polynomial as the x86 files
 * (relative error ~2 ulp, exactly 0 below -87.3). */
#include "cpu/ops.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#include <math.h>

#include "quant/dequant.h"

#define W 4

static inline float32x4_t exp4(float32x4_t x) {
    uint32x4_t under = vcltq_f32(x, vdupq_n_f32(-87.3365447f));
    x = vminq_f32(x, vdupq_n_f32(88.3762626f));
    x = vmaxq_f32(x, vdupq_n_f32(-87.3365447f));
    float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    float32x4_t y = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
    int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    y = vmulq_f32(y, vreinterpretq_f32_s32(e));
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(y), under));
}

static inline float act1(fl_act act, float x) {
    if (act == FL_ACT_GELU_TANH) {
        float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        return x / (1.0f + expf(-2.0f * u));
    }
    return (act == FL_ACT_SIGMOID ? 1.0f : x) / (1.0f + expf(-x));
}

static inline float32x4_t act4(fl_act act, float32x4_t x) {
    float32x4_t z = x;
    if (act == FL_ACT_GELU_TANH) {
        float32x4_t x3 = vmulq_f32(vmulq_f32(x, x), x);
        z = vmulq_n_f32(vfmaq_n_f32(x, x3, 0.044715f), 2.0f * 0.7978845608028654f);
    }
    float32x4_t num = act == FL_ACT_SIGMOID ? vdupq_n_f32(1.0f) : x;
    return vdivq_f32(num, vaddq_f32(vdupq_n_f32(1.0f), exp4(vnegq_f32(z))));
}

static void act_neon(fl_act act, float *y, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) vst1q_f32(y + i, act4(act, vld1q_f32(x + i)));
    for (; i < n; i++) y[i] = act1(act, x[i]);
}

static void gated_neon(fl_act act, float *y, const float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) vst1q_f32(y + i, vmulq_f32(act4(act, vld1q_f32(g + i)), vld1q_f32(u + i)));
    for (; i < n; i++) y[i] = act1(act, g[i]) * u[i];
}

static void add_neon(float *y, const float *a, const float *b, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) vst1q_f32(y + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    for (; i < n; i++) y[i] = a[i] + b[i];
}

static void mul_neon(float *y, const float *a, const float *b, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) vst1q_f32(y + i, vmulq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    for (; i < n; i++) y[i] = a[i] * b[i];
}

static void scale_neon(float *y, const float *x, float s, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(x + i), s));
    for (; i < n; i++) y[i] = x[i] * s;
}

static void rmsnorm_row_neon(float *y, const float *x, const float *w, int64_t dim, float eps) {
    float32x4_t a0 = vdupq_n_f32(0), a1 = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 2 * W <= dim; i += 2 * W) {
        float32x4_t v0 = vld1q_f32(x + i), v1 = vld1q_f32(x + i + W);
        a0 = vfmaq_f32(a0, v0, v0);
        a1 = vfmaq_f32(a1, v1, v1);
    }
    float ss = vaddvq_f32(vaddq_f32(a0, a1));
    for (; i < dim; i++) ss += x[i] * x[i];
    float r = 1.0f / sqrtf(ss / (float)dim + eps);
    for (i = 0; i + W <= dim; i += W) {
        float32x4_t v = vmulq_n_f32(vld1q_f32(x + i), r);
        if (w) v = vmulq_f32(v, vld1q_f32(w + i));
        vst1q_f32(y + i, v);
    }
    for (; i < dim; i++) y[i] = w ? x[i] * r * w[i] : x[i] * r;
}

static float attn_exp_neon(float *x, int64_t n, float m) {
    float32x4_t sum = vdupq_n_f32(0), vm = vdupq_n_f32(m);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        float32x4_t e = exp4(vsubq_f32(vld1q_f32(x + i), vm));
        vst1q_f32(x + i, e);
        sum = vaddq_f32(sum, e);
    }
    float s = vaddvq_f32(sum);
    for (; i < n; i++) s += (x[i] = expf(x[i] - m));
    return s;
}

static void softmax_row_neon(float *x, int64_t n) {
    float m = x[0];
    int64_t i = 0;
    if (n >= W) {
        float32x4_t vmax = vld1q_f32(x);
        for (i = W; i + W <= n; i += W) vmax = vmaxq_f32(vmax, vld1q_f32(x + i));
        m = vmaxvq_f32(vmax);
    }
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    float sum = attn_exp_neon(x, n, m);
    scale_neon(x, x, 1.0f / sum, n);
}

static void rope_pairs_neon(float *x0, float *x1, const float *cs, const float *sn, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        float32x4_t a = vld1q_f32(x0 + i), b = vld1q_f32(x1 + i), c = vld1q_f32(cs + i), s = vld1q_f32(sn + i);
        vst1q_f32(x0 + i, vfmsq_f32(vmulq_f32(a, c), b, s));
        vst1q_f32(x1 + i, vfmaq_f32(vmulq_f32(b, c), a, s));
    }
    for (; i < n; i++) {
        float a = x0[i], b = x1[i];
        x0[i] = a * cs[i] - b * sn[i];
        x1[i] = a * sn[i] + b * cs[i];
    }
}

static void f16_to_f32_neon(float *y, const uint16_t *x, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) vst1q_f32(y + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(x + i))));
    for (; i < n; i++) y[i] = fl_f16_to_f32(x[i]);
}

static inline float dot_neon(const float *a, const float *b, int64_t d) {
    float32x4_t acc = vdupq_n_f32(0);
    int64_t c = 0;
    for (; c + W <= d; c += W) acc = vfmaq_f32(acc, vld1q_f32(a + c), vld1q_f32(b + c));
    float s = vaddvq_f32(acc);
    for (; c < d; c++) s += a[c] * b[c];
    return s;
}

static void attn_scores_neon(float *s, int64_t lds, const float *q, int64_t nr, const float *k, int64_t ldk,
                             int64_t nk, int64_t d) {
    for (int64_t r = 0; r < nr; r++)
        for (int64_t j = 0; j < nk; j++) s[r * lds + j] = dot_neon(q + r * d, k + j * ldk, d);
}

static void attn_softcap_neon(float *x, int64_t n, float cap) {
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        float32x4_t e = exp4(vmulq_n_f32(vld1q_f32(x + i), 2.0f / cap));
        float32x4_t t = vsubq_f32(vdupq_n_f32(1.0f), vdivq_f32(vdupq_n_f32(2.0f), vaddq_f32(e, vdupq_n_f32(1.0f))));
        vst1q_f32(x + i, vmulq_n_f32(t, cap));
    }
    for (; i < n; i++) x[i] = cap * tanhf(x[i] / cap);
}

static void attn_accum_neon(float *o, int64_t ldo, const float *p, int64_t ldp, int64_t nr, const float *v,
                            int64_t ldv, int64_t nk, int64_t dv) {
    for (int64_t r = 0; r < nr; r++) {
        float *orow = o + r * ldo;
        const float *prow = p + r * ldp;
        int64_t c = 0;
        for (; c + 4 * W <= dv; c += 4 * W) {
            float32x4_t a0 = vld1q_f32(orow + c), a1 = vld1q_f32(orow + c + W);
            float32x4_t a2 = vld1q_f32(orow + c + 2 * W), a3 = vld1q_f32(orow + c + 3 * W);
            for (int64_t j = 0; j < nk; j++) {
                float pj = prow[j];
                if (pj == 0.0f) continue;
                const float *vj = v + j * ldv + c;
                a0 = vfmaq_n_f32(a0, vld1q_f32(vj), pj);
                a1 = vfmaq_n_f32(a1, vld1q_f32(vj + W), pj);
                a2 = vfmaq_n_f32(a2, vld1q_f32(vj + 2 * W), pj);
                a3 = vfmaq_n_f32(a3, vld1q_f32(vj + 3 * W), pj);
            }
            vst1q_f32(orow + c, a0);
            vst1q_f32(orow + c + W, a1);
            vst1q_f32(orow + c + 2 * W, a2);
            vst1q_f32(orow + c + 3 * W, a3);
        }
        for (; c < dv; c++) {
            float a = orow[c];
            for (int64_t j = 0; j < nk; j++)
                if (prow[j] != 0.0f) a += prow[j] * v[j * ldv + c];
            orow[c] = a;
        }
    }
}

static const fl_cpu_kernels kernels = {
    .isa = FL_ISA_NEON,
    .act = act_neon,
    .gated = gated_neon,
    .add = add_neon,
    .mul = mul_neon,
    .scale = scale_neon,
    .rmsnorm_row = rmsnorm_row_neon,
    .softmax_row = softmax_row_neon,
    .rope_pairs = rope_pairs_neon,
    .f16_to_f32 = f16_to_f32_neon,
    .attn_scores = attn_scores_neon,
    .attn_softcap = attn_softcap_neon,
    .attn_exp = attn_exp_neon,
    .attn_accum = attn_accum_neon,
};

const fl_cpu_kernels *fl_cpu_kernels_neon(void) { return &kernels; }

#else
const fl_cpu_kernels *fl_cpu_kernels_neon(void) { return 0; }
#endif
