#version 450
// mm_vec_f32.comp — the decode (matrix-vector) product for F32 weights.
#include "common.glsl"
#define TYPE_F32
#include "mm_weights.glsl"
#include "mm_vec.glsl"
