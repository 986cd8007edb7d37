/* matmul_avx512.c — AVX-512 (F/BW/VL/DQ + VNNI + BF16) decode kernels and
 * activation quantizers of the CPU matmul; the prefill GEMM micro-kernels
 * are in matmul_gemm_avx512.c. Compiled with the AVX-512 flags only; never
 * called unless the CPU has them (matmul.c picks the table).
 *
 * Formats of this table: the codes are signed, as the scalar table's.
 * vpdpbusd multiplies an unsigned by a signed operand, so Q4_0 and Q8_0
 * (the fast path below) make the weight codes unsigned (w + 8, w + 128)
 * and subtract K * sum(x) per block, an exact integer correction taken
 * from the activation sums; the other Q8_32 types bias x in the kernel
 * instead: dpbusd(x + 128, w) - 128 * sum(w) = x . w, with the 128 * sum(w)
 * term computed once per weight block for all activation rows (the GEMM
 * packs x biased). Q8_K codes stay signed (the K-quant
 * kernels use vpmaddubsw with the unsigned weight codes, then vpdpwssd
 * with the integer sub-block scales, so a super-block needs one float
 * conversion; Q4_K and Q6_K have GFNI fast paths that unpack a
 * super-block in ~20 vector instructions, below).
 *
 * Decode kernels are instantiated per activation-row count (1..8) so the
 * accumulators live in registers: one pass over W, each weight block is
 * unpacked once and used for every activation row. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <pthread.h>

#include "cpu/matmul_avx512.h"

#define INLINE static inline __attribute__((always_inline))
/* loops over the activation rows / weight rows of a micro-tile: unrolled
 * so that the accumulator arrays live in registers */
#define UNROLL _Pragma("GCC unroll 8")
#ifndef PF_AHEAD
#define PF_AHEAD 4096 /* bytes of software prefetch ahead of the weight stream (measured: 1024 -> 75%, 4096 -> ~97% of the read bandwidth) */
#endif

/* ---- activation quantizers ---- */

INLINE float amax16(__m512 a, __m512 b) { return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b))); }

/* 16 floats -> 16 codes (rint(x * id)) as int32 lanes */
INLINE __m512i codes16(const float *x, __m512 id) { return _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), id)); }

static void quant_q8_32(const float *x, int8_t *q, float *d, int32_t *sum, int64_t k) {
    for (int64_t b = 0; b < k / 32; b++, x += 32, q += 32) {
        const float amax = amax16(_mm512_loadu_ps(x), _mm512_loadu_ps(x + 16));
        const float dd = amax / 127.0f;
        const __m512 id = _mm512_set1_ps(dd != 0.0f ? 1.0f / dd : 0.0f);
        __m512i c0 = codes16(x, id), c1 = codes16(x + 16, id);
        _mm_storeu_si128((__m128i *)q, _mm512_cvtepi32_epi8(c0));
        _mm_storeu_si128((__m128i *)(q + 16), _mm512_cvtepi32_epi8(c1));
        d[b] = dd;
        sum[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(c0, c1));
    }
}

static void quant_q8_k(const float *x, int8_t *q, float *d, int32_t *sum, int64_t k) {
    for (int64_t b = 0; b < k / 256; b++, x += 256, q += 256) {
        __m512 mx = _mm512_setzero_ps();
        for (int i = 0; i < 256; i += 16) mx = _mm512_max_ps(mx, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
        const float dd = _mm512_reduce_max_ps(mx) / 127.0f;
        const __m512 id = _mm512_set1_ps(dd != 0.0f ? 1.0f / dd : 0.0f);
        /* per 64 codes: vpsadbw of the codes + 128 gives the sums of 8, two
         * of them a sum of 16 (+ 2048) */
        __m256i s[4];
        for (int i = 0; i < 256; i += 64) {
            __m512i v = _mm512_castsi128_si512(_mm512_cvtepi32_epi8(codes16(x + i, id)));
            v = _mm512_inserti32x4(v, _mm512_cvtepi32_epi8(codes16(x + i + 16, id)), 1);
            v = _mm512_inserti32x4(v, _mm512_cvtepi32_epi8(codes16(x + i + 32, id)), 2);
            v = _mm512_inserti32x4(v, _mm512_cvtepi32_epi8(codes16(x + i + 48, id)), 3);
            _mm512_storeu_si512(q + i, v);
            __m512i s8 = _mm512_sad_epu8(_mm512_xor_si512(v, _mm512_set1_epi8((char)0x80)), _mm512_setzero_si512());
            s[i / 64] = _mm512_cvtepi64_epi32(_mm512_add_epi64(s8, _mm512_shuffle_epi32(s8, 0x4e))); /* each sum twice */
        }
        const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14), off = _mm256_set1_epi32(2048);
        _mm256_storeu_si256((__m256i *)sum, _mm256_sub_epi32(_mm256_permutex2var_epi32(s[0], even, s[1]), off));
        _mm256_storeu_si256((__m256i *)(sum + 8), _mm256_sub_epi32(_mm256_permutex2var_epi32(s[2], even, s[3]), off));
        sum += 16;
        d[b] = dd;
    }
}

static float dot_f32(const float *a, const float *b, int64_t k) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= k; i += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    }
    for (; i < k; i += 16) {
        __mmask16 m = k - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - i)) - 1);
        acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

#define ROW(w, r) ((const uint8_t *)(w)->data + (uint64_t)(r) * (w)->row_bytes)

/* ---- float weights: 16 weights per step, converted to f32 ---- */

INLINE __m512 load_x16(const fl_mm_act *a, int64_t c, int64_t i, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, a->f32 + c * a->k + i);
}

INLINE void rows_float_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1, const flint_type t) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, es = t == FLINT_TYPE_F32 ? 4 : 2;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *p = ROW(w, r);
        __m512 acc[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps();
        int64_t i = 0;
        for (; i + 16 <= k; i += 16) {
            if (es == 4 || (i & 31) == 0) _mm_prefetch((const char *)p + i * es + PF_AHEAD, _MM_HINT_T0);
            __m512 wv = fl_mm_avx512_load_w16(t, p + i * es, (__mmask16)0xffff);
            UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm512_fmadd_ps(wv, load_x16(a, c0 + c, i, (__mmask16)0xffff), acc[c]);
        }
        if (i < k) {
            __mmask16 m = (__mmask16)((1u << (k - i)) - 1);
            __m512 wv = fl_mm_avx512_load_w16(t, p + i * es, m);
            UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm512_fmadd_ps(wv, load_x16(a, c0 + c, i, m), acc[c]);
        }
        UNROLL for (int c = 0; c < nc; c++) job->y[(c0 + c) * job->ldy + r] = _mm512_reduce_add_ps(acc[c]);
    }
}

