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
    /* MLX rows are n_in * bits / 32 words; scales and biases are separate tensors */
    [FLINT_TYPE_MLX_Q4] = {"MLX_Q4", 8, 4, true, false, false},
    [FLINT_TYPE_MLX_Q8] = {"MLX_Q8", 4, 4, true, false, false},
};

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
