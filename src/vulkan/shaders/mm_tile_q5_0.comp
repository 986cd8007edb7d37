#version 450
// mm_tile_q5_0.comp — the prefill (tiled) product for Q5_0 weights.
#include "common.glsl"
#define TYPE_Q5_0
#include "mm_weights.glsl"
#include "mm_tile.glsl"
