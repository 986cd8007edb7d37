/* test_vk_deterministic.c — deterministic (batch-invariant) mode on the
 * Vulkan device: det_models.h's checks (a sequence alone against the same
 * tokens beside 1..7 others in one batch, cut into steps across an
 * attention split, computed in another sequence's batch and copied, or
 * rewound) memcmp-equal with the mode on and differing somewhere with it
 * off, on fixtures with sliding windows and soft-caps (Gemma 2), MoE and
 * per-layer inputs (Gemma 4), recurrent layers and MoE (Qwen3.5), and a
 * quantized file; and, with the mode on, the fixture's own tokens within
 * the transformers bound of the resident device tests. */
#include "det_models.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

typedef struct det_case {
    const char *dir, *file, *logits;
    bool rewind; /* recurrent layers cannot rewind */
} det_case;

static const det_case cases[] = {
    {"gemma2/a", "model-f32.gguf", "logits.bin", true},
    {"gemma4/b", "model-f32.gguf", "logits.bin", true},
    {"qwen35/moe", "model-f32.gguf", "logits.bin", false},
    {"gemma3/a", "model-q4_0.gguf", "logits-q4_0.bin", true},
};

/* The mode on, K/V in F32: the fixture's first sequence in one call
 * against transformers. */
static void check_bound(const char *path, const fixture *f) {
    flint_context_params cp = {.n_ctx = MAX_TOK, .kv_type = FLINT_KV_F32, .deterministic = 1, .gpu = det_gpu};
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    flint_status st = flint_model_open(path, NULL, &m);
    if (!st) st = flint_context_create(m, &cp, &ctx);
    const int64_t V = ctx ? flint_context_n_vocab(ctx) : 0;
    float *out = V ? malloc((size_t)(f->len[0] * V) * sizeof *out) : NULL;
    if (out) st = flint_decode(ctx, 0, f->tok[0], f->len[0], out, 1);
    CHECK_MSG(!st && out, "%s: %s", path, flint_errmsg());
    if (!st && out) {
        double worst = 0;
        for (int32_t t = 0; t < f->len[0]; t++)
            worst = fmax(worst, max_rel_diff(f->logits + (int64_t)t * V, out + (int64_t)t * V, V));
        printf("  %-44s deterministic, F32 K/V: max|d|/max|ref| %.2e\n", path, worst);
        CHECK_MSG(worst < 1e-4, "%s deterministic on the device: max|d|/max|ref| %.3g (bound 1e-4)", path, worst);
    }
    free(out);
    flint_context_free(ctx);
    flint_model_close(m);
}

int main(void) {
    (void)check_case, (void)load_f32_fixture, (void)check_consistency, (void)check_batch, (void)runner_open;
    det_gpu = "vulkan";
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char dir[200], path[320];
        snprintf(dir, sizeof dir, "%s/%s", FIXTURE_DIR, cases[i].dir);
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].file);
        fixture f;
        if (!load_fixture_logits(dir, cases[i].logits, &f)) {
            CHECK_MSG(0, "%s/%s: fixture files", dir, cases[i].logits);
            continue;
        }
        det_model d;
        if (!det_open(&d, path, false, 1)) continue;
        const int64_t V = d.V;
        det_close(&d);
        /* the long prompt: the fixture's tokens, then pseudo-random ones */
        int32_t tok[LONG_LEN];
        for (int32_t t = 0; t < LONG_LEN; t++) tok[t] = t < f.len[0] ? f.tok[0][t] : (int32_t)(rnd() % (uint32_t)V);
        check_model_det(path, tok, cases[i].rewind);
        check_bound(path, &f);
        free(f.logits);
    }
    return test_finish("test_vk_deterministic");
}
