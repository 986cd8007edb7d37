/* ops_avx512.c — the AVX-512 kernels of the CPU backend (ops.h): 16 f32
 * lanes, masked loads/stores for tails (no scalar remainder loops).
 * Compiled with -mavx512f/bw/vl/dq (Makefile); only called when cpuid says
 * the CPU has them. Off x86-64 this file is a NULL stub.
 *
 * exp: Cephes-style range reduction (n = round(x log2 e), r = x - n ln2 in
 * two parts), degree-6 polynomial, scalef by 2^n; relative error ~2 ulp
 * (< 3e-7) over [-87.3, 88.4], exactly 0 below. SiLU and GELU-tanh are
 * x / (1 + exp(-z)) with that exp (same relative accuracy); tanh (softcap
 * only) is 1 - 2 / (exp(2y) + 1), absolute error ~2e-7. */
#include "cpu/ops.h"

#if defined(__x86_64__) && defined(__AVX512F__)
#include <immintrin.h>
#include <math.h>

#define W 16

static inline __mmask16 tail_mask(int64_t rem) { return (__mmask16)((1u << rem) - 1u); }

static inline __m512 exp16(__m512 x) {
    __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3365447f), _CMP_LT_OQ);
    x = _mm512_min_ps(x, _mm512_set1_ps(88.3762626f));
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3365447f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    y = _mm512_scalef_ps(y, n);
    return _mm512_mask_mov_ps(y, under, _mm512_setzero_ps());
}

/* act(x) = x / (1 + exp(-z)), z = x (SiLU) or 2 sqrt(2/pi) (x + 0.044715 x^3) (GELU-tanh);
 * sigmoid: 1 / (1 + exp(-x)) */
static inline __m512 act16(fl_act act, __m512 x) {
    __m512 z = x;
    if (act == FL_ACT_GELU_TANH) {
        __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
        z = _mm512_mul_ps(_mm512_set1_ps(2.0f * 0.7978845608028654f),
                          _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
    }
    __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), z));
    __m512 num = act == FL_ACT_SIGMOID ? _mm512_set1_ps(1.0f) : x;
    return _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

static void act_avx512(fl_act act, float *y, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) _mm512_storeu_ps(y + i, act16(act, _mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, act16(act, _mm512_maskz_loadu_ps(m, x + i)));
    }
}

static void gated_avx512(fl_act act, float *y, const float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W)
        _mm512_storeu_ps(y + i, _mm512_mul_ps(act16(act, _mm512_loadu_ps(g + i)), _mm512_loadu_ps(u + i)));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        __m512 r = _mm512_mul_ps(act16(act, _mm512_maskz_loadu_ps(m, g + i)), _mm512_maskz_loadu_ps(m, u + i));
        _mm512_mask_storeu_ps(y + i, m, r);
    }
}

#define BINARY(name, OP)                                                                                  \
    static void name(float *y, const float *a, const float *b, int64_t n) {                               \
        int64_t i = 0;                                                                                    \
        for (; i + W <= n; i += W) _mm512_storeu_ps(y + i, OP(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))); \
        if (i < n) {                                                                                      \
            __mmask16 m = tail_mask(n - i);                                                               \
            _mm512_mask_storeu_ps(y + i, m, OP(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i))); \
        }                                                                                                 \
    }
BINARY(add_avx512, _mm512_add_ps)
BINARY(mul_avx512, _mm512_mul_ps)

static void scale_avx512(float *y, const float *x, float s, int64_t n) {
    __m512 vs = _mm512_set1_ps(s);
    int64_t i = 0;
    for (; i + W <= n; i += W) _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), vs));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs));
    }
}

static void rmsnorm_row_avx512(float *y, const float *x, const float *w, int64_t dim, float eps) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 2 * W <= dim; i += 2 * W) {
        __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + W);
        a0 = _mm512_fmadd_ps(v0, v0, a0);
        a1 = _mm512_fmadd_ps(v1, v1, a1);
    }
    for (; i < dim; i += W) {
        __m512 v = _mm512_maskz_loadu_ps(tail_mask(dim - i < W ? dim - i : W), x + i);
        a0 = _mm512_fmadd_ps(v, v, a0);
    }
    float ss = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    __m512 r = _mm512_set1_ps(1.0f / sqrtf(ss / (float)dim + eps));
    for (i = 0; i < dim; i += W) {
        __mmask16 m = tail_mask(dim - i < W ? dim - i : W);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), r);
        if (w) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

