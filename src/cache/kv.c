/* kv.c — KV cache allocation: full layers at n_ctx rows, sliding layers as
 * rings of window + n_batch - 1 rows. */
#include "cache/kv.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

void fl_kv_cache_reset(fl_kv_cache *c) {
    for (int32_t l = 0; l < c->n_layer; l++)
        for (int32_t r = 0; r < c->layers[l].n_rows; r++) c->layers[l].pos[r] = -1;
    c->n_past = 0;
}

flint_status fl_kv_cache_init(fl_kv_cache *c, const fl_hparams *hp, int32_t n_ctx, int32_t n_batch) {
    memset(c, 0, sizeof *c);
    if (n_ctx <= 0 || n_batch <= 0)
        return fl_errorf(FLINT_E_INVALID_ARG, "KV cache: context %d and batch %d must be positive", n_ctx, n_batch);
    c->n_layer = hp->n_layer;
    c->row = hp->n_head_kv * hp->head_dim;
    c->n_ctx = n_ctx;
    c->layers = calloc((size_t)hp->n_layer, sizeof *c->layers);
    if (!c->layers) return fl_errorf(FLINT_E_NOMEM, "out of memory for the KV cache");
    for (int32_t l = 0; l < hp->n_layer; l++) {
        fl_kv_layer *kl = &c->layers[l];
        int64_t rows = n_ctx;
        if (hp->layer_sliding[l] && hp->sliding_window > 0 && (int64_t)hp->sliding_window + n_batch - 1 < n_ctx) {
            rows = (int64_t)hp->sliding_window + n_batch - 1;
            kl->ring = true;
        }
        kl->n_rows = (int32_t)rows;
        size_t bytes = (size_t)rows * (size_t)c->row * sizeof(float);
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
    }
    free(c->layers);
    memset(c, 0, sizeof *c);
}

flint_status fl_kv_cache_truncate(fl_kv_cache *c, int32_t n_keep, int32_t window) {
    if (n_keep < 0 || n_keep > c->n_past)
        return fl_errorf(FLINT_E_INVALID_ARG, "cannot keep %d of %d positions", n_keep, c->n_past);
    for (int32_t l = 0; l < c->n_layer; l++) {
        const fl_kv_layer *kl = &c->layers[l];
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
