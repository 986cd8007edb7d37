/* backend.c — the CPU backend object (cpu.h): ISA detection from cpuid,
 * the fl_backend method table, and the drivers of the row/elementwise ops
 * (RMSNorm, RoPE, softmax, activations, add/mul/scale), which split large
 * calls over the thread pool and run small ones inline on the caller.
 * Matmul is forwarded to cpu/matmul.h, attention to attention.c; the
 * arithmetic itself lives in the per-ISA kernel tables (ops.h). Nothing
 * here allocates after creation. */
#define _GNU_SOURCE /* syscall */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/pool.h"
#include "cpu/cpu.h"
#include "cpu/delta.h"
#include "cpu/matmul.h"
#include "cpu/ops.h"
#include "quant/dequant.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

typedef struct fl_cpu_backend {
    fl_backend base; /* first: fl_backend * <-> fl_cpu_backend * */
    fl_pool *pool;
    fl_cpu_isa isa;
    const fl_cpu_kernels *k;
    fl_cpu_matmul *mm;
    fl_cpu_attn *attn;
    fl_cpu_delta *delta;
} fl_cpu_backend;

static inline fl_cpu_backend *cpu(fl_backend *be) { return (fl_cpu_backend *)be; }

/* ---- ISA detection ---- */

#if defined(__x86_64__) || defined(__i386__)
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* cpuid bits, and XCR0 to be sure the OS saves the YMM / ZMM state */
static bool x86_has(fl_cpu_isa isa) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
    if (!osxsave || !avx) return false;
    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return false; /* XMM and YMM state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    bool avx2 = b & (1u << 5);
    if (isa == FL_ISA_AVX2) return avx2 && fma && f16c;
    bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
    bool vnni = c & (1u << 11);
    unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
    if (a >= 1) __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1); /* a: the highest subleaf of leaf 7 */
    bool bf16 = a1 & (1u << 5);
    bool zmm_state = (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM0-15 upper, ZMM16-31 */
    return avx2 && fma && f16c && f && dq && bw && vl && vnni && bf16 && zmm_state;
}
#endif

#if defined(__x86_64__)
/* AVX-512, AMX-TILE and AMX-BF16 (cpuid 7.0 edx bits 24, 22), the tile
 * state enabled in XCR0 (bits 17, 18), and Linux's permission: a process
 * must ask for the 8 KiB tile state (arch_prctl ARCH_REQ_XCOMP_PERM) or
 * its first tile instruction faults. Asked once per process. */
