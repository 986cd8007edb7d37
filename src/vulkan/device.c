/* device.c — the Vulkan instance and device: which devices qualify, the
 * listing behind flint_gpu_list, choosing one, and the logical device
 * with the features every shader relies on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "vulkan/vk.h"
#include "vulkan/vk_backend.h"

static const char *vk_result_name(VkResult r) {
    switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "out of host memory";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "out of device memory";
    case VK_ERROR_INITIALIZATION_FAILED: return "initialization failed";
    case VK_ERROR_DEVICE_LOST: return "device lost";
    case VK_ERROR_MEMORY_MAP_FAILED: return "memory map failed";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "incompatible driver";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "feature not present";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "extension not present";
    case VK_ERROR_TOO_MANY_OBJECTS: return "too many objects";
    case VK_TIMEOUT: return "timeout";
    default: return "error";
    }
}

flint_status fl_vk_fail(fl_vk *vk, VkResult r, const char *what) {
    flint_status code = r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY ? FLINT_E_NOMEM
                                                                                                : FLINT_E_IO;
    flint_status st = fl_errorf(code, "vulkan: %s failed: %s (VkResult %d)%s%s", what, vk_result_name(r), (int)r,
                                vk ? " on " : "", vk ? vk->name : "");
    if (vk && !vk->err) vk->err = st;
    return st;
}

static VkResult instance_create(VkInstance *inst) {
    const VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "flint",
        .pEngineName = "flint",
        .apiVersion = VK_API_VERSION_1_2,
    };
    const VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    return vkCreateInstance(&ci, NULL, inst);
}

/* The features flint needs, read from a physical device. */
typedef struct vk_features {
    VkPhysicalDeviceFeatures2 f2;
    VkPhysicalDeviceVulkan11Features f11;
    VkPhysicalDeviceVulkan12Features f12;
} vk_features;

static void features_chain(vk_features *f) {
    memset(f, 0, sizeof *f);
    f->f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    f->f11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
    f->f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    f->f2.pNext = &f->f11;
    f->f11.pNext = &f->f12;
}

static int32_t compute_queue_family(VkPhysicalDevice pd) {
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties q[64];
    if (n > 64) n = 64;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
    for (uint32_t i = 0; i < n; i++) /* a compute-only queue first: it runs beside graphics */
        if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) return (int32_t)i;
    for (uint32_t i = 0; i < n; i++)
        if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) return (int32_t)i;
    return -1;
}

bool fl_vk_has_extension(VkPhysicalDevice pd, const char *name) {
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || !n) return false;
    VkExtensionProperties *e = malloc((size_t)n * sizeof *e);
    bool found = false;
    if (e && vkEnumerateDeviceExtensionProperties(pd, NULL, &n, e) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(e[i].extensionName, name);
    free(e);
    return found;
}

/* Whether a device can run flint's shaders: besides the features below,
 * subgroup adds, maxima and elections in compute shaders (the matmul and
 * attention reductions). */
static bool qualifies(VkPhysicalDevice pd) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(pd, &p);
    if (p.apiVersion < VK_API_VERSION_1_2 || compute_queue_family(pd) < 0) return false;
    VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg};
    vkGetPhysicalDeviceProperties2(pd, &p2);
    const VkSubgroupFeatureFlags ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    if ((sg.supportedOperations & ops) != ops || !(sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT)) return false;
    vk_features f;
    features_chain(&f);
    vkGetPhysicalDeviceFeatures2(pd, &f.f2);
    return f.f2.features.shaderInt64 && f.f12.bufferDeviceAddress && f.f11.storageBuffer16BitAccess &&
           f.f12.storageBuffer8BitAccess;
}

/* The qualifying devices, in enumeration order; *n of them (<= max). */
static VkResult qualifying(VkInstance inst, VkPhysicalDevice *out, uint32_t max, uint32_t *n) {
    uint32_t all = 0;
    VkResult r = vkEnumeratePhysicalDevices(inst, &all, NULL);
    if (r != VK_SUCCESS) return r;
    VkPhysicalDevice pd[64];
    if (all > 64) all = 64;
    r = vkEnumeratePhysicalDevices(inst, &all, pd);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) return r;
    *n = 0;
    for (uint32_t i = 0; i < all && *n < max; i++)
        if (qualifies(pd[i])) out[(*n)++] = pd[i];
    return VK_SUCCESS;
}

