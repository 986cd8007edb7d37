// mm_weights.glsl — the weight side of the matrix products (mm_vec.glsl,
// mm_tile.glsl): the push constants they share and dequant8, which decodes
// elements [8p, 8p + 8) of one weight row from its stored bytes exactly as
// src/quant/dequant_*.c and mlx.c do (same products and sums, `precise`
// so that no FMA merges what the reference rounds twice).
//
// The including .comp defines one of TYPE_F32, TYPE_F16, TYPE_BF16,
// TYPE_Q8_0, TYPE_Q4_0, TYPE_Q4_1, TYPE_Q5_0, TYPE_Q5_1, TYPE_Q4_K,
// TYPE_Q5_K, TYPE_Q6_K, TYPE_MLX4, TYPE_MLX8. Rows of the block types hold
// whole blocks (k a multiple of the block); the float types take any k,
// elements at or past k reading as 0.
//
// MM_EXPERT (the mm_*_id_<type>.comp shaders, vulkan/moe.c): the products
// of MoE experts, y[r] = W[ids[r]] . x[r or r / kc] over rows r = (token,
// choice); each workgroup reads its expert's addresses from a table
// (mm_select) and the push constants' w, scales, biases are unused.

layout(push_constant) uniform Push {
    uint64_t w;      // row 0 of this dispatch's rows (stored bytes)
    uint64_t scales; // MLX: row 0's scales, biases (else 0)
    uint64_t biases;
    uint64_t x;      // f32 [n][k]
    uint64_t y;      // f32 [n][ldy], column 0 = row 0 of this dispatch
    uint m, k, n;    // rows of this dispatch, row length, rows of x
    uint ldy;        // row stride of y (the weight's m)
    uint row_bytes;  // of a weight row
    uint srow_bytes; // MLX: of a row of scales (and of biases)
    uint group;      // MLX: group size (32, 64, 128)
    uint stype;      // MLX: scale type, 0 F32, 1 F16, 30 BF16 (flint_type)
#ifdef MM_EXPERT
    uint64_t table;  // [n_expert][3] each expert's w, scales, biases
    uint64_t ids;    // int [n] the expert of each row (token, choice)
    uint64_t groups; // prefill: uint counts[n_expert], offsets[n_expert], rows[n] (moe_group.comp)
    uint kc;         // choices per token
    uint per_choice; // 1: x has a row per (token, choice), 0: per token
    uint n_expert;
    uint row0;       // decode: the first row of this dispatch
#endif
} pc;

// this workgroup's weight (the push constants', or its expert's: mm_select)
uint64_t mm_w = pc.w, mm_scales = pc.scales, mm_biases = pc.biases;

float f16_at(uint64_t a) { return unpackHalf2x16(uint(U16s(a).v[0])).x; }
// the two bytes of a 2-aligned u16 as (low, high)
uvec2 bytes2(U16s p, uint i) { uint v = uint(p.v[i]); return uvec2(v & 0xffu, v >> 8); }

#if defined(TYPE_F32) || defined(TYPE_F16) || defined(TYPE_BF16)
void dequant8(uint64_t row, uint r, uint p, out float w[8]) {
    uint e0 = 8u * p;
    for (uint i = 0u; i < 8u; i++) {
        uint e = e0 + i;
        float v = 0.0;
#if defined(TYPE_F32)
        if (e < pc.k) v = Floats(row).v[e];
#elif defined(TYPE_F16)
        if (e < pc.k) v = unpackHalf2x16(uint(U16s(row).v[e])).x;
#else
        if (e < pc.k) v = bf16_to_f32(uint(U16s(row).v[e]));
#endif
        w[i] = v;
    }
}

#elif defined(TYPE_Q4_0) || defined(TYPE_Q4_1)
// Q4_0 (18 bytes): d, qs[16]; y = d (q - 8). Q4_1 (20): d, m, qs[16]; y = d q + m.
// Byte j of qs holds element j (low nibble) and j + 16 (high nibble).
#if defined(TYPE_Q4_0)
const uint BB = 18u, QS = 2u;
#else
const uint BB = 20u, QS = 4u;
#endif
void dequant8(uint64_t row, uint r, uint p, out float w[8]) {
    uint64_t b = row + uint64_t(p >> 2) * BB;
    uint j0 = (p & 3u) * 8u, sh = j0 < 16u ? 0u : 4u;
    float d = f16_at(b);
#if defined(TYPE_Q4_1)
    float mn = f16_at(b + 2);
#endif
    U16s q = U16s(b + QS + (j0 & 15u));
    for (uint i = 0u; i < 4u; i++) {
        uvec2 by = (bytes2(q, i) >> sh) & 15u;
#if defined(TYPE_Q4_0)
        w[2 * i] = float(int(by.x) - 8) * d;
        w[2 * i + 1] = float(int(by.y) - 8) * d;
#else
        precise float p0 = float(by.x) * d, p1 = float(by.y) * d;
        w[2 * i] = p0 + mn;
        w[2 * i + 1] = p1 + mn;
#endif
    }
}

