/* blocks.c — shared forward-pass blocks (see blocks.h). Everything runs
 * as backend ops but the embedding lookup (into the host's s->embed) and,
 * on a backend without the MoE ops (the CPU) or with streamed experts, MoE
 * routing (top-k, the expert session, gathering rows per expert and adding
 * their outputs), which read and write backend memory on the host after a
 * sync (fl_backend_sync: a device backend may run ops later than their
 * call). */
#include "model/blocks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "quant/dequant.h"

flint_status fl_block_embed(fl_backend *be, fl_lm_scratch *s, const fl_weight *embd, const int32_t *tokens, int32_t n,
                            float scale, float *x) {
    const int64_t k = embd->k;
    flint_status st = fl_backend_sync(be);
    if (st) return st;
    for (int32_t i = 0; i < n; i++)
        if ((st = fl_weight_row_f32(embd, tokens[i], s->embed + i * k))) return st;
    be->ops->scale(be, x, s->embed, scale, n * k);
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
        op->copy_rows(be, s->q, hd, s->g, 2 * hd, (int64_t)n * nh, hd);
        op->copy_rows(be, s->u, hd, s->g + hd, 2 * hd, (int64_t)n * nh, hd);
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
        void **dk = s->kv_dst, **dv = s->kv_dst + n;
        for (int32_t i = 0, t = 0; i < b->n_spans; i++) {
            const fl_kv_cache *c = b->spans[i].cache;
            for (int32_t j = 0; j < b->spans[i].n; j++, t++) {
                dk[t] = fl_kv_row_k(c, l, s->pos[t]);
                dv[t] = fl_kv_row_v(c, l, s->pos[t]);
            }
        }
        const flint_type kv_type = b->spans[0].cache->pool->type;
        op->store_rows(be, kv_type, dk, s->k, n, kvd);
        op->store_rows(be, kv_type, dv, s->v, n, kvd);
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
 * s->g, s->u and s->moe_y hold the experts' rows one after the other;
 * s->moe_rows[r] says whose row r is: (token, choice) t * k + j, or n * k + t
 * for the shared expert's row of token t. */
#define MOE_PASS_EXPERTS 64 /* bounds the job lists (on the stack) */

typedef struct moe_pass {
    fl_weight w[MOE_PASS_EXPERTS + 1][FL_EXPERT_MATRICES];
    fl_matmul_job gate_up[2 * (MOE_PASS_EXPERTS + 1)], down[MOE_PASS_EXPERTS + 1];
    int32_t e[MOE_PASS_EXPERTS + 1]; /* the routed experts of the pass (-1: the shared one) */
    int32_t n_exp, rows;
    int64_t g_used; /* floats of s->g (and s->u) taken */
} moe_pass;

/* Adds an expert over cnt rows of x (already gathered, their owners in
 * s->moe_rows from p->rows on). */
static void pass_add(moe_pass *p, fl_lm_scratch *s, int32_t e, const fl_weight w3[FL_EXPERT_MATRICES],
                     const float *x, int32_t cnt) {
    fl_weight *w = p->w[p->n_exp];
    memcpy(w, w3, FL_EXPERT_MATRICES * sizeof *w);
    float *g = s->g + p->g_used, *u = s->u + p->g_used;
    p->gate_up[2 * p->n_exp] = (fl_matmul_job){&w[FL_EXPERT_GATE], x, g, cnt};
    p->gate_up[2 * p->n_exp + 1] = (fl_matmul_job){&w[FL_EXPERT_UP], x, u, cnt};
    p->down[p->n_exp] =
        (fl_matmul_job){&w[FL_EXPERT_DOWN], g, s->moe_y + (int64_t)p->rows * w[FL_EXPERT_DOWN].m, cnt};
    p->e[p->n_exp++] = e;
    p->g_used += (int64_t)cnt * w[FL_EXPERT_GATE].m;
    p->rows += cnt;
}

/* Gathers the cnt rows routed to expert e into the pass. */
static void pass_gather(moe_pass *p, fl_lm_scratch *s, int32_t e, const fl_weight w[FL_EXPERT_MATRICES], int32_t cnt,
                        int32_t k, const float *x, int32_t n) {
    const int64_t H = w[FL_EXPERT_GATE].k;
    /* every token routed here (always so in decode): x as it is, so the
     * experts of one token share one quantized input */
    const bool all = cnt == n;
    for (int32_t tj = 0, r = p->rows; tj < n * k; tj++) {
        if (s->moe_e[tj] != e) continue;
        s->moe_rows[r] = tj;
        if (!all) memcpy(s->moe_x + (int64_t)r * H, x + (int64_t)(tj / k) * H, (size_t)H * sizeof *x);
        r++;
    }
    pass_add(p, s, e, w, all ? x : s->moe_x + (int64_t)p->rows * H, cnt);
}

/* Runs a pass, puts each row's output at its owner's place in s->moe_yk,
 * and returns the pass's experts to the session. */
static flint_status pass_run(fl_backend *be, fl_lm_scratch *s, moe_pass *p, fl_act act, int64_t H,
                             fl_expert_session *ses) {
    const fl_backend_ops *op = be->ops;
    flint_status st = FLINT_OK;
    if (p->n_exp && !(st = op->matmul_group(be, p->gate_up, 2 * p->n_exp))) {
        op->gated(be, act, s->g, s->g, s->u, p->g_used);
        st = op->matmul_group(be, p->down, p->n_exp);
    }
    if (!st) st = fl_backend_sync(be);
    for (int32_t r = 0; !st && r < p->rows; r++)
        memcpy(s->moe_yk + (int64_t)s->moe_rows[r] * H, s->moe_y + (int64_t)r * H, (size_t)H * sizeof(float));
    for (int32_t i = 0; i < p->n_exp; i++)
        if (p->e[i] >= 0) fl_experts_done(ses, p->e[i]);
    p->n_exp = p->rows = 0;
    p->g_used = 0;
    return st;
}

/* The shared expert, over every token, joins the pass when it fits. */
static bool pass_shared(moe_pass *p, fl_lm_scratch *s, const fl_moe_shared *shared, int32_t k, const float *x,
                        int32_t n) {
    if (p->rows + n > s->moe_rows_max) return false;
    for (int32_t t = 0; t < n; t++) s->moe_rows[p->rows + t] = n * k + t;
    const fl_weight w[FL_EXPERT_MATRICES] = {*shared->gate, *shared->up, *shared->down};
    pass_add(p, s, -1, w, x, n);
    return true;
}

/* Runs the experts in passes as the session hands them out — every
 * expert over all of its tokens at once, whatever the order. */
static flint_status run_experts(fl_backend *be, fl_lm_scratch *s, fl_expert_session *ses, int32_t k, fl_act act,
                                const fl_moe_shared *shared, const float *x, int32_t n, int64_t H) {
    moe_pass p = {0};
    int32_t got[MOE_PASS_EXPERTS], m;
    fl_weight w[MOE_PASS_EXPERTS][FL_EXPERT_MATRICES];
    bool shared_left = shared != NULL;
    flint_status st;
    while (!(st = fl_experts_next(ses, got, w, MOE_PASS_EXPERTS, &m)) && m) {
        for (int32_t i = 0; i < m && !st; i++) {
            const int32_t cnt = s->moe_cnt[got[i]];
            if (p.n_exp == MOE_PASS_EXPERTS || p.rows + cnt > s->moe_rows_max) st = pass_run(be, s, &p, act, H, ses);
            if (!st) pass_gather(&p, s, got[i], w[i], cnt, k, x, n);
        }
        /* the shared expert runs in the first pass, beside reads still in flight */
        if (!st && shared_left && p.n_exp < MOE_PASS_EXPERTS) shared_left = !pass_shared(&p, s, shared, k, x, n);
        if (!st) st = pass_run(be, s, &p, act, H, ses);
        if (st) return st;
    }
    if (!st && shared_left && pass_shared(&p, s, shared, k, x, n)) st = pass_run(be, s, &p, act, H, ses);
    return st;
}

/* The union of each token's likeliest experts in next->logits (as many as
 * the store reads ahead, at most k), read ahead. */
static void prefetch_next(fl_lm_scratch *s, const fl_moe_next *next, int32_t k, int32_t n) {
    const int32_t E = next->ex->n_expert, ahead = fl_experts_ahead(next->ex);
    if (ahead < k) k = ahead;
    int32_t n_hint = 0;
    memset(s->moe_hint, 0, (size_t)E * sizeof *s->moe_hint);
    for (int32_t t = 0; t < n; t++) {
        int32_t e[FL_PREFETCH_K];
        float v[FL_PREFETCH_K];
        top_k(next->logits + (int64_t)t * E, E, k, e, v);
        for (int32_t j = 0; j < k; j++) s->moe_hint[e[j]] = 1;
    }
    for (int32_t e = 0; e < E; e++)
        if (s->moe_hint[e]) s->moe_hint[n_hint++] = e;
    fl_experts_prefetch(next->ex, s->moe_hint, n_hint);
}

/* The MoE block as backend ops (backend.h's moe_route, moe_matmul,
 * moe_combine): no sync, no host access to backend memory. The shared
 * expert runs first as an MLP into its rows of s->moe_yk (s->g and s->u
 * are then free for the routed experts' n k rows). */
static flint_status moe_on_device(fl_backend *be, fl_lm_scratch *s, const fl_experts *ex, int32_t k,
                                  const float *expert_scale, fl_act act, const fl_moe_shared *shared,
                                  const float *probs, const float *x, float *out, int32_t n) {
    const fl_backend_ops *op = be->ops;
    const int32_t E = ex->n_expert;
    const int64_t H = ex->w[FL_EXPERT_DOWN].m, F = ex->w[FL_EXPERT_GATE].m, rows = (int64_t)n * k;
    const fl_weight *ws = ex->views; /* ws[m * E + e] */
    float *shared_y = shared ? s->moe_yk + rows * H : NULL;
    flint_status st = FLINT_OK;
    if (shared) st = fl_block_mlp(be, s, shared->gate, shared->up, shared->down, act, x, shared_y, n);
    if (!st) st = op->moe_route(be, probs, n, E, k, expert_scale, s->moe_e, s->moe_w);
    if (!st) st = op->moe_matmul(be, ws + (size_t)FL_EXPERT_GATE * E, E, s->moe_e, n, k, false, x, s->g);
    if (!st) st = op->moe_matmul(be, ws + (size_t)FL_EXPERT_UP * E, E, s->moe_e, n, k, false, x, s->u);
    if (!st) {
        op->gated(be, act, s->g, s->g, s->u, rows * F);
        st = op->moe_matmul(be, ws + (size_t)FL_EXPERT_DOWN * E, E, s->moe_e, n, k, true, s->g, s->moe_yk);
    }
    if (!st)
        st = op->moe_combine(be, out, s->moe_yk, s->moe_e, s->moe_w, n, k, H, shared_y, shared ? shared->scale : NULL);
    return st;
}

flint_status fl_block_moe(fl_backend *be, fl_lm_scratch *s, const fl_experts *ex, int32_t k, const float *expert_scale,
                          fl_act act, const fl_moe_shared *shared, const fl_moe_next *next, float *logits,
                          const float *x, float *out, int32_t n) {
    const fl_backend_ops *op = be->ops;
    const int32_t E = ex->n_expert;
    const int64_t H = ex->w[FL_EXPERT_DOWN].m;
    op->softmax(be, logits, n, E);
    /* resident experts on a backend with the MoE ops (the CPU has none:
     * its host path below is tuned for streaming), with scratch sized for
     * them (fl_lm_scratch_init on this backend) */
    if (op->moe_route && op->moe_matmul && op->moe_combine && !ex->stream && s->be == be)
        return moe_on_device(be, s, ex, k, expert_scale, act, shared, logits, x, out, n);
    flint_status st = fl_backend_sync(be);
    if (st) return st;
    for (int32_t t = 0; t < n; t++) {
        int32_t *e = s->moe_e + (int64_t)t * k;
        float *w = s->moe_w + (int64_t)t * k, sum = 0;
        top_k(logits + (int64_t)t * E, E, k, e, w);
        for (int32_t j = 0; j < k; j++) sum += w[j];
        for (int32_t j = 0; j < k; j++) w[j] = w[j] / sum * (expert_scale ? expert_scale[e[j]] : 1.0f);
    }
    /* the experts routed to, ascending, and their tokens */
    int32_t n_need = 0;
    memset(s->moe_cnt, 0, (size_t)E * sizeof *s->moe_cnt);
    for (int32_t tj = 0; tj < n * k; tj++) s->moe_cnt[s->moe_e[tj]]++;
    for (int32_t e = 0; e < E; e++)
        if (s->moe_cnt[e]) s->moe_need[n_need++] = e;
    fl_expert_session ses;
    st = fl_experts_begin(&ses, ex, s->moe_need, n_need);
    if (st) return st;
    if (next && k <= FL_PREFETCH_K) prefetch_next(s, next, k, n);
    st = run_experts(be, s, &ses, k, act, shared, x, n, H);
    fl_experts_end(&ses);
    if (st) return st;
    /* each token's experts added in expert order, the shared one last:
     * the same sums whatever order the experts ran in */
    for (int32_t t = 0; t < n; t++) {
        float *o = out + (int64_t)t * H;
        memset(o, 0, (size_t)H * sizeof *o);
        for (int32_t c = 0, last = -1; c < k; c++) {
            int32_t j = -1;
            for (int32_t i = 0; i < k; i++) {
                const int32_t e = s->moe_e[t * k + i];
                if (e > last && (j < 0 || e < s->moe_e[t * k + j])) j = i;
            }
            last = s->moe_e[t * k + j];
            const float w = s->moe_w[t * k + j], *y = s->moe_yk + ((int64_t)t * k + j) * H;
            for (int64_t i = 0; i < H; i++) o[i] += w * y[i];
        }
        if (shared) {
            const float w = shared->scale[t], *y = s->moe_yk + ((int64_t)n * k + t) * H;
            for (int64_t i = 0; i < H; i++) o[i] += w * y[i];
        }
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
    if (!st) st = fl_backend_sync(be);
    if (st || hp->final_softcap <= 0) return st;
    /* logits come back to the host: the soft-cap is applied here */
    const float c = hp->final_softcap;
    for (int64_t i = 0; i < (int64_t)n_out * hp->n_vocab; i++) logits[i] = c * tanhf(logits[i] / c);
    return FLINT_OK;
}
