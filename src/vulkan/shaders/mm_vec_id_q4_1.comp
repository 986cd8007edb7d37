#version 450
// mm_vec_id_q4_1.comp — the decode (matrix-vector) products of MoE experts for Q4_1 weights.
#include "common.glsl"
#define MM_EXPERT
#define TYPE_Q4_1
#include "mm_weights.glsl"
#include "mm_vec.glsl"
