#version 450
// mm_tile_q5_k.comp — the prefill (tiled) product for Q5_K weights.
#include "common.glsl"
#define TYPE_Q5_K
#include "mm_weights.glsl"
#include "mm_tile.glsl"
