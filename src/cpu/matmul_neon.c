/* matmul_neon.c — aarch64 NEON decode kernels of the CPU matmul (compiles
 * to nothing elsewhere; it cannot run on the x86 build machines, `make
 * neon-check` compiles it). Covered here: the Q8 quantizers, the f32 dot,
 * F32/F16/BF16 rows, and Q4_0, Q8_0, IQ4_NL, MXFP4 with the dotprod
 * extension (vdotq_s32). Q4_1, Q5_0, Q5_1, the K-quants and MLX run on the
 * scalar table (matmul.c falls back per type); prefill runs as cache tiles
 * of these kernels. Codes are signed, as in the scalar table. */
#if defined(__aarch64__)
#include <arm_neon.h>

#include "cpu/matmul_kernels.h"

#define ROW(w, r) ((const uint8_t *)(w)->data + (uint64_t)(r) * (w)->row_bytes)

/* ---- quantizers: rint via vcvtnq (nearest even), as the scalar table ---- */

static float quant_block(const float *x, int8_t *q, int len, int32_t *sums16) {
    float32x4_t mx = vdupq_n_f32(0.0f);
    for (int i = 0; i < len; i += 4) mx = vmaxq_f32(mx, vabsq_f32(vld1q_f32(x + i)));
    const float d = vmaxvq_f32(mx) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int i = 0; i < len; i += 16) {
        int32x4_t c[4];
        for (int j = 0; j < 4; j++) c[j] = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + i + 4 * j), id));
        int16x8_t h0 = vcombine_s16(vmovn_s32(c[0]), vmovn_s32(c[1]));
        int16x8_t h1 = vcombine_s16(vmovn_s32(c[2]), vmovn_s32(c[3]));
        vst1q_s8(q + i, vcombine_s8(vmovn_s16(h0), vmovn_s16(h1)));
        sums16[i / 16] = vaddvq_s32(vaddq_s32(vaddq_s32(c[0], c[1]), vaddq_s32(c[2], c[3])));
    }
    return d;
}

FL_MM_QUANT_Q8_FROM_BLOCKS(quant_block)

static float dot_f32(const float *a, const float *b, int64_t k) {
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
        acc1 = vfmaq_f32(acc1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    }
    float s = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < k; i++) s += a[i] * b[i];
    return s;
}

/* ---- float weights, 4 per step ---- */

static inline float32x4_t load_w4(flint_type t, const uint8_t *p) {
    if (t == FLINT_TYPE_F32) return vld1q_f32((const float *)(const void *)p);
    uint16x4_t h = vld1_u16((const uint16_t *)(const void *)p);
    if (t == FLINT_TYPE_F16) return vcvt_f32_f16(vreinterpret_f16_u16(h));
    return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
}

static inline float w_at(flint_type t, const uint8_t *p, int64_t i) {
    if (t == FLINT_TYPE_F32) {
        float v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    return t == FLINT_TYPE_F16 ? fl_f16_to_f32(fl_mm_u16(p + 2 * i)) : fl_bf16_to_f32(fl_mm_u16(p + 2 * i));
}

static inline float32x4_t load_x4(const fl_mm_act *a, int64_t c, int64_t i) {
    return vld1q_f32(a->f32 + c * a->k + i);
}

static inline float x_at(const fl_mm_act *a, int64_t c, int64_t i) {
    return a->f32[c * a->k + i];
}

static void rows_float(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, flint_type t) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, es = t == FLINT_TYPE_F32 ? 4 : 2, k4 = k & ~(int64_t)3;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *p = ROW(w, r);
        float32x4_t acc[FL_MM_DECODE_MAX];
        for (int64_t c = 0; c < nc; c++) acc[c] = vdupq_n_f32(0.0f);
        for (int64_t i = 0; i < k4; i += 4) {
            float32x4_t wv = load_w4(t, p + i * es);
            for (int64_t c = 0; c < nc; c++) acc[c] = vfmaq_f32(acc[c], wv, load_x4(a, c0 + c, i));
        }
        for (int64_t c = 0; c < nc; c++) {
            float s = vaddvq_f32(acc[c]);
            for (int64_t i = k4; i < k; i++) s += w_at(t, p, i) * x_at(a, c0 + c, i);
            job->y[(c0 + c) * job->ldy + r] = s;
        }
    }
}

static void rows_f32(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) {
    (void)scratch;
    rows_float(job, c0, nc, r0, r1, FLINT_TYPE_F32);
}
static void rows_f16(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) {
    (void)scratch;
    rows_float(job, c0, nc, r0, r1, FLINT_TYPE_F16);
}
static void rows_bf16(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) {
    (void)scratch;
    rows_float(job, c0, nc, r0, r1, FLINT_TYPE_BF16);
}

