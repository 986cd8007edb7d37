#version 450
// mm_vec_q8_0.comp — the decode (matrix-vector) product for Q8_0 weights.
#include "common.glsl"
#define TYPE_Q8_0
#include "mm_weights.glsl"
#include "mm_vec.glsl"
