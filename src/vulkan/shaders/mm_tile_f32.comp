#version 450
// mm_tile_f32.comp — the prefill (tiled) product for F32 weights.
#include "common.glsl"
#define TYPE_F32
#include "mm_weights.glsl"
#include "mm_tile.glsl"
