#version 450
// delta_chunk_prep.comp — the first pass of the chunked gated delta rule:
// everything within a chunk that does not depend on the state, for all
// chunks at once (one workgroup per (value head, chunk)). The gates and
// their cumulative sum G; K K^T and Q K^T over tiles of d_k staged in
// shared memory (each invocation holds C * C / THREADS entries); then
//   P_ts = -beta_t (k_t.k_s) e^(G_t - G_s), s < t   (A = -P)
//   M_ts = (q_t.k_s) e^(G_t - G_s), s <= t          (to scratch)
// T = (I - P)^-1 by forward substitution, one invocation per column of T
// (column u solves (I - P) x = e_u: no barrier inside), and the products
// W = T (beta e^G K), U = T (beta V) to scratch (delta_chunk.glsl).
#include "common.glsl"
#include "delta_chunk.glsl"

#define KT 32u // d_k per staged tile
layout(local_size_x = THREADS) in;

shared float G_sh[C], beta_sh[C], bk_sh[C]; // G; beta; beta e^G
shared float k_sh[C][KT + 1u], q_sh[C][KT + 1u]; // +1: no bank conflicts on k_sh[s][i] over s
shared float P[C][C + 1u], T[C][C + 1u];

#define ENTRIES (C * C / THREADS) // score entries per invocation: rows t0 + ROWS_STEP m, column l % C
#define ROWS_STEP (THREADS / C)

void main() {
    const uint chunks = n_chunks(), g = group_index();
    if (g >= pc.n_v_heads * chunks) return; // uniform over the workgroup
    const uint j = g / chunks, ch = g % chunks, l = gl_LocalInvocationID.x;
    const uint t0 = ch * C, N = min(C, pc.n - t0), kh = key_head(j);
    const uint dk = pc.d_k, dv = pc.d_v, ldq = pc.n_k_heads * dk, ldv = pc.n_v_heads * dv;
    const uint qk0 = t0 * ldq + kh * dk, v0 = t0 * ldv + j * dv; // token t0's q/k and v rows of this head

    if (l < N) {
        const uint ab = (t0 + l) * pc.n_v_heads + j;
        G_sh[l] = pc.ssm_a.v[j] * softplus(pc.a.v[ab] + pc.dt_bias.v[j]);
        beta_sh[l] = 1.0 / (1.0 + exp(-pc.b.v[ab]));
    }
    barrier();
    if (l == 0u) { // C adds: not worth a scan
        float sum = 0.0;
        for (uint t = 0u; t < N; t++) G_sh[t] = sum += G_sh[t];
    }

    float kk[ENTRIES], qk[ENTRIES];
    for (uint m = 0u; m < ENTRIES; m++) kk[m] = qk[m] = 0.0;
    const uint s = l % C, tr = l / C;
    for (uint i0 = 0u; i0 < dk; i0 += KT) {
        barrier(); // the previous tile is read (and, the first time, G is summed)
        for (uint e = l; e < C * KT; e += THREADS) {
            const uint t = e / KT, i = e % KT;
            const bool ok = t < N && i0 + i < dk;
            k_sh[t][i] = ok ? pc.k.v[qk0 + t * ldq + i0 + i] : 0.0;
            q_sh[t][i] = ok ? pc.q.v[qk0 + t * ldq + i0 + i] : 0.0;
        }
        barrier();
        for (uint m = 0u; m < ENTRIES; m++) {
            const uint t = tr + ROWS_STEP * m;
            for (uint i = 0u; i < KT; i++) {
                kk[m] += k_sh[t][i] * k_sh[s][i];
                qk[m] += q_sh[t][i] * k_sh[s][i];
            }
        }
    }
    const uint M0 = m_at(j, ch);
    for (uint m = 0u; m < ENTRIES; m++) {
        const uint t = tr + ROWS_STEP * m;
        const bool live = t < N && s <= t;
        const float d = live ? exp(G_sh[t] - G_sh[s]) : 0.0;
        P[t][s] = live && s < t ? -beta_sh[t] * kk[m] * d : 0.0;
        if (t < N) pc.scratch.v[M0 + t * C + s] = qk[m] * d;
    }
    if (l < N) {
        bk_sh[l] = beta_sh[l] * exp(G_sh[l]);
        pc.scratch.v[g_at(j, ch) + l] = G_sh[l];
    }
    barrier();
    // T column u: x_t = [t == u] + sum_{s<t} P_ts x_s (x_s = 0 for s < u)
    if (l < N) {
        for (uint t = 0u; t < N; t++) {
            float x = t == l ? 1.0 : 0.0;
            for (uint r = 0u; r < t; r++) x += P[t][r] * T[r][l];
            T[t][l] = x;
        }
    }
    barrier();
    const uint W0 = w_at(j, ch), U0 = u_at(j, ch);
    for (uint e = l; e < N * dk; e += THREADS) {
        const uint t = e / dk, i = e % dk;
        float w = 0.0;
        for (uint r = 0u; r <= t; r++) w += T[t][r] * bk_sh[r] * pc.k.v[qk0 + r * ldq + i];
        pc.scratch.v[W0 + e] = w;
    }
    for (uint e = l; e < N * dv; e += THREADS) {
        const uint t = e / dv, c = e % dv;
        float u = 0.0;
        for (uint r = 0u; r <= t; r++) u += T[t][r] * beta_sh[r] * pc.v.v[v0 + r * ldv + c];
        pc.scratch.v[U0 + e] = u;
    }
}
