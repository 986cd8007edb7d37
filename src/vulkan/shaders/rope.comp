#version 450
// rope.comp — NEOX RoPE in place, one invocation per rotated pair
// (token t, head h, pair i): theta = float(pos[t]) * f[i], the frequencies
// f computed by the host as the CPU backend computes them (so theta is the
// same f32 product), and sin/cos of theta to about 1.3e-7 for |theta| up
// to 1.6e6 (sincos below): GLSL's sin and cos promise far less.
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Push {
    Floats x;    // [n_tok][n_head][head_dim]
    Ints pos;    // [n_tok]
    Floats freq; // [half]
    uint n_tok, n_head, head_dim, half_rot;
} pc;

// sin and cos of an f32 angle: Cody-Waite reduction by pi/2 (pi/2 split
// into pieces of 4 significant bits, so k * piece is exact for k < 2^20,
// and a last piece of 24 bits), then minimax polynomials on [-pi/4, pi/4]
// (Cephes' sinf/cosf coefficients) and the quadrant. `precise` keeps every
// product and difference rounded as written (no contraction into fma).
vec2 sincos(float theta) {
    precise float k = round(theta * uintBitsToFloat(0x3f22f983u)); // 2/pi
    precise float r = theta;
    r -= k * uintBitsToFloat(0x3fc00000u);
    r -= k * uintBitsToFloat(0x3d900000u);
    r -= k * uintBitsToFloat(0x39f00000u);
    r -= k * uintBitsToFloat(0x37d00000u);
    r -= k * uintBitsToFloat(0x35a00000u);
    r -= k * uintBitsToFloat(0x33a00000u);
    r -= k * uintBitsToFloat(0x30885a31u);
    precise float z = r * r;
    precise float s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
    precise float c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
    uint q = uint(int(k)) & 3u;
    return q == 0u ? vec2(s, c) : q == 1u ? vec2(c, -s) : q == 2u ? vec2(-s, -c) : vec2(-c, s);
}

void main() {
    uint id = group_index() * 256u + gl_LocalInvocationID.x;
    uint per_tok = pc.n_head * pc.half_rot;
    if (id >= pc.n_tok * per_tok) return;
    uint t = id / per_tok, h = (id % per_tok) / pc.half_rot, i = id % pc.half_rot;
    precise float theta = float(pc.pos.v[t]) * pc.freq.v[i];
    vec2 sc = sincos(theta);
    uint at = (t * pc.n_head + h) * pc.head_dim + i;
    float a = pc.x.v[at], b = pc.x.v[at + pc.half_rot];
    pc.x.v[at] = a * sc.y - b * sc.x;
    pc.x.v[at + pc.half_rot] = a * sc.x + b * sc.y;
}
