/* test_vk_models.c — the model fixtures end to end on the Vulkan device
 * (flint_context_params.gpu = "vulkan"), against the committed
 * transformers references as test_gemma.c, test_qwen35.c and
 * test_exact.c check the CPU: every family (Gemma 1-4, Gemma 4 MoE,
 * Qwen3.5 dense and MoE), GGUF F32 and F16, an HF folder, and quantized
 * GGUFs (Q8_0, Q4_0, Q4_K, Q6_K: the device computes in f32 on the dequantized
 * weights, as exact mode does, so they are held to transformers on the
 * dequantized weights at the F32 bound). Each model runs two sequences
 * together in one flint_decode_batch: their prompts in steps of 32 tokens,
 * then single-token decode steps of both (the KV pool and the recurrent
 * states live in the device's memory). The device's logits are compared
 * with the CPU backend's on the same context params (F16 K/V, exact);
 * forks from a snapshot (a recurrent state saved from and restored into
 * the device's memory) and rewinds (a shared block copied) go on as the
 * reference does; the MoE blocks run without host round trips (syncs
 * counted against the dense models'); a context keeps its K/V blocks and
 * activations in device-only memory; the refusals are checked, and the CLI: `flint run --gpu vulkan` writes the
 * CPU's greedy text, `--gpu vulkan:99` names the device count, info --gpus
 * lists the device (or says there is none, with no driver to load). */
#define _POSIX_C_SOURCE 200809L
#include "base/file.h"
#include "base/pool.h"
#include "cpu/membw.h"
#include "vk_models.h"
#include "vulkan/vk_backend.h"

typedef struct vk_model_case {
    const char *dir;    /* under FIXTURE_DIR */
    const char *file;   /* in dir; NULL: the HF folder itself */
    const char *logits; /* the reference in dir */
    double tol;         /* max |d| / max |ref| per position */
} vk_model_case;

/* F32 weights (GGUF and HF): 1e-4, the CPU tests' bound; F16 weights 1e-2
 * as there; quantized: 1e-4 against transformers on the gguf package's
 * dequantization (test_exact.c's bound in exact mode). */
static const vk_model_case cases[] = {
    {"gemma1/a", "model-f32.gguf", "logits.bin", 1e-4},
    {"gemma2/a", "model-f32.gguf", "logits.bin", 1e-4},
    {"gemma2/b", NULL, "logits.bin", 1e-4},
    {"gemma3/a", "model-f32.gguf", "logits.bin", 1e-4},
    {"gemma3/a", NULL, "logits.bin", 1e-4},
    {"gemma3/a", "model-f16.gguf", "logits.bin", 1e-2},
    {"gemma3/a", "model-q8_0.gguf", "logits-q8_0.bin", 1e-4},
    {"gemma3/a", "model-q4_0.gguf", "logits-q4_0.bin", 1e-4},
    {"exact/gemma3", "model-q4_k.gguf", "logits-q4_k.bin", 1e-4},
    {"exact/gemma3", "model-q6_k.gguf", "logits-q6_k.bin", 1e-4},
    {"gemma4/a", "model-f32.gguf", "logits.bin", 1e-4},
    {"gemma4/b", "model-f32.gguf", "logits.bin", 1e-4},
    {"qwen35/dense", "model-f32.gguf", "logits.bin", 1e-4},
    {"qwen35/dense", NULL, "logits.bin", 1e-4},
    {"qwen35/moe", "model-f32.gguf", "logits.bin", 1e-4},
    {"qwen35/moe", "model-q8_0.gguf", "logits-q8_0.bin", 1e-4},
};

/* Run again with prompts in steps of 128 tokens: delta-rule runs of up to
 * 94 tokens (the chunked form over several chunks). */
static const vk_model_case long_prefill[] = {
    {"qwen35/dense", "model-f32.gguf", "logits.bin", 1e-4},
    {"qwen35/moe", "model-f32.gguf", "logits.bin", 1e-4},
};

