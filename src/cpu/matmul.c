/* matmul.c — the CPU matrix product y[n,m] = x[n,k] . W[m,k]^T behind
 * fl_backend.matmul: argument checks, the choice of kernel table and
 * regime, activation quantization, threading and scratch. The arithmetic
 * lives in the per-ISA kernel files (matmul_kernels.h).
 *
 * Regimes:
 *   n <= 8  decode: W's rows are split into contiguous ranges across the
 *           pool; each weight row is read once and dotted with all n
 *           activation rows while it is in registers/L1.
 *   n > 8   prefill: W is cut into panels of rows (one task each); a panel
 *           stays in L2 while every activation row passes over it, either
 *           through the table's GEMM micro-kernels or, for types without
 *           one, through the decode kernel 8 activation rows at a time.
 * x is quantized once per call into the format the weight type needs.
 *
 * Memory: every buffer is owned by the fl_cpu_matmul and only grows, so
 * steady-state calls do not allocate. Must not: keep pointers to x, y or w
 * between calls. */
#include "cpu/matmul.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cpu/matmul_kernels.h"
#include "quant/types.h"

#define DECODE_ALIGN 16  /* decode row ranges are multiples of this */
#define QUANT_PAR_MIN 8  /* quantize activation rows in parallel from this many */

typedef struct grow_buf {
    void *p;
    size_t size;
} grow_buf;

struct fl_cpu_matmul {
    fl_pool *pool; /* may be NULL: everything runs on the caller */
    int32_t n_threads;
    const fl_mm_kernels *kt; /* the ISA's table */
    grow_buf act_q, act_d, act_sum, packed, scratch;
    size_t scratch_stride;
};

/* 64-byte aligned, grow-only; contents are not kept. */
static flint_status grow(grow_buf *b, size_t size) {
    if (size <= b->size) return FLINT_OK;
    size = (size + 4095) & ~(size_t)4095;
    void *p = aligned_alloc(64, size);
    if (!p) return fl_errorf(FLINT_E_NOMEM, "matmul: cannot allocate %zu bytes of scratch", size);
    free(b->p);
    b->p = p;
    b->size = size;
    return FLINT_OK;
}

static const fl_mm_kernels *table_for(fl_cpu_isa isa) {
    switch (isa) {
#if defined(__x86_64__) || defined(__i386__)
    case FL_ISA_AVX2: return &fl_mm_kernels_avx2;
    case FL_ISA_AVX512: return &fl_mm_kernels_avx512;
#endif
#if defined(__aarch64__)
    case FL_ISA_NEON: return &fl_mm_kernels_neon;
#endif
    case FL_ISA_SCALAR: return &fl_mm_kernels_scalar;
    default: return NULL;
    }
}

flint_status fl_cpu_matmul_create(fl_pool *pool, fl_cpu_isa isa, fl_cpu_matmul **out) {
    if (!out) return fl_errorf(FLINT_E_INVALID_ARG, "matmul create: NULL out");
    *out = NULL;
    if (isa == FL_ISA_AUTO) isa = fl_cpu_best_isa(); /* the backend's detection, FLINT_ISA cap included */
    const fl_mm_kernels *kt = table_for(isa);
    if (!kt) return fl_errorf(FLINT_E_UNSUPPORTED, "matmul: ISA %d is not built into this binary", (int)isa);
    fl_cpu_matmul *mm = calloc(1, sizeof *mm);
    if (!mm) return fl_errorf(FLINT_E_NOMEM, "matmul create: out of memory");
    mm->pool = pool;
    mm->n_threads = pool ? fl_pool_threads(pool) : 1;
    mm->kt = kt;
    *out = mm;
    return FLINT_OK;
}

void fl_cpu_matmul_free(fl_cpu_matmul *mm) {
    if (!mm) return;
    grow_buf *bufs[] = {&mm->act_q, &mm->act_d, &mm->act_sum, &mm->packed, &mm->scratch};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]->p);
    free(mm);
}

