/* delta.c — the CPU ops of Gated DeltaNet layers (backend.h): the causal
 * depthwise convolution with SiLU, and the gated delta rule, threaded over
 * value heads. The delta rule runs as the token recurrence for short runs
 * (decode) and in the chunked form for prefill, where each chunk of up to
 * 64 tokens becomes small matrix products (MODELS.md §5.4):
 *   G_t = sum_{s<=t} g_s ;  A_ts = beta_t (k_t.k_s) e^(G_t - G_s), s < t
 *   U_t = beta_t v_t - sum_{s<t} A_ts U_s             (forward substitution:
 *   W_t = beta_t e^G_t k_t - sum_{s<t} A_ts W_s        (I + A)^-1 applied)
 *   V'  = U - W S
 *   O_t = e^G_t (S^T q_t) + sum_{s<=t} (q_t.k_s) e^(G_t - G_s) V'_s
 *   S   = e^G_N S + sum_s e^(G_N - G_s) k_s V'_s^T
 * Plain C loops: the innermost loops run over contiguous d_v or d_k and
 * vectorize; the work per token is small next to the layer's matmuls. */
#include "cpu/delta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#define CHUNK 64

struct fl_cpu_delta {
    float *buf; /* n_threads slices of per_thread floats */
    int64_t per_thread;
    int32_t n_threads;
};

flint_status fl_cpu_delta_create(int32_t n_threads, fl_cpu_delta **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return fl_errorf(FLINT_E_NOMEM, "out of memory for the delta-rule scratch");
    (*out)->n_threads = n_threads;
    return FLINT_OK;
}

void fl_cpu_delta_free(fl_cpu_delta *d) {
    if (!d) return;
    free(d->buf);
    free(d);
}

static float softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

