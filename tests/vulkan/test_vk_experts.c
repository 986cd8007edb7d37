/* test_vk_experts.c — streamed experts on the Vulkan device: the MoE
 * fixtures (Qwen3.5 and Gemma 4; GGUF F32 and Q8_0, and Gemma 4's HF
 * folder) opened with an expert cache of one slot per layer, so nearly
 * every routed expert is read from disk into a slot the device reads in
 * place (the store's slots imported as host memory), against the
 * committed transformers references at the resident device tests' bound.
 * The slots are reused for other experts between steps: a device that kept
 * a stale copy of a slot (a weight uploaded once by its address) would
 * compute with the wrong expert and miss the reference by far. */
#define _POSIX_C_SOURCE 200809L /* popen in vk_models.h */
#include "vk_models.h"

#define STREAM_STEPS 3 /* single-token steps after each prompt */

typedef struct experts_case {
    const char *dir, *file, *logits; /* file NULL: the HF folder */
} experts_case;

static const experts_case cases[] = {
    {"qwen35/moe", "model-f32.gguf", "logits.bin"},
    {"qwen35/moe", "model-q8_0.gguf", "logits-q8_0.bin"},
    {"gemma4/b", "model-f32.gguf", "logits.bin"},
    {"gemma4/b", NULL, "logits.bin"},
};

/* Sequence q of f: its prompt in one step (every row's logits), then
 * STREAM_STEPS single tokens; logits into out [len][V]. */
static int run_seq_gpu(flint_context *ctx, const fixture *f, int32_t q, float *out) {
    const int64_t V = flint_context_n_vocab(ctx);
    const int32_t p = f->len[q] - STREAM_STEPS;
    flint_status st = flint_seq_reset(ctx, 0);
    flint_batch_seq prompt = {0, f->tok[q], p, 1};
    if (!st) st = flint_decode_batch(ctx, &prompt, 1, out);
    for (int32_t j = 0; j < STREAM_STEPS && !st; j++) {
        flint_batch_seq step = {0, f->tok[q] + p + j, 1, 0};
        st = flint_decode_batch(ctx, &step, 1, out + (p + j) * V);
    }
    CHECK_MSG(st == FLINT_OK, "sequence %d: %s", q, flint_errmsg());
    return st == FLINT_OK;
}

static void check_streamed(const experts_case *c) {
    char path[320];
    fixture f;
    if (!load_vk_case(c->dir, c->file, c->logits, path, sizeof path, &f)) return;
    flint_model_params mp = {.expert_cache = 1024}; /* below one expert: one slot per layer */
    flint_context_params cp = {.n_ctx = MAX_TOK, .n_batch = 32, .n_seq = 1, .kv_type = FLINT_KV_F32, .gpu = "vulkan"};
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    flint_status st = flint_model_open(path, &mp, &m);
    if (!st) st = flint_context_create(m, &cp, &ctx);
    CHECK_MSG(st == FLINT_OK, "%s streamed on the device: %s", path, flint_errmsg());
    if (!st) {
        const int64_t V = flint_context_n_vocab(ctx);
        float *out = malloc((size_t)f.n_logits * sizeof *out);
        double worst = 0;
        int ok = out && f.n_logits % V == 0;
        for (int32_t q = 0, at = 0; q < f.n_seq && ok; at += f.len[q++]) {
            ok = run_seq_gpu(ctx, &f, q, out + (int64_t)at * V);
            for (int32_t t = 0; ok && t < f.len[q]; t++)
                worst = fmax(worst, max_rel_diff(f.logits + (int64_t)(at + t) * V, out + (int64_t)(at + t) * V, V));
        }
        flint_expert_stats es;
        CHECK(flint_model_expert_stats(m, &es) == FLINT_OK);
        printf("  %-44s %-16s max|d|/max|ref| %.2e  %llu hits, %llu misses\n", path, c->logits, worst,
               (unsigned long long)es.hits, (unsigned long long)es.misses);
        CHECK_MSG(ok && worst < 1e-4, "%s streamed on the device: max|d|/max|ref| %.3g (bound 1e-4)", path, worst);
        CHECK_MSG(es.streamed && es.slots_per_layer == 1 && es.misses > es.hits,
                  "%s: streamed %d, %d slots per layer, %llu misses and %llu hits: not streamed through one slot",
                  path, es.streamed, es.slots_per_layer, (unsigned long long)es.misses, (unsigned long long)es.hits);
        free(out);
    }
    flint_context_free(ctx);
    flint_model_close(m);
    free(f.logits);
}

int main(void) {
    (void)check_case, (void)load_f32_fixture, (void)check_consistency, (void)check_batch, (void)runner_open,
        (void)open_ctx, (void)run_fixture, (void)compare, (void)run_cmd;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_streamed(&cases[i]);
    return test_finish("test_vk_experts");
}
