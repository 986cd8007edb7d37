/* check.c — the argument checks every backend makes (check.h). */
#include "backend/check.h"

#include "base/error.h"
#include "quant/dequant.h"
#include "quant/types.h"

flint_status fl_check_weight(const fl_weight *w) {
    const fl_type_info *t = fl_type_get(w->type);
    const char *name = t ? t->name : "(unknown)";
    if (!t) return fl_errorf(FLINT_E_INVALID_ARG, "matmul: weight type %d is not a flint type", (int)w->type);
    if (w->m < 0 || w->k <= 0) {
        return fl_errorf(FLINT_E_INVALID_ARG, "matmul %s: bad shape m=%lld k=%lld", name, (long long)w->m,
                         (long long)w->k);
    }
    if (w->m > 0 && !w->data) return fl_errorf(FLINT_E_INVALID_ARG, "matmul %s: NULL weight data", name);
    if (fl_mlx_mode_of(w->type) != FL_MLX_NONE) {
        flint_status st = fl_mlx_check(w->type, w->group_size, w->scale_type);
        if (st) return fl_error_prefix(st, "matmul");
        if (w->k % w->group_size != 0) {
            return fl_errorf(FLINT_E_INVALID_ARG, "matmul %s: k=%lld is not a multiple of the group size %d",
                             name, (long long)w->k, (int)w->group_size);
        }
        if (w->m > 0 && (!w->scales || (fl_mlx_mode_of(w->type) == FL_MLX_AFFINE && !w->biases)))
            return fl_errorf(FLINT_E_INVALID_ARG, "matmul %s: NULL scales or biases", name);
    } else if (!t->can_dequant) {
        return fl_errorf(FLINT_E_UNSUPPORTED, "matmul: weight type %s is not supported", name);
    }
    uint64_t need;
    if (!fl_type_row_bytes(w->type, (uint64_t)w->k, &need)) {
        return fl_errorf(FLINT_E_INVALID_ARG, "matmul %s: k=%lld is not a multiple of the block size %d", name,
                         (long long)w->k, (int)t->block_size);
    }
    if (w->row_bytes < need) {
        return fl_errorf(FLINT_E_INVALID_ARG, "matmul %s: row_bytes %llu < %llu for k=%lld", name,
                         (unsigned long long)w->row_bytes, (unsigned long long)need, (long long)w->k);
    }
    return FLINT_OK;
}

flint_status fl_check_attention(const fl_attn_params *p, const float *out, const float *q, const int32_t *pos_q,
                                int64_t n_q, const fl_kv_tile *tiles, int64_t n_tiles, int64_t kv_stride) {
    if (!p || p->n_head <= 0 || p->n_head_kv <= 0 || p->n_head % p->n_head_kv != 0)
        return fl_errorf(FLINT_E_INVALID_ARG, "attention: %d query heads over %d KV heads",
                         p ? p->n_head : 0, p ? p->n_head_kv : 0);
    if (p->head_dim_k <= 0 || p->head_dim_v <= 0 || p->window < 0 || n_q < 0 || n_tiles < 0)
        return fl_errorf(FLINT_E_INVALID_ARG, "attention: head dims %d/%d, window %d, %lld queries, %lld key tiles",
                         p->head_dim_k, p->head_dim_v, p->window, (long long)n_q, (long long)n_tiles);
    if (p->kv_type != FLINT_TYPE_F32 && p->kv_type != FLINT_TYPE_F16 && p->kv_type != FLINT_TYPE_BF16)
        return fl_errorf(FLINT_E_UNSUPPORTED, "attention: KV cache type %d (F32, F16 or BF16 only)", (int)p->kv_type);
    int64_t need_k = (int64_t)p->n_head_kv * p->head_dim_k, need_v = (int64_t)p->n_head_kv * p->head_dim_v;
    if (n_tiles > 0 && (kv_stride < need_k || kv_stride < need_v))
        return fl_errorf(FLINT_E_INVALID_ARG, "attention: kv_stride %lld is shorter than a KV row (%lld/%lld)",
                         (long long)kv_stride, (long long)need_k, (long long)need_v);
    if (n_q == 0) return FLINT_OK;
    if (!out || !q || !pos_q || (n_tiles > 0 && !tiles)) return fl_errorf(FLINT_E_INVALID_ARG, "attention: NULL buffer");
    for (int64_t t = 0; t < n_tiles; t++)
        if (!tiles[t].k || !tiles[t].v || !tiles[t].pos)
            return fl_errorf(FLINT_E_INVALID_ARG, "attention: key tile %lld has a NULL buffer", (long long)t);
    return FLINT_OK;
}
