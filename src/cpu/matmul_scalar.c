/* matmul_scalar.c — the portable reference kernels of the CPU matmul: the
 * activation quantizers and one decode kernel per weight type, written for
 * clarity. Every SIMD table is tested against this one, and it is tested
 * against a double-precision product of fl_dequant_row() weights.
 *
 * Integer formats: the dot product of a weight block with a Q8 activation
 * block is taken over integer codes (exact), then scaled once per block:
 *   y += (d_w * d_x) * sum(qw * qx)  [ + min_w * d_x * sum(qx) ]
 * which is what the SIMD kernels do lane by lane. No prefill kernels here:
 * matmul.c runs prefill as cache tiles of these decode kernels. */
#include <math.h>

#include "cpu/matmul_kernels.h"

/* ---- activation quantizers ---- */

/* One block: d = amax / 127, q = rint(x * (1 / d)) (current rounding mode:
 * nearest even, as the SIMD conversions); |x * (1/d)| <= 127 * (1 + 2^-23)
 * so no code leaves [-127, 127]. */
static float quant_block(const float *x, int8_t *q, int len) {
    float amax = 0.0f;
    for (int i = 0; i < len; i++) amax = fmaxf(amax, fabsf(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int i = 0; i < len; i++) q[i] = (int8_t)nearbyintf(x[i] * id);
    return d;
}

static void quant_q8_32(const float *x, int8_t *q, float *d, int32_t *sum, int64_t k) {
    for (int64_t b = 0; b < k / 32; b++) {
        d[b] = quant_block(x + 32 * b, q + 32 * b, 32);
        int32_t s = 0;
        for (int i = 0; i < 32; i++) s += q[32 * b + i];
        sum[b] = s;
    }
}

static void quant_q8_k(const float *x, int8_t *q, float *d, int32_t *sum, int64_t k) {
    for (int64_t b = 0; b < k / 256; b++) d[b] = quant_block(x + 256 * b, q + 256 * b, 256);
    for (int64_t g = 0; g < k / 16; g++) {
        int32_t s = 0;
        for (int i = 0; i < 16; i++) s += q[16 * g + i];
        sum[g] = s;
    }
}

static float dot_f32(const float *a, const float *b, int64_t k) {
    float s = 0.0f;
    for (int64_t i = 0; i < k; i++) s += a[i] * b[i];
    return s;
}

/* ---- the decode loop shared by every type ----
 * dot(w row, activation row c) -> y; the weight row is re-read per c from
 * L1, which is fine for a reference. */

typedef float (*row_dot_fn)(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c);

static void rows_loop(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, row_dot_fn dot) {
    for (int64_t r = r0; r < r1; r++)
        for (int64_t c = c0; c < c0 + nc; c++) job->y[c * job->ldy + r] = dot(job->w, r, job->a, c);
}

#define ROW(w, r) ((const uint8_t *)(w)->data + (uint64_t)(r) * (w)->row_bytes)

/* ---- float weights ---- */

static float dot_row_f32(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c) {
    const float *x = a->f32 + c * a->k;
    const uint8_t *p = ROW(w, r);
    float s = 0.0f;
    for (int64_t i = 0; i < a->k; i++) {
        float v;
        memcpy(&v, p + 4 * i, sizeof v);
        s += v * x[i];
    }
    return s;
}

static float dot_row_f16(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c) {
    const float *x = a->f32 + c * a->k;
    const uint8_t *p = ROW(w, r);
    float s = 0.0f;
    for (int64_t i = 0; i < a->k; i++) s += fl_mm_f16(p + 2 * i) * x[i];
    return s;
}

static float dot_row_bf16(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c) {
    const uint8_t *p = ROW(w, r);
    float s = 0.0f;
    const float *x = a->f32 + c * a->k;
    for (int64_t i = 0; i < a->k; i++) s += fl_bf16_to_f32(fl_mm_u16(p + 2 * i)) * x[i];
    return s;
}

/* ---- 32-element blocks against Q8_32 activations ---- */

/* The 32 codes of a block with 4-bit codes in nibbles: byte j holds element
 * j (low) and j + 16 (high). */
static void nibbles(const uint8_t *qs, int *q) {
    for (int j = 0; j < 16; j++) {
        q[j] = qs[j] & 0x0f;
        q[j + 16] = qs[j] >> 4;
    }
}

static void q5_codes(const uint8_t *qh4, const uint8_t *qs, int *q) {
    const uint32_t qh = fl_mm_u32(qh4);
    nibbles(qs, q);
    for (int j = 0; j < 32; j++) q[j] |= (int)((qh >> j) & 1) << 4;
}

static int32_t idot32(const int *q, const int8_t *x) {
    int32_t s = 0;
    for (int j = 0; j < 32; j++) s += q[j] * x[j];
    return s;
}

/* One 32-block: codes q (offset already applied), weight scale and min. */
typedef void (*block32_fn)(const uint8_t *blk, int *q, float *d, float *m);

static void blk_q4_0(const uint8_t *b, int *q, float *d, float *m) {
    *d = fl_mm_f16(b), *m = 0.0f;
    nibbles(b + 2, q);
    for (int j = 0; j < 32; j++) q[j] -= 8;
}
static void blk_q4_1(const uint8_t *b, int *q, float *d, float *m) {
    *d = fl_mm_f16(b), *m = fl_mm_f16(b + 2);
    nibbles(b + 4, q);
}
static void blk_q5_0(const uint8_t *b, int *q, float *d, float *m) {
    *d = fl_mm_f16(b), *m = 0.0f;
    q5_codes(b + 2, b + 6, q);
    for (int j = 0; j < 32; j++) q[j] -= 16;
}
static void blk_q5_1(const uint8_t *b, int *q, float *d, float *m) {
    *d = fl_mm_f16(b), *m = fl_mm_f16(b + 2);
    q5_codes(b + 4, b + 8, q);
}
static void blk_q8_0(const uint8_t *b, int *q, float *d, float *m) {
    *d = fl_mm_f16(b), *m = 0.0f;
    for (int j = 0; j < 32; j++) q[j] = (int8_t)b[2 + j];
}
static void blk_iq4_nl(const uint8_t *b, int *q, float *d, float *m) {
    *d = fl_mm_f16(b), *m = 0.0f;
    nibbles(b + 2, q);
    for (int j = 0; j < 32; j++) q[j] = fl_mm_kvalues_iq4nl[q[j]];
}
static void blk_mxfp4(const uint8_t *b, int *q, float *d, float *m) {
    *d = fl_mm_e8m0_half(b[0]), *m = 0.0f;
    nibbles(b + 1, q);
    for (int j = 0; j < 32; j++) q[j] = fl_mm_kvalues_mxfp4[q[j]];
}

static float dot_row_b32(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c, block32_fn blk, int bytes) {
    const uint8_t *p = ROW(w, r);
    const int64_t nb = a->k / 32;
    const int8_t *x = a->q + c * a->k;
    const float *dx = a->d + c * nb;
    const int32_t *sx = a->sum + c * nb;
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int q[32];
        float d, m;
        blk(p + b * bytes, q, &d, &m);
        s += d * dx[b] * (float)idot32(q, x + 32 * b);
        if (m != 0.0f) s += m * dx[b] * (float)sx[b];
    }
    return s;
}

