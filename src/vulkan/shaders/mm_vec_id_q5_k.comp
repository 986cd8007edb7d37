#version 450
// mm_vec_id_q5_k.comp — the decode (matrix-vector) products of MoE experts for Q5_K weights.
#include "common.glsl"
#define MM_EXPERT
#define TYPE_Q5_K
#include "mm_weights.glsl"
#include "mm_vec.glsl"
