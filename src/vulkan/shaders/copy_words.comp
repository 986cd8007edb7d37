#version 450
// copy_words.comp — dst[i] = zero ? 0 : src[i] for n 32-bit words, moved
// as bits (fl_vk_copy: K/V blocks in any type, recurrent states).
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Push {
    Uints dst, src;
    uint n, zero;
} pc;

void main() {
    uint i = group_index() * 256u + gl_LocalInvocationID.x;
    if (i < pc.n) pc.dst.v[i] = pc.zero != 0u ? 0u : pc.src.v[i];
}
