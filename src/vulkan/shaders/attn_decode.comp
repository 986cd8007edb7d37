#version 450
// attn_decode.comp — flash decoding (attention.c): few rows (query x head
// in its GQA group, at most RD) of one KV head against a range of key
// tiles (a split) per workgroup. Thread j of the 64 scores key j of each
// tile for every row; the softmax's max and sum over the tile are subgroup
// reductions (any subgroup size) joined in shared memory; thread c
// accumulates output columns c + 64 i of every row from V read straight
// from the cache, coalesced. One split writes the output; several write
// partials (m, l, o) that attn_merge.comp combines.
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"
#include "attn_common.glsl"

#define RD 8        // rows per workgroup (attention.c's DECODE_ROWS)
#define BK 64
#define DC 32       // head-dim chunk of K in shared memory
#define DK_MAX 512  // q rows held in shared memory
#define DV_MAX 512
#define NC (DV_MAX / BK) // output columns per thread and row
#define MAX_SG BK   // subgroups of a workgroup (a subgroup of 1 thread at worst)

layout(local_size_x = BK) in;

shared float q_sh[RD * DK_MAX];
shared float k_sh[BK * (DC + 1)];
shared float p_sh[RD * BK];
shared float sg_red[MAX_SG * RD];
shared int posk[BK];
shared int any_visible;

// per row r < nr: the workgroup's max (op 0) or sum (op 1) of x[r]; the
// subgroups are counted as they run (gl_NumSubgroups), whatever size the
// driver reported
void rows_reduce(inout float x[RD], uint nr, uint op) {
    [[unroll]] for (uint r = 0; r < RD; r++)
        if (r < nr) x[r] = op == 0u ? subgroupMax(x[r]) : subgroupAdd(x[r]);
    if (gl_NumSubgroups == 1u) return;
    barrier();
    if (subgroupElect())
        [[unroll]] for (uint r = 0; r < RD; r++) sg_red[gl_SubgroupID * RD + r] = x[r];
    barrier();
    [[unroll]] for (uint r = 0; r < RD; r++) {
        float y = sg_red[r];
        for (uint i = 1; i < gl_NumSubgroups; i++) y = op == 0u ? max(y, sg_red[i * RD + r]) : y + sg_red[i * RD + r];
        x[r] = y;
    }
}

