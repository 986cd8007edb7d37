/* delta.c — the CPU ops of Gated DeltaNet layers (backend.h): the causal
 * depthwise convolution with SiLU, and the gated delta rule, threaded over
 * value heads. The delta rule runs as the token recurrence for short runs
 * (decode) and in the chunked form for prefill, where each chunk of up to
 * 64 tokens becomes small matrix products (MODELS.md §5.4):
 *   G_t = sum_{s<=t} g_s ;  A_ts = beta_t (k_t.k_s) e^(G_t - G_s), s < t
 *   U_t = beta_t v_t - sum_{s<t} A_ts U_s             ((I + A)^-1 applied:
 *   W_t = beta_t e^G_t k_t - sum_{s<t} A_ts W_s        the inverse, then products)
 *   V'  = U - W S
 *   O_t = e^G_t (S^T q_t) + sum_{s<=t} (q_t.k_s) e^(G_t - G_s) V'_s
 *   S   = e^G_N S + sum_s e^(G_N - G_s) k_s V'_s^T
 * The products run on the ISA's attention kernels (ops.h). */
#include "cpu/delta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cpu/ops.h"

#define CHUNK 64

struct fl_cpu_delta {
    float *buf; /* n_threads slices of per_thread floats */
    int64_t per_thread;
    int32_t n_threads;
    bool deterministic; /* the recurrence for every run */
};

flint_status fl_cpu_delta_create(int32_t n_threads, fl_cpu_delta **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return fl_errorf(FLINT_E_NOMEM, "out of memory for the delta-rule scratch");
    (*out)->n_threads = n_threads;
    return FLINT_OK;
}

void fl_cpu_delta_set_deterministic(fl_cpu_delta *d, bool on) { d->deterministic = on; }

void fl_cpu_delta_free(fl_cpu_delta *d) {
    if (!d) return;
    free(d->buf);
    free(d);
}

static float softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

typedef struct delta_job {
    const fl_cpu_kernels *kern;
    const fl_delta_params *p;
    float *out;
    const float *q, *k, *v, *a, *b;
    float *state;
    int64_t n;
    fl_cpu_delta *scratch;
} delta_job;

/* Token t's log decay and beta for value head j. */
static void gates(const delta_job *J, int64_t t, int32_t j, float *g, float *beta) {
    const fl_delta_params *p = J->p;
    int64_t i = t * p->n_v_heads + j;
    *g = p->ssm_a[j] * softplus(J->a[i] + p->dt_bias[j]);
    *beta = 1.0f / (1.0f + expf(-J->b[i]));
}

/* The products below go through the ISA's attention kernels:
 *   scores(s, lds, x, nr, y, ldy, nk, d): s[r][j] = x_r . y_j (x rows contiguous)
 *   accum(o, ldo, p, ldp, nr, v, ldv, nk, dv): o[r] += sum_j p[r][j] v_j
 * The recurrence per token, in two passes over the d_k x d_v state (64 KiB
 * a head, more than L1): S^T k on the old state (a read), then per block
 * of REC_ROWS rows, while the block is in L1, the decay, the rank-1 update
 * and the block's share of S^T q (a read-write). Four separate passes
 * (decay, S^T k, update, S^T q) moved twice the bytes. */
#define REC_ROWS 16

