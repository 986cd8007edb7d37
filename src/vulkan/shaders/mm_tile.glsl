// mm_tile.glsl — the prefill product over tiles: a workgroup of 256
// computes a 64 x 64 tile of y (64 weight rows by 64 x rows), stepping
// along k by 32: each invocation decodes 8 weight elements (dequant8) and
// loads 8 x elements into shared memory, then accumulates 4 x 4 outputs
// from the shared tiles, so each weight piece is decoded once per 64 x
// rows and each x element read once per 64 weight rows. Dispatch: x over
// weight-row tiles (spilling into y past the device's limit, group_index),
// z over tiles of x rows. Included by mm_tile_<type>.comp after
// mm_weights.glsl. MM_EXPERT (mm_tile_id_<type>.comp): z is the expert,
// whose workgroups step through its rows (moe_group.comp's lists) in tiles
// of 64; an expert without rows exits at once.
#define TM 64u
#define TN 64u
#define BK 32u
layout(local_size_x = 256) in;

shared float ws[TM][BK + 1u]; // +1: no bank conflicts on column reads
shared float xs[TN][BK + 1u];

#ifdef MM_EXPERT
shared uint tile_rows[TN]; // the y rows (token, choice) of this tile
uint tile_row(uint c0, uint c) { return tile_rows[c]; }
#else
uint tile_row(uint c0, uint c) { return c0 + c; }
#endif

// y's rows of this workgroup's weight rows [r0, r0 + 64) and x rows
// tile_row(c0, 0..nc) (nc <= 64)
void tile(uint r0, uint c0, uint nc) {
    const uint t = gl_LocalInvocationID.x;
    const uint lr = t / 4u, lp = t % 4u; // loading: tile row, piece of 8 within the 32
    const uint tx = t % 16u, ty = t / 16u; // computing: rows tx + 16i, x rows ty + 16j
    const bool w_ok = r0 + lr < pc.m, x_ok = lr < nc;
    const uint xr = x_ok ? tile_row(c0, lr) : 0u;
    const uint64_t row = mm_w + uint64_t(r0 + lr) * pc.row_bytes;
    float acc[4][4];
    for (uint i = 0u; i < 4u; i++)
        for (uint j = 0u; j < 4u; j++) acc[i][j] = 0.0;
    for (uint k0 = 0u; k0 < pc.k; k0 += BK) {
        const uint p = k0 / 8u + lp;
        float w[8];
        if (w_ok && 8u * p < pc.k) dequant8(row, r0 + lr, p, w);
        else for (uint i = 0u; i < 8u; i++) w[i] = 0.0;
        for (uint i = 0u; i < 8u; i++) {
            ws[lr][8u * lp + i] = w[i];
            xs[lr][8u * lp + i] = x_ok ? x_at(xr, 8u * p + i) : 0.0;
        }
        barrier();
        for (uint kk = 0u; kk < BK; kk++) {
            float a[4], b[4];
            for (uint i = 0u; i < 4u; i++) a[i] = ws[tx + 16u * i][kk];
            for (uint j = 0u; j < 4u; j++) b[j] = xs[ty + 16u * j][kk];
            for (uint i = 0u; i < 4u; i++)
                for (uint j = 0u; j < 4u; j++) acc[i][j] += a[i] * b[j];
        }
        barrier();
    }
    for (uint j = 0u; j < 4u; j++) {
        const uint c = ty + 16u * j;
        if (c >= nc) continue;
        const uint yr = tile_row(c0, c);
        for (uint i = 0u; i < 4u; i++) {
            const uint r = r0 + tx + 16u * i;
            if (r < pc.m) y_put(yr, r, acc[i][j]);
        }
    }
}

void main() {
    const uint r0 = group_index() * TM;
    if (r0 >= pc.m) return; // the whole workgroup
#ifdef MM_EXPERT
    const uint e = gl_WorkGroupID.z;
    Uints g = Uints(pc.groups);
    const uint cnt = g.v[e], off = g.v[pc.n_expert + e];
    if (cnt == 0u || !mm_select(int(e))) return; // the whole workgroup
    for (uint c0 = 0u; c0 < cnt; c0 += TN) {
        barrier(); // the previous tile's rows are read
        if (gl_LocalInvocationID.x < TN && c0 + gl_LocalInvocationID.x < cnt)
            tile_rows[gl_LocalInvocationID.x] = g.v[2u * pc.n_expert + off + c0 + gl_LocalInvocationID.x];
        barrier();
        tile(r0, c0, min(TN, cnt - c0));
    }
#else
    const uint c0 = gl_WorkGroupID.z * TN;
    tile(r0, c0, min(TN, pc.n - c0));
#endif
}
