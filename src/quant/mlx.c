/* mlx.c — reference dequantization of MLX-quantized rows (MODELS.md §11),
 * as mlx.core.quantize packs them (checked against mlx.core.dequantize by
 * tools/gen_mlx_fixtures.py and tests/test_mlx.c):
 *   codes  bits-wide codes packed into little-endian uint32 words, lowest
 *          bits first: for 1, 2, 4 and 8 bits element i of a word sits at
 *          bits [i*bits, (i+1)*bits); 3, 5 and 6 bits form one bit stream
 *          over the row whose codes straddle words;
 *   affine y = scale[g] * q + bias[g] (q unsigned; scales may be negative),
 *          scales and biases F16, BF16 or F32, groups of 32, 64 or 128;
 *   mxfp4  y = e2m1(q) * 2^(s - 127), one E8M0 scale per 32, no bias;
 *   mxfp8  y = e4m3(q) * 2^(s - 127), likewise;
 *   nvfp4  y = e2m1(q) * e4m3(s), one E4M3 scale per 16, no bias.
 * g = i / group_size.
 *
 * Precision: affine scale and bias are widened to f32, the product and the
 * sum each rounded to f32 (no FMA) — what MLX's quantized matmul computes
 * for f32 activations whatever the scales' dtype, and mlx.core.dequantize
 * with f32 scales. (mlx.core.dequantize with 16-bit scales rounds the
 * product and the sum to that dtype instead.) */
#include <string.h>

#include "base/error.h"
#include "quant/dequant_internal.h"
#include "quant/types.h"

FL_NO_FP_CONTRACT

flint_status fl_mlx_check(flint_type type, int32_t group_size, flint_type scale_type) {
    const fl_mlx_mode mode = fl_mlx_mode_of(type);
    const char *tname = flint_type_name(type), *sname = flint_type_name(scale_type);
    if (mode == FL_MLX_NONE)
        return fl_errorf(FLINT_E_INVALID_ARG, "type %s is not an MLX type", tname ? tname : "(unknown)");
    const bool scale_ok = mode == FL_MLX_AFFINE ? scale_type == FLINT_TYPE_F16 || scale_type == FLINT_TYPE_BF16 ||
                                                      scale_type == FLINT_TYPE_F32
                          : mode == FL_MLX_NVFP4 ? scale_type == FLINT_TYPE_F8_E4M3
                                                 : scale_type == FLINT_TYPE_F8_E8M0;
    if (!fl_mlx_group_ok(mode, group_size))
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: group size %d is not supported (%s)", tname, (int)group_size,
                         fl_mlx_groups(mode));
    if (!scale_ok)
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: scales of type %s are not supported (%s)", tname,
                         sname ? sname : "(unknown)",
                         mode == FL_MLX_AFFINE ? "F16, BF16 or F32" : mode == FL_MLX_NVFP4 ? "F8_E4M3" : "F8_E8M0");
    return FLINT_OK;
}

static float load_scale(flint_type t, const uint8_t *p, int64_t g) {
    float f;
    switch (t) {
    case FLINT_TYPE_F16: return fl_f16_to_f32(fl_rd_u16(p + 2 * g));
    case FLINT_TYPE_BF16: return fl_bf16_to_f32(fl_rd_u16(p + 2 * g));
    case FLINT_TYPE_F8_E4M3: fl_dequant_f8_e4m3(p + g, &f, 1); return f;
    case FLINT_TYPE_F8_E8M0: fl_dequant_f8_e8m0(p + g, &f, 1); return f;
    default: {
        uint32_t u = fl_rd_u32(p + 4 * g);
        memcpy(&f, &u, sizeof f);
        return f;
    }
    }
}

/* The n codes of one group starting at bit 0 of `at` (a group starts on a
 * word: group_size * bits is a multiple of 32), as one little-endian bit
 * stream read a word at a time, whatever the host order. */
static void unpack(const uint8_t *at, int bits, int64_t n, uint8_t *q) {
    const uint32_t mask = (1u << bits) - 1;
    uint64_t acc = 0;
    int have = 0;
    for (int64_t i = 0; i < n; i++) {
        if (have < bits) {
            acc |= (uint64_t)fl_rd_u32(at) << have;
            at += 4;
            have += 32;
        }
        q[i] = (uint8_t)(acc & mask);
        acc >>= bits;
        have -= bits;
    }
}

/* E2M1 (the fp4 of mxfp4 and nvfp4): sign, 2 exponent bits, 1 mantissa bit. */
static const float e2m1[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                               -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

flint_status fl_dequant_mlx_row(flint_type type, int32_t group_size, flint_type scale_type, const void *codes,
                                const void *scales, const void *biases, float *y, int64_t n) {
    flint_status st = fl_mlx_check(type, group_size, scale_type);
    if (st) return st;
    const fl_mlx_mode mode = fl_mlx_mode_of(type);
    const int bits = fl_mlx_bits(type);
    if (n < 0 || n % group_size != 0)
        return fl_errorf(FLINT_E_INVALID_ARG, "MLX dequantize: row length %lld is not a multiple of the group size %d",
                         (long long)n, (int)group_size);
    if (n == 0) return FLINT_OK;
    if (!codes || !scales || !y || (mode == FL_MLX_AFFINE && !biases))
        return fl_errorf(FLINT_E_INVALID_ARG, "MLX dequantize: NULL buffer");

    const uint8_t *row = codes, *sc = scales, *bi = biases;
    uint8_t q[128];
    for (int64_t g = 0; g < n / group_size; g++) {
        float *out = y + g * group_size;
        const float s = load_scale(scale_type, sc, g);
        unpack(row + g * group_size * bits / 8, bits, group_size, q);
        switch (mode) {
        case FL_MLX_AFFINE: {
            const float b = load_scale(scale_type, bi, g);
            for (int32_t i0 = 0; i0 < group_size; i0 += 16) /* fixed-length runs vectorize at -O2 */
                for (int32_t i = i0; i < i0 + 16; i++) {
                    const float p = s * (float)q[i];
                    out[i] = p + b;
                }
            break;
        }
        case FL_MLX_MXFP8:
            fl_dequant_f8_e4m3(q, out, group_size);
            for (int32_t i = 0; i < group_size; i++) out[i] *= s;
            break;
        default:
            for (int32_t i0 = 0; i0 < group_size; i0 += 16)
                for (int32_t i = i0; i < i0 + 16; i++) out[i] = e2m1[q[i]] * s;
            break;
        }
    }
    return FLINT_OK;
}
