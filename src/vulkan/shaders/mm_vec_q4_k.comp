#version 450
// mm_vec_q4_k.comp — the decode (matrix-vector) product for Q4_K weights.
#include "common.glsl"
#define TYPE_Q4_K
#include "mm_weights.glsl"
#include "mm_vec.glsl"