static float attn_exp_avx512(float *x, int64_t n, float m) {
    __m512 vm = _mm512_set1_ps(m), sum = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += W) {
        __mmask16 k = tail_mask(n - i < W ? n - i : W);
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vm));
        e = _mm512_maskz_mov_ps(k, e);
        _mm512_mask_storeu_ps(x + i, k, e);
        sum = _mm512_add_ps(sum, e);
    }
    return _mm512_reduce_add_ps(sum);
}

static void softmax_row_avx512(float *x, int64_t n) {
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (int64_t i = 0; i < n; i += W) {
        __mmask16 k = tail_mask(n - i < W ? n - i : W);
        vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), k, x + i));
    }
    float sum = attn_exp_avx512(x, n, _mm512_reduce_max_ps(vmax));
    scale_avx512(x, x, 1.0f / sum, n);
}

static void rope_pairs_avx512(float *x0, float *x1, const float *cs, const float *sn, int64_t n) {
    for (int64_t i = 0; i < n; i += W) {
        __mmask16 k = tail_mask(n - i < W ? n - i : W);
        __m512 a = _mm512_maskz_loadu_ps(k, x0 + i), b = _mm512_maskz_loadu_ps(k, x1 + i);
        __m512 c = _mm512_maskz_loadu_ps(k, cs + i), s = _mm512_maskz_loadu_ps(k, sn + i);
        _mm512_mask_storeu_ps(x0 + i, k, _mm512_fmsub_ps(a, c, _mm512_mul_ps(b, s)));
        _mm512_mask_storeu_ps(x1 + i, k, _mm512_fmadd_ps(a, s, _mm512_mul_ps(b, c)));
    }
}

static void f16_to_f32_avx512(float *y, const uint16_t *x, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + i))));
    if (i < n) {
        __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, k, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, x + i)));
    }
}

/* the four horizontal sums of a0..a3, in lanes 0..3 */
static inline __m128 hsum4x16(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    __m256 x0 = _mm256_add_ps(_mm512_castps512_ps256(a0), _mm512_extractf32x8_ps(a0, 1));
    __m256 x1 = _mm256_add_ps(_mm512_castps512_ps256(a1), _mm512_extractf32x8_ps(a1, 1));
    __m256 x2 = _mm256_add_ps(_mm512_castps512_ps256(a2), _mm512_extractf32x8_ps(a2, 1));
    __m256 x3 = _mm256_add_ps(_mm512_castps512_ps256(a3), _mm512_extractf32x8_ps(a3, 1));
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(x0, x1), _mm256_hadd_ps(x2, x3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* 2 rows x 4 keys per step: 6 loads feed 8 FMAs; the 8 dot products are
 * reduced together at the end */
static void attn_scores_avx512(float *s, int64_t lds, const float *q, int64_t nr, const float *k, int64_t ldk,
                               int64_t nk, int64_t d) {
    const int64_t dfull = d / W * W;
    const __mmask16 mt = tail_mask(d - dfull);
    int64_t r = 0;
    for (; r + 2 <= nr; r += 2) {
        const float *q0 = q + r * d, *q1 = q0 + d;
        int64_t j = 0;
        for (; j + 4 <= nk; j += 4) {
            const float *k0 = k + j * ldk, *k1 = k0 + ldk, *k2 = k1 + ldk, *k3 = k2 + ldk;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int64_t c = 0; c < d; c += W) {
                __m512 x0, x1, v0, v1, v2, v3;
                if (c < dfull) {
                    x0 = _mm512_loadu_ps(q0 + c), x1 = _mm512_loadu_ps(q1 + c);
                    v0 = _mm512_loadu_ps(k0 + c), v1 = _mm512_loadu_ps(k1 + c);
                    v2 = _mm512_loadu_ps(k2 + c), v3 = _mm512_loadu_ps(k3 + c);
                } else {
                    x0 = _mm512_maskz_loadu_ps(mt, q0 + c), x1 = _mm512_maskz_loadu_ps(mt, q1 + c);
                    v0 = _mm512_maskz_loadu_ps(mt, k0 + c), v1 = _mm512_maskz_loadu_ps(mt, k1 + c);
                    v2 = _mm512_maskz_loadu_ps(mt, k2 + c), v3 = _mm512_maskz_loadu_ps(mt, k3 + c);
                }
                a0 = _mm512_fmadd_ps(x0, v0, a0), b0 = _mm512_fmadd_ps(x1, v0, b0);
                a1 = _mm512_fmadd_ps(x0, v1, a1), b1 = _mm512_fmadd_ps(x1, v1, b1);
                a2 = _mm512_fmadd_ps(x0, v2, a2), b2 = _mm512_fmadd_ps(x1, v2, b2);
                a3 = _mm512_fmadd_ps(x0, v3, a3), b3 = _mm512_fmadd_ps(x1, v3, b3);
            }
            _mm_storeu_ps(s + r * lds + j, hsum4x16(a0, a1, a2, a3));
            _mm_storeu_ps(s + (r + 1) * lds + j, hsum4x16(b0, b1, b2, b3));
        }
        for (; j < nk; j++) {
            const float *kj = k + j * ldk;
            __m512 a = _mm512_setzero_ps(), b = a;
            for (int64_t c = 0; c < d; c += W) {
                __mmask16 m = c < dfull ? (__mmask16)0xffff : mt;
                __m512 v = _mm512_maskz_loadu_ps(m, kj + c);
                a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q0 + c), v, a);
                b = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q1 + c), v, b);
            }
            s[r * lds + j] = _mm512_reduce_add_ps(a);
            s[(r + 1) * lds + j] = _mm512_reduce_add_ps(b);
        }
    }
    for (; r < nr; r++) {
        const float *qr = q + r * d;
        int64_t j = 0;
        for (; j + 4 <= nk; j += 4) {
            const float *k0 = k + j * ldk, *k1 = k0 + ldk, *k2 = k1 + ldk, *k3 = k2 + ldk;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int64_t c = 0; c < d; c += W) {
                __mmask16 m = c < dfull ? (__mmask16)0xffff : mt;
                __m512 vq = _mm512_maskz_loadu_ps(m, qr + c);
                a0 = _mm512_fmadd_ps(vq, _mm512_maskz_loadu_ps(m, k0 + c), a0);
                a1 = _mm512_fmadd_ps(vq, _mm512_maskz_loadu_ps(m, k1 + c), a1);
                a2 = _mm512_fmadd_ps(vq, _mm512_maskz_loadu_ps(m, k2 + c), a2);
                a3 = _mm512_fmadd_ps(vq, _mm512_maskz_loadu_ps(m, k3 + c), a3);
            }
            _mm_storeu_ps(s + r * lds + j, hsum4x16(a0, a1, a2, a3));
        }
        for (; j < nk; j++) {
            const float *kj = k + j * ldk;
            __m512 a = _mm512_setzero_ps();
            for (int64_t c = 0; c < d; c += W) {
                __mmask16 m = c < dfull ? (__mmask16)0xffff : mt;
                a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, qr + c), _mm512_maskz_loadu_ps(m, kj + c), a);
            }
            s[r * lds + j] = _mm512_reduce_add_ps(a);
        }
    }
}

