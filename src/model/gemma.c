/* gemma.c — the Gemma family, generations 1 to 4 (MODELS.md §1-4): weight
 * names and one forward pass whose optional parts the hyperparameters and
 * the weights present switch on. Per layer, top to bottom:
 *   h = rmsnorm(x)                       ; a = attention(h)   (blocks.c)
 *   x = x + [rmsnorm](Wo a)              post-attention norm: Gemma 2+
 *   m = mlp(rmsnorm(x))                  GELU-tanh in every generation
 *   Gemma 4 MoE layers: m = rmsnorm(m) + rmsnorm(experts(rmsnorm(x)))
 *       routed on rmsnorm(x) * router_scale / sqrt(H)
 *   x = x + [rmsnorm](m)                 post-MLP norm: Gemma 2+
 *   Gemma 4 per-layer embeddings: x = x + rmsnorm(Wproj(gelu(Wgate x) * ple_l))
 *   Gemma 4: x = x * layer_scalar
 * then logits = output . rmsnorm(x), optionally soft-capped. Embeddings are
 * scaled by sqrt(H) in f32 (as llama.cpp does; HF rounds the factor to the
 * weight dtype, which only matters for 16-bit HF checkpoints). */
#include "model/gemma.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "model/blocks.h"

enum {
    T_ATTN_NORM, T_Q, T_K, T_V, T_O, T_Q_NORM, T_K_NORM, T_POST_ATTN_NORM, T_FFN_NORM, T_GATE, T_UP, T_DOWN,
    T_POST_FFN_NORM, T_OUT_SCALE, T_ROUTER, T_ROUTER_SCALE, T_EXPERT_SCALE, T_EXP_GATE_UP, T_EXP_GATE, T_EXP_UP,
    T_EXP_DOWN, T_PRE_MOE_NORM, T_POST_MLP_NORM, T_POST_MOE_NORM, T_PLE_GATE, T_PLE_PROJ, T_PLE_NORM, T_SW_GATE,
    T_SW_UP, T_SW_DOWN, T_COUNT
};

static const char *gguf_names[T_COUNT] = {
    "attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight",
    "attn_q_norm.weight", "attn_k_norm.weight", "post_attention_norm.weight", "ffn_norm.weight", "ffn_gate.weight",
    "ffn_up.weight", "ffn_down.weight", "post_ffw_norm.weight", "layer_output_scale.weight", "ffn_gate_inp.weight",
    "ffn_gate_inp.scale", "ffn_down_exps.scale", "ffn_gate_up_exps.weight", "ffn_gate_exps.weight",
    "ffn_up_exps.weight", "ffn_down_exps.weight", "pre_ffw_norm_2.weight", "post_ffw_norm_1.weight",
    "post_ffw_norm_2.weight", "inp_gate.weight", "proj.weight", "post_norm.weight", "ffn_gate_exps.weight",
    "ffn_up_exps.weight", "ffn_down_exps.weight",
};

/* Gemma 1 calls its pre-MLP norm post_attention_layernorm: see hf_name(). */
static const char *hf_names[T_COUNT] = {
    "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
    "self_attn.o_proj.weight", "self_attn.q_norm.weight", "self_attn.k_norm.weight",
    "post_attention_layernorm.weight", "pre_feedforward_layernorm.weight", "mlp.gate_proj.weight",
    "mlp.up_proj.weight", "mlp.down_proj.weight", "post_feedforward_layernorm.weight", "layer_scalar",
    "router.proj.weight", "router.scale", "router.per_expert_scale", "experts.gate_up_proj", "experts.gate_proj",
    "experts.up_proj", "experts.down_proj", "pre_feedforward_layernorm_2.weight",
    "post_feedforward_layernorm_1.weight", "post_feedforward_layernorm_2.weight", "per_layer_input_gate.weight",
    "per_layer_projection.weight", "post_per_layer_input_norm.weight",
    /* MLX (mlx-lm): HF's fused gate_up split in half, stacked as [E, out, in] */
    "experts.switch_glu.gate_proj.weight", "experts.switch_glu.up_proj.weight", "experts.switch_glu.down_proj.weight",
};

