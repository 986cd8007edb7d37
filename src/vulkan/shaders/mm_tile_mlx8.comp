#version 450
// mm_tile_mlx8.comp — the prefill (tiled) product for MLX8 weights.
#include "common.glsl"
#define TYPE_MLX8
#include "mm_weights.glsl"
#include "mm_tile.glsl"
