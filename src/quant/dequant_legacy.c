/* dequant_legacy.c — reference decoders for the ggml types with 32-element
 * blocks: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4. Layouts and formulas
 * follow MODELS.md §9; the products are evaluated in f32 in the same order
 * as ggml's dequantize_row_* so that results are bit-identical.
 *
 * Within a block, byte j of qs holds element j in its low nibble and
 * element j+16 in its high nibble. */
#include "quant/dequant_internal.h"

FL_NO_FP_CONTRACT

#define QK 32

const int8_t fl_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};

/* MXFP4 codes are E2M1 values doubled (the scale is halved to match). */
static const int8_t kvalues_mxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/* Q4_0 (18 bytes): d f16, qs[16]. y = d * (q - 8). */
void fl_dequant_q4_0(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 18, y += QK) {
        const float d = fl_rd_f16(x);
        const uint8_t *qs = x + 2;
        for (int j = 0; j < QK / 2; j++) {
            y[j] = (float)((qs[j] & 0x0f) - 8) * d;
            y[j + QK / 2] = (float)((qs[j] >> 4) - 8) * d;
        }
    }
}

/* Q4_1 (20 bytes): d f16, m f16, qs[16]. y = d * q + m. */
void fl_dequant_q4_1(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 20, y += QK) {
        const float d = fl_rd_f16(x);
        const float m = fl_rd_f16(x + 2);
        const uint8_t *qs = x + 4;
        for (int j = 0; j < QK / 2; j++) {
            const float p0 = (float)(qs[j] & 0x0f) * d;
            const float p1 = (float)(qs[j] >> 4) * d;
            y[j] = p0 + m;
            y[j + QK / 2] = p1 + m;
        }
    }
}

/* 5-bit code of element j (0..31) of a Q5 block: nibble plus bit j of qh. */
static int q5_code(const uint8_t *qs, uint32_t qh, int j) {
    int nib = j < QK / 2 ? qs[j] & 0x0f : qs[j - QK / 2] >> 4;
    return nib | (int)((qh >> j) & 1) << 4;
}

/* Q5_0 (22 bytes): d f16, qh[4] (u32 LE, bit j = high bit of element j),
 * qs[16]. y = d * (q - 16). */
void fl_dequant_q5_0(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 22, y += QK) {
        const float d = fl_rd_f16(x);
        const uint32_t qh = fl_rd_u32(x + 2);
        const uint8_t *qs = x + 6;
        for (int j = 0; j < QK; j++) y[j] = (float)(q5_code(qs, qh, j) - 16) * d;
    }
}

/* Q5_1 (24 bytes): d f16, m f16, qh[4], qs[16]. y = d * q + m. */
void fl_dequant_q5_1(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 24, y += QK) {
        const float d = fl_rd_f16(x);
        const float m = fl_rd_f16(x + 2);
        const uint32_t qh = fl_rd_u32(x + 4);
        const uint8_t *qs = x + 8;
        for (int j = 0; j < QK; j++) {
            const float p = (float)q5_code(qs, qh, j) * d;
            y[j] = p + m;
        }
    }
}

/* Q8_0 (34 bytes): d f16, qs[32] int8. y = d * q. */
void fl_dequant_q8_0(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 34, y += QK) {
        const float d = fl_rd_f16(x);
        for (int j = 0; j < QK; j++) y[j] = (float)(int8_t)x[2 + j] * d;
    }
}

/* IQ4_NL (18 bytes): d f16, qs[16]. y = d * K[q]. */
void fl_dequant_iq4_nl(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 18, y += QK) {
        const float d = fl_rd_f16(x);
        const uint8_t *qs = x + 2;
        for (int j = 0; j < QK / 2; j++) {
            y[j] = d * (float)fl_kvalues_iq4nl[qs[j] & 0x0f];
            y[j + QK / 2] = d * (float)fl_kvalues_iq4nl[qs[j] >> 4];
        }
    }
}

/* MXFP4 (17 bytes): e (E8M0), qs[16]. y = T[q] * 2^(e-128). */
void fl_dequant_mxfp4(const uint8_t *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 17, y += QK) {
        const float d = fl_e8m0_to_f32_half(x[0]);
        const uint8_t *qs = x + 1;
        for (int j = 0; j < QK / 2; j++) {
            y[j] = (float)kvalues_mxfp4[qs[j] & 0x0f] * d;
            y[j + QK / 2] = (float)kvalues_mxfp4[qs[j] >> 4] * d;
        }
    }
}
