/* gpu.c — flint_gpu_list: the devices of the GPU backend this build has
 * (Vulkan with VULKAN=1), none otherwise; and the backend a context's
 * params.gpu names (gpu.h). */
#include "api/gpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_file.h"
#include "base/error.h"
#include "cache/kv.h"
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

/* The CPU backend with p's threads, deterministic and exact modes. */
static flint_status cpu_backend(const flint_context_params *p, fl_backend **be) {
    flint_status st = fl_cpu_backend_create(p->n_threads, FL_ISA_AUTO, be);
    if (st) return st;
    fl_cpu_backend_set_deterministic(*be, p->deterministic != 0);
    fl_cpu_backend_set_exact(*be, p->exact != 0);
    return FLINT_OK;
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

flint_status fl_api_backend_create(const flint_context_params *p, fl_backend **be, char *device, size_t size) {
    *be = NULL;
    const char *gpu = p->gpu ? p->gpu : "";
    if (!*gpu || !strcmp(gpu, "cpu")) {
        if (p->gpu_layers || p->gpu_memory)
            return fl_errorf(FLINT_E_INVALID_ARG, "gpu_layers %d / gpu_memory %lld place layers on a GPU, but gpu is "
                                                  "cpu: name one (vulkan)", p->gpu_layers, (long long)p->gpu_memory);
        flint_status st = cpu_backend(p, be);
        if (!st) snprintf(device, size, "cpu");
        return st;
    }
    const int32_t index = vulkan_device(gpu);
    if (index < -1)
        return fl_errorf(FLINT_E_INVALID_ARG, "gpu '%.64s' names no device: cpu, vulkan or vulkan:N (flint info --gpus "
                                              "lists the devices)", gpu);
#ifndef FLINT_VULKAN
    return fl_errorf(FLINT_E_UNSUPPORTED, "gpu '%s': this build has no GPU backend; build flint with make VULKAN=1",
                     gpu);
#else
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

#ifdef FLINT_VULKAN
static bool on_vulkan(const fl_backend *be) { return !strcmp(be->ops->name, "vulkan"); }
#endif

uint64_t fl_api_gpu_weight_bytes(const fl_backend *be) {
#ifdef FLINT_VULKAN
    if (on_vulkan(be)) return fl_vk_backend_weight_bytes(be);
#endif
    (void)be;
    return 0;
}

/* The device memory auto placement may fill. */
static uint64_t device_budget(const flint_context_params *p, const fl_backend *be) {
    if (p->gpu_memory > 0) return (uint64_t)p->gpu_memory;
#ifdef FLINT_VULKAN
    if (on_vulkan(be)) return fl_vk_backend_memory(be) / 10 * 9; /* room for the driver and others */
#endif
    (void)be;
    return 0;
}

/* Trailing layers of lm that fit the budget with the head when all do
 * (auto placement): every byte the device's memory would hold for them. */
static int32_t layers_that_fit(const flint_context_params *p, const fl_lm *lm, const fl_backend *be,
                               uint64_t scratch_bytes, int32_t n_seq, int32_t n_ctx) {
    const fl_hparams *hp = &lm->hp;
    const uint64_t budget = device_budget(p, be);
    uint64_t used = scratch_bytes, all = scratch_bytes + fl_weight_bytes(&lm->output) +
                                         (uint64_t)hp->n_embd * sizeof(float);
    if (lm->ple_model_proj.data) all += fl_weight_bytes(&lm->ple_model_proj); /* runs on layer 0's backend */
    int32_t n = 0;
    bool full = true; /* every layer so far fitted */
    for (int32_t l = hp->n_layer - 1; l >= 0; l--) {
        const uint64_t b = fl_lm_layer_bytes(lm, l) + fl_kv_layer_bytes(hp, l, p->kv_type, n_seq, n_ctx);
        all += b;
        if (full && used + b <= budget) used += b, n++;
        else full = false;
    }
    return all <= budget ? hp->n_layer : n;
}

flint_status fl_api_place(const flint_context_params *p, const fl_lm *lm, fl_backend *be, uint64_t scratch_bytes,
                          int32_t n_seq, int32_t n_ctx, fl_placement *pl, char *device, size_t size) {
    const int32_t n_layer = lm->hp.n_layer;
    *pl = fl_place_one(be);
    if (!strcmp(be->ops->name, "cpu")) return FLINT_OK;
    int32_t n = p->gpu_layers == FLINT_GPU_LAYERS_NONE ? 0
                : p->gpu_layers > 0                  ? (p->gpu_layers < n_layer ? p->gpu_layers : n_layer)
                                                     : layers_that_fit(p, lm, be, scratch_bytes, n_seq, n_ctx);
    if (n == n_layer) return FLINT_OK;
    flint_status st = cpu_backend(p, &pl->host);
    if (st) return st;
    pl->first_device = n_layer - n;
    const size_t len = strlen(device);
    if (len < size) snprintf(device + len, size - len, ", %d/%d layers", n, n_layer);
    return FLINT_OK;
}
