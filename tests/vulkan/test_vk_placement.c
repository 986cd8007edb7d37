/* test_vk_placement.c — -ngl-style layer placement
 * (flint_context_params.gpu_layers): the last N decoder layers on the
 * Vulkan device, the first on the CPU. For a fixture of every family
 * (Gemma 1-3, Gemma 4 with per-layer inputs and shared K/V, Gemma 4 MoE,
 * Qwen3.5 dense and MoE with recurrent layers) and N = none, 1, half, all
 * but one and all: two sequences' prompts and decode steps (vk_models.h)
 * give the transformers reference's logits at the device tests' bounds;
 * the context reports N layers, and the weights uploaded to the device grow
 * with N — none at all with no layer there (a CPU layer's weights never
 * reach the device). Auto placement under a gpu_memory cap places as many
 * trailing layers as fit, more with a larger cap, uploads no more than the
 * cap, and computes the same logits. The CLI: `flint run --gpu vulkan
 * --gpu-layers N` (and -ngl) writes the CPU's greedy tokens, and bad
 * values are refused naming them. */
#define _POSIX_C_SOURCE 200809L

#include "vk_models.h"

typedef struct placement_case {
    const char *dir, *file, *logits;
    double tol;
    int32_t exact;
} placement_case;

/* the bounds of test_vk_models.c's cases (F32 weights 1e-4; quantized
 * in exact mode against transformers on the dequantized weights 1e-4) */
static const placement_case cases[] = {
    {"gemma1/a", "model-f32.gguf", "logits.bin", 1e-4, 0},
    {"gemma2/a", "model-f32.gguf", "logits.bin", 1e-4, 0},
    {"gemma3/a", "model-f32.gguf", "logits.bin", 1e-4, 0},
    {"gemma3/a", "model-q4_0.gguf", "logits-q4_0.bin", 1e-4, 1},
    {"gemma4/a", "model-f32.gguf", "logits.bin", 1e-4, 0},
    {"gemma4/b", "model-f32.gguf", "logits.bin", 1e-4, 0},
    {"qwen35/dense", "model-f32.gguf", "logits.bin", 1e-4, 0},
    {"qwen35/moe", "model-f32.gguf", "logits.bin", 1e-4, 0},
};

/* Runs the fixture on a context of params *cp; returns its worst
 * max|d|/max|ref| (-1 when it failed), the layers placed and the bytes
 * uploaded in *layers and *uploaded. */
static double run_placed(const char *path, const fixture *f, int32_t exact, const flint_context_params *cp,
                         int32_t *layers, uint64_t *uploaded, char *device, size_t device_size) {
    flint_model *m;
    flint_context *ctx;
    double worst = -1;
    if (open_ctx_with(path, "vulkan", FLINT_KV_F32, exact, cp, &m, &ctx)) {
        CHECK_MSG(0, "%s, gpu_layers %d: %s", path, cp->gpu_layers, flint_errmsg());
    } else {
        const int64_t V = flint_context_n_vocab(ctx);
        float *out = malloc((size_t)f->n_logits * sizeof *out);
        double top1;
        if (f->n_logits % V == 0 && run_fixture(ctx, f, out)) worst = compare(f, out, f->logits, V, &top1);
        *layers = flint_context_gpu_layers(ctx);
        *uploaded = flint_context_gpu_weight_bytes(ctx);
        snprintf(device, device_size, "%s", flint_context_device(ctx));
        free(out);
    }
    flint_context_free(ctx);
    flint_model_close(m);
    return worst;
}

/* The model's decoder layers, as the loader reads them. */
static int32_t n_layer_of(const char *path) {
    flint_model *m = NULL;
    fl_lm lm = {0};
    int32_t n = 0;
    if (!flint_model_open(path, NULL, &m) && !fl_lm_load(&lm, m, path)) n = lm.hp.n_layer;
    fl_lm_free(&lm);
    flint_model_close(m);
    return n;
}

