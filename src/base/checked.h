/* checked.h — overflow-checked 64-bit arithmetic for sizes read from files.
 * Each returns false (and leaves *r unspecified) when the result overflows. */
#ifndef FL_BASE_CHECKED_H
#define FL_BASE_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

static inline bool fl_add_u64(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_add_overflow(a, b, r); }
static inline bool fl_mul_u64(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_mul_overflow(a, b, r); }
static inline bool fl_mul_i64(int64_t a, int64_t b, int64_t *r) { return !__builtin_mul_overflow(a, b, r); }

/* Rounds x up to a multiple of align (a power of two). */
static inline bool fl_align_u64(uint64_t x, uint64_t align, uint64_t *r) {
    if (!fl_add_u64(x, align - 1, r)) return false;
    *r &= ~(align - 1);
    return true;
}

#endif