static void check_vk_case(const vk_model_case *c, int32_t n_batch) {
    char path[320];
    fixture f;
    if (!load_vk_case(c->dir, c->file, c->logits, path, sizeof path, &f)) return;
    flint_model *m;
    flint_context *ctx;
    const flint_context_params steps = {.n_batch = n_batch};
    if (open_ctx_with(path, "vulkan", FLINT_KV_F32, 0, &steps, &m, &ctx)) {
        CHECK_MSG(0, "%s: %s", path, flint_errmsg());
    } else {
        const int64_t V = flint_context_n_vocab(ctx);
        float *out = malloc((size_t)f.n_logits * sizeof *out);
        if (f.n_logits % V == 0 && run_fixture(ctx, &f, out)) {
            double top1, worst = compare(&f, out, f.logits, V, &top1);
            printf("  %-44s %-16s batch %3d max|d|/max|ref| %.2e  top-1 %.4f\n", path, c->logits, n_batch ? n_batch : 32, worst, top1);
            CHECK_MSG(worst < c->tol, "%s on the device: max|d|/max|ref| %.3g (bound %.g)", path, worst, c->tol);
        }
        free(out);
    }
    flint_context_free(ctx);
    flint_model_close(m);
    free(f.logits);
}

/* The same context params on the device and on the CPU (K/V in F16, exact
 * matmuls): max|d|/max|ref| between the two within 1e-3 (both round K and
 * V to F16; a value either side of a rounding boundary moves by 2^-11). */
/* The device's read bandwidth (bench's floor on a GPU): positive on the
 * device, 0 on the CPU backend; on a CPU device (lavapipe reads host
 * memory) within a wide band around the host's own probe, which catches a
 * clock or unit that is off by orders of magnitude. */
static void check_bandwidth(void) {
    flint_model *m = NULL;
    flint_context *gpu = NULL, *cpu = NULL;
    fl_pool *pool = NULL;
    flint_gpu_info info;
    int32_t n_gpu = 0;
    if (flint_model_open("models/tiny-gemma3.gguf", NULL, &m) ||
        flint_context_create(m, &(flint_context_params){.n_ctx = 64, .gpu = "vulkan"}, &gpu) ||
        flint_context_create(m, &(flint_context_params){.n_ctx = 64}, &cpu) || fl_pool_create(0, &pool) ||
        flint_gpu_list(&info, 1, &n_gpu)) {
        CHECK_MSG(0, "bandwidth: %s", flint_errmsg());
    } else {
        const double dev = flint_context_read_bandwidth(gpu, 256u << 20, 3), host = fl_cpu_read_bandwidth(pool, 256u << 20, 3);
        CHECK_MSG(dev > 0 && flint_context_read_bandwidth(cpu, 256u << 20, 3) == 0, "device %.3g B/s", dev);
        if (!strcmp(info.kind, "cpu"))
            CHECK_MSG(dev > 0.02 * host && dev < 5 * host, "lavapipe reads %.2f GB/s, the host %.2f GB/s", dev / 1e9,
                      host / 1e9);
        printf("  read bandwidth: %s %.2f GB/s, host %.2f GB/s\n", info.name, dev / 1e9, host / 1e9);
    }
    fl_pool_free(pool);
    flint_context_free(gpu);
    flint_context_free(cpu);
    flint_model_close(m);
}

