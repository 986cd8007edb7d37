/* memory.c — device memory (vk.h says how pointers map to it): backend
 * allocations for activations, uploads of weights into a device-local
 * arena, and the transient buffer for op arguments and foreign outputs. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/error.h"
#include "vulkan/vk.h"
#include "vulkan/vk_backend.h"

#define ARENA_CHUNK (256ull << 20) /* weights are packed into chunks of this size (or one's own, if larger) */
#define TRANSIENT_MIN (4ull << 20)
#define ALIGN 256 /* of every upload and transient piece: above any minStorageBufferOffsetAlignment */

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* Address space reserved as the handle of device-only memory. */
static size_t reserve_bytes(uint64_t size) { return (size_t)align_up(size ? size : 1, (uint64_t)sysconf(_SC_PAGESIZE)); }

static atomic_uint_fast64_t device_only_bytes; /* every backend's, for tests (vk_backend.h) */

uint64_t fl_vk_backend_device_only_bytes(void) { return atomic_load(&device_only_bytes); }

/* A memory type allowed by bits with all of want; -1 if none. */
static int32_t memory_type(const fl_vk *vk, uint32_t bits, VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < vk->mem_props.memoryTypeCount; i++)
        if ((bits >> i & 1) && (vk->mem_props.memoryTypes[i].propertyFlags & want) == want) return (int32_t)i;
    return -1;
}

flint_status fl_vk_buf_create(fl_vk *vk, uint64_t size, bool host_visible, fl_vk_buf *out) {
    memset(out, 0, sizeof *out);
    if (size > vk->max_alloc)
        return fl_errorf(FLINT_E_NOMEM, "vulkan: %llu bytes in one allocation exceed %s's limit of %llu",
                         (unsigned long long)size, vk->name, (unsigned long long)vk->max_alloc);
    const VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size ? size : 4,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT |
                 VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(vk->dev, &bci, NULL, &out->buf);
    if (r != VK_SUCCESS) return fl_vk_fail(NULL, r, "creating a buffer");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(vk->dev, out->buf, &req);
    /* activations: host-visible, device-local too where there is such
     * memory (integrated GPUs, resizable BAR); weights: device-local */
    const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int32_t types[2] = {
        memory_type(vk, req.memoryTypeBits,
                    host_visible ? hv | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT),
        memory_type(vk, req.memoryTypeBits, host_visible ? hv : 0),
    };
    const VkMemoryAllocateFlagsInfo flags = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO,
                                             .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT};
    r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
    for (int i = 0; i < 2 && r != VK_SUCCESS; i++) {
        if (types[i] < 0 || (i == 1 && types[1] == types[0])) continue;
        const VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                          .pNext = &flags,
                                          .allocationSize = req.size,
                                          .memoryTypeIndex = (uint32_t)types[i]};
        r = vkAllocateMemory(vk->dev, &mai, NULL, &out->mem);
        if (r == VK_SUCCESS && (vk->mem_props.memoryTypes[types[i]].propertyFlags & hv) == hv &&
            (r = vkMapMemory(vk->dev, out->mem, 0, VK_WHOLE_SIZE, 0, &out->map)) != VK_SUCCESS) {
            vkFreeMemory(vk->dev, out->mem, NULL);
            out->mem = VK_NULL_HANDLE;
        }
    }
    if (r != VK_SUCCESS) {
        vkDestroyBuffer(vk->dev, out->buf, NULL);
        out->buf = VK_NULL_HANDLE;
        char what[96];
        snprintf(what, sizeof what, "allocating %llu bytes", (unsigned long long)size);
        return fl_vk_fail(NULL, r, what);
    }
    if ((r = vkBindBufferMemory(vk->dev, out->buf, out->mem, 0)) != VK_SUCCESS) {
        fl_vk_buf_destroy(vk, out);
        return fl_vk_fail(NULL, r, "binding buffer memory");
    }
    const VkBufferDeviceAddressInfo ai = {.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO, .buffer = out->buf};
    out->addr = vkGetBufferDeviceAddress(vk->dev, &ai);
    out->size = size;
    return FLINT_OK;
}

void fl_vk_buf_destroy(fl_vk *vk, fl_vk_buf *b) {
    if (b->reserved) {
        munmap(b->map, reserve_bytes(b->size));
        atomic_fetch_sub(&device_only_bytes, b->size);
    } else if (b->map && !b->imported) {
        vkUnmapMemory(vk->dev, b->mem);
    }
    if (b->buf) vkDestroyBuffer(vk->dev, b->buf, NULL);
    if (b->mem) vkFreeMemory(vk->dev, b->mem, NULL);
    memset(b, 0, sizeof *b);
}

