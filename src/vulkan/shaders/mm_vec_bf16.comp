#version 450
// mm_vec_bf16.comp — the decode (matrix-vector) product for BF16 weights.
#include "common.glsl"
#define TYPE_BF16
#include "mm_weights.glsl"
#include "mm_vec.glsl"
