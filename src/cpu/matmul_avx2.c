/* matmul_avx2.c — AVX2 + FMA + F16C decode kernels, activation quantizers
 * and the kernel table of the CPU matmul. The prefill GEMM of the int8
 * types is in matmul_gemm_avx2.c; float weights (and IQ4_XS) prefill as
 * cache tiles of the decode kernels (matmul.c). Compiled with the AVX2
 * flags only; never called unless the CPU has them.
 *
 * Formats of this table: Q8 codes are signed. Integer dots use vpmaddubsw,
 * which multiplies unsigned by signed bytes into saturating 16-bit pair
 * sums, so signed weight codes go in as |w| with x given w's sign
 * (|w| <= 128, |x| <= 127: pair sums <= 32512, no saturation); unsigned
 * codes (4..6 bit) go in directly. vpmaddwd then adds pairs, with ones or
 * with the integer sub-block scales of the K-quants. */
#if defined(__x86_64__) || defined(__i386__)
#include "cpu/matmul_avx2.h"

/* loops over the activation rows / weight rows of a micro-tile: unrolled
 * so that the accumulator arrays live in registers */
#define UNROLL _Pragma("GCC unroll 8")

INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE int32_t hsum8i(__m256i v) {
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    return _mm_cvtsi128_si32(h);
}

INLINE float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* ---- activation quantizers (signed codes) ---- */

INLINE __m256 abs8(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

/* 8 floats -> 8 int32 codes */
INLINE __m256i codes8(const float *x, __m256 id) { return _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), id)); }

/* 16 int32 codes (two vectors) -> 16 int8, in order */
INLINE __m128i pack16(__m256i a, __m256i b) {
    __m256i s16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xd8);
    __m128i lo = _mm256_castsi256_si128(s16), hi = _mm256_extracti128_si256(s16, 1);
    return _mm_packs_epi16(lo, hi);
}

static float quant_block(const float *x, int8_t *q, int len, int32_t *sums16) {
    __m256 mx = _mm256_setzero_ps();
    for (int i = 0; i < len; i += 8) mx = _mm256_max_ps(mx, abs8(_mm256_loadu_ps(x + i)));
    const float d = hmax8(mx) / 127.0f;
    const __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    for (int i = 0; i < len; i += 16) {
        __m256i a = codes8(x + i, id), b = codes8(x + i + 8, id);
        _mm_storeu_si128((__m128i *)(q + i), pack16(a, b));
        sums16[i / 16] = hsum8i(_mm256_add_epi32(a, b));
    }
    return d;
}

FL_MM_QUANT_Q8_FROM_BLOCKS(quant_block)

static float dot_f32(const float *a, const float *b, int64_t k) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    float s = hsum8(_mm256_add_ps(acc0, acc1));
    for (; i < k; i++) s += a[i] * b[i];
    return s;
}

/* ---- float weights: 8 per step; the k % 8 tail in scalar ---- */

INLINE __m256 load_w8(flint_type t, const uint8_t *p) {
    if (t == FLINT_TYPE_F32) return _mm256_loadu_ps((const float *)p);
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (t == FLINT_TYPE_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

INLINE float w_at(flint_type t, const uint8_t *p, int64_t i) {
    if (t == FLINT_TYPE_F32) {
        float v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    return t == FLINT_TYPE_F16 ? _cvtsh_ss(fl_mm_u16(p + 2 * i)) : fl_bf16_to_f32(fl_mm_u16(p + 2 * i));
}

INLINE __m256 load_x8(const fl_mm_act *a, int64_t c, int64_t i) { return _mm256_loadu_ps(a->f32 + c * a->k + i); }

INLINE float x_at(const fl_mm_act *a, int64_t c, int64_t i) { return a->f32[c * a->k + i]; }

INLINE void rows_float_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1, const flint_type t) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, es = t == FLINT_TYPE_F32 ? 4 : 2, k8 = k & ~(int64_t)7;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *p = ROW(w, r);
        __m256 acc[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
        for (int64_t i = 0; i < k8; i += 8) {
            __m256 wv = load_w8(t, p + i * es);
            UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm256_fmadd_ps(wv, load_x8(a, c0 + c, i), acc[c]);
        }
        UNROLL for (int c = 0; c < nc; c++) {
            float s = hsum8(acc[c]);
            for (int64_t i = k8; i < k; i++) s += w_at(t, p, i) * x_at(a, c0 + c, i);
            job->y[(c0 + c) * job->ldy + r] = s;
        }
    }
}

/* ---- 32-element blocks: signed codes, scale, min ---- */


INLINE void rows_b32_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1, const flint_type t) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, nb = k / 32;
    const __m256i ones = _mm256_set1_epi16(1);
    const bool mins = has_min(t);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ROW(w, r);
        mlx_row mx = {0};
        mlx_setup(w, r, &mx);
        __m256 acc[FL_MM_DECODE_MAX];
        float accm[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps(), accm[c] = 0.0f;
        for (int64_t b = 0; b < nb; b++) {
            float d, m;
            __m256i wv = block32(t, row, b, &mx, &d, &m);
            __m256i wa = _mm256_sign_epi8(wv, wv);
            UNROLL for (int c = 0; c < nc; c++) {
                const int64_t cc = c0 + c;
                __m256i xv = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(a->q + cc * k + 32 * b)), wv);
                __m256i is = _mm256_madd_epi16(_mm256_maddubs_epi16(wa, xv), ones);
                const float dx = a->d[cc * nb + b];
                acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_set1_ps(d * dx), acc[c]);
                if (mins) accm[c] += m * dx * (float)a->sum[cc * nb + b];
            }
        }
        UNROLL for (int c = 0; c < nc; c++) job->y[(c0 + c) * job->ldy + r] = hsum8(acc[c]) + accm[c];
    }
}

