/* kv.c — KV cache allocation: full layers at n_ctx rows, sliding layers as
 * rings of window + n_batch - 1 rows. */
#include "cache/kv.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

void fl_kv_cache_reset(fl_kv_cache *c) {
    for (int32_t l = 0; l < c->n_layer; l++) {
        fl_kv_layer *kl = &c->layers[l];
        for (int32_t r = 0; r < kl->n_rows; r++) kl->pos[r] = -1;
        if (kl->conv) memset(kl->conv, 0, (size_t)kl->n_conv * sizeof *kl->conv);
        if (kl->ssm) memset(kl->ssm, 0, (size_t)kl->n_ssm * sizeof *kl->ssm);
    }
    c->n_past = 0;
}

flint_status fl_kv_cache_copy(fl_kv_cache *dst, const fl_kv_cache *src) {
    if (dst->n_layer != src->n_layer || dst->n_ctx != src->n_ctx)
        return fl_errorf(FLINT_E_INVALID_ARG, "cache copy between different shapes");
    for (int32_t l = 0; l < src->n_layer; l++) {
        const fl_kv_layer *s = &src->layers[l];
        fl_kv_layer *d = &dst->layers[l];
        if (d->n_rows != s->n_rows || d->row != s->row || d->n_conv != s->n_conv || d->n_ssm != s->n_ssm)
            return fl_errorf(FLINT_E_INVALID_ARG, "cache copy between different shapes (layer %d)", l);
        size_t kv = (size_t)s->n_rows * (size_t)s->row * sizeof(float);
        if (kv) memcpy(d->k, s->k, kv), memcpy(d->v, s->v, kv);
        if (s->n_rows) memcpy(d->pos, s->pos, (size_t)s->n_rows * sizeof *s->pos);
        if (s->n_conv) memcpy(d->conv, s->conv, (size_t)s->n_conv * sizeof *s->conv);
        if (s->n_ssm) memcpy(d->ssm, s->ssm, (size_t)s->n_ssm * sizeof *s->ssm);
    }
    dst->n_past = src->n_past;
    return FLINT_OK;
}

flint_status fl_kv_cache_init(fl_kv_cache *c, const fl_hparams *hp, int32_t n_ctx, int32_t n_batch) {
    memset(c, 0, sizeof *c);
    if (n_ctx <= 0 || n_batch <= 0)
        return fl_errorf(FLINT_E_INVALID_ARG, "KV cache: context %d and batch %d must be positive", n_ctx, n_batch);
    c->n_layer = hp->n_layer;
    c->n_ctx = n_ctx;
    c->layers = calloc((size_t)hp->n_layer, sizeof *c->layers);
    if (!c->layers) return fl_errorf(FLINT_E_NOMEM, "out of memory for the KV cache");
    for (int32_t l = 0; l < hp->n_layer; l++) {
        fl_kv_layer *kl = &c->layers[l];
        const fl_layer_hparams *L = &hp->layer[l];
        if (L->recurrent) {
            int64_t channels = 2 * (int64_t)hp->ssm_n_k_heads * hp->ssm_d_k + (int64_t)hp->ssm_n_v_heads * hp->ssm_d_v;
            kl->n_conv = (hp->ssm_conv_kernel - 1) * channels;
            kl->n_ssm = (int64_t)hp->ssm_n_v_heads * hp->ssm_d_k * hp->ssm_d_v;
            kl->conv = malloc((size_t)(kl->n_conv > 0 ? kl->n_conv : 1) * sizeof(float));
            kl->ssm = malloc((size_t)kl->n_ssm * sizeof(float));
            if (!kl->conv || !kl->ssm) {
                fl_kv_cache_free(c);
                return fl_errorf(FLINT_E_NOMEM, "out of memory for a recurrent state");
            }
            c->bytes += (uint64_t)(kl->n_conv + kl->n_ssm) * sizeof(float);
            continue;
        }
        if (L->kv_source != l) continue;
        int64_t rows = n_ctx;
        kl->row = L->n_head_kv * L->head_dim;
        if (L->sliding && hp->sliding_window > 0 && (int64_t)hp->sliding_window + n_batch - 1 < n_ctx) {
            rows = (int64_t)hp->sliding_window + n_batch - 1;
            kl->ring = true;
        }
        kl->n_rows = (int32_t)rows;
        size_t bytes = (size_t)rows * (size_t)kl->row * sizeof(float);
        kl->k = malloc(bytes);
        kl->v = malloc(bytes);
        kl->pos = malloc((size_t)rows * sizeof *kl->pos);
        if (!kl->k || !kl->v || !kl->pos) {
            fl_kv_cache_free(c);
            return fl_errorf(FLINT_E_NOMEM, "out of memory for a KV cache of %d positions", n_ctx);
        }
        c->bytes += 2 * bytes + (size_t)rows * sizeof *kl->pos;
    }
    fl_kv_cache_reset(c);
    return FLINT_OK;
}

void fl_kv_cache_free(fl_kv_cache *c) {
    for (int32_t l = 0; l < c->n_layer && c->layers; l++) {
        free(c->layers[l].k);
        free(c->layers[l].v);
        free(c->layers[l].pos);
        free(c->layers[l].conv);
        free(c->layers[l].ssm);
    }
    free(c->layers);
    memset(c, 0, sizeof *c);
}

flint_status fl_kv_cache_truncate(fl_kv_cache *c, int32_t n_keep, int32_t window) {
    if (n_keep < 0 || n_keep > c->n_past)
        return fl_errorf(FLINT_E_INVALID_ARG, "cannot keep %d of %d positions", n_keep, c->n_past);
    if (n_keep == 0) {
        fl_kv_cache_reset(c);
        return FLINT_OK;
    }
    for (int32_t l = 0; l < c->n_layer; l++) {
        const fl_kv_layer *kl = &c->layers[l];
        if (kl->ssm && n_keep < c->n_past)
            return fl_errorf(FLINT_E_INVALID_ARG,
                             "cannot rewind %d positions: a recurrent state cannot be rewound (reset the sequence)",
                             c->n_past - n_keep);
        if (kl->ring && c->n_past - n_keep > kl->n_rows - window)
            return fl_errorf(FLINT_E_INVALID_ARG,
                             "cannot rewind %d positions: the sliding-window cache keeps only %d beyond its window",
                             c->n_past - n_keep, kl->n_rows - window);
    }
    for (int32_t l = 0; l < c->n_layer; l++)
        for (int32_t r = 0; r < c->layers[l].n_rows; r++)
            if (c->layers[l].pos[r] >= n_keep) c->layers[l].pos[r] = -1;
    c->n_past = n_keep;
    return FLINT_OK;
}