/* ---- backend allocations (activations, KV pool, recurrent state) ---- */

/* Keeps b among the backend allocations (sorted by host address); false
 * when out of memory. */
static bool act_insert(fl_vk *vk, const fl_vk_buf *b) {
    if (vk->n_act == vk->cap_act) {
        int32_t cap = vk->cap_act ? 2 * vk->cap_act : 16;
        fl_vk_buf *a = realloc(vk->act, (size_t)cap * sizeof *a);
        if (!a) return false;
        vk->act = a;
        vk->cap_act = cap;
    }
    int32_t i = vk->n_act;
    while (i > 0 && (uintptr_t)vk->act[i - 1].map > (uintptr_t)b->map) {
        vk->act[i] = vk->act[i - 1];
        i--;
    }
    vk->act[i] = *b;
    vk->n_act++;
    return true;
}

void *fl_vk_alloc(fl_backend *be, size_t bytes, bool host) {
    fl_vk *vk = fl_vk_of(be);
    fl_vk_buf b;
    if (fl_vk_buf_create(vk, bytes ? bytes : 1, host, &b)) return NULL;
    if (!host) {
        /* device-local, found by a handle: address space the host cannot
         * touch (a host access faults rather than reading stale bytes) */
        if (b.map) vkUnmapMemory(vk->dev, b.mem);
        b.map = mmap(NULL, reserve_bytes(b.size), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        b.reserved = b.map != MAP_FAILED;
        if (!b.reserved) {
            b.map = NULL;
            fl_vk_buf_destroy(vk, &b);
            fl_errorf(FLINT_E_NOMEM, "vulkan: no address space for a handle of %zu bytes", bytes);
            return NULL;
        }
        atomic_fetch_add(&device_only_bytes, b.size);
    } else if (!b.map) {
        fl_vk_buf_destroy(vk, &b);
        fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: %s has no host-visible memory", vk->name);
        return NULL;
    }
    if (!act_insert(vk, &b)) {
        fl_vk_buf_destroy(vk, &b);
        fl_errorf(FLINT_E_NOMEM, "out of memory");
        return NULL;
    }
    return b.map;
}

flint_status fl_vk_import_host(fl_backend *be, void *p, size_t bytes) {
    fl_vk *vk = fl_vk_of(be);
    const uint64_t al = vk->host_import_align;
    if (!al)
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: %s cannot read host memory in place "
                         "(VK_EXT_external_memory_host)", vk->name);
    if (!p || !bytes || (uintptr_t)p % al || bytes % al)
        return fl_errorf(FLINT_E_INVALID_ARG, "vulkan: host memory to import at %p of %zu bytes is not aligned to "
                         "%llu bytes", p, bytes, (unsigned long long)al);
    if (fl_vk_find_act(vk, p, 1) || fl_vk_find_act(vk, (char *)p + bytes - 1, 1))
        return fl_errorf(FLINT_E_INVALID_ARG, "vulkan: host memory at %p is already backend memory", p);
    const VkExternalMemoryHandleTypeFlagBits host = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
    VkMemoryHostPointerPropertiesEXT props = {.sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
    VkResult r = vk->host_pointer_props(vk->dev, host, p, &props);
    if (r != VK_SUCCESS) return fl_vk_fail(NULL, r, "importing host memory");
    const int32_t type = memory_type(vk, props.memoryTypeBits, 0);
    if (type < 0) return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: %s offers no memory type for host memory", vk->name);
    fl_vk_buf b = {.map = p, .size = bytes, .imported = true};
    const VkExternalMemoryBufferCreateInfo ext = {.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
                                                  .handleTypes = host};
    const VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                    .pNext = &ext,
                                    .size = bytes,
                                    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                             VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT,
                                    .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    const VkImportMemoryHostPointerInfoEXT imp = {.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
                                                  .handleType = host,
                                                  .pHostPointer = p};
    const VkMemoryAllocateFlagsInfo flags = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO,
                                             .pNext = &imp,
                                             .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT};
    const VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                      .pNext = &flags,
                                      .allocationSize = bytes,
                                      .memoryTypeIndex = (uint32_t)type};
    if ((r = vkCreateBuffer(vk->dev, &bci, NULL, &b.buf)) != VK_SUCCESS ||
        (r = vkAllocateMemory(vk->dev, &mai, NULL, &b.mem)) != VK_SUCCESS ||
        (r = vkBindBufferMemory(vk->dev, b.buf, b.mem, 0)) != VK_SUCCESS) {
        fl_vk_buf_destroy(vk, &b);
        return fl_vk_fail(NULL, r, "importing host memory");
    }
    const VkBufferDeviceAddressInfo ai = {.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO, .buffer = b.buf};
    b.addr = vkGetBufferDeviceAddress(vk->dev, &ai);
    if (!act_insert(vk, &b)) {
        fl_vk_buf_destroy(vk, &b);
        return fl_errorf(FLINT_E_NOMEM, "out of memory");
    }
    return FLINT_OK;
}

