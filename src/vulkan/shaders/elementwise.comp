#version 450
// elementwise.comp — y[i] = f(a[i], b[i]) over n elements: add, mul,
// scale, act and gated (op codes below; fl_vk_add .. fl_vk_gated).
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Push {
    Floats y, a, b;
    uint n;
    uint op;  // 0 add, 1 mul, 2 scale (a * s), 3 act(a), 4 act(a) * b
    uint act; // fl_act
    float s;
} pc;

void main() {
    uint i = group_index() * 256u + gl_LocalInvocationID.x;
    if (i >= pc.n) return;
    float a = pc.a.v[i];
    float r;
    if (pc.op == 0u) r = a + pc.b.v[i];
    else if (pc.op == 1u) r = a * pc.b.v[i];
    else if (pc.op == 2u) r = a * pc.s;
    else if (pc.op == 3u) r = activate(pc.act, a);
    else r = activate(pc.act, a) * pc.b.v[i];
    pc.y.v[i] = r;
}
