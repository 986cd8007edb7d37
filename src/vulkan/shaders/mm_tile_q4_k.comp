#version 450
// mm_tile_q4_k.comp — the prefill (tiled) product for Q4_K weights.
#include "common.glsl"
#define TYPE_Q4_K
#include "mm_weights.glsl"
#include "mm_tile.glsl"