void fl_vk_dealloc(fl_backend *be, void *p) {
    fl_vk *vk = fl_vk_of(be);
    if (!p) return;
    /* ops recorded but not run may still use it (kv.c zeroes states, then
     * frees them) */
    if (vk->log.n_op) fl_vk_flush(vk);
    for (int32_t i = 0; i < vk->n_act; i++)
        if (vk->act[i].map == p) {
            fl_vk_buf_destroy(vk, &vk->act[i]);
            memmove(&vk->act[i], &vk->act[i + 1], (size_t)(vk->n_act - i - 1) * sizeof *vk->act);
            vk->n_act--;
            return;
        }
}

const fl_vk_buf *fl_vk_find_act(const fl_vk *vk, const void *p, uint64_t bytes) {
    uintptr_t a = (uintptr_t)p;
    int32_t lo = 0, hi = vk->n_act - 1;
    while (lo <= hi) { /* the last allocation starting at or before p */
        int32_t mid = (lo + hi) / 2;
        if ((uintptr_t)vk->act[mid].map <= a) lo = mid + 1;
        else hi = mid - 1;
    }
    if (hi < 0) return NULL;
    const fl_vk_buf *b = &vk->act[hi];
    return a + bytes <= (uintptr_t)b->map + b->size ? b : NULL;
}

/* ---- weights ---- */

static VkDeviceAddress arena_take(fl_vk *vk, uint64_t bytes, void **map) {
    fl_vk_arena *ar = &vk->arena;
    bool fits = ar->n_chunk && ar->used + bytes <= ar->chunk[ar->n_chunk - 1].size;
    if (!fits) {
        if (ar->n_chunk == ar->cap_chunk) {
            int32_t cap = ar->cap_chunk ? 2 * ar->cap_chunk : 8;
            fl_vk_buf *c = realloc(ar->chunk, (size_t)cap * sizeof *c);
            if (!c) return fl_errorf(FLINT_E_NOMEM, "out of memory"), 0;
            ar->chunk = c;
            ar->cap_chunk = cap;
        }
        uint64_t size = bytes > ARENA_CHUNK ? bytes : ARENA_CHUNK;
        if (size > vk->max_alloc && bytes <= vk->max_alloc) size = vk->max_alloc;
        if (fl_vk_buf_create(vk, size, false, &ar->chunk[ar->n_chunk])) return 0;
        ar->n_chunk++;
        ar->used = 0;
    }
    fl_vk_buf *c = &ar->chunk[ar->n_chunk - 1];
    VkDeviceAddress addr = c->addr + ar->used;
    *map = c->map ? (char *)c->map + ar->used : NULL;
    ar->used = align_up(ar->used + bytes, ALIGN);
    return addr;
}

/* Copies host bytes to device address dst through the staging buffer, on
 * a command buffer of its own (an op may be recording on the other). */
