// common.glsl — what every flint shader shares: buffer references for the
// operands (device addresses in push constants), the subgroup size as
// specialization constant 0, and the linear workgroup index (dispatches
// wider than maxComputeWorkGroupCount[0] spill into y: fl_vk_groups).
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference2 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int32 : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_8bit_storage : require

layout(constant_id = 0) const uint SUBGROUP_SIZE = 32;

layout(buffer_reference, std430, buffer_reference_align = 4) buffer Floats { float v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Ints { int v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Uints { uint v[]; };
layout(buffer_reference, std430, buffer_reference_align = 2) buffer Halfs { float16_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 2) buffer U16s { uint16_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 1) buffer Bytes { uint8_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 1) buffer SBytes { int8_t v[]; };

uint group_index() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

// b: the 16 bits of a bfloat16 (read as uint(U16s.v[i]))
float bf16_to_f32(uint b) { return uintBitsToFloat(b << 16); }

float silu(float x) { return x / (1.0 + exp(-x)); }
float sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); }
float gelu_tanh(float x) {
    const float c = 0.7978845608028654; // sqrt(2 / pi)
    float t = c * (x + 0.044715 * x * x * x);
    // tanh through exp, bounded: GLSL's tanh may overflow to NaN for large |t|
    t = clamp(t, -15.0, 15.0);
    float e = exp(2.0 * t);
    return 0.5 * x * (1.0 + (e - 1.0) / (e + 1.0));
}
// act: 0 SiLU, 1 GELU-tanh, 2 sigmoid (fl_act)
float activate(uint act, float x) { return act == 0u ? silu(x) : act == 1u ? gelu_tanh(x) : sigmoid(x); }
