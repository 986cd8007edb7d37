/* model.c — loading a language model from an open file (family chosen by
 * the hyperparameters), its activation scratch, and forward dispatch with
 * the argument checks every family shares. */
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

#include "api/model_file.h"
#include "base/error.h"
#include "model/gemma3.h"

flint_status fl_lm_load(fl_lm *lm, const flint_model *file, const char *path) {
    memset(lm, 0, sizeof *lm);
    bool gguf = flint_model_file_kind(file) == FLINT_FILE_GGUF;
    flint_status st = fl_hparams_load(&lm->hp, fl_model_file_meta(file), gguf, path);
    if (st) return st;
    lm->wl.file = file;
    lm->wl.path = path;
    lm->layers = calloc((size_t)lm->hp.n_layer, sizeof *lm->layers);
    if (!lm->layers) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    switch (lm->hp.arch) {
    case FL_ARCH_GEMMA3: st = fl_gemma3_load(lm, gguf); break;
    default: st = fl_errorf(FLINT_E_UNSUPPORTED, "%s: no forward pass for this architecture", path); break;
    }
    if (st) fl_lm_free(lm);
    return st;
}

void fl_lm_free(fl_lm *lm) {
    fl_weight_loader_free(&lm->wl);
    free(lm->layers);
    memset(lm, 0, sizeof *lm);
}

flint_status fl_lm_scratch_init(fl_lm_scratch *s, const fl_hparams *hp, int32_t n_batch) {
    memset(s, 0, sizeof *s);
    if (n_batch <= 0) return fl_errorf(FLINT_E_INVALID_ARG, "batch of %d tokens", n_batch);
    int64_t H = hp->n_embd, qd = (int64_t)hp->n_head * hp->head_dim, kvd = (int64_t)hp->n_head_kv * hp->head_dim;
    int64_t widths[9] = {H, H, qd, kvd, kvd, qd, H, hp->n_ff, hp->n_ff}; /* x xb q k v att o g u */
    int64_t total = 0;
    for (int i = 0; i < 9; i++) total += widths[i] * n_batch;
    s->block = malloc((size_t)total * sizeof(float));
    s->pos = malloc((size_t)n_batch * sizeof *s->pos);
    if (!s->block || !s->pos) {
        fl_lm_scratch_free(s);
        return fl_errorf(FLINT_E_NOMEM, "out of memory for activations of %d tokens", n_batch);
    }
    float **slots[9] = {&s->x, &s->xb, &s->q, &s->k, &s->v, &s->att, &s->o, &s->g, &s->u};
    float *at = s->block;
    for (int i = 0; i < 9; i++) {
        *slots[i] = at;
        at += widths[i] * n_batch;
    }
    s->n_batch = n_batch;
    return FLINT_OK;
}

void fl_lm_scratch_free(fl_lm_scratch *s) {
    free(s->block);
    free(s->pos);
    memset(s, 0, sizeof *s);
}

flint_status fl_lm_forward(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, fl_kv_cache *cache,
                           const int32_t *tokens, int32_t n, float *logits, bool all_logits) {
    if (n <= 0 || n > s->n_batch)
        return fl_errorf(FLINT_E_INVALID_ARG, "forward of %d tokens (the batch holds 1..%d)", n, s->n_batch);
    if (cache->n_past + n > cache->n_ctx)
        return fl_errorf(FLINT_E_INVALID_ARG, "context full: %d + %d tokens exceed the context of %d", cache->n_past, n,
                         cache->n_ctx);
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= lm->hp.n_vocab)
            return fl_errorf(FLINT_E_INVALID_ARG, "token id %d is outside the vocabulary of %d", tokens[i], lm->hp.n_vocab);
    switch (lm->hp.arch) {
    case FL_ARCH_GEMMA3: return fl_gemma3_forward(lm, be, s, cache, tokens, n, logits, all_logits);
    default: return fl_errorf(FLINT_E_UNSUPPORTED, "no forward pass for this architecture");
    }
}
