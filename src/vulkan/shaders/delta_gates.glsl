// delta_gates.glsl — a token's gates in the gated delta rule (backend.h),
// shared by delta_rule.comp and the chunked form (delta_chunk.glsl):
// log decay g = ssm_a softplus(a + dt_bias) and beta = sigmoid(b).
float softplus(float x) {
    if (x > 20.0) return x;
    // log1p(e^x) without losing e^x where it is far below 1
    float e = exp(x), u = 1.0 + e;
    return u == 1.0 ? e : log(u) * (e / (u - 1.0));
}
