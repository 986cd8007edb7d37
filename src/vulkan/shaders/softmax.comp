#version 450
// softmax.comp — each row of x in place, one workgroup per row looping over
// it: the max, then e^(x - max) stored and summed, then scaled by 1/sum (the
// CPU's three passes). Each invocation touches only its own elements.
#include "common.glsl"
#include "row_reduce.glsl"

layout(push_constant) uniform Push {
    uint64_t x;
    uint n_rows, dim;
} pc;

void main() {
    uint row = group_index();
    if (row >= pc.n_rows) return; // uniform over the workgroup
    Floats x = Floats(pc.x + uint64_t(row) * pc.dim * 4u);
    float m = uintBitsToFloat(0xff800000u); // -inf
    for (uint i = gl_LocalInvocationID.x; i < pc.dim; i += ROW_THREADS) m = max(m, x.v[i]);
    m = row_max(m);
    float sum = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < pc.dim; i += ROW_THREADS) {
        float e = exp(x.v[i] - m);
        x.v[i] = e;
        sum += e;
    }
    float inv = 1.0 / row_sum(sum);
    for (uint i = gl_LocalInvocationID.x; i < pc.dim; i += ROW_THREADS) x.v[i] *= inv;
}
