/* replay.c — command buffers recorded once per step shape and replayed
 * (vk.h, "Replay").
 *
 * A command buffer of this backend is wholly described by its dispatches:
 * each one's pipeline, push constants and group counts, with a barrier
 * between consecutive ones. Operands are device addresses inside the push
 * constants (no descriptor sets), and what lies at those addresses —
 * activations, tile lists and row destinations in the transient buffer —
 * is written by the host before the submit. So two segments with the same
 * dispatches are the same command buffer, whatever the data: the ops log
 * their dispatches, and the flush runs a recorded command buffer whose log
 * is byte-equal, recording one only when none is. A decode step repeats
 * the previous one's dispatches except where a count changes (a new KV
 * tile every 64 positions, another batch size), so most steps record
 * nothing. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "vulkan/vk.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

/* Grows *p (of *cap elements of size elt) to hold need; false when out of memory. */
static bool grow(void **p, int64_t *cap, int64_t need, size_t elt) {
    if (need <= *cap) return true;
    int64_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elt);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

void fl_vk_log_dispatch(fl_vk *vk, fl_vk_shader shader, const void *push, uint32_t push_bytes, uint32_t gx,
                        uint32_t gy, uint32_t gz) {
    fl_vk_log *log = &vk->log;
    if (!grow((void **)&log->op, &log->cap_op, log->n_op + 1, sizeof *log->op) ||
        !grow((void **)&log->push, &log->cap_push, log->n_push + push_bytes, 1)) {
        if (!vk->err) vk->err = fl_errorf(FLINT_E_NOMEM, "vulkan: out of memory logging a dispatch");
        return;
    }
    const fl_vk_op op = {.shader = (uint32_t)shader, .push_bytes = push_bytes, .g = {gx, gy, gz}};
    log->op[log->n_op++] = op;
    memcpy(log->push + log->n_push, push, push_bytes);
    log->n_push += push_bytes;
    log->hash = fnv(fnv(log->hash, &op, sizeof op), push, push_bytes);
}

void fl_vk_log_clear(fl_vk_log *log) {
    log->n_op = log->n_push = 0;
    log->hash = FNV_OFFSET;
}

static bool log_equal(const fl_vk_log *a, const fl_vk_log *b) {
    return a->hash == b->hash && a->n_op == b->n_op && a->n_push == b->n_push &&
           !memcmp(a->op, b->op, (size_t)a->n_op * sizeof *a->op) && !memcmp(a->push, b->push, (size_t)a->n_push);
}

static VkResult record(fl_vk *vk, VkCommandBuffer cmd, const fl_vk_log *log) {
    const VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    VkResult r = vkBeginCommandBuffer(cmd, &bi);
    if (r != VK_SUCCESS) return r;
    const uint8_t *push = log->push;
    for (int64_t i = 0; i < log->n_op; i++) {
        const fl_vk_op *op = &log->op[i];
        if (i) {
            /* each dispatch may read what the one before wrote */
            const VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                                        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
            vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                                 &mb, 0, NULL, 0, NULL);
        }
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, vk->pipe[op->shader]);
        vkCmdPushConstants(cmd, vk->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, op->push_bytes, push);
        vkCmdDispatch(cmd, op->g[0], op->g[1], op->g[2]);
        push += op->push_bytes;
    }
    return vkEndCommandBuffer(cmd);
}

/* Copies the log into a slot's (its arrays reused). */
static bool log_copy(fl_vk_log *dst, const fl_vk_log *src) {
    if (!grow((void **)&dst->op, &dst->cap_op, src->n_op, sizeof *dst->op) ||
        !grow((void **)&dst->push, &dst->cap_push, src->n_push, 1))
        return false;
    memcpy(dst->op, src->op, (size_t)src->n_op * sizeof *src->op);
    memcpy(dst->push, src->push, (size_t)src->n_push);
    dst->n_op = src->n_op;
    dst->n_push = src->n_push;
    dst->hash = src->hash;
    return true;
}

VkCommandBuffer fl_vk_replay_command(fl_vk *vk) {
    fl_vk_replay *rp = &vk->replay;
    rp->clock++;
    int32_t victim = 0;
    for (int32_t i = 0; i < FL_VK_REPLAY_SLOTS; i++) {
        fl_vk_replay_slot *s = &rp->slot[i];
        if (s->cmd && rp->enabled && log_equal(&s->log, &vk->log)) {
            s->used = rp->clock;
            rp->replays++;
            return s->cmd;
        }
        if (s->used < rp->slot[victim].used) victim = i;
    }
    /* none: record into the least recently used slot */
    fl_vk_replay_slot *s = &rp->slot[victim];
    VkResult r;
    if (!s->cmd) {
        const VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                                 .commandPool = vk->cmd_pool,
                                                 .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                                 .commandBufferCount = 1};
        if ((r = vkAllocateCommandBuffers(vk->dev, &cai, &s->cmd)) != VK_SUCCESS) {
            s->cmd = VK_NULL_HANDLE;
            fl_vk_fail(vk, r, "allocating a command buffer");
            return VK_NULL_HANDLE;
        }
    } else {
        vkResetCommandBuffer(s->cmd, 0);
    }
    s->used = 0; /* invalid until recorded */
    fl_vk_log_clear(&s->log);
    if ((r = record(vk, s->cmd, &vk->log)) != VK_SUCCESS) {
        fl_vk_fail(vk, r, "recording a command buffer");
        return VK_NULL_HANDLE;
    }
    if (!log_copy(&s->log, &vk->log)) {
        if (!vk->err) vk->err = fl_errorf(FLINT_E_NOMEM, "vulkan: out of memory keeping a command buffer's log");
        return VK_NULL_HANDLE;
    }
    s->used = rp->clock;
    rp->recordings++;
    return s->cmd;
}

void fl_vk_replay_free(fl_vk *vk) {
    for (int32_t i = 0; i < FL_VK_REPLAY_SLOTS; i++) {
        fl_vk_replay_slot *s = &vk->replay.slot[i];
        if (s->cmd) vkFreeCommandBuffers(vk->dev, vk->cmd_pool, 1, &s->cmd);
        free(s->log.op);
        free(s->log.push);
    }
    free(vk->log.op);
    free(vk->log.push);
}
