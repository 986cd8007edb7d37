/* dequant_kquants.c — reference decoders for the ggml types with 256-element
 * super-blocks: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS. Each is written per
 * element from the index formulas of MODELS.md §9 rather than with ggml's
 * pointer walks, so the bit layout can be read off the code; the f32
 * products are rounded in the same order as ggml's dequantize_row_*
 * (sub-block scale first, then times the code, then minus the min). */
#include "quant/dequant_internal.h"

FL_NO_FP_CONTRACT

/* Q4_K/Q5_K: the 6-bit (scale, min) pair of sub-block j (0..7) packed into
 * 12 bytes: j < 4 in the low 6 bits of bytes j and j+4; j >= 4 split into a
 * low nibble in byte j+4 and the top 2 bits of bytes j-4 and j. */
static void scale_min_k4(const uint8_t *s, int j, int *sc, int *mn) {
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* Q2_K (84 bytes): scales[16] (low nibble scale, high nibble min), qs[64],
 * d f16, dmin f16. Element e = 128n + 32s + l: 2-bit code at bits 2s of
 * qs[32n + l]; sub-block of 16 = 8n + 2s + l/16. */
void fl_dequant_q2_k(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 84, y += FL_QK_K) {
        const uint8_t *scales = x, *qs = x + 16;
        const float d = fl_rd_f16(x + 80);
        const float dmin = fl_rd_f16(x + 82);
        for (int e = 0; e < FL_QK_K; e++) {
            int n = e / 128, s = (e / 32) % 4, l = e % 32;
            int q = (qs[32 * n + l] >> (2 * s)) & 3;
            uint8_t sc = scales[8 * n + 2 * s + l / 16];
            const float dl = d * (float)(sc & 0x0f);
            const float ml = dmin * (float)(sc >> 4);
            const float p = dl * (float)q;
            y[e] = p - ml;
        }
    }
}

/* Q3_K (110 bytes): hmask[32], qs[64], scales[12], d f16. Sixteen signed
 * 6-bit scales: low 4 bits in nibbles of scales[0..7] (i < 8 low nibble of
 * byte i, else high nibble of byte i-8), high 2 bits at bits 2*(i/4) of
 * scales[8 + i%4]; minus 32. Element e = 128n + 32s + l: 2-bit code at bits
 * 2s of qs[32n + l]; a clear bit 4n+s of hmask[l] subtracts 4. */
void fl_dequant_q3_k(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 110, y += FL_QK_K) {
        const uint8_t *hmask = x, *qs = x + 32, *sb = x + 96;
        const float d = fl_rd_f16(x + 108);
        int scale[16];
        for (int k = 0; k < 16; k++) {
            int low4 = k < 8 ? sb[k] & 0x0f : sb[k - 8] >> 4;
            int hi2 = (sb[8 + k % 4] >> (2 * (k / 4))) & 3;
            scale[k] = (low4 | hi2 << 4) - 32;
        }
        for (int e = 0; e < FL_QK_K; e++) {
            int n = e / 128, s = (e / 32) % 4, l = e % 32;
            int q = (qs[32 * n + l] >> (2 * s)) & 3;
            if (!(hmask[l] & (1 << (4 * n + s)))) q -= 4;
            const float dl = d * (float)scale[8 * n + 2 * s + l / 16];
            y[e] = dl * (float)q;
        }
    }
}

/* Q4_K (144 bytes): d f16, dmin f16, scales[12], qs[128]. Element
 * e = 64c + l: low nibble of qs[32c + l] for l < 32, high nibble of
 * qs[32c + l - 32] otherwise; sub-block of 32 = 2c + l/32. */
