/* matmul.c — the CPU matrix products y[n,m] = x[n,k] . W[m,k]^T behind
 * fl_backend.matmul and matmul_group: argument checks, the choice of
 * kernel table and regime, activation quantization, threading and scratch.
 * The arithmetic lives in the per-ISA kernel files (matmul_kernels.h).
 *
 * A call is a group of products (matmul is a group of one), run in two
 * parallel steps:
 *   1. each distinct x is quantized once into the format its weight type
 *      needs (and packed for the GEMM of each prefill weight type); small
 *      decode inputs are quantized on the caller without a fork;
 *   2. one fork over a list of units, each a range of one job's W rows:
 *   n <= 8  decode: W's rows are split into contiguous ranges, a job's
 *           share of the tasks proportional to its weight bytes; each
 *           weight row is read once and dotted with all n activation rows
 *           while it is in registers/L1.
 *   n > 8   prefill: W is cut into panels of rows (one unit each); a panel
 *           stays in L2 while every activation row passes over it, either
 *           through the table's GEMM micro-kernels or, for types without
 *           one, through the decode kernel 8 activation rows at a time.
 *   deterministic mode: the decode kernel for every n (8 rows at a time
 *           above 8), so that a row's y does not depend on n (backend.h).
 *   exact mode: every weight type but F32 is dequantized (fl_dequant_row,
 *           the reference) and multiplied with x in f32, no 8-bit
 *           activations: decode dots each dequantized row with the n rows
 *           of x; prefill dequantizes a panel of rows once into scratch and
 *           runs the table's F32 GEMM over it (or, without one or in
 *           deterministic mode, the decode dot per row, so that y does not
 *           depend on n). F16/BF16 decode keeps its kernels (f32 already).
 * Each output element is computed by the same kernel on the same data
 * whatever the group, so a group equals its products run one by one.
 *
 * Memory: every buffer (codes, packed tiles, per-thread scratch, the plan
 * of a call) is owned by the fl_cpu_matmul and only grows, so steady-state
 * calls do not allocate. Must not: keep pointers to x, y or w between
 * calls. */
#include "cpu/matmul.h"

#include <stdlib.h>
#include <string.h>

#include "backend/check.h"
#include "base/error.h"
#include "cpu/matmul_kernels.h"
#include "quant/types.h"

#define DECODE_ALIGN 16          /* decode row ranges are multiples of this */
#define QUANT_PAR_ELEMS (1 << 15) /* quantize activations in parallel from this many elements */
#define PACK_COLS 32              /* prefill packing ranges: a multiple of every table's column tile */
#define TASKS_PER_THREAD 4        /* tasks per thread of each parallel step: the dynamic hand-out evens them */

typedef struct grow_buf {
    void *p;
    size_t size;
} grow_buf;

struct fl_cpu_matmul {
    fl_pool *pool; /* may be NULL: everything runs on the caller */
    int32_t n_threads;
    const fl_mm_kernels *kt; /* the ISA's table */
    bool deterministic;      /* no GEMM: the decode kernel for every n */
    bool exact;              /* f32 activations against dequantized weights */
    grow_buf act_q, act_d, act_sum, packed, scratch;
    grow_buf acts, jobs, units, preps; /* the plan of a call */
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
#if defined(__x86_64__)
    case FL_ISA_AMX: return &fl_mm_kernels_amx;
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
    /* also asks the OS for the AMX state before any tile instruction */
    if (!fl_cpu_has_isa(isa))
        return fl_errorf(FLINT_E_UNSUPPORTED, "matmul: this CPU cannot run the %s kernels", fl_cpu_isa_name(isa));
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
    grow_buf *bufs[] = {&mm->act_q, &mm->act_d,  &mm->act_sum, &mm->packed, &mm->scratch,
                        &mm->acts,  &mm->jobs,   &mm->units,   &mm->preps};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]->p);
    free(mm);
}

void fl_cpu_matmul_set_deterministic(fl_cpu_matmul *mm, bool on) { mm->deterministic = on; }

void fl_cpu_matmul_set_exact(fl_cpu_matmul *mm, bool on) { mm->exact = on; }

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

