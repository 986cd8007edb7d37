// mm_vec.glsl — the decode product y[c][r] = x[c] . W[r] for up to 8 rows c
// of x (8 per z slice of the dispatch): ROWS weight rows per workgroup of
// 64 invocations, each decoding pieces of 8 elements (dequant8) in turn
// along the rows, so that neighbours read neighbouring bytes, and
// multiplying them with every x row while in registers (each x piece is
// loaded once for the ROWS rows); the partial sums meet through a subgroup
// reduction and shared memory across subgroups (correct for any
// SUBGROUP_SIZE). Included by mm_vec_<type>.comp after mm_weights.glsl.
// MM_EXPERT (mm_vec_id_<type>.comp): one row (token, choice) per z, times
// the weight of its own expert.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#define WG 64u
#define NC 8u   // x rows per z slice (VEC_MAX_N in matmul.c)
#define ROWS 4u // weight rows per workgroup (VEC_ROWS in matmul.c)
layout(local_size_x = 64) in;

shared float partial[WG][ROWS * NC]; // [subgroup][row, column]; at most WG subgroups

void main() {
    const uint r0 = group_index() * ROWS, t = gl_LocalInvocationID.x;
    if (r0 >= pc.m) return; // the whole workgroup: no barrier is skipped by some only
#ifdef MM_EXPERT
    const uint c0 = pc.row0 + gl_WorkGroupID.z, nc = 1u;
    if (c0 >= pc.n || !mm_select(Ints(pc.ids).v[c0])) return; // the whole workgroup
#else
    const uint c0 = gl_WorkGroupID.z * NC, nc = min(NC, pc.n - c0);
#endif
    const uint nr = min(ROWS, pc.m - r0);
    float acc[ROWS][NC];
    for (uint rr = 0u; rr < ROWS; rr++)
        for (uint c = 0u; c < NC; c++) acc[rr][c] = 0.0;
    const uint pieces = (pc.k + 7u) / 8u;
    for (uint p = t; p < pieces; p += WG) {
        float w[ROWS][8];
        for (uint rr = 0u; rr < ROWS; rr++) {
            if (rr < nr) dequant8(mm_w + uint64_t(r0 + rr) * pc.row_bytes, r0 + rr, p, w[rr]);
            else for (uint i = 0u; i < 8u; i++) w[rr][i] = 0.0;
        }
        for (uint c = 0u; c < NC; c++) { // constant bounds: acc stays in registers
            if (c >= nc) break;
            float xv[8];
            for (uint i = 0u; i < 8u; i++) xv[i] = x_at(c0 + c, 8u * p + i);
            for (uint rr = 0u; rr < ROWS; rr++) {
                float s = 0.0;
                for (uint i = 0u; i < 8u; i++) s += w[rr][i] * xv[i];
                acc[rr][c] += s;
            }
        }
    }
    for (uint rr = 0u; rr < ROWS; rr++)
        for (uint c = 0u; c < NC; c++) {
            if (c >= nc) break;
            float s = subgroupAdd(acc[rr][c]);
            if (subgroupElect()) partial[gl_SubgroupID][rr * NC + c] = s;
        }
    barrier();
    if (t < ROWS * NC) {
        const uint rr = t / NC, c = t % NC;
        if (rr < nr && c < nc) {
            float s = 0.0;
            for (uint g = 0u; g < gl_NumSubgroups; g++) s += partial[g][t];
            y_put(c0 + c, r0 + rr, s);
        }
    }
}
