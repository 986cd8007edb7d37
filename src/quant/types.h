/* types.h — the table of element and weight types: how many elements a
 * block holds and how many bytes it takes. Every size computation on tensor
 * data goes through fl_type_row_bytes(), which checks for overflow. */
#ifndef FL_QUANT_TYPES_H
#define FL_QUANT_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "flint.h"

typedef struct fl_type_info {
    const char *name;    /* "Q4_K"; NULL for ids that are not types */
    int32_t block_size;  /* elements per block */
    int32_t type_size;   /* bytes per block */
    bool is_quantized;   /* block-quantized (needs dequantization to compute) */
    bool can_dequant;    /* fl_dequant_row() supports it */
    bool can_quant;      /* fl_quant_row() supports it */
} fl_type_info;

/* MLX quantization modes (mlx.core.quantize). */
typedef enum fl_mlx_mode { FL_MLX_NONE, FL_MLX_AFFINE, FL_MLX_MXFP4, FL_MLX_MXFP8, FL_MLX_NVFP4 } fl_mlx_mode;

/* NULL if type is not a known type. */
const fl_type_info *fl_type_get(flint_type type);
/* The MLX mode of type (FL_MLX_NONE: not an MLX type). */
fl_mlx_mode fl_mlx_mode_of(flint_type type);
/* "affine", "mxfp4", "mxfp8", "nvfp4" (mlx.core's names); "" for FL_MLX_NONE. */
const char *fl_mlx_mode_name(fl_mlx_mode mode);
/* Whether mode takes groups of group_size (affine 32, 64 or 128; nvfp4 16;
 * mxfp4 and mxfp8 32), and the sizes it takes, for messages. */
bool fl_mlx_group_ok(fl_mlx_mode mode, int32_t group_size);
const char *fl_mlx_groups(fl_mlx_mode mode);
/* Bits per code of an MLX type (0 for the others). */
int fl_mlx_bits(flint_type type);
/* The MLX type of mode and bits; false if MLX has none. */
bool fl_mlx_type(fl_mlx_mode mode, int bits, flint_type *out);
/* Maps a GGUF type id onto a flint_type; false if the id is unknown. */
bool fl_type_from_ggml(uint32_t id, flint_type *out);
/* Bytes for n elements; false if n is not a multiple of the block size or
 * the size overflows. */
bool fl_type_row_bytes(flint_type type, uint64_t n, uint64_t *bytes);

#endif
