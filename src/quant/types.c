/* types.c — the type table. Block geometry of the ggml types follows
 * GGML_QUANT_SIZES in the gguf Python package; the safetensors dtypes are
 * plain element types (F4/F6 pack several elements per block of bytes). */
#include "quant/types.h"

#include <stddef.h>

#include "base/checked.h"

#define QK_K 256

/* name, block_size, type_size, is_quantized, can_dequant, can_quant */
static const fl_type_info table[FLINT_TYPE_COUNT] = {
    [FLINT_TYPE_F32] = {"F32", 1, 4, false, true, true},
    [FLINT_TYPE_F16] = {"F16", 1, 2, false, true, true},
    [FLINT_TYPE_Q4_0] = {"Q4_0", 32, 18, true, true, true},
    [FLINT_TYPE_Q4_1] = {"Q4_1", 32, 20, true, true, false},
    [FLINT_TYPE_Q5_0] = {"Q5_0", 32, 22, true, true, true},
    [FLINT_TYPE_Q5_1] = {"Q5_1", 32, 24, true, true, true},
    [FLINT_TYPE_Q8_0] = {"Q8_0", 32, 34, true, true, true},
    [FLINT_TYPE_Q8_1] = {"Q8_1", 32, 40, true, false, false},
    [FLINT_TYPE_Q2_K] = {"Q2_K", QK_K, 2 + 2 + QK_K / 16 + QK_K / 4, true, true, false},
    [FLINT_TYPE_Q3_K] = {"Q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12, true, true, false},
    [FLINT_TYPE_Q4_K] = {"Q4_K", QK_K, 2 + 2 + QK_K / 2 + 12, true, true, true},
    [FLINT_TYPE_Q5_K] = {"Q5_K", QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12, true, true, true},
    [FLINT_TYPE_Q6_K] = {"Q6_K", QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16, true, true, true},
    [FLINT_TYPE_Q8_K] = {"Q8_K", QK_K, 4 + QK_K + QK_K / 8, true, false, false},
    [FLINT_TYPE_IQ2_XXS] = {"IQ2_XXS", QK_K, 2 + QK_K / 4, true, false, false},
    [FLINT_TYPE_IQ2_XS] = {"IQ2_XS", QK_K, 2 + QK_K / 4 + QK_K / 32, true, false, false},
    [FLINT_TYPE_IQ3_XXS] = {"IQ3_XXS", QK_K, 2 + QK_K / 4 + QK_K / 8, true, false, false},
    [FLINT_TYPE_IQ1_S] = {"IQ1_S", QK_K, 2 + QK_K / 8 + QK_K / 16, true, false, false},
    [FLINT_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18, true, true, false},
    [FLINT_TYPE_IQ3_S] = {"IQ3_S", QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4, true, false, false},
    [FLINT_TYPE_IQ2_S] = {"IQ2_S", QK_K, 2 + QK_K / 4 + QK_K / 16, true, false, false},
    [FLINT_TYPE_IQ4_XS] = {"IQ4_XS", QK_K, 2 + 2 + QK_K / 2 + QK_K / 64, true, true, false},
    [FLINT_TYPE_I8] = {"I8", 1, 1, false, false, false},
    [FLINT_TYPE_I16] = {"I16", 1, 2, false, false, false},
    [FLINT_TYPE_I32] = {"I32", 1, 4, false, false, false},
    [FLINT_TYPE_I64] = {"I64", 1, 8, false, false, false},
    [FLINT_TYPE_F64] = {"F64", 1, 8, false, false, false},
    [FLINT_TYPE_IQ1_M] = {"IQ1_M", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32, true, false, false},
    [FLINT_TYPE_BF16] = {"BF16", 1, 2, false, true, true},
    [FLINT_TYPE_TQ1_0] = {"TQ1_0", QK_K, 2 + 4 * 13, true, false, false},
    [FLINT_TYPE_TQ2_0] = {"TQ2_0", QK_K, 2 + 64, true, false, false},
    [FLINT_TYPE_MXFP4] = {"MXFP4", 32, 17, true, true, false},
    [FLINT_TYPE_NVFP4] = {"NVFP4", 64, 36, true, false, false},
    [FLINT_TYPE_Q1_0] = {"Q1_0", 128, 18, true, false, false},
    [FLINT_TYPE_BOOL] = {"BOOL", 1, 1, false, false, false},
    [FLINT_TYPE_U8] = {"U8", 1, 1, false, false, false},
    [FLINT_TYPE_U16] = {"U16", 1, 2, false, false, false},
    [FLINT_TYPE_U32] = {"U32", 1, 4, false, false, false},
    [FLINT_TYPE_U64] = {"U64", 1, 8, false, false, false},
    [FLINT_TYPE_F8_E4M3] = {"F8_E4M3", 1, 1, false, true, false},
    [FLINT_TYPE_F8_E5M2] = {"F8_E5M2", 1, 1, false, true, false},
    [FLINT_TYPE_F8_E8M0] = {"F8_E8M0", 1, 1, false, true, false},
    [FLINT_TYPE_F4_E2M1] = {"F4", 2, 1, false, true, false},
    [FLINT_TYPE_F6_E2M3] = {"F6_E2M3", 4, 3, false, true, false},
    [FLINT_TYPE_F6_E3M2] = {"F6_E3M2", 4, 3, false, true, false},
    [FLINT_TYPE_C64] = {"C64", 1, 8, false, false, false},
    [FLINT_TYPE_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 1, 1, false, true, false},
    [FLINT_TYPE_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 1, 1, false, true, false},
    /* MLX rows are n_in * bits / 32 words (a block: the fewest elements that
     * fill whole words); scales and biases are separate tensors */
    [FLINT_TYPE_MLX_Q4] = {"MLX_Q4", 8, 4, true, false, false},
    [FLINT_TYPE_MLX_Q8] = {"MLX_Q8", 4, 4, true, false, false},
    [FLINT_TYPE_MLX_Q1] = {"MLX_Q1", 32, 4, true, false, false},
    [FLINT_TYPE_MLX_Q2] = {"MLX_Q2", 16, 4, true, false, false},
    [FLINT_TYPE_MLX_Q3] = {"MLX_Q3", 32, 12, true, false, false},
    [FLINT_TYPE_MLX_Q5] = {"MLX_Q5", 32, 20, true, false, false},
    [FLINT_TYPE_MLX_Q6] = {"MLX_Q6", 16, 12, true, false, false},
    [FLINT_TYPE_MLX_MXFP4] = {"MLX_MXFP4", 8, 4, true, false, false},
    [FLINT_TYPE_MLX_MXFP8] = {"MLX_MXFP8", 4, 4, true, false, false},
    [FLINT_TYPE_MLX_NVFP4] = {"MLX_NVFP4", 8, 4, true, false, false},
};

/* mode and bits of the MLX types */
static const struct {
    int8_t mode, bits;
} mlx[FLINT_TYPE_COUNT] = {
    [FLINT_TYPE_MLX_Q1] = {FL_MLX_AFFINE, 1},    [FLINT_TYPE_MLX_Q2] = {FL_MLX_AFFINE, 2},
    [FLINT_TYPE_MLX_Q3] = {FL_MLX_AFFINE, 3},    [FLINT_TYPE_MLX_Q4] = {FL_MLX_AFFINE, 4},
    [FLINT_TYPE_MLX_Q5] = {FL_MLX_AFFINE, 5},    [FLINT_TYPE_MLX_Q6] = {FL_MLX_AFFINE, 6},
    [FLINT_TYPE_MLX_Q8] = {FL_MLX_AFFINE, 8},    [FLINT_TYPE_MLX_MXFP4] = {FL_MLX_MXFP4, 4},
    [FLINT_TYPE_MLX_MXFP8] = {FL_MLX_MXFP8, 8},  [FLINT_TYPE_MLX_NVFP4] = {FL_MLX_NVFP4, 4},
};

fl_mlx_mode fl_mlx_mode_of(flint_type type) {
    return (unsigned)type < FLINT_TYPE_COUNT ? (fl_mlx_mode)mlx[type].mode : FL_MLX_NONE;
}

const char *fl_mlx_mode_name(fl_mlx_mode mode) {
    static const char *const names[] = {"", "affine", "mxfp4", "mxfp8", "nvfp4"};
    return (unsigned)mode < sizeof names / sizeof names[0] ? names[mode] : "";
}

bool fl_mlx_group_ok(fl_mlx_mode mode, int32_t g) {
    switch (mode) {
    case FL_MLX_AFFINE: return g == 32 || g == 64 || g == 128;
    case FL_MLX_NVFP4: return g == 16;
    case FL_MLX_MXFP4: case FL_MLX_MXFP8: return g == 32;
    default: return false;
    }
}

const char *fl_mlx_groups(fl_mlx_mode mode) {
    return mode == FL_MLX_AFFINE ? "32, 64 or 128" : mode == FL_MLX_NVFP4 ? "16" : "32";
}

int fl_mlx_bits(flint_type type) { return (unsigned)type < FLINT_TYPE_COUNT ? mlx[type].bits : 0; }

bool fl_mlx_type(fl_mlx_mode mode, int bits, flint_type *out) {
    for (int t = 0; t < FLINT_TYPE_COUNT; t++)
        if (mode != FL_MLX_NONE && mlx[t].mode == (int8_t)mode && mlx[t].bits == bits) {
            *out = (flint_type)t;
            return true;
        }
    return false;
}

const fl_type_info *fl_type_get(flint_type type) {
    if ((unsigned)type >= FLINT_TYPE_COUNT || !table[type].name) return NULL;
    return &table[type];
}

bool fl_type_from_ggml(uint32_t id, flint_type *out) {
    if (id >= FLINT_TYPE_BOOL || !table[id].name) return false;
    *out = (flint_type)id;
    return true;
}

bool fl_type_row_bytes(flint_type type, uint64_t n, uint64_t *bytes) {
    const fl_type_info *t = fl_type_get(type);
    if (!t || n % (uint64_t)t->block_size != 0) return false;
    return fl_mul_u64(n / (uint64_t)t->block_size, (uint64_t)t->type_size, bytes);
}

const char *flint_type_name(flint_type type) {
    const fl_type_info *t = fl_type_get(type);
    return t ? t->name : NULL;
}
