/* ops_avx2.c — the AVX2 + FMA + F16C kernels of the CPU backend (ops.h):
 * 8 f32 lanes; tails through vmaskmov loads/stores (masked-off lanes do
 * not fault), so no scalar remainder loops. Compiled with -mavx2 -mfma
 * -mf16c (Makefile); only called when cpuid says the CPU has them. Off
 * x86-64 this file is a NULL stub.
 *
 * exp: the same Cephes-style reduction and degree-6 polynomial as the
 * AVX-512 file, 2^n built in the exponent bits; relative error ~2 ulp
 * (< 3e-7) over [-87.3, 88.4], exactly 0 below. SiLU / GELU-tanh are
 * x / (1 + exp(-z)); tanh (softcap only) is 1 - 2 / (exp(2y) + 1),
 * absolute error ~2e-7. */
#include "cpu/ops.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include <math.h>

#define W 8

static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* lanes [0, min(rem, 8)) set */
static inline __m256i tail_mask(int64_t rem) {
    return _mm256_loadu_si256((const __m256i *)(mask_table + 8 - (rem < W ? rem : W)));
}
static inline __m256 load_m(const float *p, __m256i m) { return _mm256_maskload_ps(p, m); }
static inline void store_m(float *p, __m256i m, __m256 v) { _mm256_maskstore_ps(p, m, v); }

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256 exp8(__m256 x) {
    __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3365447f), _CMP_LT_OQ);
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3365447f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 y = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* n in [-126, 127] after the clamps: a normal power of two */
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(under, y);
}

static inline __m256 act8(fl_act act, __m256 x) {
    __m256 z = x;
    if (act == FL_ACT_GELU_TANH) {
        __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
        z = _mm256_mul_ps(_mm256_set1_ps(2.0f * 0.7978845608028654f),
                          _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
    }
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), z));
    __m256 num = act == FL_ACT_SIGMOID ? _mm256_set1_ps(1.0f) : x;
    return _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

static void act_avx2(fl_act act, float *y, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) _mm256_storeu_ps(y + i, act8(act, _mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        store_m(y + i, m, act8(act, load_m(x + i, m)));
    }
}

static void gated_avx2(fl_act act, float *y, const float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(act8(act, _mm256_loadu_ps(g + i)), _mm256_loadu_ps(u + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        store_m(y + i, m, _mm256_mul_ps(act8(act, load_m(g + i, m)), load_m(u + i, m)));
    }
}

#define BINARY(name, OP)                                                                                  \
    static void name(float *y, const float *a, const float *b, int64_t n) {                               \
        int64_t i = 0;                                                                                    \
        for (; i + W <= n; i += W) _mm256_storeu_ps(y + i, OP(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i))); \
        if (i < n) {                                                                                      \
            __m256i m = tail_mask(n - i);                                                                 \
            store_m(y + i, m, OP(load_m(a + i, m), load_m(b + i, m)));                                    \
        }                                                                                                 \
    }
BINARY(add_avx2, _mm256_add_ps)
BINARY(mul_avx2, _mm256_mul_ps)

static void scale_avx2(float *y, const float *x, float s, int64_t n) {
    __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + W <= n; i += W) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        store_m(y + i, m, _mm256_mul_ps(load_m(x + i, m), vs));
    }
}

static void rmsnorm_row_avx2(float *y, const float *x, const float *w, int64_t dim, float eps) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 2 * W <= dim; i += 2 * W) {
        __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + W);
        a0 = _mm256_fmadd_ps(v0, v0, a0);
        a1 = _mm256_fmadd_ps(v1, v1, a1);
    }
    for (; i < dim; i += W) {
        __m256 v = load_m(x + i, tail_mask(dim - i));
        a0 = _mm256_fmadd_ps(v, v, a0);
    }
    float ss = hsum8(_mm256_add_ps(a0, a1));
    __m256 r = _mm256_set1_ps(1.0f / sqrtf(ss / (float)dim + eps));
    for (i = 0; i < dim; i += W) {
        __m256i m = tail_mask(dim - i);
        __m256 v = _mm256_mul_ps(load_m(x + i, m), r);
        if (w) v = _mm256_mul_ps(v, load_m(w + i, m));
        store_m(y + i, m, v);
    }
}

static float attn_exp_avx2(float *x, int64_t n, float m) {
    __m256 vm = _mm256_set1_ps(m), sum = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += W) {
        __m256i k = tail_mask(n - i);
        __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(load_m(x + i, k), vm)), _mm256_castsi256_ps(k));
        store_m(x + i, k, e);
        sum = _mm256_add_ps(sum, e);
    }
    return hsum8(sum);
}