#define B32(name, bytes)                                                                       \
    static float dot_row_##name(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c) { \
        return dot_row_b32(w, r, a, c, blk_##name, bytes);                                     \
    }
B32(q4_0, 18)
B32(q4_1, 20)
B32(q5_0, 22)
B32(q5_1, 24)
B32(q8_0, 34)
B32(iq4_nl, 18)
B32(mxfp4, 17)

/* MLX affine: codes q unsigned, y = s_g * q + b_g per group of group_size
 * (a multiple of 32, so each Q8_32 block lies in one group). */
static float dot_row_mlx(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c, int bits) {
    const uint8_t *p = ROW(w, r);
    const int64_t k = a->k, nb = k / 32, ng = k / w->group_size;
    const int64_t sb = fl_mm_mlx_scale_bytes(w->scale_type);
    const uint8_t *sc = (const uint8_t *)w->scales + (uint64_t)r * (uint64_t)(ng * sb);
    const uint8_t *bi = (const uint8_t *)w->biases + (uint64_t)r * (uint64_t)(ng * sb);
    const int8_t *x = a->q + c * k;
    const float *dx = a->d + c * nb;
    const int32_t *sx = a->sum + c * nb;
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const int64_t g = b * 32 / w->group_size;
        const float ws = fl_mm_mlx_scale(w->scale_type, sc, g);
        const float wb = fl_mm_mlx_scale(w->scale_type, bi, g);
        int q[32];
        for (int j = 0; j < 32; j++) {
            int64_t i = 32 * b + j;
            q[j] = bits == 4 ? (p[i / 2] >> (4 * (i & 1))) & 15 : p[i];
        }
        s += ws * dx[b] * (float)idot32(q, x + 32 * b);
        s += wb * dx[b] * (float)sx[b];
    }
    return s;
}
static float dot_row_mlx4(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c) {
    return dot_row_mlx(w, r, a, c, 4);
}
static float dot_row_mlx8(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c) {
    return dot_row_mlx(w, r, a, c, 8);
}

/* ---- 256-element super-blocks against Q8_K activations ---- */

/* Q4_K (144 bytes: d, dmin, scales[12], qs[128]) and Q5_K (176: + qh[32]
 * before qs). Sub-block j of 32: codes of 64-chunk j/2, low nibble for even
 * j; Q5_K adds bit j of qh[l]. y = d*sc*q - dmin*mn. */