/* ---- 32-element blocks against biased Q8_32 codes ----
 * block32() turns block b of a weight row into 32 signed codes in element
 * order, its scale d and its min m (y = d * code + m). */

/* Q5: bit j of qh (u32 LE) is bit 4 of element j */
INLINE __m256i q5_high(const uint8_t *qh) {
    uint32_t h;
    memcpy(&h, qh, 4);
    return _mm256_maskz_mov_epi8((__mmask32)h, _mm256_set1_epi8(0x10));
}

#include "cpu/matmul_block32_x86.h"

/* Blocks b and b+1 as 64 signed codes. The nibble types unpack both
 * blocks in one ymm and interleave [lo0 hi0 lo1 hi1] with one permute. */
INLINE __m512i pair_nibbles(const uint8_t *q0, const uint8_t *q1) {
    __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q0)),
                                        _mm_loadu_si128((const __m128i *)q1), 1);
    const __m256i lo4 = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_and_si256(v, lo4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
    const __m512i idx = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
    return _mm512_permutex2var_epi64(_mm512_castsi256_si512(lo), idx, _mm512_castsi256_si512(hi));
}

INLINE __m512i lut64(__m512i idx, const int8_t *table) {
    return _mm512_shuffle_epi8(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)table)), idx);
}

INLINE __m512i block_pair(const flint_type t, const uint8_t *row, int64_t b, const mlx_row *mx, float *d0, float *d1,
                          float *m0, float *m1) {
    switch (t) {
    case FLINT_TYPE_Q4_0: {
        const uint8_t *p = row + 18 * b;
        *d0 = _cvtsh_ss(fl_mm_u16(p)), *d1 = _cvtsh_ss(fl_mm_u16(p + 18)), *m0 = *m1 = 0.0f;
        return _mm512_sub_epi8(pair_nibbles(p + 2, p + 20), _mm512_set1_epi8(8));
    }
    case FLINT_TYPE_Q4_1: {
        const uint8_t *p = row + 20 * b;
        *d0 = _cvtsh_ss(fl_mm_u16(p)), *d1 = _cvtsh_ss(fl_mm_u16(p + 20));
        *m0 = _cvtsh_ss(fl_mm_u16(p + 2)), *m1 = _cvtsh_ss(fl_mm_u16(p + 22));
        return pair_nibbles(p + 4, p + 24);
    }
    case FLINT_TYPE_IQ4_NL: {
        const uint8_t *p = row + 18 * b;
        *d0 = _cvtsh_ss(fl_mm_u16(p)), *d1 = _cvtsh_ss(fl_mm_u16(p + 18)), *m0 = *m1 = 0.0f;
        return lut64(pair_nibbles(p + 2, p + 20), fl_mm_kvalues_iq4nl);
    }
    case FLINT_TYPE_MXFP4: {
        const uint8_t *p = row + 17 * b;
        *d0 = fl_mm_e8m0_half(p[0]), *d1 = fl_mm_e8m0_half(p[17]), *m0 = *m1 = 0.0f;
        return lut64(pair_nibbles(p + 1, p + 18), fl_mm_kvalues_mxfp4);
    }
    default: {
        __m256i w0 = block32(t, row, b, mx, d0, m0);
        __m256i w1 = block32(t, row, b + 1, mx, d1, m1);
        return _mm512_inserti64x4(_mm512_castsi256_si512(w0), w1, 1);
    }
    }
}

/* two floats -> [a x8, b x8] */
INLINE __m512 pair8(float a, float b) {
    return _mm512_insertf32x8(_mm512_set1_ps(a), _mm256_set1_ps(b), 1);
}

INLINE __m512 dx_pair(const float *d) {
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)d))));
}

INLINE void rows_b32_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1, const flint_type t) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, nb = k / 32;
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    const bool mins = has_min(t);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ROW(w, r);
        mlx_row mx = {0};
        mlx_setup(w, r, &mx);
        __m512 acc[FL_MM_DECODE_MAX];
        float accm[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps(), accm[c] = 0.0f;
        int64_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            float d0, d1, m0, m1;
            __m512i wv = block_pair(t, row, b, &mx, &d0, &d1, &m0, &m1);
            __m512i nw = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, wv));
            __m512 dw = pair8(d0, d1);
            UNROLL for (int c = 0; c < nc; c++) {
                const int64_t cc = c0 + c;
                __m512i xu = _mm512_xor_si512(_mm512_loadu_si512(a->q + cc * k + 32 * b), bias);
                __m512i is = _mm512_dpbusd_epi32(nw, xu, wv);
                const float *dx = a->d + cc * nb + b;
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(dw, dx_pair(dx)), acc[c]);
                if (mins) {
                    const int32_t *sx = a->sum + cc * nb + b;
                    accm[c] += m0 * dx[0] * (float)sx[0] + m1 * dx[1] * (float)sx[1];
                }
            }
        }
        if (b < nb) { /* an odd last block: the upper half stays zero */
            float d0, m0;
            __m512i wv = _mm512_castsi256_si512(block32(t, row, b, &mx, &d0, &m0));
            wv = _mm512_inserti64x4(wv, _mm256_setzero_si256(), 1);
            __m512i nw = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, wv));
            UNROLL for (int c = 0; c < nc; c++) {
                const int64_t cc = c0 + c;
                __m512i xu = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(a->q + cc * k + 32 * b)));
                xu = _mm512_inserti64x4(_mm512_xor_si512(xu, bias), _mm256_setzero_si256(), 1);
                __m512i is = _mm512_dpbusd_epi32(nw, xu, wv);
                const float dx = a->d[cc * nb + b];
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_set1_ps(d0 * dx), acc[c]);
                if (mins) accm[c] += m0 * dx * (float)a->sum[cc * nb + b];
            }
        }
        UNROLL for (int c = 0; c < nc; c++) job->y[(c0 + c) * job->ldy + r] = _mm512_reduce_add_ps(acc[c]) + accm[c];
    }
}

/* ---- K-quants against signed Q8_K codes ----
 * maddubs(unsigned weight codes, signed x) gives 16-bit pair sums that
 * cannot saturate (<= 2 * 63 * 127); dpwssd multiplies them by the
 * integer sub-block scales into int32 lanes; one float step per
 * super-block. Offsets and mins go through the sums of 16 codes. */

/* 16-bit lanes of a zmm covering 64 elements as [sa x16, sb x16] */
INLINE __m512i scale2x16(int sa, int sb) {
    return _mm512_inserti64x4(_mm512_set1_epi16((short)sa), _mm256_set1_epi16((short)sb), 1);
}

