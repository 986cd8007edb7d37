#version 450
// attn_tile.comp — flash attention over the KV tiles (attention.c): one
// workgroup takes BR rows (query x head in its GQA group) of one KV head
// and a range of key tiles (a split), streams each 64-key tile through
// shared memory (K in chunks of the head dim, then V in chunks of keys, so
// head dims up to DV_MAX fit lavapipe's 32 KiB) and keeps an online
// softmax per row. One split writes the output; several write partials
// (m, l, o) that attn_merge.comp combines.
//
// Threads: 128 = BR rows x 8 lanes. Lane l of row r scores keys l + 8 i
// (i < 8) and owns output columns l + 8 i (i < DV_MAX / 8), in registers.
#include "common.glsl"
#include "attn_common.glsl"

#define BR 16
#define BK 64
#define NT 128
#define DC 32        // head-dim chunk of Q and K in shared memory
#define DV_MAX 512   // attention.c refuses larger value heads
#define KV_SH 4096   // floats: K chunk [BK][DC + 1] or V chunk [kc][dv]
#define S_LD (BK + 1)
#define Q_LD (DC + 1) // padded: the rows of a subgroup read different banks

layout(local_size_x = NT) in;

shared float kv_sh[KV_SH];
shared float q_sh[BR * Q_LD];
shared float s_sh[BR * S_LD];
shared float red[NT];
shared int posq[BR];
shared int posk[BK];
shared int any_visible;

