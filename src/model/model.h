/* model.h — a loaded language model: canonical hyperparameters, weight
 * views into the mapped file, and the forward pass of its family.
 *
 * Forward contract: a batch of n tokens (n <= the scratch's n_batch) made
 * of spans, each a run of tokens that continues one sequence (its cache) at
 * positions cache->n_past .. n_past + span.n - 1. Every token-wise step
 * (projections, norms, MLP, experts) runs once over all n rows, so the
 * weights are read once for every sequence in the batch; attention and
 * the recurrent mixers run per span over that span's cache. Logits are
 * written back to back, span by span: every token's, the last token's, or
 * none (fl_span.out). fl_lm_forward_batch checks the arguments, fills
 * s->pos, calls the family's forward and then advances each cache's
 * n_past. */
#ifndef FL_MODEL_MODEL_H
#define FL_MODEL_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "backend/placement.h"
#include "cache/kv.h"
#include "experts/experts.h"
#include "model/hparams.h"
#include "model/weights.h"

/* One decoder layer. Matrices are W[m,k] (rows of k); a weight whose data
 * is NULL and a NULL vector are absent (the family's features say which). */
typedef struct fl_layer {
    const float *attn_norm;          /* [H] */
    fl_weight wq;                    /* [n_head*head_dim, H] */
    fl_weight wk, wv;                /* [n_head_kv*head_dim, H]; absent on KV-shared layers, wv when k_eq_v */
    fl_weight wo;                    /* [H, n_head*head_dim] */
    const float *q_norm, *k_norm;    /* [head_dim] */
    const float *post_attn_norm;     /* [H] */
    const float *rope_freqs;         /* [n_rot/2] frequency divisors (Gemma 4 full layers) */
    const float *ffn_norm, *post_ffn_norm;
    fl_weight gate, up, down;        /* dense MLP [n_ff, H], [n_ff, H], [H, n_ff] */
    /* MoE beside the dense MLP (Gemma 4) */
    fl_weight router;                /* [n_expert, H] */
    const float *router_scale;       /* [H] */
    const float *expert_scale;       /* [n_expert] */
    const float *post_mlp_norm, *pre_moe_norm, *post_moe_norm; /* [H] */
    fl_experts experts;
    /* per-layer embeddings (Gemma 4) */
    fl_weight ple_gate;              /* [P, H] */
    fl_weight ple_proj;              /* [H, P] */
    const float *ple_post_norm;      /* [H] */
    float out_scale;                 /* multiplies the residual stream after the layer (1: none) */
    /* Gated DeltaNet mixer (Qwen3.5 recurrent layers); Kd = n_k*d_k, Vd = n_v*d_v */
    fl_weight ssm_qkv;               /* [2 Kd + Vd, H]: q, k, v channels */
    fl_weight ssm_z;                 /* [Vd, H] output gate */
    fl_weight ssm_beta, ssm_alpha;   /* [n_v, H] */
    const float *ssm_conv;           /* [2 Kd + Vd][conv_kernel] */
    const float *ssm_dt_bias;        /* [n_v] */
    const float *ssm_a;              /* [n_v] -exp(A_log) */
    const float *ssm_norm;           /* [d_v] */
    fl_weight ssm_out;               /* [H, Vd] */
    /* shared expert beside the routed ones (Qwen3.5 MoE) */
    fl_weight shexp_gate, shexp_up, shexp_down;
    fl_weight shexp_inp;             /* [1, H]: sigmoid gate of the shared expert */
} fl_layer;

typedef struct fl_lm_scratch fl_lm_scratch;
typedef struct fl_batch fl_batch;

typedef struct fl_lm {
    fl_hparams hp;
    /* the family's forward pass (model/gemma.c, model/qwen35.c), set at load */
    flint_status (*forward)(const struct fl_lm *lm, const fl_placement *pl, fl_lm_scratch *s, const fl_batch *b,
                            float *logits);
    fl_weight_loader wl;
    fl_weight tok_embd;        /* [n_vocab, H] */
    fl_weight output;          /* [n_vocab, H]: tok_embd when tied */
    const float *output_norm;  /* [H] */
    fl_weight ple_embd;        /* [n_vocab_ple, n_layer*P] per-layer token embeddings (Gemma 4) */
    fl_weight ple_model_proj;  /* [n_layer*P, H] */
    const float *ple_proj_norm;/* [P] */
    fl_layer *layers;
    uint64_t weight_bytes;     /* bytes of every matrix and vector read per token (MoE: only the used experts) */
} fl_lm;

/* Activations for one forward over up to n_batch tokens; allocated once,
 * in the backend's memory: the float arrays where only its ops touch them
 * (fl_backend_alloc_device) unless the host or another backend reads them
 * too (fl_lm_host_reads_scratch); positions, the MoE index arrays and the
 * embedding rows where the host writes them (fl_backend_alloc). Widths
 * are the largest any layer needs. */