static void check_vs_cpu(const char *dir_name, const char *file) {
    char dir[256], path[320];
    snprintf(dir, sizeof dir, "%s/%s", FIXTURE_DIR, dir_name);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    fixture f;
    if (!load_fixture(dir, &f)) {
        CHECK_MSG(0, "%s: fixture files", dir);
        return;
    }
    float *out[2] = {malloc((size_t)f.n_logits * sizeof(float)), malloc((size_t)f.n_logits * sizeof(float))};
    const char *gpu[2] = {"vulkan", "cpu"};
    int ok = 1;
    int64_t V = 0;
    for (int i = 0; i < 2 && ok; i++) {
        flint_model *m;
        flint_context *ctx;
        ok = open_ctx(path, gpu[i], FLINT_KV_F16, 1, &m, &ctx) == FLINT_OK;
        CHECK_MSG(ok, "%s on %s: %s", path, gpu[i], flint_errmsg());
        if (ok) {
            V = flint_context_n_vocab(ctx);
            ok = run_fixture(ctx, &f, out[i]);
        }
        flint_context_free(ctx);
        flint_model_close(m);
    }
    if (ok) {
        double top1, d = compare(&f, out[0], out[1], V, &top1);
        printf("  %-44s device vs CPU (F16 K/V, exact): max|d|/max|ref| %.2e  top-1 %.4f\n", path, d, top1);
        CHECK_MSG(d < 1e-3, "%s: the device's logits differ from the CPU's by %.3g", path, d);
    }
    free(out[0]), free(out[1]);
    free(f.logits);
}

/* The fixture's longest sequence decoded to 60 positions on the device with a
 * snapshot at 40; sequence 1 forked from it at 40 (Qwen3.5: the recurrent
 * state restored from the snapshot; Gemma: blocks shared, the partly
 * filled one copied) and continued, and sequence 0 rewound to 40 where it
 * can be (attention-only models) and continued: both continuations give
 * the reference's logits of positions 40..59 within 1e-4. */
static void check_fork(const char *dir_name, int rewind) {
    char dir[256], path[320];
    snprintf(dir, sizeof dir, "%s/%s", FIXTURE_DIR, dir_name);
    snprintf(path, sizeof path, "%s/model-f32.gguf", dir);
    fixture f;
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    int ok = load_fixture(dir, &f);
    int32_t q = 0;
    int64_t at = 0; /* its first logits row in the reference */
    for (int32_t i = 1; ok && i < f.n_seq; i++)
        if (f.len[i] > f.len[q]) q = i;
    for (int32_t i = 0; ok && i < q; i++) at += f.len[i];
    if (!ok || f.len[q] < 60 || open_ctx(path, "vulkan", FLINT_KV_F32, 0, &m, &ctx)) {
        CHECK_MSG(0, "%s: no sequence of 60 tokens, or %s", path, flint_errmsg());
        flint_context_free(ctx);
        flint_model_close(m);
        free(f.logits);
        return;
    }
    const int64_t V = flint_context_n_vocab(ctx);
    const int32_t *tok = f.tok[q];
    const float *ref = f.logits + (at + 40) * V;
    float *out = malloc((size_t)(20 * V) * sizeof *out);
    int32_t reused = -1;
    CHECK(flint_decode(ctx, 0, tok, 40, out, 0) == FLINT_OK && flint_seq_snapshot(ctx, 0) == FLINT_OK);
    CHECK(flint_decode(ctx, 0, tok + 40, 20, out, 0) == FLINT_OK);
    CHECK(flint_seq_fork(ctx, 1, 0, 40, &reused) == FLINT_OK && reused == 40);
    CHECK(flint_decode(ctx, 1, tok + 40, 20, out, 1) == FLINT_OK);
    double d = max_rel_diff(ref, out, 20 * V);
    printf("  %-44s forked at 40 from a snapshot: max|d|/max|ref| %.2e\n", path, d);
    CHECK_MSG(d < 1e-4, "%s: continuing a fork: %.3g", path, d);
    if (rewind) {
        CHECK(flint_seq_truncate(ctx, 0, 40) == FLINT_OK);
        CHECK(flint_decode(ctx, 0, tok + 40, 20, out, 1) == FLINT_OK);
        d = max_rel_diff(ref, out, 20 * V);
        printf("  %-44s rewound to 40: max|d|/max|ref| %.2e\n", path, d);
        CHECK_MSG(d < 1e-4, "%s: continuing after a rewind: %.3g", path, d);
    }
    free(out);
    flint_context_free(ctx);
    flint_model_close(m);
    free(f.logits);
}

