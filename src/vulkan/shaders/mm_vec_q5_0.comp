#version 450
// mm_vec_q5_0.comp — the decode (matrix-vector) product for Q5_0 weights.
#include "common.glsl"
#define TYPE_Q5_0
#include "mm_weights.glsl"
#include "mm_vec.glsl"
