/* quantize.c — fl_quant_row(): argument checks and dispatch, the plain
 * F32/F16/BF16 encoders, and the reference Q8_0 and Q4_0 quantizers. These
 * follow llama.cpp's quantize_row_q8_0_ref / quantize_row_q4_0_ref (and so
 * the gguf package's quantizers) step for step, and Q5_0 / Q5_1 follow
 * quantize_row_q5_0_ref / quantize_row_q5_1_ref (llama-quantize's fallbacks
 * for Q4_K / Q5_K rows that are not a multiple of 256): for finite input
 * whose block scale is a normal f32 they produce the same bytes. The K-quant encoders
 * are in quantize_kquants.c. */
#include <math.h>
#include <string.h>

#include "base/error.h"
#include "quant/dequant_internal.h"
#include "quant/types.h"

FL_NO_FP_CONTRACT

#define QK 32

/* Q8_0: d = amax / 127, q = round-half-away(x / d). */
void fl_quant_q8_0(const float *x, uint8_t *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += QK, y += 34) {
        float amax = 0.0f;
        for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        fl_wr_u16(y, fl_f32_to_f16(d));
        for (int j = 0; j < QK; j++) {
            const float v = x[j] * id;
            float r = roundf(v);
            /* |v| <= 127 unless d is an f32 subnormal; clamp instead of
             * converting an out-of-range float (undefined behaviour) */
            if (!(r >= -127.0f)) r = r != r ? 0.0f : -127.0f;
            if (r > 127.0f) r = 127.0f;
            y[2 + j] = (uint8_t)(int8_t)r;
        }
    }
}

/* Q4_0: d = (the element of largest magnitude, first one on ties) / -8, so
 * that element gets code 0 (= -8); q = trunc(x / d + 8.5) clamped to 15. */
void fl_quant_q4_0(const float *x, uint8_t *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += QK, y += 18) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        fl_wr_u16(y, fl_f32_to_f16(d));
        uint8_t q[QK];
        for (int j = 0; j < QK; j++) {
            const float xi = x[j] * id;
            const float v = xi + 8.5f;
            /* truncation toward zero of v in [0, 15]; v < 0 or NaN only
             * happens when d is an f32 subnormal */
            q[j] = v >= 15.0f ? 15 : v > 0.0f ? (uint8_t)v : 0;
        }
        for (int j = 0; j < QK / 2; j++) y[2 + j] = (uint8_t)(q[j] | q[j + QK / 2] << 4);
    }
}

/* A code in [0, max] from v >= 0 by truncation; v < 0 or NaN only when the
 * block scale is an f32 subnormal. */
static uint8_t trunc_code(float v, float max) { return v >= max ? (uint8_t)max : v > 0.0f ? (uint8_t)v : 0; }

/* Packs 32 five-bit codes: low nibbles as Q4_0 does, the fifth bits into a
 * little-endian 32-bit word (bit j for element j). */
static void pack_q5(const uint8_t *q, uint8_t *qh, uint8_t *qs) {
    uint32_t h = 0;
    for (int j = 0; j < QK / 2; j++) {
        qs[j] = (uint8_t)((q[j] & 15) | (q[j + QK / 2] & 15) << 4);
        h |= (uint32_t)(q[j] >> 4) << j | (uint32_t)(q[j + QK / 2] >> 4) << (j + QK / 2);
    }
    for (int b = 0; b < 4; b++) qh[b] = (uint8_t)(h >> (8 * b));
}

/* Q5_0: d = (the element of largest magnitude) / -16; q = trunc(x / d + 16.5)
 * clamped to 31. Block: f16 d, 4 bytes of fifth bits, 16 bytes of nibbles. */
static void quant_q5_0(const float *x, uint8_t *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += QK, y += 22) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        const float d = max / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        fl_wr_u16(y, fl_f32_to_f16(d));
        uint8_t q[QK];
        for (int j = 0; j < QK; j++) q[j] = trunc_code(x[j] * id + 16.5f, 31.0f);
        pack_q5(q, y + 2, y + 6);
    }
}

/* Q5_1: d = (max - min) / 31, m = min; q = trunc((x - min) / d + 0.5).
 * Block: f16 d, f16 m, 4 bytes of fifth bits, 16 bytes of nibbles. */
static void quant_q5_1(const float *x, uint8_t *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += QK, y += 24) {
        float min = x[0], max = x[0];
        for (int j = 1; j < QK; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        fl_wr_u16(y, fl_f32_to_f16(d));
        fl_wr_u16(y + 2, fl_f32_to_f16(min));
        uint8_t q[QK];
        for (int j = 0; j < QK; j++) q[j] = trunc_code((x[j] - min) * id + 0.5f, 31.0f);
        pack_q5(q, y + 4, y + 8);
    }
}

flint_status fl_quant_row(flint_type type, const float *x, void *y, int64_t n) {
    const fl_type_info *t = fl_type_get(type);
    if (!t) return fl_errorf(FLINT_E_INVALID_ARG, "quantize: %d is not a flint type", (int)type);
    if (!t->can_quant) return fl_errorf(FLINT_E_UNSUPPORTED, "quantize: type %s is not supported", t->name);
    if (n < 0) return fl_errorf(FLINT_E_INVALID_ARG, "quantize %s: negative element count %lld", t->name, (long long)n);
    if (n % t->block_size != 0) {
        return fl_errorf(FLINT_E_INVALID_ARG, "quantize %s: %lld elements is not a multiple of the block size %d",
                         t->name, (long long)n, (int)t->block_size);
    }
    if (n == 0) return FLINT_OK;
    if (!x || !y) return fl_errorf(FLINT_E_INVALID_ARG, "quantize %s: NULL buffer", t->name);
    uint8_t *out = y;
    switch (type) {
    case FLINT_TYPE_F32: memcpy(out, x, (size_t)n * sizeof(float)); return FLINT_OK;
    case FLINT_TYPE_F16:
        for (int64_t i = 0; i < n; i++) fl_wr_u16(out + 2 * i, fl_f32_to_f16(x[i]));
        return FLINT_OK;
    case FLINT_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) fl_wr_u16(out + 2 * i, fl_f32_to_bf16(x[i]));
        return FLINT_OK;
    default: break;
    }
    /* The block quantizers search over scales; inf or NaN would poison the
     * whole block, so reject them instead of writing garbage. */
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            return fl_errorf(FLINT_E_INVALID_ARG, "quantize %s: element %lld is not finite (%g)", t->name,
                             (long long)i, (double)x[i]);
        }
    }
    int64_t nb = n / t->block_size;
    switch (type) {
    case FLINT_TYPE_Q8_0: fl_quant_q8_0(x, out, nb); break;
    case FLINT_TYPE_Q4_0: fl_quant_q4_0(x, out, nb); break;
    case FLINT_TYPE_Q5_0: quant_q5_0(x, out, nb); break;
    case FLINT_TYPE_Q5_1: quant_q5_1(x, out, nb); break;
    case FLINT_TYPE_Q4_K: fl_quant_q4_k(x, out, nb); break;
    case FLINT_TYPE_Q5_K: fl_quant_q5_k(x, out, nb); break;
    case FLINT_TYPE_Q6_K: fl_quant_q6_k(x, out, nb); break;
    default: return fl_errorf(FLINT_E_UNSUPPORTED, "quantize: type %s has no encoder", t->name);
    }
    return FLINT_OK;
}
