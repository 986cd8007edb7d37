#version 450
// moe_route.comp — MoE routing of one token per workgroup: the k largest
// of its row p[E] (the softmax's output), descending, ties to the lower
// index, as blocks.c's top_k picks them (a value is taken only if greater
// than -inf: NaN never), k rounds of a (value, index) maximum over the
// workgroup; then their weights renormalised to sum 1, times scale[e] when
// given, summed and divided in the host's order. At most 1024 experts and
// 32 choices (vulkan/moe.c checks).
#include "common.glsl"

#define WG 64u
layout(local_size_x = 64) in;

layout(push_constant) uniform Push {
    uint64_t p;     // f32 [n][E]
    uint64_t ids;   // int [n][k]
    uint64_t w;     // f32 [n][k]
    uint64_t scale; // f32 [E] or 0
    uint n, E, k;
} pc;

shared uint taken[32]; // a bit per expert
shared float red_v[WG];
shared int red_i[WG];
shared float top_v[32];
shared int top_i[32];

bool better(float v, int i, float bv, int bi) { return v > bv || (v == bv && bi >= 0 && i < bi); }

void main() {
    const uint row = group_index(), t = gl_LocalInvocationID.x;
    if (row >= pc.n) return; // the whole workgroup
    Floats p = Floats(pc.p + 4ul * uint64_t(row) * pc.E);
    if (t < 32u) taken[t] = 0u;
    barrier();
    for (uint j = 0u; j < pc.k; j++) {
        float bv = uintBitsToFloat(0xff800000u); // -inf: only greater values are taken
        int bi = -1;
        for (uint e = t; e < pc.E; e += WG) {
            if ((taken[e / 32u] & (1u << (e % 32u))) != 0u) continue;
            const float v = p.v[e];
            if (better(v, int(e), bv, bi)) bv = v, bi = int(e);
        }
        red_v[t] = bv, red_i[t] = bi;
        barrier();
        for (uint s = WG / 2u; s > 0u; s >>= 1) {
            if (t < s && red_i[t + s] >= 0 && (red_i[t] < 0 || better(red_v[t + s], red_i[t + s], red_v[t], red_i[t])))
                red_v[t] = red_v[t + s], red_i[t] = red_i[t + s];
            barrier();
        }
        if (t == 0u) {
            top_v[j] = red_i[0] >= 0 ? red_v[0] : uintBitsToFloat(0xff800000u);
            top_i[j] = red_i[0];
            if (red_i[0] >= 0) taken[uint(red_i[0]) / 32u] |= 1u << (uint(red_i[0]) % 32u);
        }
        barrier();
    }
    if (t == 0u) {
        precise float sum = 0.0;
        for (uint j = 0u; j < pc.k; j++) sum += top_v[j];
        Ints ids = Ints(pc.ids + 4ul * uint64_t(row) * pc.k);
        Floats w = Floats(pc.w + 4ul * uint64_t(row) * pc.k);
        for (uint j = 0u; j < pc.k; j++) {
            const int e = top_i[j];
            precise float q = top_v[j] / sum;
            ids.v[j] = e;
            w.v[j] = pc.scale != 0ul && e >= 0 ? q * Floats(pc.scale).v[e] : q;
        }
    }
}