/* A Q4_K / Q5_K super-block's 256 unsigned codes (0..15 / 0..31) in
 * element order, 64 per zmm: sub-block j of 32 is the low (j even) or high
 * nibbles of qs[32 (j / 2) ..], Q5_K adds bit j of qh[l] as bit 4. */
INLINE void q45k_codes(const uint8_t *blk, const bool five, __m512i wq[4]) {
    const __m256i lo4 = _mm256_set1_epi8(0x0f);
    const uint8_t *qs = blk + (five ? 48 : 16);
    const __m256i qh = five ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
    UNROLL for (int c4 = 0; c4 < 4; c4++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * c4));
        __m256i lo = _mm256_and_si256(v, lo4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
        if (five) {
            const __m256i one = _mm256_set1_epi8(1);
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c4), one), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c4 + 1), one), 4));
        }
        wq[c4] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    }
}

INLINE void rows_q45k_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1, const bool five) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, nb = k / 256, bytes = five ? 176 : 144;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ROW(w, r);
        __m512 acc[FL_MM_DECODE_MAX];
        float accm[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps(), accm[c] = 0.0f;
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * bytes;
            for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch((const char *)blk + PF_AHEAD + o, _MM_HINT_T0);
            const float d = _cvtsh_ss(fl_mm_u16(blk)), dmin = _cvtsh_ss(fl_mm_u16(blk + 2));
            int sc[8], mn[8];
            UNROLL for (int j = 0; j < 8; j++) fl_mm_scale_min_k4(blk + 4, j, &sc[j], &mn[j]);
            __m512i wq[4], ws[4];
            q45k_codes(blk, five, wq);
            UNROLL for (int c4 = 0; c4 < 4; c4++) ws[c4] = scale2x16(sc[2 * c4], sc[2 * c4 + 1]);
            UNROLL for (int c = 0; c < nc; c++) {
                const int64_t cc = c0 + c;
                const int8_t *x = a->q + cc * k + 256 * b;
                __m512i is = _mm512_setzero_si512();
                UNROLL for (int c4 = 0; c4 < 4; c4++) {
                    __m512i p = _mm512_maddubs_epi16(wq[c4], _mm512_loadu_si512(x + 64 * c4));
                    is = _mm512_dpwssd_epi32(is, p, ws[c4]);
                }
                const int32_t *s16 = a->sum + cc * (k / 16) + 16 * b;
                int32_t msum = 0;
                UNROLL for (int j = 0; j < 8; j++) msum += mn[j] * (s16[2 * j] + s16[2 * j + 1]);
                const float dx = a->d[cc * nb + b];
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_set1_ps(d * dx), acc[c]);
                accm[c] -= dmin * dx * (float)msum;
            }
        }
        UNROLL for (int c = 0; c < nc; c++) job->y[(c0 + c) * job->ldy + r] = _mm512_reduce_add_ps(acc[c]) + accm[c];
    }
}

/* A Q6_K super-block's 256 unsigned codes (0..63) in element order, 64
 * per zmm: the 32-group e = 128n + 32g takes the low (g < 2) or high
 * nibbles of ql[64n + 32(g&1) ..] and bits 2g of qh[32n ..]. */
INLINE void q6k_codes(const uint8_t *blk, __m512i wq[4]) {
    const __m256i lo4 = _mm256_set1_epi8(0x0f), three = _mm256_set1_epi8(3);
    const uint8_t *ql = blk, *qh = blk + 128;
    for (int n = 0; n < 2; n++) {
        __m256i l0 = _mm256_loadu_si256((const __m256i *)(ql + 64 * n));      /* g = 0 (lo), 2 (hi) */
        __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 64 * n + 32)); /* g = 1 (lo), 3 (hi) */
        __m256i h = _mm256_loadu_si256((const __m256i *)(qh + 32 * n));
        __m256i g0 = _mm256_or_si256(_mm256_and_si256(l0, lo4), _mm256_slli_epi16(_mm256_and_si256(h, three), 4));
        __m256i g1 = _mm256_or_si256(_mm256_and_si256(l1, lo4),
                                     _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), three), 4));
        __m256i g2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4),
                                     _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), three), 4));
        __m256i g3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4),
                                     _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), three), 4));
        wq[2 * n] = _mm512_inserti64x4(_mm512_castsi256_si512(g0), g1, 1);
        wq[2 * n + 1] = _mm512_inserti64x4(_mm512_castsi256_si512(g2), g3, 1);
    }
}

/* Q6_K: codes 0..63 go to maddubs unsigned, the -32 offset comes back
 * through the sums of 16. */
INLINE void rows_q6k_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, nb = k / 256;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ROW(w, r);
        __m512 acc[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * 210;
            for (int o = 0; o < 210; o += 64) _mm_prefetch((const char *)blk + PF_AHEAD + o, _MM_HINT_T0);
            const int8_t *scales = (const int8_t *)(blk + 192);
            const float d = _cvtsh_ss(fl_mm_u16(blk + 208));
            __m512i wq[4], ws[4];
            q6k_codes(blk, wq);
            for (int n = 0; n < 2; n++) {
                const int8_t *s = scales + 8 * n;
                /* 16-bit lanes: 8 per 16 elements */
                ws[2 * n] = _mm512_inserti64x4(
                    _mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16(s[1]), _mm_set1_epi16(s[0]))),
                    _mm256_set_m128i(_mm_set1_epi16(s[3]), _mm_set1_epi16(s[2])), 1);
                ws[2 * n + 1] = _mm512_inserti64x4(
                    _mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16(s[5]), _mm_set1_epi16(s[4]))),
                    _mm256_set_m128i(_mm_set1_epi16(s[7]), _mm_set1_epi16(s[6])), 1);
            }
            UNROLL for (int c = 0; c < nc; c++) {
                const int64_t cc = c0 + c;
                const int8_t *x = a->q + cc * k + 256 * b;
                __m512i is = _mm512_setzero_si512();
                UNROLL for (int j = 0; j < 4; j++) {
                    __m512i p = _mm512_maddubs_epi16(wq[j], _mm512_loadu_si512(x + 64 * j));
                    is = _mm512_dpwssd_epi32(is, p, ws[j]);
                }
                const int32_t *s16 = a->sum + cc * (k / 16) + 16 * b;
                int32_t off = 0;
                UNROLL for (int j = 0; j < 16; j++) off += scales[j] * s16[j];
                const float dx = a->d[cc * nb + b];
                __m512i corr = _mm512_maskz_set1_epi32(1, -32 * off);
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(is, corr)), _mm512_set1_ps(d * dx), acc[c]);
            }
        }
        UNROLL for (int c = 0; c < nc; c++) job->y[(c0 + c) * job->ldy + r] = _mm512_reduce_add_ps(acc[c]);
    }
}

