/* delta.c — the Gated DeltaNet ops on the device: the causal depthwise
 * convolution with SiLU (shaders/conv_silu.comp, one invocation per
 * channel) and the gated delta rule (backend.h) in two forms:
 * - the token recurrence (shaders/delta_rule.comp: every token in one
 *   dispatch, a workgroup per (value head, block of state columns), one
 *   barrier per token): decode and short runs;
 * - the chunked form (MODELS.md §5.4) for runs from CHUNKED_MIN tokens, in
 *   chunks of CHUNK = 32 tokens and two dispatches:
 *   shaders/delta_chunk_prep.comp does what within a chunk does not depend
 *   on the state, for every (value head, chunk) at once: the decay
 *   cumsums, K K^T and Q K^T, the triangular solve T = (I + A)^-1 by
 *   forward substitution, W = T (beta e^G K), U = T (beta V), into scratch
 *   (the segment's device-local scratch); shaders/delta_chunk_state.comp then carries
 *   the state through the chunks, a workgroup per (value head, block of
 *   columns) with its d_k x cols of state in shared memory, three barriers
 *   a chunk: V' = U - W S, O = e^G Q S + M V', S = e^G_N S + K_w^T V'.
 *   It equals the recurrence up to rounding (backend.h).
 * CHUNK = 32 and 16 KiB of state tile keep both passes within lavapipe's
 * 32 KiB of shared memory; a GPU with 48+ KiB could take chunks of 64
 * (fewer sequential steps, twice the intra-chunk parallel work).
 * The scratch is the segment's device-local scratch (fl_vk_scratch, as
 * attention's partials), at most SCRATCH_FLOATS a call: longer runs go in
 * segments sharing it. Deterministic mode takes the recurrence for every
 * run.
 * Measured on lavapipe (2 cores shared with other work) at Qwen3.5's 16
 * value heads of 128 x 128, ms recurrence / chunked, the forms alternating,
 * best of 5 (FLINT_VK_DELTA_BENCH=1 test_vk_delta): n = 8: 31 / 38, 16: 77
 * / 54, 32: 153 / 111, 128: 635 / 457, 512: 2630 / 1918. Both forms do the
 * same multiply-adds (3 d_k d_v a token); the chunked form gains on a CPU
 * by its register blocking alone, from a chunk of 16: CHUNKED_MIN. On a
 * GPU the recurrence's n dependent steps over n_v_heads x d_v / 32
 * workgroups leave most of the device idle, while the first pass's n_v_heads x n / 32 workgroups fill it and
 * the second has n / 32 steps of small matrix products: it should win
 * from fewer tokens there (unmeasured). FLINT_VK_DELTA=recurrent|chunked
 * forces a form (benchmarks, tests). */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "vulkan/vk.h"

#define CONV_MAX_TAPS 16 /* conv_silu.comp's window (the loader's bound) */
#define DELTA_ROWS 32    /* delta_rule.comp: rows of a state column per invocation */
#define DELTA_MAX_DK 256 /* ... times its 8 parts */
#define CHUNK 32           /* delta_chunk.glsl's C */
#define CHUNK_S_FLOATS 4096 /* delta_chunk_state.comp's S_FLOATS: d_k x cols of state in shared memory */
#define CHUNK_MAX_COLS 32  /* ... and its MAX_COLS */
#define CHUNKED_MIN 16     /* runs from this many tokens take the chunked form (measured: above) */
#define SCRATCH_FLOATS (2u << 20) /* the chunked form's scratch (8 MiB): runs needing more go in segments */

typedef struct conv_push {
    VkDeviceAddress y, x, w, state;
    uint32_t n, C, K;
} conv_push;

void fl_vk_conv_silu(fl_backend *be, float *y, const float *x, const float *w, float *state, int64_t n, int64_t C,
                     int32_t K) {
    fl_vk *vk = fl_vk_of(be);
    if (n <= 0 || C <= 0 || vk->err) return;
    if (K < 1 || K > CONV_MAX_TAPS || n * C > UINT32_MAX) {
        vk->err = fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: conv_silu of %d taps over %lld x %lld (at most %d taps, 2^32 "
                            "elements)", K, (long long)n, (long long)C, CONV_MAX_TAPS);
        return;
    }
    const uint64_t bytes = (uint64_t)(n * C) * sizeof(float);
    conv_push pc = {.x = fl_vk_in(vk, x, bytes),
                    .w = fl_vk_in(vk, w, (uint64_t)(C * K) * sizeof(float)),
                    .n = (uint32_t)n,
                    .C = (uint32_t)C,
                    .K = (uint32_t)K};
    pc.y = fl_vk_out(vk, y, bytes);
    /* K = 1 keeps no state: any address will do */
    pc.state = K > 1 ? fl_vk_out(vk, state, (uint64_t)((K - 1) * C) * sizeof(float)) : pc.y;
    if (vk->err) return;
    fl_vk_run(vk, FL_VK_SHADER_conv_silu, &pc, sizeof pc, (uint64_t)C, 64);
}