#if defined(__ARM_FEATURE_DOTPROD)
/* ---- 32-element blocks: signed codes in two int8x16, scale, min ---- */

static inline void block32(flint_type t, const uint8_t *row, int64_t b, int8x16_t *lo, int8x16_t *hi, float *d, float *m) {
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    *m = 0.0f;
    switch (t) {
    case FLINT_TYPE_Q4_0: {
        const uint8_t *p = row + 18 * b;
        uint8x16_t v = vld1q_u8(p + 2);
        *d = fl_f16_to_f32(fl_mm_u16(p));
        *lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, m4)), vdupq_n_s8(8));
        *hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), vdupq_n_s8(8));
        return;
    }
    case FLINT_TYPE_Q8_0: {
        const uint8_t *p = row + 34 * b;
        *d = fl_f16_to_f32(fl_mm_u16(p));
        *lo = vld1q_s8((const int8_t *)(p + 2));
        *hi = vld1q_s8((const int8_t *)(p + 18));
        return;
    }
    case FLINT_TYPE_IQ4_NL: {
        const uint8_t *p = row + 18 * b;
        uint8x16_t v = vld1q_u8(p + 2);
        int8x16_t tab = vld1q_s8(fl_mm_kvalues_iq4nl);
        *d = fl_f16_to_f32(fl_mm_u16(p));
        *lo = vqtbl1q_s8(tab, vandq_u8(v, m4));
        *hi = vqtbl1q_s8(tab, vshrq_n_u8(v, 4));
        return;
    }
    default: { /* MXFP4 */
        const uint8_t *p = row + 17 * b;
        uint8x16_t v = vld1q_u8(p + 1);
        int8x16_t tab = vld1q_s8(fl_mm_kvalues_mxfp4);
        *d = fl_mm_e8m0_half(p[0]);
        *lo = vqtbl1q_s8(tab, vandq_u8(v, m4));
        *hi = vqtbl1q_s8(tab, vshrq_n_u8(v, 4));
        return;
    }
    }
}

static void rows_b32(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, flint_type t) {
    const fl_weight *w = job->w;
    const fl_mm_act *a = job->a;
    const int64_t k = w->k, nb = k / 32;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = ROW(w, r);
        float32x4_t acc[FL_MM_DECODE_MAX];
        for (int64_t c = 0; c < nc; c++) acc[c] = vdupq_n_f32(0.0f);
        for (int64_t b = 0; b < nb; b++) {
            int8x16_t lo, hi;
            float d, m;
            block32(t, row, b, &lo, &hi, &d, &m);
            for (int64_t c = 0; c < nc; c++) {
                const int8_t *x = a->q + (c0 + c) * k + 32 * b;
                int32x4_t is = vdotq_s32(vdotq_s32(vdupq_n_s32(0), lo, vld1q_s8(x)), hi, vld1q_s8(x + 16));
                acc[c] = vfmaq_n_f32(acc[c], vcvtq_f32_s32(is), d * a->d[(c0 + c) * nb + b]);
            }
        }
        for (int64_t c = 0; c < nc; c++) job->y[(c0 + c) * job->ldy + r] = vaddvq_f32(acc[c]);
    }
}

#define B32(name, type)                                                                                            \
    static void rows_##name(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) { \
        (void)scratch;                                                                                             \
        rows_b32(job, c0, nc, r0, r1, type);                                                                       \
    }
B32(q4_0, FLINT_TYPE_Q4_0)
B32(q8_0, FLINT_TYPE_Q8_0)
B32(iq4_nl, FLINT_TYPE_IQ4_NL)
B32(mxfp4, FLINT_TYPE_MXFP4)
#endif

const fl_mm_kernels fl_mm_kernels_neon = {
    .name = "neon",
    .quant_q8_32 = quant_q8_32,
    .quant_q8_k = quant_q8_k,
    .dot_f32 = dot_f32,
    .rows =
        {
            [FLINT_TYPE_F32] = rows_f32,
            [FLINT_TYPE_F16] = rows_f16,
            [FLINT_TYPE_BF16] = rows_bf16,
#if defined(__ARM_FEATURE_DOTPROD)
            [FLINT_TYPE_Q4_0] = rows_q4_0,
            [FLINT_TYPE_Q8_0] = rows_q8_0,
            [FLINT_TYPE_IQ4_NL] = rows_iq4_nl,
            [FLINT_TYPE_MXFP4] = rows_mxfp4,
#endif
        },
};

#endif
