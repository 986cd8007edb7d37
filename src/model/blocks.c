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
        flint_status st = fl_weight_row_f32(embd, tokens[i], x + i * k);
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

flint_status fl_block_attention(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, const fl_batch *b, int32_t l,
                                const float *h, float *out) {
    const fl_hparams *hp = &lm->hp;
    const fl_backend_ops *op = be->ops;
    const fl_layer *L = &lm->layers[l];
    const fl_layer_hparams *LH = &hp->layer[l];
    const int32_t hd = LH->head_dim, nh = hp->n_head, nkv = LH->n_head_kv, n = b->n;
    const int64_t qd = (int64_t)nh * hd, kvd = (int64_t)nkv * hd;
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
        /* rows into the sequences' blocks (reserved for the step by
         * fl_lm_forward_batch), converted to the pool's type */
        for (int32_t i = 0, t = 0; i < b->n_spans; i++) {
            const fl_kv_cache *c = b->spans[i].cache;
            for (int32_t j = 0; j < b->spans[i].n; j++, t++) {
                fl_kv_store(c->pool, fl_kv_row_k(c, l, s->pos[t]), s->k + t * kvd, kvd);
                fl_kv_store(c->pool, fl_kv_row_v(c, l, s->pos[t]), s->v + t * kvd, kvd);
            }
        }
    }
    fl_attn_params ap = {
        .n_head = nh,
        .n_head_kv = nkv,
        .head_dim_k = hd,
        .head_dim_v = hd,
        .scale = hp->attn_scale,
        .softcap = hp->attn_softcap,
        .window = LH->sliding ? hp->sliding_window : 0,
    };
    for (int32_t i = 0, t = 0; i < b->n_spans; t += b->spans[i++].n) {
        const fl_kv_cache *c = b->spans[i].cache;
        ap.kv_type = c->pool->type;
        int64_t n_tiles = fl_kv_cache_tiles(c, l);
        if ((st = op->attention(be, &ap, s->att + t * qd, s->q + t * qd, s->pos + t, b->spans[i].n, c->tiles, n_tiles,
                                c->pool->row[l])))
            return st;
    }
    if (hp->attn_out_gate) op->gated(be, FL_ACT_SIGMOID, s->att, s->u, s->att, (int64_t)n * qd);
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

/* Experts of one MoE pass: their gate/up products form one matmul group
 * and their downs another. Rows [0, rows) (rows <= s->moe_rows_max) of
 * s->g, s->u and s->moe_y hold the experts' rows one after the other; the
 * shared expert's, when the pass has it, start at shared_row0 (its row i
 * is token i). */
#define MOE_PASS_EXPERTS 64 /* bounds the job lists (on the stack) */

typedef struct moe_pass {
    fl_weight w[MOE_PASS_EXPERTS + 1][3];
    fl_matmul_job gate_up[2 * (MOE_PASS_EXPERTS + 1)], down[MOE_PASS_EXPERTS + 1];
    int32_t n_exp, rows, shared_row0;
    int64_t g_used; /* floats of s->g (and s->u) taken */
} moe_pass;

/* Adds an expert over cnt rows of x (already gathered). */
static void pass_add(moe_pass *p, fl_lm_scratch *s, const fl_weight *gate, const fl_weight *up, const fl_weight *down,
                     const float *x, int32_t cnt) {
    fl_weight *w = p->w[p->n_exp];
    w[0] = *gate, w[1] = *up, w[2] = *down;
    float *g = s->g + p->g_used, *u = s->u + p->g_used;
    p->gate_up[2 * p->n_exp] = (fl_matmul_job){&w[0], x, g, cnt};
    p->gate_up[2 * p->n_exp + 1] = (fl_matmul_job){&w[1], x, u, cnt};
    p->down[p->n_exp] = (fl_matmul_job){&w[2], g, s->moe_y + (int64_t)p->rows * down->m, cnt};
    p->g_used += (int64_t)cnt * gate->m;
    p->rows += cnt;
    p->n_exp++;
}

/* Gathers the rows routed to expert e (if any) into the pass; false when
 * they do not fit in the scratch's rows. */
