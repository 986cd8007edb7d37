/* qwen35.c — Qwen3.5 / Qwen3.6 (MODELS.md §5): weight names and the
 * forward pass of the hybrid stack. Per layer:
 *   x = x + mixer(rmsnorm(x))     Gated DeltaNet, or gated attention on
 *                                 every full_attention_interval-th layer
 *   x = x + ffn(rmsnorm(x))       SwiGLU, or MoE: softmax router, top-k
 *                                 renormalised, plus a sigmoid-gated shared expert
 * then logits = output . rmsnorm(x). No embedding scale, no soft-cap.
 *
 * The DeltaNet mixer: channels = conv_silu(Wqkv h) split into q, k (n_k
 * heads of d_k) and v (n_v heads of d_v); q and k L2-normalised per head,
 * q scaled by d_k^-1/2; the gated delta rule with g = ssm_a softplus(Wa h +
 * dt_bias) and beta = sigmoid(Wb h); per value head rmsnorm(o) * w *
 * silu(Wz h); Wout. Value heads pair with key heads grouped in HF weights
 * and tiled in GGUF weights (the converter reorders them). */
#include "model/qwen35.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "model/blocks.h"

enum {
    T_ATTN_NORM, T_POST_NORM, T_QKV, T_Z, T_BETA, T_ALPHA, T_CONV, T_DT, T_A, T_SSM_NORM, T_SSM_OUT, T_Q, T_K, T_V, T_O,
    T_Q_NORM, T_K_NORM, T_GATE, T_UP, T_DOWN, T_ROUTER, T_EXP_GATE_UP, T_EXP_GATE, T_EXP_UP, T_EXP_DOWN, T_SH_GATE,
    T_SH_UP, T_SH_DOWN, T_SH_INP, T_SW_GATE, T_SW_UP, T_SW_DOWN, T_COUNT
};

static const char *gguf_names[T_COUNT] = {
    "attn_norm.weight", "post_attention_norm.weight", "attn_qkv.weight", "attn_gate.weight", "ssm_beta.weight",
    "ssm_alpha.weight", "ssm_conv1d.weight", "ssm_dt.bias", "ssm_a", "ssm_norm.weight", "ssm_out.weight",
    "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight", "attn_q_norm.weight",
    "attn_k_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight", "ffn_gate_inp.weight",
    "ffn_gate_up_exps.weight", "ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight",
    "ffn_gate_shexp.weight", "ffn_up_shexp.weight", "ffn_down_shexp.weight", "ffn_gate_inp_shexp.weight",
    "ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight",
};

static const char *hf_names[T_COUNT] = {
    "input_layernorm.weight", "post_attention_layernorm.weight", "linear_attn.in_proj_qkv.weight",
    "linear_attn.in_proj_z.weight", "linear_attn.in_proj_b.weight", "linear_attn.in_proj_a.weight",
    "linear_attn.conv1d.weight", "linear_attn.dt_bias", "linear_attn.A_log", "linear_attn.norm.weight",
    "linear_attn.out_proj.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
    "self_attn.o_proj.weight", "self_attn.q_norm.weight", "self_attn.k_norm.weight", "mlp.gate_proj.weight",
    "mlp.up_proj.weight", "mlp.down_proj.weight", "mlp.gate.weight", "mlp.experts.gate_up_proj",
    "mlp.experts.gate_proj", "mlp.experts.up_proj", "mlp.experts.down_proj", "mlp.shared_expert.gate_proj.weight",
    "mlp.shared_expert.up_proj.weight", "mlp.shared_expert.down_proj.weight", "mlp.shared_expert_gate.weight",
    /* MLX (mlx-lm): the experts split and stacked as [E, out, in] */
    "mlp.switch_mlp.gate_proj.weight", "mlp.switch_mlp.up_proj.weight", "mlp.switch_mlp.down_proj.weight",
};

typedef struct namer {
    bool gguf;
    const char *prefix;
    char buf[T_COUNT][192];
} namer;

