#version 450
// mm_vec_q4_1.comp — the decode (matrix-vector) product for Q4_1 weights.
#include "common.glsl"
#define TYPE_Q4_1
#include "mm_weights.glsl"
#include "mm_vec.glsl"