void main() {
    const uint g = group_index();
    if (g >= pc.n_head / pc.group * pc.n_split) return;
    const uint split = g % pc.n_split, kvh = g / pc.n_split, t = gl_LocalInvocationID.x;
    const uint nr = pc.n_rows; // <= RD: attention.c picks this shader only then

    int pq[RD];
    [[unroll]] for (uint r = 0; r < RD; r++) pq[r] = r < nr ? pc.pos_q.v[r / pc.group] : -1;
    for (uint e = t; e < nr * pc.dk; e += BK) {
        uint r = e / pc.dk, d = e % pc.dk;
        q_sh[r * pc.dk + d] = pc.q.v[((r / pc.group) * pc.n_head + kvh * pc.group + r % pc.group) * pc.dk + d] *
                              pc.scale;
    }

    float o[RD][NC], m[RD], l[RD];
    [[unroll]] for (uint r = 0; r < RD; r++) {
        m[r] = -1.0 / 0.0;
        l[r] = 0.0;
        [[unroll]] for (uint i = 0; i < NC; i++) o[r][i] = 0.0;
    }

    const uint t_begin = split * pc.tiles_per_split;
    const uint t_end = min(pc.n_tiles, t_begin + pc.tiles_per_split);
    for (uint ti = t_begin; ti < t_end; ti++) {
        const uint64_t kaddr = pc.tiles.v[3u * ti], vaddr = pc.tiles.v[3u * ti + 1u];
        barrier(); // the previous tile is done with posk, p_sh
        const int pk = Ints(pc.tiles.v[3u * ti + 2u]).v[t];
        posk[t] = pk;
        if (t == 0u) any_visible = 0;
        barrier();
        bool vis[RD];
        bool any = false;
        [[unroll]] for (uint r = 0; r < RD; r++) {
            vis[r] = visible(pq[r], pk);
            any = any || vis[r];
        }
        if (any) any_visible = 1;
        barrier();
        if (any_visible == 0) continue; // nothing here for any row

        float s[RD];
        [[unroll]] for (uint r = 0; r < RD; r++) s[r] = 0.0;
        for (uint d0 = 0; d0 < pc.dk; d0 += DC) {
            barrier();
            for (uint e = t; e < BK * DC; e += BK) {
                uint j = e / DC, d = d0 + e % DC;
                k_sh[j * (DC + 1) + e % DC] = d < pc.dk ? kv_load(kaddr, j * pc.kv_stride + kvh * pc.dk + d) : 0.0;
            }
            barrier();
            const uint dn = min(uint(DC), pc.dk - d0);
            for (uint d = 0; d < dn; d++) {
                float kv = k_sh[t * (DC + 1) + d];
                [[unroll]] for (uint r = 0; r < RD; r++)
                    if (r < nr) s[r] += q_sh[r * pc.dk + d0 + d] * kv;
            }
        }

        float mx[RD];
        [[unroll]] for (uint r = 0; r < RD; r++) {
            s[r] = cap_score(s[r]);
            mx[r] = vis[r] ? s[r] : -1.0 / 0.0;
        }
        rows_reduce(mx, nr, 0u);
        float alpha[RD];
        [[unroll]] for (uint r = 0; r < RD; r++) {
            const float m_new = max(m[r], mx[r]);
            alpha[r] = 1.0;
            if (m_new != -1.0 / 0.0) {
                alpha[r] = m[r] == -1.0 / 0.0 ? 0.0 : exp(m[r] - m_new);
                m[r] = m_new;
            }
            s[r] = vis[r] ? exp(s[r] - m[r]) : 0.0;
            p_sh[r * BK + t] = s[r];
        }
        rows_reduce(s, nr, 1u);
        [[unroll]] for (uint r = 0; r < RD; r++) {
            l[r] = l[r] * alpha[r] + s[r];
            [[unroll]] for (uint i = 0; i < NC; i++) o[r][i] *= alpha[r];
        }
        barrier(); // p_sh complete

        for (uint j = 0; j < BK; j++) {
            if (posk[j] < 0) continue; // empty: its V may hold anything, NaN included
            const uint vrow = j * pc.kv_stride + kvh * pc.dv;
            float pj[RD];
            [[unroll]] for (uint r = 0; r < RD; r++) pj[r] = r < nr ? p_sh[r * BK + j] : 0.0;
            [[unroll]] for (uint i = 0; i < NC; i++) {
                const uint c = t + BK * i;
                if (c < pc.dv) {
                    const float v = kv_load(vaddr, vrow + c);
                    [[unroll]] for (uint r = 0; r < RD; r++)
                        if (r < nr) o[r][i] += pj[r] * v;
                }
            }
        }
    }

    [[unroll]] for (uint r = 0; r < RD; r++) {
        if (r >= nr) break;
        if (pc.n_split == 1u) {
            const float inv = l[r] > 0.0 ? 1.0 / l[r] : 0.0; // no visible key: zeros
            const uint base = ((r / pc.group) * pc.n_head + kvh * pc.group + r % pc.group) * pc.dv;
            [[unroll]] for (uint i = 0; i < NC; i++)
                if (t + BK * i < pc.dv) pc.out_.v[base + t + BK * i] = o[r][i] * inv;
        } else {
            const uint base = part_base(kvh, r, split);
            if (t == 0u) {
                pc.part.v[base] = m[r];
                pc.part.v[base + 1u] = l[r];
            }
            [[unroll]] for (uint i = 0; i < NC; i++)
                if (t + BK * i < pc.dv) pc.part.v[base + 2u + t + BK * i] = o[r][i];
        }
    }
}