static const char *name_of(namer *nm, int t, int32_t l) {
    return fl_layer_tensor_name(nm->buf[t], sizeof nm->buf[t], nm->gguf, nm->prefix, l, nm->gguf ? gguf_names[t] : hf_names[t]);
}

static flint_status load_deltanet(fl_lm *lm, namer *nm, int32_t l) {
    const fl_hparams *hp = &lm->hp;
    fl_layer *L = &lm->layers[l];
    fl_weight_loader *wl = &lm->wl;
    const int64_t H = hp->n_embd, nv = hp->ssm_n_v_heads, Vd = nv * hp->ssm_d_v;
    const int64_t C = 2 * (int64_t)hp->ssm_n_k_heads * hp->ssm_d_k + Vd;
    flint_status st;
    const float *a;
    if ((st = fl_load_matrix(wl, name_of(nm, T_QKV, l), H, C, &L->ssm_qkv)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_Z, l), H, Vd, &L->ssm_z)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_BETA, l), H, nv, &L->ssm_beta)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_ALPHA, l), H, nv, &L->ssm_alpha)) ||
        (st = fl_load_vector(wl, name_of(nm, T_CONV, l), C * hp->ssm_conv_kernel, false, &L->ssm_conv)) ||
        (st = fl_load_vector(wl, name_of(nm, T_DT, l), nv, false, &L->ssm_dt_bias)) ||
        (st = fl_load_vector(wl, name_of(nm, T_A, l), nv, false, &a)) ||
        (st = fl_load_vector(wl, name_of(nm, T_SSM_NORM, l), hp->ssm_d_v, false, &L->ssm_norm)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_SSM_OUT, l), Vd, H, &L->ssm_out)))
        return st;
    if (!nm->gguf) {
        /* HF stores A_log; GGUF already holds -exp(A_log). The copy is ours. */
        float *ssm_a = (float *)a;
        for (int64_t j = 0; j < nv; j++) ssm_a[j] = -expf(ssm_a[j]);
    }
    L->ssm_a = a;
    const fl_weight *m[5] = {&L->ssm_qkv, &L->ssm_z, &L->ssm_beta, &L->ssm_alpha, &L->ssm_out};
    for (int i = 0; i < 5; i++) fl_lm_count(lm, m[i]);
    return FLINT_OK;
}

static flint_status load_attention(fl_lm *lm, namer *nm, int32_t l) {
    const fl_hparams *hp = &lm->hp;
    fl_layer *L = &lm->layers[l];
    fl_weight_loader *wl = &lm->wl;
    const int64_t H = hp->n_embd, hd = hp->layer[l].head_dim, qd = (int64_t)hp->n_head * hd;
    const int64_t kvd = (int64_t)hp->layer[l].n_head_kv * hd;
    const bool p1 = hp->norm_plus_one;
    flint_status st;
    if ((st = fl_load_matrix(wl, name_of(nm, T_Q, l), H, 2 * qd, &L->wq)) || /* [q | gate] per head */
        (st = fl_load_matrix(wl, name_of(nm, T_K, l), H, kvd, &L->wk)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_V, l), H, kvd, &L->wv)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_O, l), qd, H, &L->wo)) ||
        (st = fl_load_vector(wl, name_of(nm, T_Q_NORM, l), hd, p1, &L->q_norm)) ||
        (st = fl_load_vector(wl, name_of(nm, T_K_NORM, l), hd, p1, &L->k_norm)))
        return st;
    const fl_weight *m[4] = {&L->wq, &L->wk, &L->wv, &L->wo};
    for (int i = 0; i < 4; i++) fl_lm_count(lm, m[i]);
    return FLINT_OK;
}

