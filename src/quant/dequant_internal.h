/* dequant_internal.h — what the files of src/quant/ share with each other
 * and nobody else: the per-type block decoders and encoders behind
 * fl_dequant_row()/fl_quant_row(), and byte helpers that read fields from
 * unaligned little-endian block bytes.
 *
 * Every decoder has the contract
 *     y[nb * block_size] = dequant(x[nb * type_size])
 * with the block geometry of fl_type_get(type); arguments were checked by
 * the caller. Every encoder is the inverse direction for nb blocks.
 *
 * Floating-point evaluation: these functions are the bit-exact reference,
 * so each product and sum that ggml rounds separately is rounded separately
 * here (one operation per statement where it matters), and the compiler
 * is told not to contract a*b+c into an FMA (FL_NO_FP_CONTRACT, placed
 * after the includes of each file that does arithmetic): the searches of
 * the K-quant encoders pick other candidates when a last bit changes. */
#ifndef FL_QUANT_DEQUANT_INTERNAL_H
#define FL_QUANT_DEQUANT_INTERNAL_H

#include <stdint.h>

#include "quant/dequant.h"

#if defined(__clang__)
#define FL_NO_FP_CONTRACT _Pragma("STDC FP_CONTRACT OFF")
#elif defined(__GNUC__)
#define FL_NO_FP_CONTRACT _Pragma("GCC optimize(\"fp-contract=off\")")
#else
#define FL_NO_FP_CONTRACT
#endif

#define FL_QK_K 256 /* elements per K-quant super-block */

static inline uint16_t fl_rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t fl_rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void fl_wr_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)(v >> 8);
}
/* An fp16 field of a block, as f32. */
static inline float fl_rd_f16(const uint8_t *p) { return fl_f16_to_f32(fl_rd_u16(p)); }

/* The 16 IQ4_NL / IQ4_XS levels (a non-uniform 4-bit grid). */
extern const int8_t fl_kvalues_iq4nl[16];

/* ggml's E8M0 scale for MXFP4, already halved (the codes are 2 x E2M1). */
float fl_e8m0_to_f32_half(uint8_t e);

/* 32-element blocks (dequant_legacy.c) */
void fl_dequant_q4_0(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_q4_1(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_q5_0(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_q5_1(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_q8_0(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_iq4_nl(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_mxfp4(const uint8_t *x, float *y, int64_t nb);

/* 256-element super-blocks (dequant_kquants.c) */
void fl_dequant_q2_k(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_q3_k(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_q4_k(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_q5_k(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_q6_k(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_iq4_xs(const uint8_t *x, float *y, int64_t nb);

/* Small floats from safetensors (minifloat.c); nb counts blocks of the
 * type table (1 element for F8, 2 for F4, 4 for F6). */
void fl_dequant_f8_e4m3(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_f8_e5m2(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_f8_e8m0(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_f8_e4m3fnuz(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_f8_e5m2fnuz(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_f4_e2m1(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_f6_e2m3(const uint8_t *x, float *y, int64_t nb);
void fl_dequant_f6_e3m2(const uint8_t *x, float *y, int64_t nb);

/* Encoders (quantize.c, quantize_kquants.c); x is finite (checked by the
 * caller). */
void fl_quant_q8_0(const float *x, uint8_t *y, int64_t nb);
void fl_quant_q4_0(const float *x, uint8_t *y, int64_t nb);
void fl_quant_q4_k(const float *x, uint8_t *y, int64_t nb);
void fl_quant_q5_k(const float *x, uint8_t *y, int64_t nb);
void fl_quant_q6_k(const float *x, uint8_t *y, int64_t nb);

#endif
