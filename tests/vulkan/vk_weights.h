/* vk_weights.h — weights of every type for the Vulkan product tests
 * (test_vk_matmul.c, test_vk_moe.c): quantized from random floats by the
 * project's quantizers (random blocks with small scales for Q4_1 and the
 * types without an encoder; MLX codes, scales and biases at random), kept
 * allocated to the end, and the error of a product against a reference
 * relative to sum_k |x w|. */
#ifndef FL_VK_WEIGHTS_H
#define FL_VK_WEIGHTS_H

#include "quant/dequant.h"
#include "quant/types.h"
#include "vk_harness.h"

typedef struct wbuf {
    fl_weight w;
    uint8_t *data, *scales, *biases;
} wbuf;

static void put_f16(uint8_t *p, float v) {
    uint16_t h = fl_f32_to_f16(v);
    p[0] = (uint8_t)h, p[1] = (uint8_t)(h >> 8);
}

/* Random bytes with each f16 scale field replaced by a small value, for
 * types without an encoder. */
static void random_blocks(flint_type t, uint8_t *p, int64_t nb, uint64_t *s) {
    const fl_type_info *ti = fl_type_get(t);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *q = p + b * ti->type_size;
        for (int i = 0; i < ti->type_size; i++) q[i] = (uint8_t)(vk_rand(s, 0, 256));
        const float d = vk_rand(s, 0.002f, 0.02f);
        switch (t) {
        case FLINT_TYPE_Q4_1: put_f16(q, d), put_f16(q + 2, vk_rand(s, -0.1f, 0.1f)); break;
        case FLINT_TYPE_IQ4_NL: put_f16(q, d); break;
        case FLINT_TYPE_Q2_K: put_f16(q + 80, d), put_f16(q + 82, d); break;
        default: break;
        }
    }
}

static void store_scale(uint8_t *p, flint_type st, float v) {
    if (st == FLINT_TYPE_F32) memcpy(p, &v, 4);
    else {
        uint16_t h = st == FLINT_TYPE_F16 ? fl_f32_to_f16(v) : fl_f32_to_bf16(v);
        memcpy(p, &h, 2);
    }
}

/* W[m][k] of type t (MLX: group g, scale type st). */
static wbuf make_weight(flint_type t, int64_t m, int64_t k, int32_t g, flint_type st, uint64_t seed) {
    wbuf b = {.w = {.type = t, .m = m, .k = k}};
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
    if (fl_mlx_mode_of(t) != FL_MLX_NONE) {
        const int64_t ng = k / g, sb = st == FLINT_TYPE_F32 ? 4 : 2;
        b.w.row_bytes = (uint64_t)(k * fl_mlx_bits(t) / 8);
        b.w.group_size = g;
        b.w.scale_type = st;
        b.data = malloc((size_t)(m * (int64_t)b.w.row_bytes));
        b.scales = malloc((size_t)(m * ng * sb));
        b.biases = malloc((size_t)(m * ng * sb));
        for (int64_t i = 0; i < m * (int64_t)b.w.row_bytes; i++) b.data[i] = (uint8_t)vk_rand(&s, 0, 256);
        for (int64_t i = 0; i < m * ng; i++) {
            store_scale(b.scales + i * sb, st, vk_rand(&s, -0.03f, 0.03f));
            store_scale(b.biases + i * sb, st, vk_rand(&s, -0.2f, 0.2f));
        }
        b.w.scales = b.scales, b.w.biases = b.biases;
    } else {
        const fl_type_info *ti = fl_type_get(t);
        CHECK(fl_type_row_bytes(t, (uint64_t)k, &b.w.row_bytes));
        b.data = malloc((size_t)(m * (int64_t)b.w.row_bytes));
        if (ti->can_quant) {
            float *row = malloc((size_t)k * sizeof *row);
            flint_status q = FLINT_OK;
            for (int64_t r = 0; r < m && !q; r++) {
                for (int64_t i = 0; i < k; i++) row[i] = vk_rand(&s, -1, 1);
                q = fl_quant_row(t, row, b.data + r * b.w.row_bytes, k);
            }
            CHECK_MSG(q == FLINT_OK, "quantize %s: %s", ti->name, flint_errmsg());
            free(row);
        } else {
            random_blocks(t, b.data, m * k / ti->block_size, &s);
        }
    }
    b.w.data = b.data;
    return b;
}

/* Weights stay allocated until the end: the device keeps uploads by host
 * address, so a freed and reused address would find the old upload. */
static wbuf kept[512];
static int n_kept;
static const fl_weight *keep(wbuf b) {
    kept[n_kept] = b;
    return &kept[n_kept++].w;
}

/* Largest |y - ref| / (tol * sum_k |x w|) over y[n][m] (x[n][k]): <= 1 passes. */
static double err_of(const fl_weight *w, const float *x, const float *y, const float *ref, int64_t n, double tol) {
    float *row = malloc((size_t)w->k * sizeof *row);
    double worst = 0;
    for (int64_t r = 0; r < w->m; r++) {
        if (fl_weight_row_f32(w, r, row)) return INFINITY;
        for (int64_t c = 0; c < n; c++) {
            double bound = 0;
            for (int64_t i = 0; i < w->k; i++) bound += fabs((double)x[c * w->k + i] * row[i]);
            const double d = fabs((double)y[c * w->m + r] - ref[c * w->m + r]);
            const double e = isfinite(y[c * w->m + r]) ? d / (tol * bound + 1e-30) : INFINITY;
            if (e > worst) worst = e;
        }
    }
    free(row);
    return worst;
}

#endif
