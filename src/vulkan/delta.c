/* delta.c — NOT YET IMPLEMENTED (a helper's task). */
#include "base/error.h"
#include "vulkan/vk.h"

void fl_vk_conv_silu(fl_backend *be, float *y, const float *x, const float *w, float *state, int64_t n, int64_t C,
                     int32_t K) {
    (void)y, (void)x, (void)w, (void)state, (void)n, (void)C, (void)K;
    fl_vk *vk = fl_vk_of(be);
    if (!vk->err) vk->err = fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: conv_silu is not implemented yet");
}
flint_status fl_vk_delta_rule(fl_backend *be, const fl_delta_params *p, float *out, const float *q, const float *k,
                              const float *v, const float *a, const float *b, float *state, int64_t n) {
    (void)be, (void)p, (void)out, (void)q, (void)k, (void)v, (void)a, (void)b, (void)state, (void)n;
    return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: delta_rule is not implemented yet");
}