void fl_dequant_q4_k(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 144, y += FL_QK_K) {
        const float d = fl_rd_f16(x);
        const float dmin = fl_rd_f16(x + 2);
        const uint8_t *scales = x + 4, *qs = x + 16;
        for (int e = 0; e < FL_QK_K; e++) {
            int c = e / 64, l = e % 64, sc, mn;
            int q = l < 32 ? qs[32 * c + l] & 0x0f : qs[32 * c + l - 32] >> 4;
            scale_min_k4(scales, 2 * c + l / 32, &sc, &mn);
            const float dl = d * (float)sc;
            const float ml = dmin * (float)mn;
            const float p = dl * (float)q;
            y[e] = p - ml;
        }
    }
}

/* Q5_K (176 bytes): d f16, dmin f16, scales[12], qh[32], qs[128]. As Q4_K
 * plus a fifth bit: bit 2c + l/32 of qh[l % 32]. */
void fl_dequant_q5_k(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 176, y += FL_QK_K) {
        const float d = fl_rd_f16(x);
        const float dmin = fl_rd_f16(x + 2);
        const uint8_t *scales = x + 4, *qh = x + 16, *qs = x + 48;
        for (int e = 0; e < FL_QK_K; e++) {
            int c = e / 64, l = e % 64, sc, mn;
            int q = l < 32 ? qs[32 * c + l] & 0x0f : qs[32 * c + l - 32] >> 4;
            q |= ((qh[l % 32] >> (2 * c + l / 32)) & 1) << 4;
            scale_min_k4(scales, 2 * c + l / 32, &sc, &mn);
            const float dl = d * (float)sc;
            const float ml = dmin * (float)mn;
            const float p = dl * (float)q;
            y[e] = p - ml;
        }
    }
}

/* Q6_K (210 bytes): ql[128], qh[64], scales[16] int8, d f16. Element
 * e = 128n + 32g + l: low 4 bits from ql[64n + l + 32(g&1)] (low nibble for
 * g < 2, high for g >= 2), high 2 bits at bits 2g of qh[32n + l]; minus 32;
 * sub-block of 16 = 8n + 2g + l/16. */
void fl_dequant_q6_k(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 210, y += FL_QK_K) {
        const uint8_t *ql = x, *qh = x + 128;
        const int8_t *scales = (const int8_t *)(x + 192);
        const float d = fl_rd_f16(x + 208);
        for (int e = 0; e < FL_QK_K; e++) {
            int n = e / 128, g = (e / 32) % 4, l = e % 32;
            uint8_t b = ql[64 * n + l + 32 * (g & 1)];
            int nib = g < 2 ? b & 0x0f : b >> 4;
            int h = (qh[32 * n + l] >> (2 * g)) & 3;
            int q = (nib | h << 4) - 32;
            const float dl = d * (float)scales[8 * n + 2 * g + l / 16];
            y[e] = dl * (float)q;
        }
    }
}

/* IQ4_XS (136 bytes): d f16, scales_h u16, scales_l[4], qs[128]. Eight
 * sub-blocks of 32 with a 6-bit scale (low 4 bits from nibble ib%2 of
 * scales_l[ib/2], high 2 bits at bits 2ib of scales_h) minus 32; codes index
 * the IQ4_NL grid, nibbles laid out as in IQ4_NL within qs[16ib..16ib+16). */
void fl_dequant_iq4_xs(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 136, y += FL_QK_K) {
        const float d = fl_rd_f16(x);
        const uint16_t scales_h = fl_rd_u16(x + 2);
        const uint8_t *scales_l = x + 4, *qs = x + 8;
        for (int ib = 0; ib < 8; ib++) {
            int ls = ((scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0f) | ((scales_h >> (2 * ib)) & 3) << 4;
            const float dl = d * (float)(ls - 32);
            const uint8_t *q = qs + 16 * ib;
            float *yb = y + 32 * ib;
            for (int j = 0; j < 16; j++) {
                yb[j] = dl * (float)fl_kvalues_iq4nl[q[j] & 0x0f];
                yb[j + 16] = dl * (float)fl_kvalues_iq4nl[q[j] >> 4];
            }
        }
    }
}
