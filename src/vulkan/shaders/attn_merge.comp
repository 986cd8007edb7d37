#version 450
// attn_merge.comp — combines the key splits of attn_tile.comp (or
// attn_decode.comp): per output row (a query and head),
//   out = sum_s o_s e^(m_s - M) / sum_s l_s e^(m_s - M),  M = max_s m_s,
// zeros where no split saw a key. One workgroup per row; the scalars are
// reduced over the splits with subgroup operations, the columns split
// over the threads.
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"
#include "attn_common.glsl"

#define NT 64
#define MAX_SG 64 // subgroups of a workgroup (a subgroup of 1 thread at worst)

layout(local_size_x = NT) in;

shared float sg_red[MAX_SG];
shared float w_sh[NT]; // e^(m_s - M) / L for a batch of NT splits

// the workgroup's max (op 0) or sum (op 1) of x, for any subgroup size
// (counted as they run: gl_NumSubgroups)
float group_reduce(float x, uint op) {
    x = op == 0u ? subgroupMax(x) : subgroupAdd(x);
    if (gl_NumSubgroups == 1u) return x;
    barrier();
    if (subgroupElect()) sg_red[gl_SubgroupID] = x;
    barrier();
    x = sg_red[0];
    for (uint i = 1; i < gl_NumSubgroups; i++) x = op == 0u ? max(x, sg_red[i]) : x + sg_red[i];
    return x;
}

void main() {
    const uint g = group_index();
    const uint n_kvh = pc.n_head / pc.group;
    if (g >= n_kvh * pc.n_rows) return;
    const uint kvh = g / pc.n_rows, row = g % pc.n_rows, t = gl_LocalInvocationID.x;
    const uint dst = ((row / pc.group) * pc.n_head + kvh * pc.group + row % pc.group) * pc.dv;

    float M = -1.0 / 0.0;
    for (uint s = t; s < pc.n_split; s += NT) M = max(M, pc.part.v[part_base(kvh, row, s)]);
    M = group_reduce(M, 0u);
    if (M == -1.0 / 0.0) { // no split saw a key
        for (uint c = t; c < pc.dv; c += NT) pc.out_.v[dst + c] = 0.0;
        return;
    }
    float L = 0.0;
    for (uint s = t; s < pc.n_split; s += NT) {
        uint b = part_base(kvh, row, s);
        float ms = pc.part.v[b];
        if (ms != -1.0 / 0.0) L += pc.part.v[b + 1u] * exp(ms - M);
    }
    L = group_reduce(L, 1u);

    float acc[8]; // columns t + NT c, c < 8 (dv <= 512)
    [[unroll]] for (uint c = 0; c < 8; c++) acc[c] = 0.0;
    for (uint s0 = 0; s0 < pc.n_split; s0 += NT) {
        barrier();
        if (s0 + t < pc.n_split) {
            float ms = pc.part.v[part_base(kvh, row, s0 + t)];
            w_sh[t] = ms == -1.0 / 0.0 ? 0.0 : exp(ms - M) / L;
        }
        barrier();
        for (uint s = s0; s < min(pc.n_split, s0 + NT); s++) {
            const float w = w_sh[s - s0];
            if (w == 0.0) continue;
            const uint b = part_base(kvh, row, s) + 2u;
            [[unroll]] for (uint c = 0; c < 8; c++)
                if (t + NT * c < pc.dv) acc[c] += w * pc.part.v[b + t + NT * c];
        }
    }
    [[unroll]] for (uint c = 0; c < 8; c++)
        if (t + NT * c < pc.dv) pc.out_.v[dst + t + NT * c] = acc[c];
}
