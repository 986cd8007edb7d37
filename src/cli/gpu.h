/* gpu.h — --gpu, which every command that runs a model takes (one
 * definition), and the device listing of `flint info --gpus`. */
#ifndef FL_CLI_GPU_H
#define FL_CLI_GPU_H

#include <stdio.h>

/* The --gpu option: flint_context_params.gpu as given (the library checks
 * it and names a bad value). */
#define CLI_GPU_OPT(dst)                                                                                          \
    {"--gpu", NULL, CLI_OPT_STRING, &(dst), .meta = "DEVICE",                                                    \
     .help = "what runs the model: cpu (the default), vulkan (the first discrete GPU, else integrated, else "    \
             "any) or vulkan:N (flint info --gpus lists them; a build with make VULKAN=1)"}

/* One line per GPU device (index, name, kind, memory, subgroup size) on f,
 * or the line saying why there is none. Returns 0, or 1 when listing failed. */
int cli_gpus_print(FILE *f);
/* `, "device": "..."` for a JSON line: what ran (flint_context_device). */
void cli_device_json(FILE *f, const char *device);

#endif
