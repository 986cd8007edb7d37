/* norm.c — RMSNorm, RoPE and softmax. NOT YET IMPLEMENTED (a helper's task). */
#include "base/error.h"
#include "vulkan/vk.h"

static void missing(fl_backend *be, const char *op) {
    fl_vk *vk = fl_vk_of(be);
    if (!vk->err) vk->err = fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: %s is not implemented yet", op);
}
void fl_vk_rmsnorm(fl_backend *be, float *y, const float *x, const float *w, int64_t n_rows, int64_t dim, float eps) {
    (void)y, (void)x, (void)w, (void)n_rows, (void)dim, (void)eps;
    missing(be, "rmsnorm");
}
void fl_vk_rope(fl_backend *be, float *x, const int32_t *pos, int64_t n_tok, int32_t n_head, int32_t head_dim,
                const fl_rope_params *p) {
    (void)x, (void)pos, (void)n_tok, (void)n_head, (void)head_dim, (void)p;
    missing(be, "rope");
}
void fl_vk_softmax(fl_backend *be, float *x, int64_t n_rows, int64_t dim) {
    (void)x, (void)n_rows, (void)dim;
    missing(be, "softmax");
}
