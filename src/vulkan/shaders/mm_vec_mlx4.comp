#version 450
// mm_vec_mlx4.comp — the decode (matrix-vector) product for MLX4 weights.
#include "common.glsl"
#define TYPE_MLX4
#include "mm_weights.glsl"
#include "mm_vec.glsl"