static const char *kind_name(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

static uint32_t subgroup_size(VkPhysicalDevice pd) {
    VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg};
    vkGetPhysicalDeviceProperties2(pd, &p2);
    return sg.subgroupSize;
}

static uint64_t device_local_bytes(VkPhysicalDevice pd) {
    VkPhysicalDeviceMemoryProperties m;
    vkGetPhysicalDeviceMemoryProperties(pd, &m);
    uint64_t best = 0;
    for (uint32_t i = 0; i < m.memoryHeapCount; i++)
        if ((m.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && m.memoryHeaps[i].size > best)
            best = m.memoryHeaps[i].size;
    return best;
}

flint_status fl_vk_list(flint_gpu_info *out, int32_t max, int32_t *n) {
    if (!n || max < 0 || (max && !out)) return fl_errorf(FLINT_E_INVALID_ARG, "fl_vk_list: bad arguments");
    *n = 0;
    VkInstance inst;
    if (instance_create(&inst) != VK_SUCCESS) return FLINT_OK; /* no loader or no driver: no device */
    VkPhysicalDevice pd[64];
    uint32_t found = 0;
    if (qualifying(inst, pd, 64, &found) == VK_SUCCESS) {
        for (uint32_t i = 0; i < found && (int32_t)i < max; i++) {
            VkPhysicalDeviceProperties p;
            vkGetPhysicalDeviceProperties(pd[i], &p);
            flint_gpu_info *g = &out[i];
            memset(g, 0, sizeof *g);
            snprintf(g->name, sizeof g->name, "%s", p.deviceName);
            snprintf(g->api, sizeof g->api, "vulkan");
            snprintf(g->kind, sizeof g->kind, "%s", kind_name(p.deviceType));
            g->memory_bytes = device_local_bytes(pd[i]);
            g->vendor_id = p.vendorID;
            g->device_id = p.deviceID;
            g->subgroup_size = (int32_t)subgroup_size(pd[i]);
        }
        *n = (int32_t)found;
    }
    vkDestroyInstance(inst, NULL);
    return FLINT_OK;
}

/* device < 0: discrete, then integrated, then the first. */
static int32_t choose(const VkPhysicalDevice *pd, uint32_t n) {
    static const VkPhysicalDeviceType order[] = {VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU,
                                                 VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU};
    for (int k = 0; k < 2; k++)
        for (uint32_t i = 0; i < n; i++) {
            VkPhysicalDeviceProperties p;
            vkGetPhysicalDeviceProperties(pd[i], &p);
            if (p.deviceType == order[k]) return (int32_t)i;
        }
    return 0;
}

flint_status fl_vk_device_open(fl_vk *vk, int32_t index) {
    VkResult r = instance_create(&vk->inst);
    if (r != VK_SUCCESS) {
        vk->inst = VK_NULL_HANDLE;
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: no Vulkan driver could be loaded (%s); install one, e.g. "
                                              "Debian's mesa-vulkan-drivers",
                         vk_result_name(r));
    }
    VkPhysicalDevice pd[64];
    uint32_t n = 0;
    if ((r = qualifying(vk->inst, pd, 64, &n)) != VK_SUCCESS) return fl_vk_fail(NULL, r, "listing devices");
    if (!n)
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: no device with Vulkan 1.2, buffer device addresses, 8/16-bit "
                                              "storage, 64-bit integers and subgroup arithmetic in compute shaders");
    if (index >= (int32_t)n)
        return fl_errorf(FLINT_E_INVALID_ARG, "vulkan: device %d does not exist: this machine has %u (0 to %u)", index,
                         n, n - 1);
    vk->phys = pd[index < 0 ? choose(pd, n) : index];
    vkGetPhysicalDeviceProperties(vk->phys, &vk->props);
    vkGetPhysicalDeviceMemoryProperties(vk->phys, &vk->mem_props);
    vk->subgroup_size = subgroup_size(vk->phys);
    snprintf(vk->name, sizeof vk->name, "%s", vk->props.deviceName);
    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m3};
    vkGetPhysicalDeviceProperties2(vk->phys, &p2);
    vk->max_alloc = m3.maxMemoryAllocationSize ? m3.maxMemoryAllocationSize : (1ull << 30);

    vk_features have;
    features_chain(&have);
    vkGetPhysicalDeviceFeatures2(vk->phys, &have.f2);
    vk_features want;
    features_chain(&want);
    want.f2.features.shaderInt64 = VK_TRUE;
    want.f2.features.shaderInt16 = have.f2.features.shaderInt16;
    want.f11.storageBuffer16BitAccess = VK_TRUE;
    want.f12.storageBuffer8BitAccess = VK_TRUE;
    want.f12.bufferDeviceAddress = VK_TRUE;
    want.f12.shaderFloat16 = have.f12.shaderFloat16;
    want.f12.shaderInt8 = have.f12.shaderInt8;

    vk->queue_family = (uint32_t)compute_queue_family(vk->phys);
    const float prio = 1.0f;
    const VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                         .queueFamilyIndex = vk->queue_family,
                                         .queueCount = 1,
                                         .pQueuePriorities = &prio};
    /* host memory read in place (the expert store's slots) where the device can */
    const char *ext[1];
    uint32_t n_ext = 0;
    if (fl_vk_has_extension(vk->phys, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME)) {
        VkPhysicalDeviceExternalMemoryHostPropertiesEXT hp = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
        VkPhysicalDeviceProperties2 hp2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &hp};
        vkGetPhysicalDeviceProperties2(vk->phys, &hp2);
        vk->host_import_align = hp.minImportedHostPointerAlignment ? hp.minImportedHostPointerAlignment : 4096;
        ext[n_ext++] = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
    }
    const VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                                    .pNext = &want.f2,
                                    .queueCreateInfoCount = 1,
                                    .pQueueCreateInfos = &qci,
                                    .enabledExtensionCount = n_ext,
                                    .ppEnabledExtensionNames = ext};
    if ((r = vkCreateDevice(vk->phys, &dci, NULL, &vk->dev)) != VK_SUCCESS) {
        vk->dev = VK_NULL_HANDLE;
        return fl_vk_fail(NULL, r, "creating the device");
    }
    vkGetDeviceQueue(vk->dev, vk->queue_family, 0, &vk->queue);
    if (vk->host_import_align)
        vk->host_pointer_props =
            (PFN_vkGetMemoryHostPointerPropertiesEXT)vkGetDeviceProcAddr(vk->dev, "vkGetMemoryHostPointerPropertiesEXT");
    if (!vk->host_pointer_props) vk->host_import_align = 0;

    const VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                         .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                         .queueFamilyIndex = vk->queue_family};
    if ((r = vkCreateCommandPool(vk->dev, &pci, NULL, &vk->cmd_pool)) != VK_SUCCESS)
        return fl_vk_fail(NULL, r, "creating a command pool");
    const VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                             .commandPool = vk->cmd_pool,
                                             .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                             .commandBufferCount = 2};
    VkCommandBuffer cb[2];
    if ((r = vkAllocateCommandBuffers(vk->dev, &cai, cb)) != VK_SUCCESS)
        return fl_vk_fail(NULL, r, "allocating command buffers");
    vk->cmd = cb[0];
    vk->upload_cmd = cb[1];
    const VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if ((r = vkCreateFence(vk->dev, &fci, NULL, &vk->fence)) != VK_SUCCESS ||
        (r = vkCreateFence(vk->dev, &fci, NULL, &vk->upload_fence)) != VK_SUCCESS)
        return fl_vk_fail(NULL, r, "creating a fence");
    return FLINT_OK;
}

void fl_vk_device_close(fl_vk *vk) {
    if (vk->dev) {
        vkDeviceWaitIdle(vk->dev);
        if (vk->fence) vkDestroyFence(vk->dev, vk->fence, NULL);
        if (vk->upload_fence) vkDestroyFence(vk->dev, vk->upload_fence, NULL);
        if (vk->cmd_pool) vkDestroyCommandPool(vk->dev, vk->cmd_pool, NULL);
        vkDestroyDevice(vk->dev, NULL);
    }
    if (vk->inst) vkDestroyInstance(vk->inst, NULL);
}