typedef struct delta_push {
    VkDeviceAddress q, k, v, a, b, out, state, ssm_a, dt_bias;
    uint32_t n, n_k_heads, n_v_heads, d_k, d_v, tiled, parts;
} delta_push;

/* The operands' device addresses for a run of n tokens. */
static delta_push operands(fl_vk *vk, const fl_delta_params *p, float *out, const float *q, const float *k,
                           const float *v, const float *a, const float *b, float *state, int64_t n) {
    const uint64_t nq = (uint64_t)(n * p->n_k_heads * p->d_k), nv = (uint64_t)(n * p->n_v_heads * p->d_v);
    const uint64_t ns = (uint64_t)p->n_v_heads * (uint64_t)p->d_k * (uint64_t)p->d_v;
    delta_push pc = {.q = fl_vk_in(vk, q, nq * sizeof(float)),
                     .k = fl_vk_in(vk, k, nq * sizeof(float)),
                     .v = fl_vk_in(vk, v, nv * sizeof(float)),
                     .a = fl_vk_in(vk, a, (uint64_t)(n * p->n_v_heads) * sizeof(float)),
                     .b = fl_vk_in(vk, b, (uint64_t)(n * p->n_v_heads) * sizeof(float)),
                     .ssm_a = fl_vk_in(vk, p->ssm_a, (uint64_t)p->n_v_heads * sizeof(float)),
                     .dt_bias = fl_vk_in(vk, p->dt_bias, (uint64_t)p->n_v_heads * sizeof(float)),
                     .n = (uint32_t)n,
                     .n_k_heads = (uint32_t)p->n_k_heads,
                     .n_v_heads = (uint32_t)p->n_v_heads,
                     .d_k = (uint32_t)p->d_k,
                     .d_v = (uint32_t)p->d_v,
                     .tiled = p->tiled};
    pc.out = fl_vk_out(vk, out, nv * sizeof(float));
    pc.state = fl_vk_out(vk, state, ns * sizeof(float));
    return pc;
}

static void recurrent(fl_vk *vk, const fl_delta_params *p, float *out, const float *q, const float *k,
                      const float *v, const float *a, const float *b, float *state, int64_t n) {
    delta_push pc = operands(vk, p, out, q, k, v, a, b, state, n);
    if (vk->err) return;
    pc.parts = 1;
    while (pc.parts * DELTA_ROWS < (uint32_t)p->d_k) pc.parts *= 2;
    const uint32_t cols = 128 / pc.parts, col_blocks = ((uint32_t)p->d_v + cols - 1) / cols;
    uint32_t gx, gy;
    fl_vk_groups(vk, (uint64_t)p->n_v_heads * col_blocks, 1, &gx, &gy);
    fl_vk_dispatch(vk, FL_VK_SHADER_delta_rule, &pc, sizeof pc, gx, gy, 1);
}

/* Floats of scratch per (value head, chunk): W, U, M and G. */
static uint64_t chunk_floats(const fl_delta_params *p) {
    return (uint64_t)CHUNK * ((uint64_t)p->d_k + (uint64_t)p->d_v + CHUNK + 1);
}

/* State columns per workgroup of the chunked form's second pass: the most
 * whose d_k x cols fit its shared tile, no more than d_v needs; 0 where
 * not even one column fits or one chunk's scratch passes 32-bit indexing
 * (the recurrence then). */
static uint32_t chunk_cols(const fl_delta_params *p) {
    if ((uint64_t)p->n_v_heads * chunk_floats(p) > UINT32_MAX) return 0;
    uint32_t cols = CHUNK_MAX_COLS;
    while (cols > 0 && cols * (uint32_t)p->d_k > CHUNK_S_FLOATS) cols /= 2;
    while (cols > 4 && cols / 2 >= (uint32_t)p->d_v) cols /= 2;
    return cols >= 4 ? cols : 0; /* its blocks take 4 columns */
}

/* The chunked form from CHUNKED_MIN tokens where the shapes fit it, never
 * in deterministic mode (a token's output would depend on how the run was
 * cut); FLINT_VK_DELTA=recurrent or =chunked forces one (benchmarks, tests). */
static bool use_chunked(const fl_vk *vk, int64_t n, uint32_t cols) {
    const char *force = getenv("FLINT_VK_DELTA");
    if (cols == 0 || vk->base.deterministic) return false;
    if (force && !strcmp(force, "recurrent")) return false;
    if (force && !strcmp(force, "chunked")) return true;
    return n >= CHUNKED_MIN;
}

typedef struct chunk_push {
    VkDeviceAddress q, k, v, a, b, out, state, ssm_a, dt_bias, scratch;
    uint32_t n, n_k_heads, n_v_heads, d_k, d_v, tiled, cols;
} chunk_push;
_Static_assert(sizeof(chunk_push) <= 128, "push constants are 128 bytes");

