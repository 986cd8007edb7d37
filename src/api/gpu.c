/* gpu.c — flint_gpu_list: the devices of the GPU backend this build has
 * (Vulkan with VULKAN=1), none otherwise. */
#include "base/error.h"
#include "flint.h"
#ifdef FLINT_VULKAN
#include "vulkan/vk_backend.h"
#endif

flint_status flint_gpu_list(flint_gpu_info *out, int32_t max, int32_t *n) {
    if (!n || max < 0 || (max > 0 && !out))
        return fl_errorf(FLINT_E_INVALID_ARG, "flint_gpu_list: NULL argument or negative max");
#ifdef FLINT_VULKAN
    return fl_vk_list(out, max, n);
#else
    *n = 0;
    return FLINT_OK;
#endif
}
