/* gpu.c — `flint info --gpus` (see gpu.h). */
#include "cli/gpu.h"

#include <jansson.h>
#include <stdlib.h>

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