/* Two dispatches per segment of the run: the intra-chunk products of all
 * its chunks, then the state through them. The segments (as many chunks
 * as SCRATCH_FLOATS hold) share one scratch, ordered by the barriers
 * between dispatches. */
static void chunked(fl_vk *vk, const fl_delta_params *p, float *out, const float *q, const float *k,
                    const float *v, const float *a, const float *b, float *state, int64_t n, uint32_t cols) {
    const delta_push ops = operands(vk, p, out, q, k, v, a, b, state, n);
    const uint64_t per_chunk = (uint64_t)p->n_v_heads * chunk_floats(p), chunks = ((uint64_t)n + CHUNK - 1) / CHUNK;
    uint64_t seg_chunks = SCRATCH_FLOATS / per_chunk;
    seg_chunks = seg_chunks < 1 ? 1 : seg_chunks < chunks ? seg_chunks : chunks;
    const VkDeviceAddress scratch = fl_vk_scratch(vk, seg_chunks * per_chunk * sizeof(float));
    if (vk->err) return;
    const uint64_t ldq = (uint64_t)p->n_k_heads * (uint64_t)p->d_k * sizeof(float);
    const uint64_t ldv = (uint64_t)p->n_v_heads * (uint64_t)p->d_v * sizeof(float);
    const uint64_t ldg = (uint64_t)p->n_v_heads * sizeof(float);
    const uint32_t col_blocks = ((uint32_t)p->d_v + cols - 1) / cols;
    for (int64_t t0 = 0; t0 < n; t0 += (int64_t)(seg_chunks * CHUNK)) {
        const int64_t len = n - t0 < (int64_t)(seg_chunks * CHUNK) ? n - t0 : (int64_t)(seg_chunks * CHUNK);
        const uint64_t t = (uint64_t)t0;
        const chunk_push pc = {.q = ops.q + t * ldq,
                               .k = ops.k + t * ldq,
                               .v = ops.v + t * ldv,
                               .a = ops.a + t * ldg,
                               .b = ops.b + t * ldg,
                               .out = ops.out + t * ldv,
                               .state = ops.state,
                               .ssm_a = ops.ssm_a,
                               .dt_bias = ops.dt_bias,
                               .scratch = scratch,
                               .n = (uint32_t)len,
                               .n_k_heads = ops.n_k_heads,
                               .n_v_heads = ops.n_v_heads,
                               .d_k = ops.d_k,
                               .d_v = ops.d_v,
                               .tiled = ops.tiled,
                               .cols = cols};
        uint32_t gx, gy;
        fl_vk_groups(vk, (uint64_t)p->n_v_heads * (((uint64_t)len + CHUNK - 1) / CHUNK), 1, &gx, &gy);
        fl_vk_dispatch(vk, FL_VK_SHADER_delta_chunk_prep, &pc, sizeof pc, gx, gy, 1);
        fl_vk_groups(vk, (uint64_t)p->n_v_heads * col_blocks, 1, &gx, &gy);
        fl_vk_dispatch(vk, FL_VK_SHADER_delta_chunk_state, &pc, sizeof pc, gx, gy, 1);
    }
}

flint_status fl_vk_delta_rule(fl_backend *be, const fl_delta_params *p, float *out, const float *q, const float *k,
                              const float *v, const float *a, const float *b, float *state, int64_t n) {
    fl_vk *vk = fl_vk_of(be);
    if (p->n_k_heads <= 0 || p->n_v_heads <= 0 || p->n_v_heads % p->n_k_heads != 0 || p->d_k <= 0 || p->d_v <= 0)
        return fl_errorf(FLINT_E_INVALID_ARG, "delta rule: %d value heads over %d key heads of %d x %d", p->n_v_heads,
                         p->n_k_heads, p->d_k, p->d_v);
    if (p->d_k > DELTA_MAX_DK)
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: delta rule with key heads of %d (at most %d)", p->d_k,
                         DELTA_MAX_DK);
    const int64_t nq = n * p->n_k_heads * p->d_k, nv = n * p->n_v_heads * p->d_v;
    const int64_t ns = (int64_t)p->n_v_heads * p->d_k * p->d_v;
    if (n < 0 || nq > UINT32_MAX || nv > UINT32_MAX || ns > UINT32_MAX)
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: delta rule over %lld tokens of %d x %d heads (at most 2^32 "
                         "elements in an operand)", (long long)n, p->n_v_heads, p->d_v);
    if (n == 0 || vk->err) return fl_vk_status(vk);
    const uint32_t cols = chunk_cols(p);
    if (use_chunked(vk, n, cols)) chunked(vk, p, out, q, k, v, a, b, state, n, cols);
    else recurrent(vk, p, out, q, k, v, a, b, state, n);
    fl_vk_submit(vk);
    return fl_vk_status(vk);
}
