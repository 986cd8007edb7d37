/* membw.c — the device's memory read bandwidth, the floor of decode on the
 * GPU as the host's is on the CPU (flint bench): a device-local buffer read
 * whole by every invocation's coalesced 16-byte loads, timed by the
 * device's own timestamps (wall clock where the queue has none). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "base/clock.h"
#include "base/error.h"
#include "vulkan/vk.h"

typedef struct membw_push {
    VkDeviceAddress src, out;
    uint32_t n_vec4;
} membw_push;

/* One timed read; seconds, 0 on failure. */
static double read_once(fl_vk *vk, VkQueryPool qp, const membw_push *pc, uint32_t groups, bool stamps) {
    const VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                         .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    if (vkBeginCommandBuffer(vk->cmd, &bi) != VK_SUCCESS) return 0;
    if (stamps) {
        vkCmdResetQueryPool(vk->cmd, qp, 0, 2);
        vkCmdWriteTimestamp(vk->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, qp, 0);
    }
    vkCmdBindPipeline(vk->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, vk->pipe[FL_VK_SHADER_membw]);
    vkCmdPushConstants(vk->cmd, vk->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof *pc, pc);
    vkCmdDispatch(vk->cmd, groups, 1, 1);
    if (stamps) vkCmdWriteTimestamp(vk->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, qp, 1);
    vkEndCommandBuffer(vk->cmd);
    const VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &vk->cmd};
    const double t0 = fl_now_seconds();
    VkResult r = vkQueueSubmit(vk->queue, 1, &si, vk->fence);
    if (r == VK_SUCCESS) r = vkWaitForFences(vk->dev, 1, &vk->fence, VK_TRUE, UINT64_MAX);
    const double wall = fl_now_seconds() - t0;
    vkResetFences(vk->dev, 1, &vk->fence);
    vkResetCommandBuffer(vk->cmd, 0);
    if (r != VK_SUCCESS) return fl_vk_fail(vk, r, "the bandwidth probe"), 0;
    if (!stamps) return wall;
    uint64_t t[2];
    if (vkGetQueryPoolResults(vk->dev, qp, 0, 2, sizeof t, t, sizeof *t, VK_QUERY_RESULT_64_BIT |
                              VK_QUERY_RESULT_WAIT_BIT) != VK_SUCCESS || t[1] <= t[0])
        return wall;
    return (double)(t[1] - t[0]) * vk->props.limits.timestampPeriod * 1e-9;
}

double fl_vk_read_bandwidth(fl_backend *be, uint64_t bytes, int32_t reps) {
    fl_vk *vk = fl_vk_of(be);
    if (fl_vk_flush(vk) || reps < 1) return fl_vk_status(vk), 0;
    if (bytes > vk->max_alloc / 2) bytes = vk->max_alloc / 2;
    bytes = bytes / (16 * 256) * (16 * 256);
    if (bytes / 16 > UINT32_MAX) bytes = (uint64_t)UINT32_MAX / (16 * 256) * (16 * 256) * 16;
    fl_vk_buf buf;
    if (!bytes || fl_vk_buf_create(vk, bytes, false, &buf)) return 0;
    VkQueryPool qp = VK_NULL_HANDLE;
    const VkQueryPoolCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 2};
    VkQueueFamilyProperties fam[64];
    uint32_t n_fam = 64;
    vkGetPhysicalDeviceQueueFamilyProperties(vk->phys, &n_fam, fam);
    const bool stamps = vk->queue_family < n_fam && fam[vk->queue_family].timestampValidBits > 0 &&
                        vk->props.limits.timestampPeriod > 0 && vkCreateQueryPool(vk->dev, &qci, NULL, &qp) == VK_SUCCESS;
    const membw_push pc = {.src = buf.addr, .out = fl_vk_args(vk, NULL, 16), .n_vec4 = (uint32_t)(bytes / 16)};
    /* enough workgroups to fill any device, each invocation some 16 loads at least */
    uint64_t groups = bytes / 16 / 256 / 16;
    if (groups < 1) groups = 1;
    if (groups > 65535) groups = 65535;
    double best = 0;
    for (int32_t i = 0; i <= reps && pc.out; i++) { /* the first run warms the pipeline up, untimed */
        const double s = read_once(vk, qp, &pc, (uint32_t)groups, stamps);
        if (s <= 0) break;
        if (i && (double)bytes / s > best) best = (double)bytes / s;
    }
    if (qp) vkDestroyQueryPool(vk->dev, qp, NULL);
    fl_vk_buf_destroy(vk, &buf);
    fl_vk_transient_reset(vk);
    fl_vk_status(vk);
    return best;
}