static void check_placed(const placement_case *c) {
    char path[320];
    fixture f;
    if (!load_vk_case(c->dir, c->file, c->logits, path, sizeof path, &f)) return;
    const int32_t L = n_layer_of(path);
    if (L < 4) {
        CHECK_MSG(0, "%s: %d layers, too few to split", path, L);
        free(f.logits);
        return;
    }
    /* none, 1, half, all but one, all (gpu_layers 0 is auto: all fit) */
    const int32_t asked[5] = {FLINT_GPU_LAYERS_NONE, 1, L / 2, L - 1, L};
    uint64_t prev = 0;
    for (int i = 0; i < 5; i++) {
        const int32_t want = asked[i] < 0 ? 0 : asked[i];
        int32_t got = -1;
        uint64_t up = 0;
        char device[320];
        const flint_context_params cp = {.gpu_layers = asked[i]};
        double worst = run_placed(path, &f, c->exact, &cp, &got, &up, device, sizeof device);
        printf("  %-40s %-16s %d/%d layers on the device: max|d|/max|ref| %.2e, %8.1f KiB uploaded  (%s)\n", path,
               c->logits, got, L, worst, (double)up / 1024, device);
        CHECK_MSG(worst >= 0 && worst < c->tol, "%s with %d/%d layers on the device: %.3g (bound %.g)", path, want,
                  L, worst, c->tol);
        CHECK_MSG(got == want, "%s: asked for %d layers, placed %d", path, want, got);
        char tail[32];
        snprintf(tail, sizeof tail, ", %d/%d layers", want, L);
        CHECK_MSG((want < L) == (strstr(device, tail) != NULL), "%s: device '%s'", path, device);
        /* no layer and no head on the device: nothing uploaded; more layers, more weights */
        if (i == 0) CHECK_MSG(up == 0, "%s: %llu bytes uploaded with no layer on the device", path,
                              (unsigned long long)up);
        else CHECK_MSG(up > prev, "%s: %llu bytes uploaded for %d layers, %llu for fewer", path,
                       (unsigned long long)up, want, (unsigned long long)prev);
        prev = up;
    }
    free(f.logits);
}

/* Auto placement under caps from 256 KiB up by 2x until every layer
 * fits: the count never falls as the cap grows, some cap places part of
 * the model, the weights uploaded stay within the cap, and the logits are
 * the reference's at every count. */
static void check_auto(const char *dir_name) {
    char path[320];
    fixture f;
    if (!load_vk_case(dir_name, "model-f32.gguf", "logits.bin", path, sizeof path, &f)) return;
    const int32_t L = n_layer_of(path);
    if (!L) {
        CHECK_MSG(0, "%s: no layers", path);
        free(f.logits);
        return;
    }
    int32_t last = 0, partial = 0;
    for (double cap = 256 * 1024; last < L && cap < 1e10; cap *= 2) {
        const flint_context_params cp = {.gpu_memory = (int64_t)cap};
        int32_t got = -1;
        uint64_t up = 0;
        char device[320];
        double worst = run_placed(path, &f, 0, &cp, &got, &up, device, sizeof device);
        printf("  %-40s gpu_memory %9.0f: %d/%d layers, %8.1f KiB uploaded, max|d|/max|ref| %.2e\n", path, cap, got,
               L, (double)up / 1024, worst);
        CHECK_MSG(got >= last && got <= L, "%s: %d layers under a cap of %.0f, %d under a smaller one", path, got, cap,
                  last);
        CHECK_MSG(up <= (uint64_t)cap, "%s: %llu bytes uploaded under a cap of %.0f", path, (unsigned long long)up, cap);
        CHECK_MSG(worst >= 0 && worst < 1e-4, "%s with %d layers placed by auto: %.3g", path, got, worst);
        partial += got > 0 && got < L;
        last = got;
    }
    CHECK_MSG(last == L && partial > 0, "%s: auto placed %d of %d layers at most, %d caps in between", path, last, L,
              partial);
    free(f.logits);
}

/* Bad values, and gpu_layers without a GPU. */
static void check_refusals(void) {
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    CHECK(flint_model_open("models/tiny-gemma3.gguf", NULL, &m) == FLINT_OK);
    flint_context_params cp = {.n_ctx = 64, .gpu = "vulkan", .gpu_layers = -2};
    CHECK_FAILS(flint_context_create(m, &cp, &ctx), FLINT_E_INVALID_ARG, "gpu_layers -2");
    cp.gpu_layers = 0, cp.gpu_memory = -1;
    CHECK_FAILS(flint_context_create(m, &cp, &ctx), FLINT_E_INVALID_ARG, "gpu_memory -1");
    cp = (flint_context_params){.n_ctx = 64, .gpu_layers = 3};
    CHECK_FAILS(flint_context_create(m, &cp, &ctx), FLINT_E_INVALID_ARG, "gpu is cpu");
    /* more layers than the model has: all of them */
    cp = (flint_context_params){.n_ctx = 64, .gpu = "vulkan", .gpu_layers = 1000};
    CHECK(flint_context_create(m, &cp, &ctx) == FLINT_OK && flint_context_gpu_layers(ctx) > 0 &&
          !strstr(flint_context_device(ctx), "layers"));
    flint_context_free(ctx);
    flint_model_close(m);
}