static flint_status load_ffn(fl_lm *lm, namer *nm, int32_t l) {
    const fl_hparams *hp = &lm->hp;
    fl_layer *L = &lm->layers[l];
    fl_weight_loader *wl = &lm->wl;
    const int64_t H = hp->n_embd;
    flint_status st;
    if (!hp->n_expert) {
        const int64_t F = hp->layer[l].n_ff;
        if ((st = fl_load_matrix(wl, name_of(nm, T_GATE, l), H, F, &L->gate)) ||
            (st = fl_load_matrix(wl, name_of(nm, T_UP, l), H, F, &L->up)) ||
            (st = fl_load_matrix(wl, name_of(nm, T_DOWN, l), F, H, &L->down)))
            return st;
        fl_lm_count(lm, &L->gate), fl_lm_count(lm, &L->up), fl_lm_count(lm, &L->down);
        return FLINT_OK;
    }
    const int64_t S = hp->n_ff_shexp;
    const float *sh_inp;
    const bool sw = !nm->gguf && fl_has_tensor(wl, name_of(nm, T_SW_GATE, l));
    if ((st = fl_load_matrix(wl, name_of(nm, T_ROUTER, l), H, hp->n_expert, &L->router)) ||
        (st = fl_lm_load_experts(lm, l, nm->gguf, nm->prefix,
                                  (const char *const[4]){name_of(nm, T_EXP_GATE_UP, l),
                                                         name_of(nm, sw ? T_SW_GATE : T_EXP_GATE, l),
                                                         name_of(nm, sw ? T_SW_UP : T_EXP_UP, l),
                                                         name_of(nm, sw ? T_SW_DOWN : T_EXP_DOWN, l)},
                                  "mlp.experts.")))
        return st;
    fl_lm_count(lm, &L->router);
    if (!S) return FLINT_OK;
    if ((st = fl_load_matrix(wl, name_of(nm, T_SH_GATE, l), H, S, &L->shexp_gate)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_SH_UP, l), H, S, &L->shexp_up)) ||
        (st = fl_load_matrix(wl, name_of(nm, T_SH_DOWN, l), S, H, &L->shexp_down)) ||
        (st = fl_load_vector(wl, name_of(nm, T_SH_INP, l), H, false, &sh_inp)))
        return st;
    /* the [1, H] gate (a vector in GGUF) as an f32 matrix of one row */
    L->shexp_inp = (fl_weight){.type = FLINT_TYPE_F32, .m = 1, .k = H, .data = sh_inp, .row_bytes = (uint64_t)H * 4};
    const fl_weight *m[4] = {&L->shexp_gate, &L->shexp_up, &L->shexp_down, &L->shexp_inp};
    for (int i = 0; i < 4; i++) fl_lm_count(lm, m[i]);
    return FLINT_OK;
}

/* mlx-lm's sanitize moves the conv1d axes ([C, 1, K] -> [C, K, 1]) and adds
 * the 1 of the (1 + w) norms into the saved weights; like mlx-lm, a conv1d
 * weight whose last axis is 1 says the folder was written so. */
static bool mlx_sanitized(const fl_lm *lm) {
    static const char *const prefixes[] = {"language_model.model.", "model.language_model.", "model."};
    for (int32_t l = 0; l < lm->hp.n_layer; l++) {
        if (!lm->hp.layer[l].recurrent) continue;
        for (int p = 0; p < 3; p++) {
            char name[192];
            flint_tensor_info t;
            fl_layer_tensor_name(name, sizeof name, false, prefixes[p], l, hf_names[T_CONV]);
            if (flint_tensor_find(lm->wl.file, name, &t) == FLINT_OK) return t.n_dims == 3 && t.ne[0] == 1;
        }
        return false;
    }
    return false;
}

