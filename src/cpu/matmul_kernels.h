/* matmul_kernels.h — what matmul.c shares with the per-ISA kernel files
 * (matmul_scalar.c, matmul_avx2.c, matmul_avx512*.c, matmul_gemm_amx.c,
 * matmul_neon.c) and
 * nobody else: the activation formats, the kernel table of one ISA, and
 * small block-field readers.
 *
 * Activation formats (chosen per weight type and regime, the same on every
 * ISA, so every SIMD path computes what the scalar reference computes):
 *   F32    x as given                          F32, F16, BF16 (never rounded
 *                                              to bf16: BF16 models then match
 *                                              an f32 reference to ~1e-6; the
 *                                              AMX prefill of BF16 splits x
 *                                              into three bf16 that sum to it
 *                                              exactly; the exceptions, opt-in:
 *                                              the AVX-512 prefill of F16/BF16
 *                                              with FLINT_FP16_GEMM=1 rounds x
 *                                              to fp16 inside its GEMM, the AMX
 *                                              one with FLINT_AMX_PASSES=1 or 2
 *                                              keeps 8 or 16 bits of x, see
 *                                              matmul_gemm_avx512.c, _amx.c);
 *                                              types without a kernel
 *   Q8_32  per 32 elements: d = amax / 127,    Q4_0 Q4_1 Q5_0 Q5_1 Q8_0
 *          q = rint(x / d) (nearest even),     IQ4_NL MXFP4 MLX_Q4 MLX_Q8
 *          sum = sum of the 32 codes
 *   Q8_K   per 256 elements: d, q as above;    Q4_K Q5_K Q6_K IQ4_XS
 *          sum = sum of the codes of each 16
 * Integer dot products of weight codes with these codes are exact; only
 * the per-block scale products and the final sums are rounded, in an order
 * that differs between ISAs (tests allow for that, see test_cpu_matmul.c).
 *
 * Every table stores the Q8 codes signed; a kernel whose integer
 * instruction wants an unsigned operand (AVX-512 VNNI) biases the weights
 * or x itself (matmul_avx512.c), and matmul.c never mixes tables:
 * a type without a kernel in the chosen table runs entirely on the scalar
 * table. */
#ifndef FL_CPU_MATMUL_KERNELS_H
#define FL_CPU_MATMUL_KERNELS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "backend/backend.h"
#include "quant/dequant.h"

#define FL_MM_DECODE_MAX 8   /* n up to this: one pass over W, all n rows per weight row */
#define FL_MM_PANEL_ROWS 64  /* prefill: W rows per task (at most this many per gemm call,
                                 unless the table's gemm_rows says more) */

typedef enum fl_mm_act_kind {
    FL_MM_ACT_F32 = 0,
    FL_MM_ACT_Q8_32 = 1,
    FL_MM_ACT_Q8_K = 2,
} fl_mm_act_kind;

/* n activation rows of k elements in one format; row c of each array
 * starts at c * (k / elements-per-entry). */
typedef struct fl_mm_act {
    fl_mm_act_kind kind;
    int64_t n, k;
    const float *f32;     /* F32:   [n][k] (the caller's x) */
    const int8_t *q;      /* Q8_*:  [n][k] signed codes */
    const float *d;       /* Q8_32: [n][k/32]; Q8_K: [n][k/256] */
    const int32_t *sum;   /* Q8_32: [n][k/32]; Q8_K: [n][k/16] */
    const void *packed;   /* prefill layout of the table's gemm (pack_act), or NULL */
} fl_mm_act;

/* One product: y[c][r] = sum_i act[c][i] * W[r][i], y row-major with ldy. */
typedef struct fl_mm_kernels fl_mm_kernels;
typedef struct fl_mm_job {
    const fl_mm_kernels *kt; /* the table running the job */
    const fl_weight *w;
    const fl_mm_act *a;
    float *y;
    int64_t ldy;
} fl_mm_job;

/* y[c][r] for c in [c0, c0 + nc), r in [r0, r1); nc <= FL_MM_DECODE_MAX.
 * scratch: per-thread, at least fl_mm_kernels.scratch_bytes(w) bytes. */
typedef void (*fl_mm_rows_fn)(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch);

/* Prefill: y[c][r] for every c in [0, n) and r in [r0, r1), cache-blocked;
 * r1 - r0 <= the table's gemm_rows for the type. */
