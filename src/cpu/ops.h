/* ops.h — internal to cpu/: the per-ISA kernel table behind the CPU
 * backend's non-matmul ops, and the attention driver.
 *
 * Each ISA translation unit (ops_scalar.c, ops_avx2.c, ops_avx512.c,
 * ops_neon.c) fills one fl_cpu_kernels with row/tile kernels; the drivers
 * (backend.c for the elementwise/row ops, attention.c for attention) split
 * work over the thread pool and call these kernels, so threading, masking
 * and the online-softmax bookkeeping are written once. Kernels never
 * allocate and never touch the pool. All arrays are f32 unless stated.
 * The scalar table is the reference every other table is tested against. */
#ifndef FL_CPU_OPS_H
#define FL_CPU_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "base/pool.h"
#include "cpu/cpu.h"

typedef struct fl_cpu_kernels {
    fl_cpu_isa isa;

    /* elementwise over y[0..n): y may alias any input */
    void (*act)(fl_act act, float *y, const float *x, int64_t n);
    void (*gated)(fl_act act, float *y, const float *g, const float *u, int64_t n); /* act(g) * u */
    void (*add)(float *y, const float *a, const float *b, int64_t n);
    void (*mul)(float *y, const float *a, const float *b, int64_t n);
    void (*scale)(float *y, const float *x, float s, int64_t n);

    /* one row: y[0..dim) = x * (mean(x^2) + eps)^-1/2 * w  (w NULL: no scale; y may equal x) */
    void (*rmsnorm_row)(float *y, const float *x, const float *w, int64_t dim, float eps);
    /* one row, in place: x = softmax(x) over n > 0 */
    void (*softmax_row)(float *x, int64_t n);
    /* RoPE pairs: (x0[i], x1[i]) <- (x0 c - x1 s, x0 s + x1 c), c = cs[i], s = sn[i], i < n */
    void (*rope_pairs)(float *x0, float *x1, const float *cs, const float *sn, int64_t n);

    /* attention tiles */
    void (*f16_to_f32)(float *y, const uint16_t *x, int64_t n);
    /* s[r*lds + j] = q[r*d ..] . k[j*ldk ..] over d, r < nr, j < nk */
    void (*attn_scores)(float *s, int64_t lds, const float *q, int64_t nr, const float *k, int64_t ldk, int64_t nk,
                        int64_t d);
    /* x[i] = cap * tanh(x[i] / cap) */
    void (*attn_softcap)(float *x, int64_t n, float cap);
    /* x[i] = exp(x[i] - m) (exactly 0 for x = -inf); returns the sum. m finite. */
    float (*attn_exp)(float *x, int64_t n, float m);
    /* o[r*ldo + c] += sum_j p[r*ldp + j] * v[j*ldv + c], c < dv; a key with
     * p == 0 is skipped, so empty cache rows holding NaN cannot leak in */
    void (*attn_accum)(float *o, int64_t ldo, const float *p, int64_t ldp, int64_t nr, const float *v, int64_t ldv,
                       int64_t nk, int64_t dv);
} fl_cpu_kernels;

/* Each returns its table, or NULL when this build/architecture lacks it
 * (the x86 files compile to a NULL stub on aarch64 and vice versa). */
const fl_cpu_kernels *fl_cpu_kernels_scalar(void);
const fl_cpu_kernels *fl_cpu_kernels_avx2(void);
const fl_cpu_kernels *fl_cpu_kernels_avx512(void);
const fl_cpu_kernels *fl_cpu_kernels_neon(void);

/* The attention driver (attention.c): tiles, masks, online softmax,
 * threads over (KV head, query-row block, key split). Owns grow-only
 * per-thread scratch so steady-state calls do not allocate. */
typedef struct fl_cpu_attn fl_cpu_attn;

flint_status fl_cpu_attn_create(int32_t n_threads, fl_cpu_attn **out);
void fl_cpu_attn_free(fl_cpu_attn *a);
/* Deterministic mode (backend.h): the keys split at fixed cache rows. */
void fl_cpu_attn_set_deterministic(fl_cpu_attn *a, bool on);
flint_status fl_cpu_attn_run(fl_cpu_attn *a, fl_pool *pool, const fl_cpu_kernels *k, const fl_attn_params *p,
                             float *out, const float *q, const int32_t *pos_q, int64_t n_q, const fl_kv_tile *tiles,
                             int64_t n_tiles, int64_t kv_stride);

#endif