static float dot_row_q45k(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c, int five) {
    const int bytes = five ? 176 : 144;
    const uint8_t *p = ROW(w, r);
    const int64_t nb = a->k / 256;
    const int8_t *x = a->q + c * a->k;
    const float *dx = a->d + c * nb;
    const int32_t *sx = a->sum + c * (a->k / 16);
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = p + b * bytes;
        const float d = fl_mm_f16(blk), dmin = fl_mm_f16(blk + 2);
        const uint8_t *scales = blk + 4, *qh = blk + 16, *qs = blk + (five ? 48 : 16);
        int32_t isum = 0, msum = 0;
        for (int j = 0; j < 8; j++) {
            int sc, mn;
            fl_mm_scale_min_k4(scales, j, &sc, &mn);
            int q[32];
            for (int l = 0; l < 32; l++) {
                int v = (j & 1) ? qs[32 * (j / 2) + l] >> 4 : qs[32 * (j / 2) + l] & 15;
                if (five) v |= ((qh[l] >> j) & 1) << 4;
                q[l] = v;
            }
            isum += sc * idot32(q, x + 256 * b + 32 * j);
            msum += mn * (sx[16 * b + 2 * j] + sx[16 * b + 2 * j + 1]);
        }
        s += dx[b] * (d * (float)isum - dmin * (float)msum);
    }
    return s;
}
static float dot_row_q4_k(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c) {
    return dot_row_q45k(w, r, a, c, 0);
}
static float dot_row_q5_k(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c) {
    return dot_row_q45k(w, r, a, c, 1);
}

/* Q6_K (210 bytes: ql[128], qh[64], scales[16] int8, d). Element
 * e = 128n + 32g + l: nibble of ql[64n + l + 32(g&1)] (high if g >= 2),
 * 2 bits (qh[32n + l] >> 2g); q - 32, scale of 16-group e / 16. */
static float dot_row_q6_k(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c) {
    const uint8_t *p = ROW(w, r);
    const int64_t nb = a->k / 256;
    const int8_t *x = a->q + c * a->k;
    const float *dx = a->d + c * nb;
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = p + b * 210;
        const uint8_t *ql = blk, *qh = blk + 128;
        const int8_t *scales = (const int8_t *)(blk + 192);
        const float d = fl_mm_f16(blk + 208);
        int32_t isum = 0;
        for (int g16 = 0; g16 < 16; g16++) {
            int32_t gs = 0;
            for (int i = 0; i < 16; i++) {
                int e = 16 * g16 + i, n = e / 128, g = (e / 32) % 4, l = e % 32;
                uint8_t byte = ql[64 * n + l + 32 * (g & 1)];
                int nib = g >= 2 ? byte >> 4 : byte & 15;
                int h = (qh[32 * n + l] >> (2 * g)) & 3;
                gs += ((nib | h << 4) - 32) * x[256 * b + e];
            }
            isum += scales[g16] * gs;
        }
        s += d * dx[b] * (float)isum;
    }
    return s;
}

/* IQ4_XS (136 bytes: d, scales_h u16, scales_l[4], qs[128]): sub-block j
 * of 32 has 6-bit scale ls - 32 and IQ4_NL levels. */
static float dot_row_iq4_xs(const fl_weight *w, int64_t r, const fl_mm_act *a, int64_t c) {
    const uint8_t *p = ROW(w, r);
    const int64_t nb = a->k / 256;
    const int8_t *x = a->q + c * a->k;
    const float *dx = a->d + c * nb;
    float s = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = p + b * 136;
        const float d = fl_mm_f16(blk);
        const uint16_t sh = fl_mm_u16(blk + 2);
        const uint8_t *sl = blk + 4, *qs = blk + 8;
        int32_t isum = 0;
        for (int j = 0; j < 8; j++) {
            int ls = ((sl[j / 2] >> (4 * (j % 2))) & 15) | (((sh >> (2 * j)) & 3) << 4);
            int q[32];
            nibbles(qs + 16 * j, q);
            for (int l = 0; l < 32; l++) q[l] = fl_mm_kvalues_iq4nl[q[l]];
            isum += (ls - 32) * idot32(q, x + 256 * b + 32 * j);
        }
        s += d * dx[b] * (float)isum;
    }
    return s;
}

/* ---- the table ---- */

#define ROWS_FN(name)                                                                                          \
    static void rows_##name(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) { \
        (void)scratch;                                                                                         \
        rows_loop(job, c0, nc, r0, r1, dot_row_##name);                                                        \
    }
ROWS_FN(f32)
ROWS_FN(f16)
ROWS_FN(bf16)
ROWS_FN(q4_0)
ROWS_FN(q4_1)
ROWS_FN(q5_0)
ROWS_FN(q5_1)
ROWS_FN(q8_0)
ROWS_FN(iq4_nl)
ROWS_FN(mxfp4)
ROWS_FN(mlx4)
ROWS_FN(mlx8)
ROWS_FN(q4_k)
ROWS_FN(q5_k)
ROWS_FN(q6_k)
ROWS_FN(iq4_xs)

const fl_mm_kernels fl_mm_kernels_scalar = {
    .name = "scalar",
    .quant_q8_32 = quant_q8_32,
    .quant_q8_k = quant_q8_k,
    .dot_f32 = dot_f32,
    .rows = {FL_MM_ROWS_EVERY_TYPE},
};
