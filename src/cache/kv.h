/* kv.h — the cache of one sequence. Each attention layer keeps K and V
 * rows of its own [n_head_kv * head_dim] f32 and the position each row
 * holds (-1: empty); layers that share another layer's K/V keep nothing;
 * recurrent (Gated DeltaNet) layers keep their conv and recurrent state
 * instead, which summarise every position so far and cannot be rewound.
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
    int32_t n_rows;   /* 0: the layer reads another layer's cache */
    int32_t row;      /* floats per row: n_head_kv * head_dim of the layer */
    bool ring;
    float *conv;      /* recurrent layers: [conv_kernel - 1][channels], the last inputs */
    float *ssm;       /* recurrent layers: [n_v_heads][d_k][d_v] */
    int64_t n_conv, n_ssm;
} fl_kv_layer;

typedef struct fl_kv_cache {
    int32_t n_layer;
    int32_t n_ctx;         /* positions 0 .. n_ctx-1 */
    int32_t n_past;        /* positions already written */
    fl_kv_layer *layers;
    uint64_t bytes;        /* K, V and positions of all layers */
} fl_kv_cache;

flint_status fl_kv_cache_init(fl_kv_cache *c, const fl_hparams *hp, int32_t n_ctx, int32_t n_batch);
void fl_kv_cache_free(fl_kv_cache *c);
/* Empties the cache (every row's position -1, states zero, n_past 0). */
void fl_kv_cache_reset(fl_kv_cache *c);
/* Makes dst (initialised for the same model and sizes) a copy of src, for
 * reusing a prefix in another sequence. */
flint_status fl_kv_cache_copy(fl_kv_cache *dst, const fl_kv_cache *src);

/* Forgets positions >= n_keep. Ring layers can only give back what they
 * still hold: at most rows - window positions; recurrent layers nothing
 * (n_keep 0 resets); FLINT_E_INVALID_ARG beyond that (the caller resets
 * and decodes the prefix again, or keeps a copy). */
flint_status fl_kv_cache_truncate(fl_kv_cache *c, int32_t n_keep, int32_t window);

static inline int32_t fl_kv_row_of(const fl_kv_layer *l, int32_t pos) { return l->ring ? pos % l->n_rows : pos; }

#endif