/* IQ4_XS: signed levels; maddubs(|w|, x with w's sign) cannot saturate
 * (2 * 127 * 127 < 32768), then dpwssd with the sub-block scales ls - 32. */
INLINE void rows_iq4xs_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, nb = k / 256;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ROW(w, r);
        __m512 acc[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * 136;
            const float d = _cvtsh_ss(fl_mm_u16(blk));
            const uint16_t sh = fl_mm_u16(blk + 2);
            const uint8_t *sl = blk + 4, *qs = blk + 8;
            __m512i wa[4], ws[4];
            __mmask64 neg[4];
            UNROLL for (int j = 0; j < 4; j++) {
                int ls0 = ((sl[j] >> 0) & 15) | (((sh >> (4 * j)) & 3) << 4);
                int ls1 = ((sl[j] >> 4) & 15) | (((sh >> (4 * j + 2)) & 3) << 4);
                __m256i v0 = lut16(nibbles32(qs + 32 * j), fl_mm_kvalues_iq4nl);
                __m256i v1 = lut16(nibbles32(qs + 32 * j + 16), fl_mm_kvalues_iq4nl);
                __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(v0), v1, 1);
                neg[j] = _mm512_movepi8_mask(v);
                wa[j] = _mm512_abs_epi8(v);
                ws[j] = scale2x16(ls0 - 32, ls1 - 32);
            }
            UNROLL for (int c = 0; c < nc; c++) {
                const int64_t cc = c0 + c;
                const int8_t *x = a->q + cc * k + 256 * b;
                __m512i is = _mm512_setzero_si512();
                UNROLL for (int j = 0; j < 4; j++) {
                    __m512i xv = _mm512_loadu_si512(x + 64 * j);
                    xv = _mm512_mask_sub_epi8(xv, neg[j], _mm512_setzero_si512(), xv);
                    is = _mm512_dpwssd_epi32(is, _mm512_maddubs_epi16(wa[j], xv), ws[j]);
                }
                const float dx = a->d[cc * nb + b];
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_set1_ps(d * dx), acc[c]);
            }
        }
        UNROLL for (int c = 0; c < nc; c++) job->y[(c0 + c) * job->ldy + r] = _mm512_reduce_add_ps(acc[c]);
    }
}

/* ---- instantiation per activation-row count ---- */


/* ---- Q4_0 and Q8_0: the fast path (VBMI + GFNI, checked at run time) ----
 * A group of 8 blocks (256 weights; 144 / 272 bytes) is dotted with 4
 * dpbusd whose 16 int32 lanes each stay inside one block: in vector v
 * (0..3) lane L < 8 holds weights 4v..4v+3 of block L and lane 8 + L
 * weights 16 + 4v..16 + 4v + 3. After the 4 dpbusd each lane is a
 * half-block's exact integer dot, so the scales are applied once per group
 * and activation row: one vcvtdq2ps, one multiply of the 8 weight d's by
 * the 8 activation d's (each twice) and one FMA. Per group:
 *   weights  vpermt2b compacts the code bytes (2 for Q4_0, 4 for Q8_0),
 *            vpermt2d moves each lane's dword in place (Q8_0 gathers from
 *            4 vectors: two and a blend); Q4_0 then keeps the low nibble
 *            in lanes 0..7 and shifts the high one down in lanes 8..15
 *            with one gf2p8affineqb, Q8_0 makes w + 128 with one xor;
 *   acts     interleaved the same way once per call (ilv_acts, into the
 *            thread's scratch) with the correction -K * sum(x) of each
 *            lane (K = 8 / 128: w = code - K), dpbusd's starting value;
 *   tail     the last nb % 8 blocks one at a time in x's own order.
 * Per activation row 7 vector instructions per 256 weights (was 17). */

#define FAST_INLINE static inline __attribute__((always_inline, target("avx512vbmi,gfni")))
#define FAST_FN __attribute__((target("avx512vbmi,gfni")))

