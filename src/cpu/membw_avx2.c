/* membw_avx2.c — the bandwidth probe's read kernel with 256-bit loads
 * (membw.h): 8 independent accumulators, two cache lines per 4 loads. */
#include "cpu/membw.h"

#if defined(__x86_64__) && defined(__AVX2__)
#include <immintrin.h>

static uint64_t read_avx2(const void *p, size_t n) {
    const __m256i *v = p;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t i = 0; i < n / 32; i += 8) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256(v + i));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256(v + i + 1));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256(v + i + 2));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256(v + i + 3));
        a4 = _mm256_add_epi64(a4, _mm256_load_si256(v + i + 4));
        a5 = _mm256_add_epi64(a5, _mm256_load_si256(v + i + 5));
        a6 = _mm256_add_epi64(a6, _mm256_load_si256(v + i + 6));
        a7 = _mm256_add_epi64(a7, _mm256_load_si256(v + i + 7));
    }
    a0 = _mm256_add_epi64(_mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)),
                          _mm256_add_epi64(_mm256_add_epi64(a4, a5), _mm256_add_epi64(a6, a7)));
    __m128i s = _mm_add_epi64(_mm256_castsi256_si128(a0), _mm256_extracti128_si256(a0, 1));
    return (uint64_t)_mm_cvtsi128_si64(s) + (uint64_t)_mm_extract_epi64(s, 1);
}

fl_membw_read_fn fl_membw_read_avx2(void) { return read_avx2; }
#else
fl_membw_read_fn fl_membw_read_avx2(void) { return 0; }
#endif
