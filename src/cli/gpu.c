/* gpu.c — the GPU options and `flint info --gpus` (see gpu.h). */
#include "cli/gpu.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"

#include "flint.h"

int cli_gpus_print(FILE *f) {
#ifndef FLINT_VULKAN
    fprintf(f, "no GPU backend in this build (make VULKAN=1)\n");
    return 0;
#else
    enum { MAX = 16 };
    flint_gpu_info g[MAX];
    int32_t n = 0;
    if (flint_gpu_list(g, MAX, &n)) {
        fprintf(f, "flint info: %s\n", flint_errmsg());
        return 1;
    }
    if (n == 0) fprintf(f, "no Vulkan device found\n");
    for (int32_t i = 0; i < n && i < MAX; i++)
        fprintf(f, "%s:%d  %s  (%s, %.2f GiB, subgroup size %d)\n", g[i].api, i, g[i].name, g[i].kind,
                (double)g[i].memory_bytes / (1024.0 * 1024.0 * 1024.0), g[i].subgroup_size);
    return 0;
#endif
}

void cli_device_json(FILE *f, const char *device) {
    json_t *s = json_string(device);
    char *text = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    if (text) fprintf(f, ", \"device\": %s", text);
    free(text);
    json_decref(s);
}

int cli_gpu_parse(const char *cmd, const cli_gpu_opts *o, int32_t *layers, int64_t *memory) {
    *layers = 0, *memory = 0;
    if (o->layers && !strcmp(o->layers, "all")) *layers = INT32_MAX;
    else if (o->layers && strcmp(o->layers, "auto")) {
        char *end;
        errno = 0;
        long v = strtol(o->layers, &end, 10);
        if (end == o->layers || *o->layers < '0' || *o->layers > '9' || *end || errno || v > INT32_MAX) {
            fprintf(stderr, "flint %s: --gpu-layers '%s': a count of layers (0: none), all or auto\n", cmd, o->layers);
            return 2;
        }
        *layers = v ? (int32_t)v : FLINT_GPU_LAYERS_NONE;
    }
    if (o->memory && (!cli_size_parse(o->memory, memory) || *memory == 0)) {
        fprintf(stderr, "flint %s: --gpu-memory '%s': a size such as 512M or 8G\n", cmd, o->memory);
        return 2;
    }
    return 0;
}