static void attn_softcap_avx512(float *x, int64_t n, float cap) {
    __m512 vc = _mm512_set1_ps(cap), two_over = _mm512_set1_ps(2.0f / cap), one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += W) {
        __mmask16 k = tail_mask(n - i < W ? n - i : W);
        __m512 e = exp16(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), two_over));
        __m512 t = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
        _mm512_mask_storeu_ps(x + i, k, _mm512_mul_ps(vc, t));
    }
}

/* One row of o from column c0 on: 64 columns held in registers across the
 * keys, then 16 at a time. */
static void accum_row(float *orow, const float *prow, const float *v, int64_t ldv, int64_t nk, int64_t c0,
                      int64_t dv) {
    int64_t c = c0;
    for (; c + 4 * W <= dv; c += 4 * W) {
        __m512 a0 = _mm512_loadu_ps(orow + c), a1 = _mm512_loadu_ps(orow + c + W);
        __m512 a2 = _mm512_loadu_ps(orow + c + 2 * W), a3 = _mm512_loadu_ps(orow + c + 3 * W);
        for (int64_t j = 0; j < nk; j++) {
            if (prow[j] == 0.0f) continue;
            __m512 pj = _mm512_set1_ps(prow[j]);
            const float *vj = v + j * ldv + c;
            a0 = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj), a0);
            a1 = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj + W), a1);
            a2 = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj + 2 * W), a2);
            a3 = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj + 3 * W), a3);
        }
        _mm512_storeu_ps(orow + c, a0);
        _mm512_storeu_ps(orow + c + W, a1);
        _mm512_storeu_ps(orow + c + 2 * W, a2);
        _mm512_storeu_ps(orow + c + 3 * W, a3);
    }
    for (; c < dv; c += W) {
        __mmask16 m = tail_mask(dv - c < W ? dv - c : W);
        __m512 a = _mm512_maskz_loadu_ps(m, orow + c);
        for (int64_t j = 0; j < nk; j++) {
            if (prow[j] == 0.0f) continue;
            a = _mm512_fmadd_ps(_mm512_set1_ps(prow[j]), _mm512_maskz_loadu_ps(m, v + j * ldv + c), a);
        }
        _mm512_mask_storeu_ps(orow + c, m, a);
    }
}

