#version 450
// mm_tile_id_q6_k.comp — the prefill (tiled) products of MoE experts for Q6_K weights.
#include "common.glsl"
#define MM_EXPERT
#define TYPE_Q6_K
#include "mm_weights.glsl"
#include "mm_tile.glsl"