/* Weights are read in place (the GEMM repacks panels per call, in L2). */
flint_status fl_cpu_matmul_prepare(fl_cpu_matmul *mm, fl_weight *w) {
    (void)mm;
    (void)w;
    return FLINT_OK;
}

void fl_cpu_matmul_release(fl_cpu_matmul *mm, fl_weight *w) {
    (void)mm;
    (void)w;
}

/* ---- running tasks on the pool (or inline without one) ---- */

static void run_tasks(fl_cpu_matmul *mm, int64_t n_tasks, fl_pool_fn fn, void *ctx) {
    if (mm->pool && n_tasks > 1) {
        fl_pool_run(mm->pool, n_tasks, fn, ctx);
    } else {
        for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t, 0);
    }
}

typedef struct call {
    fl_cpu_matmul *mm;
    const fl_mm_kernels *kt;
    fl_mm_rows_fn rows;
    fl_mm_gemm_fn gemm;
    fl_mm_job job;
    fl_mm_act act;
    const float *x;
    int64_t n, m, k;
    int64_t n_tasks;
    int64_t rows_per_task; /* prefill panels */
} call;

static void *thread_scratch(const call *c, int32_t thread) {
    return (uint8_t *)c->mm->scratch.p + (size_t)thread * c->mm->scratch_stride;
}

/* ---- activation quantization ---- */

static void quant_rows(const call *c, int64_t r0, int64_t r1) {
    const int64_t k = c->k;
    fl_cpu_matmul *mm = c->mm;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = c->x + r * k;
        switch (c->act.kind) {
        case FL_MM_ACT_Q8_32:
            c->kt->quant_q8_32(x, (int8_t *)mm->act_q.p + r * k, (float *)mm->act_d.p + r * (k / 32),
                               (int32_t *)mm->act_sum.p + r * (k / 32), k);
            break;
        case FL_MM_ACT_Q8_K:
            c->kt->quant_q8_k(x, (int8_t *)mm->act_q.p + r * k, (float *)mm->act_d.p + r * (k / 256),
                              (int32_t *)mm->act_sum.p + r * (k / 16), k);
            break;
        case FL_MM_ACT_F32: break;
        }
    }
}

static void quant_task(void *ctx, int64_t task, int32_t thread) {
    (void)thread;
    const call *c = ctx;
    int64_t r0, r1;
    fl_split_range(c->n, c->n_tasks, task, 1, &r0, &r1);
    quant_rows(c, r0, r1);
}

#define PACK_COLS 32 /* prefill activation packing: a multiple of every table's column tile (16 or 32 rows of x) */

static void pack_task(void *ctx, int64_t task, int32_t thread) {
    (void)thread;
    const call *c = ctx;
    int64_t c0, c1;
    fl_split_range(c->n, c->n_tasks, task, PACK_COLS, &c0, &c1);
    if (c0 < c1) c->kt->pack_act(c->job.w->type, &c->act, (void *)c->act.packed, c0, c1);
}

/* ---- decode and prefill tasks ---- */

static void decode_task(void *ctx, int64_t task, int32_t thread) {
    const call *c = ctx;
    int64_t r0, r1;
    fl_split_range(c->m, c->n_tasks, task, DECODE_ALIGN, &r0, &r1);
    if (r0 < r1) c->rows(&c->job, 0, c->n, r0, r1, thread_scratch(c, thread));
}

static void prefill_task(void *ctx, int64_t task, int32_t thread) {
    const call *c = ctx;
    int64_t r0 = task * c->rows_per_task;
    int64_t r1 = r0 + c->rows_per_task < c->m ? r0 + c->rows_per_task : c->m;
    void *scratch = thread_scratch(c, thread);
    if (c->gemm) {
        c->gemm(&c->job, r0, r1, scratch);
        return;
    }
    for (int64_t c0 = 0; c0 < c->n; c0 += FL_MM_DECODE_MAX) {
        int64_t nc = c->n - c0 < FL_MM_DECODE_MAX ? c->n - c0 : FL_MM_DECODE_MAX;
        c->rows(&c->job, c0, nc, r0, r1, scratch);
    }
}

