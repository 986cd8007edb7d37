/* test_exact.c — exact mode (flint_context_params.exact, --exact): every
 * matmul multiplies f32 activations with the reference dequantization of
 * its weights, so a quantized GGUF computes what transformers computes in
 * float32 on the gguf package's dequantization of the same bytes:
 *   Q8_0, Q4_0   the random fixtures of every family that has them (Gemma
 *                1-4, Gemma 4 MoE, Qwen3.5 dense and MoE: their
 *                logits-q8_0.bin / logits-q4_0.bin, tools/gen_gemma_fixtures.py,
 *                gen_qwen35_fixtures.py);
 *   Q4_K, Q5_K, Q6_K  tests/fixtures/exact/gemma3 (tools/gen_exact_fixtures.py:
 *                random valid blocks in 256-wide rows);
 * each within 1e-4 max |d| / max |ref|, the bound of the F32 files. The
 * default mode (8-bit activations) on the same files is measured beside it
 * and must be further away (the numbers docs/PERF.md states). Exact mode
 * with deterministic mode keeps batch invariance (tolerance 0), and the
 * engine's chunked and batched runs agree. */
#include "model_fixture.h"

typedef struct exact_case {
    const char *dir;   /* under FIXTURE_DIR */
    const char *quant; /* model-<quant>.gguf against logits-<quant>.bin */
} exact_case;

static const exact_case cases[] = {
    {"gemma1/a", "q8_0"},     {"gemma1/a", "q4_0"},     {"gemma2/a", "q8_0"},     {"gemma2/a", "q4_0"},
    {"gemma3/a", "q8_0"},     {"gemma3/a", "q4_0"},     {"gemma4/a", "q8_0"},     {"gemma4/a", "q4_0"},
    {"gemma4/b", "q8_0"},     {"gemma4/b", "q4_0"},     {"qwen35/dense", "q8_0"}, {"qwen35/dense", "q4_0"},
    {"qwen35/moe", "q8_0"},   {"qwen35/moe", "q4_0"},   {"exact/gemma3", "q4_k"}, {"exact/gemma3", "q5_k"},
    {"exact/gemma3", "q6_k"},
};

int main(void) {
    (void)check_case, (void)load_f32_fixture; /* model_fixture.h's, for the family tests */
    TEST_GROUP("against transformers on the dequantized weights");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const exact_case *c = &cases[i];
        char dir[256], path[320], logits[64];
        snprintf(dir, sizeof dir, "%s/%s", FIXTURE_DIR, c->dir);
        snprintf(path, sizeof path, "%s/model-%s.gguf", dir, c->quant);
        snprintf(logits, sizeof logits, "logits-%s.bin", c->quant);
        fixture f;
        if (!load_fixture_logits(dir, logits, &f)) {
            CHECK_MSG(0, "%s/%s: fixture files", dir, logits);
            continue;
        }
        fixture_exact = true;
        const double exact = check_model_kv(path, &f, FLINT_KV_F32, 1e-4, 0, 0);
        fixture_exact = false;
        const double fast = check_model_kv(path, &f, FLINT_KV_F32, 0, 0, INFINITY);
        printf("  %-44s exact %.2e, default %.2e (x%.0f)\n", path, exact, fast, fast / exact);
        CHECK_MSG(fast > exact, "%s: the default mode (%.3g) is not further from the reference than exact (%.3g)",
                  path, fast, exact);
        free(f.logits);
    }

    TEST_GROUP("chunking, sequences, batches");
    fixture_exact = true;
    const char *consistency[3] = {"gemma3/a", "qwen35/moe", "exact/gemma3"};
    const char *quant[3] = {"q4_0", "q8_0", "q4_k"};
    for (int i = 0; i < 3; i++) {
        char dir[256], path[320], logits[64];
        snprintf(dir, sizeof dir, "%s/%s", FIXTURE_DIR, consistency[i]);
        snprintf(path, sizeof path, "%s/model-%s.gguf", dir, quant[i]);
        snprintf(logits, sizeof logits, "logits-%s.bin", quant[i]);
        fixture f;
        if (!load_fixture_logits(dir, logits, &f)) {
            CHECK_MSG(0, "%s/%s: fixture files", dir, logits);
            continue;
        }
        /* recurrent layers (Qwen3.5) cannot rewind */
        check_consistency(path, &f, i != 1, 1e-4);
        check_batch(path, &f, 1e-4);
        fixture_deterministic = true; /* with deterministic mode: the same bits */
        check_consistency(path, &f, i != 1, 0);
        check_batch(path, &f, 0);
        fixture_deterministic = false;
        free(f.logits);
    }
    return test_finish("exact");
}