/* flint run with layers split: the CPU's greedy tokens (both exact). */
static void check_cli(void) {
    const char *run = FLINT_BIN " run -m models/tiny-gemma3.gguf -p 'The capital of France' --temp 0 -n 24 --exact "
                                "--ignore-eos --verbose --json";
    const int32_t L = n_layer_of("models/tiny-gemma3.gguf");
    char cmd[512], *cpu, *gpu, *err, want[64];
    int rc;
    snprintf(cmd, sizeof cmd, "%s --gpu cpu", run);
    rc = run_cmd(cmd, &cpu, &err);
    CHECK_INT_EQ(rc, 0);
    free(err);
    char *cpu_end = strstr(cpu, ",\"usage\"");
    const char *split[3] = {"--gpu-layers 1", "-ngl 1", "--gpu-layers 0"};
    const int32_t n_dev[3] = {1, 1, 0};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "%s --gpu vulkan %s", run, split[i]);
        rc = run_cmd(cmd, &gpu, &err);
        CHECK_INT_EQ(rc, 0);
        snprintf(want, sizeof want, ", %d/%d layers\n", n_dev[i], L);
        CHECK_MSG(strstr(err, "device: vulkan: ") && strstr(err, want), "%s: %s", split[i], err);
        char *gpu_end = strstr(gpu, ",\"usage\"");
        const int same =
            cpu_end && gpu_end && cpu_end - cpu == gpu_end - gpu && !memcmp(cpu, gpu, (size_t)(cpu_end - cpu));
        printf("  flint run --gpu vulkan %s: %.*s\n", split[i], gpu_end ? (int)(gpu_end - gpu) : 0, gpu);
        CHECK_MSG(same, "greedy runs differ:\n cpu: %s\n gpu (%s): %s", cpu, split[i], gpu);
        free(gpu), free(err);
    }
    free(cpu);
    /* bench: the layers placed, and no floor for a split model (two memories) */
    for (int all = 0; all < 2; all++) {
        snprintf(cmd, sizeof cmd, FLINT_BIN " bench -m models/tiny-gemma3.gguf -p 0 -n 4 -r 1 --json --gpu vulkan%s",
                 all ? "" : " -ngl 1");
        rc = run_cmd(cmd, &gpu, &err);
        snprintf(want, sizeof want, "\"gpu_layers\": %d", all ? L : 1);
        CHECK_MSG(rc == 0 && strstr(gpu, want) && !strstr(gpu, "floor_ratio") == !all, "bench %s: %s %s",
                  all ? "all layers" : "-ngl 1", gpu, err);
        free(gpu), free(err);
    }
    const char *bad[4][2] = {
        {"--gpu vulkan --gpu-layers -1", "--gpu-layers '-1': a count of layers"},
        {"--gpu vulkan -ngl 3x", "--gpu-layers '3x': a count of layers"},
        {"--gpu vulkan --gpu-memory 12Q", "--gpu-memory '12Q': a size"},
        {"--gpu-layers 3", "gpu is cpu"},
    };
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, FLINT_BIN " run -m models/tiny-gemma3.gguf -p Hi -n 2 %s", bad[i][0]);
        rc = run_cmd(cmd, &gpu, &err);
        CHECK_MSG(rc == (i < 3 ? 2 : 1) && strstr(err, bad[i][1]), "%s: %d %s", bad[i][0], rc, err);
        free(gpu), free(err);
    }
}

int main(void) {
    (void)check_case, (void)check_consistency, (void)check_batch, (void)runner_open, (void)load_f32_fixture, (void)open_ctx;
    TEST_GROUP("layers split between the CPU and the device: transformers logits");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_placed(&cases[i]);
    TEST_GROUP("auto placement under a memory cap");
    check_auto("qwen35/moe");
    TEST_GROUP("refusals");
    check_refusals();
    TEST_GROUP("cli");
    check_cli();
    return test_finish("test_vk_placement");
}
