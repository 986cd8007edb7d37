#version 450
// mm_vec_id_mlx8.comp — the decode (matrix-vector) products of MoE experts for MLX8 weights.
#include "common.glsl"
#define MM_EXPERT
#define TYPE_MLX8
#include "mm_weights.glsl"
#include "mm_vec.glsl"
