/* matmul_avx512.h — what the AVX-512 matmul files share: the prefill GEMM
 * entry points (matmul_gemm_avx512.c, and matmul_gemm_amx.c for the "amx"
 * table) that the kernel tables of matmul_avx512.c list, the block
 * unpackers the GEMM borrows, the float weight loader, the 16 x 16
 * transpose and tail masks. Included only by files built with the AVX-512
 * flags. */
#ifndef FL_CPU_MATMUL_AVX512_H
#define FL_CPU_MATMUL_AVX512_H

#include <immintrin.h>

#include "cpu/matmul_kernels.h"

/* 16 float weights (F32, F16 or BF16; lanes outside m read as 0) as f32:
 * exact for all three. */
static inline __attribute__((always_inline)) __m512 fl_mm_avx512_load_w16(flint_type t, const void *p, __mmask16 m) {
    if (t == FLINT_TYPE_F32) return _mm512_maskz_loadu_ps(m, p);
    __m256i h = _mm256_maskz_loadu_epi16(m, p);
    if (t == FLINT_TYPE_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* Lanes [0, left) of 16 (none for left <= 0). */
static inline __mmask16 fl_mm_avx512_mask16(int64_t left) {
    return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
}

/* r[j][i] -> r[i][j] for 16 rows of 16 32-bit lanes */
static inline __attribute__((always_inline)) void fl_mm_avx512_transpose16(__m512 r[16]) {
    __m512 t[16];
    _Pragma("GCC unroll 8") for (int p = 0; p < 8; p++) {
        t[2 * p] = _mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    /* u[4q + c], 128-bit lane L: rows 4q..4q+3 of column 4L + c */
    _Pragma("GCC unroll 8") for (int q = 0; q < 4; q++) {
        const __m512d a = _mm512_castps_pd(t[4 * q]), b = _mm512_castps_pd(t[4 * q + 2]);
        const __m512d c = _mm512_castps_pd(t[4 * q + 1]), d = _mm512_castps_pd(t[4 * q + 3]);
        r[4 * q] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        r[4 * q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        r[4 * q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        r[4 * q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    _Pragma("GCC unroll 8") for (int c = 0; c < 4; c++) {
        t[c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88);     /* lanes 0, 2 */
        t[4 + c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xdd); /* lanes 1, 3 */
        t[8 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xdd);
    }
    _Pragma("GCC unroll 8") for (int c = 0; c < 4; c++) {
        r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xdd);
        r[4 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0xdd);
    }
}

/* Blocks [b0, b0 + nb) of weight row r as 32 signed codes each (element
 * order), with each block's scale d and min m: W = d * code + m. For the
 * Q8_32 types. */
void fl_mm_avx512_blocks32(const fl_weight *w, int64_t r, int64_t b0, int64_t nb, int8_t *codes, float *d, float *m);

/* Super-block b of weight row r of a K-quant (Q4_K, Q5_K, Q6_K): 256
 * signed codes in element order, and per sub-block (32 elements; 16 for
 * Q6_K) its scale and min: W = scale * code + min. Scales and mins are
 * exact f32 products of the block's f16 and integer fields. */
void fl_mm_avx512_block256(const fl_weight *w, int64_t r, int64_t b, int8_t *codes, float *scale, float *min);

void fl_mm_avx512_gemm_int8(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch);
void fl_mm_avx512_gemm_float(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch);
uint64_t fl_mm_avx512_pack_bytes(flint_type type, int64_t n, int64_t k);
void fl_mm_avx512_pack_act(flint_type type, const fl_mm_act *a, void *packed, int64_t c0, int64_t c1);
uint64_t fl_mm_avx512_gemm_scratch_bytes(flint_type type, int64_t n, int64_t k);

/* matmul_gemm_amx.c: the AMX GEMM of BF16 weights, up to FL_MM_AMX_ROWS
 * weight rows per call (every call reads all of x: tall units read it
 * fewer times); the packing and scratch of every type (the others forward
 * to the AVX-512 functions above) */
#define FL_MM_AMX_ROWS 256
void fl_mm_amx_gemm_bf16(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch);
uint64_t fl_mm_amx_pack_bytes(flint_type type, int64_t n, int64_t k);
void fl_mm_amx_pack_act(flint_type type, const fl_mm_act *a, void *packed, int64_t c0, int64_t c1);
uint64_t fl_mm_amx_gemm_scratch_bytes(flint_type type, int64_t n, int64_t k);

#endif
