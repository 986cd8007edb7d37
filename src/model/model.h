/* model.h — a loaded language model: canonical hyperparameters, weight
 * views into the mapped file, and the forward pass of its family.
 *
 * Forward contract: n tokens (n <= the scratch's n_batch) at positions
 * cache->n_past .. n_past + n - 1 go through the model; their K/V rows are
 * appended to the cache; logits[rows][n_vocab] are written for the last
 * token (all_logits false, rows = 1) or for every token (rows = n). */
#ifndef FL_MODEL_MODEL_H
#define FL_MODEL_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "cache/kv.h"
#include "model/hparams.h"
#include "model/weights.h"

/* One Gemma decoder layer (Gemma 2/3 shape: four norms, QK-norm in Gemma 3).
 * Matrices are W[m,k] (rows of k): */
typedef struct fl_gemma_layer {
    fl_weight wq;    /* [n_head*head_dim, H] */
    fl_weight wk;    /* [n_head_kv*head_dim, H] */
    fl_weight wv;    /* [n_head_kv*head_dim, H] */
    fl_weight wo;    /* [H, n_head*head_dim] */
    fl_weight gate;  /* [n_ff, H] */
    fl_weight up;    /* [n_ff, H] */
    fl_weight down;  /* [H, n_ff] */
    const float *attn_norm, *post_attn_norm, *ffn_norm, *post_ffn_norm; /* [H], plain form (+1 applied) */
    const float *q_norm, *k_norm;                                       /* [head_dim] */
} fl_gemma_layer;

typedef struct fl_lm {
    fl_hparams hp;
    fl_weight_loader wl;
    fl_weight tok_embd;        /* [n_vocab, H]: embedding rows, also the tied output matrix */
    const float *output_norm;  /* [H] */
    fl_gemma_layer *layers;
    uint64_t weight_bytes;     /* bytes of every matrix and vector read per token */
} fl_lm;

/* Activations for one forward over up to n_batch tokens; allocated once. */
typedef struct fl_lm_scratch {
    int32_t n_batch;
    float *x, *xb, *q, *k, *v, *att, *o, *g, *u; /* [n_batch][...] */
    int32_t *pos;                                /* [n_batch] */
    float *block;                                /* the one allocation the above are carved from */
} fl_lm_scratch;

flint_status fl_lm_load(fl_lm *lm, const flint_model *file, const char *path);
void fl_lm_free(fl_lm *lm);

flint_status fl_lm_scratch_init(fl_lm_scratch *s, const fl_hparams *hp, int32_t n_batch);
void fl_lm_scratch_free(fl_lm_scratch *s);

flint_status fl_lm_forward(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, fl_kv_cache *cache,
                           const int32_t *tokens, int32_t n, float *logits, bool all_logits);

#endif