typedef void (*fl_mm_gemm_fn)(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch);

struct fl_mm_kernels {
    const char *name;
    /* x[k] -> codes, d, sums of one row (formats above) */
    void (*quant_q8_32)(const float *x, int8_t *q, float *d, int32_t *sum, int64_t k);
    void (*quant_q8_k)(const float *x, int8_t *q, float *d, int32_t *sum, int64_t k);
    /* sum_i a[i] * b[i] (the generic dequantize-then-dot path) */
    float (*dot_f32)(const float *a, const float *b, int64_t k);
    /* decode kernels by weight type; NULL: this table lacks the type */
    fl_mm_rows_fn rows[FLINT_TYPE_COUNT];
    /* prefill kernels by weight type; NULL: tiles of rows[] instead */
    fl_mm_gemm_fn gemm[FLINT_TYPE_COUNT];
    /* the most W rows per gemm[type] call, a multiple of FL_MM_PANEL_ROWS
     * (0: FL_MM_PANEL_ROWS); matmul.c gives fewer when a job is too small to
     * give every thread a unit */
    int32_t gemm_rows[FLINT_TYPE_COUNT];
    /* prefill activation packing for gemm[type]: bytes needed, and the
     * packing of rows [c0, c1) (c0 a multiple of the table's column tile) */
    uint64_t (*pack_bytes)(flint_type type, int64_t n, int64_t k);
    void (*pack_act)(flint_type type, const fl_mm_act *a, void *packed, int64_t c0, int64_t c1);
    /* per-thread scratch of gemm[type] for n activation rows and weight rows
     * of k elements */
    uint64_t (*gemm_scratch_bytes)(flint_type type, int64_t n, int64_t k);
};

extern const fl_mm_kernels fl_mm_kernels_scalar;
#if defined(__x86_64__) || defined(__i386__)
extern const fl_mm_kernels fl_mm_kernels_avx2;
extern const fl_mm_kernels fl_mm_kernels_avx512;
#endif
#if defined(__x86_64__)
extern const fl_mm_kernels fl_mm_kernels_amx; /* AVX-512 with the BF16 prefill on AMX tiles */
#endif
#if defined(__aarch64__)
extern const fl_mm_kernels fl_mm_kernels_neon;
#endif

/* The activation format a weight type needs. */
static inline fl_mm_act_kind fl_mm_act_for(flint_type type) {
    switch (type) {
    case FLINT_TYPE_Q4_0:
    case FLINT_TYPE_Q4_1:
    case FLINT_TYPE_Q5_0:
    case FLINT_TYPE_Q5_1:
    case FLINT_TYPE_Q8_0:
    case FLINT_TYPE_IQ4_NL:
    case FLINT_TYPE_MXFP4:
    case FLINT_TYPE_MLX_Q4:
    case FLINT_TYPE_MLX_Q8: return FL_MM_ACT_Q8_32;
    case FLINT_TYPE_Q4_K:
    case FLINT_TYPE_Q5_K:
    case FLINT_TYPE_Q6_K:
    case FLINT_TYPE_IQ4_XS: return FL_MM_ACT_Q8_K;
    default: return FL_MM_ACT_F32;
    }
}

/* ---- block field readers (little-endian, unaligned) ---- */

static inline uint16_t fl_mm_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t fl_mm_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline float fl_mm_f16(const uint8_t *p) { return fl_f16_to_f32(fl_mm_u16(p)); }

