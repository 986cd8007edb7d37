#version 450
// delta_rule.comp — the gated delta rule (backend.h) as the token
// recurrence, all n tokens in one dispatch. The columns of a head's state S
// (d_k x d_v) evolve independently, so a workgroup takes one value head j
// and COLS of its columns; each invocation keeps ROWS rows of one column in
// registers (PARTS invocations cover d_k <= PARTS * ROWS). Per token, one
// shared-memory reduction over the parts gives S^T k, S^T q and k.q of the
// old state, and then
//   delta = beta (v - e^g S^T k) ;  S = e^g S + k delta^T ;
//   out = S_new^T q = e^g S^T q + delta (k.q).
#include "common.glsl"

#define THREADS 128
#define ROWS 32
#define MAX_PARTS 8 // d_k <= 256
layout(local_size_x = THREADS) in;

layout(push_constant) uniform Push {
    Floats q, k, v, a, b, out_, state, ssm_a, dt_bias;
    uint n, n_k_heads, n_v_heads, d_k, d_v;
    uint tiled;  // key head of value head j: tiled ? j % n_k_heads : j / (n_v_heads / n_k_heads)
    uint parts;  // 1, 2, 4 or 8: ceil(d_k / ROWS) rounded up to a power of two
} pc;

shared float k_sh[MAX_PARTS * ROWS], q_sh[MAX_PARTS * ROWS];
shared vec2 red[THREADS]; // (S^T k, S^T q) of each invocation's rows
shared float kq_red[MAX_PARTS];

float softplus(float x) {
    if (x > 20.0) return x;
    // log1p(e^x) without losing e^x where it is far below 1
    float e = exp(x), u = 1.0 + e;
    return u == 1.0 ? e : log(u) * (e / (u - 1.0));
}

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
    for (uint r = 0; r < ROWS; r++) {
        uint i = part * ROWS + r;
        s[r] = live && i < dk ? pc.state.v[s_at + i * dv + c] : 0.0;
    }
    const float ssm_a = pc.ssm_a.v[j], dt_bias = pc.dt_bias.v[j];
    for (uint t = 0; t < pc.n; t++) {
        barrier(); // k_sh, q_sh and red of the previous token are read
        const uint kq_at = (t * pc.n_k_heads + kh) * dk;
        for (uint i = l; i < span; i += THREADS) {
            k_sh[i] = i < dk ? pc.k.v[kq_at + i] : 0.0;
            q_sh[i] = i < dk ? pc.q.v[kq_at + i] : 0.0;
        }
        barrier();
        float sk = 0.0, sq = 0.0, kq = 0.0;
        for (uint r = 0; r < ROWS; r++) {
            uint i = part * ROWS + r;
            sk += s[r] * k_sh[i];
            sq += s[r] * q_sh[i];
            kq += k_sh[i] * q_sh[i];
        }
        red[l] = vec2(sk, sq);
        if (col == 0u) kq_red[part] = kq;
        barrier();
        vec2 tot = vec2(0.0);
        kq = 0.0;
        for (uint p = 0; p < pc.parts; p++) {
            tot += red[p * cols + col];
            kq += kq_red[p];
        }
        const uint ab = t * pc.n_v_heads + j;
        const float decay = exp(ssm_a * softplus(pc.a.v[ab] + dt_bias));
        const float beta = 1.0 / (1.0 + exp(-pc.b.v[ab]));
        const uint vo = ab * dv + c;
        const float delta = live ? beta * (pc.v.v[vo] - decay * tot.x) : 0.0;
        for (uint r = 0; r < ROWS; r++) s[r] = decay * s[r] + k_sh[part * ROWS + r] * delta;
        if (live && part == 0u) pc.out_.v[vo] = decay * tot.y + delta * kq;
    }
    for (uint r = 0; r < ROWS; r++) {
        uint i = part * ROWS + r;
        if (live && i < dk) pc.state.v[s_at + i * dv + c] = s[r];
    }
}