/* The fallback for types without a kernel: dequantize a weight row into
 * scratch (fl_dequant_row, the reference) and dot it with each x row. */

static void rows_generic(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) {
    const fl_weight *w = job->w;
    const int64_t k = w->k;
    float *tmp = scratch;
    float (*dot)(const float *, const float *, int64_t) = job->kt->dot_f32;
    for (int64_t r = r0; r < r1; r++) {
        (void)fl_dequant_row(w->type, (const uint8_t *)w->data + (uint64_t)r * w->row_bytes, tmp, k);
        for (int64_t c = c0; c < c0 + nc; c++) job->y[c * job->ldy + r] = dot(tmp, job->a->f32 + c * k, k);
    }
}

/* ---- argument checks ---- */

static flint_status check_weight(const fl_weight *w) {
    const fl_type_info *t = fl_type_get(w->type);
    const char *name = t ? t->name : "(unknown)";
    if (!t) return fl_errorf(FLINT_E_INVALID_ARG, "matmul: weight type %d is not a flint type", (int)w->type);
    if (w->m < 0 || w->k <= 0) {
        return fl_errorf(FLINT_E_INVALID_ARG, "matmul %s: bad shape m=%lld k=%lld", name, (long long)w->m,
                         (long long)w->k);
    }
    if (w->m > 0 && !w->data) return fl_errorf(FLINT_E_INVALID_ARG, "matmul %s: NULL weight data", name);
    if (w->type == FLINT_TYPE_MLX_Q4 || w->type == FLINT_TYPE_MLX_Q8) {
        if (w->group_size != 32 && w->group_size != 64 && w->group_size != 128) {
            return fl_errorf(FLINT_E_UNSUPPORTED, "matmul %s: group size %d is not supported (32, 64 or 128)",
                             name, (int)w->group_size);
        }
        if (w->scale_type != FLINT_TYPE_F16 && w->scale_type != FLINT_TYPE_BF16 &&
            w->scale_type != FLINT_TYPE_F32) {
            return fl_errorf(FLINT_E_UNSUPPORTED, "matmul %s: scales must be F16, BF16 or F32", name);
        }
        if (w->k % w->group_size != 0) {
            return fl_errorf(FLINT_E_INVALID_ARG, "matmul %s: k=%lld is not a multiple of the group size %d",
                             name, (long long)w->k, (int)w->group_size);
        }
        if (w->m > 0 && (!w->scales || !w->biases))
            return fl_errorf(FLINT_E_INVALID_ARG, "matmul %s: NULL scales or biases", name);
    } else if (!t->can_dequant) {
        return fl_errorf(FLINT_E_UNSUPPORTED, "matmul: weight type %s is not supported", name);
    }
    uint64_t need;
    if (!fl_type_row_bytes(w->type, (uint64_t)w->k, &need)) {
        return fl_errorf(FLINT_E_INVALID_ARG, "matmul %s: k=%lld is not a multiple of the block size %d", name,
                         (long long)w->k, (int)t->block_size);
    }
    if (w->row_bytes < need) {
        return fl_errorf(FLINT_E_INVALID_ARG, "matmul %s: row_bytes %llu < %llu for k=%lld", name,
                         (unsigned long long)w->row_bytes, (unsigned long long)need, (long long)w->k);
    }
    return FLINT_OK;
}

/* ---- the call ---- */