/* MXFP4's E8M0 scale, halved because the codes are 2 x E2M1 (as ggml). */
static inline float fl_mm_e8m0_half(uint8_t e) {
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* An MLX scale or bias g of one row, as f32. */
static inline float fl_mm_mlx_scale(flint_type t, const uint8_t *p, int64_t g) {
    if (t == FLINT_TYPE_F16) return fl_f16_to_f32(fl_mm_u16(p + 2 * g));
    if (t == FLINT_TYPE_BF16) return fl_bf16_to_f32(fl_mm_u16(p + 2 * g));
    float f;
    memcpy(&f, p + 4 * g, sizeof f);
    return f;
}

/* Bytes per scale of an MLX weight. */
static inline int64_t fl_mm_mlx_scale_bytes(flint_type t) { return t == FLINT_TYPE_F32 ? 4 : 2; }

/* Q4_K/Q5_K: the 6-bit (scale, min) of sub-block j (0..7) from the 12
 * packed bytes (MODELS.md §9). */
static inline void fl_mm_scale_min_k4(const uint8_t *s, int j, int *sc, int *mn) {
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* Q4_K/Q5_K: all 8 pairs at once, with 64-bit integer ops: byte j of *sc
 * and of *mn is sub-block j's scale and min (fl_mm_scale_min_k4's values). */
static inline void fl_mm_scales_mins_k4(const uint8_t *s, uint64_t *sc, uint64_t *mn) {
    uint64_t v;
    uint32_t t;
    memcpy(&v, s, 8);
    memcpy(&t, s + 8, 4);
    *sc = (v & 0x3f3f3f3full) | (uint64_t)((t & 0x0f0f0f0fu) | (((uint32_t)(v >> 6) & 0x03030303u) << 4)) << 32;
    *mn = ((v >> 32) & 0x3f3f3f3full) | (uint64_t)(((t >> 4) & 0x0f0f0f0fu) | (((uint32_t)(v >> 38) & 0x03030303u) << 4)) << 32;
}

/* The IQ4_NL / IQ4_XS levels and the MXFP4 codes (2 x E2M1). */
static const int8_t fl_mm_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                               1,    13,   25,  38,  53,  69,  89,  113};
static const int8_t fl_mm_kvalues_mxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/* Instantiates call(N) for a row count n in 1..8 (values above 8 take 8),
 * so that kernels keep their n accumulators in registers. */
#define FL_MM_DISPATCH8(n, call)  \
    switch (n) {                  \
    case 1: call(1); break;       \
    case 2: call(2); break;       \
    case 3: call(3); break;       \
    case 4: call(4); break;       \
    case 5: call(5); break;       \
    case 6: call(6); break;       \
    case 7: call(7); break;       \
    default: call(8); break;      \
    }

/* The .rows initialiser of a table that has a rows_<type> kernel for
 * every weight type with a kernel (scalar, AVX2, AVX-512; NEON has fewer). */
#define FL_MM_ROWS_EVERY_TYPE                                                                              \
    [FLINT_TYPE_F32] = rows_f32, [FLINT_TYPE_F16] = rows_f16, [FLINT_TYPE_BF16] = rows_bf16,               \
    [FLINT_TYPE_Q4_0] = rows_q4_0, [FLINT_TYPE_Q4_1] = rows_q4_1, [FLINT_TYPE_Q5_0] = rows_q5_0,           \
    [FLINT_TYPE_Q5_1] = rows_q5_1, [FLINT_TYPE_Q8_0] = rows_q8_0, [FLINT_TYPE_IQ4_NL] = rows_iq4_nl,       \
    [FLINT_TYPE_MXFP4] = rows_mxfp4, [FLINT_TYPE_MLX_Q4] = rows_mlx4, [FLINT_TYPE_MLX_Q8] = rows_mlx8,     \
    [FLINT_TYPE_Q4_K] = rows_q4_k, [FLINT_TYPE_Q5_K] = rows_q5_k, [FLINT_TYPE_Q6_K] = rows_q6_k,           \
    [FLINT_TYPE_IQ4_XS] = rows_iq4_xs

/* The Q8_32 and Q8_K activation quantizers of a table built on a block
 * quantizer  float qb(const float *x, int8_t *q, int len, int32_t *sums16)
 * (d of the block; codes; the sum of each 16 codes). */
#define FL_MM_QUANT_Q8_FROM_BLOCKS(qb)                                                          \
    static void quant_q8_32(const float *x, int8_t *q, float *d, int32_t *sum, int64_t k) {     \
        for (int64_t b = 0; b < k / 32; b++) {                                                 \
            int32_t s[2];                                                                      \
            d[b] = qb(x + 32 * b, q + 32 * b, 32, s);                                          \
            sum[b] = s[0] + s[1];                                                              \
        }                                                                                      \
    }                                                                                          \
    static void quant_q8_k(const float *x, int8_t *q, float *d, int32_t *sum, int64_t k) {      \
        for (int64_t b = 0; b < k / 256; b++) d[b] = qb(x + 256 * b, q + 256 * b, 256, sum + 16 * b); \
    }

#endif
