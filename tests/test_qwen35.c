/* test_qwen35.c — the Qwen3.5 hybrid forward pass (Gated DeltaNet + gated
 * attention; dense and MoE) against transformers: logits of random-weight
 * and briefly trained models written by tools/gen_qwen35_fixtures.py
 * (sequences longer than one 64-token chunk and not a multiple of it),
 * from the HF folders (value heads grouped) and GGUF files (value heads
 * tiled); chunked prefill vs token-by-token decode; sequences in one
 * context; copying a sequence's state; rewinding a recurrent state is
 * refused. */
#include "model_fixture.h"

static const model_case cases[] = {
    {"qwen35/dense", "hf f32 bf16 q8_0 q4_0", &hybrid_dense_bounds, &kv_dense},
    {"qwen35/moe", "hf f32 bf16 q8_0 q4_0", &hybrid_moe_bounds, &kv_moe},
    {"qwen35/trained-dense", "q8_0 q4_0", &trained_bounds, NULL},
    {"qwen35/trained-moe", "q8_0 q4_0", &trained_bounds, NULL},
};

/* Copying a sequence's cache (KV and recurrent state) mid-way and going on
 * from the copy gives the logits of the original; rewinding is refused. */
static void check_state_copy(const char *path, const fixture *f) {
    runner r;
    if (!runner_open(&r, path, 64)) return;
    int64_t V = r.lm.hp.n_vocab;
    int32_t n = f->len[0], half = n / 2;
    float *whole = malloc((size_t)(n * V) * sizeof(float)), *rest = malloc((size_t)(n * V) * sizeof(float));
    run_seq(&r, &r.cache, f->tok[0], n, 64, whole);
    fl_kv_cache copy;
    CHECK(fl_kv_cache_init(&copy, &r.pool, &r.lm.hp) == FLINT_OK);
    fl_kv_cache_reset(&r.cache);
    run_seq(&r, &r.cache, f->tok[0], half, 64, rest);
    CHECK(fl_kv_cache_copy(&copy, &r.cache) == FLINT_OK && copy.n_past == half);
    fl_kv_cache_reset(&r.cache); /* the copy must not depend on the original */
    CHECK(fl_lm_forward(&r.lm, r.be, &r.s, &copy, f->tok[0] + half, n - half, rest + half * V, true) == FLINT_OK);
    double d = max_rel_diff(whole + half * V, rest + half * V, (int64_t)(n - half) * V);
    CHECK_MSG(d <= 1e-4, "continuing from a copy: max|d|/max|ref| %.3g", d);
    CHECK_FAILS(fl_kv_cache_truncate(&copy, half), FLINT_E_INVALID_ARG, "recurrent");
    CHECK(fl_kv_cache_truncate(&copy, 0) == FLINT_OK && copy.n_past == 0);
    fl_kv_cache_free(&copy);
    free(whole);
    free(rest);
    runner_close(&r);
}

/* The public API: a prompt decoded once in sequence 0, copied to sequence
 * 1, both continued; each continuation equals a fresh run of its tokens. */
static void check_api_copy(const char *path, const fixture *f) {
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    flint_context_params cp = {.n_ctx = MAX_TOK, .n_batch = 32, .n_seq = 2, .n_threads = 2};
    if (flint_model_open(path, NULL, &m) || flint_context_create(m, &cp, &ctx)) {
        CHECK_MSG(0, "%s: %s", path, flint_errmsg());
        flint_model_close(m);
        return;
    }
    const int32_t V = flint_context_n_vocab(ctx), p = 40, *a = f->tok[0], *b = f->tok[1];
    float *out = malloc((size_t)V * 2 * sizeof(float)), *ref = out + V;
    volatile float tiny = 1e-38f;
    CHECK(flint_decode(ctx, 0, a, p, out, 0) == FLINT_OK);
    CHECK_MSG(tiny * 0.5f != 0.0f, "flint_decode left the caller's thread flushing denormals");
    CHECK(flint_seq_copy(ctx, 1, 0) == FLINT_OK && flint_context_n_past(ctx, 1) == p);
    CHECK(flint_decode(ctx, 1, b + p, 5, out, 0) == FLINT_OK); /* sequence 1 goes on with other tokens */
    int32_t mixed[MAX_TOK];
    memcpy(mixed, a, (size_t)p * sizeof *mixed);
    memcpy(mixed + p, b + p, 5 * sizeof *mixed);
    CHECK(flint_seq_reset(ctx, 0) == FLINT_OK && flint_decode(ctx, 0, mixed, p + 5, ref, 0) == FLINT_OK);
    CHECK_MSG(max_rel_diff(ref, out, V) <= 1e-4, "continuing a copied sequence: %.3g", max_rel_diff(ref, out, V));
    CHECK_FAILS(flint_seq_copy(ctx, 2, 0), FLINT_E_INVALID_ARG, "sequence 2");
    CHECK_FAILS(flint_seq_truncate(ctx, 0, 10), FLINT_E_INVALID_ARG, "recurrent");
    free(out);
    flint_context_free(ctx);
    flint_model_close(m);
}

int main(void) {
    TEST_GROUP("transformers logits");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);

    TEST_GROUP("chunking and sequences");
    const char *models[2] = {"qwen35/dense", "qwen35/moe"};
    for (int i = 0; i < 2; i++) {
        char path[320];
        fixture f;
        if (!load_f32_fixture(models[i], path, sizeof path, &f)) continue;
        check_consistency(path, &f, false, 1e-4);
        check_state_copy(path, &f);
        check_api_copy(path, &f);
        check_batch(path, &f, 1e-4);
        free(f.logits);
    }
    return test_finish("qwen35");
}