flint_status fl_qwen35_load(fl_lm *lm, bool gguf) {
    static const char *hf_prefixes[] = {"model.language_model.", "language_model.model.", "model.", NULL};
    namer nm = {.gguf = gguf};
    if (!gguf && mlx_sanitized(lm)) lm->hp.norm_plus_one = false;
    flint_status st = fl_lm_load_io(lm, gguf, hf_prefixes, &nm.prefix);
    for (int32_t l = 0; !st && l < lm->hp.n_layer; l++) {
        fl_layer *L = &lm->layers[l];
        const bool p1 = lm->hp.norm_plus_one;
        L->out_scale = 1.0f;
        if ((st = fl_load_vector(&lm->wl, name_of(&nm, T_ATTN_NORM, l), lm->hp.n_embd, p1, &L->attn_norm)) ||
            (st = fl_load_vector(&lm->wl, name_of(&nm, T_POST_NORM, l), lm->hp.n_embd, p1, &L->ffn_norm)))
            return st;
        st = lm->hp.layer[l].recurrent ? load_deltanet(lm, &nm, l) : load_attention(lm, &nm, l);
        if (!st) st = load_ffn(lm, &nm, l);
    }
    return st;
}

/* The Gated DeltaNet mixer of layer l: s->xb -> s->o; the convolution and
 * the delta rule run per span on its sequence's state. */
static flint_status deltanet(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, const fl_batch *b, int32_t l) {
    const fl_hparams *hp = &lm->hp;
    const fl_backend_ops *op = be->ops;
    const fl_layer *L = &lm->layers[l];
    const int32_t nk = hp->ssm_n_k_heads, nv = hp->ssm_n_v_heads, dk = hp->ssm_d_k, dv = hp->ssm_d_v, n = b->n;
    const int64_t Kd = (int64_t)nk * dk, Vd = (int64_t)nv * dv, C = 2 * Kd + Vd;
    flint_status st;
    const fl_matmul_job proj[4] = {{&L->ssm_qkv, s->xb, s->g, n},
                                   {&L->ssm_z, s->xb, s->u, n},
                                   {&L->ssm_alpha, s->xb, s->ssm_ab, n},
                                   {&L->ssm_beta, s->xb, s->ssm_ab + (int64_t)n * nv, n}};
    if ((st = op->matmul_group(be, proj, 4))) return st;
    for (int32_t i = 0, t = 0; i < b->n_spans; t += b->spans[i++].n)
        op->conv_silu(be, s->ssm_x + t * C, s->g + t * C, L->ssm_conv, b->spans[i].cache->layers[l].conv,
                      b->spans[i].n, C, hp->ssm_conv_kernel);
    op->copy_rows(be, s->q, Kd, s->ssm_x, C, n, Kd);
    op->copy_rows(be, s->k, Kd, s->ssm_x + Kd, C, n, Kd);
    op->copy_rows(be, s->v, Vd, s->ssm_x + 2 * Kd, C, n, Vd);
    /* l2norm(x) = rmsnorm(x; eps / d) / sqrt(d); q is further scaled by d^-1/2 */
    op->rmsnorm(be, s->q, s->q, NULL, (int64_t)n * nk, dk, 1e-6f / (float)dk);
    op->rmsnorm(be, s->k, s->k, NULL, (int64_t)n * nk, dk, 1e-6f / (float)dk);
    op->scale(be, s->q, s->q, 1.0f / (float)dk, n * Kd);
    op->scale(be, s->k, s->k, 1.0f / sqrtf((float)dk), n * Kd);
    fl_delta_params dp = {.n_k_heads = nk, .n_v_heads = nv, .d_k = dk, .d_v = dv, .tiled = hp->ssm_v_tiled,
                          .ssm_a = L->ssm_a, .dt_bias = L->ssm_dt_bias};
    const float *alpha = s->ssm_ab, *beta = s->ssm_ab + (int64_t)n * nv;
    for (int32_t i = 0, t = 0; i < b->n_spans; t += b->spans[i++].n)
        if ((st = op->delta_rule(be, &dp, s->att + t * Vd, s->q + t * Kd, s->k + t * Kd, s->v + t * Vd, alpha + t * nv,
                                 beta + t * nv, b->spans[i].cache->layers[l].ssm, b->spans[i].n)))
            return st;
    op->rmsnorm(be, s->att, s->att, L->ssm_norm, (int64_t)n * nv, dv, hp->rms_eps);
    op->gated(be, FL_ACT_SILU, s->att, s->u, s->att, n * Vd);
    return op->matmul(be, &L->ssm_out, s->att, s->o, n);
}