static bool have_fast(void) {
    static int ok = -1; /* benign: every thread computes the same value */
    int v = __atomic_load_n(&ok, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("gfni");
        __atomic_store_n(&ok, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* The index vectors, built once. */
static struct {
    __m512i lane[4];      /* vpermt2d, 4 x 16 dwords (blocks 2j, 2j+1) -> lane order of vector v, blended 0xf0f0 */
    __m512i lane_q4[4];   /* vpermt2d, 8 blocks' 16 code bytes (2 x 4 blocks) -> lane order of vector v */
    __m512i codes[2][4];  /* [q8] vpermt2b compacting the code bytes, from (a, b) pairs of loads below */
    __m512i scale[2][2];  /* [q8] vpermt2w of the 8 f16 d's (lane L and 8 + L: block L) */
} fast_idx;
static pthread_once_t fast_idx_once = PTHREAD_ONCE_INIT;

/* Byte i of compacted vector j is code i & (cb - 1) of block (64 j + i) / cb
 * (cb code bytes per block, bb bytes per block), read from the loads at
 * group bytes a (first 64) and b (second 64). */
static __m512i codes_idx(int cb, int bb, int j, int a, int b) {
    uint8_t idx[64];
    for (int i = 0; i < 64; i++) {
        const int src = bb * ((64 * j + i) / cb) + 2 + (i & (cb - 1));
        idx[i] = (uint8_t)(src - a < 64 ? src - a : 64 + src - b);
    }
    return _mm512_loadu_si512(idx);
}

/* Word L (and 8 + L) is block L's d at byte bb * L, from the loads at
 * group bytes a and a + 64; blocks not there are left to the blend. */
static __m512i scale_idx(int bb, int a) {
    uint16_t idx[32] = {0};
    for (int l = 0; l < 16; l++) {
        const int w = (bb * (l & 7) - a) / 2;
        idx[l] = (uint16_t)(w >= 0 && w < 64 ? w : 0);
    }
    return _mm512_loadu_si512(idx);
}

static void fast_idx_init(void) {
    for (int v = 0; v < 4; v++) {
        uint32_t lane[16], lane_q4[16];
        for (int l = 0; l < 16; l++) {
            const int blk = l & 7, half = l >> 3;
            /* dword 8 blk + 4 half + v of the group's 64 dwords, in a pair of 16-dword vectors */
            lane[l] = (uint32_t)(16 * ((blk >> 1) & 1) + 8 * (blk & 1) + 4 * half + v);
            /* dword v of the block's 4 in the compacted Q4_0 codes (both halves: the nibble is chosen later) */
            lane_q4[l] = (uint32_t)(16 * (blk >> 2) + 4 * (blk & 3) + v);
        }
        fast_idx.lane[v] = _mm512_loadu_si512(lane);
        fast_idx.lane_q4[v] = _mm512_loadu_si512(lane_q4);
    }
    fast_idx.codes[0][0] = codes_idx(16, 18, 0, 0, 64);
    fast_idx.codes[0][1] = codes_idx(16, 18, 1, 64, 80);
    for (int j = 0; j < 4; j++) fast_idx.codes[1][j] = codes_idx(32, 34, j, 64 * j, j < 3 ? 64 * j + 64 : 208);
    fast_idx.scale[0][0] = scale_idx(18, 0);
    fast_idx.scale[1][0] = scale_idx(34, 0);
    fast_idx.scale[1][1] = scale_idx(34, 128);
}

/* The 4 vectors of a group of 64 dwords (4 x 16) in lane order. */
FAST_INLINE void lanes_of(const __m512i s[4], __m512i out[4]) {
    UNROLL for (int v = 0; v < 4; v++)
        out[v] = _mm512_mask_blend_epi32(0xf0f0, _mm512_permutex2var_epi32(s[0], fast_idx.lane[v], s[1]),
                                         _mm512_permutex2var_epi32(s[2], fast_idx.lane[v], s[3]));
}

/* Activation rows [c0, c0 + nc): per group, the 4 vectors in lane order
 * (xi[c][g][4][64 bytes]) and the corrections (corr[c][g][16] int32). */
FAST_FN static void ilv_acts(const fl_mm_act *a, int64_t c0, int nc, int32_t K, int8_t *xi, int32_t *corr) {
    const int64_t k = a->k, ng = k / 256;
    const __m512i kk = _mm512_set1_epi8((char)K);
    for (int c = 0; c < nc; c++) {
        for (int64_t gi = 0; gi < ng; gi++) {
            const int8_t *x = a->q + (c0 + c) * k + 256 * gi;
            __m512i s[4], l[4], sum = _mm512_setzero_si512();
            UNROLL for (int i = 0; i < 4; i++) s[i] = _mm512_loadu_si512(x + 64 * i);
            lanes_of(s, l);
            UNROLL for (int v = 0; v < 4; v++) {
                _mm512_store_si512(xi + ((c * ng + gi) * 4 + v) * 64, l[v]);
                sum = _mm512_dpbusd_epi32(sum, kk, l[v]);
            }
            _mm512_store_si512(corr + (c * ng + gi) * 16, _mm512_sub_epi32(_mm512_setzero_si512(), sum));
        }
    }
}

FAST_INLINE void rows_fast_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1,
                              const int8_t *xi, const int32_t *corr, const bool q8) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, nb = k / 32, ng = nb / 8, gbytes = q8 ? 272 : 144;
    const int K = q8 ? 128 : 8;
    /* gf2p8affine matrices per qword: low nibble (lanes 0..7), high nibble shifted down (8..15) */
    const __m512i nib = _mm512_set_epi64(0x1020408000000000ll, 0x1020408000000000ll, 0x1020408000000000ll,
                                         0x1020408000000000ll, 0x0102040800000000ll, 0x0102040800000000ll,
                                         0x0102040800000000ll, 0x0102040800000000ll);
    const __m512i bias = _mm512_set1_epi8((char)0x80);

    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ROW(w, r);
        __m512 acc[FL_MM_DECODE_MAX];
        float tail[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps(), tail[c] = 0.0f;
        for (int64_t gi = 0; gi < ng; gi++) {
            const uint8_t *g = row + gi * gbytes;
            /* software prefetch: the hardware prefetcher alone reaches ~75% of the
             * read bandwidth on this VM; a prefetch past the row end is harmless */
            for (int64_t o = 0; o < gbytes; o += 64) _mm_prefetch((const char *)g + PF_AHEAD + o, _MM_HINT_T0);
            __m512i wq[4];
            __m256i dh;
            if (q8) {
                const __m512i l0 = _mm512_loadu_si512(g), l1 = _mm512_loadu_si512(g + 64);
                const __m512i l2 = _mm512_loadu_si512(g + 128), l3 = _mm512_loadu_si512(g + 192);
                const __m512i l4 = _mm512_loadu_si512(g + 208);
                const __m512i cv[4] = {_mm512_permutex2var_epi8(l0, fast_idx.codes[1][0], l1),
                                       _mm512_permutex2var_epi8(l1, fast_idx.codes[1][1], l2),
                                       _mm512_permutex2var_epi8(l2, fast_idx.codes[1][2], l3),
                                       _mm512_permutex2var_epi8(l3, fast_idx.codes[1][3], l4)};
                lanes_of(cv, wq);
                UNROLL for (int v = 0; v < 4; v++) wq[v] = _mm512_xor_si512(wq[v], bias);
                dh = _mm512_castsi512_si256(_mm512_mask_blend_epi16(0xf0f0, _mm512_permutex2var_epi16(l0, fast_idx.scale[1][0], l1),
                                                                    _mm512_permutex2var_epi16(l2, fast_idx.scale[1][1], l3)));
            } else {
                const __m512i l0 = _mm512_loadu_si512(g), l1 = _mm512_loadu_si512(g + 64);
                const __m512i l2 = _mm512_loadu_si512(g + 80);
                const __m512i c0v = _mm512_permutex2var_epi8(l0, fast_idx.codes[0][0], l1);
                const __m512i c1v = _mm512_permutex2var_epi8(l1, fast_idx.codes[0][1], l2);
                UNROLL for (int v = 0; v < 4; v++)
                    wq[v] = _mm512_gf2p8affine_epi64_epi8(_mm512_permutex2var_epi32(c0v, fast_idx.lane_q4[v], c1v), nib, 0);
                dh = _mm512_castsi512_si256(_mm512_permutex2var_epi16(l0, fast_idx.scale[0][0], l1));
            }
            const __m512 dw = _mm512_cvtph_ps(dh);
            UNROLL for (int c = 0; c < nc; c++) {
                const int64_t cc = c0 + c;
                const int8_t *x = xi + (c * ng + gi) * 256;
                __m512i is = _mm512_load_si512(corr + (c * ng + gi) * 16);
                UNROLL for (int v = 0; v < 4; v++) is = _mm512_dpbusd_epi32(is, wq[v], _mm512_load_si512(x + 64 * v));
                const __m512 f = _mm512_mul_ps(dw, _mm512_broadcast_f32x8(_mm256_loadu_ps(a->d + cc * nb + 8 * gi)));
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), f, acc[c]);
            }
        }
        for (int64_t b = 8 * ng; b < nb; b++) { /* the last nb % 8 blocks, one at a time */
            const uint8_t *p = row + b * (q8 ? 34 : 18);
            const __m256i wb = q8 ? _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 2)), _mm512_castsi512_si256(bias))
                                  : nibbles32(p + 2);
            const float d = _cvtsh_ss(fl_mm_u16(p));
            UNROLL for (int c = 0; c < nc; c++) {
                const int64_t cc = c0 + c;
                __m256i is = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wb,
                                                 _mm256_loadu_si256((const __m256i *)(a->q + cc * k + 32 * b)));
                __m128i h = _mm_add_epi32(_mm256_castsi256_si128(is), _mm256_extracti128_si256(is, 1));
                h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
                h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
                const int32_t dot = _mm_cvtsi128_si32(h) - K * a->sum[cc * nb + b];
                tail[c] += d * a->d[cc * nb + b] * (float)dot;
            }
        }
        UNROLL for (int c = 0; c < nc; c++) job->y[(c0 + c) * job->ldy + r] = _mm512_reduce_add_ps(acc[c]) + tail[c];
    }
}

