#version 450
// store_rows.comp — row r of x[n_rows][width] to the device address dst[r],
// as F32, F16 or BF16 (round to nearest even, as the host's fl_f32_to_f16
// and fl_f32_to_bf16): K/V rows into the KV pool (fl_vk_store_rows).
#include "common.glsl"

layout(local_size_x = 256) in;

layout(buffer_reference, std430, buffer_reference_align = 8) buffer Addrs { uint64_t v[]; };

layout(push_constant) uniform Push {
    Floats x;
    Addrs dst;
    uint n_rows, width;
    uint type; // 0 F32, 1 F16, 2 BF16
} pc;

// f32 to f16 bits, rounded to nearest even whatever the device's own
// conversion does (packHalf2x16's rounding is left to the implementation)
uint to_f16(float f) {
    uint x = floatBitsToUint(f);
    uint sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) return sign | 0x7e00u | ((x >> 13) & 0x3ffu);
    if (x >= 0x477ff000u) return sign | 0x7c00u; // >= 65520 or inf
    uint e = x >> 23;
    if (e >= 113u) {
        uint h = ((e - 112u) << 10) | ((x >> 13) & 0x3ffu), rest = x & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) != 0u)) h++;
        return sign | h;
    }
    if (e < 102u) return sign;
    uint mant = (x & 0x7fffffu) | 0x800000u, shift = 126u - e;
    uint m = mant >> shift, rest = mant & ((1u << shift) - 1u), half_ = 1u << (shift - 1u);
    if (rest > half_ || (rest == half_ && (m & 1u) != 0u)) m++;
    return sign | m;
}

uint to_bf16(float f) {
    uint b = floatBitsToUint(f);
    if ((b & 0x7fffffffu) > 0x7f800000u) return (b >> 16) | 0x40u; // NaN stays NaN (quiet)
    return (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
}

void main() {
    uint i = group_index() * 256u + gl_LocalInvocationID.x;
    if (i >= pc.n_rows * pc.width) return;
    uint r = i / pc.width, c = i - r * pc.width;
    float v = pc.x.v[i];
    uint64_t a = pc.dst.v[r];
    if (pc.type == 0u) Floats(a).v[c] = v;
    else if (pc.type == 1u) U16s(a).v[c] = uint16_t(to_f16(v));
    else U16s(a).v[c] = uint16_t(to_bf16(v));
}