typedef struct delta_job {
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

static void recurrent(const delta_job *J, int32_t j, int32_t kh, float *S, float *tmp) {
    const fl_delta_params *p = J->p;
    const int64_t dk = p->d_k, dv = p->d_v;
    for (int64_t t = 0; t < J->n; t++) {
        const float *q = J->q + (t * p->n_k_heads + kh) * dk, *k = J->k + (t * p->n_k_heads + kh) * dk;
        const float *v = J->v + (t * p->n_v_heads + j) * dv;
        float *o = J->out + (t * p->n_v_heads + j) * dv;
        float g, beta;
        gates(J, t, j, &g, &beta);
        const float decay = expf(g);
        float *delta = tmp;
        memset(delta, 0, (size_t)dv * sizeof *delta);
        for (int64_t i = 0; i < dk; i++) { /* S *= decay; delta = S^T k */
            float *row = S + i * dv;
            for (int64_t c = 0; c < dv; c++) row[c] *= decay, delta[c] += k[i] * row[c];
        }
        for (int64_t c = 0; c < dv; c++) delta[c] = beta * (v[c] - delta[c]);
        memset(o, 0, (size_t)dv * sizeof *o);
        for (int64_t i = 0; i < dk; i++) { /* S += k delta^T; o = S^T q */
            float *row = S + i * dv;
            for (int64_t c = 0; c < dv; c++) row[c] += k[i] * delta[c], o[c] += q[i] * row[c];
        }
    }
}

static float dot(const float *x, const float *y, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

/* y[c] += s * x[c] */
static void axpy(float *y, float s, const float *x, int64_t n) {
    for (int64_t c = 0; c < n; c++) y[c] += s * x[c];
}

/* Floats of scratch one thread needs for the chunked form. */
static int64_t chunk_scratch(const fl_delta_params *p) {
    return CHUNK * CHUNK + 2 * CHUNK + CHUNK * ((int64_t)p->d_v * 2 + p->d_k);
}

static void chunked(const delta_job *J, int32_t j, int32_t kh, float *S, float *tmp) {
    const fl_delta_params *p = J->p;
    const int64_t dk = p->d_k, dv = p->d_v, ldq = (int64_t)p->n_k_heads * dk, ldv = (int64_t)p->n_v_heads * dv;
    float *A = tmp, *G = A + CHUNK * CHUNK, *beta = G + CHUNK, *U = beta + CHUNK, *W = U + CHUNK * dv;
    float *Vp = W + CHUNK * dk;
    for (int64_t t0 = 0; t0 < J->n; t0 += CHUNK) {
        const int64_t N = J->n - t0 < CHUNK ? J->n - t0 : CHUNK;
        const float *Q = J->q + t0 * ldq + kh * dk, *K = J->k + t0 * ldq + kh * dk, *V = J->v + t0 * ldv + j * dv;
        float *O = J->out + t0 * ldv + j * dv;
        float sum = 0;
        for (int64_t t = 0; t < N; t++) {
            float g;
            gates(J, t0 + t, j, &g, &beta[t]);
            G[t] = sum += g;
        }
        /* A (strictly lower), then U and W by forward substitution */
        for (int64_t t = 0; t < N; t++) {
            float *u = U + t * dv, *w = W + t * dk;
            const float *kt = K + t * ldq, eg = expf(G[t]);
            for (int64_t c = 0; c < dv; c++) u[c] = beta[t] * V[t * ldv + c];
            for (int64_t i = 0; i < dk; i++) w[i] = beta[t] * eg * kt[i];
            for (int64_t s = 0; s < t; s++) {
                float a = beta[t] * dot(kt, K + s * ldq, dk) * expf(G[t] - G[s]);
                A[t * CHUNK + s] = a;
                axpy(u, -a, U + s * dv, dv);
                axpy(w, -a, W + s * dk, dk);
            }
        }
        /* V' = U - W S */
        for (int64_t t = 0; t < N; t++) {
            float *vp = Vp + t * dv;
            memcpy(vp, U + t * dv, (size_t)dv * sizeof *vp);
            for (int64_t i = 0; i < dk; i++) axpy(vp, -W[t * dk + i], S + i * dv, dv);
        }
        /* O = e^G (S^T q) + sum_{s<=t} (q.k_s) e^(G_t - G_s) V'_s */
        for (int64_t t = 0; t < N; t++) {
            float *o = O + t * ldv;
            const float *qt = Q + t * ldq, eg = expf(G[t]);
            memset(o, 0, (size_t)dv * sizeof *o);
            for (int64_t i = 0; i < dk; i++) axpy(o, eg * qt[i], S + i * dv, dv);
            for (int64_t s = 0; s <= t; s++) axpy(o, dot(qt, K + s * ldq, dk) * expf(G[t] - G[s]), Vp + s * dv, dv);
        }
        /* S = e^G_N S + sum_s e^(G_N - G_s) k_s V'_s^T */
        const float gN = G[N - 1], egN = expf(gN);
        for (int64_t i = 0; i < dk; i++) {
            float *row = S + i * dv;
            for (int64_t c = 0; c < dv; c++) row[c] *= egN;
            for (int64_t s = 0; s < N; s++) axpy(row, K[s * ldq + i] * expf(gN - G[s]), Vp + s * dv, dv);
        }
    }
}

static void delta_task(void *ctx, int64_t task, int32_t thread) {
    const delta_job *J = ctx;
    const fl_delta_params *p = J->p;
    const int32_t j = (int32_t)task;
    const int32_t kh = p->tiled ? j % p->n_k_heads : j / (p->n_v_heads / p->n_k_heads);
    float *S = J->state + (int64_t)j * p->d_k * p->d_v;
    float *tmp = J->scratch->buf + (int64_t)thread * J->scratch->per_thread;
    if (J->n >= FL_CPU_DELTA_CHUNKED_MIN) chunked(J, j, kh, S, tmp);
    else recurrent(J, j, kh, S, tmp);
}

flint_status fl_cpu_delta_run(fl_cpu_delta *d, fl_pool *pool, const fl_delta_params *p, float *out, const float *q,
                              const float *k, const float *v, const float *a, const float *b, float *state,
                              int64_t n) {
    if (p->n_k_heads <= 0 || p->n_v_heads % p->n_k_heads != 0 || p->d_k <= 0 || p->d_v <= 0)
        return fl_errorf(FLINT_E_INVALID_ARG, "delta rule: %d value heads over %d key heads of %d x %d", p->n_v_heads,
                         p->n_k_heads, p->d_k, p->d_v);
    int64_t need = chunk_scratch(p);
    if (need > d->per_thread) {
        float *buf = realloc(d->buf, (size_t)(need * d->n_threads) * sizeof *buf);
        if (!buf) return fl_errorf(FLINT_E_NOMEM, "out of memory for the delta-rule scratch");
        d->buf = buf;
        d->per_thread = need;
    }
    delta_job J = {p, out, q, k, v, a, b, state, n, d};
    fl_pool_run(pool, p->n_v_heads, delta_task, &J);
    return FLINT_OK;
}

void fl_cpu_conv_silu(float *y, const float *x, const float *w, float *state, int64_t n, int64_t C, int32_t K) {
    for (int64_t t = 0; t < n; t++) {
        float *yt = y + t * C;
        for (int64_t c = 0; c < C; c++) yt[c] = 0;
        for (int32_t j = 0; j < K; j++) {
            int64_t src = t - (K - 1) + j; /* < 0: from the state */
            const float *in = src >= 0 ? x + src * C : state + (K - 1 + src) * C;
            for (int64_t c = 0; c < C; c++) yt[c] += w[c * K + j] * in[c];
        }
        for (int64_t c = 0; c < C; c++) yt[c] = yt[c] / (1.0f + expf(-yt[c]));
    }
    /* the state keeps the last K - 1 inputs */
    for (int32_t r = 0; r < K - 1; r++) {
        int64_t src = n - (K - 1) + r;
        if (src < 0) memmove(state + r * C, state + (r + n) * C, (size_t)C * sizeof *state);
        else memcpy(state + r * C, x + src * C, (size_t)C * sizeof *state);
    }
}