/* ---- the plan of one call ----
 * A call runs a group of products in one pass over the pool. Each distinct
 * activation (x, n, k, table, format) is quantized once, by its "owner"
 * act; an act that packs the same codes for another weight type's GEMM
 * shares the owner's codes and has its own packed tiles. The products are
 * cut into units (a range of W rows of one job) that the pool hands out. */

typedef struct act_plan {
    fl_mm_act a;
    const fl_mm_kernels *kt; /* the table that quantizes and packs it */
    bool packs;              /* a.packed holds x laid out for pack_type's GEMM */
    flint_type pack_type;
    int32_t owner;           /* the act holding the codes (itself when it quantizes) */
} act_plan;

typedef struct job_plan {
    fl_mm_job job; /* job.a points into the act plans */
    fl_mm_rows_fn rows;
    fl_mm_gemm_fn gemm; /* prefill micro-kernels, or NULL */
    bool exact;         /* exact mode's dequantized panels (gemm_exact_*) */
    int64_t n;
    int32_t act;
} job_plan;

typedef struct unit {
    int32_t job;
    int64_t r0, r1; /* W rows */
} unit;

typedef struct prep {
    int32_t act; /* an owner */
    int64_t c0, c1; /* activation rows */
} prep;

typedef struct call {
    fl_cpu_matmul *mm;
    act_plan *acts;
    job_plan *jobs;
    unit *units;
    prep *preps;
    int32_t n_acts, n_jobs;
    int64_t n_units, n_preps;
} call;

static void run_tasks(fl_cpu_matmul *mm, int64_t n_tasks, fl_pool_fn fn, void *ctx) {
    if (mm->pool && n_tasks > 1) {
        fl_pool_run(mm->pool, n_tasks, fn, ctx);
    } else {
        for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t, 0);
    }
}

static void *thread_scratch(const call *c, int32_t thread) {
    return (uint8_t *)c->mm->scratch.p + (size_t)thread * c->mm->scratch_stride;
}

/* ---- activation quantization and packing ---- */

static void quant_rows(const act_plan *ap, int64_t r0, int64_t r1) {
    const fl_mm_act *a = &ap->a;
    const int64_t k = a->k;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = a->f32 + r * k;
        switch (a->kind) {
        case FL_MM_ACT_Q8_32:
            ap->kt->quant_q8_32(x, (int8_t *)a->q + r * k, (float *)a->d + r * (k / 32), (int32_t *)a->sum + r * (k / 32),
                                k);
            break;
        case FL_MM_ACT_Q8_K:
            ap->kt->quant_q8_k(x, (int8_t *)a->q + r * k, (float *)a->d + r * (k / 256), (int32_t *)a->sum + r * (k / 16),
                               k);
            break;
        case FL_MM_ACT_F32: break;
        }
    }
}

/* Rows [c0, c1) of one owner: its codes, then every packing of them (in
 * the same task, so the codes are there before they are packed). */
static void prep_task(void *ctx, int64_t task, int32_t thread) {
    (void)thread;
    const call *c = ctx;
    const prep *p = &c->preps[task];
    quant_rows(&c->acts[p->act], p->c0, p->c1);
    for (int32_t i = p->act; i < c->n_acts; i++) {
        const act_plan *ap = &c->acts[i];
        if (ap->owner == p->act && ap->packs)
            ap->kt->pack_act(ap->pack_type, &ap->a, (void *)ap->a.packed, p->c0, p->c1);
    }
}

/* ---- the products ---- */

static void unit_task(void *ctx, int64_t task, int32_t thread) {
    const call *c = ctx;
    const unit *u = &c->units[task];
    const job_plan *j = &c->jobs[u->job];
    void *scratch = thread_scratch(c, thread);
    if (j->n <= FL_MM_DECODE_MAX) {
        j->rows(&j->job, 0, j->n, u->r0, u->r1, scratch);
    } else if (j->gemm) {
        j->gemm(&j->job, u->r0, u->r1, scratch);
    } else {
        for (int64_t c0 = 0; c0 < j->n; c0 += FL_MM_DECODE_MAX) {
            int64_t nc = j->n - c0 < FL_MM_DECODE_MAX ? j->n - c0 : FL_MM_DECODE_MAX;
            j->rows(&j->job, c0, nc, u->r0, u->r1, scratch);
        }
    }
}

