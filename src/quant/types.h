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

/* NULL if type is not a known type. */
const fl_type_info *fl_type_get(flint_type type);
/* Maps a GGUF type id onto a flint_type; false if the id is unknown. */
bool fl_type_from_ggml(uint32_t id, flint_type *out);
/* Bytes for n elements; false if n is not a multiple of the block size or
 * the size overflows. */
bool fl_type_row_bytes(flint_type type, uint64_t n, uint64_t *bytes);

#endif