static void recurrent(const delta_job *J, int32_t j, int32_t kh, float *S, float *delta) {
    const fl_cpu_kernels *K = J->kern;
    const fl_delta_params *p = J->p;
    const int64_t dk = p->d_k, dv = p->d_v;
    for (int64_t t = 0; t < J->n; t++) {
        const float *q = J->q + (t * p->n_k_heads + kh) * dk, *k = J->k + (t * p->n_k_heads + kh) * dk;
        const float *v = J->v + (t * p->n_v_heads + j) * dv;
        float *o = J->out + (t * p->n_v_heads + j) * dv;
        float g, beta;
        gates(J, t, j, &g, &beta);
        const float decay = expf(g);
        /* delta = beta (v - (e^g S)^T k) */
        memset(delta, 0, (size_t)dv * sizeof *delta);
        K->attn_accum(delta, dv, k, dk, 1, S, dv, dk, dv);
        for (int64_t c = 0; c < dv; c++) delta[c] = beta * (v[c] - decay * delta[c]);
        /* S = e^g S + k delta^T; o = S^T q */
        memset(o, 0, (size_t)dv * sizeof *o);
        for (int64_t i0 = 0; i0 < dk; i0 += REC_ROWS) {
            const int64_t nr = dk - i0 < REC_ROWS ? dk - i0 : REC_ROWS;
            float *Sb = S + i0 * dv;
            K->scale(Sb, Sb, decay, nr * dv);
            K->attn_accum(Sb, dv, k + i0, 1, nr, delta, dv, 1, dv);
            K->attn_accum(o, dv, q + i0, dk, 1, Sb, dv, nr, dv);
        }
    }
}

/* Floats of scratch one thread needs: the larger of the two forms. */
static int64_t scratch_floats(const fl_delta_params *p) {
    const int64_t dk = p->d_k, dv = p->d_v;
    return 3 * CHUNK * CHUNK + 3 * CHUNK + CHUNK * (2 * dv + 4 * dk) + dk * CHUNK;
}

/* One chunk's triangular solve in blocked form: with P_ts = -A_ts (s < t),
 * U = (I - P)^-1 Bv and W = (I - P)^-1 Bk, the inverse T built row by row
 * (T_t = e_t + sum_{s<t} P_ts T_s: N x N work) so that the two wide
 * products run as matrix products. */
static void solve_uw(const fl_cpu_kernels *K, const float *P, float *T, int64_t N, const float *Bv, float *U,
                     int64_t dv, const float *Bk, float *Wm, int64_t dk) {
    for (int64_t t = 0; t < N; t++) {
        float *row = T + t * CHUNK;
        memset(row, 0, (size_t)N * sizeof *row);
        row[t] = 1.0f;
        K->attn_accum(row, CHUNK, P + t * CHUNK, CHUNK, 1, T, CHUNK, t, N);
    }
    memset(U, 0, (size_t)(N * dv) * sizeof *U);
    memset(Wm, 0, (size_t)(N * dk) * sizeof *Wm);
    K->attn_accum(U, dv, T, CHUNK, N, Bv, dv, N, dv);
    K->attn_accum(Wm, dk, T, CHUNK, N, Bk, dk, N, dk);
}

