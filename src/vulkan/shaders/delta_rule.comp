#version 450
// delta_rule.comp — the gated delta rule (backend.h) as the token
// recurrence, all n tokens in one dispatch. The columns of a head's state S
// (d_k x d_v) evolve independently, so a workgroup takes one value head j
// and COLS of its columns; each invocation keeps ROWS rows of one column in
// registers (PARTS invocations cover d_k <= PARTS * ROWS). k and q come
// through shared memory TOKENS tokens at a time; per token, one
// shared-memory reduction over the parts (one barrier) gives S^T k, S^T q
// and k.q of the old state, and then
//   delta = beta (v - e^g S^T k) ;  S = e^g S + k delta^T ;
//   out = S_new^T q = e^g S^T q + delta (k.q).
#include "common.glsl"
#include "delta_gates.glsl"
#extension GL_EXT_control_flow_attributes : require

#define THREADS 128
#define ROWS 32
#define MAX_PARTS 8 // d_k <= 256
#define TOKENS 8    // tokens whose k and q are staged in shared memory at once
layout(local_size_x = THREADS) in;

layout(push_constant) uniform Push {
    Floats q, k, v, a, b, out_, state, ssm_a, dt_bias;
    uint n, n_k_heads, n_v_heads, d_k, d_v;
    uint tiled;  // key head of value head j: tiled ? j % n_k_heads : j / (n_v_heads / n_k_heads)
    uint parts;  // 1, 2, 4 or 8: ceil(d_k / ROWS) rounded up to a power of two
} pc;

shared float k_sh[TOKENS][MAX_PARTS * ROWS], q_sh[TOKENS][MAX_PARTS * ROWS];
// per token, double-buffered (one barrier a token): (S^T k, S^T q) of each
// invocation's rows, and k.q over each part's rows
shared vec2 red[2][THREADS];
shared float kq_red[2][MAX_PARTS];

void main() {
    const uint cols = THREADS / pc.parts, col_blocks = (pc.d_v + cols - 1) / cols;
    const uint g = group_index();
    if (g >= pc.n_v_heads * col_blocks) return; // uniform over the workgroup
    const uint j = g / col_blocks, l = gl_LocalInvocationID.x;
    const uint col = l % cols, part = l / cols, c = (g % col_blocks) * cols + col;
    const bool live = c < pc.d_v;
    const uint kh = pc.tiled != 0u ? j % pc.n_k_heads : j / (pc.n_v_heads / pc.n_k_heads);
    const uint dk = pc.d_k, dv = pc.d_v, span = pc.parts * ROWS;
    const uint s_at = j * dk * dv;

    float s[ROWS];
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        uint i = part * ROWS + r;
        s[r] = live && i < dk ? pc.state.v[s_at + i * dv + c] : 0.0;
    }
    const float ssm_a = pc.ssm_a.v[j], dt_bias = pc.dt_bias.v[j];
    for (uint t0 = 0; t0 < pc.n; t0 += TOKENS) {
        const uint nt = min(TOKENS, pc.n - t0);
        barrier(); // the previous block's k and q are read
        for (uint e = l; e < nt * span; e += THREADS) {
            const uint tt = e / span, i = e % span, at = ((t0 + tt) * pc.n_k_heads + kh) * dk + i;
            k_sh[tt][i] = i < dk ? pc.k.v[at] : 0.0;
            q_sh[tt][i] = i < dk ? pc.q.v[at] : 0.0;
        }
        barrier();
        for (uint tt = 0; tt < nt; tt++) {
            const uint t = t0 + tt, buf = t & 1u;
            float sk = 0.0, sq = 0.0, kq = 0.0;
            [[unroll]] for (uint r = 0; r < ROWS; r++) {
                uint i = part * ROWS + r;
                sk += s[r] * k_sh[tt][i];
                sq += s[r] * q_sh[tt][i];
                kq += k_sh[tt][i] * q_sh[tt][i];
            }
            red[buf][l] = vec2(sk, sq);
            if (col == 0u) kq_red[buf][part] = kq;
            barrier();
            vec2 tot = vec2(0.0);
            kq = 0.0;
            for (uint p = 0; p < pc.parts; p++) {
                tot += red[buf][p * cols + col];
                kq += kq_red[buf][p];
            }
            const uint ab = t * pc.n_v_heads + j;
            const float decay = exp(ssm_a * softplus(pc.a.v[ab] + dt_bias));
            const float beta = 1.0 / (1.0 + exp(-pc.b.v[ab]));
            const uint vo = ab * dv + c;
            const float delta = live ? beta * (pc.v.v[vo] - decay * tot.x) : 0.0;
            [[unroll]] for (uint r = 0; r < ROWS; r++) s[r] = decay * s[r] + k_sh[tt][part * ROWS + r] * delta;
            if (live && part == 0u) pc.out_.v[vo] = decay * tot.y + delta * kq;
        }
    }
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        uint i = part * ROWS + r;
        if (live && i < dk) pc.state.v[s_at + i * dv + c] = s[r];
    }
}
