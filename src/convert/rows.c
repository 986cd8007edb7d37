/* rows.c — one output row as floats: the source row through its type's
 * reference dequantizer, then the tensor's column order and elementwise op.
 * This is the one place a source format plugs in: GGUF and safetensors
 * types go through fl_dequant_row; an MLX-quantized module (codes, scales
 * and biases) through fl_weight_row_f32 (fl_dequant_mlx_row). */
#include <math.h>
#include <string.h>

#include "base/error.h"
#include "convert/plan.h"
#include "quant/dequant.h"
#include "quant/types.h"

int64_t fl_cv_rows(const fl_cv_tensor *t) {
    int64_t r = 1;
    for (int32_t d = 1; d < t->n_dims; d++) r *= t->ne[d]; /* bounded by the source's checked size */
    return r;
}

/* Index i of a tiled order read from the grouped one (fl_cv_reorder). */
static int64_t reorder(const fl_cv_reorder *o, int64_t i) {
    if (o->n_k == 0 || i < o->start) return i;
    int64_t j = i - o->start, d = j % o->hd, head = j / o->hd;
    int64_t kh = head % o->n_k, jv = head / o->n_k;
    return o->start + (kh * o->n_vpk + jv) * o->hd + d;
}

/* Whether a reordering covers exactly n indices (a permutation of them). */
static bool fits(const fl_cv_reorder *o, int64_t n) { return o->n_k == 0 || n - o->start == o->n_k * o->n_vpk * o->hd; }

static flint_status source_row(const fl_cv_tensor *t, int64_t row, float *out) {
    const flint_tensor_info *s = &t->src;
    bool second = false;
    if (t->join_rows > 0) { /* row of the joined [E, 2F, ..]: from src or src2 [E, F, ..] */
        int64_t e = row / (2 * t->join_rows), i = row % (2 * t->join_rows);
        second = i >= t->join_rows;
        row = e * t->join_rows + (second ? i - t->join_rows : i);
        if (second) s = &t->src2;
    }
    if (second ? t->is_mlx2 : t->is_mlx) return fl_weight_row_f32(second ? &t->mlx2 : &t->mlx, row, out);
    uint64_t rb;
    if (!fl_type_row_bytes(s->type, (uint64_t)s->ne[0], &rb))
        return fl_errorf(FLINT_E_FORMAT, "tensor '%s': rows of %lld elements do not fit type %s", s->name,
                         (long long)s->ne[0], flint_type_name(s->type));
    return fl_dequant_row(s->type, (const uint8_t *)s->data + (uint64_t)row * rb, out, s->ne[0]);
}

flint_status fl_cv_read_row(const fl_cv_tensor *t, int64_t r, float *out, float *tmp) {
    const int64_t n = t->ne[0];
    if (t->values) {
        memcpy(out, t->values + r * n, (size_t)n * sizeof *out);
        return FLINT_OK;
    }
    int64_t i = r % t->slab_rows, src_rows = 1;
    for (int32_t d = 1; d < t->src.n_dims; d++) src_rows *= t->src.ne[d];
    if (t->join_rows > 0) src_rows *= 2; /* src2 holds as many */
    int64_t src_row = (r / t->slab_rows) * t->src_slab_rows + t->slab_offset + reorder(&t->rows, i);
    /* a shape that does not match the head layout the maps assume */
    if (src_row < 0 || src_row >= src_rows || t->src.ne[0] != n || !fits(&t->rows, t->slab_rows) || !fits(&t->cols, n))
        return fl_errorf(FLINT_E_FORMAT, "tensor '%s': its shape does not match the model's head layout", t->src.name);
    flint_status st = source_row(t, src_row, t->cols.n_k ? tmp : out);
    if (st) return st;
    if (t->cols.n_k)
        for (int64_t c = 0; c < n; c++) out[c] = tmp[reorder(&t->cols, c)];
    switch (t->op) {
    case FL_CV_COPY: break;
    case FL_CV_ADD_ONE:
        for (int64_t c = 0; c < n; c++) out[c] += 1.0f;
        break;
    case FL_CV_NEG_EXP:
        for (int64_t c = 0; c < n; c++) out[c] = -expf(out[c]);
        break;
    }
    /* the converter computes on an F16 tensor in F16 (BF16 ones it widens to F32 first) */
    if (t->op != FL_CV_COPY && t->src.type == FLINT_TYPE_F16)
        for (int64_t c = 0; c < n; c++) out[c] = fl_f16_to_f32(fl_f32_to_f16(out[c]));
    return FLINT_OK;
}
