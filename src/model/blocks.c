/* blocks.c — shared forward-pass blocks (see blocks.h). The CPU backend
 * keeps activations and the KV cache in host memory, so cache writes and
 * MoE routing (top-k, gathering rows per expert) run here on the host. */
#include "model/blocks.h"

#include <math.h>
#include <string.h>

#include "quant/dequant.h"

flint_status fl_block_embed(fl_backend *be, const fl_weight *embd, const int32_t *tokens, int32_t n, float scale,
                            float *x) {
    const int64_t k = embd->k;
    for (int32_t i = 0; i < n; i++) {
        const uint8_t *row = (const uint8_t *)embd->data + (uint64_t)tokens[i] * embd->row_bytes;
        flint_status st = fl_dequant_row(embd->type, row, x + i * k, k);
        if (st) return st;
    }
    if (scale != 1.0f) be->ops->scale(be, x, x, scale, n * k);
    return FLINT_OK;
}

static fl_rope_params rope_of(const fl_hparams *hp, const fl_layer *L, int32_t l) {
    const fl_rope_cfg *c = fl_layer_rope(hp, l);
    return (fl_rope_params){
        .n_rot = c->n_rot,
        .exp_dims = c->exp_dims,
        .base = c->base,
        .freq_scale = 1.0f / c->scale,
        .freq_factors = L->rope_freqs,
    };
}

flint_status fl_block_attention(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, fl_kv_cache *cache, int32_t l,
                                const float *h, float *out, int32_t n) {
    const fl_hparams *hp = &lm->hp;
    const fl_backend_ops *op = be->ops;
    const fl_layer *L = &lm->layers[l];
    const fl_layer_hparams *LH = &hp->layer[l];
    const int32_t hd = LH->head_dim, nh = hp->n_head, nkv = LH->n_head_kv;
    const int64_t kvd = (int64_t)nkv * hd;
    const float eps = hp->rms_eps;
    const fl_rope_params rope = rope_of(hp, L, l);
    flint_status st;

    /* q (Qwen3.5: [q | gate] per head, into s->g), and k, v when the layer
     * keeps its own K/V (Gemma 4's K = V layers: V is the raw K projection) */
    fl_matmul_job proj[3] = {{&L->wq, h, hp->attn_out_gate ? s->g : s->q, n}};
    int32_t n_proj = 1;
    if (LH->kv_source == l) {
        proj[n_proj++] = (fl_matmul_job){&L->wk, h, s->k, n};
        if (!LH->k_eq_v) proj[n_proj++] = (fl_matmul_job){&L->wv, h, s->v, n};
    }
    if ((st = op->matmul_group(be, proj, n_proj))) return st;
    if (hp->attn_out_gate) {
        /* the gate goes to s->u */
        for (int64_t r = 0; r < (int64_t)n * nh; r++) {
            memcpy(s->q + r * hd, s->g + r * 2 * hd, (size_t)hd * sizeof(float));
            memcpy(s->u + r * hd, s->g + r * 2 * hd + hd, (size_t)hd * sizeof(float));
        }
    }
    if (L->q_norm) op->rmsnorm(be, s->q, s->q, L->q_norm, (int64_t)n * nh, hd, eps);
    op->rope(be, s->q, s->pos, n, nh, hd, &rope);

    if (LH->kv_source == l) {
        if (LH->k_eq_v) op->scale(be, s->v, s->k, 1.0f, n * kvd);
        if (L->k_norm) op->rmsnorm(be, s->k, s->k, L->k_norm, (int64_t)n * nkv, hd, eps);
        if (hp->v_norm) op->rmsnorm(be, s->v, s->v, NULL, (int64_t)n * nkv, hd, eps);
        op->rope(be, s->k, s->pos, n, nkv, hd, &rope);
        fl_kv_layer *kl = &cache->layers[l];
        for (int32_t i = 0; i < n; i++) {
            int32_t row = fl_kv_row_of(kl, s->pos[i]);
            memcpy(kl->k + (int64_t)row * kvd, s->k + i * kvd, (size_t)kvd * sizeof(float));
            memcpy(kl->v + (int64_t)row * kvd, s->v + i * kvd, (size_t)kvd * sizeof(float));
            kl->pos[row] = s->pos[i];
        }
    }
    const fl_kv_layer *kl = &cache->layers[LH->kv_source];
    fl_attn_params ap = {
        .n_head = nh,
        .n_head_kv = nkv,
        .head_dim_k = hd,
        .head_dim_v = hd,
        .scale = hp->attn_scale,
        .softcap = hp->attn_softcap,
        .window = LH->sliding ? hp->sliding_window : 0,
        .kv_type = FLINT_TYPE_F32,
    };
    if ((st = op->attention(be, &ap, s->att, s->q, s->pos, n, kl->k, kl->v, kl->pos, kl->n_rows, kvd))) return st;
    if (hp->attn_out_gate) op->gated(be, FL_ACT_SIGMOID, s->att, s->u, s->att, (int64_t)n * nh * hd);
    return op->matmul(be, &L->wo, s->att, out, n);
}

