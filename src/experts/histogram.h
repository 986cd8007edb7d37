/* histogram.h — the routing histogram of the expert store as a file, so a
 * later run starts with the hot set an earlier one learned
 * (flint_model_expert_histogram_save / _load).
 *
 * Format (little-endian, version 1):
 *   "FLXH"  u32 version  u64 model_bytes  u32 n_layers  u32 n_expert
 *   u64 counts[n_layers][n_expert]
 * model_bytes is the model's tensor data in bytes (flint_tensor_get's
 * sizes summed): with the shape it names the model the counts belong to.
 * Layers without experts have rows of zeros. The file is exactly that
 * long. */
#ifndef FL_EXPERTS_HISTOGRAM_H
#define FL_EXPERTS_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "flint.h"

#define FL_HIST_VERSION 1u
#define FL_HIST_HEADER 24

typedef struct fl_histogram {
    uint64_t model_bytes;
    int32_t n_layers, n_expert;
    uint64_t *counts; /* [n_layers][n_expert] */
} fl_histogram;

/* Parses a file's bytes (what names it in messages); *out owns its counts. */
flint_status fl_hist_parse(const uint8_t *data, size_t size, const char *what, fl_histogram *out);
flint_status fl_hist_write(const fl_histogram *h, const char *path);
void fl_hist_free(fl_histogram *h);

#endif
