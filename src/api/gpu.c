/* gpu.c — flint_gpu_list: the devices of the GPU backend this build has
 * (Vulkan with VULKAN=1), none otherwise; and the backend a context's
 * params.gpu names (gpu.h). */
#include "api/gpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_file.h"
#include "base/error.h"
#include "experts/store.h"
#include "cpu/cpu.h"
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

/* "vulkan" -> -1 (the best device), "vulkan:N" -> N; -2 for anything else. */
static int32_t vulkan_device(const char *gpu) {
    if (strncmp(gpu, "vulkan", 6) != 0) return -2;
    if (!gpu[6]) return -1;
    if (gpu[6] != ':' || !gpu[7] || strlen(gpu + 7) > 6) return -2;
    int32_t n = 0;
    for (const char *c = gpu + 7; *c; c++) {
        if (*c < '0' || *c > '9') return -2;
        n = n * 10 + (*c - '0');
    }
    return n;
}

flint_status fl_api_backend_create(const flint_context_params *p, const flint_model *model, fl_backend **be,
                                   char *device, size_t size) {
    *be = NULL;
    const char *gpu = p->gpu ? p->gpu : "";
    if (!*gpu || !strcmp(gpu, "cpu")) {
        flint_status st = fl_cpu_backend_create(p->n_threads, FL_ISA_AUTO, be);
        if (st) return st;
        fl_cpu_backend_set_deterministic(*be, p->deterministic != 0);
        fl_cpu_backend_set_exact(*be, p->exact != 0);
        snprintf(device, size, "cpu");
        return FLINT_OK;
    }
    const int32_t index = vulkan_device(gpu);
    if (index < -1)
        return fl_errorf(FLINT_E_INVALID_ARG, "gpu '%.64s' names no device: cpu, vulkan or vulkan:N (flint info --gpus "
                                              "lists the devices)", gpu);
#ifndef FLINT_VULKAN
    (void)model;
    return fl_errorf(FLINT_E_UNSUPPORTED, "gpu '%s': this build has no GPU backend; build flint with make VULKAN=1",
                     gpu);
#else
    (void)model;
    flint_status st = fl_vk_backend_create(index, be);
    if (st) return st;
    fl_vk_backend_set_deterministic(*be, p->deterministic != 0);
    fl_vk_backend_set_deferred(*be, true); /* a forward step is one command buffer, run at its syncs */
    snprintf(device, size, "vulkan: %s", fl_vk_backend_device(*be));
    return FLINT_OK;
#endif
}

flint_status fl_api_backend_import_store(fl_backend *be, const flint_model *model) {
    fl_expert_store *st = fl_model_file_store(model);
    if (!st || !be->ops->import_host) return FLINT_OK;
    for (int32_t l = 0; l < fl_store_n_layers(st); l++) {
        void *p;
        size_t bytes;
        fl_store_slots(st, l, &p, &bytes);
        flint_status s = p ? be->ops->import_host(be, p, bytes) : FLINT_OK;
        if (s) return fl_error_prefix(s, "streamed experts (open the model without an expert cache)");
    }
    return FLINT_OK;
}
