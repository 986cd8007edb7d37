#version 450
// rmsnorm.comp — y[r,:] = x[r,:] * (mean(x[r,:]^2) + eps)^-1/2 * w (w 0: no
// scale), one workgroup per row looping over the row; y may equal x (each
// invocation reads its own elements before writing them).
#include "common.glsl"
#include "row_reduce.glsl"

layout(push_constant) uniform Push {
    uint64_t y, x, w; // device addresses; w 0: no scale
    uint n_rows, dim;
    float eps;
} pc;

void main() {
    uint row = group_index();
    if (row >= pc.n_rows) return; // uniform over the workgroup
    uint64_t off = uint64_t(row) * pc.dim * 4u;
    Floats x = Floats(pc.x + off), y = Floats(pc.y + off), w = Floats(pc.w);
    float ss = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < pc.dim; i += ROW_THREADS) ss += x.v[i] * x.v[i];
    ss = row_sum(ss);
    float r = 1.0 / sqrt(ss / float(pc.dim) + pc.eps);
    for (uint i = gl_LocalInvocationID.x; i < pc.dim; i += ROW_THREADS)
        y.v[i] = pc.w != 0ul ? x.v[i] * r * w.v[i] : x.v[i] * r;
}