typedef struct namer {
    bool gguf;
    fl_arch arch;
    const char *prefix; /* HF */
    char buf[T_COUNT][192];
} namer;

static const char *name_of(namer *nm, int t, int32_t l) {
    const char *base = nm->gguf ? gguf_names[t] : hf_names[t];
    if (!nm->gguf && nm->arch == FL_ARCH_GEMMA && t == T_FFN_NORM) base = "post_attention_layernorm.weight";
    return fl_layer_tensor_name(nm->buf[t], sizeof nm->buf[t], nm->gguf, nm->prefix, l, base);
}

static flint_status load_moe(fl_lm *lm, namer *nm, int32_t l) {
    const fl_hparams *hp = &lm->hp;
    fl_layer *L = &lm->layers[l];
    fl_weight_loader *wl = &lm->wl;
    const int64_t H = hp->n_embd, E = hp->n_expert;
    const bool p1 = hp->norm_plus_one;
    const bool sw = !nm->gguf && fl_has_tensor(wl, name_of(nm, T_SW_GATE, l));
    flint_status st;
    if ((st = fl_load_matrix(wl, name_of(nm, T_ROUTER, l), H, E, &L->router)) ||
        (st = fl_load_vector(wl, name_of(nm, T_ROUTER_SCALE, l), H, false, &L->router_scale)) ||
        (st = fl_load_vector(wl, name_of(nm, T_EXPERT_SCALE, l), E, false, &L->expert_scale)) ||
        (st = fl_load_vector(wl, name_of(nm, T_PRE_MOE_NORM, l), H, p1, &L->pre_moe_norm)) ||
        (st = fl_load_vector(wl, name_of(nm, T_POST_MLP_NORM, l), H, p1, &L->post_mlp_norm)) ||
        (st = fl_load_vector(wl, name_of(nm, T_POST_MOE_NORM, l), H, p1, &L->post_moe_norm)) ||
        (st = fl_lm_load_experts(lm, l, nm->gguf, nm->prefix,
                                  (const char *const[4]){name_of(nm, T_EXP_GATE_UP, l),
                                                         name_of(nm, sw ? T_SW_GATE : T_EXP_GATE, l),
                                                         name_of(nm, sw ? T_SW_UP : T_EXP_UP, l),
                                                         name_of(nm, sw ? T_SW_DOWN : T_EXP_DOWN, l)},
                                  "experts.")))
        return st;
    fl_lm_count(lm, &L->router);
    return FLINT_OK;
}

