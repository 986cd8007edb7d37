/* gpu.h — the backend a context runs on, from flint_context_params.gpu
 * (flint.h says what it accepts and what is refused). */
#ifndef FL_API_GPU_H
#define FL_API_GPU_H

#include <stddef.h>

#include "backend/backend.h"
#include "flint.h"

/* The backend p->gpu names for model: the CPU's (with p's threads,
 * deterministic and exact modes) or a Vulkan device's. Writes "cpu" or
 * "vulkan: DEVICE NAME" to device[0..size). FLINT_E_INVALID_ARG for a value
 * that names no device, FLINT_E_UNSUPPORTED for a GPU this build or the
 * machine lacks, and for what the GPU backend cannot run yet. */
flint_status fl_api_backend_create(const flint_context_params *p, const flint_model *model, fl_backend **be,
                                   char *device, size_t size);
/* After the model's load: the expert store's slots (streamed experts)
 * imported into a backend that has import_host, so its ops read the
 * experts where the store's reads put them. FLINT_OK with no store or no
 * such op; the backend's error where it cannot import host memory. */
flint_status fl_api_backend_import_store(fl_backend *be, const flint_model *model);

#endif
