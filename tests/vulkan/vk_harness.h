/* vk_harness.h — what the Vulkan op tests share: a Vulkan backend and a
 * CPU backend side by side, buffers from the Vulkan backend's memory (as
 * model code gets them), random fills, and comparisons with a stated
 * tolerance. Each test runs an op on both and compares. */
#ifndef FL_VK_HARNESS_H
#define FL_VK_HARNESS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "harness.h"
#include "vulkan/vk_backend.h"

typedef struct vk_pair {
    fl_backend *gpu, *cpu;
} vk_pair;

/* Both backends; the CPU one in exact mode (f32 on dequantized weights,
 * what the shaders compute). Exits the test (status 1) if either fails. */
static inline vk_pair vk_pair_open(void) {
    vk_pair p = {0};
    if (fl_vk_backend_create(-1, &p.gpu)) {
        fprintf(stderr, "vulkan backend: %s\n", flint_errmsg());
        exit(1);
    }
    if (fl_cpu_backend_create(1, FL_ISA_AUTO, &p.cpu)) {
        fprintf(stderr, "cpu backend: %s\n", flint_errmsg());
        exit(1);
    }
    fl_cpu_backend_set_exact(p.cpu, true);
    return p;
}

static inline void vk_pair_close(vk_pair *p) {
    p->gpu->ops->free(p->gpu);
    p->cpu->ops->free(p->cpu);
}

/* n floats of the GPU backend's memory (zeroed). */
static inline float *vk_floats(vk_pair *p, int64_t n) {
    float *f = fl_backend_alloc(p->gpu, (size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!f) {
        fprintf(stderr, "vk_floats(%lld): %s\n", (long long)n, flint_errmsg());
        exit(1);
    }
    memset(f, 0, (size_t)(n > 0 ? n : 1) * sizeof(float));
    return f;
}
static inline void vk_release(vk_pair *p, void *f) { fl_backend_free(p->gpu, f); }

/* A small deterministic generator (xorshift64*), uniform in [lo, hi). */
static inline float vk_rand(uint64_t *s, float lo, float hi) {
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    uint64_t r = *s * 0x2545F4914F6CDD1Dull;
    return lo + (hi - lo) * (float)((r >> 40) * (1.0 / 16777216.0));
}
static inline void vk_fill(float *x, int64_t n, uint64_t seed, float lo, float hi) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < n; i++) x[i] = vk_rand(&s, lo, hi);
}

/* Largest |a - b| / (atol + rtol |b|) over n: <= 1 passes. */
static inline double vk_err(const float *a, const float *b, int64_t n, double atol, double rtol) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]), lim = atol + rtol * fabs((double)b[i]);
        double e = isfinite(a[i]) && isfinite(b[i]) ? d / lim : (a[i] == b[i] ? 0 : INFINITY);
        if (e > worst) worst = e;
    }
    return worst;
}

/* fmt and at least one argument describe the case. */
#define CHECK_CLOSE(gpu, cpu, n, atol, rtol, fmt, ...)                                              \
    do {                                                                                            \
        double vk_e = vk_err((gpu), (cpu), (n), (atol), (rtol));                                    \
        CHECK_MSG(vk_e <= 1.0, "error %.3g of the tolerance (atol %g, rtol %g): " fmt, vk_e,        \
                  (double)(atol), (double)(rtol), __VA_ARGS__);                                     \
    } while (0)

#endif
