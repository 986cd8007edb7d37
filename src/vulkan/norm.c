/* norm.c — RMSNorm, RoPE and softmax on the device: one dispatch each
 * (shaders/rmsnorm.comp, rope.comp, softmax.comp). RMSNorm and softmax
 * take one workgroup per row; RoPE one invocation per rotated pair, with
 * the frequencies computed here exactly as the CPU backend computes them
 * (libm's powf), so both rotate by the same f32 angles. */
#include <math.h>

#include "base/error.h"
#include "vulkan/vk.h"

#define ROPE_MAX_HALF 512 /* pairs a head may rotate: head dims up to 1024 */

/* A size the shaders index with 32 bits. */
static bool fits(fl_vk *vk, const char *op, int64_t elems) {
    if (elems <= UINT32_MAX) return true;
    if (!vk->err) vk->err = fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: %s over %lld elements (at most 2^32 - 1)", op,
                                      (long long)elems);
    return false;
}

typedef struct rmsnorm_push {
    VkDeviceAddress y, x, w;
    uint32_t n_rows, dim;
    float eps;
} rmsnorm_push;

void fl_vk_rmsnorm(fl_backend *be, float *y, const float *x, const float *w, int64_t n_rows, int64_t dim, float eps) {
    fl_vk *vk = fl_vk_of(be);
    if (n_rows <= 0 || dim <= 0 || vk->err || !fits(vk, "rmsnorm", n_rows * dim)) return;
    const uint64_t bytes = (uint64_t)(n_rows * dim) * sizeof(float);
    rmsnorm_push pc = {.w = fl_vk_in(vk, w, (uint64_t)dim * sizeof(float)),
                       .n_rows = (uint32_t)n_rows,
                       .dim = (uint32_t)dim,
                       .eps = eps};
    pc.y = fl_vk_out(vk, y, bytes);
    /* in place: x is what y's address holds (foreign memory is copied there) */
    pc.x = y == x ? pc.y : fl_vk_in(vk, x, bytes);
    if (vk->err) return;
    fl_vk_run(vk, FL_VK_SHADER_rmsnorm, &pc, sizeof pc, (uint64_t)n_rows, 1);
}

typedef struct softmax_push {
    VkDeviceAddress x;
    uint32_t n_rows, dim;
} softmax_push;

void fl_vk_softmax(fl_backend *be, float *x, int64_t n_rows, int64_t dim) {
    fl_vk *vk = fl_vk_of(be);
    if (n_rows <= 0 || dim <= 0 || vk->err || !fits(vk, "softmax", n_rows * dim)) return;
    softmax_push pc = {.x = fl_vk_out(vk, x, (uint64_t)(n_rows * dim) * sizeof(float)),
                       .n_rows = (uint32_t)n_rows,
                       .dim = (uint32_t)dim};
    if (vk->err) return;
    fl_vk_run(vk, FL_VK_SHADER_softmax, &pc, sizeof pc, (uint64_t)n_rows, 1);
}

typedef struct rope_push {
    VkDeviceAddress x, pos, freq;
    uint32_t n_tok, n_head, head_dim, half_rot;
} rope_push;

void fl_vk_rope(fl_backend *be, float *x, const int32_t *pos, int64_t n_tok, int32_t n_head, int32_t head_dim,
                const fl_rope_params *p) {
    fl_vk *vk = fl_vk_of(be);
    /* void op: out-of-contract parameters leave x untouched, as on the CPU */
    if (!p || p->n_rot <= 0 || p->n_rot > head_dim || (p->n_rot & 1) || n_head <= 0 || n_tok <= 0 || vk->err) return;
    if (!fits(vk, "rope", n_tok * n_head * head_dim)) return;
    const int32_t half = p->n_rot / 2;
    const float exp_dims = (float)(p->exp_dims > 0 ? p->exp_dims : p->n_rot);
    const float fs = p->freq_scale != 0 ? p->freq_scale : 1.0f;
    float f[ROPE_MAX_HALF];
    if (half > ROPE_MAX_HALF) {
        vk->err = fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: rope over %d dims (at most %d)", p->n_rot,
                            2 * ROPE_MAX_HALF);
        return;
    }
    for (int32_t i = 0; i < half; i++) { /* the CPU backend's expression, term for term */
        f[i] = fs * powf(p->base, -2.0f * (float)i / exp_dims);
        if (p->freq_factors) f[i] /= p->freq_factors[i];
    }
    rope_push pc = {.x = fl_vk_out(vk, x, (uint64_t)(n_tok * n_head * head_dim) * sizeof(float)),
                    .pos = fl_vk_read(vk, pos, (uint64_t)n_tok * sizeof *pos),
                    .freq = fl_vk_args(vk, f, (uint64_t)half * sizeof *f),
                    .n_tok = (uint32_t)n_tok,
                    .n_head = (uint32_t)n_head,
                    .head_dim = (uint32_t)head_dim,
                    .half_rot = (uint32_t)half};
    if (vk->err) return;
    fl_vk_run(vk, FL_VK_SHADER_rope, &pc, sizeof pc, (uint64_t)(n_tok * n_head * half), 256);
}
