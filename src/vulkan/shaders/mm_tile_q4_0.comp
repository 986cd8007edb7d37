#version 450
// mm_tile_q4_0.comp — the prefill (tiled) product for Q4_0 weights.
#include "common.glsl"
#define TYPE_Q4_0
#include "mm_weights.glsl"
#include "mm_tile.glsl"