#define C_FAST(N) rows_fast_nc(job, c0, N, r0, r1, xi, corr, q8)

/* scratch: the interleaved activations, then their corrections */
FAST_INLINE void rows_fast(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch,
                           const bool q8) {
    pthread_once(&fast_idx_once, fast_idx_init);
    int8_t *xi = scratch;
    int32_t *corr = (int32_t *)(xi + nc * (job->w->k / 256) * 256);
    ilv_acts(job->a, c0, (int)nc, q8 ? 128 : 8, xi, corr);
    FL_MM_DISPATCH8(nc, C_FAST)
}

FAST_FN static void rows_q4_0_fast(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) {
    rows_fast(job, c0, nc, r0, r1, scratch, false);
}

FAST_FN static void rows_q8_0_fast(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) {
    rows_fast(job, c0, nc, r0, r1, scratch, true);
}

/* ---- Q4_K: the fast path (GFNI + VBMI, checked at run time) ----
 * Per super-block (144 bytes, 256 elements):
 *   weights  one broadcast load of 32 code bytes per 64 elements and one
 *            gf2p8affineqb (low nibbles in the first half, high nibbles
 *            shifted down in the second: elements 64j .. 64j + 63);
 *   scales   the 12 packed bytes -> 8 scales and 8 mins with 64-bit
 *            integer ops, one vpmovzxbw, and one vpermw per 64 elements
 *            (the scale of each 16-bit lane) plus one for the mins;
 *   dot      maddubs + dpwssd by the scales (as rows_q45k_nc) and the min
 *            term as one vpmaddwd of the mins against the activation
 *            sums of 16 narrowed to 16 bits (|sum| <= 16 * 127), each
 *            converted to float once per super-block. */
FAST_INLINE void rows_q4k_fast_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, nb = k / 256;
    const __m512i nib = _mm512_set_epi64(0x1020408000000000ll, 0x1020408000000000ll, 0x1020408000000000ll,
                                         0x1020408000000000ll, 0x0102040800000000ll, 0x0102040800000000ll,
                                         0x0102040800000000ll, 0x0102040800000000ll);
    __m512i sidx[4];
    UNROLL for (int j = 0; j < 4; j++)
        sidx[j] = _mm512_inserti64x4(_mm512_set1_epi16((short)(2 * j)), _mm256_set1_epi16((short)(2 * j + 1)), 1);
    const __m256i midx = _mm256_setr_epi16(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ROW(w, r);
        __m512 acc[FL_MM_DECODE_MAX];
        __m256 accm[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps(), accm[c] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * 144;
            _mm_prefetch((const char *)blk + PF_AHEAD, _MM_HINT_T0);
            _mm_prefetch((const char *)blk + PF_AHEAD + 64, _MM_HINT_T0);
            _mm_prefetch((const char *)blk + PF_AHEAD + 128, _MM_HINT_T0);
            const float d = _cvtsh_ss(fl_mm_u16(blk)), dmin = _cvtsh_ss(fl_mm_u16(blk + 2));
            uint64_t sc, mn;
            fl_mm_scales_mins_k4(blk + 4, &sc, &mn);
            const __m256i sm = _mm256_cvtepu8_epi16(_mm_set_epi64x((long long)mn, (long long)sc));
            const __m512i smz = _mm512_castsi256_si512(sm);
            __m512i wq[4], ws[4];
            UNROLL for (int j = 0; j < 4; j++) {
                const __m256i q = _mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * j));
                wq[j] = _mm512_gf2p8affine_epi64_epi8(_mm512_broadcast_i64x4(q), nib, 0);
                ws[j] = _mm512_permutexvar_epi16(sidx[j], smz);
            }
            const __m256i mw = _mm256_permutexvar_epi16(midx, sm);
            UNROLL for (int c = 0; c < nc; c++) {
                const int64_t cc = c0 + c;
                const int8_t *x = a->q + cc * k + 256 * b;
                __m512i is = _mm512_setzero_si512();
                UNROLL for (int j = 0; j < 4; j++)
                    is = _mm512_dpwssd_epi32(is, _mm512_maddubs_epi16(wq[j], _mm512_loadu_si512(x + 64 * j)), ws[j]);
                const __m256i s16 = _mm512_cvtepi32_epi16(_mm512_loadu_si512(a->sum + cc * (k / 16) + 16 * b));
                const __m256i mt = _mm256_madd_epi16(s16, mw);
                const float dx = a->d[cc * nb + b];
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_set1_ps(d * dx), acc[c]);
                accm[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mt), _mm256_set1_ps(dmin * dx), accm[c]);
            }
        }
        UNROLL for (int c = 0; c < nc; c++) {
            const __m256 m = accm[c];
            __m128 h = _mm_add_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
            h = _mm_add_ps(h, _mm_movehl_ps(h, h));
            h = _mm_add_ss(h, _mm_movehdup_ps(h));
            job->y[(c0 + c) * job->ldy + r] = _mm512_reduce_add_ps(acc[c]) - _mm_cvtss_f32(h);
        }
    }
}

#define C_Q4_KF(N) rows_q4k_fast_nc(job, c0, N, r0, r1)

FAST_FN static void rows_q4_k_fast(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1) {
    FL_MM_DISPATCH8(nc, C_Q4_KF)
}

