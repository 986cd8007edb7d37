/* membw_avx512.c — the bandwidth probe's read kernel with 512-bit loads
 * (membw.h): 8 loads of a cache line each per iteration into 8 independent
 * accumulators, so the loop issues loads as fast as memory returns them. */
#include "cpu/membw.h"

#if defined(__x86_64__) && defined(__AVX512F__)
#include <immintrin.h>

static uint64_t read_avx512(const void *p, size_t n) {
    const __m512i *v = p;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t i = 0; i < n / 64; i += 8) {
        a0 = _mm512_add_epi64(a0, _mm512_load_si512(v + i));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512(v + i + 1));
        a2 = _mm512_add_epi64(a2, _mm512_load_si512(v + i + 2));
        a3 = _mm512_add_epi64(a3, _mm512_load_si512(v + i + 3));
        a4 = _mm512_add_epi64(a4, _mm512_load_si512(v + i + 4));
        a5 = _mm512_add_epi64(a5, _mm512_load_si512(v + i + 5));
        a6 = _mm512_add_epi64(a6, _mm512_load_si512(v + i + 6));
        a7 = _mm512_add_epi64(a7, _mm512_load_si512(v + i + 7));
    }
    a0 = _mm512_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)),
                          _mm512_add_epi64(_mm512_add_epi64(a4, a5), _mm512_add_epi64(a6, a7)));
    /* summed as unsigned: the intrinsic's reduction adds signed lanes, which
     * may overflow (undefined behaviour) on arbitrary data */
    uint64_t lane[8], sum = 0;
    _mm512_storeu_si512(lane, a0);
    for (int i = 0; i < 8; i++) sum += lane[i];
    return sum;
}

fl_membw_read_fn fl_membw_read_avx512(void) { return read_avx512; }
#else
fl_membw_read_fn fl_membw_read_avx512(void) { return 0; }
#endif