static bool pass_gather(moe_pass *p, fl_lm_scratch *s, const fl_experts *ex, int32_t e, int32_t k, const float *x,
                        int32_t n) {
    const int64_t H = ex->down.m;
    int32_t cnt = 0;
    for (int32_t tj = 0; tj < n * k; tj++) cnt += s->moe_e[tj] == e;
    if (p->rows + cnt > s->moe_rows_max) return false;
    if (!cnt) return true;
    /* every token routed here (always so in decode): x as it is, so the
     * experts of one token share one quantized input */
    const bool all = cnt == n;
    for (int32_t tj = 0, r = p->rows; tj < n * k; tj++) {
        if (s->moe_e[tj] != e) continue;
        s->moe_rows[r] = tj;
        if (!all) memcpy(s->moe_x + (int64_t)r * H, x + (int64_t)(tj / k) * H, (size_t)H * sizeof *x);
        r++;
    }
    fl_weight gate, up, down;
    fl_experts_get(ex, e, &gate, &up, &down);
    pass_add(p, s, &gate, &up, &down, all ? x : s->moe_x + (int64_t)p->rows * H, cnt);
    return true;
}

/* Runs a pass and adds each row's output, times its routing weight, to out. */
static flint_status pass_run(fl_backend *be, fl_lm_scratch *s, const moe_pass *p, int32_t k, fl_act act,
                             const fl_moe_shared *shared, int64_t H, float *out) {
    const fl_backend_ops *op = be->ops;
    flint_status st;
    if ((st = op->matmul_group(be, p->gate_up, 2 * p->n_exp))) return st;
    op->gated(be, act, s->g, s->g, s->u, p->g_used);
    if ((st = op->matmul_group(be, p->down, p->n_exp))) return st;
    for (int32_t r = 0; r < p->rows; r++) {
        const bool sh = p->shared_row0 >= 0 && r >= p->shared_row0;
        const int32_t t = sh ? r - p->shared_row0 : s->moe_rows[r] / k;
        const float w = sh ? shared->scale[t] : s->moe_w[s->moe_rows[r]];
        float *o = out + (int64_t)t * H;
        const float *y = s->moe_y + (int64_t)r * H;
        for (int64_t i = 0; i < H; i++) o[i] += w * y[i];
    }
    return FLINT_OK;
}

flint_status fl_block_moe(fl_backend *be, fl_lm_scratch *s, const fl_experts *ex, int32_t k, const float *expert_scale,
                          fl_act act, const fl_moe_shared *shared, float *logits, const float *x, float *out,
                          int32_t n) {
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
    /* passes of as many experts as the scratch rows hold (one pass in
     * decode); the shared expert joins the last */
    moe_pass p;
    bool shared_left = shared != NULL;
    for (int32_t e = 0; e < E || shared_left;) {
        p.n_exp = p.rows = 0;
        p.shared_row0 = -1;
        p.g_used = 0;
        for (; e < E && p.n_exp < MOE_PASS_EXPERTS; e++)
            if (!pass_gather(&p, s, ex, e, k, x, n)) break; /* e starts the next pass */
        if (e == E && shared_left && p.rows + n <= s->moe_rows_max) {
            p.shared_row0 = p.rows;
            pass_add(&p, s, shared->gate, shared->up, shared->down, x, n);
            shared_left = false;
        }
        flint_status st = p.n_exp ? pass_run(be, s, &p, k, act, shared, H, out) : FLINT_OK;
        if (st) return st;
    }
    return FLINT_OK;
}

flint_status fl_block_logits(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, const fl_batch *b, float *logits) {
    const fl_hparams *hp = &lm->hp;
    const int64_t H = hp->n_embd;
    /* the rows that give logits, normed into s->xb back to back */
    int32_t n_out = 0;
    for (int32_t i = 0, t = 0; i < b->n_spans; t += b->spans[i++].n) {
        const int32_t rows = fl_span_n_out(&b->spans[i]), first = t + b->spans[i].n - rows;
        if (!rows) continue;
        be->ops->rmsnorm(be, s->xb + n_out * H, s->x + first * H, lm->output_norm, rows, H, hp->rms_eps);
        n_out += rows;
    }
    if (!n_out) return FLINT_OK;
    flint_status st = be->ops->matmul(be, &lm->output, s->xb, logits, n_out);
    if (st || hp->final_softcap <= 0) return st;
    /* logits come back to the host: the soft-cap is applied here */
    const float c = hp->final_softcap;
    for (int64_t i = 0; i < (int64_t)n_out * hp->n_vocab; i++) logits[i] = c * tanhf(logits[i] / c);
    return FLINT_OK;
}
