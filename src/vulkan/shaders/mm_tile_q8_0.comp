#version 450
// mm_tile_q8_0.comp — the prefill (tiled) product for Q8_0 weights.
#include "common.glsl"
#define TYPE_Q8_0
#include "mm_weights.glsl"
#include "mm_tile.glsl"
