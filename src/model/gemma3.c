/* gemma3.c — Gemma 3 (text): weight names and the forward pass.
 * MODELS.md §3. Per layer, top to bottom:
 *   h = rmsnorm(x) ; q, k, v = Wq h, Wk h, Wv h
 *   q, k = rmsnorm per head (QK-norm), then RoPE (local base on sliding
 *          layers, global base with linear scaling on global layers)
 *   a = attention(q, cache) with scale query_pre_attn_scalar^-1/2 and the
 *       sliding window on sliding layers
 *   x = x + rmsnorm(Wo a)                       (post-attention norm)
 *   x = x + rmsnorm(down(gelu_tanh(gate h') * up h')), h' = rmsnorm(x)
 * then logits = E . rmsnorm(x) (tied), with the optional final soft-cap. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "model/gemma3.h"
#include "quant/dequant.h"

/* HF checkpoints name the text model under one of these prefixes. */
static const char *hf_prefixes[] = {"model.", "language_model.model.", "model.language_model."};

static flint_status load_layer(fl_lm *lm, bool gguf, const char *prefix, int32_t l) {
    const fl_hparams *hp = &lm->hp;
    fl_gemma_layer *L = &lm->layers[l];
    fl_weight_loader *wl = &lm->wl;
    int64_t H = hp->n_embd, qd = (int64_t)hp->n_head * hp->head_dim, kvd = (int64_t)hp->n_head_kv * hp->head_dim;
    bool p1 = hp->norm_plus_one;
    char n[13][160];
    if (gguf) {
        const char *g[13] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
                             "attn_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm", "attn_q_norm", "attn_k_norm"};
        for (int i = 0; i < 13; i++) snprintf(n[i], sizeof n[i], "blk.%d.%s.weight", l, g[i]);
    } else {
        const char *h[13] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                             "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj", "input_layernorm",
                             "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm",
                             "self_attn.q_norm", "self_attn.k_norm"};
        for (int i = 0; i < 13; i++) snprintf(n[i], sizeof n[i], "%slayers.%d.%s.weight", prefix, l, h[i]);
    }
    flint_status st;
    if ((st = fl_load_matrix(wl, n[0], H, qd, &L->wq)) || (st = fl_load_matrix(wl, n[1], H, kvd, &L->wk)) ||
        (st = fl_load_matrix(wl, n[2], H, kvd, &L->wv)) || (st = fl_load_matrix(wl, n[3], qd, H, &L->wo)) ||
        (st = fl_load_matrix(wl, n[4], H, hp->n_ff, &L->gate)) || (st = fl_load_matrix(wl, n[5], H, hp->n_ff, &L->up)) ||
        (st = fl_load_matrix(wl, n[6], hp->n_ff, H, &L->down)) || (st = fl_load_vector(wl, n[7], H, p1, &L->attn_norm)) ||
        (st = fl_load_vector(wl, n[8], H, p1, &L->post_attn_norm)) || (st = fl_load_vector(wl, n[9], H, p1, &L->ffn_norm)) ||
        (st = fl_load_vector(wl, n[10], H, p1, &L->post_ffn_norm)) ||
        (st = fl_load_vector(wl, n[11], hp->head_dim, p1, &L->q_norm)) ||
        (st = fl_load_vector(wl, n[12], hp->head_dim, p1, &L->k_norm)))
        return st;
    const fl_weight *m[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
    for (int i = 0; i < 7; i++) lm->weight_bytes += (uint64_t)m[i]->m * m[i]->row_bytes;
    lm->weight_bytes += (4 * (uint64_t)H + 2 * (uint64_t)hp->head_dim) * sizeof(float);
    return FLINT_OK;
}

flint_status fl_gemma3_load(fl_lm *lm, bool gguf) {
    fl_weight_loader *wl = &lm->wl;
    const char *prefix = "";
    char embd[160], norm[160];
    if (gguf) {
        snprintf(embd, sizeof embd, "token_embd.weight");
        snprintf(norm, sizeof norm, "output_norm.weight");
    } else {
        for (size_t i = 0; i < sizeof hf_prefixes / sizeof hf_prefixes[0]; i++) {
            snprintf(embd, sizeof embd, "%sembed_tokens.weight", hf_prefixes[i]);
            if (fl_has_tensor(wl, embd)) {
                prefix = hf_prefixes[i];
                break;
            }
        }
        snprintf(embd, sizeof embd, "%sembed_tokens.weight", prefix);
        snprintf(norm, sizeof norm, "%snorm.weight", prefix);
    }
    flint_tensor_info t;
    if (flint_tensor_find(wl->file, embd, &t) != FLINT_OK)
        return fl_errorf(FLINT_E_FORMAT, "%s: missing the token embedding '%s'", wl->path, embd);
    if (t.n_dims != 2 || t.ne[1] <= 0 || t.ne[1] > INT32_MAX)
        return fl_errorf(FLINT_E_FORMAT, "%s: token embedding '%s' is not a [vocab, hidden] matrix", wl->path, embd);
    lm->hp.n_vocab = (int32_t)t.ne[1];
    flint_status st = fl_load_matrix(wl, embd, lm->hp.n_embd, lm->hp.n_vocab, &lm->tok_embd);
    if (!st) st = fl_load_vector(wl, norm, lm->hp.n_embd, lm->hp.norm_plus_one, &lm->output_norm);
    if (st) return st;
    lm->weight_bytes = (uint64_t)lm->tok_embd.m * lm->tok_embd.row_bytes + (uint64_t)lm->hp.n_embd * sizeof(float);
    for (int32_t l = 0; l < lm->hp.n_layer; l++)
        if ((st = load_layer(lm, gguf, prefix, l))) return st;
    return FLINT_OK;
}

