/* dequant.h — scalar reference dequantization and quantization. These are
 * the ground truth that SIMD and GPU kernels are tested against: written
 * for clarity, checked against the gguf Python package. */
#ifndef FL_QUANT_DEQUANT_H
#define FL_QUANT_DEQUANT_H

#include <stdint.h>

#include "flint.h"

/* y[0..n) = dequant(x), n a multiple of the block size of type.
 * Supports every type whose fl_type_info.can_dequant is set. */
flint_status fl_dequant_row(flint_type type, const void *x, float *y, int64_t n);

/* y = quant(x[0..n)), n a multiple of the block size; for Q8_0, Q4_0, Q5_0, Q5_1,
 * Q4_K, Q5_K, Q6_K (and F32/F16/BF16). */
flint_status fl_quant_row(flint_type type, const float *x, void *y, int64_t n);

/* MLX affine: one row of n_in elements.
 *   w:      [n_in * bits / 32] uint32, codes little-endian within each word
 *   scales: [n_in / group_size] of scale_type (F16, BF16 or F32)
 *   biases: [n_in / group_size] of scale_type
 *   y[i] = scales[g] * q[i] + biases[g], g = i / group_size
 * bits in {4, 8}; group_size in {32, 64, 128}; n_in a multiple of group_size. */
flint_status fl_dequant_mlx_row(int bits, int group_size, flint_type scale_type, const uint32_t *w,
                                const void *scales, const void *biases, float *y, int64_t n_in);

/* Half-precision helpers. */
float fl_f16_to_f32(uint16_t h);
uint16_t fl_f32_to_f16(float f);   /* round to nearest even */
float fl_bf16_to_f32(uint16_t h);
uint16_t fl_f32_to_bf16(float f);  /* round to nearest even; NaN stays NaN */

#endif
