/* matmul.c — NOT YET IMPLEMENTED (a helper's task). */
#include "base/error.h"
#include "vulkan/vk.h"

flint_status fl_vk_prepare_weight(fl_backend *be, fl_weight *w) {
    (void)be, (void)w;
    return FLINT_OK;
}
void fl_vk_release_weight(fl_backend *be, fl_weight *w) { (void)be, (void)w; }
flint_status fl_vk_matmul(fl_backend *be, const fl_weight *w, const float *x, float *y, int64_t n) {
    (void)be, (void)w, (void)x, (void)y, (void)n;
    return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: matmul is not implemented yet");
}
flint_status fl_vk_matmul_group(fl_backend *be, const fl_matmul_job *jobs, int32_t n_jobs) {
    (void)be, (void)jobs, (void)n_jobs;
    return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: matmul is not implemented yet");
}
