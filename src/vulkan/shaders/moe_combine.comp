#version 450
// moe_combine.comp — out[t][i] = the sum over token t's choices, in
// ascending expert order, of w[t][j] y[t k + j][i], then scale[t]
// shared[t][i] when a shared expert is given: the host's order (blocks.c),
// products and sums rounded apart (`precise`). Negative ids are skipped.
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Push {
    uint64_t out_, y, ids, w, shared_, scale;
    uint n, H, k; // n * H < 2^32
} pc;

void main() {
    const uint idx = group_index() * 256u + gl_LocalInvocationID.x;
    if (idx >= pc.n * pc.H) return;
    const uint t = idx / pc.H, i = idx % pc.H;
    Ints ids = Ints(pc.ids + 4ul * uint64_t(t) * pc.k);
    Floats w = Floats(pc.w + 4ul * uint64_t(t) * pc.k);
    precise float o = 0.0;
    int last = -1;
    for (uint c = 0u; c < pc.k; c++) {
        int j = -1;
        for (uint q = 0u; q < pc.k; q++) {
            const int e = ids.v[q];
            if (e > last && (j < 0 || e < ids.v[j])) j = int(q);
        }
        if (j < 0) break;
        last = ids.v[j];
        precise float pr = w.v[j] * Floats(pc.y + 4ul * ((uint64_t(t) * pc.k + uint(j)) * pc.H + i)).v[0];
        o = o + pr;
    }
    if (pc.shared_ != 0ul) {
        precise float pr = Floats(pc.scale).v[t] * Floats(pc.shared_ + 4ul * (uint64_t(t) * pc.H + i)).v[0];
        o = o + pr;
    }
    Floats(pc.out_).v[idx] = o;
}
