#version 450
// mm_vec_q5_k.comp — the decode (matrix-vector) product for Q5_K weights.
#include "common.glsl"
#define TYPE_Q5_K
#include "mm_weights.glsl"
#include "mm_vec.glsl"
