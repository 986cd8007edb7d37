/* minifloat.c — decoding of the sub-16-bit float element types that
 * safetensors files carry (OCP/ml_dtypes names in brackets):
 *   F8_E4M3 [float8_e4m3fn]  bias 7,  no inf; S.1111.111 is NaN
 *   F8_E5M2 [float8_e5m2]    bias 15, IEEE-like inf and NaN (= top byte of an F16)
 *   F8_E8M0 [float8_e8m0fnu] unsigned power of two 2^(e-127); 0xFF is NaN
 *   F8_E4M3FNUZ [float8_e4m3fnuz] bias 8,  no inf, no -0: 0x80 is the only NaN
 *   F8_E5M2FNUZ [float8_e5m2fnuz] bias 16, likewise
 *   F4      [float4_e2m1fn]  bias 1, 2 per byte, element 2i in the low nibble
 *   F6_E2M3 [float6_e2m3fn]  bias 1, 4 per 3 bytes
 *   F6_E3M2 [float6_e3m2fn]  bias 3, 4 per 3 bytes
 * The fn formats have no inf and no NaN: every code is a finite value.
 * NaN codes of the F8 types decode to the quiet NaN 0x7fc00000 carrying the
 * code's sign (bit-identical to ml_dtypes).
 *
 * Packing (safetensors leaves it unspecified; ml_dtypes keeps one value per
 * byte): F4 and F6 are read as a little-endian bit stream, element i at
 * stream bits [i*w, (i+1)*w), stream bit k = bit k%8 of byte k/8. For F4
 * this is "low nibble first" (torch.float4_e2m1fn_x2); for F6 it means the
 * three bytes form a 24-bit little-endian word holding elements 0..3 at
 * bits 0, 6, 12, 18 — the same convention as MLX's packed 3/5/6-bit codes.
 *
 * Also owns the E8M0 scale of ggml's MXFP4 blocks (a different mapping:
 * ggml halves it and special-cases e < 2, see fl_e8m0_to_f32_half). */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "quant/dequant_internal.h"

static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* A finite minifloat code with 1 sign bit, ebits exponent bits, mbits
 * mantissa bits and the given bias: subnormal when the exponent is 0. All
 * results are exact in f32 (ldexpf of a small integer). */
static float small_float(uint32_t code, int ebits, int mbits, int bias) {
    uint32_t man = code & ((1u << mbits) - 1);
    uint32_t exp = (code >> mbits) & ((1u << ebits) - 1);
    int sign = (code >> (ebits + mbits)) & 1;
    float v = exp == 0 ? ldexpf((float)man, 1 - bias - mbits)
                       : ldexpf((float)((1u << mbits) | man), (int)exp - bias - mbits);
    return sign ? -v : v;
}

/* NaN codes decode to the canonical quiet NaN with the code's sign, as
 * ml_dtypes does. */
static float signed_nan(uint8_t code) { return f32_from_bits((uint32_t)(code & 0x80) << 24 | 0x7fc00000); }

void fl_dequant_f8_e4m3(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) y[i] = (x[i] & 0x7f) == 0x7f ? signed_nan(x[i]) : small_float(x[i], 4, 3, 7);
}

void fl_dequant_f8_e5m2(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        bool nan = (x[i] & 0x7c) == 0x7c && (x[i] & 0x03);
        y[i] = nan ? signed_nan(x[i]) : fl_f16_to_f32((uint16_t)(x[i] << 8));
    }
}

void fl_dequant_f8_e8m0(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        if (x[i] == 0xff) y[i] = f32_from_bits(0x7fc00000);
        else if (x[i] == 0) y[i] = f32_from_bits(0x00400000); /* 2^-127, an f32 subnormal */
        else y[i] = f32_from_bits((uint32_t)x[i] << 23);
    }
}

/* The FNUZ variants spend the negative-zero code on NaN (AMD/Graphcore
 * formats); ml_dtypes decodes it to a NaN with the sign bit set. */
static void dequant_fnuz(const uint8_t *x, float *y, int64_t nb, int ebits, int mbits, int bias) {
    for (int64_t i = 0; i < nb; i++) y[i] = x[i] == 0x80 ? signed_nan(x[i]) : small_float(x[i], ebits, mbits, bias);
}

void fl_dequant_f8_e4m3fnuz(const uint8_t *x, float *y, int64_t nb) { dequant_fnuz(x, y, nb, 4, 3, 8); }
void fl_dequant_f8_e5m2fnuz(const uint8_t *x, float *y, int64_t nb) { dequant_fnuz(x, y, nb, 5, 2, 16); }

void fl_dequant_f4_e2m1(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        y[2 * i + 0] = small_float(x[i] & 0x0f, 2, 1, 1);
        y[2 * i + 1] = small_float(x[i] >> 4, 2, 1, 1);
    }
}

static void dequant_f6(const uint8_t *x, float *y, int64_t nb, int ebits, int mbits, int bias) {
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *b = x + 3 * i;
        uint32_t w = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
        for (int k = 0; k < 4; k++) y[4 * i + k] = small_float((w >> (6 * k)) & 0x3f, ebits, mbits, bias);
    }
}

void fl_dequant_f6_e2m3(const uint8_t *x, float *y, int64_t nb) { dequant_f6(x, y, nb, 2, 3, 1); }
void fl_dequant_f6_e3m2(const uint8_t *x, float *y, int64_t nb) { dequant_f6(x, y, nb, 3, 2, 3); }

/* ggml_e8m0_to_fp32_half: 2^(e-128), built from bits. e = 0 and 1 give the
 * f32 subnormals 2^-128 and 2^-127; e = 255 gives 2^127 (no NaN). */
float fl_e8m0_to_f32_half(uint8_t e) {
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    return f32_from_bits(bits);
}
