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
// The products are register-blocked: an invocation computes 2 x 4 outputs
// (t, c) of V' and O (rows of W, Q and M are read by the invocations
// of a row pair alike: broadcasts) and 4 x 4 elements (i, c) of S, so
// each load feeds several multiply-adds; no subgroup operations. Shared
// memory: 21 KiB (S_FLOATS + C * MAX_COLS floats).
#include "common.glsl"
#include "delta_chunk.glsl"

#define S_FLOATS 4096u // d_k * cols: 16 KiB
#define MAX_COLS 32u
layout(local_size_x = THREADS) in;

shared float S[S_FLOATS];      // [d_k][cols]
shared float Vp[C * MAX_COLS]; // [C][cols]
shared float eG[C], wN[C];     // e^G_t, e^(G_N - G_t)

void main() {
    const uint cols = pc.cols, col_blocks = (pc.d_v + cols - 1u) / cols, g = group_index();
    if (g >= pc.n_v_heads * col_blocks) return; // uniform over the workgroup
    const uint j = g / col_blocks, c0 = (g % col_blocks) * cols, l = gl_LocalInvocationID.x;
    const uint kh = key_head(j), dk = pc.d_k, dv = pc.d_v, ldq = pc.n_k_heads * dk, ldv = pc.n_v_heads * dv;
    const uint s_at = j * dk * dv, chunks = n_chunks();
    const uint quads = cols / 4u; // column quads of a block

    for (uint e = l; e < dk * cols; e += THREADS) {
        const uint i = e / cols, col = c0 + e % cols;
        S[e] = col < dv ? pc.state.v[s_at + i * dv + col] : 0.0;
    }
    for (uint ch = 0u; ch < chunks; ch++) {
        const uint t0 = ch * C, N = min(C, pc.n - t0), qk0 = t0 * ldq + kh * dk;
        const uint W0 = w_at(j, ch), U0 = u_at(j, ch), M0 = m_at(j, ch), G0 = g_at(j, ch);
        const uint o0 = t0 * ldv + j * dv + c0;
        if (l < N) {
            const float Gt = pc.scratch.v[G0 + l];
            eG[l] = exp(Gt);
            wN[l] = exp(pc.scratch.v[G0 + N - 1u] - Gt);
        }
        barrier(); // S loaded or updated; eG and wN written
        // V' = U - W S and O = e^G Q S, rows t and t + 1, columns c..c+3
        for (uint bk = l; bk < C / 2u * quads; bk += THREADS) {
            const uint t = 2u * (bk / quads), c = 4u * (bk % quads);
            if (t >= N) continue;
            const uint t1 = min(t + 1u, N - 1u); // row t + 1 where it exists (else t again, discarded)
            vec4 x0 = vec4(0.0), x1 = vec4(0.0), y0 = vec4(0.0), y1 = vec4(0.0);
            for (uint i = 0u; i < dk; i++) {
                const uint e = i * cols + c;
                const vec4 s = vec4(S[e], S[e + 1u], S[e + 2u], S[e + 3u]);
                x0 += pc.scratch.v[W0 + t * dk + i] * s;
                x1 += pc.scratch.v[W0 + t1 * dk + i] * s;
                y0 += pc.q.v[qk0 + t * ldq + i] * s;
                y1 += pc.q.v[qk0 + t1 * ldq + i] * s;
            }
            for (uint r = 0u; r < 2u; r++) {
                const uint tr = t + r;
                const vec4 x = r == 0u ? x0 : x1, y = r == 0u ? y0 : y1;
                for (uint h = 0u; h < 4u; h++) {
                    const bool live = tr < N && c0 + c + h < dv;
                    Vp[tr * cols + c + h] = live ? pc.scratch.v[U0 + tr * dv + c0 + c + h] - x[h] : 0.0;
                    if (live) pc.out_.v[o0 + tr * ldv + c + h] = eG[tr] * y[h];
                }
            }
        }
        barrier(); // V' complete
        // O += M V' (the same blocks: each invocation adds to what it wrote)
        for (uint bk = l; bk < C / 2u * quads; bk += THREADS) {
            const uint t = 2u * (bk / quads), c = 4u * (bk % quads);
            if (t >= N) continue;
            const uint t1 = min(t + 1u, N - 1u);
            vec4 a0 = vec4(0.0), a1 = vec4(0.0);
            for (uint s = 0u; s <= t1; s++) { // M is 0 above its diagonal
                const uint e = s * cols + c;
                const vec4 v = vec4(Vp[e], Vp[e + 1u], Vp[e + 2u], Vp[e + 3u]);
                a0 += pc.scratch.v[M0 + t * C + s] * v;
                a1 += pc.scratch.v[M0 + t1 * C + s] * v;
            }
            for (uint r = 0u; r < 2u; r++)
                for (uint h = 0u; h < 4u; h++)
                    if (t + r < N && c0 + c + h < dv) pc.out_.v[o0 + (t + r) * ldv + c + h] += (r == 0u ? a0 : a1)[h];
        }
        // S = e^G_N S + sum_s (e^(G_N - G_s) k_s) V'_s^T, rows i..i+3, columns c..c+3
        const float eN = eG[N - 1u];
        for (uint bk = l; bk < (dk + 3u) / 4u * quads; bk += THREADS) {
            const uint i = 4u * (bk / quads), c = 4u * (bk % quads);
            vec4 acc[4];
            for (uint r = 0u; r < 4u; r++) {
                const uint e = (i + r) * cols + c;
                acc[r] = i + r < dk ? eN * vec4(S[e], S[e + 1u], S[e + 2u], S[e + 3u]) : vec4(0.0);
            }
            for (uint s = 0u; s < N; s++) {
                const vec4 v = vec4(Vp[s * cols + c], Vp[s * cols + c + 1u], Vp[s * cols + c + 2u], Vp[s * cols + c + 3u]);
                const float w = wN[s];
                const uint kb = qk0 + s * ldq + i;
                for (uint r = 0u; r < 4u; r++)
                    if (i + r < dk) acc[r] += (w * pc.k.v[kb + r]) * v;
            }
            for (uint r = 0u; r < 4u; r++) {
                const uint e = (i + r) * cols + c;
                if (i + r < dk) S[e] = acc[r].x, S[e + 1u] = acc[r].y, S[e + 2u] = acc[r].z, S[e + 3u] = acc[r].w;
            }
        }
        barrier(); // V', eG and wN read
    }
    for (uint e = l; e < dk * cols; e += THREADS) {
        const uint i = e / cols, col = c0 + e % cols;
        if (col < dv) pc.state.v[s_at + i * dv + col] = S[e];
    }
}