static void chunked(const delta_job *J, int32_t j, int32_t kh, float *S, float *tmp) {
    const fl_cpu_kernels *K = J->kern;
    const fl_delta_params *p = J->p;
    const int64_t dk = p->d_k, dv = p->d_v, ldq = (int64_t)p->n_k_heads * dk, ldv = (int64_t)p->n_v_heads * dv;
    float *P = tmp, *D = P + CHUNK * CHUNK, *T = D + CHUNK * CHUNK, *G = T + CHUNK * CHUNK, *beta = G + CHUNK;
    float *eG = beta + CHUNK, *U = eG + CHUNK, *Bv = U + CHUNK * dv, *W = Bv + CHUNK * dv, *Bk = W + CHUNK * dk;
    float *Qc = Bk + CHUNK * dk, *Kc = Qc + CHUNK * dk, *KT = Kc + CHUNK * dk;
    for (int64_t t0 = 0; t0 < J->n; t0 += CHUNK) {
        const int64_t N = J->n - t0 < CHUNK ? J->n - t0 : CHUNK;
        const float *V = J->v + t0 * ldv + j * dv;
        float *O = J->out + t0 * ldv + j * dv;
        float sum = 0;
        for (int64_t t = 0; t < N; t++) {
            float g;
            gates(J, t0 + t, j, &g, &beta[t]);
            G[t] = sum += g;
            eG[t] = expf(G[t]);
            memcpy(Qc + t * dk, J->q + (t0 + t) * ldq + kh * dk, (size_t)dk * sizeof(float));
            memcpy(Kc + t * dk, J->k + (t0 + t) * ldq + kh * dk, (size_t)dk * sizeof(float));
            K->scale(Bv + t * dv, V + t * ldv, beta[t], dv);
            K->scale(Bk + t * dk, Kc + t * dk, beta[t] * eG[t], dk);
        }
        /* D_ts = e^(G_t - G_s) for s <= t, else 0 */
        for (int64_t t = 0; t < N; t++) {
            float *d = D + t * CHUNK;
            for (int64_t s = 0; s < N; s++) d[s] = s <= t ? -G[s] : -INFINITY;
            K->attn_exp(d, N, -G[t]);
        }
        /* P_ts = -A_ts = -beta_t (k_t.k_s) D_ts for s < t */
        K->attn_scores(P, CHUNK, Kc, N, Kc, dk, N, dk);
        for (int64_t t = 0; t < N; t++)
            for (int64_t s = 0; s < N; s++) P[t * CHUNK + s] = s < t ? -beta[t] * P[t * CHUNK + s] * D[t * CHUNK + s] : 0.0f;
        solve_uw(K, P, T, N, Bv, U, dv, Bk, W, dk);
        /* V' = U - W S (into U) */
        K->scale(W, W, -1.0f, N * dk);
        K->attn_accum(U, dv, W, dk, N, S, dv, dk, dv);
        /* O = e^G (Q S) + ((Q K^T) . D) V' */
        K->attn_scores(P, CHUNK, Qc, N, Kc, dk, N, dk);
        for (int64_t t = 0; t < N; t++) {
            K->mul(P + t * CHUNK, P + t * CHUNK, D + t * CHUNK, N);
            K->scale(Qc + t * dk, Qc + t * dk, eG[t], dk);
            memset(O + t * ldv, 0, (size_t)dv * sizeof(float));
        }
        K->attn_accum(O, ldv, Qc, dk, N, S, dv, dk, dv);
        K->attn_accum(O, ldv, P, CHUNK, N, U, dv, N, dv);
        /* S = e^G_N S + (K . w_N)^T V', w_N[s] = e^(G_N - G_s) = D[N-1][s] */
        const float *wN = D + (N - 1) * CHUNK;
        for (int64_t i = 0; i < dk; i++)
            for (int64_t s = 0; s < N; s++) KT[i * CHUNK + s] = Kc[s * dk + i] * wN[s];
        K->scale(S, S, eG[N - 1], dk * dv);
        K->attn_accum(S, dv, KT, CHUNK, dk, U, dv, N, dv);
    }
}

static void delta_task(void *ctx, int64_t task, int32_t thread) {
    const delta_job *J = ctx;
    const fl_delta_params *p = J->p;
    const int32_t j = (int32_t)task;
    const int32_t kh = p->tiled ? j % p->n_k_heads : j / (p->n_v_heads / p->n_k_heads);
    float *S = J->state + (int64_t)j * p->d_k * p->d_v;
    float *tmp = J->scratch->buf + (int64_t)thread * J->scratch->per_thread;
    if (J->n >= FL_CPU_DELTA_CHUNKED_MIN && !J->scratch->deterministic) chunked(J, j, kh, S, tmp);
    else recurrent(J, j, kh, S, tmp);
}

flint_status fl_cpu_delta_run(fl_cpu_delta *d, fl_pool *pool, const fl_cpu_kernels *kern, const fl_delta_params *p,
                              float *out, const float *q, const float *k, const float *v, const float *a,
                              const float *b, float *state, int64_t n) {
    if (p->n_k_heads <= 0 || p->n_v_heads % p->n_k_heads != 0 || p->d_k <= 0 || p->d_v <= 0)
        return fl_errorf(FLINT_E_INVALID_ARG, "delta rule: %d value heads over %d key heads of %d x %d", p->n_v_heads,
                         p->n_k_heads, p->d_k, p->d_v);
    int64_t need = scratch_floats(p);
    if (need > d->per_thread) {
        float *buf = realloc(d->buf, (size_t)(need * d->n_threads) * sizeof *buf);
        if (!buf) return fl_errorf(FLINT_E_NOMEM, "out of memory for the delta-rule scratch");
        d->buf = buf;
        d->per_thread = need;
    }
    delta_job J = {kern, p, out, q, k, v, a, b, state, n, d};
    fl_pool_run(pool, p->n_v_heads, delta_task, &J);
    return FLINT_OK;
}

