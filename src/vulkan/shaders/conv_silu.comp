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
    float wt[MAX_TAPS], win[MAX_TAPS]; // win: the last K - 1 inputs, oldest first
    for (uint j = 0; j < K; j++) wt[j] = pc.w.v[c * K + j];
    for (uint j = 0; j + 1 < K; j++) win[j] = pc.state.v[j * pc.C + c];
    for (uint t = 0; t < pc.n; t++) {
        const float xt = pc.x.v[t * pc.C + c];
        precise float acc = 0.0; // summed oldest tap first, as the CPU does
        for (uint j = 0; j + 1 < K; j++) acc += wt[j] * win[j];
        acc += wt[K - 1] * xt;
        pc.y.v[t * pc.C + c] = silu(acc);
        for (uint j = 0; j + 2 < K; j++) win[j] = win[j + 1];
        if (K > 1) win[K - 2] = xt;
    }
    for (uint j = 0; j + 1 < K; j++) pc.state.v[j * pc.C + c] = win[j];
}
