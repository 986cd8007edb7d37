/* half.c — conversions between f32 and the two 16-bit floats (IEEE binary16
 * "F16" and bfloat16 "BF16"), done on the bit patterns so that they are
 * exact, portable and independent of the FPU (no F16C, no rounding mode).
 * Owns nothing else; the row functions that use these live in dequant.c
 * and quantize.c. */
#include <string.h>

#include "quant/dequant.h"

static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t bits_from_f32(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Every value is
 * exactly representable in f32. NaN keeps its sign and payload bits (not
 * quieted), as numpy's float16 -> float32 cast does. */
float fl_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000 | man << 13); /* inf, NaN */
    if (exp == 0) {
        if (man == 0) return f32_from_bits(sign); /* +-0 */
        /* subnormal: man * 2^-24; shift the leading 1 up to bit 10 */
        exp = 113; /* the f32 biased exponent of 2^-14 */
        while (!(man & 0x400)) {
            man <<= 1;
            exp--;
        }
        man &= 0x3ff;
        return f32_from_bits(sign | exp << 23 | man << 13);
    }
    return f32_from_bits(sign | (exp + 112) << 23 | man << 13);
}

/* Rounds to nearest, ties to even. Overflow goes to inf (65520 and up, the
 * midpoint above the largest half 65504); f32 values below half's normal
 * range become half subnormals, rounded the same way. NaN stays NaN (quiet,
 * top 9 payload bits kept). */
uint16_t fl_f32_to_f16(float f) {
    uint32_t x = bits_from_f32(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    x &= 0x7fffffff;
    if (x > 0x7f800000) return (uint16_t)(sign | 0x7e00 | ((x >> 13) & 0x3ff));
    if (x >= 0x477ff000) return (uint16_t)(sign | 0x7c00); /* >= 65520 or inf */
    uint32_t e = x >> 23;
    if (e >= 113) { /* normal half: re-bias the exponent, keep 10 mantissa bits */
        uint32_t h = ((e - 112) << 10) | ((x >> 13) & 0x3ff);
        uint32_t rest = x & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++; /* carries into the exponent correctly */
        return (uint16_t)(sign | h);
    }
    if (e < 102) return sign; /* below 2^-25: rounds to zero */
    /* subnormal half m * 2^-24 from (1.man) * 2^(e-127): m = mant >> (126 - e) */
    uint32_t mant = (x & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e; /* 14..24 */
    uint32_t m = mant >> shift;
    uint32_t rest = mant & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (m & 1))) m++; /* m == 0x400 is the smallest normal */
    return (uint16_t)(sign | m);
}

/* bfloat16 is the top half of an f32. */
float fl_bf16_to_f32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

/* Rounds to nearest even as ggml_compute_fp32_to_bf16 does: NaN is forced
 * quiet (bit 6 of the bf16 set) and keeps its top payload bits; values that
 * round past the largest bf16 become inf. */
uint16_t fl_f32_to_bf16(float f) {
    uint32_t x = bits_from_f32(f);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
    uint32_t lsb = (x >> 16) & 1;
    return (uint16_t)(((uint64_t)x + 0x7fff + lsb) >> 16);
}