/* Row r of w as f32 (the reference dequantization; MLX from its codes,
 * scales and biases). The weight was checked: it cannot fail. */
static void dequant_w_row(const fl_weight *w, int64_t r, float *out) { (void)fl_weight_row_f32(w, r, out); }

/* The fallback for types without a kernel, and exact mode's decode:
 * dequantize a weight row into scratch and dot it with each x row. */

static void rows_generic(const fl_mm_job *job, int64_t c0, int64_t nc, int64_t r0, int64_t r1, void *scratch) {
    const fl_weight *w = job->w;
    const int64_t k = w->k;
    float *tmp = scratch;
    float (*dot)(const float *, const float *, int64_t) = job->kt->dot_f32;
    for (int64_t r = r0; r < r1; r++) {
        dequant_w_row(w, r, tmp);
        for (int64_t c = c0; c < c0 + nc; c++) job->y[c * job->ldy + r] = dot(tmp, job->a->f32 + c * k, k);
    }
}

/* Exact mode's prefill: rows [r0, r1) (<= FL_MM_PANEL_ROWS) dequantized
 * once into a panel at the start of scratch, then every activation row
 * against it: through the table's F32 GEMM (gemm_exact_f32; its own
 * scratch follows the panel) or the decode dot (gemm_exact_dot, the same
 * arithmetic per element as rows_generic, so batch-invariant). */
static size_t panel_bytes(int64_t k) { return ((size_t)FL_MM_PANEL_ROWS * (size_t)k * sizeof(float) + 63) & ~(size_t)63; }

static float *dequant_panel(const fl_weight *w, int64_t r0, int64_t r1, void *scratch) {
    float *panel = scratch;
    for (int64_t r = r0; r < r1; r++) dequant_w_row(w, r, panel + (r - r0) * w->k);
    return panel;
}

static void gemm_exact_dot(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch) {
    const int64_t k = job->w->k, n = job->a->n;
    const float *panel = dequant_panel(job->w, r0, r1, scratch);
    float (*dot)(const float *, const float *, int64_t) = job->kt->dot_f32;
    for (int64_t c = 0; c < n; c++) {
        const float *x = job->a->f32 + c * k;
        for (int64_t r = r0; r < r1; r++) job->y[c * job->ldy + r] = dot(panel + (r - r0) * k, x, k);
    }
}

static void gemm_exact_f32(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch) {
    const int64_t k = job->w->k;
    const float *panel = dequant_panel(job->w, r0, r1, scratch);
    const fl_weight pw = {.type = FLINT_TYPE_F32, .m = r1 - r0, .k = k, .data = panel,
                          .row_bytes = (uint64_t)k * sizeof(float)};
    const fl_mm_job sub = {.kt = job->kt, .w = &pw, .a = job->a, .y = job->y + r0, .ldy = job->ldy};
    job->kt->gemm[FLINT_TYPE_F32](&sub, 0, r1 - r0, (uint8_t *)scratch + panel_bytes(k));
}

/* ---- argument checks ---- */

/* ---- planning a call ---- */

static flint_status check_job(const fl_matmul_job *j) {
    if (!j->w) return fl_errorf(FLINT_E_INVALID_ARG, "matmul: NULL weight");
    flint_status st = fl_check_weight(j->w);
    if (st != FLINT_OK) return st;
    if (j->n < 0) return fl_errorf(FLINT_E_INVALID_ARG, "matmul: negative n %lld", (long long)j->n);
    if (j->n > 0 && j->w->m > 0 && (!j->x || !j->y)) return fl_errorf(FLINT_E_INVALID_ARG, "matmul: NULL x or y");
    return FLINT_OK;
}

/* The act of x in format kind for table kt, packed for pack_type's GEMM
 * when packs: an existing one, else a new one (sharing the codes of an
 * earlier act of the same x, n, k, table and format). */