flint_status fl_block_mlp(fl_backend *be, fl_lm_scratch *s, const fl_weight *gate, const fl_weight *up,
                          const fl_weight *down, fl_act act, const float *h, float *out, int32_t n) {
    const fl_backend_ops *op = be->ops;
    const fl_matmul_job gate_up[2] = {{gate, h, s->g, n}, {up, h, s->u, n}};
    flint_status st = op->matmul_group(be, gate_up, 2);
    if (st) return st;
    op->gated(be, act, s->g, s->g, s->u, n * gate->m);
    return op->matmul(be, down, s->g, out, n);
}

/* The k largest of p[0..n) (descending; ties to the lower index). */
static void top_k(const float *p, int32_t n, int32_t k, int32_t *idx, float *val) {
    for (int32_t j = 0; j < k; j++) val[j] = -INFINITY, idx[j] = -1;
    for (int32_t e = 0; e < n; e++) {
        if (!(p[e] > val[k - 1])) continue;
        int32_t j = k - 1;
        for (; j > 0 && p[e] > val[j - 1]; j--) val[j] = val[j - 1], idx[j] = idx[j - 1];
        val[j] = p[e];
        idx[j] = e;
    }
}

flint_status fl_block_moe(fl_backend *be, fl_lm_scratch *s, const fl_experts *ex, int32_t k, const float *expert_scale,
                          fl_act act, float *logits, const float *x, float *out, int32_t n) {
    const fl_backend_ops *op = be->ops;
    const int32_t E = ex->n_expert;
    const int64_t H = ex->down.m;
    op->softmax(be, logits, n, E);
    for (int32_t t = 0; t < n; t++) {
        int32_t *e = s->moe_e + (int64_t)t * k;
        float *w = s->moe_w + (int64_t)t * k, sum = 0;
        top_k(logits + (int64_t)t * E, E, k, e, w);
        for (int32_t j = 0; j < k; j++) sum += w[j];
        for (int32_t j = 0; j < k; j++) w[j] = w[j] / sum * (expert_scale ? expert_scale[e[j]] : 1.0f);
    }
    memset(out, 0, (size_t)(n * H) * sizeof *out);
    for (int32_t e = 0; e < E; e++) {
        int32_t rows = 0;
        for (int32_t t = 0; t < n; t++)
            for (int32_t j = 0; j < k; j++)
                if (s->moe_e[(int64_t)t * k + j] == e) {
                    s->moe_rows[rows] = t * k + j;
                    memcpy(s->moe_x + rows * H, x + t * H, (size_t)H * sizeof *x);
                    rows++;
                }
        if (!rows) continue;
        fl_weight gate, up, down;
        fl_experts_get(ex, e, &gate, &up, &down);
        flint_status st = fl_block_mlp(be, s, &gate, &up, &down, act, s->moe_x, s->moe_y, rows);
        if (st) return st;
        for (int32_t r = 0; r < rows; r++) {
            int32_t tj = s->moe_rows[r];
            float w = s->moe_w[tj], *o = out + (int64_t)(tj / k) * H;
            const float *y = s->moe_y + r * H;
            for (int64_t i = 0; i < H; i++) o[i] += w * y[i];
        }
    }
    return FLINT_OK;
}

flint_status fl_block_logits(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, int32_t n, bool all_logits,
                             float *logits) {
    const fl_hparams *hp = &lm->hp;
    const int32_t n_out = all_logits ? n : 1;
    const float *x = s->x + (int64_t)(n - n_out) * hp->n_embd;
    be->ops->rmsnorm(be, s->xb, x, lm->output_norm, n_out, hp->n_embd, hp->rms_eps);
    flint_status st = be->ops->matmul(be, &lm->output, s->xb, logits, n_out);
    if (st || hp->final_softcap <= 0) return st;
    /* logits come back to the host: the soft-cap is applied here */
    const float c = hp->final_softcap;
    for (int64_t i = 0; i < (int64_t)n_out * hp->n_vocab; i++) logits[i] = c * tanhf(logits[i] / c);
    return FLINT_OK;
}
