/* backend.h — the op interface every backend implements (cpu/, later
 * cuda/). Model code calls ops through fl_backend.ops and never includes a
 * backend's internals; a backend never knows which model calls it.
 *
 * Memory: activation pointers (x, y, q, out, caches) live in the backend's
 * address space — host memory for the CPU backend, device memory for CUDA —
 * and are obtained from the backend. Weights are fl_weight views; a backend
 * may keep a repacked or uploaded copy (prepare_weight).
 *
 * Layouts are row-major and stated per op: "x[n,k]" means n rows of k
 * contiguous f32. Ops on the CPU run on the backend's thread pool. */
#ifndef FL_BACKEND_H
#define FL_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flint.h"

/* A weight matrix W[m,k]: m rows of k elements in its stored type. For a
 * GGUF tensor, k = ne[0] and m = ne[1] (times ne[2].. for stacked experts,
 * with data advanced per matrix). */
typedef struct fl_weight {
    flint_type type;
    int64_t m, k;
    const void *data;      /* m rows, row_bytes apart */
    uint64_t row_bytes;    /* fl_type_row_bytes(type, k) for dense rows */
    /* MLX types (FLINT_TYPE_MLX_*) only: [m][k / group_size] each; biases
     * for affine only (NULL for mxfp4, mxfp8, nvfp4) */
    const void *scales, *biases;
    flint_type scale_type; /* affine: F16, BF16 or F32; mxfp4/mxfp8: F8_E8M0; nvfp4: F8_E4M3 */
    int32_t group_size;    /* affine: 32, 64 or 128; nvfp4: 16; mxfp4/mxfp8: 32 */
    void *backend_data;    /* owned by the backend that prepared the weight */
} fl_weight;

/* Views and sizes of weights (backend/weight.c), for every type. */
/* y[k] = row r of w as f32 (the reference dequantization, quant/dequant.h). */
flint_status fl_weight_row_f32(const fl_weight *w, int64_t r, float *y);
/* Bytes of one row's scales (0 for types without separate scales). */
uint64_t fl_weight_scale_row_bytes(const fl_weight *w);
/* w moved on by `rows` rows: its data and, for MLX types, its scales and
 * biases (the views of stacked matrices, e.g. MoE experts). */
void fl_weight_skip_rows(fl_weight *w, int64_t rows);
/* Bytes of w's m rows, scales and biases included. */
uint64_t fl_weight_bytes(const fl_weight *w);

/* One product of a matmul group: y[n, w->m] = x[n, w->k] . W^T. */
typedef struct fl_matmul_job {
    const fl_weight *w;
    const float *x; /* [n][w->k] */
    float *y;       /* [n][w->m] */
    int64_t n;
} fl_matmul_job;

typedef enum fl_act {
    FL_ACT_SILU = 0,      /* x * sigmoid(x) */
    FL_ACT_GELU_TANH = 1, /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    FL_ACT_SIGMOID = 2,   /* 1 / (1 + exp(-x)) */
} fl_act;

/* NEOX ("rotate half") RoPE over the first n_rot dims of each head:
 *   theta_i = pos * freq_scale * base^(-2i / exp_dims) / freq_factors[i],  i < n_rot/2
 *   x'[i]         = x[i] cos theta_i - x[i + n_rot/2] sin theta_i
 *   x'[i+n_rot/2] = x[i] sin theta_i + x[i + n_rot/2] cos theta_i
 * dims >= n_rot pass through (partial rotary). */
typedef struct fl_rope_params {
    int32_t n_rot;              /* rotated dims, even, <= head_dim */
    int32_t exp_dims;           /* exponent denominator; 0 means n_rot (Gemma 4 proportional: head_dim) */
    float base;                 /* theta base (10000, 1e6, ...) */
    float freq_scale;           /* 1 / linear scaling factor; 0 means 1 */
    const float *freq_factors;  /* [n_rot/2] divisors, or NULL */
} fl_rope_params;

/* Keys of attention come in tiles of FL_ATTN_TILE cache rows (one block of
 * the paged KV cache, cache/kv.h): each tile has its own K, V and position
 * arrays, so a sequence's blocks need not be contiguous.
 *   k:   [FL_ATTN_TILE][kv_stride] elements in kv_type; a row holds [n_head_kv][head_dim_k]
 *   v:   [FL_ATTN_TILE][kv_stride] elements in kv_type; a row holds [n_head_kv][head_dim_v]
 *   pos: [FL_ATTN_TILE] the position held by each row; < 0 marks an empty
 *        row (its K/V may hold anything) */
