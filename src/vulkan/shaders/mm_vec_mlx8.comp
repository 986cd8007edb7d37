#version 450
// mm_vec_mlx8.comp — the decode (matrix-vector) product for MLX8 weights.
#include "common.glsl"
#define TYPE_MLX8
#include "mm_weights.glsl"
#include "mm_vec.glsl"
