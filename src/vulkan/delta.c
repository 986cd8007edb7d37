/* delta.c — the Gated DeltaNet ops on the device: the causal depthwise
 * convolution with SiLU (shaders/conv_silu.comp, one invocation per
 * channel) and the gated delta rule as the token recurrence
 * (shaders/delta_rule.comp, every token in one dispatch; the chunked form
 * the CPU uses for prefill is not here yet). */
#include "base/error.h"
#include "vulkan/vk.h"

#define CONV_MAX_TAPS 16 /* conv_silu.comp's window (the loader's bound) */
#define DELTA_ROWS 32    /* delta_rule.comp: rows of a state column per invocation */
#define DELTA_MAX_DK 256 /* ... times its 8 parts */

typedef struct conv_push {
    VkDeviceAddress y, x, w, state;
    uint32_t n, C, K;
} conv_push;

void fl_vk_conv_silu(fl_backend *be, float *y, const float *x, const float *w, float *state, int64_t n, int64_t C,
                     int32_t K) {
    fl_vk *vk = fl_vk_of(be);
    if (n <= 0 || C <= 0 || vk->err) return;
    if (K < 1 || K > CONV_MAX_TAPS || n * C > UINT32_MAX) {
        vk->err = fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: conv_silu of %d taps over %lld x %lld (at most %d taps, 2^32 "
                            "elements)", K, (long long)n, (long long)C, CONV_MAX_TAPS);
        return;
    }
    const uint64_t bytes = (uint64_t)(n * C) * sizeof(float);
    conv_push pc = {.x = fl_vk_in(vk, x, bytes),
                    .w = fl_vk_in(vk, w, (uint64_t)(C * K) * sizeof(float)),
                    .n = (uint32_t)n,
                    .C = (uint32_t)C,
                    .K = (uint32_t)K};
    pc.y = fl_vk_out(vk, y, bytes);
    /* K = 1 keeps no state: any address will do */
    pc.state = K > 1 ? fl_vk_out(vk, state, (uint64_t)((K - 1) * C) * sizeof(float)) : pc.y;
    if (vk->err) return;
    fl_vk_run(vk, FL_VK_SHADER_conv_silu, &pc, sizeof pc, (uint64_t)C, 64);
}

typedef struct delta_push {
    VkDeviceAddress q, k, v, a, b, out, state, ssm_a, dt_bias;
    uint32_t n, n_k_heads, n_v_heads, d_k, d_v, tiled, parts;
} delta_push;

flint_status fl_vk_delta_rule(fl_backend *be, const fl_delta_params *p, float *out, const float *q, const float *k,
                              const float *v, const float *a, const float *b, float *state, int64_t n) {
    fl_vk *vk = fl_vk_of(be);
    if (p->n_k_heads <= 0 || p->n_v_heads <= 0 || p->n_v_heads % p->n_k_heads != 0 || p->d_k <= 0 || p->d_v <= 0)
        return fl_errorf(FLINT_E_INVALID_ARG, "delta rule: %d value heads over %d key heads of %d x %d", p->n_v_heads,
                         p->n_k_heads, p->d_k, p->d_v);
    if (p->d_k > DELTA_MAX_DK)
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: delta rule with key heads of %d (at most %d)", p->d_k,
                         DELTA_MAX_DK);
    const int64_t nq = n * p->n_k_heads * p->d_k, nv = n * p->n_v_heads * p->d_v;
    const int64_t ns = (int64_t)p->n_v_heads * p->d_k * p->d_v;
    if (n < 0 || nq > UINT32_MAX || nv > UINT32_MAX || ns > UINT32_MAX)
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: delta rule over %lld tokens of %d x %d heads (at most 2^32 "
                         "elements in an operand)", (long long)n, p->n_v_heads, p->d_v);
    if (n == 0 || vk->err) return fl_vk_status(vk);
    uint32_t parts = 1;
    while (parts * DELTA_ROWS < (uint32_t)p->d_k) parts *= 2;
    delta_push pc = {.q = fl_vk_in(vk, q, (uint64_t)nq * sizeof(float)),
                     .k = fl_vk_in(vk, k, (uint64_t)nq * sizeof(float)),
                     .v = fl_vk_in(vk, v, (uint64_t)nv * sizeof(float)),
                     .a = fl_vk_in(vk, a, (uint64_t)(n * p->n_v_heads) * sizeof(float)),
                     .b = fl_vk_in(vk, b, (uint64_t)(n * p->n_v_heads) * sizeof(float)),
                     .ssm_a = fl_vk_in(vk, p->ssm_a, (uint64_t)p->n_v_heads * sizeof(float)),
                     .dt_bias = fl_vk_in(vk, p->dt_bias, (uint64_t)p->n_v_heads * sizeof(float)),
                     .n = (uint32_t)n,
                     .n_k_heads = (uint32_t)p->n_k_heads,
                     .n_v_heads = (uint32_t)p->n_v_heads,
                     .d_k = (uint32_t)p->d_k,
                     .d_v = (uint32_t)p->d_v,
                     .tiled = p->tiled,
                     .parts = parts};
    pc.out = fl_vk_out(vk, out, (uint64_t)nv * sizeof(float));
    pc.state = fl_vk_out(vk, state, (uint64_t)ns * sizeof(float));
    if (vk->err) return fl_vk_status(vk);
    const uint32_t cols = 128 / parts, col_blocks = ((uint32_t)p->d_v + cols - 1) / cols;
    fl_vk_run(vk, FL_VK_SHADER_delta_rule, &pc, sizeof pc, (uint64_t)p->n_v_heads * col_blocks, 1);
    return fl_vk_status(vk);
}
