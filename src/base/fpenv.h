/* fpenv.h — flush denormals to zero while flint computes.
 *
 * Decays such as the delta rule's e^(G_t - G_s) and softmax tails reach
 * the denormal range, and x86 cores take a microcode assist (~100x the
 * cost) for every denormal operand: one Qwen3.5 prefill spent 18% of its
 * time there. Below ~1e-38 the values change no result, so pool threads
 * run with FTZ + DAZ (x86) or FZ (aarch64) set, and the API's entry points
 * set it for the caller's thread and restore the caller's mode on return. */
#ifndef FL_BASE_FPENV_H
#define FL_BASE_FPENV_H

#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

typedef struct fl_fpenv {
    uint64_t saved;
} fl_fpenv;

/* Sets flush-to-zero for this thread; returns the mode to restore. */
static inline fl_fpenv fl_fpenv_flush_denormals(void) {
    fl_fpenv e = {0};
#if defined(__x86_64__) || defined(__i386__)
    e.saved = _mm_getcsr();
    _mm_setcsr((unsigned)e.saved | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    e.saved = fpcr;
    __asm__ __volatile__("msr fpcr, %0" ::"r"(fpcr | (1ull << 24))); /* FZ */
#endif
    return e;
}

static inline void fl_fpenv_restore(fl_fpenv e) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr((unsigned)e.saved);
#elif defined(__aarch64__)
    __asm__ __volatile__("msr fpcr, %0" ::"r"(e.saved));
#else
    (void)e;
#endif
}

#endif