static int32_t find_act(call *c, const float *x, int64_t n, int64_t k, const fl_mm_kernels *kt, fl_mm_act_kind kind,
                        bool packs, flint_type pack_type) {
    int32_t owner = -1;
    for (int32_t i = 0; i < c->n_acts; i++) {
        const act_plan *ap = &c->acts[i];
        if (ap->a.f32 != x || ap->a.n != n || ap->a.k != k || ap->kt != kt || ap->a.kind != kind) continue;
        if (owner < 0) owner = i;
        if (ap->packs == packs && (!packs || ap->pack_type == pack_type)) return i;
    }
    int32_t i = c->n_acts++;
    c->acts[i] = (act_plan){.a = {.kind = kind, .n = n, .k = k, .f32 = x}, .kt = kt, .packs = packs,
                            .pack_type = pack_type, .owner = owner < 0 ? i : owner};
    return i;
}

/* Exact mode's kernels and activation of one product (weights not F32). */
static void plan_exact(call *c, const fl_matmul_job *j, job_plan *jp) {
    const fl_weight *w = j->w;
    const fl_cpu_matmul *mm = c->mm;
    const bool is_half = w->type == FLINT_TYPE_F16 || w->type == FLINT_TYPE_BF16;
    const fl_mm_kernels *kt = mm->kt->dot_f32 ? mm->kt : &fl_mm_kernels_scalar;
    /* F16/BF16 decode kernels multiply in f32 already; deterministic mode
     * keeps one arithmetic (the dot) for every n */
    jp->rows = is_half && !mm->deterministic && kt->rows[w->type] ? kt->rows[w->type] : rows_generic;
    jp->gemm = NULL;
    if (j->n > FL_MM_DECODE_MAX)
        jp->gemm = !mm->deterministic && kt->gemm[FLINT_TYPE_F32] ? gemm_exact_f32 : gemm_exact_dot;
    jp->exact = true;
    jp->n = j->n;
    const bool packs = jp->gemm == gemm_exact_f32 && kt->pack_act;
    jp->act = find_act(c, j->x, j->n, w->k, kt, FL_MM_ACT_F32, packs, FLINT_TYPE_F32);
    jp->job = (fl_mm_job){.kt = kt, .w = w, .y = j->y, .ldy = w->m};
}

/* Kernels and activation of one product. */
static void plan_job(call *c, const fl_matmul_job *j, job_plan *jp) {
    const fl_weight *w = j->w;
    const fl_cpu_matmul *mm = c->mm;
    if (mm->exact && w->type != FLINT_TYPE_F32) {
        plan_exact(c, j, jp);
        return;
    }
    jp->exact = false;
    /* the ISA's table if it has the type, else the scalar table, else
     * the dequantize-and-dot fallback on the ISA's dot product */
    const fl_mm_kernels *kt = mm->kt->rows[w->type] ? mm->kt : &fl_mm_kernels_scalar;
    jp->rows = kt->rows[w->type];
    if (!jp->rows) {
        kt = mm->kt->dot_f32 ? mm->kt : &fl_mm_kernels_scalar;
        jp->rows = rows_generic;
    }
    jp->gemm = j->n > FL_MM_DECODE_MAX && !mm->deterministic ? kt->gemm[w->type] : NULL;
    jp->n = j->n;
    fl_mm_act_kind kind = jp->rows == rows_generic ? FL_MM_ACT_F32 : fl_mm_act_for(w->type);
    jp->act = find_act(c, j->x, j->n, w->k, kt, kind, jp->gemm && kt->pack_act, w->type);
    jp->job = (fl_mm_job){.kt = kt, .w = w, .y = j->y, .ldy = w->m};
}

static size_t align64(size_t v) { return (v + 63) & ~(size_t)63; }

/* Carves the codes and packed tiles of every act out of the matmul's
 * buffers, and grows the per-thread scratch to what every job needs. */