static flint_status upload_staged(fl_vk *vk, VkDeviceAddress dst, const void *src, uint64_t bytes) {
    const uint64_t step = 64ull << 20;
    if (!vk->staging.buf && fl_vk_buf_create(vk, step, true, &vk->staging)) return FLINT_E_NOMEM;
    /* the arena chunk holding dst */
    const fl_vk_buf *c = NULL;
    for (int32_t i = 0; i < vk->arena.n_chunk && !c; i++)
        if (dst >= vk->arena.chunk[i].addr && dst < vk->arena.chunk[i].addr + vk->arena.chunk[i].size)
            c = &vk->arena.chunk[i];
    for (uint64_t off = 0; off < bytes; off += step) {
        const uint64_t n = bytes - off < step ? bytes - off : step;
        memcpy(vk->staging.map, (const char *)src + off, n);
        const VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                             .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
        vkBeginCommandBuffer(vk->upload_cmd, &bi);
        const VkBufferCopy region = {.srcOffset = 0, .dstOffset = dst - c->addr + off, .size = n};
        vkCmdCopyBuffer(vk->upload_cmd, vk->staging.buf, c->buf, 1, &region);
        vkEndCommandBuffer(vk->upload_cmd);
        const VkSubmitInfo si = {
            .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &vk->upload_cmd};
        VkResult r = vkQueueSubmit(vk->queue, 1, &si, vk->upload_fence);
        if (r == VK_SUCCESS) r = vkWaitForFences(vk->dev, 1, &vk->upload_fence, VK_TRUE, UINT64_MAX);
        vkResetFences(vk->dev, 1, &vk->upload_fence);
        vkResetCommandBuffer(vk->upload_cmd, 0);
        if (r != VK_SUCCESS) return fl_vk_fail(vk, r, "uploading weights");
    }
    return FLINT_OK;
}

/* The upload holding [p, p + bytes), or the index to insert one at. */
static int32_t upload_find(const fl_vk *vk, const void *p, uint64_t bytes, bool *found) {
    uintptr_t a = (uintptr_t)p;
    int32_t lo = 0, hi = vk->n_up - 1;
    while (lo <= hi) {
        int32_t mid = (lo + hi) / 2;
        if ((uintptr_t)vk->uploads[mid].host <= a) lo = mid + 1;
        else hi = mid - 1;
    }
    *found = hi >= 0 && a + bytes <= (uintptr_t)vk->uploads[hi].host + vk->uploads[hi].bytes;
    return *found ? hi : lo;
}

/* The device copy of data[0..bytes) recorded under the host range [key,
 * key + key_bytes): found again by any range inside it. A range already
 * recorded gives its address; data NULL looks up only (0 if absent, no
 * error). */
static VkDeviceAddress upload(fl_vk *vk, const void *key, uint64_t key_bytes, const void *data, uint64_t bytes) {
    bool found;
    int32_t i = upload_find(vk, key, key_bytes, &found);
    if (found) return vk->uploads[i].addr + (uint64_t)((uintptr_t)key - (uintptr_t)vk->uploads[i].host);
    if (!data) return 0;
    if (vk->n_up == vk->cap_up) {
        int32_t cap = vk->cap_up ? 2 * vk->cap_up : 256;
        fl_vk_upload *u = realloc(vk->uploads, (size_t)cap * sizeof *u);
        if (!u) {
            if (!vk->err) vk->err = fl_errorf(FLINT_E_NOMEM, "out of memory");
            return 0;
        }
        vk->uploads = u;
        vk->cap_up = cap;
    }
    void *map;
    VkDeviceAddress addr = arena_take(vk, bytes, &map);
    if (!addr) {
        if (!vk->err) vk->err = FLINT_E_NOMEM;
        return 0;
    }
    if (map) memcpy(map, data, bytes);
    else if (upload_staged(vk, addr, data, bytes)) return 0;
    memmove(&vk->uploads[i + 1], &vk->uploads[i], (size_t)(vk->n_up - i) * sizeof *vk->uploads);
    vk->uploads[i] = (fl_vk_upload){key, key_bytes, addr};
    vk->n_up++;
    return addr;
}

VkDeviceAddress fl_vk_act_addr(const fl_vk *vk, const void *p, uint64_t bytes) {
    const fl_vk_buf *b = p ? fl_vk_find_act(vk, p, bytes) : NULL;
    return b ? b->addr + (uint64_t)((uintptr_t)p - (uintptr_t)b->map) : 0;
}

VkDeviceAddress fl_vk_in(fl_vk *vk, const void *p, uint64_t bytes) {
    if (!p) return 0;
    const VkDeviceAddress a = fl_vk_act_addr(vk, p, bytes);
    return a ? a : upload(vk, p, bytes, p, bytes);
}

VkDeviceAddress fl_vk_in_as(fl_vk *vk, const void *key, uint64_t key_bytes, const void *data, uint64_t bytes) {
    return key ? upload(vk, key, key_bytes, data, bytes) : 0;
}

/* ---- the transient buffer ---- */

/* bytes from the bump b: the host's pointer to them (NULL where b is not
 * host-visible) and their device address in *addr (0 on failure, vk->err
 * set). */
