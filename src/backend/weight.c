/* weight.c — what every room may ask of an fl_weight view, whatever its
 * type: a row as f32, its byte sizes, a view further down a stack. An MLX
 * weight's scales and biases are separate arrays of one row per weight row,
 * so they move with the rows. */
#include "backend/backend.h"

#include "quant/dequant.h"
#include "quant/types.h"

uint64_t fl_weight_scale_row_bytes(const fl_weight *w) {
    if (fl_mlx_mode_of(w->type) == FL_MLX_NONE || w->group_size <= 0) return 0;
    const fl_type_info *s = fl_type_get(w->scale_type);
    return s ? (uint64_t)(w->k / w->group_size) * (uint64_t)s->type_size : 0;
}

flint_status fl_weight_row_f32(const fl_weight *w, int64_t r, float *y) {
    const uint8_t *row = (const uint8_t *)w->data + (uint64_t)r * w->row_bytes;
    if (fl_mlx_mode_of(w->type) == FL_MLX_NONE) return fl_dequant_row(w->type, row, y, w->k);
    const uint64_t sb = fl_weight_scale_row_bytes(w) * (uint64_t)r;
    return fl_dequant_mlx_row(w->type, w->group_size, w->scale_type, row, (const uint8_t *)w->scales + sb,
                              w->biases ? (const uint8_t *)w->biases + sb : NULL, y, w->k);
}

void fl_weight_skip_rows(fl_weight *w, int64_t rows) {
    w->data = (const uint8_t *)w->data + (uint64_t)rows * w->row_bytes;
    const uint64_t sb = fl_weight_scale_row_bytes(w) * (uint64_t)rows;
    if (w->scales) w->scales = (const uint8_t *)w->scales + sb;
    if (w->biases) w->biases = (const uint8_t *)w->biases + sb;
}

uint64_t fl_weight_bytes(const fl_weight *w) {
    if (!w->data) return 0;
    const uint64_t sb = fl_weight_scale_row_bytes(w);
    return (uint64_t)w->m * (w->row_bytes + (w->biases ? 2 * sb : sb));
}
