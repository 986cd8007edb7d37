/* mlx.c — reference dequantization of MLX affine-quantized rows (MODELS.md
 * §11): y[i] = scale[g] * q[i] + bias[g], g = i / group_size, q unsigned
 * bits-wide codes packed little-endian into uint32 words (element i of a
 * word at bits [i*bits, (i+1)*bits)). Only bits 4 and 8 are supported
 * (the widths whose codes never straddle a word).
 *
 * Precision: scale and bias are widened to f32 and the product and the sum
 * are each rounded to f32. MLX itself evaluates in the scales' dtype
 * (f16/bf16) and so rounds once more to that dtype; flint keeps the f32
 * value, which differs from MLX's by at most half an f16/bf16 ulp. */
#include <string.h>

#include "base/error.h"
#include "quant/dequant_internal.h"

FL_NO_FP_CONTRACT

static float load_scale(flint_type t, const uint8_t *p, int64_t g) {
    switch (t) {
    case FLINT_TYPE_F16: return fl_f16_to_f32(fl_rd_u16(p + 2 * g));
    case FLINT_TYPE_BF16: return fl_bf16_to_f32(fl_rd_u16(p + 2 * g));
    default: {
        uint32_t u = fl_rd_u32(p + 4 * g);
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    }
}

flint_status fl_dequant_mlx_row(int bits, int group_size, flint_type scale_type, const uint32_t *w,
                                const void *scales, const void *biases, float *y, int64_t n_in) {
    if (bits != 4 && bits != 8) {
        return fl_errorf(FLINT_E_UNSUPPORTED, "MLX dequantize: %d-bit codes are not supported (4 or 8)", bits);
    }
    if (group_size != 32 && group_size != 64 && group_size != 128) {
        return fl_errorf(FLINT_E_UNSUPPORTED, "MLX dequantize: group size %d is not supported (32, 64 or 128)",
                         group_size);
    }
    if (scale_type != FLINT_TYPE_F16 && scale_type != FLINT_TYPE_BF16 && scale_type != FLINT_TYPE_F32) {
        const char *name = flint_type_name(scale_type);
        return fl_errorf(FLINT_E_UNSUPPORTED, "MLX dequantize: scales of type %s are not supported (F16, BF16 or F32)",
                         name ? name : "(unknown)");
    }
    if (n_in < 0 || n_in % group_size != 0) {
        return fl_errorf(FLINT_E_INVALID_ARG, "MLX dequantize: row length %lld is not a multiple of the group size %d",
                         (long long)n_in, group_size);
    }
    if (n_in == 0) return FLINT_OK;
    if (!w || !scales || !biases || !y) return fl_errorf(FLINT_E_INVALID_ARG, "MLX dequantize: NULL buffer");

    /* read the words as little-endian bytes, whatever the host order */
    const uint8_t *wb = (const uint8_t *)w;
    const uint32_t mask = (1u << bits) - 1;
    const int per_word = 32 / bits;
    for (int64_t g = 0; g < n_in / group_size; g++) {
        const float s = load_scale(scale_type, scales, g);
        const float b = load_scale(scale_type, biases, g);
        for (int64_t i = g * group_size; i < (g + 1) * group_size; i++) {
            uint32_t word = fl_rd_u32(wb + 4 * (i / per_word));
            uint32_t q = (word >> (bits * (i % per_word))) & mask;
            const float p = s * (float)q;
            y[i] = p + b;
        }
    }
    return FLINT_OK;
}