static void softmax_row_avx2(float *x, int64_t n) {
    __m256 ninf = _mm256_set1_ps(-INFINITY), vmax = ninf;
    for (int64_t i = 0; i < n; i += W) {
        __m256i k = tail_mask(n - i);
        vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(ninf, load_m(x + i, k), _mm256_castsi256_ps(k)));
    }
    float sum = attn_exp_avx2(x, n, hmax8(vmax));
    scale_avx2(x, x, 1.0f / sum, n);
}

static void rope_pairs_avx2(float *x0, float *x1, const float *cs, const float *sn, int64_t n) {
    for (int64_t i = 0; i < n; i += W) {
        __m256i k = tail_mask(n - i);
        __m256 a = load_m(x0 + i, k), b = load_m(x1 + i, k), c = load_m(cs + i, k), s = load_m(sn + i, k);
        store_m(x0 + i, k, _mm256_fmsub_ps(a, c, _mm256_mul_ps(b, s)));
        store_m(x1 + i, k, _mm256_fmadd_ps(a, s, _mm256_mul_ps(b, c)));
    }
}

static void f16_to_f32_avx2(float *y, const uint16_t *x, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    if (i < n) {
        uint16_t tmp[W] = {0};
        for (int64_t t = 0; t < n - i; t++) tmp[t] = x[i + t];
        store_m(y + i, tail_mask(n - i), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)tmp)));
    }
}

/* the four horizontal sums of a0..a3, in lanes 0..3 */
static inline __m128 hsum4x8(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* 2 rows x 4 keys per step (8 accumulators, 6 loads per 8 FMAs); the 8
 * dot products are reduced together at the end */
static void attn_scores_avx2(float *s, int64_t lds, const float *q, int64_t nr, const float *k, int64_t ldk,
                             int64_t nk, int64_t d) {
    const int64_t dfull = d / W * W;
    const __m256i mt = tail_mask(d - dfull);
    int64_t r = 0;
    for (; r + 2 <= nr; r += 2) {
        const float *q0 = q + r * d, *q1 = q0 + d;
        int64_t j = 0;
        for (; j + 4 <= nk; j += 4) {
            const float *k0 = k + j * ldk, *k1 = k0 + ldk, *k2 = k1 + ldk, *k3 = k2 + ldk;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            int64_t c = 0;
            for (; c < dfull; c += W) {
                __m256 x0 = _mm256_loadu_ps(q0 + c), x1 = _mm256_loadu_ps(q1 + c), v;
                v = _mm256_loadu_ps(k0 + c), a0 = _mm256_fmadd_ps(x0, v, a0), b0 = _mm256_fmadd_ps(x1, v, b0);
                v = _mm256_loadu_ps(k1 + c), a1 = _mm256_fmadd_ps(x0, v, a1), b1 = _mm256_fmadd_ps(x1, v, b1);
                v = _mm256_loadu_ps(k2 + c), a2 = _mm256_fmadd_ps(x0, v, a2), b2 = _mm256_fmadd_ps(x1, v, b2);
                v = _mm256_loadu_ps(k3 + c), a3 = _mm256_fmadd_ps(x0, v, a3), b3 = _mm256_fmadd_ps(x1, v, b3);
            }
            if (c < d) {
                __m256 x0 = load_m(q0 + c, mt), x1 = load_m(q1 + c, mt), v;
                v = load_m(k0 + c, mt), a0 = _mm256_fmadd_ps(x0, v, a0), b0 = _mm256_fmadd_ps(x1, v, b0);
                v = load_m(k1 + c, mt), a1 = _mm256_fmadd_ps(x0, v, a1), b1 = _mm256_fmadd_ps(x1, v, b1);
                v = load_m(k2 + c, mt), a2 = _mm256_fmadd_ps(x0, v, a2), b2 = _mm256_fmadd_ps(x1, v, b2);
                v = load_m(k3 + c, mt), a3 = _mm256_fmadd_ps(x0, v, a3), b3 = _mm256_fmadd_ps(x1, v, b3);
            }
            _mm_storeu_ps(s + r * lds + j, hsum4x8(a0, a1, a2, a3));
            _mm_storeu_ps(s + (r + 1) * lds + j, hsum4x8(b0, b1, b2, b3));
        }
        for (; j < nk; j++) {
            const float *kj = k + j * ldk;
            __m256 a = _mm256_setzero_ps(), b = a;
            for (int64_t c = 0; c < d; c += W) {
                __m256i m = tail_mask(d - c);
                __m256 v = load_m(kj + c, m);
                a = _mm256_fmadd_ps(load_m(q0 + c, m), v, a);
                b = _mm256_fmadd_ps(load_m(q1 + c, m), v, b);
            }
            s[r * lds + j] = hsum8(a);
            s[(r + 1) * lds + j] = hsum8(b);
        }
    }
    for (; r < nr; r++) {
        const float *qr = q + r * d;
        int64_t j = 0;
        for (; j + 4 <= nk; j += 4) {
            const float *k0 = k + j * ldk, *k1 = k0 + ldk, *k2 = k1 + ldk, *k3 = k2 + ldk;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            int64_t c = 0;
            for (; c < dfull; c += W) {
                __m256 vq = _mm256_loadu_ps(qr + c);
                a0 = _mm256_fmadd_ps(vq, _mm256_loadu_ps(k0 + c), a0);
                a1 = _mm256_fmadd_ps(vq, _mm256_loadu_ps(k1 + c), a1);
                a2 = _mm256_fmadd_ps(vq, _mm256_loadu_ps(k2 + c), a2);
                a3 = _mm256_fmadd_ps(vq, _mm256_loadu_ps(k3 + c), a3);
            }
            if (c < d) {
                __m256 vq = load_m(qr + c, mt);
                a0 = _mm256_fmadd_ps(vq, load_m(k0 + c, mt), a0);
                a1 = _mm256_fmadd_ps(vq, load_m(k1 + c, mt), a1);
                a2 = _mm256_fmadd_ps(vq, load_m(k2 + c, mt), a2);
                a3 = _mm256_fmadd_ps(vq, load_m(k3 + c, mt), a3);
            }
            _mm_storeu_ps(s + r * lds + j, hsum4x8(a0, a1, a2, a3));
        }
        for (; j < nk; j++) {
            const float *kj = k + j * ldk;
            __m256 a = _mm256_setzero_ps();
            for (int64_t c = 0; c < d; c += W) {
                __m256i m = tail_mask(d - c);
                a = _mm256_fmadd_ps(load_m(qr + c, m), load_m(kj + c, m), a);
            }
            s[r * lds + j] = hsum8(a);
        }
    }
}

static void attn_softcap_avx2(float *x, int64_t n, float cap) {
    __m256 vc = _mm256_set1_ps(cap), two_over = _mm256_set1_ps(2.0f / cap), one = _mm256_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += W) {
        __m256i k = tail_mask(n - i);
        __m256 e = exp8(_mm256_mul_ps(load_m(x + i, k), two_over));
        __m256 t = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
        store_m(x + i, k, _mm256_mul_ps(vc, t));
    }
}

