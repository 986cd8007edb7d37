/* kv.h — the KV cache of one sequence. Each layer keeps K and V rows of
 * [n_head_kv * head_dim] f32 and the position each row holds (-1: empty).
 * Global layers hold up to n_ctx positions (row = pos). Sliding-window
 * layers keep a ring of window + n_batch - 1 rows (row = pos mod rows):
 * enough for every query of a chunk of up to n_batch new tokens to see its
 * whole window while the chunk's own keys are written, so memory grows
 * with the window, not with the context. */
#ifndef FL_CACHE_KV_H
#define FL_CACHE_KV_H

#include <stdbool.h>
#include <stdint.h>

#include "flint.h"
#include "model/hparams.h"

typedef struct fl_kv_layer {
    float *k, *v;     /* [n_rows][row] */
    int32_t *pos;     /* [n_rows] */
    int32_t n_rows;
    bool ring;
} fl_kv_layer;

typedef struct fl_kv_cache {
    int32_t n_layer, row;  /* row = n_head_kv * head_dim floats */
    int32_t n_ctx;         /* positions 0 .. n_ctx-1 */
    int32_t n_past;        /* positions already written */
    fl_kv_layer *layers;
    uint64_t bytes;        /* K, V and positions of all layers */
} fl_kv_cache;

flint_status fl_kv_cache_init(fl_kv_cache *c, const fl_hparams *hp, int32_t n_ctx, int32_t n_batch);
void fl_kv_cache_free(fl_kv_cache *c);
/* Empties the cache (every row's position -1, n_past 0). */
void fl_kv_cache_reset(fl_kv_cache *c);

/* Forgets positions >= n_keep. Ring layers can only give back what they
 * still hold: at most rows - window positions; FLINT_E_INVALID_ARG beyond
 * that (the caller resets instead). */
flint_status fl_kv_cache_truncate(fl_kv_cache *c, int32_t n_keep, int32_t window);

static inline int32_t fl_kv_row_of(const fl_kv_layer *l, int32_t pos) { return l->ring ? pos % l->n_rows : pos; }

#endif
