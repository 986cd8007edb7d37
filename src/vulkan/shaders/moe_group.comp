#version 450
// moe_group.comp — the rows of each expert for the tiled expert products
// (mm_tile_id_*): one workgroup counts the rows (token, choice) routed to
// each expert, lays the experts' lists end to end in expert order
// (offsets), and writes each row into its expert's list. The order within
// a list is whatever the atomics give: each output row is computed on its
// own, so it does not change a result. Ids outside [0, E) are left out.
#include "common.glsl"

#define WG 256u
layout(local_size_x = 256) in;

layout(push_constant) uniform Push {
    uint64_t ids;    // int [n]
    uint64_t groups; // uint counts[E], offsets[E], rows[n]
    uint n, E;       // E <= 1024
} pc;

shared uint cursor[1024];

void main() {
    const uint t = gl_LocalInvocationID.x;
    Ints ids = Ints(pc.ids);
    Uints g = Uints(pc.groups);
    for (uint e = t; e < pc.E; e += WG) cursor[e] = 0u;
    barrier();
    for (uint r = t; r < pc.n; r += WG) {
        const int e = ids.v[r];
        if (e >= 0 && uint(e) < pc.E) atomicAdd(cursor[e], 1u);
    }
    barrier();
    if (t == 0u) {
        uint off = 0u;
        for (uint e = 0u; e < pc.E; e++) {
            const uint c = cursor[e];
            g.v[e] = c;
            g.v[pc.E + e] = off;
            cursor[e] = off;
            off += c;
        }
    }
    barrier();
    for (uint r = t; r < pc.n; r += WG) {
        const int e = ids.v[r];
        if (e >= 0 && uint(e) < pc.E) g.v[2u * pc.E + atomicAdd(cursor[e], 1u)] = r;
    }
}
