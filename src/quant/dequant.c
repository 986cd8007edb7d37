/* dequant.c — fl_dequant_row() and the public flint_dequantize(): argument
 * checks and dispatch to the per-type reference decoders (dequant_legacy.c,
 * dequant_kquants.c, minifloat.c), plus the plain F32/F16/BF16 rows. The
 * decoders never see a bad argument; this file turns those into errors. */
#include <string.h>

#include "base/error.h"
#include "quant/dequant_internal.h"
#include "quant/types.h"

typedef void (*dequant_fn)(const uint8_t *x, float *y, int64_t nb);

static void dequant_f32(const uint8_t *x, float *y, int64_t nb) { memcpy(y, x, (size_t)nb * sizeof(float)); }

static void dequant_f16(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) y[i] = fl_f16_to_f32(fl_rd_u16(x + 2 * i));
}

static void dequant_bf16(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) y[i] = fl_bf16_to_f32(fl_rd_u16(x + 2 * i));
}

/* One decoder per type whose fl_type_info.can_dequant is set. */
static const dequant_fn decoders[FLINT_TYPE_COUNT] = {
    [FLINT_TYPE_F32] = dequant_f32,
    [FLINT_TYPE_F16] = dequant_f16,
    [FLINT_TYPE_BF16] = dequant_bf16,
    [FLINT_TYPE_Q4_0] = fl_dequant_q4_0,
    [FLINT_TYPE_Q4_1] = fl_dequant_q4_1,
    [FLINT_TYPE_Q5_0] = fl_dequant_q5_0,
    [FLINT_TYPE_Q5_1] = fl_dequant_q5_1,
    [FLINT_TYPE_Q8_0] = fl_dequant_q8_0,
    [FLINT_TYPE_Q2_K] = fl_dequant_q2_k,
    [FLINT_TYPE_Q3_K] = fl_dequant_q3_k,
    [FLINT_TYPE_Q4_K] = fl_dequant_q4_k,
    [FLINT_TYPE_Q5_K] = fl_dequant_q5_k,
    [FLINT_TYPE_Q6_K] = fl_dequant_q6_k,
    [FLINT_TYPE_IQ4_NL] = fl_dequant_iq4_nl,
    [FLINT_TYPE_IQ4_XS] = fl_dequant_iq4_xs,
    [FLINT_TYPE_MXFP4] = fl_dequant_mxfp4,
    [FLINT_TYPE_F8_E4M3] = fl_dequant_f8_e4m3,
    [FLINT_TYPE_F8_E5M2] = fl_dequant_f8_e5m2,
    [FLINT_TYPE_F8_E8M0] = fl_dequant_f8_e8m0,
    [FLINT_TYPE_F8_E4M3FNUZ] = fl_dequant_f8_e4m3fnuz,
    [FLINT_TYPE_F8_E5M2FNUZ] = fl_dequant_f8_e5m2fnuz,
    [FLINT_TYPE_F4_E2M1] = fl_dequant_f4_e2m1,
    [FLINT_TYPE_F6_E2M3] = fl_dequant_f6_e2m3,
    [FLINT_TYPE_F6_E3M2] = fl_dequant_f6_e3m2,
};

flint_status fl_dequant_row(flint_type type, const void *x, float *y, int64_t n) {
    const fl_type_info *t = fl_type_get(type);
    if (!t) return fl_errorf(FLINT_E_INVALID_ARG, "dequantize: %d is not a flint type", (int)type);
    if (!t->can_dequant || !decoders[type]) {
        if (fl_mlx_mode_of(type) != FL_MLX_NONE) {
            return fl_errorf(FLINT_E_UNSUPPORTED,
                             "dequantize: type %s needs its scales and biases (use the MLX row decoder)",
                             t->name);
        }
        return fl_errorf(FLINT_E_UNSUPPORTED, "dequantize: type %s is not supported", t->name);
    }
    if (n < 0) return fl_errorf(FLINT_E_INVALID_ARG, "dequantize %s: negative element count %lld", t->name, (long long)n);
    if (n % t->block_size != 0) {
        return fl_errorf(FLINT_E_INVALID_ARG, "dequantize %s: %lld elements is not a multiple of the block size %d",
                         t->name, (long long)n, (int)t->block_size);
    }
    if (n == 0) return FLINT_OK;
    if (!x || !y) return fl_errorf(FLINT_E_INVALID_ARG, "dequantize %s: NULL buffer", t->name);
    decoders[type]((const uint8_t *)x, y, n / t->block_size);
    return FLINT_OK;
}

flint_status flint_dequantize(flint_type type, const void *src, float *dst, int64_t n) {
    return fl_dequant_row(type, src, dst, n);
}
