/* elementwise.c — add, mul, scale, act and gated: one shader
 * (shaders/elementwise.comp), one dispatch each. */
#include "vulkan/vk.h"

typedef struct elementwise_push {
    VkDeviceAddress y, a, b;
    uint32_t n, op, act;
    float s;
} elementwise_push;

enum { EW_ADD, EW_MUL, EW_SCALE, EW_ACT, EW_GATED };

static void run(fl_backend *be, uint32_t op, fl_act act, float *y, const float *a, const float *b, float s, int64_t n) {
    fl_vk *vk = fl_vk_of(be);
    if (n <= 0 || vk->err) return;
    const uint64_t bytes = (uint64_t)n * sizeof(float);
    elementwise_push pc = {.a = fl_vk_in(vk, a, bytes), .n = (uint32_t)n, .op = op, .act = (uint32_t)act, .s = s};
    if (b) pc.b = fl_vk_in(vk, b, bytes);
    pc.y = fl_vk_out(vk, y, bytes);
    if (vk->err) return;
    fl_vk_run(vk, FL_VK_SHADER_elementwise, &pc, sizeof pc, (uint64_t)n, 256);
}

void fl_vk_add(fl_backend *be, float *y, const float *a, const float *b, int64_t n) {
    run(be, EW_ADD, 0, y, a, b, 0, n);
}
void fl_vk_mul(fl_backend *be, float *y, const float *a, const float *b, int64_t n) {
    run(be, EW_MUL, 0, y, a, b, 0, n);
}
void fl_vk_scale(fl_backend *be, float *y, const float *x, float s, int64_t n) {
    run(be, EW_SCALE, 0, y, x, NULL, s, n);
}
void fl_vk_act(fl_backend *be, fl_act act, float *y, const float *x, int64_t n) {
    run(be, EW_ACT, act, y, x, NULL, 0, n);
}
void fl_vk_gated(fl_backend *be, fl_act act, float *y, const float *g, const float *u, int64_t n) {
    run(be, EW_GATED, act, y, g, u, 0, n);
}
