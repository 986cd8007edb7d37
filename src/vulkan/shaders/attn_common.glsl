// attn_common.glsl — what the attention shaders share (attention.c): the
// push constants, the tile list, reads of K/V rows in the cache's type,
// the visibility rule and the soft-cap.
#extension GL_EXT_control_flow_attributes : require

// per tile: the device addresses of its K, V and positions
layout(buffer_reference, std430, buffer_reference_align = 8) buffer Addrs { uint64_t v[]; };

layout(push_constant) uniform Push {
    Floats q;      // [n_q][n_head][dk]
    Ints pos_q;    // [n_q]
    Floats out_;   // [n_q][n_head][dv] (one split) ...
    Floats part;   // ... or per (KV head, row, split): m, l, o[dv]
    Addrs tiles;   // [n_tiles][3]
    uint n_head, group; // group = n_head / n_head_kv
    uint dk, dv, kv_stride;
    uint n_rows;   // n_q * group: the (query, head in group) rows of a KV head
    uint n_tiles, n_split, tiles_per_split, n_rblocks;
    int window;
    uint kv_type;  // 0 F32, 1 F16, 2 BF16
    float scale, softcap;
} pc;

// element idx of a K or V array of the cache's type, as f32
float kv_load(uint64_t base, uint idx) {
    if (pc.kv_type == 0u) return Floats(base).v[idx];
    if (pc.kv_type == 1u) return float(Halfs(base).v[idx]);
    return bf16_to_f32(uint(U16s(base).v[idx]));
}

bool visible(int pq, int pk) {
    return pk >= 0 && pk <= pq && (pc.window == 0 || pq - pk < pc.window);
}

// tanh to a few f32 ulps everywhere, whatever the driver's tanh does (its
// precision is only that of an exp formula, which cancels near 0): Taylor
// through x^17 below 0.55 (remainder < 1e-8), 1 - 2 / (e^2|x| + 1) above,
// where the result is >= 0.5 and nothing cancels; saturated past 9
float tanh_f32(float x) {
    const float a = abs(x);
    if (a < 0.55) {
        const float z = x * x;
        float p = 6404582.0 / 10854718875.0;
        p = p * z - 929569.0 / 638512875.0;
        p = p * z + 21844.0 / 6081075.0;
        p = p * z - 1382.0 / 155925.0;
        p = p * z + 62.0 / 2835.0;
        p = p * z - 17.0 / 315.0;
        p = p * z + 2.0 / 15.0;
        p = p * z - 1.0 / 3.0;
        return x + x * z * p;
    }
    const float t = 1.0 - 2.0 / (exp(2.0 * min(a, 9.0)) + 1.0);
    return x < 0.0 ? -t : t;
}

// softcap * tanh(s / softcap)
float cap_score(float s) {
    return pc.softcap > 0.0 ? pc.softcap * tanh_f32(s / pc.softcap) : s;
}

// where split `split` of row `row` of KV head kvh keeps m, l, o[dv]
uint part_base(uint kvh, uint row, uint split) {
    return ((kvh * pc.n_rows + row) * pc.n_split + split) * (pc.dv + 2u);
}
