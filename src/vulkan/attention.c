/* attention.c — NOT YET IMPLEMENTED (a helper's task). */
#include "base/error.h"
#include "vulkan/vk.h"

flint_status fl_vk_attention(fl_backend *be, const fl_attn_params *p, float *out, const float *q, const int32_t *pos_q,
                             int64_t n_q, const fl_kv_tile *tiles, int64_t n_tiles, int64_t kv_stride) {
    (void)be, (void)p, (void)out, (void)q, (void)pos_q, (void)n_q, (void)tiles, (void)n_tiles, (void)kv_stride;
    return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: attention is not implemented yet");
}
