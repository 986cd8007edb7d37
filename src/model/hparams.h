/* hparams.h — the canonical hyperparameters every architecture's forward
 * pass reads, filled from GGUF metadata or a Hugging Face config.json. Each
 * family's loader (hparams_<family>.c) states where each field comes from
 * and its default. Per-layer shapes live in layer[]: Gemma 4 changes head
 * size, KV heads and MLP width by layer, Qwen3.5 mixes recurrent layers in. */
#ifndef FL_MODEL_HPARAMS_H
#define FL_MODEL_HPARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "flint.h"
#include "format/meta.h"

#define FL_MAX_LAYERS 512

typedef enum fl_arch {
    FL_ARCH_UNKNOWN = 0,
    FL_ARCH_GEMMA,  /* Gemma 1 */
    FL_ARCH_GEMMA2,
    FL_ARCH_GEMMA3,
    FL_ARCH_GEMMA4,
    FL_ARCH_QWEN35,     /* Qwen3.5 / 3.6 dense */
    FL_ARCH_QWEN35MOE,
} fl_arch;

/* RoPE of one layer kind (see fl_rope_params in backend.h). */
typedef struct fl_rope_cfg {
    int32_t n_rot;      /* rotated dims */
    int32_t exp_dims;   /* exponent denominator; 0: n_rot */
    int32_t n_pairs;    /* pairs that rotate (Gemma 4 proportional); 0: n_rot / 2 */
    float base;
    float scale;        /* linear factor f: positions / f; 1: none */
} fl_rope_cfg;

typedef struct fl_layer_hparams {
    bool recurrent;     /* Gated DeltaNet instead of attention (Qwen3.5) */
    bool sliding;       /* sliding-window attention */
    int32_t head_dim;   /* q, k and v head size */
    int32_t n_head_kv;
    int32_t n_ff;       /* dense MLP width */
    int32_t kv_source;  /* the layer whose K/V this layer attends to: itself unless shared */
    bool k_eq_v;        /* no V projection: V is the raw K projection (Gemma 4 full layers) */
} fl_layer_hparams;

typedef struct fl_hparams {
    fl_arch arch;
    int32_t n_vocab;          /* rows of the embedding matrix (may include padding) */
    int32_t n_embd;           /* hidden size H */
    int32_t n_layer;
    int32_t n_head;           /* query heads (every layer) */
    int32_t n_ctx_train;      /* max positions the model was trained for */
    float rms_eps;
    bool norm_plus_one;       /* HF (1 + w) norms: the loader adds the 1 */
    bool embd_scale;          /* token embeddings times sqrt(H) */
    bool post_norms;          /* norms on the attention and MLP outputs (Gemma 2+) */
    bool qk_norm;             /* RMSNorm of each q and k head before RoPE (Gemma 3+) */
    bool v_norm;              /* unscaled RMSNorm of each v head (Gemma 4) */
    float attn_scale;         /* multiplies q.k */
    float attn_softcap;       /* 0: none */
    float final_softcap;      /* 0: none */
    int32_t sliding_window;   /* keys a sliding layer sees, the query's own included */
    fl_rope_cfg rope_full, rope_sliding;
    int32_t n_embd_per_layer; /* Gemma 4 per-layer embeddings P (0: none) */
    int32_t n_expert, n_expert_used, n_ff_exp; /* MoE (n_expert 0: dense) */
    int32_t n_ff_shexp;       /* shared expert width (Qwen3.5 MoE) */
    bool attn_out_gate;       /* q projection carries a per-head sigmoid output gate (Qwen3.5) */
    /* Gated DeltaNet layers (Qwen3.5): key heads of d_k, value heads of d_v */
    int32_t ssm_conv_kernel, ssm_n_k_heads, ssm_n_v_heads, ssm_d_k, ssm_d_v;
    bool ssm_v_tiled;         /* value head j reads key head j % n_k (GGUF), else j / (n_v / n_k) (HF) */
    fl_layer_hparams layer[FL_MAX_LAYERS];
} fl_hparams;

/* Reads hparams from GGUF metadata (is_gguf) or a flattened config.json.
 * path names the model in messages. */
flint_status fl_hparams_load(fl_hparams *hp, const fl_meta *meta, bool is_gguf, const char *path);

static inline const fl_rope_cfg *fl_layer_rope(const fl_hparams *hp, int32_t l) {
    return hp->layer[l].sliding ? &hp->rope_sliding : &hp->rope_full;
}

#endif
