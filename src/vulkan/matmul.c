/* matmul.c — the Vulkan matrix products y[n,m] = x[n,k] . W[m,k]^T
 * (backend.h's matmul, matmul_group, prepare_weight): argument checks,
 * weight uploads and the choice of shader; the arithmetic lives in
 * shaders/mm_weights.glsl (dequantization), mm_vec.glsl (decode) and
 * mm_tile.glsl (prefill), one pair of shaders per weight type.
 *
 * Weights live on the device in their stored bytes (with an MLX weight's
 * scales and biases beside them), uploaded once through fl_vk_in and found
 * again by host address. A weight larger than the device's largest
 * allocation is cut into ranges of rows, each its own upload and its own
 * dispatch. Types without a shader that the CPU backend reads
 * (fl_weight_row_f32: Q2_K, Q3_K, IQ4_NL, MXFP4, the other MLX types, ...)
 * are dequantized on the host once, uploaded as F32 rows under the stored
 * bytes' address (fl_vk_in_as) and run by the F32 shaders.
 *
 * Kernels: n <= 8 x rows (decode), or every n in deterministic mode so
 * that a row's y does not depend on n: mm_vec, 4 weight rows per
 * workgroup and 8 x rows per z slice; larger n (prefill): mm_tile, 64 x 64
 * tiles of y through shared memory. Both multiply f32 x with the reference
 * dequantization in f32 (backend.h's exact mode). Cooperative matrices
 * (VK_KHR_cooperative_matrix) are not used.
 *
 * Must not: keep pointers to x or y between calls; write any y when a job
 * is invalid. */
#include <stdio.h>
#include <stdlib.h>

#include "backend/check.h"
#include "base/checked.h"
#include "base/error.h"
#include "quant/dequant.h"
#include "quant/types.h"
#include "vulkan/vk.h"

#define VEC_MAX_N 8 /* x rows per z slice of mm_vec; above this (outside deterministic mode) mm_tile */
#define VEC_ROWS 4  /* mm_vec's weight rows per workgroup */
#define TILE 64     /* mm_tile's rows of W and of x per workgroup */

bool fl_vk_mm_kernels_of(flint_type type, fl_vk_mm_kernels *out) {
#define K(t, name)                                                                          \
    case FLINT_TYPE_##t:                                                                    \
        *out = (fl_vk_mm_kernels){FL_VK_SHADER_mm_vec_##name, FL_VK_SHADER_mm_tile_##name,  \
                                  FL_VK_SHADER_mm_vec_id_##name, FL_VK_SHADER_mm_tile_id_##name}; \
        return true;
    switch (type) {
        K(F32, f32) K(F16, f16) K(BF16, bf16) K(Q8_0, q8_0) K(Q4_0, q4_0) K(Q4_1, q4_1) K(Q5_0, q5_0)
        K(Q5_1, q5_1) K(Q4_K, q4_k) K(Q5_K, q5_k) K(Q6_K, q6_k) K(MLX_Q4, mlx4) K(MLX_Q8, mlx8)
    default: return false;
    }
#undef K
}

flint_status fl_vk_mm_check_weight(const fl_weight *w) {
    flint_status st = fl_check_weight(w);
    if (st) return st;
    const char *name = fl_type_get(w->type)->name;
    /* the F32 rows of a type without a shader are 4k bytes */
    if (w->row_bytes > UINT32_MAX || (uint64_t)w->k > UINT32_MAX / sizeof(float))
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan matmul %s: rows of k=%lld are too long for the shaders", name,
                         (long long)w->k);
    return FLINT_OK;
}

