#version 450
// delta_chunk_prep.comp — the first pass of the chunked gated delta rule:
// everything within a chunk that does not depend on the state, for all
// chunks at once (one workgroup per (value head, chunk)). The gates and
// their cumulative sum G; K K^T and Q K^T over tiles of d_k staged in
// shared memory (each invocation a 2 x 2 block: C * C / 4 == THREADS); then
//   P_ts = -beta_t (k_t.k_s) e^(G_t - G_s), s < t   (A = -P)
//   M_ts = (q_t.k_s) e^(G_t - G_s), s <= t          (to scratch)
// T = (I - P)^-1 by forward substitution, one invocation per column of T
// (column u solves (I - P) x = e_u: no barrier inside), and the products
// W = T (beta e^G K), U = T (beta V) to scratch (delta_chunk.glsl). No
// cross-invocation reductions: nothing depends on the subgroup size.
// Shared memory: 17 KiB.
#include "common.glsl"
#include "delta_chunk.glsl"
#include "delta_gates.glsl"

#define KT 32u // d_k per staged tile
layout(local_size_x = THREADS) in;

shared float G_sh[C], beta_sh[C], bk_sh[C]; // G; beta; beta e^G
shared float k_sh[C][KT + 1u], q_sh[C][KT + 1u]; // +1: no bank conflicts on k_sh[s][i] over s
shared float P[C][C + 1u], T[C][C + 1u];

// dst rows 0..N-1 (width floats each, in scratch from d0) = T' X, where X
// is the chunk's rows of k or v (from x0, ld apart) and T' the scaled
// inverse (in T for k, in P for v). 4 x 2 blocks per invocation: each x
// pair read feeds 8 multiply-adds; T is 0 above its diagonal.
void rows_times(bool kside, Floats x, uint x0, uint ld, uint width, uint d0, uint N, uint l) {
    const uint pairs = (width + 1u) / 2u;
    for (uint bk = l; bk < C / 4u * pairs; bk += THREADS) {
        const uint t = 4u * (bk / pairs), i = 2u * (bk % pairs);
        if (t >= N) continue;
        vec2 acc[4] = vec2[4](vec2(0.0), vec2(0.0), vec2(0.0), vec2(0.0));
        for (uint r = 0u; r < min(t + 4u, N); r++) {
            const uint at = x0 + r * ld + i;
            const vec2 xr = vec2(x.v[at], i + 1u < width ? x.v[at + 1u] : 0.0);
            for (uint a = 0u; a < 4u; a++) acc[a] += (kside ? T[t + a][r] : P[t + a][r]) * xr;
        }
        for (uint a = 0u; a < 4u; a++) {
            if (t + a >= N) break;
            const uint at = d0 + (t + a) * width + i;
            pc.scratch.v[at] = acc[a].x;
            if (i + 1u < width) pc.scratch.v[at + 1u] = acc[a].y;
        }
    }
}

void main() {
    const uint chunks = n_chunks(), g = group_index();
    if (g >= pc.n_v_heads * chunks) return; // uniform over the workgroup
    const uint j = g / chunks, ch = g % chunks, l = gl_LocalInvocationID.x;
    const uint t0 = ch * C, N = min(C, pc.n - t0), kh = key_head(j);
    const uint dk = pc.d_k, dv = pc.d_v, ldq = pc.n_k_heads * dk, ldv = pc.n_v_heads * dv;
    const uint qkr = t0 * ldq + kh * dk, vr = t0 * ldv + j * dv; // token t0's q/k and v rows of this head

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

    // K K^T and Q K^T in 2 x 2 blocks: rows t, t + 1 and columns s, s + 1
    const uint t = 2u * (l / (C / 2u)), s = 2u * (l % (C / 2u));
    vec2 kk0 = vec2(0.0), kk1 = vec2(0.0), qk0 = vec2(0.0), qk1 = vec2(0.0);
    for (uint i0 = 0u; i0 < dk; i0 += KT) {
        barrier(); // the previous tile is read (and, the first time, G is summed)
        for (uint e = l; e < C * KT; e += THREADS) {
            const uint r = e / KT, i = e % KT;
            const bool ok = r < N && i0 + i < dk;
            k_sh[r][i] = ok ? pc.k.v[qkr + r * ldq + i0 + i] : 0.0;
            q_sh[r][i] = ok ? pc.q.v[qkr + r * ldq + i0 + i] : 0.0;
        }
        barrier();
        for (uint i = 0u; i < KT; i++) {
            const vec2 ks = vec2(k_sh[s][i], k_sh[s + 1u][i]);
            kk0 += k_sh[t][i] * ks;
            kk1 += k_sh[t + 1u][i] * ks;
            qk0 += q_sh[t][i] * ks;
            qk1 += q_sh[t + 1u][i] * ks;
        }
    }
    const uint M0 = m_at(j, ch);
    for (uint a = 0u; a < 2u; a++)
        for (uint h = 0u; h < 2u; h++) {
            const uint ta = t + a, sh = s + h;
            const bool live = ta < N && sh <= ta;
            const float d = live ? exp(G_sh[ta] - G_sh[sh]) : 0.0;
            P[ta][sh] = live && sh < ta ? -beta_sh[ta] * (a == 0u ? kk0 : kk1)[h] * d : 0.0;
            if (ta < N) pc.scratch.v[M0 + ta * C + sh] = (a == 0u ? qk0 : qk1)[h] * d;
        }
    if (l < N) {
        bk_sh[l] = beta_sh[l] * exp(G_sh[l]);
        pc.scratch.v[g_at(j, ch) + l] = G_sh[l];
    }
    barrier();
    // T column u: x_t = [t == u] + sum_{s<t} P_ts x_s (x_s = 0 for s < u)
    if (l < N) {
        for (uint r = 0u; r < N; r++) {
            float x = r == l ? 1.0 : 0.0;
            for (uint q = 0u; q < r; q++) x += P[r][q] * T[q][l];
            T[r][l] = x;
        }
    }
    barrier();
    // T's columns scaled for the two products: by beta e^G (W, in T) and by beta (U, in P)
    for (uint e = l; e < C * C; e += THREADS) {
        const uint r = e / C, q = e % C;
        if (r < N && q < N) {
            const float x = T[r][q];
            T[r][q] = x * bk_sh[q];
            P[r][q] = x * beta_sh[q];
        }
    }
    barrier();
    rows_times(true, pc.k, qkr, ldq, dk, w_at(j, ch), N, l);
    rows_times(false, pc.v, vr, ldv, dv, u_at(j, ch), N, l);
}