static flint_status carve_acts(call *c) {
    fl_cpu_matmul *mm = c->mm;
    size_t q = 0, d = 0, sum = 0, packed = 0, stride = 0;
    for (int32_t i = 0; i < c->n_acts; i++) {
        const fl_mm_act *a = &c->acts[i].a;
        const size_t n = (size_t)a->n, k = (size_t)a->k;
        if (c->acts[i].owner == i && a->kind != FL_MM_ACT_F32) {
            const bool b32 = a->kind == FL_MM_ACT_Q8_32;
            q += align64(n * k);
            d += align64(n * (k / (b32 ? 32 : 256)) * sizeof(float));
            sum += align64(n * (k / (b32 ? 32 : 16)) * sizeof(int32_t));
        }
        if (c->acts[i].packs) packed += align64((size_t)c->acts[i].kt->pack_bytes(c->acts[i].pack_type, a->n, a->k));
    }
    for (int32_t j = 0; j < c->n_jobs; j++) {
        const job_plan *jp = &c->jobs[j];
        /* k floats (the fallback's row) or 5k/4 bytes per activation row
         * (the AVX-512 Q4_0/Q8_0 interleaved codes and their corrections;
         * the AVX2 K-quants' 16-bit sums of 16 take k/8) */
        const size_t k = (size_t)jp->job.w->k, rows = k * sizeof(float), ilv = FL_MM_DECODE_MAX * (k + k / 4);
        size_t s = (rows > ilv ? rows : ilv) + 64;
        if (jp->exact && jp->gemm) {
            size_t g = panel_bytes(jp->job.w->k);
            if (jp->gemm == gemm_exact_f32 && jp->job.kt->gemm_scratch_bytes)
                g += (size_t)jp->job.kt->gemm_scratch_bytes(FLINT_TYPE_F32, jp->n, jp->job.w->k);
            if (g > s) s = g;
        } else if (jp->gemm && jp->job.kt->gemm_scratch_bytes) {
            size_t g = (size_t)jp->job.kt->gemm_scratch_bytes(jp->job.w->type, jp->n, jp->job.w->k);
            if (g > s) s = g;
        }
        if (align64(s) > stride) stride = align64(s);
    }
    flint_status st;
    if ((st = grow(&mm->act_q, q)) || (st = grow(&mm->act_d, d)) || (st = grow(&mm->act_sum, sum)) ||
        (st = grow(&mm->packed, packed)) || (st = grow(&mm->scratch, stride * (size_t)mm->n_threads)))
        return st;
    mm->scratch_stride = stride;
    q = d = sum = packed = 0;
    for (int32_t i = 0; i < c->n_acts; i++) {
        act_plan *ap = &c->acts[i];
        fl_mm_act *a = &ap->a;
        const size_t n = (size_t)a->n, k = (size_t)a->k;
        if (ap->owner == i && a->kind != FL_MM_ACT_F32) {
            const bool b32 = a->kind == FL_MM_ACT_Q8_32;
            a->q = (const int8_t *)((uint8_t *)mm->act_q.p + q);
            a->d = (const float *)(void *)((uint8_t *)mm->act_d.p + d);
            a->sum = (const int32_t *)(void *)((uint8_t *)mm->act_sum.p + sum);
            q += align64(n * k);
            d += align64(n * (k / (b32 ? 32 : 256)) * sizeof(float));
            sum += align64(n * (k / (b32 ? 32 : 16)) * sizeof(int32_t));
        } else if (ap->owner != i) {
            const fl_mm_act *o = &c->acts[ap->owner].a; /* owners come first */
            a->q = o->q, a->d = o->d, a->sum = o->sum;
        }
        if (ap->packs) {
            a->packed = (uint8_t *)mm->packed.p + packed;
            packed += align64((size_t)ap->kt->pack_bytes(ap->pack_type, a->n, a->k));
        }
    }
    return FLINT_OK;
}

/* Quantization and packing tasks; returns whether they are worth a fork
 * (packing always is; codes from QUANT_PAR_ELEMS elements). */