static flint_status load_layer(fl_lm *lm, namer *nm, int32_t l, const float *rope_freqs) {
    fl_hparams *hp = &lm->hp;
    fl_layer *L = &lm->layers[l];
    fl_layer_hparams *LH = &hp->layer[l];
    fl_weight_loader *wl = &lm->wl;
    const int64_t H = hp->n_embd, hd = LH->head_dim, qd = (int64_t)hp->n_head * hd, kvd = (int64_t)LH->n_head_kv * hd;
    const bool p1 = hp->norm_plus_one;
    flint_status st;
    if ((st = fl_load_vector(wl, name_of(nm, T_ATTN_NORM, l), H, p1, &L->attn_norm)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_Q, l), H, qd, &L->wq)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_O, l), qd, H, &L->wo)) ||
        (st = fl_load_vector(wl, name_of(nm, T_FFN_NORM, l), H, p1, &L->ffn_norm)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_GATE, l), H, LH->n_ff, &L->gate)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_UP, l), H, LH->n_ff, &L->up)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_DOWN, l), LH->n_ff, H, &L->down)))
        return st;
    if (LH->kv_source == l) {
        /* a GGUF says k_eq_v only by leaving attn_v out */
        if (nm->gguf && hp->arch == FL_ARCH_GEMMA4 && !fl_has_tensor(wl, name_of(nm, T_V, l))) LH->k_eq_v = true;
        if ((st = fl_load_matrix(wl, name_of(nm, T_K, l), H, kvd, &L->wk)) ||
            (!LH->k_eq_v && (st = fl_load_matrix(wl, name_of(nm, T_V, l), H, kvd, &L->wv))) ||
            (hp->qk_norm && (st = fl_load_vector(wl, name_of(nm, T_K_NORM, l), hd, p1, &L->k_norm))))
            return st;
        if (LH->k_eq_v && !nm->gguf && fl_has_tensor(wl, name_of(nm, T_V, l)))
            return fl_errorf(FLINT_E_FORMAT, "%s: layer %d has a V projection but the config says attention_k_eq_v",
                             wl->path, l);
    }
    if (hp->qk_norm && (st = fl_load_vector(wl, name_of(nm, T_Q_NORM, l), hd, p1, &L->q_norm))) return st;
    if (hp->post_norms && ((st = fl_load_vector(wl, name_of(nm, T_POST_ATTN_NORM, l), H, p1, &L->post_attn_norm)) ||
                           (st = fl_load_vector(wl, name_of(nm, T_POST_FFN_NORM, l), H, p1, &L->post_ffn_norm))))
        return st;
    L->out_scale = 1.0f;
    if (hp->arch == FL_ARCH_GEMMA4) {
        const float *scale;
        if (fl_has_tensor(wl, name_of(nm, T_OUT_SCALE, l))) {
            if ((st = fl_load_vector(wl, name_of(nm, T_OUT_SCALE, l), 1, false, &scale))) return st;
            L->out_scale = scale[0];
        }
        if (!LH->sliding) L->rope_freqs = rope_freqs;
        if (hp->n_expert && (st = load_moe(lm, nm, l))) return st;
        if (hp->n_embd_per_layer) {
            const int64_t P = hp->n_embd_per_layer;
            if ((st = fl_load_matrix(wl, name_of(nm, T_PLE_GATE, l), H, P, &L->ple_gate)) ||
                (st = fl_load_matrix(wl, name_of(nm, T_PLE_PROJ, l), P, H, &L->ple_proj)) ||
                (st = fl_load_vector(wl, name_of(nm, T_PLE_NORM, l), H, false, &L->ple_post_norm)))
                return st;
        }
    }
    const fl_weight *m[9] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down, &L->ple_gate, &L->ple_proj};
    for (int i = 0; i < 9; i++) fl_lm_count(lm, m[i]);
    return FLINT_OK;
}

/* Gemma 4 full layers rotate only some pairs (proportional RoPE): GGUF
 * stores the divisors as rope_freqs (1, then 1e30 for the still pairs);
 * for HF they are made here from the config in the same form. */
static flint_status load_rope_freqs(fl_lm *lm, bool gguf, const float **out) {
    const fl_rope_cfg *c = &lm->hp.rope_full;
    *out = NULL;
    if (lm->hp.arch != FL_ARCH_GEMMA4) return FLINT_OK;
    if (gguf) {
        if (!fl_has_tensor(&lm->wl, "rope_freqs.weight")) return FLINT_OK;
        return fl_load_vector(&lm->wl, "rope_freqs.weight", c->n_rot / 2, false, out);
    }
    if (!c->n_pairs) return FLINT_OK;
    float *f;
    flint_status st = fl_weight_loader_alloc(&lm->wl, c->n_rot / 2, &f);
    if (st) return st;
    for (int32_t i = 0; i < c->n_rot / 2; i++) f[i] = i < c->n_pairs ? 1.0f : 1e30f;
    *out = f;
    return FLINT_OK;
}

static flint_status load_ple(fl_lm *lm, bool gguf, const char *prefix) {
    const fl_hparams *hp = &lm->hp;
    const int64_t LP = (int64_t)hp->n_layer * hp->n_embd_per_layer;
    char embd[160], proj[160], norm[160];
    snprintf(embd, sizeof embd, "%s%s", prefix, gguf ? "per_layer_token_embd.weight" : "embed_tokens_per_layer.weight");
    snprintf(proj, sizeof proj, "%s%s", prefix, gguf ? "per_layer_model_proj.weight" : "per_layer_model_projection.weight");
    snprintf(norm, sizeof norm, "%s%s", prefix, gguf ? "per_layer_proj_norm.weight" : "per_layer_projection_norm.weight");
    flint_status st;
    if ((st = fl_load_matrix(&lm->wl, embd, LP, hp->n_vocab, &lm->ple_embd)) ||
        (st = fl_load_matrix(&lm->wl, proj, hp->n_embd, LP, &lm->ple_model_proj)) ||
        (st = fl_load_vector(&lm->wl, norm, hp->n_embd_per_layer, false, &lm->ple_proj_norm)))
        return st;
    fl_lm_count(lm, &lm->ple_model_proj);
    lm->weight_bytes += lm->ple_embd.row_bytes;
    return FLINT_OK;
}