/* ---- K-quants ---- */

/* The activations' sums of 16 of columns [c0, c0 + nc) as 16-bit
 * (|sum| <= 16 * 127) into scratch, once per call: per super-block a
 * vpmaddwd then takes the K-quants' min or offset term of all 16 at once. */
INLINE const int16_t *sums16(const fl_mm_act *a, int64_t c0, int nc, void *scratch) {
    const int64_t n = a->k / 16;
    int16_t *s = scratch;
    for (int c = 0; c < nc; c++)
        for (int64_t i = 0; i < n; i++) s[c * n + i] = (int16_t)a->sum[(c0 + c) * n + i];
    return s;
}

/* 16-bit lane jl of the low 128-bit half in every lane of that half, and
 * lane jh of the high half in every lane of that one */
INLINE __m256i spread16(__m256i v, int jl, int jh) {
    return _mm256_shuffle_epi8(v, _mm256_set_m128i(_mm_set1_epi16((short)(0x0100 + 0x0202 * jh)),
                                                   _mm_set1_epi16((short)(0x0100 + 0x0202 * jl))));
}

/* Per super-block: the 8 scales and mins unpacked with 64-bit integer ops
 * (fl_mm_scales_mins_k4), each scale spread over 16 lanes by one vpshufb,
 * and the min term as one vpmaddwd of the mins, each twice, against the
 * activations' sums of 16: no scalar loop over the sub-blocks. */
INLINE void rows_q45k_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1, const bool five,
                         void *scratch) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, nb = k / 256, bytes = five ? 176 : 144;
    const int16_t *s16 = sums16(a, c0, nc, scratch);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ROW(w, r);
        __m256 acc[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * bytes;
            const float d = _cvtsh_ss(fl_mm_u16(blk)), dmin = _cvtsh_ss(fl_mm_u16(blk + 2));
            uint64_t sc, mn;
            fl_mm_scales_mins_k4(blk + 4, &sc, &mn);
            const __m256i scales = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
            const __m128i m8 = _mm_cvtsi64_si128((long long)mn);
            const __m256i mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8)); /* mn0, mn0, mn1, mn1, ... */
            __m256i is[FL_MM_DECODE_MAX];
            UNROLL for (int c = 0; c < nc; c++) is[c] = _mm256_setzero_si256();
            UNROLL for (int j = 0; j < 8; j++) {
                const __m256i q = q45k_codes32(blk, five, j), sj = spread16(scales, j, j);
                UNROLL for (int c = 0; c < nc; c++) {
                    __m256i xv = _mm256_loadu_si256((const __m256i *)(a->q + (c0 + c) * k + 256 * b + 32 * j));
                    is[c] = _mm256_add_epi32(is[c], _mm256_madd_epi16(_mm256_maddubs_epi16(q, xv), sj));
                }
            }
            UNROLL for (int c = 0; c < nc; c++) {
                const __m256i mt =
                    _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(s16 + c * (k / 16) + 16 * b)), mins);
                const float dx = a->d[(c0 + c) * nb + b];
                acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[c]), _mm256_set1_ps(d * dx), acc[c]);
                acc[c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mt), _mm256_set1_ps(dmin * dx), acc[c]);
            }
        }
        UNROLL for (int c = 0; c < nc; c++) job->y[(c0 + c) * job->ldy + r] = hsum8(acc[c]);
    }
}