static bool plan_preps(call *c) {
    const int64_t want = TASKS_PER_THREAD * (int64_t)c->mm->n_threads;
    int64_t elems = 0;
    bool packs = false;
    for (int32_t i = 0; i < c->n_acts; i++) {
        const act_plan *ap = &c->acts[i];
        if (ap->owner == i && ap->a.kind != FL_MM_ACT_F32) elems += ap->a.n * ap->a.k;
        packs |= ap->packs;
    }
    const bool par = c->mm->n_threads > 1 && (packs || elems >= QUANT_PAR_ELEMS);
    c->n_preps = 0;
    for (int32_t i = 0; i < c->n_acts; i++) {
        const act_plan *ap = &c->acts[i];
        if (ap->owner != i) continue;
        bool packed = false;
        for (int32_t j = i; j < c->n_acts; j++) packed |= c->acts[j].owner == i && c->acts[j].packs;
        if (!packed && ap->a.kind == FL_MM_ACT_F32) continue;
        /* packing ranges start on a tile; codes alone split by rows */
        const int64_t align = packed ? PACK_COLS : 1, units = (ap->a.n + align - 1) / align;
        const int64_t nt = !par ? 1 : units < want ? units : want;
        for (int64_t t = 0; t < nt; t++) {
            prep *p = &c->preps[c->n_preps++];
            p->act = i;
            fl_split_range(ap->a.n, nt, t, align, &p->c0, &p->c1);
        }
    }
    return par;
}

/* Decode units of job jp: its share of want, by weight bytes. */
static int64_t decode_units(const job_plan *jp, uint64_t total_bytes, int64_t want) {
    const fl_weight *w = jp->job.w;
    const uint64_t bytes = (uint64_t)w->m * w->row_bytes;
    const int64_t most = (w->m + DECODE_ALIGN - 1) / DECODE_ALIGN;
    int64_t u = (int64_t)((bytes * (uint64_t)want + total_bytes - 1) / total_bytes);
    return u < 1 ? 1 : u < most ? u : most;
}

/* W rows per prefill unit of job jp: the table's gemm_rows for the type
 * (the AMX GEMM reads all of x per unit, so it wants tall ones), lowered to
 * a thread's share of m rounded up to FL_MM_PANEL_ROWS so that small jobs
 * still feed every thread. */
static int64_t unit_rows(const job_plan *jp, int32_t n_threads) {
    const int64_t most = jp->gemm && !jp->exact ? jp->job.kt->gemm_rows[jp->job.w->type] : 0;
    if (most <= FL_MM_PANEL_ROWS) return FL_MM_PANEL_ROWS;
    const int64_t share = (jp->job.w->m + n_threads - 1) / n_threads;
    const int64_t rows = (share + FL_MM_PANEL_ROWS - 1) / FL_MM_PANEL_ROWS * FL_MM_PANEL_ROWS;
    return rows < most ? rows : most;
}

/* The work list: prefill panels first (the larger units), then the decode
 * row ranges, each job's share of the pool's tasks in proportion to its
 * weight bytes. With count, only counts. */
static int64_t plan_units(call *c, bool count) {
    const int64_t want = TASKS_PER_THREAD * (int64_t)c->mm->n_threads;
    uint64_t total_bytes = 0;
    for (int32_t j = 0; j < c->n_jobs; j++)
        if (c->jobs[j].n <= FL_MM_DECODE_MAX) total_bytes += (uint64_t)c->jobs[j].job.w->m * c->jobs[j].job.w->row_bytes;
    int64_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int32_t j = 0; j < c->n_jobs; j++) {
            const job_plan *jp = &c->jobs[j];
            const int64_t m = jp->job.w->m;
            const bool prefill = jp->n > FL_MM_DECODE_MAX;
            if (prefill != (pass == 0)) continue;
            const int64_t pr = prefill ? unit_rows(jp, c->mm->n_threads) : 0;
            const int64_t nu = prefill ? (m + pr - 1) / pr : decode_units(jp, total_bytes, want);
            for (int64_t t = 0; t < nu && !count; t++) {
                unit *u = &c->units[n + t];
                u->job = j;
                if (prefill) {
                    u->r0 = t * pr;
                    u->r1 = u->r0 + pr < m ? u->r0 + pr : m;
                } else {
                    fl_split_range(m, nu, t, DECODE_ALIGN, &u->r0, &u->r1);
                }
            }
            n += nu;
        }
    }
    return n;
}

/* ---- the call ---- */

/* [p, p + n floats) as addresses: the regions of different arrays are
 * compared as integers (relational operators on unrelated pointers are
 * undefined in C). */
