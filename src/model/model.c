/* model.c — loading a language model from an open file (family chosen by
 * the hyperparameters), its activation scratch, and forward dispatch with
 * the argument checks every family shares. */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_file.h"
#include "base/error.h"
#include "experts/store.h"
#include "model/gemma.h"
#include "model/qwen35.h"

flint_status fl_lm_load(fl_lm *lm, const flint_model *file, const char *path) {
    memset(lm, 0, sizeof *lm);
    bool gguf = flint_model_file_kind(file) == FLINT_FILE_GGUF;
    flint_status st = fl_hparams_load(&lm->hp, fl_model_file_meta(file), gguf, path);
    if (st) return st;
    lm->wl.file = file;
    lm->wl.path = path;
    lm->layers = calloc((size_t)lm->hp.n_layer, sizeof *lm->layers);
    if (!lm->layers) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    switch (lm->hp.arch) {
    case FL_ARCH_GEMMA:
    case FL_ARCH_GEMMA2:
    case FL_ARCH_GEMMA3:
    case FL_ARCH_GEMMA4:
        lm->forward = fl_gemma_forward;
        st = fl_gemma_load(lm, gguf);
        break;
    case FL_ARCH_QWEN35:
    case FL_ARCH_QWEN35MOE:
        lm->forward = fl_qwen35_forward;
        st = fl_qwen35_load(lm, gguf);
        break;
    default: st = fl_errorf(FLINT_E_UNSUPPORTED, "%s: no forward pass for this architecture", path); break;
    }
    /* every MoE layer registered: the store sizes its slots (once per model) */
    if (!st && fl_model_file_store(file)) st = fl_store_commit(fl_model_file_store(file));
    if (st) fl_lm_free(lm);
    return st;
}

const char *fl_layer_tensor_name(char *buf, size_t size, bool gguf, const char *prefix, int32_t l, const char *name) {
    if (gguf) snprintf(buf, size, "blk.%d.%s", l, name);
    else snprintf(buf, size, "%slayers.%d.%s", prefix, l, name);
    return buf;
}