static void *bump_take(fl_vk *vk, fl_vk_bump *b, uint64_t bytes, VkDeviceAddress *addr) {
    *addr = 0;
    bytes = align_up(bytes ? bytes : 1, ALIGN);
    fl_vk_buf *t = b->n ? &b->buf[b->n - 1] : NULL;
    if (!t || b->used + bytes > t->size) {
        if (b->n == (int32_t)(sizeof b->buf / sizeof *b->buf)) {
            if (!vk->err) vk->err = fl_errorf(FLINT_E_NOMEM, "vulkan: too many transient buffers in one segment");
            return NULL;
        }
        uint64_t size = t ? 2 * t->size : TRANSIENT_MIN;
        while (size < bytes) size *= 2;
        t = &b->buf[b->n];
        if (fl_vk_buf_create(vk, size, b->host_visible, t) || (b->host_visible && !t->map)) {
            if (t->buf) fl_vk_buf_destroy(vk, t);
            if (!vk->err) vk->err = fl_errorf(FLINT_E_NOMEM, "vulkan: no %s memory for %llu bytes",
                                              b->host_visible ? "host-visible" : "device", (unsigned long long)bytes);
            return NULL;
        }
        b->n++;
        b->used = 0;
    }
    void *p = t->map ? (char *)t->map + b->used : NULL;
    *addr = t->addr + b->used;
    b->used += bytes;
    return p;
}

VkDeviceAddress fl_vk_scratch(fl_vk *vk, uint64_t bytes) {
    VkDeviceAddress addr;
    bump_take(vk, &vk->scratch, bytes, &addr);
    return addr;
}

VkDeviceAddress fl_vk_args(fl_vk *vk, const void *data, uint64_t bytes) {
    VkDeviceAddress addr = 0;
    void *p = bump_take(vk, &vk->transient, bytes, &addr);
    if (p && data) memcpy(p, data, bytes);
    return p ? addr : 0;
}

VkDeviceAddress fl_vk_read(fl_vk *vk, const void *p, uint64_t bytes) {
    if (!p) return 0;
    const VkDeviceAddress a = fl_vk_act_addr(vk, p, bytes);
    return a ? a : fl_vk_args(vk, p, bytes);
}

VkDeviceAddress fl_vk_out(fl_vk *vk, void *p, uint64_t bytes) {
    if (!p) return 0;
    const VkDeviceAddress a = fl_vk_act_addr(vk, p, bytes);
    if (a) return a;
    if (vk->n_copyout == FL_VK_MAX_COPYOUT) {
        if (!vk->err) vk->err = fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: too many outputs to host memory in one op");
        return 0;
    }
    VkDeviceAddress addr = 0;
    void *t = bump_take(vk, &vk->transient, bytes, &addr);
    if (!t) return 0;
    /* the op may read what it writes (an in-place update): start from p */
    memcpy(t, p, bytes);
    vk->copyout[vk->n_copyout++] = (fl_vk_copyout){p, t, bytes};
    return addr;
}

static void bump_reset(fl_vk *vk, fl_vk_bump *b) {
    /* keep the largest (the last), so the next segment of this size needs one */
    for (int32_t i = 0; i + 1 < b->n; i++) fl_vk_buf_destroy(vk, &b->buf[i]);
    if (b->n > 1) {
        b->buf[0] = b->buf[b->n - 1];
        b->n = 1;
    }
    b->used = 0;
}

void fl_vk_transient_reset(fl_vk *vk) {
    bump_reset(vk, &vk->transient);
    bump_reset(vk, &vk->scratch);
    vk->n_copyout = 0;
}

void fl_vk_memory_free(fl_vk *vk) {
    for (int32_t i = 0; i < vk->n_act; i++) fl_vk_buf_destroy(vk, &vk->act[i]);
    free(vk->act);
    for (int32_t i = 0; i < vk->arena.n_chunk; i++) fl_vk_buf_destroy(vk, &vk->arena.chunk[i]);
    free(vk->arena.chunk);
    free(vk->uploads);
    for (int32_t i = 0; i < vk->transient.n; i++) fl_vk_buf_destroy(vk, &vk->transient.buf[i]);
    for (int32_t i = 0; i < vk->scratch.n; i++) fl_vk_buf_destroy(vk, &vk->scratch.buf[i]);
    if (vk->staging.buf) fl_vk_buf_destroy(vk, &vk->staging);
}
