#version 450
// mm_tile_id_mlx4.comp — the prefill (tiled) products of MoE experts for MLX4 weights.
#include "common.glsl"
#define MM_EXPERT
#define TYPE_MLX4
#include "mm_weights.glsl"
#include "mm_tile.glsl"
