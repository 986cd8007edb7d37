#version 450
// mm_vec_id_q4_k.comp — the decode (matrix-vector) products of MoE experts for Q4_K weights.
#include "common.glsl"
#define MM_EXPERT
#define TYPE_Q4_K
#include "mm_weights.glsl"
#include "mm_vec.glsl"
