#version 450
// mm_vec_q4_0.comp — the decode (matrix-vector) product for Q4_0 weights.
#include "common.glsl"
#define TYPE_Q4_0
#include "mm_weights.glsl"
#include "mm_vec.glsl"