/* Row r of a 4-row block takes key j's 64 columns (v0..v3) unless p is 0. */
#define ACCUM_ROW4(r)                                                                                          \
    if (p##r[j] != 0.0f) {                                                                                     \
        __m512 pj = _mm512_set1_ps(p##r[j]);                                                                   \
        a##r##0 = _mm512_fmadd_ps(pj, v0, a##r##0), a##r##1 = _mm512_fmadd_ps(pj, v1, a##r##1);                \
        a##r##2 = _mm512_fmadd_ps(pj, v2, a##r##2), a##r##3 = _mm512_fmadd_ps(pj, v3, a##r##3);                \
    }
#define LOAD_ROW4(r)                                                                                           \
    __m512 a##r##0 = _mm512_loadu_ps(o##r + c), a##r##1 = _mm512_loadu_ps(o##r + c + W),                       \
           a##r##2 = _mm512_loadu_ps(o##r + c + 2 * W), a##r##3 = _mm512_loadu_ps(o##r + c + 3 * W)
#define STORE_ROW4(r)                                                                                          \
    _mm512_storeu_ps(o##r + c, a##r##0), _mm512_storeu_ps(o##r + c + W, a##r##1),                              \
        _mm512_storeu_ps(o##r + c + 2 * W, a##r##2), _mm512_storeu_ps(o##r + c + 3 * W, a##r##3)

/* Blocks of 4 rows x 64 columns: each loaded v vector feeds 4 rows (16
 * accumulators), which keeps the FMA units rather than the loads busy when
 * nr is large (prefill attention, the chunked delta rule). */
static void attn_accum_avx512(float *o, int64_t ldo, const float *p, int64_t ldp, int64_t nr, const float *v,
                              int64_t ldv, int64_t nk, int64_t dv) {
    const int64_t d64 = dv / (4 * W) * (4 * W), nr4 = nr / 4 * 4;
    /* column blocks outside: the block's nk x 64 slice of v stays in L1 across the row blocks */
    for (int64_t c = 0; c < d64; c += 4 * W) {
        for (int64_t r = 0; r < nr4; r += 4) {
            float *o0 = o + r * ldo, *o1 = o0 + ldo, *o2 = o1 + ldo, *o3 = o2 + ldo;
            const float *p0 = p + r * ldp, *p1 = p0 + ldp, *p2 = p1 + ldp, *p3 = p2 + ldp;
            LOAD_ROW4(0);
            LOAD_ROW4(1);
            LOAD_ROW4(2);
            LOAD_ROW4(3);
            for (int64_t j = 0; j < nk; j++) {
                if (p0[j] == 0.0f && p1[j] == 0.0f && p2[j] == 0.0f && p3[j] == 0.0f) continue;
                const float *vj = v + j * ldv + c;
                __m512 v0 = _mm512_loadu_ps(vj), v1 = _mm512_loadu_ps(vj + W);
                __m512 v2 = _mm512_loadu_ps(vj + 2 * W), v3 = _mm512_loadu_ps(vj + 3 * W);
                ACCUM_ROW4(0)
                ACCUM_ROW4(1)
                ACCUM_ROW4(2)
                ACCUM_ROW4(3)
            }
            STORE_ROW4(0);
            STORE_ROW4(1);
            STORE_ROW4(2);
            STORE_ROW4(3);
        }
    }
    if (d64 < dv)
        for (int64_t r = 0; r < nr4; r++) accum_row(o + r * ldo, p + r * ldp, v, ldv, nk, d64, dv);
    for (int64_t r = nr4; r < nr; r++) accum_row(o + r * ldo, p + r * ldp, v, ldv, nk, 0, dv);
}

#undef ACCUM_ROW4
#undef LOAD_ROW4
#undef STORE_ROW4

static const fl_cpu_kernels kernels = {
    .isa = FL_ISA_AVX512,
    .act = act_avx512,
    .gated = gated_avx512,
    .add = add_avx512,
    .mul = mul_avx512,
    .scale = scale_avx512,
    .rmsnorm_row = rmsnorm_row_avx512,
    .softmax_row = softmax_row_avx512,
    .rope_pairs = rope_pairs_avx512,
    .f16_to_f32 = f16_to_f32_avx512,
    .attn_scores = attn_scores_avx512,
    .attn_softcap = attn_softcap_avx512,
    .attn_exp = attn_exp_avx512,
    .attn_accum = attn_accum_avx512,
};

const fl_cpu_kernels *fl_cpu_kernels_avx512(void) { return &kernels; }

#else
const fl_cpu_kernels *fl_cpu_kernels_avx512(void) { return 0; }
#endif