flint_status fl_cpu_matmul_run(fl_cpu_matmul *mm, const fl_weight *w, const float *x, float *y, int64_t n) {
    if (!mm || !w) return fl_errorf(FLINT_E_INVALID_ARG, "matmul: NULL argument");
    flint_status st = check_weight(w);
    if (st != FLINT_OK) return st;
    if (n < 0) return fl_errorf(FLINT_E_INVALID_ARG, "matmul: negative n %lld", (long long)n);
    if (n == 0 || w->m == 0) return FLINT_OK;
    if (!x || !y) return fl_errorf(FLINT_E_INVALID_ARG, "matmul: NULL x or y");

    const int64_t k = w->k, m = w->m;
    call c = {.mm = mm, .x = x, .n = n, .m = m, .k = k};
    /* the ISA's table if it has the type, else the scalar table, else
     * the dequantize-and-dot fallback on the ISA's dot product */
    c.kt = mm->kt->rows[w->type] ? mm->kt : &fl_mm_kernels_scalar;
    c.rows = c.kt->rows[w->type];
    if (!c.rows) {
        c.kt = mm->kt->dot_f32 ? mm->kt : &fl_mm_kernels_scalar;
        c.rows = rows_generic;
    }
    const bool prefill = n > FL_MM_DECODE_MAX;
    c.gemm = prefill && c.kt->gemm[w->type] ? c.kt->gemm[w->type] : NULL;
    c.act.kind = c.rows == rows_generic ? FL_MM_ACT_F32 : fl_mm_act_for(w->type);
    c.act.n = n;
    c.act.k = k;
    c.act.f32 = x;
    c.job = (fl_mm_job){.kt = c.kt, .w = w, .a = &c.act, .y = y, .ldy = m};

    /* scratch: sizes in elements, checked against overflow by construction
     * (n, k come from a weight whose row size was checked, and x exists) */
    size_t nk = (size_t)n * (size_t)k;
    switch (c.act.kind) {
    case FL_MM_ACT_Q8_32:
    case FL_MM_ACT_Q8_K: {
        size_t n_d = (size_t)n * (size_t)(k / (c.act.kind == FL_MM_ACT_Q8_32 ? 32 : 256));
        size_t n_sum = (size_t)n * (size_t)(k / (c.act.kind == FL_MM_ACT_Q8_32 ? 32 : 16));
        if ((st = grow(&mm->act_q, nk)) || (st = grow(&mm->act_d, n_d * sizeof(float))) ||
            (st = grow(&mm->act_sum, n_sum * sizeof(int32_t))))
            return st;
        c.act.q = mm->act_q.p;
        c.act.d = mm->act_d.p;
        c.act.sum = mm->act_sum.p;
        break;
    }
    case FL_MM_ACT_F32: break;
    }
    /* k floats (the fallback's row) or k bytes per activation row (the
     * AVX-512 Q4_0/Q8_0 corrections) */
    size_t stride = (size_t)k * (sizeof(float) > FL_MM_DECODE_MAX ? sizeof(float) : FL_MM_DECODE_MAX) + 64;
    if (c.gemm && c.kt->gemm_scratch_bytes) {
        size_t g = (size_t)c.kt->gemm_scratch_bytes(w->type, n, k);
        if (g > stride) stride = g;
    }
    stride = (stride + 63) & ~(size_t)63;
    if ((st = grow(&mm->scratch, stride * (size_t)mm->n_threads))) return st;
    mm->scratch_stride = stride;

    if (c.act.kind != FL_MM_ACT_F32) {
        c.n_tasks = n >= QUANT_PAR_MIN ? (n < 4 * mm->n_threads ? n : 4 * mm->n_threads) : 1;
        run_tasks(mm, c.n_tasks, quant_task, &c);
    }
    if (c.gemm && c.kt->pack_act) {
        if ((st = grow(&mm->packed, (size_t)c.kt->pack_bytes(w->type, n, k)))) return st;
        c.act.packed = mm->packed.p;
        int64_t tiles = (n + PACK_COLS - 1) / PACK_COLS;
        c.n_tasks = tiles < 4 * mm->n_threads ? tiles : 4 * mm->n_threads;
        run_tasks(mm, c.n_tasks, pack_task, &c);
    }

    if (!prefill) {
        int64_t units = (m + DECODE_ALIGN - 1) / DECODE_ALIGN;
        int64_t want = 4 * (int64_t)mm->n_threads;
        c.n_tasks = units < want ? units : want;
        run_tasks(mm, c.n_tasks, decode_task, &c);
    } else {
        c.rows_per_task = FL_MM_PANEL_ROWS;
        c.n_tasks = (m + FL_MM_PANEL_ROWS - 1) / FL_MM_PANEL_ROWS;
        run_tasks(mm, c.n_tasks, prefill_task, &c);
    }
    return FLINT_OK;
}