static flint_status check_job(const fl_matmul_job *j, int32_t i) {
    if (!j->w) return fl_errorf(FLINT_E_INVALID_ARG, "vulkan matmul: job %d has a NULL weight", i);
    flint_status st = fl_vk_mm_check_weight(j->w);
    if (st) {
        char job[32];
        snprintf(job, sizeof job, "job %d", (int)i);
        return fl_error_prefix(st, job);
    }
    if (j->n < 0) return fl_errorf(FLINT_E_INVALID_ARG, "vulkan matmul: job %d has negative n %lld", i, (long long)j->n);
    if (j->n > 0 && j->w->m > 0 && (!j->x || !j->y))
        return fl_errorf(FLINT_E_INVALID_ARG, "vulkan matmul: job %d has a NULL x or y", i);
    uint64_t xb, yb;
    if ((uint64_t)j->w->m > UINT32_MAX || (uint64_t)j->n > UINT32_MAX ||
        !fl_mul_u64((uint64_t)j->n, (uint64_t)j->w->k * sizeof(float), &xb) ||
        !fl_mul_u64((uint64_t)j->n, (uint64_t)j->w->m * sizeof(float), &yb))
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan matmul: job %d's m=%lld or n=%lld is too large", i,
                         (long long)j->w->m, (long long)j->n);
    return FLINT_OK;
}

uint64_t fl_vk_mm_row_bytes(const fl_weight *w) {
    fl_vk_mm_kernels kn;
    return fl_vk_mm_kernels_of(w->type, &kn) ? w->row_bytes : (uint64_t)w->k * sizeof(float);
}

int64_t fl_vk_mm_range_rows(const fl_vk *vk, const fl_weight *w) {
    const uint64_t rows = vk->max_alloc / fl_vk_mm_row_bytes(w);
    return rows < 1 ? 1 : rows > (uint64_t)w->m ? w->m : (int64_t)rows;
}

VkDeviceAddress fl_vk_mm_range_addr(fl_vk *vk, const fl_weight *w, int64_t r0, int64_t nr, VkDeviceAddress *scales,
                                    VkDeviceAddress *biases) {
    const uint8_t *data = (const uint8_t *)w->data + (uint64_t)r0 * w->row_bytes;
    const uint64_t bytes = (uint64_t)nr * w->row_bytes;
    *scales = *biases = 0;
    fl_vk_mm_kernels kn;
    if (fl_vk_mm_kernels_of(w->type, &kn)) {
        const uint64_t sb = fl_weight_scale_row_bytes(w);
        if (sb) {
            *scales = fl_vk_in(vk, (const uint8_t *)w->scales + (uint64_t)r0 * sb, (uint64_t)nr * sb);
            if (w->biases) *biases = fl_vk_in(vk, (const uint8_t *)w->biases + (uint64_t)r0 * sb, (uint64_t)nr * sb);
        }
        return fl_vk_in(vk, data, bytes);
    }
    /* no shader: the reference dequantization, uploaded once as F32 rows */
    VkDeviceAddress a = fl_vk_in_as(vk, data, bytes, NULL, 0);
    if (a || vk->err) return a;
    const uint64_t f32_bytes = (uint64_t)nr * (uint64_t)w->k * sizeof(float);
    float *rows = malloc(f32_bytes);
    if (!rows) {
        vk->err = fl_errorf(FLINT_E_NOMEM, "vulkan matmul: cannot allocate %llu bytes to dequantize a %s weight",
                            (unsigned long long)f32_bytes, flint_type_name(w->type));
        return 0;
    }
    flint_status st = FLINT_OK;
    for (int64_t r = 0; r < nr && !st; r++) st = fl_weight_row_f32(w, r0 + r, rows + r * w->k);
    if (st) vk->err = st;
    else a = fl_vk_in_as(vk, data, bytes, rows, f32_bytes);
    free(rows);
    return a;
}

flint_status fl_vk_prepare_weight(fl_backend *be, fl_weight *w) {
    fl_vk *vk = fl_vk_of(be);
    if (!w) return fl_errorf(FLINT_E_INVALID_ARG, "vulkan prepare_weight: NULL weight");
    flint_status st = fl_vk_mm_check_weight(w);
    if (st) return st;
    const int64_t per = fl_vk_mm_range_rows(vk, w);
    VkDeviceAddress s, b;
    for (int64_t r0 = 0; r0 < w->m && !vk->err; r0 += per)
        fl_vk_mm_range_addr(vk, w, r0, w->m - r0 < per ? w->m - r0 : per, &s, &b);
    return fl_vk_status(vk);
}

