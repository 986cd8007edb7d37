/* test_gemma.c — the Gemma forward passes (generations 1 to 4) against
 * transformers: logits of random-weight models written by
 * tools/gen_gemma_fixtures.py, from HF folders and from GGUF files of
 * every stored type, and of the same models trained briefly (the bounds
 * of quantized files on models with peaked predictions); chunked prefill
 * vs token-by-token decode; rewinding; two sequences sharing one context. */
#include "model_fixture.h"

static const model_case cases[] = {
    {"gemma1/a", "hf f32 bf16 q8_0 q4_0", &dense_bounds, &kv_dense},
    {"gemma2/a", "hf f32 q8_0 q4_0", &dense_bounds, &kv_dense},
    {"gemma2/b", "hf", NULL, NULL}, /* query_pre_attn_scalar != head_dim: no GGUF key holds it */
    {"gemma3/a", "hf f32 f16 bf16 q8_0 q4_0", &dense_bounds, &kv_dense},
    {"gemma3/b", "hf", NULL, NULL},
    {"gemma4/a", "hf f32 q8_0 q4_0", &dense_bounds, &kv_dense},
    {"gemma4/b", "hf f32 q8_0 q4_0", &moe_bounds, &kv_moe},
    {"gemma1/trained-a", "q8_0 q4_0", &trained_bounds, NULL},
    {"gemma2/trained-a", "q8_0 q4_0", &trained_bounds, NULL},
    {"gemma3/trained-a", "q8_0 q4_0", &trained_bounds, NULL},
    {"gemma4/trained-a", "q8_0 q4_0", &trained_bounds, NULL},
    {"gemma4/trained-b", "q8_0 q4_0", &trained_bounds, NULL},
};

int main(void) {
    TEST_GROUP("transformers logits");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);

    TEST_GROUP("chunking and sequences");
    const char *consistency[4] = {"gemma2/a", "gemma3/a", "gemma4/a", "gemma4/b"};
    for (int i = 0; i < 4; i++) {
        char path[320];
        fixture f;
        if (!load_f32_fixture(consistency[i], path, sizeof path, &f)) continue;
        check_consistency(path, &f, true, 1e-5);
        check_batch(path, &f, 1e-5);
        free(f.logits);
    }

    TEST_GROUP("bad input");
    runner r;
    if (runner_open(&r, FIXTURE("gemma3/a/model-f32.gguf"), 8)) {
        float *out = malloc((size_t)(8 * r.lm.hp.n_vocab) * sizeof(float));
        int32_t bad[2] = {5, 999999};
        CHECK_FAILS(fl_lm_forward(&r.lm, r.be, &r.s, &r.cache, bad, 2, out, true), FLINT_E_INVALID_ARG, "999999");
        int32_t many[9] = {0};
        CHECK_FAILS(fl_lm_forward(&r.lm, r.be, &r.s, &r.cache, many, 9, out, true), FLINT_E_INVALID_ARG, "9 tokens");
        free(out);
        runner_close(&r);
    }
    return test_finish("gemma");
}