#elif defined(TYPE_Q5_0) || defined(TYPE_Q5_1)
// Q5_0 (22 bytes): d, qh u32, qs[16]; y = d (q - 16). Q5_1 (24): d, m, qh, qs;
// y = d q + m. Bit j of qh is the fifth bit of element j.
#if defined(TYPE_Q5_0)
const uint BB = 22u, QH = 2u;
#else
const uint BB = 24u, QH = 4u;
#endif
void dequant8(uint64_t row, uint r, uint p, out float w[8]) {
    uint64_t b = row + uint64_t(p >> 2) * BB;
    uint j0 = (p & 3u) * 8u, sh = j0 < 16u ? 0u : 4u;
    float d = f16_at(b);
#if defined(TYPE_Q5_1)
    float mn = f16_at(b + 2);
#endif
    U16s h = U16s(b + QH);
    uint qh = (uint(h.v[0]) | uint(h.v[1]) << 16) >> j0;
    U16s q = U16s(b + QH + 4u + (j0 & 15u));
    for (uint i = 0u; i < 4u; i++) {
        uvec2 by = (bytes2(q, i) >> sh) & 15u;
        int q0 = int(by.x | ((qh >> (2u * i)) & 1u) << 4), q1 = int(by.y | ((qh >> (2u * i + 1u)) & 1u) << 4);
#if defined(TYPE_Q5_0)
        w[2 * i] = float(q0 - 16) * d;
        w[2 * i + 1] = float(q1 - 16) * d;
#else
        precise float p0 = float(q0) * d, p1 = float(q1) * d;
        w[2 * i] = p0 + mn;
        w[2 * i + 1] = p1 + mn;
#endif
    }
}

#elif defined(TYPE_Q8_0)
// Q8_0 (34 bytes): d, qs[32] int8; y = d q.
void dequant8(uint64_t row, uint r, uint p, out float w[8]) {
    uint64_t b = row + uint64_t(p >> 2) * 34u;
    float d = f16_at(b);
    U16s q = U16s(b + 2u + (p & 3u) * 8u);
    for (uint i = 0u; i < 4u; i++) {
        int v = int(uint(q.v[i]));
        w[2 * i] = float(bitfieldExtract(v, 0, 8)) * d;
        w[2 * i + 1] = float(bitfieldExtract(v, 8, 8)) * d;
    }
}

#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
// Q4_K (144 bytes): d, dmin, scales[12], qs[128]. Q5_K (176): d, dmin,
// scales[12], qh[32], qs[128]. Element e = 64c + l: nibble of qs[32c + l % 32]
// (low for l < 32), fifth bit (Q5_K) bit 2c + l/32 of qh[l % 32]; sub-block
// 2c + l/32 with a 6-bit scale and min; y = (d sc) q - (dmin mn).
#if defined(TYPE_Q4_K)
const uint BB = 144u, QS = 16u;
#else
const uint BB = 176u, QS = 48u;
#endif
void dequant8(uint64_t row, uint r, uint p, out float w[8]) {
    uint64_t b = row + uint64_t(p >> 5) * BB;
    uint e0 = (p & 31u) * 8u, c = e0 / 64u, l0 = e0 % 64u, j = 2u * c + l0 / 32u;
    Bytes s = Bytes(b + 4);
    uint sc, mn;
    if (j < 4u) {
        sc = uint(s.v[j]) & 63u;
        mn = uint(s.v[j + 4u]) & 63u;
    } else {
        sc = (uint(s.v[j + 4u]) & 15u) | (uint(s.v[j - 4u]) >> 6) << 4;
        mn = (uint(s.v[j + 4u]) >> 4) | (uint(s.v[j]) >> 6) << 4;
    }
    precise float dl = f16_at(b) * float(sc), ml = f16_at(b + 2) * float(mn);
    Uints q = Uints(b + QS + 32u * c + (l0 & 31u));
    uint sh = l0 < 32u ? 0u : 4u;
#if defined(TYPE_Q5_K)
    Uints h = Uints(b + 16u + (l0 & 31u));
#endif
    for (uint i = 0u; i < 8u; i++) {
        uint code = (q.v[i / 4u] >> (8u * (i % 4u) + sh)) & 15u;
#if defined(TYPE_Q5_K)
        code |= ((h.v[i / 4u] >> (8u * (i % 4u) + j)) & 1u) << 4;
#endif
        precise float pr = dl * float(code);
        w[i] = pr - ml;
    }
}

