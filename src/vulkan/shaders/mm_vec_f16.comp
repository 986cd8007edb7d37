#version 450
// mm_vec_f16.comp — the decode (matrix-vector) product for F16 weights.
#include "common.glsl"
#define TYPE_F16
#include "mm_weights.glsl"
#include "mm_vec.glsl"
