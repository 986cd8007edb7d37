#version 450
// mm_tile_q6_k.comp — the prefill (tiled) product for Q6_K weights.
#include "common.glsl"
#define TYPE_Q6_K
#include "mm_weights.glsl"
#include "mm_tile.glsl"