/* ---- Q6_K: the fast path (GFNI, checked at run time) ----
 * Per half super-block (128 elements: 64 bytes of ql, 32 of qh):
 *   codes    elements 0..63 are the low nibbles of ql, 64..127 the high
 *            nibbles, each OR'd (one vpternlogd) with their two qh bits,
 *            which one gf2p8affineqb moves to bits 4..5 (qh broadcast to
 *            both halves; bits 0..1 / 2..3 for the first 64, 4..5 / 6..7
 *            for the second): unsigned codes 0..63 for maddubs;
 *   scales   one vpmovsxbw of the 16 int8 scales and one vpermw per 64
 *            elements; the -32 offset is one more dpwssd of the
 *            activation sums of 16 (narrowed to 16 bits, |sum| <= 2032)
 *            against -32 * scale, into the same int32 lanes. */
FAST_INLINE void rows_q6k_fast_nc(const fl_mm_job *job, int64_t c0, const int nc, int64_t r0, int64_t r1) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, nb = k / 256;
    const long long h01 = 0x0000000001020000ll, h23 = 0x0000000004080000ll, h45 = 0x0000000010200000ll,
                    h67 = 0x0000000040800000ll;
    const __m512i hlo = _mm512_set_epi64(h23, h23, h23, h23, h01, h01, h01, h01);
    const __m512i hhi = _mm512_set_epi64(h67, h67, h67, h67, h45, h45, h45, h45);
    const __m512i lo4 = _mm512_set1_epi8(0x0f);
    __m512i sidx[4];
    UNROLL for (int j = 0; j < 4; j++) {
        const __m128i q0 = _mm_set1_epi16((short)(4 * j)), q1 = _mm_set1_epi16((short)(4 * j + 1));
        const __m128i q2 = _mm_set1_epi16((short)(4 * j + 2)), q3 = _mm_set1_epi16((short)(4 * j + 3));
        sidx[j] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(q1, q0)), _mm256_set_m128i(q3, q2), 1);
    }
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ROW(w, r);
        __m512 acc[FL_MM_DECODE_MAX];
        UNROLL for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * 210;
            for (int o = 0; o < 210; o += 64) _mm_prefetch((const char *)blk + PF_AHEAD + o, _MM_HINT_T0);
            const float d = _cvtsh_ss(fl_mm_u16(blk + 208));
            __m512i wq[4], ws[4];
            UNROLL for (int n = 0; n < 2; n++) {
                const __m512i l = _mm512_loadu_si512(blk + 64 * n);
                const __m512i h = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * n)));
                /* (A & C) | B with C = 0x0f: imm 0xEC */
                wq[2 * n] = _mm512_ternarylogic_epi32(l, _mm512_gf2p8affine_epi64_epi8(h, hlo, 0), lo4, 0xEC);
                wq[2 * n + 1] =
                    _mm512_ternarylogic_epi32(_mm512_srli_epi16(l, 4), _mm512_gf2p8affine_epi64_epi8(h, hhi, 0), lo4, 0xEC);
            }
            const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192)));
            const __m512i soff = _mm512_zextsi256_si512(_mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(s16, 5)));
            UNROLL for (int j = 0; j < 4; j++) ws[j] = _mm512_permutexvar_epi16(sidx[j], _mm512_castsi256_si512(s16));
            UNROLL for (int c = 0; c < nc; c++) {
                const int64_t cc = c0 + c;
                const int8_t *x = a->q + cc * k + 256 * b;
                const __m256i xs = _mm512_cvtepi32_epi16(_mm512_loadu_si512(a->sum + cc * (k / 16) + 16 * b));
                __m512i is = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_zextsi256_si512(xs), soff);
                UNROLL for (int j = 0; j < 4; j++)
                    is = _mm512_dpwssd_epi32(is, _mm512_maddubs_epi16(wq[j], _mm512_loadu_si512(x + 64 * j)), ws[j]);
                const float dx = a->d[cc * nb + b];
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_set1_ps(d * dx), acc[c]);
            }
        }
        UNROLL for (int c = 0; c < nc; c++) job->y[(c0 + c) * job->ldy + r] = _mm512_reduce_add_ps(acc[c]);
    }
}

#define C_Q6_KF(N) rows_q6k_fast_nc(job, c0, N, r0, r1)

FAST_FN static void rows_q6_k_fast(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1) {
    FL_MM_DISPATCH8(nc, C_Q6_KF)
}

#define ROWS_T(name, impl, ...)                                                                                   \
    static void rows_##name(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) { \
        (void)scratch;                                                                                            \
        _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wunused-parameter\"")                 \
        FL_MM_DISPATCH8(nc, impl)                                                                                         \
        _Pragma("GCC diagnostic pop")                                                                             \
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
#define C_Q4_K(N) rows_q45k_nc(job, c0, N, r0, r1, false)
#define C_Q5_K(N) rows_q45k_nc(job, c0, N, r0, r1, true)
#define C_Q6_K(N) rows_q6k_nc(job, c0, N, r0, r1)
#define C_IQ4_XS(N) rows_iq4xs_nc(job, c0, N, r0, r1)

ROWS_T(f32, C_F32)
ROWS_T(f16, C_F16)
ROWS_T(bf16, C_BF16)
ROWS_T(q4_0_generic, C_Q4_0)
ROWS_T(q4_1, C_Q4_1)
ROWS_T(q5_0, C_Q5_0)
ROWS_T(q5_1, C_Q5_1)
ROWS_T(q8_0_generic, C_Q8_0)

static void rows_q4_0(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) {
    if (have_fast()) rows_q4_0_fast(job, c0, nc, r0, r1, scratch);
    else rows_q4_0_generic(job, c0, nc, r0, r1, scratch);
}

static void rows_q8_0(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) {
    if (have_fast()) rows_q8_0_fast(job, c0, nc, r0, r1, scratch);
    else rows_q8_0_generic(job, c0, nc, r0, r1, scratch);
}
ROWS_T(iq4_nl, C_IQ4_NL)
ROWS_T(mxfp4, C_MXFP4)
ROWS_T(mlx4, C_MLX4)
ROWS_T(mlx8, C_MLX8)
ROWS_T(q4_k_generic, C_Q4_K)

static void rows_q4_k(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) {
    if (have_fast()) rows_q4_k_fast(job, c0, nc, r0, r1);
    else rows_q4_k_generic(job, c0, nc, r0, r1, scratch);
}
ROWS_T(q5_k, C_Q5_K)
ROWS_T(q6_k_generic, C_Q6_K)

static void rows_q6_k(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) {
    if (have_fast()) rows_q6_k_fast(job, c0, nc, r0, r1);
    else rows_q6_k_generic(job, c0, nc, r0, r1, scratch);
}
ROWS_T(iq4_xs, C_IQ4_XS)

/* The two AVX-512 tables differ only in the prefill of BF16 weights: the
 * "amx" table runs it on AMX tiles (matmul_gemm_amx.c), chosen where the
 * CPU and OS allow them. */
