#version 450
// mm_vec_q5_1.comp — the decode (matrix-vector) product for Q5_1 weights.
#include "common.glsl"
#define TYPE_Q5_1
#include "mm_weights.glsl"
#include "mm_vec.glsl"