#define FL_ATTN_TILE 64
typedef struct fl_kv_tile {
    const void *k, *v;
    const int32_t *pos;
} fl_kv_tile;

/* Attention of a block of queries over n_tiles tiles of keys (any order).
 *   q:    [n_q][n_head][head_dim_k] f32; query i has position pos_q[i]
 *   out:  [n_q][n_head][head_dim_v] f32
 * Key j is visible to query i iff 0 <= pos_k[j] <= pos_q[i] and
 * (window == 0 or pos_q[i] - pos_k[j] < window). Scores: s = scale * q.k;
 * if softcap > 0, s = softcap * tanh(s / softcap); softmax in f32 (online);
 * a query with no visible key gets zeros. Query head h reads KV head
 * h / (n_head / n_head_kv). */
typedef struct fl_attn_params {
    int32_t n_head, n_head_kv;
    int32_t head_dim_k, head_dim_v;
    float scale;
    float softcap;      /* 0: none */
    int32_t window;     /* 0: none */
    flint_type kv_type; /* F32, F16 or BF16 */
} fl_attn_params;

/* The gated delta rule of a Gated DeltaNet layer (MODELS.md §5.4) over n
 * consecutive tokens of one sequence. Per token t and value head j, with
 * its key head kh(j) = tiled ? j % n_k_heads : j / (n_v_heads / n_k_heads):
 *   g = ssm_a[j] * softplus(a[t][j] + dt_bias[j])   (log decay, <= 0)
 *   beta = sigmoid(b[t][j])
 *   S = exp(g) S ; S += k (beta (v - S^T k))^T ; out[t][j] = S^T q
 * q, k: [n][n_k_heads][d_k] (q already L2-normed and scaled, k L2-normed);
 * v, out: [n][n_v_heads][d_v]; a, b: [n][n_v_heads];
 * state: [n_v_heads][d_k][d_v], carried across calls. Long runs may use the
 * chunked form (products within chunks of 64 tokens); it equals the
 * recurrence up to rounding. */
typedef struct fl_delta_params {
    int32_t n_k_heads, n_v_heads, d_k, d_v;
    bool tiled;             /* v head j reads k head j % n_k_heads (GGUF order), else j / ratio (HF order) */
    const float *ssm_a;     /* [n_v_heads] -exp(A_log) */
    const float *dt_bias;   /* [n_v_heads] */
} fl_delta_params;

typedef struct fl_backend fl_backend;

