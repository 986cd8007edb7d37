#version 450
// mm_tile_id_bf16.comp — the prefill (tiled) products of MoE experts for BF16 weights.
#include "common.glsl"
#define MM_EXPERT
#define TYPE_BF16
#include "mm_weights.glsl"
#include "mm_tile.glsl"