typedef struct span_u {
    uintptr_t lo, hi;
} span_u;

static span_u floats_span(const float *p, int64_t n) {
    return (span_u){(uintptr_t)p, (uintptr_t)p + (uintptr_t)n * sizeof(float)};
}

static bool spans_meet(span_u a, span_u b) { return a.lo < b.hi && b.lo < a.hi; }

/* No job's y may overlap another job's y or any job's x: the products run
 * at once, so such a y would be read or written while another job writes
 * it. O(n_jobs^2) pairs: a MoE pass of 64 experts checks ~17k in tens of
 * microseconds, next to milliseconds of products. */
static flint_status check_overlaps(const fl_matmul_job *jobs, int32_t n_jobs) {
    for (int32_t i = 0; i < n_jobs; i++) {
        if (jobs[i].n == 0 || jobs[i].w->m == 0) continue;
        const span_u yi = floats_span(jobs[i].y, jobs[i].n * jobs[i].w->m);
        for (int32_t j = 0; j < n_jobs; j++) {
            if (jobs[j].n == 0 || jobs[j].w->m == 0) continue;
            if (spans_meet(yi, floats_span(jobs[j].x, jobs[j].n * jobs[j].w->k)))
                return fl_errorf(FLINT_E_INVALID_ARG, "matmul group: job %d's output overlaps job %d's input", i, j);
            if (j != i && spans_meet(yi, floats_span(jobs[j].y, jobs[j].n * jobs[j].w->m)))
                return fl_errorf(FLINT_E_INVALID_ARG, "matmul group: jobs %d and %d write overlapping outputs", i, j);
        }
    }
    return FLINT_OK;
}

flint_status fl_cpu_matmul_group(fl_cpu_matmul *mm, const fl_matmul_job *jobs, int32_t n_jobs) {
    if (!mm || n_jobs < 0 || (n_jobs > 0 && !jobs))
        return fl_errorf(FLINT_E_INVALID_ARG, "matmul: NULL argument or negative job count");
    flint_status st;
    for (int32_t j = 0; j < n_jobs; j++)
        if ((st = check_job(&jobs[j]))) return st;
    if ((st = check_overlaps(jobs, n_jobs))) return st;
    /* at most one act per job; prep tasks at most TASKS_PER_THREAD per act */
    const size_t max_preps = (size_t)n_jobs * TASKS_PER_THREAD * (size_t)mm->n_threads;
    if ((st = grow(&mm->acts, (size_t)n_jobs * sizeof(act_plan))) ||
        (st = grow(&mm->jobs, (size_t)n_jobs * sizeof(job_plan))) || (st = grow(&mm->preps, max_preps * sizeof(prep))))
        return st;
    call c = {.mm = mm, .acts = mm->acts.p, .jobs = mm->jobs.p, .preps = mm->preps.p};
    for (int32_t j = 0; j < n_jobs; j++)
        if (jobs[j].n > 0 && jobs[j].w->m > 0) plan_job(&c, &jobs[j], &c.jobs[c.n_jobs++]);
    if (c.n_jobs == 0) return FLINT_OK;
    if ((st = carve_acts(&c))) return st;
    for (int32_t j = 0; j < c.n_jobs; j++) c.jobs[j].job.a = &c.acts[c.jobs[j].act].a;

    if (plan_preps(&c)) run_tasks(mm, c.n_preps, prep_task, &c);
    else for (int64_t t = 0; t < c.n_preps; t++) prep_task(&c, t, 0);

    c.n_units = plan_units(&c, true);
    if ((st = grow(&mm->units, (size_t)c.n_units * sizeof(unit)))) return st;
    c.units = mm->units.p;
    plan_units(&c, false);
    run_tasks(mm, c.n_units, unit_task, &c);
    return FLINT_OK;
}

flint_status fl_cpu_matmul_run(fl_cpu_matmul *mm, const fl_weight *w, const float *x, float *y, int64_t n) {
    const fl_matmul_job job = {.w = w, .x = x, .y = y, .n = n};
    return fl_cpu_matmul_group(mm, &job, 1);
}
