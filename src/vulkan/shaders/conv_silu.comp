#version 450
// conv_silu.comp — causal depthwise convolution with SiLU, one invocation
// per channel walking the n tokens with its last K - 1 inputs in a private
// window (seeded from the state, which gets the last K - 1 inputs back).
//   y[t][c] = silu(sum_j w[c][j] * in(t - K + 1 + j)[c])
#include "common.glsl"

#define MAX_TAPS 16
layout(local_size_x = 64) in;

layout(push_constant) uniform Push {
    Floats y, x, w, state; // y, x [n][C]; w [C][K]; state [K-1][C]
    uint n, C, K;
} pc;

void main() {
    uint c = group_index() * 64u + gl_LocalInvocationID.x;
    if (c >= pc.C) return;
    const uint K = pc.K;
    float wt[MAX_TAPS], win[MAX_TAPS]; // win[j]: the input j taps back from the newest, oldest last
    for (uint j = 0; j < K; j++) wt[j] = pc.w.v[c * K + j];
    for (uint j = 1; j < K; j++) win[j] = pc.state.v[(K - 1 - j) * pc.C + c];
    for (uint t = 0; t < pc.n; t++) {
        for (uint j = K - 1; j > 0; j--) win[j] = win[j - 1];
        win[0] = pc.x.v[t * pc.C + c];
        precise float acc = 0.0; // summed oldest tap first, as the CPU does
        for (uint j = 0; j < K; j++) acc += wt[j] * win[K - 1 - j];
        pc.y.v[t * pc.C + c] = silu(acc);
    }
    for (uint j = 1; j < K; j++) pc.state.v[(K - 1 - j) * pc.C + c] = win[j];
}
