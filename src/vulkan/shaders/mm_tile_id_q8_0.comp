#version 450
// mm_tile_id_q8_0.comp — the prefill (tiled) products of MoE experts for Q8_0 weights.
#include "common.glsl"
#define MM_EXPERT
#define TYPE_Q8_0
#include "mm_weights.glsl"
#include "mm_tile.glsl"
