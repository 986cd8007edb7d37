/* quantize_kquants.c — reference Q4_K, Q5_K and Q6_K quantizers: the
 * algorithms of llama.cpp's quantize_row_q{4,5,6}_K_ref (no importance
 * matrix), restated so that the same input gives the same bytes and hence
 * the same quality as `llama-quantize` without --imatrix.
 *
 *   Q4_K/Q5_K: per sub-block of 32, a weighted least-squares search over
 *     candidate scales for y = scale*q - min (search_scale_min); the eight
 *     (scale, min) pairs are then quantized to 6 bits against the block's
 *     f16 d and dmin, and the codes recomputed with those final scales.
 *   Q6_K: per sub-block of 16, a symmetric search for y = scale*(q - 32)
 *     weighted by x^2 (search_scale_sym); the sixteen scales become int8
 *     against the block's f16 d, and the codes are recomputed.
 *
 * Every f32 operation is rounded where llama.cpp rounds it (no FMA, same
 * association), since the searches compare errors and a changed last bit
 * can pick another candidate. */
#include <math.h>
#include <string.h>

#include "quant/dequant_internal.h"

FL_NO_FP_CONTRACT

/* Below this a group is treated as all zeros (GROUP_MAX_EPS in ggml). */
#define GROUP_MAX_EPS 1e-15f

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* Round to nearest, ties to even, for |v| < 2^22: adding 1.5 * 2^23 leaves
 * the rounded integer in the low mantissa bits. Independent of the FPU
 * rounding-mode setting only in that it uses the default mode, like ggml;
 * never undefined (out-of-range input gives a meaningless but defined int
 * that callers clamp). */
static int nearest_int(float v) {
    float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* Asymmetric fit of x[0..n) (weights w) to scale * L - min, L in
 * [0, nmax], min >= 0 (min is stored negated: the fit always includes 0).
 * Starts from the min/max grid and tries nstep+1 rescaled grids
 * iscale = (rmin + rdelta*is + nmax) / (max - min), each followed by a
 * closed-form weighted least-squares (scale, min); keeps the best by
 * weighted squared error. Returns scale, writes L and *the_min.
 * (make_qkx2_quants in ggml, with use_mad = false.) */
static float search_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L, float *the_min,
                              uint8_t *Laux, float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0];
    float sum_w = w[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        const float wx = w[i] * x[i];
        sum_w += w[i];
        sum_x += wx;
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)imax(0, imin(nmax, nearest_int(iscale * (x[i] - min))));
        const float sl = scale * (float)L[i];
        const float slm = sl + min;
        const float diff = slm - x[i];
        const float e = w[i] * (diff * diff);
        best_error += e;
    }
    for (int is = 0; is <= nstep; is++) {
        const float step = rdelta * (float)is;
        const float num = rmin + step;
        iscale = (num + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = imax(0, imin(nmax, nearest_int(iscale * (x[i] - min))));
            Laux[i] = (uint8_t)l;
            const float wl = w[i] * (float)l;
            sum_l += wl;
            sum_l2 += wl * (float)l;
            sum_xl += wl * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) { /* a positive offset is not representable */
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                const float sl = this_scale * (float)Laux[i];
                const float slm = sl + this_min;
                const float diff = slm - x[i];
                const float e = w[i] * (diff * diff);
                cur_error += e;
            }
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* Symmetric fit of x[0..n) to scale * l, l in [-nmax, nmax-1] (stored as
 * L = l + nmax), weighted by x^2. Starts from the grid that maps the
 * largest-magnitude element to -nmax, then tries 18 nearby grids
 * iscale = -(nmax + 0.1*is) / max, is = -9..9; each grid's least-squares
 * scale sumlx/suml2 is kept if it explains more of x (larger
 * sumlx^2/suml2). (make_qx_quants in ggml, rmse_type 1, no weights.) */
static float search_scale_sym(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = (float)(-nmax) / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = imax(-nmax, imin(nmax - 1, nearest_int(iscale * x[i])));
        L[i] = (int8_t)(l + nmax);
        const float w = x[i] * x[i];
        const float wx = w * x[i];
        const float wl = w * (float)l;
        sumlx += wx * (float)l;
        suml2 += wl * (float)l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        const float step = 0.1f * (float)is;
        const float num = (float)nmax + step;
        iscale = -num / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = imax(-nmax, imin(nmax - 1, nearest_int(iscale * x[i])));
            const float w = x[i] * x[i];
            const float wx = w * x[i];
            const float wl = w * (float)l;
            sumlx += wx * (float)l;
            suml2 += wl * (float)l;
        }
        const float lhs = sumlx * sumlx;
        const float rhs = best * suml2;
        if (suml2 > 0 && lhs > rhs) {
            for (int i = 0; i < n; i++) {
                int l = imax(-nmax, imin(nmax - 1, nearest_int(iscale * x[i])));
                L[i] = (int8_t)(l + nmax);
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* The 6-bit (scale, min) of sub-block j into the 12 scale bytes (layout in
 * dequant_kquants.c); s must start zeroed. */
static void put_scale_min_k4(uint8_t *s, int j, uint8_t ls, uint8_t lm) {
    if (j < 4) {
        s[j] |= ls;
        s[j + 4] |= lm;
    } else {
        s[j + 4] = (uint8_t)((ls & 0x0f) | (lm & 0x0f) << 4);
        s[j - 4] |= (uint8_t)((ls >> 4) << 6);
        s[j] |= (uint8_t)((lm >> 4) << 6);
    }
}

static void get_scale_min_k4(const uint8_t *s, int j, int *sc, int *mn) {
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* Shared by Q4_K (nmax 15) and Q5_K (nmax 31): fills the codes L[256] in
 * [0, nmax] and writes d, dmin and the 12 scale bytes at y[0..16). The
 * search parameters are llama.cpp's: Q4_K tries iscale offsets -1.0..+1.0
 * in 0.1 steps, Q5_K -0.5..+1.0. */
static void quant_k_scale_min(const float *x, uint8_t *y, uint8_t *L, int nmax, float rmin, float rdelta,
                              int nstep) {
    float scales[8], mins[8], weights[32];
    uint8_t Laux[32];
    float max_scale = 0, max_min = 0; /* the min is subtracted, so scales are >= 0 */
    for (int j = 0; j < 8; j++) {
        const float *xb = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) {
            const float sq = xb[l] * xb[l];
            sum_x2 += sq;
        }
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(xb[l]);
        scales[j] = search_scale_min(32, nmax, xb, weights, L + 32 * j, &mins[j], Laux, rmin, rdelta, nstep);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t *s = y + 4;
    memset(s, 0, 12);
    for (int j = 0; j < 8; j++) {
        /* llama.cpp stores nearest_int into a uint8_t (wrapping) before the
         * MIN; a negative scale can only come from a degenerate fit */
        uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
        put_scale_min_k4(s, j, ls < 63 ? ls : 63, lm < 63 ? lm : 63);
    }
    fl_wr_u16(y, fl_f32_to_f16(max_scale / 63.f));
    fl_wr_u16(y + 2, fl_f32_to_f16(max_min / 63.f));
    const float d_blk = fl_rd_f16(y), dmin_blk = fl_rd_f16(y + 2);
    /* recompute the codes against the rounded scales actually stored */
    for (int j = 0; j < 8; j++) {
        int sc, mn;
        get_scale_min_k4(s, j, &sc, &mn);
        const float d = d_blk * (float)sc;
        if (d == 0) continue; /* keep the codes from the search */
        const float dm = dmin_blk * (float)mn;
        for (int l = 0; l < 32; l++) {
            const float xm = x[32 * j + l] + dm;
            L[32 * j + l] = (uint8_t)imax(0, imin(nmax, nearest_int(xm / d)));
        }
    }
}

/* Q4_K (144 bytes): d, dmin, scales[12], qs[128]; qs[32c + l] holds
 * element 64c + l in its low nibble and 64c + l + 32 in its high nibble. */
void fl_quant_q4_k(const float *x, uint8_t *y, int64_t nb) {
    uint8_t L[FL_QK_K];
    for (int64_t i = 0; i < nb; i++, x += FL_QK_K, y += 144) {
        quant_k_scale_min(x, y, L, 15, -1.0f, 0.1f, 20);
        uint8_t *qs = y + 16;
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) qs[32 * c + l] = (uint8_t)(L[64 * c + l] | L[64 * c + l + 32] << 4);
        }
    }
}

/* Q5_K (176 bytes): d, dmin, scales[12], qh[32], qs[128]; the low 4 bits as
 * in Q4_K, bit 4 of element 64c + l + 32h (h = 0, 1) at bit 2c + h of
 * qh[l]. */
void fl_quant_q5_k(const float *x, uint8_t *y, int64_t nb) {
    uint8_t L[FL_QK_K];
    for (int64_t i = 0; i < nb; i++, x += FL_QK_K, y += 176) {
        quant_k_scale_min(x, y, L, 31, -0.5f, 0.1f, 15);
        uint8_t *qh = y + 16, *qs = y + 48;
        memset(qh, 0, 32);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                int lo = L[64 * c + l], hi = L[64 * c + l + 32];
                qs[32 * c + l] = (uint8_t)((lo & 0x0f) | (hi & 0x0f) << 4);
                qh[l] |= (uint8_t)((lo >> 4) << (2 * c) | (hi >> 4) << (2 * c + 1));
            }
        }
    }
}

