/* gpu.h — --gpu, which every command that runs a model takes (one
 * definition), and the device listing of `flint info --gpus`. */
#ifndef FL_CLI_GPU_H
#define FL_CLI_GPU_H

#include <stdint.h>
#include <stdio.h>

/* The GPU options every command that runs a model takes: the device and
 * where the layers go (flint_context_params.gpu, gpu_layers, gpu_memory). */
typedef struct cli_gpu_opts {
    const char *device; /* --gpu, as given (the library checks it and names a bad value) */
    const char *layers; /* --gpu-layers / -ngl */
    const char *memory; /* --gpu-memory */
} cli_gpu_opts;

#define CLI_GPU_OPT(dst)                                                                                          \
    {"--gpu", NULL, CLI_OPT_STRING, &(dst).device, .meta = "DEVICE",                                             \
     .help = "what runs the model: cpu (the default), vulkan (the first discrete GPU, else integrated, else "    \
             "any) or vulkan:N (flint info --gpus lists them; a build with make VULKAN=1)"},                      \
    {"--gpu-layers", "-ngl", CLI_OPT_STRING, &(dst).layers, .meta = "N|all|auto",                               \
     .help = "with --gpu: the last N decoder layers on the GPU, the others on the CPU (0: none; the output "     \
             "head goes with them when all are there); auto (the default): all that fit the device's memory"},   \
    {"--gpu-memory", NULL, CLI_OPT_STRING, &(dst).memory, .meta = "SIZE",                                        \
     .help = "with --gpu: the device memory auto placement may fill (K, M, G suffixes; default: 90% of the "    \
             "device's)"}

/* --gpu-layers and --gpu-memory as flint_context_params.gpu_layers and
 * gpu_memory: "all" INT32_MAX, "auto" or unset 0, "0" FLINT_GPU_LAYERS_NONE,
 * N N; a size as --expert-cache takes. Returns 0, or 2 after printing
 * "flint CMD: ..." naming the bad value. */
int cli_gpu_parse(const char *cmd, const cli_gpu_opts *o, int32_t *layers, int64_t *memory);

/* One line per GPU device (index, name, kind, memory, subgroup size) on f,
 * or the line saying why there is none. Returns 0, or 1 when listing failed. */
int cli_gpus_print(FILE *f);
/* `, "device": "..."` for a JSON line: what ran (flint_context_device). */
void cli_device_json(FILE *f, const char *device);

#endif
