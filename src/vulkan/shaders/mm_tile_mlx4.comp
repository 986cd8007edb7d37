#version 450
// mm_tile_mlx4.comp — the prefill (tiled) product for MLX4 weights.
#include "common.glsl"
#define TYPE_MLX4
#include "mm_weights.glsl"
#include "mm_tile.glsl"
