// mm_vec.glsl — the decode product y[c][r] = x[c] . W[r] for up to 8 rows c
// of x (8 per z slice of the dispatch): one weight row per workgroup of
// 64 invocations, each decoding pieces of 8 elements (dequant8) in turn
// along the row, so that neighbours read neighbouring bytes, and
// multiplying them with every x row while in registers; the partial sums
// meet through a subgroup reduction and shared memory across subgroups
// (correct for any SUBGROUP_SIZE). Included by mm_vec_<type>.comp after
// mm_weights.glsl.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#define WG 64u
#define NC 8u
layout(local_size_x = 64) in;

shared float partial[WG][NC]; // [subgroup][column]; at most WG subgroups

void main() {
    const uint r = group_index(), t = gl_LocalInvocationID.x;
    if (r >= pc.m) return; // the whole workgroup: no barrier is skipped by some only
    const uint c0 = gl_WorkGroupID.z * NC, nc = min(NC, pc.n - c0);
    const uint64_t row = pc.w + uint64_t(r) * pc.row_bytes;
    float acc[NC];
    for (uint c = 0u; c < NC; c++) acc[c] = 0.0;
    const uint pieces = (pc.k + 7u) / 8u;
    for (uint p = t; p < pieces; p += WG) {
        float w[8];
        dequant8(row, r, p, w);
        for (uint c = 0u; c < NC; c++) { // a constant bound: acc stays in registers
            if (c >= nc) break;
            float s = 0.0;
            for (uint i = 0u; i < 8u; i++) s += w[i] * x_at(c0 + c, 8u * p + i);
            acc[c] += s;
        }
    }
    for (uint c = 0u; c < NC; c++) {
        if (c >= nc) break;
        float s = subgroupAdd(acc[c]);
        if (subgroupElect()) partial[gl_SubgroupID][c] = s;
    }
    barrier();
    if (t < nc) {
        float s = 0.0;
        for (uint g = 0u; g < gl_NumSubgroups; g++) s += partial[g][t];
        y_put(c0 + t, r, s);
    }
}
