#version 450
// mm_vec_q6_k.comp — the decode (matrix-vector) product for Q6_K weights.
#include "common.glsl"
#define TYPE_Q6_K
#include "mm_weights.glsl"
#include "mm_vec.glsl"