/* Host round trips of a step: the device syncs of a 40-token prompt (one
 * batch: more tokens than the 8 experts, the grouped expert products) and
 * of each of 4 decode steps. */
static int count_syncs(const char *dir_name, uint64_t *prompt, uint64_t *step) {
    char path[320];
    snprintf(path, sizeof path, "%s/%s/model-f32.gguf", FIXTURE_DIR, dir_name);
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    flint_context_params cp = {.n_ctx = MAX_TOK, .n_batch = 64, .n_threads = 2, .gpu = "vulkan"};
    int32_t tok[44];
    for (int32_t i = 0; i < 44; i++) tok[i] = 1 + (i * 7) % 50;
    float *out = NULL;
    int ok = flint_model_open(path, NULL, &m) == FLINT_OK && flint_context_create(m, &cp, &ctx) == FLINT_OK &&
             (out = malloc((size_t)flint_context_n_vocab(ctx) * sizeof *out));
    uint64_t s0 = fl_vk_backend_syncs();
    ok = ok && flint_decode(ctx, 0, tok, 40, out, 0) == FLINT_OK;
    *prompt = fl_vk_backend_syncs() - s0;
    s0 = fl_vk_backend_syncs();
    for (int32_t i = 40; i < 44 && ok; i++) ok = flint_decode(ctx, 0, tok + i, 1, out, 0) == FLINT_OK;
    *step = (fl_vk_backend_syncs() - s0) / 4;
    CHECK_MSG(ok, "%s: %s", path, flint_errmsg());
    free(out);
    flint_context_free(ctx);
    flint_model_close(m);
    return ok;
}

/* The MoE blocks run on the device (backend.h's MoE ops): a MoE model's
 * step syncs the device no more often than its dense sibling's (the host
 * path syncs at least twice per MoE layer). */
static void check_moe_syncs(const char *moe, const char *dense) {
    uint64_t mp, ms, dp, ds;
    if (!count_syncs(moe, &mp, &ms) || !count_syncs(dense, &dp, &ds)) return;
    printf("  syncs: %s prompt %llu, per token %llu; %s prompt %llu, per token %llu\n", moe, (unsigned long long)mp,
           (unsigned long long)ms, dense, (unsigned long long)dp, (unsigned long long)ds);
    CHECK_MSG(mp <= dp && ms <= ds && ms >= 1, "%s syncs %llu / %llu times, %s %llu / %llu", moe,
              (unsigned long long)mp, (unsigned long long)ms, dense, (unsigned long long)dp, (unsigned long long)ds);
}

/* Device-only memory (fl_backend_alloc_device) a context of n_ctx
 * positions holds, into *bytes, and its cache's bytes (blocks, their
 * positions, recurrent states) into *cache; every byte of it freed with
 * the context. */
static int device_only_of(const char *path, int32_t n_ctx, uint64_t *bytes, uint64_t *cache) {
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    flint_context_params cp = {.n_ctx = n_ctx, .n_batch = 32, .n_threads = 2, .gpu = "vulkan"};
    const uint64_t before = fl_vk_backend_device_only_bytes();
    int ok = flint_model_open(path, NULL, &m) == FLINT_OK && flint_context_create(m, &cp, &ctx) == FLINT_OK;
    CHECK_MSG(ok, "%s: %s", path, flint_errmsg());
    *bytes = fl_vk_backend_device_only_bytes() - before;
    *cache = flint_context_cache_bytes(ctx);
    flint_context_free(ctx);
    flint_model_close(m);
    CHECK_MSG(fl_vk_backend_device_only_bytes() == before, "%s: %llu bytes of device-only memory left after the free",
              path, (unsigned long long)(fl_vk_backend_device_only_bytes() - before));
    return ok;
}

