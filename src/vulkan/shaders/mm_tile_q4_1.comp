#version 450
// mm_tile_q4_1.comp — the prefill (tiled) product for Q4_1 weights.
#include "common.glsl"
#define TYPE_Q4_1
#include "mm_weights.glsl"
#include "mm_tile.glsl"