/* ---- the causal depthwise convolution with SiLU ----
 * Threaded over ranges of channels; each task transposes its slice of the
 * taps ([channel][tap] in the model) so that every sum runs over
 * contiguous channels, applies SiLU with the ISA's kernel and then shifts
 * its channels of the state. Small calls (decode) run on the caller. */
#define CONV_CHANNELS 64
#define CONV_MAX_TAPS 16       /* the loader's bound on the kernel size */
#define CONV_PAR_ELEMS (1 << 15) /* n x C from which the pool is worth a fork */

typedef struct conv_job {
    const fl_cpu_kernels *kern;
    float *y, *state;
    const float *x, *w;
    int64_t n, C;
    int32_t K;
} conv_job;

static void conv_task(void *ctx, int64_t task, int32_t thread) {
    const conv_job *J = ctx;
    (void)thread;
    const int64_t C = J->C, c0 = task * CONV_CHANNELS, nc = C - c0 < CONV_CHANNELS ? C - c0 : CONV_CHANNELS;
    const int32_t K = J->K;
    float wt[CONV_MAX_TAPS][CONV_CHANNELS];
    for (int32_t j = 0; j < K; j++)
        for (int64_t c = 0; c < nc; c++) wt[j][c] = J->w[(c0 + c) * K + j];
    for (int64_t t = 0; t < J->n; t++) {
        const float *in[CONV_MAX_TAPS];
        for (int32_t j = 0; j < K; j++) {
            const int64_t src = t - (K - 1) + j; /* < 0: from the state */
            in[j] = (src >= 0 ? J->x + src * C : J->state + (K - 1 + src) * C) + c0;
        }
        float *yt = J->y + t * C + c0;
        if (nc == CONV_CHANNELS) { /* a fixed count into a local array: the compiler vectorises it */
            float acc[CONV_CHANNELS] = {0};
            for (int32_t j = 0; j < K; j++)
                for (int c = 0; c < CONV_CHANNELS; c++) acc[c] += wt[j][c] * in[j][c];
            memcpy(yt, acc, sizeof acc);
        } else {
            for (int64_t c = 0; c < nc; c++) {
                float acc = 0;
                for (int32_t j = 0; j < K; j++) acc += wt[j][c] * in[j][c];
                yt[c] = acc;
            }
        }
        J->kern->act(FL_ACT_SILU, yt, yt, nc);
    }
    /* the state keeps the last K - 1 inputs */
    for (int32_t r = 0; r < K - 1; r++) {
        const int64_t src = J->n - (K - 1) + r;
        float *dst = J->state + r * C + c0;
        if (src < 0) memmove(dst, J->state + (r + J->n) * C + c0, (size_t)nc * sizeof *dst);
        else memcpy(dst, J->x + src * C + c0, (size_t)nc * sizeof *dst);
    }
}

void fl_cpu_conv_silu(fl_pool *pool, const fl_cpu_kernels *kern, float *y, const float *x, const float *w,
                      float *state, int64_t n, int64_t C, int32_t K) {
    conv_job J = {kern, y, state, x, w, n, C, K};
    const int64_t tasks = (C + CONV_CHANNELS - 1) / CONV_CHANNELS;
    if (n * C >= CONV_PAR_ELEMS) fl_pool_run(pool, tasks, conv_task, &J);
    else
        for (int64_t t = 0; t < tasks; t++) conv_task(&J, t, 0);
}