flint_status fl_gemma_load(fl_lm *lm, bool gguf) {
    static const char *hf_prefixes[] = {"model.", "language_model.model.", "model.language_model.", NULL};
    namer nm = {.gguf = gguf, .arch = lm->hp.arch};
    flint_status st = fl_lm_load_io(lm, gguf, hf_prefixes, &nm.prefix);
    if (st) return st;
    if (lm->hp.n_embd_per_layer && (st = load_ple(lm, gguf, nm.prefix))) return st;
    const float *rope_freqs;
    if ((st = load_rope_freqs(lm, gguf, &rope_freqs))) return st;
    for (int32_t l = 0; l < lm->hp.n_layer; l++)
        if ((st = load_layer(lm, &nm, l, rope_freqs))) return st;
    return FLINT_OK;
}

/* s->ple[t][l][P] = (rmsnorm(Wple x_t / sqrt(H)) + E_ple[tok] sqrt(P)) / sqrt(2)
 * from the scaled token embeddings x. */
static flint_status per_layer_inputs(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, const int32_t *tokens,
                                     int32_t n) {
    const fl_hparams *hp = &lm->hp;
    const fl_backend_ops *op = be->ops;
    const int64_t P = hp->n_embd_per_layer, LP = (int64_t)hp->n_layer * P;
    float *proj = s->ple + (int64_t)s->n_batch * LP; /* the second half of the PLE scratch */
    flint_status st;
    if ((st = fl_block_embed(be, s, &lm->ple_embd, tokens, n, sqrtf((float)P), s->ple)) ||
        (st = op->matmul(be, &lm->ple_model_proj, s->x, proj, n)))
        return st;
    op->scale(be, proj, proj, 1.0f / sqrtf((float)hp->n_embd), n * LP);
    op->rmsnorm(be, proj, proj, lm->ple_proj_norm, n * (int64_t)hp->n_layer, P, hp->rms_eps);
    op->add(be, s->ple, s->ple, proj, n * LP);
    op->scale(be, s->ple, s->ple, 1.0f / sqrtf(2.0f), n * LP);
    return FLINT_OK;
}

/* x += rmsnorm(Wproj (gelu(Wgate x) * ple_l)). */
static flint_status per_layer_residual(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, int32_t l, int32_t n) {
    const fl_hparams *hp = &lm->hp;
    const fl_backend_ops *op = be->ops;
    const fl_layer *L = &lm->layers[l];
    const int64_t H = hp->n_embd, P = hp->n_embd_per_layer, LP = (int64_t)hp->n_layer * P;
    flint_status st;
    if ((st = op->matmul(be, &L->ple_gate, s->x, s->g, n))) return st;
    op->copy_rows(be, s->u, P, s->ple + l * P, LP, n, P);
    op->gated(be, FL_ACT_GELU_TANH, s->g, s->g, s->u, n * P);
    if ((st = op->matmul(be, &L->ple_proj, s->g, s->o, n))) return st;
    op->rmsnorm(be, s->o, s->o, L->ple_post_norm, n, H, hp->rms_eps);
    op->add(be, s->x, s->x, s->o, n * H);
    return FLINT_OK;
}

/* The routed experts of a Gemma 4 MoE layer: adds rmsnorm(experts(...)) to
 * the (post_mlp_norm'ed) dense output in s->o. Streamed decode: the next
 * MoE layer's router on this layer's residual too (its input in s->moe_out
 * until the experts write there, its logits in the second half of
 * s->moe_logits), to read its likely experts ahead. */
