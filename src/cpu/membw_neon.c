/* membw_neon.c — the bandwidth probe's read kernel with 128-bit NEON loads
 * (membw.h): 8 independent accumulators, two cache lines per iteration.
 * Compiles to a NULL stub off aarch64. */
#include "cpu/membw.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

static uint64_t read_neon(const void *p, size_t n) {
    const uint64_t *w = p;
    uint64x2_t a0 = vdupq_n_u64(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t i = 0; i < n / 8; i += 16) {
        a0 = vaddq_u64(a0, vld1q_u64(w + i));
        a1 = vaddq_u64(a1, vld1q_u64(w + i + 2));
        a2 = vaddq_u64(a2, vld1q_u64(w + i + 4));
        a3 = vaddq_u64(a3, vld1q_u64(w + i + 6));
        a4 = vaddq_u64(a4, vld1q_u64(w + i + 8));
        a5 = vaddq_u64(a5, vld1q_u64(w + i + 10));
        a6 = vaddq_u64(a6, vld1q_u64(w + i + 12));
        a7 = vaddq_u64(a7, vld1q_u64(w + i + 14));
    }
    a0 = vaddq_u64(vaddq_u64(vaddq_u64(a0, a1), vaddq_u64(a2, a3)), vaddq_u64(vaddq_u64(a4, a5), vaddq_u64(a6, a7)));
    return vaddvq_u64(a0);
}

fl_membw_read_fn fl_membw_read_neon(void) { return read_neon; }
#else
fl_membw_read_fn fl_membw_read_neon(void) { return 0; }
#endif
