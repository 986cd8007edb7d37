/* gpu.h — the backend a context runs on, from flint_context_params.gpu
 * (flint.h says what it accepts and what is refused). */
#ifndef FL_API_GPU_H
#define FL_API_GPU_H

#include <stddef.h>

#include "backend/backend.h"
#include "backend/placement.h"
#include "flint.h"
#include "model/model.h"

/* The backend p->gpu names: the CPU's (with p's threads,
 * deterministic and exact modes) or a Vulkan device's. Writes "cpu" or
 * "vulkan: DEVICE NAME" to device[0..size). FLINT_E_INVALID_ARG for a value
 * that names no device, FLINT_E_UNSUPPORTED for a GPU this build or the
 * machine lacks, and for what the GPU backend cannot run yet. */
flint_status fl_api_backend_create(const flint_context_params *p, fl_backend **be, char *device, size_t size);
/* After the model's load: the expert store's slots (streamed experts)
 * imported into a backend that has import_host, so its ops read the
 * experts where the store's reads put them. FLINT_OK with no store or no
 * such op; the backend's error where it cannot import host memory. */
flint_status fl_api_backend_import_store(fl_backend *be, const flint_model *model);

/* Where lm's layers run with p on be (what fl_api_backend_create made): the
 * last p->gpu_layers on be, or with 0 (auto) as many as fit the device's
 * memory beside the scratch (scratch_bytes, already there) and the K/V of
 * n_seq sequences of n_ctx; the others on a new CPU backend (pl->host,
 * freed by the caller when it is not be). On the CPU: everything on be.
 * Appends ", N/M layers" to device[] when not every layer is on be. */
flint_status fl_api_place(const flint_context_params *p, const fl_lm *lm, fl_backend *be, uint64_t scratch_bytes,
                          int32_t n_seq, int32_t n_ctx, fl_placement *pl, char *device, size_t size);
/* Bytes of weights be uploaded (0 for a backend that reads them in place). */
uint64_t fl_api_gpu_weight_bytes(const fl_backend *be);

#endif
