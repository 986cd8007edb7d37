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

/* MLX: one row of n elements of an MLX type (FLINT_TYPE_MLX_*, quant/mlx.c).
 *   codes:  [n * bits / 32] uint32, little-endian, lowest bits first
 *   scales: [n / group_size] of scale_type (affine: F16, BF16 or F32;
 *           mxfp4/mxfp8: F8_E8M0; nvfp4: F8_E4M3)
 *   biases: [n / group_size] of scale_type (affine only; NULL otherwise)
 * n a multiple of group_size. */
flint_status fl_dequant_mlx_row(flint_type type, int32_t group_size, flint_type scale_type, const void *codes,
                                const void *scales, const void *biases, float *y, int64_t n);
/* FLINT_OK if type is an MLX type that takes this group size and scale
 * type, else an error saying which is wrong. */
flint_status fl_mlx_check(flint_type type, int32_t group_size, flint_type scale_type);

/* Half-precision helpers. */
float fl_f16_to_f32(uint16_t h);
uint16_t fl_f32_to_f16(float f);   /* round to nearest even */
float fl_bf16_to_f32(uint16_t h);
uint16_t fl_f32_to_bf16(float f);  /* round to nearest even; NaN stays NaN */

#endif