#define AVX512_TABLE(NAME, GEMM_BF16, ROWS_BF16, PREFILL)                                        \
    {                                                                                   \
        .name = NAME,                                                                   \
        .quant_q8_32 = quant_q8_32,                                                     \
        .quant_q8_k = quant_q8_k,                                                       \
        .dot_f32 = dot_f32,                                                             \
        .rows = {FL_MM_ROWS_EVERY_TYPE},                                                \
        .gemm =                                                                         \
            {                                                                           \
                [FLINT_TYPE_F32] = fl_mm_avx512_gemm_float,                             \
                [FLINT_TYPE_F16] = fl_mm_avx512_gemm_float,                             \
                [FLINT_TYPE_BF16] = GEMM_BF16,                                          \
                [FLINT_TYPE_Q4_0] = fl_mm_avx512_gemm_int8,                             \
                [FLINT_TYPE_Q4_1] = fl_mm_avx512_gemm_int8,                             \
                [FLINT_TYPE_Q5_0] = fl_mm_avx512_gemm_int8,                             \
                [FLINT_TYPE_Q5_1] = fl_mm_avx512_gemm_int8,                             \
                [FLINT_TYPE_Q8_0] = fl_mm_avx512_gemm_int8,                             \
                [FLINT_TYPE_IQ4_NL] = fl_mm_avx512_gemm_int8,                           \
                [FLINT_TYPE_MXFP4] = fl_mm_avx512_gemm_int8,                            \
                [FLINT_TYPE_MLX_Q4] = fl_mm_avx512_gemm_int8,                           \
                [FLINT_TYPE_MLX_Q8] = fl_mm_avx512_gemm_int8,                           \
                [FLINT_TYPE_Q4_K] = fl_mm_avx512_gemm_int8,                             \
                [FLINT_TYPE_Q5_K] = fl_mm_avx512_gemm_int8,                             \
                [FLINT_TYPE_Q6_K] = fl_mm_avx512_gemm_int8,                             \
            },                                                                          \
        .gemm_rows = {[FLINT_TYPE_BF16] = ROWS_BF16},                                   \
        .pack_bytes = PREFILL##_pack_bytes,                                             \
        .pack_act = PREFILL##_pack_act,                                                 \
        .gemm_scratch_bytes = PREFILL##_gemm_scratch_bytes,                             \
    }

const fl_mm_kernels fl_mm_kernels_avx512 = AVX512_TABLE("avx512", fl_mm_avx512_gemm_float, 0, fl_mm_avx512);
#if defined(__x86_64__)
const fl_mm_kernels fl_mm_kernels_amx = AVX512_TABLE("amx", fl_mm_amx_gemm_bf16, FL_MM_AMX_ROWS, fl_mm_amx);
#endif

/* The block unpackers, shared with the GEMM file: blocks [b0, b0 + nb) of
 * row r as 32 signed codes each, with their scales and mins (one call per
 * row and run: the type switch and the MLX set-up stay out of the block
 * loop); the same for the sub-blocks of a K-quant super-block. */
INLINE void blocks32(const flint_type t, const fl_weight *w, int64_t r, int64_t b0, int64_t nb, int8_t *codes, float *d,
                     float *m) {
    mlx_row mx = {0};
    mlx_setup(w, r, &mx);
    const uint8_t *row = ROW(w, r);
    for (int64_t b = 0; b < nb; b++)
        _mm256_storeu_si256((__m256i *)(codes + 32 * b), block32(t, row, b0 + b, &mx, d + b, m + b));
}

void fl_mm_avx512_blocks32(const fl_weight *w, int64_t r, int64_t b0, int64_t nb, int8_t *codes, float *d, float *m) {
    switch (w->type) {
    case FLINT_TYPE_Q4_0: blocks32(FLINT_TYPE_Q4_0, w, r, b0, nb, codes, d, m); break;
    case FLINT_TYPE_Q4_1: blocks32(FLINT_TYPE_Q4_1, w, r, b0, nb, codes, d, m); break;
    case FLINT_TYPE_Q5_0: blocks32(FLINT_TYPE_Q5_0, w, r, b0, nb, codes, d, m); break;
    case FLINT_TYPE_Q5_1: blocks32(FLINT_TYPE_Q5_1, w, r, b0, nb, codes, d, m); break;
    case FLINT_TYPE_Q8_0: blocks32(FLINT_TYPE_Q8_0, w, r, b0, nb, codes, d, m); break;
    case FLINT_TYPE_IQ4_NL: blocks32(FLINT_TYPE_IQ4_NL, w, r, b0, nb, codes, d, m); break;
    case FLINT_TYPE_MXFP4: blocks32(FLINT_TYPE_MXFP4, w, r, b0, nb, codes, d, m); break;
    case FLINT_TYPE_MLX_Q4: blocks32(FLINT_TYPE_MLX_Q4, w, r, b0, nb, codes, d, m); break;
    default: blocks32(FLINT_TYPE_MLX_Q8, w, r, b0, nb, codes, d, m); break;
    }
}

void fl_mm_avx512_block256(const fl_weight *w, int64_t r, int64_t b, int8_t *codes, float *scale, float *min) {
    const uint8_t *row = ROW(w, r);
    __m512i wq[4];
    if (w->type == FLINT_TYPE_Q6_K) {
        const uint8_t *blk = row + 210 * b;
        const float d = _cvtsh_ss(fl_mm_u16(blk + 208));
        q6k_codes(blk, wq);
        for (int c4 = 0; c4 < 4; c4++) _mm512_storeu_si512(codes + 64 * c4, _mm512_sub_epi8(wq[c4], _mm512_set1_epi8(32)));
        for (int g = 0; g < 16; g++) scale[g] = d * (float)(int8_t)blk[192 + g], min[g] = 0.0f;
        return;
    }
    const bool five = w->type == FLINT_TYPE_Q5_K;
    const uint8_t *blk = row + (five ? 176 : 144) * b;
    const float d = _cvtsh_ss(fl_mm_u16(blk)), dmin = _cvtsh_ss(fl_mm_u16(blk + 2));
    if (five) q45k_codes(blk, true, wq);
    else q45k_codes(blk, false, wq);
    for (int c4 = 0; c4 < 4; c4++) _mm512_storeu_si512(codes + 64 * c4, wq[c4]);
    for (int j = 0; j < 8; j++) {
        int sc, mn;
        fl_mm_scale_min_k4(blk + 4, j, &sc, &mn);
        scale[j] = d * (float)sc, min[j] = -dmin * (float)mn;
    }
}

#endif
