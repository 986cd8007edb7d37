/* mlx.h — the quantization block of an MLX folder's config.json (the layout
 * mlx-lm writes, MODELS.md §11): a default {group_size, bits, mode} and
 * per-module overrides keyed by module path (a {group_size, bits[, mode]}
 * object, or false for a module left unquantized):
 *   "quantization": {"group_size": 64, "bits": 4, "mode": "affine",
 *                    "model.layers.0.mlp.gate": {"group_size": 64, "bits": 8}}
 * (mirrored in "quantization_config"). config.json arrives flattened
 * (format/config.h), so an override is "quantization.<module>.bits". Which
 * modules are quantized is said by the tensors (a "<module>.scales" tensor),
 * not by this block: it only gives their parameters. */
#ifndef FL_FORMAT_MLX_H
#define FL_FORMAT_MLX_H

#include <stdbool.h>
#include <stdint.h>

#include "flint.h"
#include "format/meta.h"
#include "quant/types.h"

typedef struct fl_mlx_quant {
    fl_mlx_mode mode;
    int32_t bits, group_size;
    flint_type type; /* FLINT_TYPE_MLX_* of mode and bits */
} fl_mlx_quant;

/* The parameters config.json gives module (a tensor name without its
 * ".weight"): its override, else the default. *quantized is false when the
 * override is false. Errors (naming the module and the file at path): no
 * quantization block, a mode MLX does not have, bits or a group size the
 * mode does not take (affine: bits 1-6 or 8, groups of 32, 64 or 128;
 * mxfp4 4/32, mxfp8 8/32, nvfp4 4/16). */
flint_status fl_mlx_module_quant(const fl_meta *config, const char *path, const char *module, bool *quantized,
                                 fl_mlx_quant *q);

#endif