static bool x86_has_amx(void) {
    static int ok = -1; /* benign: every thread computes the same value */
    int v = __atomic_load_n(&ok, __ATOMIC_RELAXED);
    if (v < 0) {
        unsigned a, b, c, d;
        v = x86_has(FL_ISA_AVX512) && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 22 & 1) && (d >> 24 & 1) &&
            (xgetbv0() & 0x60000) == 0x60000;
#if defined(__linux__)
        enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
        v = v && syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
        v = 0;
#endif
        __atomic_store_n(&ok, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

bool fl_cpu_has_isa(fl_cpu_isa isa) {
    switch (isa) {
    case FL_ISA_SCALAR: return true;
#if defined(__x86_64__)
    case FL_ISA_AVX2:
    case FL_ISA_AVX512: return x86_has(isa) && (isa == FL_ISA_AVX2 ? fl_cpu_kernels_avx2() : fl_cpu_kernels_avx512());
    case FL_ISA_AMX: return x86_has_amx() && fl_cpu_kernels_avx512();
#endif
#if defined(__aarch64__)
    case FL_ISA_NEON: return fl_cpu_kernels_neon() != NULL; /* NEON is baseline on aarch64 */
#endif
    default: return false;
    }
}

const char *fl_cpu_isa_name(fl_cpu_isa isa) {
    switch (isa) {
    case FL_ISA_AUTO: return "auto";
    case FL_ISA_SCALAR: return "scalar";
    case FL_ISA_AVX2: return "avx2";
    case FL_ISA_AVX512: return "avx512";
    case FL_ISA_NEON: return "neon";
    case FL_ISA_AMX: return "amx";
    }
    return "unknown";
}

fl_cpu_isa fl_cpu_best_isa(void) {
    /* FLINT_ISA caps the choice: amx allows amx/avx512/avx2/scalar, avx512
     * allows avx512/avx2/scalar (no AMX), avx2 allows avx2/scalar, neon
     * allows neon/scalar; unknown names are ignored */
    int cap = -1;
    const char *env = getenv("FLINT_ISA");
    for (int i = FL_ISA_SCALAR; env && i <= FL_ISA_AMX; i++)
        if (strcmp(env, fl_cpu_isa_name((fl_cpu_isa)i)) == 0) cap = i;
    static const fl_cpu_isa order[] = {FL_ISA_AMX, FL_ISA_AVX512, FL_ISA_AVX2, FL_ISA_NEON};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        fl_cpu_isa isa = order[i];
        bool allowed = cap < 0 || (int)isa == cap || (cap != FL_ISA_NEON && isa != FL_ISA_NEON && (int)isa < cap);
        if (allowed && fl_cpu_has_isa(isa)) return isa;
    }
    return FL_ISA_SCALAR;
}

static const fl_cpu_kernels *kernels_for(fl_cpu_isa isa) {
    switch (isa) {
    case FL_ISA_AVX2: return fl_cpu_kernels_avx2();
    case FL_ISA_AVX512:
    case FL_ISA_AMX: return fl_cpu_kernels_avx512(); /* AMX changes only the matmul table */
    case FL_ISA_NEON: return fl_cpu_kernels_neon();
    default: return fl_cpu_kernels_scalar();
    }
}

/* ---- splitting elementwise and row ops over the pool ---- */

/* below this many floats an op runs inline: a fork/join costs a few us */
#define PAR_MIN_ELEMS (1 << 15)
#define PAR_CHUNK_ELEMS (1 << 13)

static int64_t n_chunks(const fl_cpu_backend *b, int64_t elems) {
    if (elems < PAR_MIN_ELEMS || fl_pool_threads(b->pool) == 1) return 1;
    int64_t n = elems / PAR_CHUNK_ELEMS, cap = 4 * (int64_t)fl_pool_threads(b->pool);
    return n < cap ? n : cap;
}

typedef enum ew_kind { EW_ACT, EW_GATED, EW_ADD, EW_MUL, EW_SCALE } ew_kind;

typedef struct ew_job {
    const fl_cpu_kernels *k;
    ew_kind kind;
    fl_act act;
    float *y;
    const float *a, *b;
    float s;
    int64_t n, n_tasks;
} ew_job;

static void ew_range(const ew_job *j, int64_t i0, int64_t i1) {
    int64_t n = i1 - i0;
    switch (j->kind) {
    case EW_ACT: j->k->act(j->act, j->y + i0, j->a + i0, n); break;
    case EW_GATED: j->k->gated(j->act, j->y + i0, j->a + i0, j->b + i0, n); break;
    case EW_ADD: j->k->add(j->y + i0, j->a + i0, j->b + i0, n); break;
    case EW_MUL: j->k->mul(j->y + i0, j->a + i0, j->b + i0, n); break;
    case EW_SCALE: j->k->scale(j->y + i0, j->a + i0, j->s, n); break;
    }
}

static void ew_task(void *ctx, int64_t task, int32_t thread) {
    (void)thread;
    const ew_job *j = ctx;
    int64_t i0, i1;
    fl_split_range(j->n, j->n_tasks, task, 64, &i0, &i1);
    if (i1 > i0) ew_range(j, i0, i1);
}

static void ew_run(fl_cpu_backend *b, ew_job *j) {
    if (j->n <= 0) return;
    j->k = b->k;
    j->n_tasks = n_chunks(b, j->n);
    if (j->n_tasks <= 1) ew_range(j, 0, j->n);
    else fl_pool_run(b->pool, j->n_tasks, ew_task, j);
}

static void cpu_act(fl_backend *be, fl_act act, float *y, const float *x, int64_t n) {
    ew_run(cpu(be), &(ew_job){.kind = EW_ACT, .act = act, .y = y, .a = x, .n = n});
}
static void cpu_gated(fl_backend *be, fl_act act, float *y, const float *g, const float *u, int64_t n) {
    ew_run(cpu(be), &(ew_job){.kind = EW_GATED, .act = act, .y = y, .a = g, .b = u, .n = n});
}
static void cpu_add(fl_backend *be, float *y, const float *a, const float *b, int64_t n) {
    ew_run(cpu(be), &(ew_job){.kind = EW_ADD, .y = y, .a = a, .b = b, .n = n});
}
static void cpu_mul(fl_backend *be, float *y, const float *a, const float *b, int64_t n) {
    ew_run(cpu(be), &(ew_job){.kind = EW_MUL, .y = y, .a = a, .b = b, .n = n});
}
static void cpu_scale(fl_backend *be, float *y, const float *x, float s, int64_t n) {
    ew_run(cpu(be), &(ew_job){.kind = EW_SCALE, .y = y, .a = x, .s = s, .n = n});
}

/* Strided row copies and K/V row stores are memory moves of a few rows
 * (a step's heads or tokens): inline on the caller. */
static void cpu_copy_rows(fl_backend *be, float *y, int64_t y_stride, const float *x, int64_t x_stride, int64_t n_rows,
                          int64_t width) {
    (void)be;
    for (int64_t r = 0; r < n_rows; r++) memcpy(y + r * y_stride, x + r * x_stride, (size_t)width * sizeof *y);
}

static void cpu_store_rows(fl_backend *be, flint_type type, void *const *dst, const float *x, int64_t n_rows,
                           int64_t width) {
    (void)be;
    for (int64_t r = 0; r < n_rows; r++) {
        const float *row = x + r * width;
        uint16_t *h = dst[r];
        if (type == FLINT_TYPE_F32) memcpy(dst[r], row, (size_t)width * sizeof *row);
        else if (type == FLINT_TYPE_F16)
            for (int64_t i = 0; i < width; i++) h[i] = fl_f32_to_f16(row[i]);
        else
            for (int64_t i = 0; i < width; i++) h[i] = fl_f32_to_bf16(row[i]);
    }
}

/* row ops: rmsnorm, softmax, rope (rows = tokens) */
typedef enum row_kind { ROW_RMSNORM, ROW_SOFTMAX, ROW_ROPE } row_kind;

typedef struct row_job {
    const fl_cpu_kernels *k;
    row_kind kind;
    float *y;
    const float *x, *w;
    float eps;
    int64_t n_rows, dim, n_tasks;
    /* rope */
    const int32_t *pos;
    int32_t n_head, head_dim;
    const fl_rope_params *rp;
} row_job;

/* RoPE on tokens [t0, t1). Pairs are done 64 at a time so the angle
 * tables live on the stack: theta = pos * f_i with
 * f_i = freq_scale * base^(-2i / exp_dims) / freq_factors[i] in f32, and
 * cos/sin of theta in f32 (as HF does), shared by all heads of a token. */
static void rope_rows(const row_job *j, int64_t t0, int64_t t1) {
    const fl_rope_params *p = j->rp;
    const int64_t half = p->n_rot / 2;
    const float exp_dims = (float)(p->exp_dims > 0 ? p->exp_dims : p->n_rot);
    const float fs = p->freq_scale != 0 ? p->freq_scale : 1.0f;
    float f[64], cs[64], sn[64];
    for (int64_t i0 = 0; i0 < half; i0 += 64) {
        int64_t ni = half - i0 < 64 ? half - i0 : 64;
        for (int64_t i = 0; i < ni; i++) {
            f[i] = fs * powf(p->base, -2.0f * (float)(i0 + i) / exp_dims);
            if (p->freq_factors) f[i] /= p->freq_factors[i0 + i];
        }
        for (int64_t t = t0; t < t1; t++) {
            float pos = (float)j->pos[t];
            for (int64_t i = 0; i < ni; i++) {
                float theta = pos * f[i];
                cs[i] = cosf(theta);
                sn[i] = sinf(theta);
            }
            for (int32_t h = 0; h < j->n_head; h++) {
                float *xh = j->y + (t * j->n_head + h) * (int64_t)j->head_dim;
                j->k->rope_pairs(xh + i0, xh + half + i0, cs, sn, ni);
            }
        }
    }
}

static void row_range(const row_job *j, int64_t r0, int64_t r1) {
    switch (j->kind) {
    case ROW_RMSNORM:
        for (int64_t r = r0; r < r1; r++) j->k->rmsnorm_row(j->y + r * j->dim, j->x + r * j->dim, j->w, j->dim, j->eps);
        break;
    case ROW_SOFTMAX:
        for (int64_t r = r0; r < r1; r++) j->k->softmax_row(j->y + r * j->dim, j->dim);
        break;
    case ROW_ROPE: rope_rows(j, r0, r1); break;
    }
}

static void row_task(void *ctx, int64_t task, int32_t thread) {
    (void)thread;
    const row_job *j = ctx;
    int64_t r0, r1;
    fl_split_range(j->n_rows, j->n_tasks, task, 1, &r0, &r1);
    if (r1 > r0) row_range(j, r0, r1);
}

/* work_per_row weighs the split: rope costs far more per element (cos, sin) */
static void row_run(fl_cpu_backend *b, row_job *j, int64_t work_per_row) {
    if (j->n_rows <= 0 || j->dim <= 0) return;
    j->k = b->k;
    int64_t n = n_chunks(b, j->n_rows * work_per_row);
    j->n_tasks = n < j->n_rows ? n : j->n_rows;
    if (j->n_tasks <= 1) row_range(j, 0, j->n_rows);
    else fl_pool_run(b->pool, j->n_tasks, row_task, j);
}

static void cpu_rmsnorm(fl_backend *be, float *y, const float *x, const float *w, int64_t n_rows, int64_t dim,
                        float eps) {
    row_run(cpu(be), &(row_job){.kind = ROW_RMSNORM, .y = y, .x = x, .w = w, .eps = eps, .n_rows = n_rows, .dim = dim},
            dim);
}

static void cpu_softmax(fl_backend *be, float *x, int64_t n_rows, int64_t dim) {
    row_run(cpu(be), &(row_job){.kind = ROW_SOFTMAX, .y = x, .n_rows = n_rows, .dim = dim}, 4 * dim);
}

static void cpu_rope(fl_backend *be, float *x, const int32_t *pos, int64_t n_tok, int32_t n_head, int32_t head_dim,
                     const fl_rope_params *p) {
    /* void op: out-of-contract parameters leave x untouched */
    if (!p || p->n_rot <= 0 || p->n_rot > head_dim || (p->n_rot & 1) || n_head <= 0) return;
    row_run(cpu(be),
            &(row_job){.kind = ROW_ROPE, .y = x, .pos = pos, .n_rows = n_tok, .dim = head_dim, .n_head = n_head,
                       .head_dim = head_dim, .rp = p},
            (int64_t)n_head * head_dim + 16 * p->n_rot);
}

/* ---- matmul, attention, lifetime ---- */

static flint_status cpu_prepare_weight(fl_backend *be, fl_weight *w) { return fl_cpu_matmul_prepare(cpu(be)->mm, w); }
static void cpu_release_weight(fl_backend *be, fl_weight *w) { fl_cpu_matmul_release(cpu(be)->mm, w); }

static flint_status cpu_matmul(fl_backend *be, const fl_weight *w, const float *x, float *y, int64_t n) {
    return fl_cpu_matmul_run(cpu(be)->mm, w, x, y, n);
}

static flint_status cpu_matmul_group(fl_backend *be, const fl_matmul_job *jobs, int32_t n_jobs) {
    return fl_cpu_matmul_group(cpu(be)->mm, jobs, n_jobs);
}

static flint_status cpu_attention(fl_backend *be, const fl_attn_params *p, float *out, const float *q,
                                  const int32_t *pos_q, int64_t n_q, const fl_kv_tile *tiles, int64_t n_tiles,
                                  int64_t kv_stride) {
    fl_cpu_backend *b = cpu(be);
    return fl_cpu_attn_run(b->attn, b->pool, b->k, p, out, q, pos_q, n_q, tiles, n_tiles, kv_stride);
}

static void cpu_conv_silu(fl_backend *be, float *y, const float *x, const float *w, float *state, int64_t n, int64_t C,
                          int32_t K) {
    fl_cpu_backend *c = cpu(be);
    fl_cpu_conv_silu(c->pool, c->k, y, x, w, state, n, C, K);
}

static flint_status cpu_delta_rule(fl_backend *be, const fl_delta_params *p, float *out, const float *q, const float *k,
                                   const float *v, const float *a, const float *b, float *state, int64_t n) {
    fl_cpu_backend *c = cpu(be);
    return fl_cpu_delta_run(c->delta, c->pool, c->k, p, out, q, k, v, a, b, state, n);
}

static void cpu_free(fl_backend *be) {
    fl_cpu_backend *b = cpu(be);
    if (!b) return;
    fl_cpu_delta_free(b->delta);
    fl_cpu_attn_free(b->attn);
    fl_cpu_matmul_free(b->mm);
    fl_pool_free(b->pool);
    free(b);
}

static const fl_backend_ops cpu_ops = {
    .name = "cpu",
    .free = cpu_free,
    .prepare_weight = cpu_prepare_weight,
    .release_weight = cpu_release_weight,
    .matmul = cpu_matmul,
    .matmul_group = cpu_matmul_group,
    .rmsnorm = cpu_rmsnorm,
    .rope = cpu_rope,
    .softmax = cpu_softmax,
    .act = cpu_act,
    .gated = cpu_gated,
    .add = cpu_add,
    .mul = cpu_mul,
    .scale = cpu_scale,
    .copy_rows = cpu_copy_rows,
    .store_rows = cpu_store_rows,
    .attention = cpu_attention,
    .conv_silu = cpu_conv_silu,
    .delta_rule = cpu_delta_rule,
};

/* The sub-objects keep their own flag: matmul, attention and the delta
 * rule are also run (and tested) without a backend. The row and
 * elementwise ops above are per row or per element already. */
void fl_cpu_backend_set_deterministic(fl_backend *be, bool on) {
    fl_cpu_backend *b = cpu(be);
    b->base.deterministic = on;
    fl_cpu_matmul_set_deterministic(b->mm, on);
    fl_cpu_attn_set_deterministic(b->attn, on);
    fl_cpu_delta_set_deterministic(b->delta, on);
}

/* Only the matmul quantizes anything (its activations). */
void fl_cpu_backend_set_exact(fl_backend *be, bool on) {
    fl_cpu_backend *b = cpu(be);
    b->base.exact = on;
    fl_cpu_matmul_set_exact(b->mm, on);
}

flint_status fl_cpu_backend_create(int32_t n_threads, fl_cpu_isa isa, fl_backend **out) {
    if (!out) return fl_errorf(FLINT_E_INVALID_ARG, "fl_cpu_backend_create: NULL output");
    *out = NULL;
    if (isa == FL_ISA_AUTO) isa = fl_cpu_best_isa();
    if (isa < FL_ISA_SCALAR || isa > FL_ISA_AMX)
        return fl_errorf(FLINT_E_INVALID_ARG, "unknown CPU ISA %d", (int)isa);
    if (!fl_cpu_has_isa(isa))
        return fl_errorf(FLINT_E_UNSUPPORTED, "this CPU cannot run the %s kernels", fl_cpu_isa_name(isa));
    fl_cpu_backend *b = calloc(1, sizeof *b);
    if (!b) return fl_errorf(FLINT_E_NOMEM, "out of memory for the CPU backend");
    b->base.ops = &cpu_ops;
    b->isa = isa;
    b->k = kernels_for(isa);
    flint_status st = fl_pool_create(n_threads, &b->pool);
    if (st == FLINT_OK) st = fl_cpu_attn_create(fl_pool_threads(b->pool), &b->attn);
    if (st == FLINT_OK) st = fl_cpu_delta_create(fl_pool_threads(b->pool), &b->delta);
    if (st == FLINT_OK) st = fl_cpu_matmul_create(b->pool, isa, &b->mm);
    if (st != FLINT_OK) {
        cpu_free(&b->base);
        return st;
    }
    *out = &b->base;
    return FLINT_OK;
}
