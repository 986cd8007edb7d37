#version 450
// membw.comp — the device's read bandwidth (fl_vk_read_bandwidth): every
// invocation reads 16-byte vectors in a grid-stride loop (consecutive
// invocations, consecutive vectors) and folds them into one value that is
// written only if it equals a constant, so no load can be dropped.
#include "common.glsl"

layout(local_size_x = 256) in;

layout(buffer_reference, std430, buffer_reference_align = 16) buffer Vec4s { uvec4 v[]; };

layout(push_constant) uniform Push {
    Vec4s src;
    Uints out_;
    uint n_vec4;
} pc;

void main() {
    const uint stride = gl_NumWorkGroups.x * 256u;
    uvec4 acc = uvec4(0u);
    for (uint i = gl_GlobalInvocationID.x; i < pc.n_vec4; i += stride) acc ^= pc.src.v[i];
    uint x = acc.x ^ acc.y ^ acc.z ^ acc.w;
    if (x == 0x9e3779b9u) pc.out_.v[0] = x;
}