/* A context's K/V blocks and activations lie where the host cannot map
 * them: 64 more positions add their K/V bytes (all but the positions) to
 * device-only memory, and beside the cache there are the activations. */
static void check_device_memory(const char *dir_name) {
    char path[320];
    snprintf(path, sizeof path, "%s/%s/model-f32.gguf", FIXTURE_DIR, dir_name);
    uint64_t b1, c1, b2, c2;
    if (!device_only_of(path, 64, &b1, &c1) || !device_only_of(path, 128, &b2, &c2)) return;
    printf("  %-44s device-only %llu and %llu bytes for caches of %llu and %llu (64, 128 positions)\n", path,
           (unsigned long long)b1, (unsigned long long)b2, (unsigned long long)c1, (unsigned long long)c2);
    CHECK_MSG(c2 > c1 && b2 - b1 >= (c2 - c1) / 10 * 9, "%s: the cache grew by %llu bytes, device-only memory by %llu",
              path, (unsigned long long)(c2 - c1), (unsigned long long)(b2 - b1));
    CHECK_MSG(b1 > c1, "%s: %llu bytes of device-only memory beside a cache of %llu: no activations", path,
              (unsigned long long)b1, (unsigned long long)c1);
}

/* What the device refuses for now, and a device that does not exist. */
static void check_refusals(void) {
    const char *path = FIXTURE("qwen35/moe/model-q8_0.gguf");
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    flint_context_params cp = {.n_ctx = 64, .gpu = "vulkan"};
    CHECK(flint_model_open(path, NULL, &m) == FLINT_OK);
    cp.gpu = "vulkan:99";
    CHECK_FAILS(flint_context_create(m, &cp, &ctx), FLINT_E_INVALID_ARG, "device 99 does not exist");
    cp.gpu = "vulkan:";
    CHECK_FAILS(flint_context_create(m, &cp, &ctx), FLINT_E_INVALID_ARG, "names no device");
    cp.gpu = "vulkan";
    CHECK(flint_context_create(m, &cp, &ctx) == FLINT_OK && !strncmp(flint_context_device(ctx), "vulkan: ", 8));
    flint_context_free(ctx);
    flint_model_close(m);
}

/* flint run on the bundled model: greedy tokens and text on the device
 * equal the CPU's, token for token (the device is exact; the CPU run is
 * asked to be too, so both compute in f32); --verbose names the device;
 * vulkan:99 is refused with the count; info --gpus lists the device; bench
 * names it. */
