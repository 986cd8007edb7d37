#version 450
// mm_tile_id_q4_k.comp — the prefill (tiled) products of MoE experts for Q4_K weights.
#include "common.glsl"
#define MM_EXPERT
#define TYPE_Q4_K
#include "mm_weights.glsl"
#include "mm_tile.glsl"
