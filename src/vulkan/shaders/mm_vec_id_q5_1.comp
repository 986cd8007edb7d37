#version 450
// mm_vec_id_q5_1.comp — the decode (matrix-vector) products of MoE experts for Q5_1 weights.
#include "common.glsl"
#define MM_EXPERT
#define TYPE_Q5_1
#include "mm_weights.glsl"
#include "mm_vec.glsl"
