// delta_chunk.glsl — what the two passes of the chunked gated delta rule
// share (MODELS.md §5.4; vulkan/delta.c has the plan): the push constants,
// the chunk size and the scratch layout. Per (value head j, chunk ch) of C
// tokens, delta_chunk_prep.comp writes at chunk_at(j, ch):
//   W [C][d_k]  = T (beta e^G k)      T = (I + A)^-1, the intra-chunk solve
//   U [C][d_v]  = T (beta v)
//   M [C][C]    = (q_t.k_s) e^(G_t - G_s), s <= t (0 above the diagonal)
//   G [C]       the cumulative log decay within the chunk
// and delta_chunk_state.comp carries the state through the chunks.

#define THREADS 256
#define C 32u // tokens per chunk

layout(push_constant) uniform Push {
    Floats q, k, v, a, b, out_, state, ssm_a, dt_bias, scratch;
    uint n, n_k_heads, n_v_heads, d_k, d_v;
    uint tiled; // key head of value head j: tiled ? j % n_k_heads : j / (n_v_heads / n_k_heads)
    uint cols;  // delta_chunk_state.comp: state columns per workgroup (a power of two <= 64)
} pc;

uint key_head(uint j) { return pc.tiled != 0u ? j % pc.n_k_heads : j / (pc.n_v_heads / pc.n_k_heads); }
uint n_chunks() { return (pc.n + C - 1u) / C; }
uint chunk_at(uint j, uint ch) { return (j * n_chunks() + ch) * (C * (pc.d_k + pc.d_v + C + 1u)); }
uint w_at(uint j, uint ch) { return chunk_at(j, ch); }
uint u_at(uint j, uint ch) { return chunk_at(j, ch) + C * pc.d_k; }
uint m_at(uint j, uint ch) { return chunk_at(j, ch) + C * (pc.d_k + pc.d_v); }
uint g_at(uint j, uint ch) { return chunk_at(j, ch) + C * (pc.d_k + pc.d_v + C); }