/* Uploads live as long as the backend (its weight arena only grows). */
void fl_vk_release_weight(fl_backend *be, fl_weight *w) { (void)be, (void)w; }

/* Records one job's dispatches: per range of rows, per slice of x rows
 * that the device's z limit allows. */
static void record_job(fl_vk *vk, const fl_matmul_job *j) {
    const fl_weight *w = j->w;
    fl_vk_mm_kernels kn;
    const bool native = fl_vk_mm_kernels_of(w->type, &kn);
    if (!native) fl_vk_mm_kernels_of(FLINT_TYPE_F32, &kn);
    const bool vec = j->n <= VEC_MAX_N || vk->base.deterministic;
    const uint32_t per_z = vec ? VEC_MAX_N : TILE;
    const uint64_t max_z = vk->props.limits.maxComputeWorkGroupCount[2];
    const int64_t slice = (int64_t)(max_z * per_z); /* x rows per dispatch */
    const VkDeviceAddress x = fl_vk_in(vk, j->x, (uint64_t)j->n * (uint64_t)w->k * sizeof(float));
    const VkDeviceAddress y = fl_vk_out(vk, j->y, (uint64_t)j->n * (uint64_t)w->m * sizeof(float));
    const int64_t per = fl_vk_mm_range_rows(vk, w);
    for (int64_t r0 = 0; r0 < w->m && !vk->err; r0 += per) {
        const int64_t nr = w->m - r0 < per ? w->m - r0 : per;
        fl_vk_mm_push pc = {.m = (uint32_t)nr, .k = (uint32_t)w->k, .ldy = (uint32_t)w->m,
                      .row_bytes = (uint32_t)fl_vk_mm_row_bytes(w)};
        pc.w = fl_vk_mm_range_addr(vk, w, r0, nr, &pc.scales, &pc.biases);
        if (native && pc.scales) {
            pc.srow_bytes = (uint32_t)fl_weight_scale_row_bytes(w);
            pc.group = (uint32_t)w->group_size;
            pc.stype = (uint32_t)w->scale_type;
        }
        if (vk->err) return;
        uint32_t gx, gy;
        fl_vk_groups(vk, (uint64_t)nr, vec ? VEC_ROWS : TILE, &gx, &gy);
        for (int64_t c0 = 0; c0 < j->n; c0 += slice) {
            const int64_t nc = j->n - c0 < slice ? j->n - c0 : slice;
            pc.x = x + (uint64_t)c0 * (uint64_t)w->k * sizeof(float);
            pc.y = y + ((uint64_t)c0 * (uint64_t)w->m + (uint64_t)r0) * sizeof(float);
            pc.n = (uint32_t)nc;
            fl_vk_dispatch(vk, vec ? kn.vec : kn.tile, &pc, sizeof pc, gx, gy,
                           (uint32_t)((nc + per_z - 1) / per_z));
        }
    }
}

flint_status fl_vk_matmul_group(fl_backend *be, const fl_matmul_job *jobs, int32_t n_jobs) {
    fl_vk *vk = fl_vk_of(be);
    if (n_jobs < 0 || (n_jobs > 0 && !jobs))
        return fl_errorf(FLINT_E_INVALID_ARG, "vulkan matmul: NULL jobs or negative job count");
    flint_status st;
    for (int32_t i = 0; i < n_jobs; i++)
        if ((st = check_job(&jobs[i], i))) return st;
    /* one command buffer, one submit for every job */
    for (int32_t i = 0; i < n_jobs && !vk->err; i++)
        if (jobs[i].n > 0 && jobs[i].w->m > 0) record_job(vk, &jobs[i]);
    fl_vk_submit(vk);
    return fl_vk_status(vk);
}

flint_status fl_vk_matmul(fl_backend *be, const fl_weight *w, const float *x, float *y, int64_t n) {
    const fl_matmul_job job = {.w = w, .x = x, .y = y, .n = n};
    return fl_vk_matmul_group(be, &job, 1);
}