void main() {
    const uint g = group_index();
    if (g >= pc.n_head / pc.group * pc.n_rblocks * pc.n_split) return;
    const uint split = g % pc.n_split;
    const uint rb = (g / pc.n_split) % pc.n_rblocks;
    const uint kvh = g / pc.n_split / pc.n_rblocks;
    const uint t = gl_LocalInvocationID.x, r = t >> 3, lane = t & 7u;
    const uint row = rb * BR + r;
    const bool row_ok = row < pc.n_rows;
    const uint qi = row / pc.group, h = kvh * pc.group + row % pc.group;

    if (t < BR) {
        uint rw = rb * BR + t;
        posq[t] = rw < pc.n_rows ? pc.pos_q.v[rw / pc.group] : -1; // -1 sees nothing
    }

    float o[DV_MAX / 8];
    [[unroll]] for (uint i = 0; i < DV_MAX / 8; i++) o[i] = 0.0;
    float m = -1.0 / 0.0, l = 0.0;
    const int pq = row_ok ? pc.pos_q.v[qi] : -1;
    const uint kc = min(uint(BK), KV_SH / pc.dv); // keys per V chunk

    const uint t_begin = split * pc.tiles_per_split;
    const uint t_end = min(pc.n_tiles, t_begin + pc.tiles_per_split);
    for (uint ti = t_begin; ti < t_end; ti++) {
        const uint64_t kaddr = pc.tiles.v[3u * ti], vaddr = pc.tiles.v[3u * ti + 1u];
        barrier(); // the previous tile is done with posk, s_sh, kv_sh
        if (t < BK) posk[t] = Ints(pc.tiles.v[3u * ti + 2u]).v[t];
        if (t == 0u) any_visible = 0;
        barrier();
        if (t < BK) {
            bool any = false;
            for (uint rr = 0; rr < BR; rr++) any = any || visible(posq[rr], posk[t]);
            if (any) any_visible = 1;
        }
        barrier();
        if (any_visible == 0) continue; // empty, in every row's future or behind every window

        // scores: s[i] = (scale q_r) . k_(lane + 8 i), over chunks of the head dim
        float s[8];
        [[unroll]] for (uint i = 0; i < 8; i++) s[i] = 0.0;
        for (uint d0 = 0; d0 < pc.dk; d0 += DC) {
            barrier();
            for (uint e = t; e < BR * DC; e += NT) {
                uint rr = e / DC, d = d0 + e % DC, rw = rb * BR + rr;
                float x = 0.0;
                if (rw < pc.n_rows && d < pc.dk)
                    x = pc.q.v[((rw / pc.group) * pc.n_head + kvh * pc.group + rw % pc.group) * pc.dk + d];
                q_sh[rr * Q_LD + e % DC] = x * pc.scale;
            }
            for (uint e = t; e < BK * DC; e += NT) {
                uint j = e / DC, d = d0 + e % DC;
                kv_sh[j * (DC + 1) + e % DC] =
                    d < pc.dk ? kv_load(kaddr, j * pc.kv_stride + kvh * pc.dk + d) : 0.0;
            }
            barrier();
            for (uint d = 0; d < DC; d++) {
                float qv = q_sh[r * Q_LD + d];
                [[unroll]] for (uint i = 0; i < 8; i++) s[i] += qv * kv_sh[(lane + 8 * i) * (DC + 1) + d];
            }
        }

        // online softmax: the row's max and sum over its 8 lanes
        float mx = -1.0 / 0.0;
        bool vis[8];
        [[unroll]] for (uint i = 0; i < 8; i++) {
            vis[i] = visible(pq, posk[lane + 8 * i]);
            s[i] = cap_score(s[i]);
            if (vis[i]) mx = max(mx, s[i]);
        }
        red[t] = mx;
        barrier();
        [[unroll]] for (uint i = 0; i < 8; i++) mx = max(mx, red[r * 8 + i]);
        const float m_new = max(m, mx);
        float sum = 0.0, alpha = 1.0;
        if (m_new != -1.0 / 0.0) { // something visible to this row so far
            alpha = m == -1.0 / 0.0 ? 0.0 : exp(m - m_new);
            [[unroll]] for (uint i = 0; i < 8; i++) {
                s[i] = vis[i] ? exp(s[i] - m_new) : 0.0;
                sum += s[i];
            }
            m = m_new;
        } else {
            [[unroll]] for (uint i = 0; i < 8; i++) s[i] = 0.0;
        }
        [[unroll]] for (uint i = 0; i < 8; i++) s_sh[r * S_LD + lane + 8 * i] = s[i];
        barrier();
        red[t] = sum;
        barrier();
        sum = 0.0;
        [[unroll]] for (uint i = 0; i < 8; i++) sum += red[r * 8 + i];
        l = l * alpha + sum;
        [[unroll]] for (uint i = 0; i < DV_MAX / 8; i++) o[i] *= alpha;

        // o += p . V, V through shared memory kc keys at a time
        for (uint j0 = 0; j0 < BK; j0 += kc) {
            const uint kn = min(kc, BK - j0);
            barrier();
            for (uint e = t; e < kn * pc.dv; e += NT) {
                uint jj = e / pc.dv, c = e % pc.dv;
                // an empty row's V may hold anything, NaN included: it weighs 0
                kv_sh[e] = posk[j0 + jj] >= 0 ? kv_load(vaddr, (j0 + jj) * pc.kv_stride + kvh * pc.dv + c) : 0.0;
            }
            barrier();
            for (uint jj = 0; jj < kn; jj++) {
                const float pj = s_sh[r * S_LD + j0 + jj];
                const uint vb = jj * pc.dv + lane;
                [[unroll]] for (uint i = 0; i < DV_MAX / 8; i++)
                    if (8 * i < pc.dv && lane + 8 * i < pc.dv) o[i] += pj * kv_sh[vb + 8 * i];
            }
        }
    }

    if (!row_ok) return;
    if (pc.n_split == 1u) {
        const float inv = l > 0.0 ? 1.0 / l : 0.0; // no visible key: zeros
        const uint base = (qi * pc.n_head + h) * pc.dv;
        [[unroll]] for (uint i = 0; i < DV_MAX / 8; i++) {
            uint c = lane + 8 * i;
            if (8 * i < pc.dv && c < pc.dv) pc.out_.v[base + c] = o[i] * inv;
        }
    } else {
        const uint base = part_base(kvh, row, split);
        if (lane == 0u) {
            pc.part.v[base] = m;
            pc.part.v[base + 1u] = l;
        }
        [[unroll]] for (uint i = 0; i < DV_MAX / 8; i++) {
            uint c = lane + 8 * i;
            if (8 * i < pc.dv && c < pc.dv) pc.part.v[base + 2u + c] = o[i];
        }
    }
}