typedef struct fl_backend_ops {
    const char *name;
    void (*free)(fl_backend *be);

    /* Optional: memory for activations, the KV pool and recurrent state,
     * read and written by the backend's ops; host: the host reads and
     * writes it too (between syncs), else only ops touch it (on a discrete
     * GPU: device-local memory the host cannot map) and the pointer is a
     * handle, never dereferenced on the host (fl_backend_alloc,
     * fl_backend_alloc_device). NULL: the host's allocator. */
    void *(*alloc)(fl_backend *be, size_t bytes, bool host);
    void (*dealloc)(fl_backend *be, void *p);
    /* Optional: dst[0..bytes) = src[0..bytes) (src NULL: zeros), both in
     * memory from alloc, 4-byte aligned, bytes a multiple of 4, not
     * overlapping: the host's memcpy for memory it cannot touch. NULL:
     * memcpy / memset (fl_backend_copy). */
    void (*copy)(fl_backend *be, void *dst, const void *src, size_t bytes);

    /* Optional: host memory [p, p + bytes) that the host rewrites between
     * steps — the expert store's slots — becomes memory the ops read in
     * place (never taken for a weight and kept), until the backend is
     * freed. NULL: the ops read host memory as it is (the CPU). */
    flint_status (*import_host)(fl_backend *be, void *p, size_t bytes);

    /* Optional: repack or upload w once before use (fills w->backend_data);
     * release_weight frees it. NULL when the backend reads weights in place. */
    flint_status (*prepare_weight)(fl_backend *be, fl_weight *w);
    void (*release_weight)(fl_backend *be, fl_weight *w);

    /* y[n,m] = x[n,k] . W[m,k]^T  (x, y f32 row-major; y must not alias x) */
    flint_status (*matmul)(fl_backend *be, const fl_weight *w, const float *x, float *y, int64_t n);
    /* Every job's product, as matmul computes it, in one parallel pass (one
     * fork: the products of q/k/v, gate/up or a layer's experts share the
     * pool's threads instead of waiting on each other). Jobs may share x
     * (it is then quantized once); no y may overlap another job's y or any
     * job's x. Every job is checked before any runs; an error leaves every
     * y untouched. */
    flint_status (*matmul_group)(fl_backend *be, const fl_matmul_job *jobs, int32_t n_jobs);

    /* y[r,:] = x[r,:] * (mean(x[r,:]^2) + eps)^-1/2 * w   (w NULL: no scale);
     * y may equal x */
    void (*rmsnorm)(fl_backend *be, float *y, const float *x, const float *w, int64_t n_rows, int64_t dim, float eps);
    /* x[t][h][head_dim], rotated in place at position pos[t] */
    void (*rope)(fl_backend *be, float *x, const int32_t *pos, int64_t n_tok, int32_t n_head, int32_t head_dim,
                 const fl_rope_params *p);
    /* in place over each of n_rows rows of dim */
    void (*softmax)(fl_backend *be, float *x, int64_t n_rows, int64_t dim);
    /* y[i] = act(x[i]); y may equal x */
    void (*act)(fl_backend *be, fl_act act, float *y, const float *x, int64_t n);
    /* y[i] = act(g[i]) * u[i]; y may equal g or u */
    void (*gated)(fl_backend *be, fl_act act, float *y, const float *g, const float *u, int64_t n);
    /* y[i] = a[i] + b[i] */
    void (*add)(fl_backend *be, float *y, const float *a, const float *b, int64_t n);
    /* y[i] = a[i] * b[i] */
    void (*mul)(fl_backend *be, float *y, const float *a, const float *b, int64_t n);
    /* y[i] = x[i] * s */
    void (*scale)(fl_backend *be, float *y, const float *x, float s, int64_t n);

    /* y[r * y_stride + i] = x[r * x_stride + i] for r < n_rows, i < width
     * (strided rows: a head's half of [q | gate], a slice of each token's
     * channels); y must not overlap x */
    void (*copy_rows)(fl_backend *be, float *y, int64_t y_stride, const float *x, int64_t x_stride, int64_t n_rows,
                      int64_t width);
    /* row r of x[n_rows][width] f32 to dst[r], converted to type (F32, F16
     * or BF16, rounded to nearest even): K/V rows into the KV pool's blocks.
     * dst is a host array of pointers into backend memory. */
    void (*store_rows)(fl_backend *be, flint_type type, void *const *dst, const float *x, int64_t n_rows,
                       int64_t width);

    flint_status (*attention)(fl_backend *be, const fl_attn_params *p, float *out, const float *q,
                              const int32_t *pos_q, int64_t n_q, const fl_kv_tile *tiles, int64_t n_tiles,
                              int64_t kv_stride);

    /* Causal depthwise convolution with SiLU over n tokens of C channels:
     *   y[t][c] = silu(sum_j w[c][j] * in(t - K + 1 + j)[c]),  j < K,
     * where inputs before x[0] come from state[K-1][C] (oldest first), which
     * then holds the last K - 1 inputs. y must not alias x. */
    void (*conv_silu)(fl_backend *be, float *y, const float *x, const float *w, float *state, int64_t n, int64_t C,
                      int32_t K);
    flint_status (*delta_rule)(fl_backend *be, const fl_delta_params *p, float *out, const float *q, const float *k,
                               const float *v, const float *a, const float *b, float *state, int64_t n);

    /* Optional, all three or none: a MoE layer's routing and experts in the
     * backend's memory (NULL: the model routes on the host, model/blocks.c,
     * which also streams experts). Row r = t * k + j of ids, w and y is
     * token t's choice j; every array is backend memory.
     * moe_route: for each token t of p[n][n_expert] (the softmax's output),
     * ids[t][0..k) = the k largest p[t][e], descending, ties to the lower
     * e (a value is taken only if greater than -inf: NaN never; a choice
     * left without one gets id -1), and w[t][j] = p[t][ids[t][j]] / (the
     * sum of the k, added in choice order), times scale[ids[t][j]] when
     * scale is given. n_expert <= 1024, k <= min(32, n_expert).
     * moe_matmul: y[r] = ws[ids[r]] . x[x_per_choice ? r : r / k] for the
     * n * k rows r (a row whose id is outside [0, n_expert) is not
     * written); ws[0..n_expert) are one matrix of each expert, all of one
     * type and shape (the resident experts' views, fl_experts.views), as
     * matmul computes them. The views stay unchanged while the backend
     * lives: it may keep what it derives from them (an address table).
     * y [n * k][m] must not overlap x.
     * moe_combine: out[t][i] = the sum over t's choices in ascending
     * expert order of w[t][j] * y[t * k + j][i] (ids < 0 skipped), then
     * + scale[t] * shared[t][i] when shared is given (the host path's
     * order, so its bits). out must not overlap y or shared. */
    flint_status (*moe_route)(fl_backend *be, const float *p, int64_t n, int32_t n_expert, int32_t k,
                              const float *scale, int32_t *ids, float *w);
    flint_status (*moe_matmul)(fl_backend *be, const fl_weight *ws, int32_t n_expert, const int32_t *ids, int64_t n,
                               int32_t k, bool x_per_choice, const float *x, float *y);
    flint_status (*moe_combine)(fl_backend *be, float *out, const float *y, const int32_t *ids, const float *w,
                                int64_t n, int32_t k, int64_t H, const float *shared, const float *scale);

    /* Optional: waits until every op called so far has completed, and
     * reports the first error of an op that returns none. A device backend
     * may run ops later than their call (recorded, then submitted here);
     * host code reads or writes backend memory only after a sync (and
     * before the next op). NULL: ops complete when they return. */
    flint_status (*sync)(fl_backend *be);

    /* Optional: the read bandwidth of the memory the backend keeps weights
     * in, bytes per second (best of reps reads of a buffer of about
     * `bytes`; 0 on failure): decode's floor on a device. NULL: the host's
     * (cpu/membw.h, measured by the caller on its own threads). */
    double (*read_bandwidth)(fl_backend *be, uint64_t bytes, int32_t reps);
} fl_backend_ops;