#elif defined(TYPE_Q6_K)
// Q6_K (210 bytes): ql[128], qh[64], scales[16] int8, d. Element
// e = 128n + 32g + l: low 4 bits from ql[64n + l + 32(g & 1)] (low nibble
// for g < 2), high 2 bits at bits 2g of qh[32n + l]; minus 32; scale of
// sub-block 8n + 2g + l/16.
void dequant8(uint64_t row, uint r, uint p, out float w[8]) {
    uint64_t b = row + uint64_t(p >> 5) * 210u;
    uint e0 = (p & 31u) * 8u, n = e0 / 128u, g = (e0 / 32u) % 4u, l0 = e0 % 32u;
    precise float dl = f16_at(b + 208) * float(int(SBytes(b + 192).v[8u * n + 2u * g + l0 / 16u]));
    U16s ql = U16s(b + 64u * n + l0 + 32u * (g & 1u)), qh = U16s(b + 128u + 32u * n + l0);
    uint sh = g < 2u ? 0u : 4u;
    for (uint i = 0u; i < 4u; i++) {
        uvec2 lo = (bytes2(ql, i) >> sh) & 15u, hi = (bytes2(qh, i) >> (2u * g)) & 3u;
        w[2 * i] = dl * float(int(lo.x | hi.x << 4) - 32);
        w[2 * i + 1] = dl * float(int(lo.y | hi.y << 4) - 32);
    }
}

#elif defined(TYPE_MLX4) || defined(TYPE_MLX8)
// MLX affine: codes packed into little-endian u32 words, lowest bits first;
// y = scale[g] q + bias[g], g = e / group (scales and biases one row each).
float mlx_scale(uint64_t a, uint g) {
    if (pc.stype == 0u) return Floats(a).v[g];
    uint v = uint(U16s(a).v[g]);
    return pc.stype == 1u ? unpackHalf2x16(v).x : bf16_to_f32(v);
}
void dequant8(uint64_t row, uint r, uint p, out float w[8]) {
    uint g = 8u * p / pc.group;
    uint64_t so = uint64_t(r) * pc.srow_bytes;
    float s = mlx_scale(mm_scales + so, g), bi = mlx_scale(mm_biases + so, g);
#if defined(TYPE_MLX4)
    uint q = Uints(row).v[p];
    for (uint i = 0u; i < 8u; i++) {
        precise float pr = s * float((q >> (4u * i)) & 15u);
        w[i] = pr + bi;
    }
#else
    Uints q = Uints(row);
    for (uint i = 0u; i < 8u; i++) {
        precise float pr = s * float((q.v[2u * p + i / 4u] >> (8u * (i % 4u))) & 255u);
        w[i] = pr + bi;
    }
#endif
}
#else
#error "mm_weights.glsl: no TYPE_ defined"
#endif

#ifdef MM_EXPERT
layout(buffer_reference, std430, buffer_reference_align = 8) buffer U64s { uint64_t v[]; };
// expert e's weight for this workgroup; false for an id out of range
bool mm_select(int e) {
    if (e < 0 || uint(e) >= pc.n_expert) return false;
    U64s t = U64s(pc.table + 24ul * uint(e));
    mm_w = t.v[0], mm_scales = t.v[1], mm_biases = t.v[2];
    return true;
}
uint x_row(uint c) { return pc.per_choice != 0u ? c : c / pc.kc; }
#else
uint x_row(uint c) { return c; }
#endif

// x[c][e] (0 past k); c is y's row (a (token, choice) for MM_EXPERT)
float x_at(uint c, uint e) { return e < pc.k ? Floats(pc.x + 4ul * (uint64_t(x_row(c)) * pc.k + e)).v[0] : 0.0; }
void y_put(uint c, uint r, float v) { Floats(pc.y + 4ul * (uint64_t(c) * pc.ldy + r)).v[0] = v; }