static void attn_accum_avx2(float *o, int64_t ldo, const float *p, int64_t ldp, int64_t nr, const float *v,
                            int64_t ldv, int64_t nk, int64_t dv) {
    for (int64_t r = 0; r < nr; r++) {
        float *orow = o + r * ldo;
        const float *prow = p + r * ldp;
        int64_t c = 0;
        for (; c + 4 * W <= dv; c += 4 * W) { /* 32 columns held in registers across the keys */
            __m256 a0 = _mm256_loadu_ps(orow + c), a1 = _mm256_loadu_ps(orow + c + W);
            __m256 a2 = _mm256_loadu_ps(orow + c + 2 * W), a3 = _mm256_loadu_ps(orow + c + 3 * W);
            for (int64_t j = 0; j < nk; j++) {
                if (prow[j] == 0.0f) continue;
                __m256 pj = _mm256_set1_ps(prow[j]);
                const float *vj = v + j * ldv + c;
                a0 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj), a0);
                a1 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + W), a1);
                a2 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 2 * W), a2);
                a3 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 3 * W), a3);
            }
            _mm256_storeu_ps(orow + c, a0);
            _mm256_storeu_ps(orow + c + W, a1);
            _mm256_storeu_ps(orow + c + 2 * W, a2);
            _mm256_storeu_ps(orow + c + 3 * W, a3);
        }
        for (; c < dv; c += W) {
            __m256i m = tail_mask(dv - c);
            __m256 a = load_m(orow + c, m);
            for (int64_t j = 0; j < nk; j++) {
                if (prow[j] == 0.0f) continue;
                a = _mm256_fmadd_ps(_mm256_set1_ps(prow[j]), load_m(v + j * ldv + c, m), a);
            }
            store_m(orow + c, m, a);
        }
    }
}

static const fl_cpu_kernels kernels = {
    .isa = FL_ISA_AVX2,
    .act = act_avx2,
    .gated = gated_avx2,
    .add = add_avx2,
    .mul = mul_avx2,
    .scale = scale_avx2,
    .rmsnorm_row = rmsnorm_row_avx2,
    .softmax_row = softmax_row_avx2,
    .rope_pairs = rope_pairs_avx2,
    .f16_to_f32 = f16_to_f32_avx2,
    .attn_scores = attn_scores_avx2,
    .attn_softcap = attn_softcap_avx2,
    .attn_exp = attn_exp_avx2,
    .attn_accum = attn_accum_avx2,
};

const fl_cpu_kernels *fl_cpu_kernels_avx2(void) { return &kernels; }

#else
const fl_cpu_kernels *fl_cpu_kernels_avx2(void) { return 0; }
#endif