flint_status fl_lm_load_io(fl_lm *lm, bool gguf, const char *const *hf_prefixes, const char **prefix) {
    fl_weight_loader *wl = &lm->wl;
    char embd[160], norm[160], output[160];
    *prefix = "";
    if (gguf) {
        snprintf(embd, sizeof embd, "token_embd.weight");
        snprintf(norm, sizeof norm, "output_norm.weight");
        snprintf(output, sizeof output, "output.weight");
    } else {
        for (const char *const *p = hf_prefixes; *p; p++) {
            snprintf(embd, sizeof embd, "%sembed_tokens.weight", *p);
            if (fl_has_tensor(wl, embd)) {
                *prefix = *p;
                break;
            }
        }
        snprintf(embd, sizeof embd, "%sembed_tokens.weight", *prefix);
        snprintf(norm, sizeof norm, "%snorm.weight", *prefix);
        /* HF keeps lm_head at the top; mlx-lm under language_model. beside
         * language_model.model. */
        snprintf(output, sizeof output, "%slm_head.weight",
                 strcmp(*prefix, "language_model.model.") == 0 ? "language_model." : "");
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
    lm->output = lm->tok_embd;
    if (fl_has_tensor(wl, output) && (st = fl_load_matrix(wl, output, lm->hp.n_embd, lm->hp.n_vocab, &lm->output)))
        return st;
    fl_lm_count(lm, &lm->output);
    return FLINT_OK;
}

flint_status fl_lm_load_experts(fl_lm *lm, int32_t l, bool gguf, const char *prefix, const char *const stacked[4],
                                const char *per_expert) {
    char stem[192];
    fl_layer_tensor_name(stem, sizeof stem, gguf, prefix, l, per_expert);
    const fl_expert_names names = {stacked[0], stacked[1], stacked[2], stacked[3], gguf ? NULL : stem};
    fl_experts *ex = &lm->layers[l].experts;
    flint_status st = fl_experts_load(ex, &lm->wl, l, &names, lm->hp.n_embd, lm->hp.n_ff_exp, lm->hp.n_expert);
    if (!st) lm->weight_bytes += (uint64_t)lm->hp.n_expert_used * fl_expert_bytes(ex); /* the experts a token uses */
    return st;
}

uint64_t fl_lm_layer_bytes(const fl_lm *lm, int32_t l) {
    const fl_layer *L = &lm->layers[l];
    const fl_weight *m[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down, &L->router, &L->ple_gate,
                            &L->ple_proj, &L->ssm_qkv, &L->ssm_z, &L->ssm_beta, &L->ssm_alpha, &L->ssm_out,
                            &L->shexp_gate, &L->shexp_up, &L->shexp_down, &L->shexp_inp};
    uint64_t b = 0;
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (m[i]->data) b += fl_weight_bytes(m[i]);
    /* streamed experts stay in the store's slots (host memory) */
    if (L->experts.n_expert && !L->experts.stream) b += (uint64_t)L->experts.n_expert * fl_expert_bytes(&L->experts);
    /* the norms and small vectors: a few rows of H each */
    return b + 16 * (uint64_t)lm->hp.n_embd * sizeof(float);
}

void fl_lm_count(fl_lm *lm, const fl_weight *w) {
    lm->weight_bytes += fl_weight_bytes(w);
}

void fl_lm_free(fl_lm *lm) {
    fl_weight_loader_free(&lm->wl);
    for (int32_t l = 0; lm->layers && l < lm->hp.n_layer; l++) fl_experts_free(&lm->layers[l].experts);
    free(lm->layers);
    memset(lm, 0, sizeof *lm);
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* The scratch's layout for be and n_batch: each float array's width per
 * token (in the order of fl_lm_scratch_init's slots), the rows of a MoE
 * pass, and the host block's parts (positions and the MoE index arrays,
 * then the embedding rows). */
enum { N_SLOTS = 18 };
typedef struct scratch_layout {
    int64_t widths[N_SLOTS];
    int64_t floats;   /* of the float block */
    int64_t moe_rows; /* see fl_lm_scratch.moe_rows_max */
    int64_t n_ints;   /* of the host block, before the embedding rows */
    int64_t embed;    /* floats per token of the embedding rows */
} scratch_layout;

static scratch_layout layout_of(const fl_backend *be, const fl_hparams *hp, int32_t n_batch) {
    scratch_layout y = {0};
    const int64_t H = hp->n_embd, P = hp->n_embd_per_layer, K = hp->n_expert_used;
    const int64_t Kd = (int64_t)hp->ssm_n_k_heads * hp->ssm_d_k, Vd = (int64_t)hp->ssm_n_v_heads * hp->ssm_d_v;
    bool recurrent = false;
    int64_t qd = 0, kvd = 0, ff = max64(max64(hp->n_ff_exp, hp->n_ff_shexp), P);
    for (int32_t l = 0; l < hp->n_layer; l++) {
        const fl_layer_hparams *L = &hp->layer[l];
        qd = max64(qd, (int64_t)hp->n_head * L->head_dim);
        kvd = max64(kvd, (int64_t)L->n_head_kv * L->head_dim);
        ff = max64(ff, L->n_ff);
        recurrent |= L->recurrent;
    }
    const int64_t C = recurrent ? 2 * Kd + Vd : 0;
    /* the gated attention projects [q | gate] into g and splits it into q and u;
     * the DeltaNet mixer projects q, k, v channels into g and z into u */
    const int64_t g_width = max64(max64(ff, hp->attn_out_gate ? 2 * qd : 0), C);
    const int64_t u_width = max64(max64(ff, hp->attn_out_gate ? qd : 0), recurrent ? Vd : 0);
    const bool moe = hp->n_expert > 0;
    /* a MoE pass gathers up to moe_rows rows into moe_x, g, u and moe_y:
     * at least every expert one token uses, and the shared one */
    y.moe_rows = moe ? max64(n_batch, K + 1) : n_batch;
    const int64_t moe_mult = (y.moe_rows + n_batch - 1) / n_batch;
    /* a backend with the MoE ops (blocks.c) runs every (token, choice) row
     * of the experts at once through g and u */
    const int64_t gu_mult = moe && be && be->ops->moe_matmul ? max64(moe_mult, K) : moe_mult;
    /* x xb q k v att o g u | ple (token part and projection) | moe_logits moe_x moe_y moe_out moe_w moe_yk |
     * ssm_x ssm_ab */
    const int64_t widths[N_SLOTS] = {H, H, max64(qd, Kd), max64(kvd, Kd), max64(kvd, Vd), max64(qd, Vd), H,
                                     g_width * gu_mult, u_width * gu_mult, 2 * (int64_t)hp->n_layer * P,
                                     2 * (int64_t)hp->n_expert,
                                     moe ? H * moe_mult : 0, moe ? H * moe_mult : 0, moe ? H : 0, K,
                                     moe ? H * (K + 1) : 0, C, recurrent ? 2 * hp->ssm_n_v_heads : 0};
    memcpy(y.widths, widths, sizeof widths);
    for (int i = 0; i < N_SLOTS; i++) y.floats += widths[i] * n_batch;
    /* pos, moe_e, moe_rows, moe_cnt/need/hint; rounded up so the floats after them stay 64-byte aligned */
    y.n_ints = ((int64_t)n_batch * (1 + K) + y.moe_rows + 3 * (int64_t)hp->n_expert + 15) / 16 * 16;
    y.embed = max64(H, (int64_t)hp->n_layer * P);
    return y;
}

static uint64_t host_bytes(const scratch_layout *y, int32_t n_batch) {
    return ((uint64_t)y->n_ints + (uint64_t)y->embed * (uint64_t)n_batch) * 4;
}

uint64_t fl_lm_scratch_bytes(const fl_backend *be, const fl_hparams *hp, int32_t n_batch) {
    const scratch_layout y = layout_of(be, hp, n_batch);
    return (uint64_t)y.floats * sizeof(float) + host_bytes(&y, n_batch);
}

flint_status fl_lm_scratch_init(fl_lm_scratch *s, fl_backend *be, const fl_hparams *hp, int32_t n_batch, bool host) {
    memset(s, 0, sizeof *s);
    s->be = be;
    if (n_batch <= 0) return fl_errorf(FLINT_E_INVALID_ARG, "batch of %d tokens", n_batch);
    const scratch_layout y = layout_of(be, hp, n_batch);
    float **slots[N_SLOTS] = {&s->x, &s->xb, &s->q, &s->k, &s->v, &s->att, &s->o, &s->g, &s->u, &s->ple,
                              &s->moe_logits, &s->moe_x, &s->moe_y, &s->moe_out, &s->moe_w, &s->moe_yk, &s->ssm_x,
                              &s->ssm_ab};
    const size_t block_bytes = (size_t)y.floats * sizeof(float), pos_bytes = host_bytes(&y, n_batch);
    s->block = host ? fl_backend_alloc(be, block_bytes) : fl_backend_alloc_device(be, block_bytes);
    s->pos = fl_backend_alloc(be, pos_bytes);
    s->kv_dst = malloc(2 * (size_t)n_batch * sizeof *s->kv_dst);
    s->bytes = block_bytes + pos_bytes;
    if (!s->block || !s->pos || !s->kv_dst) {
        fl_lm_scratch_free(s);
        return fl_errorf(FLINT_E_NOMEM, "out of memory for activations of %d tokens", n_batch);
    }
    float *at = s->block;
    for (int i = 0; i < N_SLOTS; i++) {
        *slots[i] = y.widths[i] ? at : NULL;
        at += y.widths[i] * n_batch;
    }
    s->moe_rows = s->pos + n_batch;
    s->moe_e = s->moe_rows + y.moe_rows;
    s->moe_cnt = s->moe_e + (int64_t)n_batch * hp->n_expert_used;
    s->moe_need = s->moe_cnt + hp->n_expert;
    s->moe_hint = s->moe_need + hp->n_expert;
    s->embed = (float *)(s->pos + y.n_ints);
    s->n_batch = n_batch;
    s->moe_rows_max = (int32_t)y.moe_rows;
    return FLINT_OK;
}

bool fl_lm_host_reads_scratch(const fl_lm *lm, const fl_placement *pl) {
    if (fl_place_split(pl)) return true;
    for (int32_t l = 0; l < lm->hp.n_layer; l++)
        if (lm->layers[l].experts.stream) return true;
    return false;
}

void fl_lm_scratch_free(fl_lm_scratch *s) {
    fl_backend_free(s->be, s->block);
    fl_backend_free(s->be, s->pos);
    free(s->kv_dst);
    memset(s, 0, sizeof *s);
}

int32_t fl_batch_n_out(const fl_batch *b) {
    int32_t rows = 0;
    for (int32_t i = 0; i < b->n_spans; i++) rows += fl_span_n_out(&b->spans[i]);
    return rows;
}

flint_status fl_lm_check_tokens(const fl_lm *lm, const int32_t *tokens, int32_t n) {
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= lm->hp.n_vocab)
            return fl_errorf(FLINT_E_INVALID_ARG, "token id %d is outside the vocabulary of %d", tokens[i],
                             lm->hp.n_vocab);
    return FLINT_OK;
}

static flint_status check_batch(const fl_lm *lm, const fl_lm_scratch *s, const fl_batch *b) {
    if (b->n <= 0 || b->n > s->n_batch)
        return fl_errorf(FLINT_E_INVALID_ARG, "forward of %d tokens (the batch holds 1..%d)", b->n, s->n_batch);
    int32_t total = 0;
    for (int32_t i = 0; i < b->n_spans; i++) {
        const fl_span *sp = &b->spans[i];
        if (!sp->cache || sp->n <= 0)
            return fl_errorf(FLINT_E_INVALID_ARG, "batch span %d: no sequence or no tokens", i);
        if (sp->cache->pool != b->spans[0].cache->pool)
            return fl_errorf(FLINT_E_INVALID_ARG, "batch span %d: a sequence of another context", i);
        for (int32_t j = 0; j < i; j++)
            if (b->spans[j].cache == sp->cache)
                return fl_errorf(FLINT_E_INVALID_ARG, "batch spans %d and %d continue the same sequence", j, i);
        if (sp->cache->n_past + sp->n > sp->cache->n_ctx)
            return fl_errorf(FLINT_E_INVALID_ARG, "context full: %d + %d tokens exceed the context of %d",
                             sp->cache->n_past, sp->n, sp->cache->n_ctx);
        total += sp->n;
    }
    if (total != b->n) return fl_errorf(FLINT_E_INVALID_ARG, "batch spans hold %d tokens, the batch %d", total, b->n);
    return fl_lm_check_tokens(lm, b->tokens, b->n);
}

flint_status fl_lm_forward_batch(const fl_lm *lm, const fl_placement *pl, fl_lm_scratch *s, const fl_batch *b,
                                 float *logits) {
    flint_status st = check_batch(lm, s, b);
    if (st) return st;
    /* the step's K/V blocks, for every span or none */
    int64_t need[FL_KV_GROUPS] = {0, 0};
    for (int32_t i = 0; i < b->n_spans; i++) {
        int64_t k[FL_KV_GROUPS];
        fl_kv_cache_need(b->spans[i].cache, b->spans[i].n, k);
        for (int g = 0; g < FL_KV_GROUPS; g++) need[g] += k[g];
    }
    if ((st = fl_kv_pool_fits(b->spans[0].cache->pool, need))) return st;
    for (int32_t i = 0, t = 0; i < b->n_spans; i++) {
        for (int32_t j = 0; j < b->spans[i].n; j++) s->pos[t++] = b->spans[i].cache->n_past + j;
        fl_kv_cache_reserve(b->spans[i].cache, b->spans[i].n);
    }
    st = lm->forward(lm, pl, s, b, logits);
    /* the step's ops complete (or fail) before the host touches the caches again */
    flint_status done = fl_place_sync(pl);
    if (!st) st = done;
    for (int32_t i = 0; i < b->n_spans; i++)
        if (st) fl_kv_cache_unwind(b->spans[i].cache, b->spans[i].n);
        else fl_kv_cache_advance(b->spans[i].cache, b->spans[i].n);
    return st;
}

flint_status fl_lm_forward(const fl_lm *lm, fl_backend *be, fl_lm_scratch *s, fl_kv_cache *cache,
                           const int32_t *tokens, int32_t n, float *logits, bool all_logits) {
    fl_span span = {.cache = cache, .n = n, .out = all_logits ? FL_OUT_ALL : FL_OUT_LAST};
    const fl_placement pl = fl_place_one(be);
    return fl_lm_forward_batch(lm, &pl, s, &(fl_batch){.tokens = tokens, .n = n, .spans = &span, .n_spans = 1}, logits);
}
