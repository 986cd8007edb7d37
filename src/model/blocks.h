/* blocks.h — the building blocks the families' forward passes share
 * (MODELS.md §0): token embedding, self-attention over the KV cache, the
 * gated MLP, the routed experts of a MoE layer, and the output head. Each
 * reads its weights from fl_lm / fl_layer and calls only backend ops. */
#ifndef FL_MODEL_BLOCKS_H
#define FL_MODEL_BLOCKS_H

#include "model/model.h"

/* x[i] = embd[tokens[i]] * scale: the rows looked up on the host into
 * s->embed, then scaled into x by an op. */
flint_status fl_block_embed(fl_backend *be, fl_lm_scratch *s, const fl_weight *embd, const int32_t *tokens, int32_t n,
                            float scale, float *x);

/* Self-attention of layer l for the batch's tokens at s->pos: h[n][H]
 * (already normed) -> out[n][H] (after the output projection). Projects q
 * (and k, v unless the layer reads another layer's K/V), applies the QK-
 * and V-norms the model has, RoPE, appends each span's K/V to its cache,
 * attends per span, and gates the heads' output by sigmoid(gate) when q
 * carries one (Qwen3.5). */
flint_status fl_block_attention(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, const fl_batch *b, int32_t l,
                                const float *h, float *out);

/* out[n][H] = down(act(gate h) * up h), through s->g and s->u. */
flint_status fl_block_mlp(fl_backend *be, fl_lm_scratch *s, const fl_weight *gate, const fl_weight *up,
                          const fl_weight *down, fl_act act, const float *h, float *out, int32_t n);

/* A shared expert (Qwen3.5) run beside the routed ones on every token, its
 * output scaled per token by scale[t]. */
typedef struct fl_moe_shared {
    const fl_weight *gate, *up, *down;
    const float *scale; /* [n] */
} fl_moe_shared;

/* Routed experts: logits[n][n_expert] (overwritten) -> softmax -> top k ->
 * weights renormalised to sum 1, times expert_scale[e] when given; then
 * out[t] = sum_j w_j * expert_{e_j}(x[t]) (+ scale[t] * shared(x[t]) when
 * shared is given), each expert run once over all the tokens routed to it,
 * and the experts' products grouped into as few matmul groups as the
 * scratch's rows allow (decode: gate/up of all, then the downs of all).
 * Streamed experts run as the store hands them out (those in the cache
 * first, the others as their reads land: waves when the batch routes to
 * more than the cache holds); each expert's output is kept per (token,
 * choice) and a token's are added in expert order, so the sums are the
 * same bits as resident. On a backend with the MoE ops (backend.h) and
 * resident experts, all of it runs as those ops, without a sync: the
 * shared expert as an MLP, then routing, the experts' products over every
 * (token, choice) row at once (s->g, s->u, s->moe_yk) and the sum in the
 * same order. */
/* The next MoE layer's experts and its router's logits [n][n_expert] on
 * this layer's input: once this layer's reads are queued, each token's
 * likeliest experts there are read ahead (streamed experts; how many:
 * fl_experts_ahead). */
#define FL_PREFETCH_K 16 /* read ahead for routers of up to this many experts per token */
typedef struct fl_moe_next {
    const fl_experts *ex;
    const float *logits;
} fl_moe_next;

/* Whether a step of n tokens reads ahead into the next layer's experts
 * (NULL: none): streamed, reads ahead on, and a decode-sized step. */
static inline bool fl_moe_reads_ahead(const fl_experts *next, int32_t n) {
    return next && n <= 8 && fl_experts_ahead(next) > 0;
}

flint_status fl_block_moe(fl_backend *be, fl_lm_scratch *s, const fl_experts *ex, int32_t k, const float *expert_scale,
                          fl_act act, const fl_moe_shared *shared, const fl_moe_next *next, float *logits,
                          const float *x, float *out, int32_t n);

/* logits = output . rmsnorm(x; output_norm) for the rows of s->x the
 * batch's spans ask for (fl_span.out), back to back, with the final
 * soft-cap when the model has one. Uses s->xb. */
flint_status fl_block_logits(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, const fl_batch *b, float *logits);

#endif
