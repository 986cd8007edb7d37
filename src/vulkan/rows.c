/* rows.c — moves in backend memory: byte copies (copy), strided rows
 * (copy_rows) and K/V rows converted into the pool at scattered places
 * (store_rows), one dispatch each. */
#include <stdlib.h>

#include "base/error.h"
#include "vulkan/vk.h"

typedef struct words_push {
    VkDeviceAddress dst, src;
    uint32_t n, zero;
} words_push;

void fl_vk_copy(fl_backend *be, void *dst, const void *src, size_t bytes) {
    fl_vk *vk = fl_vk_of(be);
    if (!bytes || vk->err) return;
    if (bytes % 4 || (uintptr_t)dst % 4 || (uintptr_t)src % 4 || bytes / 4 > UINT32_MAX) {
        vk->err = fl_errorf(FLINT_E_INVALID_ARG, "vulkan: copy of %zu bytes is not whole aligned words", bytes);
        return;
    }
    /* both ends are backend memory: anything else is a bug */
    words_push pc = {.dst = fl_vk_act_addr(vk, dst, bytes),
                     .src = src ? fl_vk_act_addr(vk, src, bytes) : 0,
                     .n = (uint32_t)(bytes / 4),
                     .zero = src == NULL};
    if (!pc.dst || (src && !pc.src)) {
        vk->err = fl_errorf(FLINT_E_INVALID_ARG, "vulkan: copy of %zu bytes %s backend memory", bytes,
                            pc.dst ? "from outside" : "to outside");
        return;
    }
    fl_vk_run(vk, FL_VK_SHADER_copy_words, &pc, sizeof pc, pc.n, 256);
}

typedef struct copy_push {
    VkDeviceAddress y, x;
    uint32_t y_stride, x_stride, n_rows, width;
} copy_push;

void fl_vk_copy_rows(fl_backend *be, float *y, int64_t y_stride, const float *x, int64_t x_stride, int64_t n_rows,
                     int64_t width) {
    fl_vk *vk = fl_vk_of(be);
    if (n_rows <= 0 || width <= 0 || vk->err) return;
    if ((uint64_t)n_rows * (uint64_t)width > UINT32_MAX || y_stride > UINT32_MAX || x_stride > UINT32_MAX) {
        vk->err = fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: copy_rows of %lld rows x %lld too large",
                            (long long)n_rows, (long long)width);
        return;
    }
    const uint64_t span_y = ((uint64_t)(n_rows - 1) * (uint64_t)y_stride + (uint64_t)width) * sizeof(float);
    const uint64_t span_x = ((uint64_t)(n_rows - 1) * (uint64_t)x_stride + (uint64_t)width) * sizeof(float);
    copy_push pc = {.x = fl_vk_in(vk, x, span_x),
                    .y_stride = (uint32_t)y_stride,
                    .x_stride = (uint32_t)x_stride,
                    .n_rows = (uint32_t)n_rows,
                    .width = (uint32_t)width};
    pc.y = fl_vk_out(vk, y, span_y);
    if (vk->err) return;
    fl_vk_run(vk, FL_VK_SHADER_copy_rows, &pc, sizeof pc, (uint64_t)n_rows * (uint64_t)width, 256);
}

typedef struct store_push {
    VkDeviceAddress x, dst;
    uint32_t n_rows, width, type;
} store_push;

void fl_vk_store_rows(fl_backend *be, flint_type type, void *const *dst, const float *x, int64_t n_rows,
                      int64_t width) {
    fl_vk *vk = fl_vk_of(be);
    if (n_rows <= 0 || width <= 0 || vk->err) return;
    const uint32_t code = type == FLINT_TYPE_F32 ? 0 : type == FLINT_TYPE_F16 ? 1 : type == FLINT_TYPE_BF16 ? 2 : 3;
    if (code == 3 || (uint64_t)n_rows * (uint64_t)width > UINT32_MAX) {
        vk->err = fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: store_rows of %lld rows x %lld as type %d",
                            (long long)n_rows, (long long)width, (int)type);
        return;
    }
    const uint64_t row_bytes = (uint64_t)width * (code ? 2 : 4);
    VkDeviceAddress stack[64], *addr = n_rows <= 64 ? stack : malloc((size_t)n_rows * sizeof *addr);
    if (!addr) {
        vk->err = fl_errorf(FLINT_E_NOMEM, "out of memory");
        return;
    }
    for (int64_t r = 0; r < n_rows && !vk->err; r++) {
        /* the pool is backend memory: a destination outside it is a bug */
        if (!(addr[r] = fl_vk_act_addr(vk, dst[r], row_bytes)))
            vk->err = fl_errorf(FLINT_E_INVALID_ARG, "vulkan: store_rows: row %lld is not in backend memory",
                                (long long)r);
    }
    store_push pc = {.x = fl_vk_in(vk, x, (uint64_t)n_rows * (uint64_t)width * sizeof(float)),
                     .n_rows = (uint32_t)n_rows,
                     .width = (uint32_t)width,
                     .type = code};
    if (!vk->err) pc.dst = fl_vk_args(vk, addr, (uint64_t)n_rows * sizeof *addr);
    if (addr != stack) free(addr);
    if (vk->err) return;
    fl_vk_run(vk, FL_VK_SHADER_store_rows, &pc, sizeof pc, (uint64_t)n_rows * (uint64_t)width, 256);
}