/* Q6_K (210 bytes): ql[128], qh[64], scales[16] int8, d. Element
 * e = 128n + 32g + l: low nibble into ql[64n + l + 32(g&1)] (low half of
 * the byte for g < 2), top 2 bits at bits 2g of qh[32n + l]. */
void fl_quant_q6_k(const float *x, uint8_t *y, int64_t nb) {
    int8_t L[FL_QK_K];
    float scales[16];
    for (int64_t i = 0; i < nb; i++, x += FL_QK_K, y += 210) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < 16; ib++) {
            scales[ib] = search_scale_sym(16, 32, x + 16 * ib, L + 16 * ib);
            if (fabsf(scales[ib]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) { /* all (near) zero: an all-zero block */
            memset(y, 0, 210);
            continue;
        }
        /* the largest scale maps to -128 so the int8 range is used fully */
        const float iscale = -128.f / max_scale;
        int8_t *sc = (int8_t *)(y + 192);
        fl_wr_u16(y + 208, fl_f32_to_f16(1 / iscale));
        for (int ib = 0; ib < 16; ib++) sc[ib] = (int8_t)imin(127, nearest_int(iscale * scales[ib]));
        const float d_blk = fl_rd_f16(y + 208);
        for (int j = 0; j < 16; j++) {
            const float d = d_blk * (float)sc[j];
            if (d == 0) continue;
            for (int l = 0; l < 16; l++) {
                L[16 * j + l] = (int8_t)(imax(-32, imin(31, nearest_int(x[16 * j + l] / d))) + 32);
            }
        }
        uint8_t *ql = y, *qh = y + 128;
        memset(ql, 0, 192);
        for (int e = 0; e < FL_QK_K; e++) {
            int n = e / 128, g = (e / 32) % 4, l = e % 32, q = L[e];
            ql[64 * n + l + 32 * (g & 1)] |= (uint8_t)((q & 0x0f) << (g < 2 ? 0 : 4));
            qh[32 * n + l] |= (uint8_t)((q >> 4) << (2 * g));
        }
    }
}