typedef struct fl_lm_scratch {
    fl_backend *be; /* whose memory block and pos are (NULL: the host's) */
    int32_t n_batch;
    float *x, *xb, *q, *k, *v, *att, *o, *g, *u; /* [n_batch][...] */
    float *ple;                  /* [n_batch][n_layer*P] */
    float *moe_logits;           /* [n_batch][n_expert], then as many rows for the next layer's router */
    float *moe_x, *moe_y;        /* [moe_rows_max][H] the rows of a MoE pass */
    float *moe_out;              /* [n_batch][H] */
    float *moe_yk;               /* [n_batch * n_expert_used + n_batch][H] each (token, choice)'s expert output, then
                                    each token's shared-expert output */
    float *moe_w;                /* [n_batch][n_expert_used] routing weights */
    int32_t *moe_e;              /* [n_batch][n_expert_used] chosen experts */
    int32_t *moe_rows;           /* [moe_rows_max] the (token, choice) of each row of a MoE pass */
    int32_t *moe_cnt, *moe_need; /* [n_expert] tokens routed to each expert; the experts routed to */
    int32_t *moe_hint;           /* [n_expert] the next layer's likely experts (read ahead) */
    int32_t moe_rows_max;        /* max(n_batch, n_expert_used + 1); g and u hold as many rows of the experts' width
                                    (n_batch * n_expert_used on a backend with the MoE ops) */
    float *ssm_x;                /* [n_batch][2 Kd + Vd] convolved q, k, v channels */
    float *ssm_ab;               /* [n_batch][2 n_v] alpha and beta projections */
    int32_t *pos;                /* [n_batch], then the MoE arrays above and embed (the host's allocation) */
    float *embed;                /* [n_batch][max(H, n_layer * P)] embedding rows looked up on the host */
    void **kv_dst;               /* [2 n_batch] (host) a layer's K then V row destinations in the KV pool */
    float *block;                /* the allocation the float arrays are carved from */
    uint64_t bytes;              /* of the backend's memory, block and pos (fl_lm_scratch_bytes) */
} fl_lm_scratch;

flint_status fl_lm_load(fl_lm *lm, const flint_model *file, const char *path);
void fl_lm_free(fl_lm *lm);

/* be: the backend whose ops use the scratch (NULL: host memory); it must
 * outlive the scratch. host: the host or another backend reads and writes
 * the float arrays too (else only be's ops touch them). */
flint_status fl_lm_scratch_init(fl_lm_scratch *s, fl_backend *be, const fl_hparams *hp, int32_t n_batch, bool host);
/* Bytes of be's memory the scratch for n_batch tokens takes. */
uint64_t fl_lm_scratch_bytes(const fl_backend *be, const fl_hparams *hp, int32_t n_batch);
/* Whether the host or another backend than the device touches the
 * activations under placement pl: a CPU backend runs some layers, or the
 * host routes streamed experts (model/blocks.c). */
bool fl_lm_host_reads_scratch(const fl_lm *lm, const fl_placement *pl);
void fl_lm_scratch_free(fl_lm_scratch *s);

typedef enum fl_span_out { FL_OUT_NONE, FL_OUT_LAST, FL_OUT_ALL } fl_span_out;

/* n tokens of the batch that continue one sequence. */
typedef struct fl_span {
    fl_kv_cache *cache;
    int32_t n;
    fl_span_out out; /* which of its tokens' logits are written */
} fl_span;

/* Rows of logits a span writes (its last ones). */
static inline int32_t fl_span_n_out(const fl_span *sp) {
    return sp->out == FL_OUT_ALL ? sp->n : sp->out == FL_OUT_LAST ? 1 : 0;
}

typedef struct fl_batch {
    const int32_t *tokens; /* [n]: the spans' tokens back to back */
    int32_t n;
    const fl_span *spans;  /* distinct caches */
    int32_t n_spans;
} fl_batch;

/* Rows of logits the batch writes. */
int32_t fl_batch_n_out(const fl_batch *b);
/* FLINT_E_INVALID_ARG naming the first id outside the vocabulary. */
flint_status fl_lm_check_tokens(const fl_lm *lm, const int32_t *tokens, int32_t n);

/* pl: which backend runs each layer (backend/placement.h); the scratch is
 * pl->device's. */
flint_status fl_lm_forward_batch(const fl_lm *lm, const fl_placement *pl, fl_lm_scratch *s, const fl_batch *b,
                                 float *logits);
/* One span on one backend: n tokens of the sequence in cache; logits of
 * every token (all_logits) or of the last. */
flint_status fl_lm_forward(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, fl_kv_cache *cache,
                           const int32_t *tokens, int32_t n, float *logits, bool all_logits);

/* Layer l's routed experts from the stacked tensors stacked[] = {gate_up,
 * gate, up, down} (full names), or HF per-expert tensors
 * "<prefix>layers.<l>.<per_expert><e>.{gate,up,down}_proj.weight"; counts
 * the experts a token uses in weight_bytes. */
flint_status fl_lm_load_experts(fl_lm *lm, int32_t l, bool gguf, const char *prefix, const char *const stacked[4],
                                const char *per_expert);
/* Bytes of layer l's matrices and vectors (every expert of a MoE layer):
 * what placing the layer on a device uploads. */
uint64_t fl_lm_layer_bytes(const fl_lm *lm, int32_t l);
/* Adds the bytes of w to lm->weight_bytes (absent weights add nothing). */
void fl_lm_count(fl_lm *lm, const fl_weight *w);

/* For the family loaders: the token embedding (which sets n_vocab), the
 * final norm and the output matrix (the embedding when the file has no
 * output of its own). HF names are tried under each of hf_prefixes
 * (NULL-terminated); *prefix gets the one the file uses ("" for GGUF). */
flint_status fl_lm_load_io(fl_lm *lm, bool gguf, const char *const *hf_prefixes, const char **prefix);
/* The name of tensor `name` of layer l: "blk.<l>.<name>" (GGUF) or
 * "<prefix>layers.<l>.<name>" (HF). */
const char *fl_layer_tensor_name(char *buf, size_t size, bool gguf, const char *prefix, int32_t l, const char *name);

#endif