/* Per super-block: the 16 scales widened once, each pair spread over the
 * two halves by one vpshufb, and the -32 offset of all 16 as one vpmaddwd
 * of the scales against the activations' sums of 16. */
INLINE void rows_q6k_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1, void *scratch) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, nb = k / 256;
    const int16_t *s16 = sums16(a, c0, nc, scratch);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ROW(w, r);
        __m256 acc[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * 210;
            const float d = _cvtsh_ss(fl_mm_u16(blk + 208));
            const __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192)));
            /* scales 0..7 and 8..15, each in both halves */
            const __m256i lo = _mm256_permute2x128_si256(scales, scales, 0x00),
                          hi = _mm256_permute2x128_si256(scales, scales, 0x11);
            __m256i is[FL_MM_DECODE_MAX];
            UNROLL for (int c = 0; c < nc; c++) is[c] = _mm256_setzero_si256();
            UNROLL for (int e = 0; e < 8; e++) {
                /* scale 2e in the low half, 2e + 1 in the high one */
                const __m256i q = q6k_codes32(blk, e), se = spread16(e < 4 ? lo : hi, 2 * e % 8, 2 * e % 8 + 1);
                UNROLL for (int c = 0; c < nc; c++) {
                    __m256i xv = _mm256_loadu_si256((const __m256i *)(a->q + (c0 + c) * k + 256 * b + 32 * e));
                    is[c] = _mm256_add_epi32(is[c], _mm256_madd_epi16(_mm256_maddubs_epi16(q, xv), se));
                }
            }
            UNROLL for (int c = 0; c < nc; c++) {
                const __m256i off =
                    _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(s16 + c * (k / 16) + 16 * b)), scales);
                const float dx = a->d[(c0 + c) * nb + b];
                acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(is[c], _mm256_slli_epi32(off, 5))),
                                         _mm256_set1_ps(d * dx), acc[c]);
            }
        }
        UNROLL for (int c = 0; c < nc; c++) job->y[(c0 + c) * job->ldy + r] = hsum8(acc[c]);
    }
}

INLINE void rows_iq4xs_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, nb = k / 256;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ROW(w, r);
        __m256 acc[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * 136;
            const float d = _cvtsh_ss(fl_mm_u16(blk));
            const uint16_t sh = fl_mm_u16(blk + 2);
            const uint8_t *sl = blk + 4, *qs = blk + 8;
            __m256i is[FL_MM_DECODE_MAX];
            UNROLL for (int c = 0; c < nc; c++) is[c] = _mm256_setzero_si256();
            UNROLL for (int j = 0; j < 8; j++) {
                int ls = ((sl[j / 2] >> (4 * (j % 2))) & 15) | (((sh >> (2 * j)) & 3) << 4);
                __m256i v = lut16(nibbles32(qs + 16 * j), fl_mm_kvalues_iq4nl);
                __m256i va = _mm256_sign_epi8(v, v);
                const __m256i s16 = _mm256_set1_epi16((short)(ls - 32));
                UNROLL for (int c = 0; c < nc; c++) {
                    __m256i xv = _mm256_loadu_si256((const __m256i *)(a->q + (c0 + c) * k + 256 * b + 32 * j));
                    is[c] = _mm256_add_epi32(is[c], _mm256_madd_epi16(_mm256_maddubs_epi16(va, _mm256_sign_epi8(xv, v)), s16));
                }
            }
            UNROLL for (int c = 0; c < nc; c++) {
                const float dx = a->d[(c0 + c) * nb + b];
                acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[c]), _mm256_set1_ps(d * dx), acc[c]);
            }
        }
        UNROLL for (int c = 0; c < nc; c++) job->y[(c0 + c) * job->ldy + r] = hsum8(acc[c]);
    }
}

/* ---- instantiation per activation-row count ---- */


#define ROWS_T(name, impl)                                                                                         \
    static void rows_##name(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) { \
        (void)scratch;                                                                                             \
        FL_MM_DISPATCH8(nc, impl)                                                                                          \
    }

