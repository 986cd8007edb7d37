/* dispatch.c — compute pipelines from the embedded SPIR-V, and recording
 * and submitting dispatches (vk.h; replay.c keeps the command buffers
 * they are recorded into). Every pipeline shares one layout: 128
 * bytes of push constants (the operands' device addresses and sizes), no
 * descriptor sets. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "vulkan/vk.h"

typedef struct spirv {
    const char *name;
    const uint32_t *code, *end;
} spirv;

static const spirv shaders[FL_VK_N_SHADERS] = {
#define FL_VK_ENTRY(n) {#n, fl_vk_spv_##n, fl_vk_spv_##n##_end},
    FL_VK_SHADER_LIST(FL_VK_ENTRY)
#undef FL_VK_ENTRY
};

flint_status fl_vk_pipelines_create(fl_vk *vk) {
    const VkPushConstantRange pc = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = 128};
    const VkPipelineLayoutCreateInfo lci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                            .pushConstantRangeCount = 1,
                                            .pPushConstantRanges = &pc};
    VkResult r = vkCreatePipelineLayout(vk->dev, &lci, NULL, &vk->layout);
    if (r != VK_SUCCESS) return fl_vk_fail(NULL, r, "creating the pipeline layout");
    /* specialization constant 0 of every shader: the subgroup size */
    const uint32_t sg = vk->subgroup_size ? vk->subgroup_size : 32;
    const VkSpecializationMapEntry me = {.constantID = 0, .offset = 0, .size = sizeof sg};
    const VkSpecializationInfo spec = {.mapEntryCount = 1, .pMapEntries = &me, .dataSize = sizeof sg, .pData = &sg};
    for (int32_t i = 0; i < FL_VK_N_SHADERS; i++) {
        const VkShaderModuleCreateInfo mci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                              .codeSize = (size_t)(shaders[i].end - shaders[i].code) * 4,
                                              .pCode = shaders[i].code};
        if ((r = vkCreateShaderModule(vk->dev, &mci, NULL, &vk->module[i])) != VK_SUCCESS)
            return fl_vk_fail(NULL, r, shaders[i].name);
        const VkComputePipelineCreateInfo cci = {
            .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
            .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                      .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                      .module = vk->module[i],
                      .pName = "main",
                      .pSpecializationInfo = &spec},
            .layout = vk->layout,
        };
        if ((r = vkCreateComputePipelines(vk->dev, VK_NULL_HANDLE, 1, &cci, NULL, &vk->pipe[i])) != VK_SUCCESS) {
            char what[96];
            snprintf(what, sizeof what, "building shader %s", shaders[i].name);
            return fl_vk_fail(NULL, r, what);
        }
    }
    return FLINT_OK;
}

void fl_vk_pipelines_destroy(fl_vk *vk) {
    if (!vk->dev) return;
    for (int32_t i = 0; i < FL_VK_N_SHADERS; i++) {
        if (vk->pipe[i]) vkDestroyPipeline(vk->dev, vk->pipe[i], NULL);
        if (vk->module[i]) vkDestroyShaderModule(vk->dev, vk->module[i], NULL);
    }
    if (vk->layout) vkDestroyPipelineLayout(vk->dev, vk->layout, NULL);
}

void fl_vk_dispatch(fl_vk *vk, fl_vk_shader shader, const void *push, uint32_t push_bytes, uint32_t gx, uint32_t gy,
                    uint32_t gz) {
    if (!vk->err) fl_vk_log_dispatch(vk, shader, push, push_bytes, gx, gy, gz);
}

void fl_vk_run(fl_vk *vk, fl_vk_shader shader, const void *push, uint32_t push_bytes, uint64_t n, uint32_t per) {
    uint32_t gx, gy;
    fl_vk_groups(vk, n, per, &gx, &gy);
    fl_vk_dispatch(vk, shader, push, push_bytes, gx, gy, 1);
    fl_vk_submit(vk);
}

flint_status fl_vk_submit(fl_vk *vk) { return vk->deferred ? vk->err : fl_vk_flush(vk); }

static atomic_uint_fast64_t n_syncs; /* every backend's, for tests (vk_backend.h) */

uint64_t fl_vk_backend_syncs(void) { return atomic_load(&n_syncs); }

flint_status fl_vk_sync(fl_backend *be) {
    fl_vk *vk = fl_vk_of(be);
    atomic_fetch_add(&n_syncs, 1);
    fl_vk_flush(vk);
    return fl_vk_status(vk);
}

flint_status fl_vk_flush(fl_vk *vk) {
    if (vk->log.n_op && !vk->err) {
        VkCommandBuffer cmd = fl_vk_replay_command(vk);
        if (cmd) {
            const VkSubmitInfo si = {
                .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
            VkResult r = vkQueueSubmit(vk->queue, 1, &si, vk->fence);
            if (r == VK_SUCCESS) r = vkWaitForFences(vk->dev, 1, &vk->fence, VK_TRUE, UINT64_MAX);
            vkResetFences(vk->dev, 1, &vk->fence);
            if (r != VK_SUCCESS) fl_vk_fail(vk, r, "running a command buffer");
        }
    }
    fl_vk_log_clear(&vk->log);
    if (!vk->err)
        for (int32_t i = 0; i < vk->n_copyout; i++) memcpy(vk->copyout[i].dst, vk->copyout[i].src, vk->copyout[i].bytes);
    fl_vk_transient_reset(vk);
    return vk->err;
}

flint_status fl_vk_status(fl_vk *vk) {
    flint_status st = vk->err;
    vk->err = FLINT_OK;
    return st;
}

void fl_vk_groups(const fl_vk *vk, uint64_t n, uint32_t per, uint32_t *gx, uint32_t *gy) {
    uint64_t g = (n + per - 1) / per;
    if (!g) g = 1;
    const uint64_t max = vk->props.limits.maxComputeWorkGroupCount[0];
    if (g <= max) {
        *gx = (uint32_t)g;
        *gy = 1;
    } else {
        *gx = (uint32_t)max;
        *gy = (uint32_t)((g + max - 1) / max);
    }
}
