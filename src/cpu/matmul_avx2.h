/* matmul_avx2.h — what the two AVX2 matmul files share: the weight-code
 * decoders (32-element blocks through matmul_block32_x86.h, the 32-element
 * groups of the K-quants), which the decode kernels of matmul_avx2.c and
 * the panel unpacking of matmul_gemm_avx2.c both use, and the prefill GEMM
 * entry points that the AVX2 kernel table lists. Included only by files
 * built with the AVX2 flags. */
#ifndef FL_CPU_MATMUL_AVX2_H
#define FL_CPU_MATMUL_AVX2_H

#include <immintrin.h>

#include "cpu/matmul_kernels.h"

#define INLINE static inline __attribute__((always_inline))

#define ROW(w, r) ((const uint8_t *)(w)->data + (uint64_t)(r) * (w)->row_bytes)

/* bit j of qh (u32 LE) -> 0x10 in byte j */
INLINE __m256i q5_high(const uint8_t *qh) {
    uint32_t h;
    memcpy(&h, qh, 4);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303ll, 0x0202020202020202ll, 0x0101010101010101ll, 0);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h), shuf);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

#include "cpu/matmul_block32_x86.h"

/* Q4_K (144-byte block) / Q5_K (176): the unsigned codes (0..15 / 0..31)
 * of elements 32j .. 32j + 31 of super-block blk */
INLINE __m256i q45k_codes32(const uint8_t *blk, const bool five, int j) {
    const __m256i lo4 = _mm256_set1_epi8(0x0f);
    __m256i v = _mm256_loadu_si256((const __m256i *)(blk + (five ? 48 : 16) + 32 * (j / 2)));
    __m256i q = (j & 1) ? _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4) : _mm256_and_si256(v, lo4);
    if (!five) return q;
    __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 16));
    return _mm256_or_si256(q, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, j), _mm256_set1_epi8(1)), 4));
}

/* Q6_K (210-byte block): the unsigned codes (0..63, the -32 not applied)
 * of elements 32e .. 32e + 31; e = 4n + g takes the low (g < 2) or high
 * nibbles of ql[64n + 32 (g & 1) ..] and bits 2g, 2g + 1 of qh[32n ..] */
INLINE __m256i q6k_codes32(const uint8_t *blk, int e) {
    const int n = e / 4, g = e % 4;
    const __m256i lo4 = _mm256_set1_epi8(0x0f);
    __m256i l = _mm256_loadu_si256((const __m256i *)(blk + 64 * n + 32 * (g & 1)));
    __m256i h = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * n));
    __m256i nib = g >= 2 ? _mm256_and_si256(_mm256_srli_epi16(l, 4), lo4) : _mm256_and_si256(l, lo4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(h, 2 * g), _mm256_set1_epi8(3));
    return _mm256_or_si256(nib, _mm256_slli_epi16(hi, 4));
}

/* the prefill GEMM (matmul_gemm_avx2.c), entries of fl_mm_kernels */
void fl_mm_avx2_gemm_int8(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch);
uint64_t fl_mm_avx2_pack_bytes(flint_type type, int64_t n, int64_t k);
void fl_mm_avx2_pack_act(flint_type type, const fl_mm_act *a, void *packed, int64_t c0, int64_t c1);
uint64_t fl_mm_avx2_gemm_scratch_bytes(flint_type type, int64_t n, int64_t k);

#endif