#define C_F32(N) rows_float_nc(job, c0, N, r0, r1, FLINT_TYPE_F32)
#define C_F16(N) rows_float_nc(job, c0, N, r0, r1, FLINT_TYPE_F16)
#define C_BF16(N) rows_float_nc(job, c0, N, r0, r1, FLINT_TYPE_BF16)
#define C_Q4_0(N) rows_b32_nc(job, c0, N, r0, r1, FLINT_TYPE_Q4_0)
#define C_Q4_1(N) rows_b32_nc(job, c0, N, r0, r1, FLINT_TYPE_Q4_1)
#define C_Q5_0(N) rows_b32_nc(job, c0, N, r0, r1, FLINT_TYPE_Q5_0)
#define C_Q5_1(N) rows_b32_nc(job, c0, N, r0, r1, FLINT_TYPE_Q5_1)
#define C_Q8_0(N) rows_b32_nc(job, c0, N, r0, r1, FLINT_TYPE_Q8_0)
#define C_IQ4_NL(N) rows_b32_nc(job, c0, N, r0, r1, FLINT_TYPE_IQ4_NL)
#define C_MXFP4(N) rows_b32_nc(job, c0, N, r0, r1, FLINT_TYPE_MXFP4)
#define C_MLX4(N) rows_b32_nc(job, c0, N, r0, r1, FLINT_TYPE_MLX_Q4)
#define C_MLX8(N) rows_b32_nc(job, c0, N, r0, r1, FLINT_TYPE_MLX_Q8)
#define C_Q4_K(N) rows_q45k_nc(job, c0, N, r0, r1, false, scratch)
#define C_Q5_K(N) rows_q45k_nc(job, c0, N, r0, r1, true, scratch)
#define C_Q6_K(N) rows_q6k_nc(job, c0, N, r0, r1, scratch)
#define C_IQ4_XS(N) rows_iq4xs_nc(job, c0, N, r0, r1)

ROWS_T(f32, C_F32)
ROWS_T(f16, C_F16)
ROWS_T(bf16, C_BF16)
ROWS_T(q4_0, C_Q4_0)
ROWS_T(q4_1, C_Q4_1)
ROWS_T(q5_0, C_Q5_0)
ROWS_T(q5_1, C_Q5_1)
ROWS_T(q8_0, C_Q8_0)
ROWS_T(iq4_nl, C_IQ4_NL)
ROWS_T(mxfp4, C_MXFP4)
ROWS_T(mlx4, C_MLX4)
ROWS_T(mlx8, C_MLX8)
ROWS_T(q4_k, C_Q4_K)
ROWS_T(q5_k, C_Q5_K)
ROWS_T(q6_k, C_Q6_K)
ROWS_T(iq4_xs, C_IQ4_XS)

const fl_mm_kernels fl_mm_kernels_avx2 = {
    .name = "avx2",
    .quant_q8_32 = quant_q8_32,
    .quant_q8_k = quant_q8_k,
    .dot_f32 = dot_f32,
    .rows = {FL_MM_ROWS_EVERY_TYPE},
    .gemm =
        {
            [FLINT_TYPE_Q4_0] = fl_mm_avx2_gemm_int8,
            [FLINT_TYPE_Q4_1] = fl_mm_avx2_gemm_int8,
            [FLINT_TYPE_Q5_0] = fl_mm_avx2_gemm_int8,
            [FLINT_TYPE_Q5_1] = fl_mm_avx2_gemm_int8,
            [FLINT_TYPE_Q8_0] = fl_mm_avx2_gemm_int8,
            [FLINT_TYPE_IQ4_NL] = fl_mm_avx2_gemm_int8,
            [FLINT_TYPE_MXFP4] = fl_mm_avx2_gemm_int8,
            [FLINT_TYPE_MLX_Q4] = fl_mm_avx2_gemm_int8,
            [FLINT_TYPE_MLX_Q8] = fl_mm_avx2_gemm_int8,
            [FLINT_TYPE_Q4_K] = fl_mm_avx2_gemm_int8,
            [FLINT_TYPE_Q5_K] = fl_mm_avx2_gemm_int8,
            [FLINT_TYPE_Q6_K] = fl_mm_avx2_gemm_int8,
        },
    .pack_bytes = fl_mm_avx2_pack_bytes,
    .pack_act = fl_mm_avx2_pack_act,
    .gemm_scratch_bytes = fl_mm_avx2_gemm_scratch_bytes,
};

#endif