/* Deterministic (batch-invariant) mode, flint_context_params.deterministic:
 * every op computes each output row — a token's projection, a query's
 * attention, a token's delta-rule output — with arithmetic that depends
 * only on that row's own inputs and the cache it reads, never on how many
 * other rows share the call (n, n_q, the tokens of a delta-rule run) or
 * how the pool splits the work: one matmul kernel for every n (its
 * reduction over k in a fixed order), attention splits of the keys at
 * fixed cache rows, the delta rule's token recurrence for every run.
 * Without it, results agree with these to rounding. */
/* Exact mode, flint_context_params.exact: every matmul multiplies f32
 * activations with the reference dequantization of its weights (quant/
 * dequant.h) and sums in f32, so a quantized model computes what an f32
 * reference computes on the dequantized weights (to f32 rounding). Without
 * it, integer-dot kernels round activations to 8 bits (Q8_32 / Q8_K,
 * cpu/matmul_kernels.h): faster, and further from such a reference. */
struct fl_backend {
    const fl_backend_ops *ops;
    bool deterministic; /* set by the backend's creator (cpu.h), read-only to model code */
    bool exact;         /* likewise */
};

/* be->ops->sync where the backend has one (see fl_backend_ops.sync). */
static inline flint_status fl_backend_sync(fl_backend *be) { return be->ops->sync ? be->ops->sync(be) : FLINT_OK; }

/* Memory ops read and write and the host too: the backend's (a GPU's
 * host-visible memory), or 64-byte aligned host memory where it has none
 * (be may be NULL). Any
 * other pointer an op reads is taken for a weight, immutable while the
 * backend lives (a device backend uploads it once). */
static inline void *fl_backend_alloc(fl_backend *be, size_t bytes) {
    if (be && be->ops->alloc) return be->ops->alloc(be, bytes, true);
    return aligned_alloc(64, (bytes + 63) / 64 * 64);
}
/* The same, for memory only ops touch: the host reaches it only through
 * fl_backend_copy (a GPU keeps it where its host cannot map it). */
static inline void *fl_backend_alloc_device(fl_backend *be, size_t bytes) {
    if (be && be->ops->alloc) return be->ops->alloc(be, bytes, false);
    return aligned_alloc(64, (bytes + 63) / 64 * 64);
}
static inline void fl_backend_free(fl_backend *be, void *p) {
    if (be && be->ops->dealloc) be->ops->dealloc(be, p);
    else free(p);
}
/* be->ops->copy, or memcpy / memset (src NULL) where the host owns the
 * memory; like an op, it may complete only at the next sync. */
static inline void fl_backend_copy(fl_backend *be, void *dst, const void *src, size_t bytes) {
    if (be && be->ops->copy) be->ops->copy(be, dst, src, bytes);
    else if (src) memcpy(dst, src, bytes);
    else memset(dst, 0, bytes);
}

#endif
