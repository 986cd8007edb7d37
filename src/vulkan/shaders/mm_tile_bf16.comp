#version 450
// mm_tile_bf16.comp — the prefill (tiled) product for BF16 weights.
#include "common.glsl"
#define TYPE_BF16
#include "mm_weights.glsl"
#include "mm_tile.glsl"
