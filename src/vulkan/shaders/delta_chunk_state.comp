#version 450
// delta_chunk_state.comp — the second pass of the chunked gated delta rule:
// the state carried through the chunks. A workgroup takes one value head j
// and `cols` columns of its state S (d_k x cols in shared memory: the
// columns evolve independently) and steps through the chunks, each in
// three barriers (against the recurrence's one per token), from the first
// pass's W, U, M and G (delta_chunk.glsl):
//   V' = U - W S                                 (C x cols, shared)
//   O  = e^G (Q S) + M V'                        (to out)
//   S  = e^G_N S + sum_s e^(G_N - G_s) k_s V'_s^T
// An invocation computes the outputs (t, c) with c = l % cols, so the
// invocations of a subgroup read one row of W, Q or K (a broadcast) and
// consecutive columns of S and V' (no bank conflicts).
#include "common.glsl"
#include "delta_chunk.glsl"
#extension GL_EXT_control_flow_attributes : require

#define S_FLOATS 4096u  // d_k * cols: 16 KiB
#define MAX_COLS 64u
#define MAX_OUT (C * MAX_COLS / THREADS) // outputs (t, c) per invocation
layout(local_size_x = THREADS) in;

shared float S[S_FLOATS];      // [d_k][cols]
shared float Vp[C * MAX_COLS]; // [C][cols]
shared float eG[C], wN[C];     // e^G_t, e^(G_N - G_t)

void main() {
    const uint cols = pc.cols, col_blocks = (pc.d_v + cols - 1u) / cols, g = group_index();
    if (g >= pc.n_v_heads * col_blocks) return; // uniform over the workgroup
    const uint j = g / col_blocks, c0 = (g % col_blocks) * cols, l = gl_LocalInvocationID.x;
    const uint cc = l % cols, c = c0 + cc, kh = key_head(j);
    const uint dk = pc.d_k, dv = pc.d_v, ldq = pc.n_k_heads * dk, ldv = pc.n_v_heads * dv;
    const bool live = c < dv;
    const uint s_at = j * dk * dv, n_out = C * cols / THREADS, chunks = n_chunks();

    for (uint e = l; e < dk * cols; e += THREADS) {
        const uint i = e / cols, col = c0 + e % cols;
        S[e] = col < dv ? pc.state.v[s_at + i * dv + col] : 0.0;
    }
    for (uint ch = 0u; ch < chunks; ch++) {
        const uint t0 = ch * C, N = min(C, pc.n - t0), qk0 = t0 * ldq + kh * dk;
        const uint W0 = w_at(j, ch), U0 = u_at(j, ch), M0 = m_at(j, ch), G0 = g_at(j, ch);
        if (l < N) {
            const float Gt = pc.scratch.v[G0 + l];
            eG[l] = exp(Gt);
            wN[l] = exp(pc.scratch.v[G0 + N - 1u] - Gt);
        }
        barrier(); // S loaded or updated; eG and wN written
        float y[MAX_OUT];
        [[unroll]] for (uint m = 0u; m < MAX_OUT; m++) {
            const uint t = (l + m * THREADS) / cols;
            float x = 0.0, yq = 0.0;
            if (m < n_out && t < N) {
                for (uint i = 0u; i < dk; i++) {
                    const float sic = S[i * cols + cc];
                    x += pc.scratch.v[W0 + t * dk + i] * sic;
                    yq += pc.q.v[qk0 + t * ldq + i] * sic;
                }
            }
            if (m < n_out) Vp[t * cols + cc] = t < N && live ? pc.scratch.v[U0 + t * dv + c] - x : 0.0;
            y[m] = yq;
        }
        barrier(); // V' complete
        [[unroll]] for (uint m = 0u; m < MAX_OUT; m++) {
            const uint t = (l + m * THREADS) / cols;
            if (m < n_out && t < N && live) {
                float o = eG[t] * y[m];
                for (uint s = 0u; s <= t; s++) o += pc.scratch.v[M0 + t * C + s] * Vp[s * cols + cc];
                pc.out_.v[(t0 + t) * ldv + j * dv + c] = o;
            }
        }
        const float eN = eG[N - 1u];
        for (uint e = l; e < dk * cols; e += THREADS) {
            const uint i = e / cols;
            float acc = eN * S[e];
            for (uint s = 0u; s < N; s++) acc += pc.k.v[qk0 + s * ldq + i] * wN[s] * Vp[s * cols + cc];
            S[e] = acc;
        }
        barrier(); // V', eG and wN read
    }
    for (uint e = l; e < dk * cols; e += THREADS) {
        const uint i = e / cols, col = c0 + e % cols;
        if (col < dv) pc.state.v[s_at + i * dv + col] = S[e];
    }
}
