#version 450
// mm_tile_f16.comp — the prefill (tiled) product for F16 weights.
#include "common.glsl"
#define TYPE_F16
#include "mm_weights.glsl"
#include "mm_tile.glsl"
