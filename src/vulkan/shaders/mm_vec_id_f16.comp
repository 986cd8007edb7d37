#version 450
// mm_vec_id_f16.comp — the decode (matrix-vector) products of MoE experts for F16 weights.
#include "common.glsl"
#define MM_EXPERT
#define TYPE_F16
#include "mm_weights.glsl"
#include "mm_vec.glsl"