/* The MoE FFN: routed experts plus the sigmoid-gated shared expert, s->xb -> s->o. */
static flint_status moe(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, int32_t l, int32_t n) {
    const fl_hparams *hp = &lm->hp;
    const fl_backend_ops *op = be->ops;
    const fl_layer *L = &lm->layers[l];
    const bool has_shared = L->shexp_gate.data != NULL;
    /* the router and the shared expert's gate (into s->moe_out); streamed
     * decode: the next layer's router on this layer's input too, to read
     * its likely experts ahead (into the second half of s->moe_logits) */
    fl_matmul_job gates[3] = {{&L->router, s->xb, s->moe_logits, n}};
    int32_t n_jobs = 1;
    if (has_shared) gates[n_jobs++] = (fl_matmul_job){&L->shexp_inp, s->xb, s->moe_out, n};
    const fl_layer *next = l + 1 < hp->n_layer ? &lm->layers[l + 1] : NULL;
    const bool ahead = fl_moe_reads_ahead(next ? &next->experts : NULL, n);
    float *next_logits = s->moe_logits + (int64_t)n * hp->n_expert;
    if (ahead) gates[n_jobs++] = (fl_matmul_job){&next->router, s->xb, next_logits, n};
    flint_status st = op->matmul_group(be, gates, n_jobs);
    if (st) return st;
    if (has_shared) op->act(be, FL_ACT_SIGMOID, s->moe_out, s->moe_out, n);
    const fl_moe_shared shared = {&L->shexp_gate, &L->shexp_up, &L->shexp_down, s->moe_out};
    const fl_moe_next pf = {ahead ? &next->experts : NULL, next_logits};
    return fl_block_moe(be, s, &L->experts, hp->n_expert_used, NULL, FL_ACT_SILU, has_shared ? &shared : NULL,
                        ahead ? &pf : NULL, s->moe_logits, s->xb, s->o, n);
}

flint_status fl_qwen35_forward(const fl_lm *lm, const fl_placement *pl, fl_lm_scratch *s, const fl_batch *b,
                               float *logits) {
    const fl_hparams *hp = &lm->hp;
    const int64_t H = hp->n_embd;
    const int32_t n = b->n;
    fl_backend *be = fl_place_layer(pl, 0);
    flint_status st;
    if ((st = fl_block_embed(be, s, &lm->tok_embd, b->tokens, n, 1.0f, s->x))) return st;
    for (int32_t l = 0; l < hp->n_layer; l++) {
        const fl_layer *L = &lm->layers[l];
        fl_backend *prev = be;
        be = fl_place_layer(pl, l);
        if ((st = fl_place_switch(prev, be))) return st;
        const fl_backend_ops *op = be->ops;
        op->rmsnorm(be, s->xb, s->x, L->attn_norm, n, H, hp->rms_eps);
        st = hp->layer[l].recurrent ? deltanet(lm, be, s, b, l) : fl_block_attention(lm, be, s, b, l, s->xb, s->o);
        if (st) return st;
        op->add(be, s->x, s->x, s->o, n * H);
        op->rmsnorm(be, s->xb, s->x, L->ffn_norm, n, H, hp->rms_eps);
        st = hp->n_expert ? moe(lm, be, s, l, n)
                          : fl_block_mlp(be, s, &L->gate, &L->up, &L->down, FL_ACT_SILU, s->xb, s->o, n);
        if (st) return st;
        op->add(be, s->x, s->x, s->o, n * H);
    }
    if ((st = fl_place_switch(be, fl_place_head(pl)))) return st;
    return fl_block_logits(lm, fl_place_head(pl), s, b, logits);
}
