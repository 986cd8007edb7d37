// delta_gates.glsl — the softplus in a token's log decay in the gated
// delta rule (backend.h: g = ssm_a softplus(a + dt_bias)), shared by
// delta_rule.comp and delta_chunk_prep.comp.
float softplus(float x) {
    if (x > 20.0) return x;
    // log1p(e^x) without losing e^x where it is far below 1
    float e = exp(x), u = 1.0 + e;
    return u == 1.0 ? e : log(u) * (e / (u - 1.0));
}