flint_status fl_gemma3_forward(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, fl_kv_cache *cache,
                               const int32_t *tokens, int32_t n, float *logits, bool all_logits) {
    const fl_hparams *hp = &lm->hp;
    const fl_backend_ops *op = be->ops;
    const int64_t H = hp->n_embd, hd = hp->head_dim, nh = hp->n_head, nkv = hp->n_head_kv;
    const int64_t kvd = nkv * hd, F = hp->n_ff;
    const float eps = hp->rms_eps;
    flint_status st;

    /* embeddings, scaled by sqrt(H) in f32 as HF does for token inputs */
    const float embed_scale = sqrtf((float)H);
    for (int32_t i = 0; i < n; i++) {
        const uint8_t *row = (const uint8_t *)lm->tok_embd.data + (uint64_t)tokens[i] * lm->tok_embd.row_bytes;
        if ((st = fl_dequant_row(lm->tok_embd.type, row, s->x + i * H, H))) return st;
        s->pos[i] = cache->n_past + i;
    }
    op->scale(be, s->x, s->x, embed_scale, n * H);

    for (int32_t l = 0; l < hp->n_layer; l++) {
        const fl_gemma_layer *L = &lm->layers[l];
        const bool sliding = hp->layer_sliding[l];
        fl_kv_layer *kl = &cache->layers[l];

        op->rmsnorm(be, s->xb, s->x, L->attn_norm, n, H, eps);
        if ((st = op->matmul(be, &L->wq, s->xb, s->q, n)) || (st = op->matmul(be, &L->wk, s->xb, s->k, n)) ||
            (st = op->matmul(be, &L->wv, s->xb, s->v, n)))
            return st;
        op->rmsnorm(be, s->q, s->q, L->q_norm, n * nh, hd, eps);
        op->rmsnorm(be, s->k, s->k, L->k_norm, n * nkv, hd, eps);
        fl_rope_params rope = {
            .n_rot = (int32_t)hd,
            .base = sliding ? hp->rope_base_local : hp->rope_base_global,
            .freq_scale = sliding ? 1.0f : 1.0f / hp->rope_scale_global,
        };
        op->rope(be, s->q, s->pos, n, (int32_t)nh, (int32_t)hd, &rope);
        op->rope(be, s->k, s->pos, n, (int32_t)nkv, (int32_t)hd, &rope);

        /* append this chunk's keys and values (host memory: the CPU backend) */
        for (int32_t i = 0; i < n; i++) {
            int32_t row = fl_kv_row_of(kl, s->pos[i]);
            memcpy(kl->k + (int64_t)row * kvd, s->k + i * kvd, (size_t)kvd * sizeof(float));
            memcpy(kl->v + (int64_t)row * kvd, s->v + i * kvd, (size_t)kvd * sizeof(float));
            kl->pos[row] = s->pos[i];
        }
        fl_attn_params ap = {
            .n_head = (int32_t)nh,
            .n_head_kv = (int32_t)nkv,
            .head_dim_k = (int32_t)hd,
            .head_dim_v = (int32_t)hd,
            .scale = hp->attn_scale,
            .softcap = hp->attn_softcap,
            .window = sliding ? hp->sliding_window : 0,
            .kv_type = FLINT_TYPE_F32,
        };
        if ((st = op->attention(be, &ap, s->att, s->q, s->pos, n, kl->k, kl->v, kl->pos, kl->n_rows, kvd))) return st;
        if ((st = op->matmul(be, &L->wo, s->att, s->o, n))) return st;
        op->rmsnorm(be, s->o, s->o, L->post_attn_norm, n, H, eps);
        op->add(be, s->x, s->x, s->o, n * H);

        op->rmsnorm(be, s->xb, s->x, L->ffn_norm, n, H, eps);
        if ((st = op->matmul(be, &L->gate, s->xb, s->g, n)) || (st = op->matmul(be, &L->up, s->xb, s->u, n))) return st;
        op->gated(be, FL_ACT_GELU_TANH, s->g, s->g, s->u, n * F);
        if ((st = op->matmul(be, &L->down, s->g, s->o, n))) return st;
        op->rmsnorm(be, s->o, s->o, L->post_ffn_norm, n, H, eps);
        op->add(be, s->x, s->x, s->o, n * H);
    }
    cache->n_past += n;

    int32_t n_out = all_logits ? n : 1;
    const float *last = s->x + (int64_t)(n - n_out) * H;
    op->rmsnorm(be, s->xb, last, lm->output_norm, n_out, H, eps);
    if ((st = op->matmul(be, &lm->tok_embd, s->xb, logits, n_out))) return st;
    if (hp->final_softcap > 0) {
        /* logits come back to the host: the soft-cap is applied here */
        const float c = hp->final_softcap;
        for (int64_t i = 0; i < (int64_t)n_out * hp->n_vocab; i++) logits[i] = c * tanhf(logits[i] / c);
    }
    return FLINT_OK;
}
