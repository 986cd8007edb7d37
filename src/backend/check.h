/* check.h — the argument checks every backend makes the same way, so a
 * caller's mistake gets the same message on every device. A backend adds
 * its own limits after them. */
#ifndef FL_BACKEND_CHECK_H
#define FL_BACKEND_CHECK_H

#include "backend/backend.h"

/* A weight a matmul can take: a known type the reference dequantizes (MLX:
 * a valid mode, group size and scale type, scales and biases present),
 * m >= 0, k > 0 and whole blocks, data present, row_bytes at least a row. */
flint_status fl_check_weight(const fl_weight *w);

/* The attention op's arguments (backend.h): head counts, dims, window,
 * counts, the KV type, kv_stride against a row, and no NULL buffer. With
 * n_q == 0 the buffers are not looked at. */
flint_status fl_check_attention(const fl_attn_params *p, const float *out, const float *q, const int32_t *pos_q,
                                int64_t n_q, const fl_kv_tile *tiles, int64_t n_tiles, int64_t kv_stride);

#endif
