/* hparams.h — the canonical hyperparameters every architecture's forward
 * pass reads, filled from GGUF metadata or a Hugging Face config.json. Each
 * family's loader states where each field comes from and its default. */
#ifndef FL_MODEL_HPARAMS_H
#define FL_MODEL_HPARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "flint.h"
#include "format/meta.h"

#define FL_MAX_LAYERS 512

typedef enum fl_arch {
    FL_ARCH_UNKNOWN = 0,
    FL_ARCH_GEMMA3,
} fl_arch;

typedef struct fl_hparams {
    fl_arch arch;
    int32_t n_vocab;          /* rows of the embedding matrix (may include padding) */
    int32_t n_embd;           /* hidden size H */
    int32_t n_layer;
    int32_t n_head, n_head_kv;
    int32_t head_dim;         /* per head, for q, k and v */
    int32_t n_ff;             /* MLP intermediate size */
    int32_t n_ctx_train;      /* max positions the model was trained for */
    float rms_eps;
    float attn_scale;         /* multiplies q.k (query_pre_attn_scalar^-1/2) */
    float attn_softcap;       /* 0: none */
    float final_softcap;      /* 0: none */
    int32_t sliding_window;   /* keys a sliding layer sees, the query's own included */
    float rope_base_global, rope_base_local;
    float rope_scale_global;  /* linear factor f (positions / f) on global layers; 1: none */
    bool layer_sliding[FL_MAX_LAYERS];
    bool norm_plus_one;       /* HF (1 + w) norms: the loader adds the 1 */
} fl_hparams;

/* Reads hparams from GGUF metadata (is_gguf) or a flattened config.json.
 * path names the model in messages. */
flint_status fl_hparams_load(fl_hparams *hp, const fl_meta *meta, bool is_gguf, const char *path);

#endif