static void check_cli(void) {
    const char *run = FLINT_BIN " run -m models/tiny-gemma3.gguf -p 'The capital of France' --temp 0 -n 24 --exact "
                                "--ignore-eos --verbose --json";
    char cmd[512], *cpu, *gpu, *err;
    int rc; /* apart: CHECK_INT_EQ evaluates its arguments twice when it fails */
    snprintf(cmd, sizeof cmd, "%s --gpu cpu", run);
    rc = run_cmd(cmd, &cpu, &err);
    CHECK_INT_EQ(rc, 0);
    CHECK_MSG(strstr(err, "device: cpu\n") != NULL, "%s", err);
    free(err);
    snprintf(cmd, sizeof cmd, "%s --gpu vulkan", run);
    rc = run_cmd(cmd, &gpu, &err);
    CHECK_INT_EQ(rc, 0);
    CHECK_MSG(strstr(err, "device: vulkan: ") != NULL, "%s", err);
    free(err);
    /* {"text":...,"tokens":[...],"finish_reason"...: the same up to the usage */
    char *cpu_end = strstr(cpu, ",\"usage\""), *gpu_end = strstr(gpu, ",\"usage\"");
    const int same = cpu_end && gpu_end && cpu_end - cpu == gpu_end - gpu && !memcmp(cpu, gpu, (size_t)(cpu_end - cpu));
    printf("  flint run --gpu vulkan: %.*s\n", gpu_end ? (int)(gpu_end - gpu) : 0, gpu);
    CHECK_MSG(same && strstr(cpu, "\"completion_tokens\":24"), "greedy runs differ:\n cpu: %s\n gpu: %s", cpu, gpu);
    free(cpu), free(gpu);

    snprintf(cmd, sizeof cmd, FLINT_BIN " run -m models/tiny-gemma3.gguf -p Hi -n 2 --gpu vulkan:99");
    rc = run_cmd(cmd, &gpu, &err);
    CHECK_INT_EQ(rc, 1);
    int32_t n = 0;
    flint_gpu_list(NULL, 0, &n);
    char want[128];
    snprintf(want, sizeof want, "device 99 does not exist: this machine has %d", n);
    CHECK_MSG(strstr(err, want) != NULL, "%s", err);
    free(gpu), free(err);

    rc = run_cmd(FLINT_BIN " info --gpus", &gpu, &err);
    CHECK_INT_EQ(rc, 0);
    CHECK_MSG(!strncmp(gpu, "vulkan:0  ", 10) && strstr(gpu, "subgroup size "), "%s", gpu);
    free(gpu), free(err);
    /* a machine without a Vulkan driver (the loader pointed at none) */
    rc = run_cmd("VK_ICD_FILENAMES=/nonexistent.json " FLINT_BIN " info --gpus", &gpu, &err);
    CHECK_MSG(rc == 0 && !strcmp(gpu, "no Vulkan device found\n"), "%d: %s", rc, gpu);
    free(gpu), free(err);
    rc = run_cmd("VK_ICD_FILENAMES=/nonexistent.json " FLINT_BIN " run -m models/tiny-gemma3.gguf -p Hi --gpu vulkan",
                 &gpu, &err);
    CHECK_MSG(rc == 1 && strstr(err, "flint run: vulkan: no Vulkan driver could be loaded"), "%d: %s", rc, err);
    free(gpu), free(err);
    rc = run_cmd(FLINT_BIN " bench -m models/tiny-gemma3.gguf -p 8 -n 4 -r 1 --gpu vulkan --json", &gpu, &err);
    CHECK_INT_EQ(rc, 0);
    CHECK_MSG(strstr(gpu, "\"test\": \"tg4\"") && strstr(gpu, "\"device\": \"vulkan: "), "%s%s", gpu, err);
    /* decode's floor on the device: its memory's read bandwidth */
    CHECK_MSG(strstr(gpu, "\"read_bandwidth_gbs\": ") && strstr(gpu, "\"floor_ratio\": "), "%s", gpu);
    free(gpu), free(err);
}

int main(void) {
    (void)check_case, (void)load_f32_fixture, (void)check_consistency, (void)check_batch, (void)runner_open;
    TEST_GROUP("transformers logits on the device");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_vk_case(&cases[i], 0);
    for (size_t i = 0; i < sizeof long_prefill / sizeof long_prefill[0]; i++) check_vk_case(&long_prefill[i], 128);
    TEST_GROUP("read bandwidth");
    check_bandwidth();
    TEST_GROUP("device vs CPU");
    check_vs_cpu("gemma3/a", "model-q4_0.gguf");
    check_vs_cpu("qwen35/moe", "model-q8_0.gguf");
    TEST_GROUP("MoE on the device");
    check_moe_syncs("qwen35/moe", "qwen35/dense");
    check_moe_syncs("gemma4/b", "gemma4/a");
    TEST_GROUP("device-only memory");
    check_device_memory("gemma3/a");
    check_device_memory("qwen35/moe");
    TEST_GROUP("forks and rewinds");
    check_fork("qwen35/moe", 0);
    check_fork("gemma3/a", 1);
    TEST_GROUP("refusals");
    check_refusals();
    TEST_GROUP("cli");
    check_cli();
    return test_finish("test_vk_models");
}
