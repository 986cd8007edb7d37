#version 450
// mm_vec_id_f32.comp — the decode (matrix-vector) products of MoE experts for F32 weights.
#include "common.glsl"
#define MM_EXPERT
#define TYPE_F32
#include "mm_weights.glsl"
#include "mm_vec.glsl"