static flint_status moe(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, int32_t l, int32_t n) {
    const fl_hparams *hp = &lm->hp;
    const fl_backend_ops *op = be->ops;
    const fl_layer *L = &lm->layers[l];
    const fl_layer *next = l + 1 < hp->n_layer && lm->layers[l + 1].router.data ? &lm->layers[l + 1] : NULL;
    const bool ahead = fl_moe_reads_ahead(next ? &next->experts : NULL, n);
    const int64_t H = hp->n_embd;
    float *next_logits = s->moe_logits + (int64_t)n * hp->n_expert;
    flint_status st;
    op->rmsnorm(be, s->o, s->o, L->post_mlp_norm, n, H, hp->rms_eps);
    fl_matmul_job routers[2] = {{&L->router, s->moe_x, s->moe_logits, n}};
    op->rmsnorm(be, s->moe_x, s->x, L->router_scale, n, H, hp->rms_eps);
    op->scale(be, s->moe_x, s->moe_x, 1.0f / sqrtf((float)H), n * H);
    if (ahead) {
        op->rmsnorm(be, s->moe_out, s->x, next->router_scale, n, H, hp->rms_eps);
        op->scale(be, s->moe_out, s->moe_out, 1.0f / sqrtf((float)H), n * H);
        routers[1] = (fl_matmul_job){&next->router, s->moe_out, next_logits, n};
    }
    if ((st = op->matmul_group(be, routers, ahead ? 2 : 1))) return st;
    op->rmsnorm(be, s->xb, s->x, L->pre_moe_norm, n, H, hp->rms_eps);
    const fl_moe_next pf = {ahead ? &next->experts : NULL, next_logits};
    if ((st = fl_block_moe(be, s, &L->experts, hp->n_expert_used, L->expert_scale, FL_ACT_GELU_TANH, NULL,
                           ahead ? &pf : NULL, s->moe_logits, s->xb, s->moe_out, n)))
        return st;
    op->rmsnorm(be, s->moe_out, s->moe_out, L->post_moe_norm, n, H, hp->rms_eps);
    op->add(be, s->o, s->o, s->moe_out, n * H);
    return FLINT_OK;
}

flint_status fl_gemma_forward(const fl_lm *lm, const fl_placement *pl, fl_lm_scratch *s, const fl_batch *b,
                              float *logits) {
    const fl_hparams *hp = &lm->hp;
    const int64_t H = hp->n_embd;
    const int32_t n = b->n;
    const float eps = hp->rms_eps;
    fl_backend *be = fl_place_layer(pl, 0);
    flint_status st;

    if ((st = fl_block_embed(be, s, &lm->tok_embd, b->tokens, n, sqrtf((float)H), s->x))) return st;
    if (hp->n_embd_per_layer && (st = per_layer_inputs(lm, be, s, b->tokens, n))) return st;

    for (int32_t l = 0; l < hp->n_layer; l++) {
        const fl_layer *L = &lm->layers[l];
        fl_backend *prev = be;
        be = fl_place_layer(pl, l);
        if ((st = fl_place_switch(prev, be))) return st;
        const fl_backend_ops *op = be->ops;
        op->rmsnorm(be, s->xb, s->x, L->attn_norm, n, H, eps);
        if ((st = fl_block_attention(lm, be, s, b, l, s->xb, s->o))) return st;
        if (L->post_attn_norm) op->rmsnorm(be, s->o, s->o, L->post_attn_norm, n, H, eps);
        op->add(be, s->x, s->x, s->o, n * H);

        op->rmsnorm(be, s->xb, s->x, L->ffn_norm, n, H, eps);
        if ((st = fl_block_mlp(be, s, &L->gate, &L->up, &L->down, FL_ACT_GELU_TANH, s->xb, s->o, n))) return st;
        if (L->router.data && (st = moe(lm, be, s, l, n))) return st;
        if (L->post_ffn_norm) op->rmsnorm(be, s->o, s->o, L->post_ffn_norm, n, H, eps);
        op->add(be, s->x, s->x, s->o, n * H);

        if (L->ple_gate.data && (st = per_layer_residual(lm, be, s, l, n))) return st;
        if (L->out_scale != 1.0f) op->scale(be, s->x, s->x, L->out_scale, n * H);
    }
    if ((st = fl_place_switch(be, fl_place_head(pl)))) return st;
    return fl_block_logits(lm, fl_place_head(pl), s, b, logits);
}
