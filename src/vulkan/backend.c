/* backend.c — the Vulkan backend object (vk_backend.h): creation on a
 * device, the fl_backend method table, and its end. The ops live in
 * elementwise.c, rows.c, norm.c, matmul.c, attention.c, delta.c and
 * moe.c. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "vulkan/vk.h"
#include "vulkan/vk_backend.h"

static void vk_free(fl_backend *be) {
    fl_vk *vk = fl_vk_of(be);
    if (vk->dev) vkDeviceWaitIdle(vk->dev);
    fl_vk_replay_free(vk);
    fl_vk_moe_free(vk);
    fl_vk_memory_free(vk);
    fl_vk_pipelines_destroy(vk);
    fl_vk_device_close(vk);
    free(vk);
}

static const fl_backend_ops vk_ops = {
    .name = "vulkan",
    .free = vk_free,
    .alloc = fl_vk_alloc,
    .dealloc = fl_vk_dealloc,
    .copy = fl_vk_copy,
    .import_host = fl_vk_import_host,
    .prepare_weight = fl_vk_prepare_weight,
    .release_weight = fl_vk_release_weight,
    .matmul = fl_vk_matmul,
    .matmul_group = fl_vk_matmul_group,
    .rmsnorm = fl_vk_rmsnorm,
    .rope = fl_vk_rope,
    .softmax = fl_vk_softmax,
    .act = fl_vk_act,
    .gated = fl_vk_gated,
    .add = fl_vk_add,
    .mul = fl_vk_mul,
    .scale = fl_vk_scale,
    .copy_rows = fl_vk_copy_rows,
    .store_rows = fl_vk_store_rows,
    .attention = fl_vk_attention,
    .conv_silu = fl_vk_conv_silu,
    .delta_rule = fl_vk_delta_rule,
    .moe_route = fl_vk_moe_route,
    .moe_matmul = fl_vk_moe_matmul,
    .moe_combine = fl_vk_moe_combine,
    .sync = fl_vk_sync,
    .read_bandwidth = fl_vk_read_bandwidth,
};

void fl_vk_backend_set_deferred(fl_backend *be, bool on) {
    fl_vk *vk = fl_vk_of(be);
    if (!on) fl_vk_flush(vk);
    vk->deferred = on;
}

void fl_vk_backend_set_deterministic(fl_backend *be, bool on) { be->deterministic = on; }

void fl_vk_backend_set_replay(fl_backend *be, bool on) { fl_vk_of(be)->replay.enabled = on; }

void fl_vk_backend_replay_counts(const fl_backend *be, uint64_t *recorded, uint64_t *replayed) {
    const fl_vk *vk = (const fl_vk *)be;
    *recorded = vk->replay.recordings;
    *replayed = vk->replay.replays;
}

int32_t fl_vk_backend_moe_tables(const fl_backend *be) { return ((const fl_vk *)be)->n_moe_tables; }

flint_status fl_vk_backend_create(int32_t device, fl_backend **out) {
    *out = NULL;
    fl_vk *vk = calloc(1, sizeof *vk);
    if (!vk) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    vk->base.ops = &vk_ops;
    /* the shaders compute in f32 on dequantized weights (backend.h's exact
     * mode), each output row on its own */
    vk->base.exact = true;
    fl_vk_log_clear(&vk->log);
    vk->transient.host_visible = true;
    /* FLINT_VK_REPLAY=0 records every segment afresh (measurements) */
    const char *replay = getenv("FLINT_VK_REPLAY");
    vk->replay.enabled = !(replay && !strcmp(replay, "0"));
    flint_status st = fl_vk_device_open(vk, device);
    if (!st) st = fl_vk_pipelines_create(vk);
    if (st) {
        vk_free(&vk->base);
        return st;
    }
    *out = &vk->base;
    return FLINT_OK;
}

const char *fl_vk_backend_device(const fl_backend *be) { return ((const fl_vk *)be)->name; }

uint64_t fl_vk_backend_memory(const fl_backend *be) {
    const fl_vk *vk = (const fl_vk *)be;
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
    const bool with_budget = fl_vk_has_extension(vk->phys, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    if (with_budget) props.pNext = &budget;
    vkGetPhysicalDeviceMemoryProperties2(vk->phys, &props);
    const VkPhysicalDeviceMemoryProperties *m = &props.memoryProperties;
    uint64_t best = 0;
    for (uint32_t i = 0; i < m->memoryHeapCount; i++) {
        if (!(m->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)) continue;
        /* with VK_EXT_memory_budget: what this process may use of the heap,
         * others' use taken off */
        uint64_t size = m->memoryHeaps[i].size;
        if (with_budget && budget.heapBudget[i] > 0 && budget.heapBudget[i] < size) size = budget.heapBudget[i];
        if (size > best) best = size;
    }
    return best;
}

uint64_t fl_vk_backend_weight_bytes(const fl_backend *be) {
    const fl_vk *vk = (const fl_vk *)be;
    uint64_t b = 0;
    for (int32_t i = 0; i < vk->n_up; i++) b += vk->uploads[i].bytes;
    return b;
}
