/* attention.c — the CPU attention driver (backend.h fl_attn_params
 * semantics): tiling, masking, online softmax and threading, written once
 * over the per-ISA tile kernels of ops.h. It never allocates in steady
 * state: per-thread tiles and the split-KV partials are grow-only.
 *
 * Work decomposition. For one KV head, the "rows" are the (query, head in
 * its GQA group) pairs, query-major: row r is query r / G, head g = r % G
 * with G = n_head / n_head_kv. All rows of a KV head read the same K/V, so
 * a tile of BR rows is scored against a tile of BK keys (the K/V tile is
 * reused BR times from cache; F16/BF16 tiles are widened to f32 once per
 * tile). Keys come as tiles of BK rows, each with its own K, V and
 * position arrays (a block of the paged cache), in any order.
 * Tasks are (KV head, row block, key split). Key splits ("flash decoding")
 * are used when there are too few (head, row block) tasks to feed the
 * threads and the cache is long, as in decode: each split keeps its own
 * running max / sum / output and the caller merges them afterwards.
 *
 * Per row: m = running max, l = running sum of exp(s - m), o = running
 * sum of exp(s - m) v. A key tile whose keys are all invisible to every
 * row of the block (causal upper triangle, outside the window, empty) is
 * skipped before any arithmetic. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/check.h"
#include "base/error.h"
#include "cpu/ops.h"

#define BR 32 /* rows (query x head-in-group) per tile */
#define BK 64 /* keys per tile */
_Static_assert(BK == FL_ATTN_TILE, "the kernel's key tile is the backend's");
/* a split must hold at least this many keys to be worth its merge */
#define MIN_SPLIT_KEYS 256
/* deterministic mode: splits of this many cache rows, at multiples of it */
#define DET_SPLIT_KEYS 512

struct fl_cpu_attn {
    int32_t n_threads;
    int64_t cap_dk, cap_dv; /* head dims the per-thread scratch is sized for */
    float *scratch;         /* n_threads x per_thread floats */
    int64_t per_thread;
    float *part; /* split partials: per (task): m[BR], l[BR], o[BR][dv] */
    int64_t part_cap;
    bool deterministic;
};

/* per-thread layout: q[BR][dk], kt[BK][dk], vt[BK][dv], s[BR][BK], o[BR][dv], m[BR], l[BR] */
static int64_t scratch_floats(int64_t dk, int64_t dv) {
    return BR * dk + BK * dk + BK * dv + BR * BK + BR * dv + 2 * BR + 16;
}

static flint_status grow_scratch(fl_cpu_attn *a, int64_t dk, int64_t dv) {
    if (dk <= a->cap_dk && dv <= a->cap_dv) return FLINT_OK;
    if (dk < a->cap_dk) dk = a->cap_dk;
    if (dv < a->cap_dv) dv = a->cap_dv;
    int64_t per = scratch_floats(dk, dv);
    float *mem = malloc((size_t)per * (size_t)a->n_threads * sizeof(float));
    if (!mem) return fl_errorf(FLINT_E_NOMEM, "out of memory for attention scratch (head dims %lld/%lld)",
                               (long long)dk, (long long)dv);
    free(a->scratch);
    a->scratch = mem;
    a->per_thread = per;
    a->cap_dk = dk;
    a->cap_dv = dv;
    return FLINT_OK;
}

flint_status fl_cpu_attn_create(int32_t n_threads, fl_cpu_attn **out) {
    *out = NULL;
    fl_cpu_attn *a = calloc(1, sizeof *a);
    if (!a) return fl_errorf(FLINT_E_NOMEM, "out of memory for the attention state");
    a->n_threads = n_threads > 0 ? n_threads : 1;
    /* sized up front for the largest head dim of the supported models (512) */
    flint_status st = grow_scratch(a, 512, 512);
    if (st != FLINT_OK) {
        free(a);
        return st;
    }
    *out = a;
    return FLINT_OK;
}

void fl_cpu_attn_set_deterministic(fl_cpu_attn *a, bool on) { a->deterministic = on; }

void fl_cpu_attn_free(fl_cpu_attn *a) {
    if (!a) return;
    free(a->scratch);
    free(a->part);
    free(a);
}

typedef struct job {
    fl_cpu_attn *a;
    const fl_cpu_kernels *k;
    const fl_attn_params *p;
    float *out;
    const float *q;
    const int32_t *pos_q;
    const fl_kv_tile *tiles;
    int64_t n_q, n_kv, kv_stride; /* n_kv = n_tiles * BK */
    int64_t group;     /* G = n_head / n_head_kv */
    int64_t n_rows;    /* n_q * G per KV head */
    int64_t n_rblocks; /* ceil(n_rows / BR) */
    int64_t n_split, split_len;
} job;

static inline int visible(int32_t pq, int32_t pk, int32_t window) {
    return pk >= 0 && pk <= pq && (window == 0 || (int64_t)pq - pk < window);
}

static void bf16_to_f32(float *y, const uint16_t *x, int64_t n) {
    uint32_t *u = (uint32_t *)(void *)y;
    for (int64_t i = 0; i < n; i++) u[i] = (uint32_t)x[i] << 16;
}

static void attn_task(void *ctx, int64_t task, int32_t thread) {
    const job *jb = ctx;
    const fl_attn_params *p = jb->p;
    const fl_cpu_kernels *k = jb->k;
    const int64_t dk = p->head_dim_k, dv = p->head_dim_v, G = jb->group;
    const int64_t split = task % jb->n_split;
    const int64_t rb = (task / jb->n_split) % jb->n_rblocks;
    const int64_t kvh = task / jb->n_split / jb->n_rblocks;
    const int64_t r0 = rb * BR, nr = jb->n_rows - r0 < BR ? jb->n_rows - r0 : BR;

    float *qt = jb->a->scratch + (int64_t)thread * jb->a->per_thread;
    float *kt = qt + BR * dk, *vt = kt + BK * dk, *s = vt + BK * dv, *o = s + BR * BK;
    float *m = o + BR * dv, *l = m + BR;
    int32_t pq[BR];

    /* gather the block's query rows, pre-scaled: (scale q).k = scale (q.k) */
    int32_t qmin = INT32_MAX, qmax = INT32_MIN;
    for (int64_t r = 0; r < nr; r++) {
        int64_t i = (r0 + r) / G, h = kvh * G + (r0 + r) % G;
        k->scale(qt + r * dk, jb->q + (i * p->n_head + h) * dk, p->scale, dk);
        pq[r] = jb->pos_q[i];
        qmin = pq[r] < qmin ? pq[r] : qmin;
        qmax = pq[r] > qmax ? pq[r] : qmax;
        m[r] = -INFINITY;
        l[r] = 0;
    }
    memset(o, 0, (size_t)(nr * dv) * sizeof(float));

    const int64_t j_begin = split * jb->split_len;
    const int64_t j_end = j_begin + jb->split_len < jb->n_kv ? j_begin + jb->split_len : jb->n_kv;
    const int f16 = p->kv_type == FLINT_TYPE_F16, bf16 = p->kv_type == FLINT_TYPE_BF16;
    for (int64_t j0 = j_begin; j0 < j_end; j0 += BK) {
        const int64_t nk = BK;
        const fl_kv_tile *tile = jb->tiles + j0 / BK;
        const int32_t *pk = tile->pos;
        int32_t kmin = INT32_MAX, kmax = INT32_MIN;
        int all_valid = 1;
        for (int64_t j = 0; j < nk; j++) {
            if (pk[j] < 0) {
                all_valid = 0;
                continue;
            }
            kmin = pk[j] < kmin ? pk[j] : kmin;
            kmax = pk[j] > kmax ? pk[j] : kmax;
        }
        if (kmin == INT32_MAX || kmin > qmax) continue; /* empty, or all in every row's future */
        if (p->window > 0 && (int64_t)qmin - kmax >= p->window) continue; /* all behind every window */
        const int full = all_valid && kmax <= qmin && (p->window == 0 || (int64_t)qmax - kmin < p->window);

        const float *kp, *vp;
        int64_t ldk, ldv;
        if (f16) {
            const uint16_t *ks = (const uint16_t *)tile->k + kvh * dk;
            const uint16_t *vs = (const uint16_t *)tile->v + kvh * dv;
            for (int64_t j = 0; j < nk; j++) {
                k->f16_to_f32(kt + j * dk, ks + j * jb->kv_stride, dk);
                k->f16_to_f32(vt + j * dv, vs + j * jb->kv_stride, dv);
            }
            kp = kt, vp = vt, ldk = dk, ldv = dv;
        } else if (bf16) { /* bf16 is the top half of an f32: a shift widens it */
            const uint16_t *ks = (const uint16_t *)tile->k + kvh * dk;
            const uint16_t *vs = (const uint16_t *)tile->v + kvh * dv;
            for (int64_t j = 0; j < nk; j++) {
                bf16_to_f32(kt + j * dk, ks + j * jb->kv_stride, dk);
                bf16_to_f32(vt + j * dv, vs + j * jb->kv_stride, dv);
            }
            kp = kt, vp = vt, ldk = dk, ldv = dv;
        } else {
            kp = (const float *)tile->k + kvh * dk;
            vp = (const float *)tile->v + kvh * dv;
            ldk = ldv = jb->kv_stride;
        }

        k->attn_scores(s, BK, qt, nr, kp, ldk, nk, dk);
        for (int64_t r = 0; r < nr; r++) {
            float *sr = s + r * BK;
            if (p->softcap > 0) k->attn_softcap(sr, nk, p->softcap);
            if (!full)
                for (int64_t j = 0; j < nk; j++)
                    if (!visible(pq[r], pk[j], p->window)) sr[j] = -INFINITY;
            float mx = -INFINITY;
            for (int64_t j = 0; j < nk; j++) mx = sr[j] > mx ? sr[j] : mx;
            if (mx == -INFINITY) { /* nothing visible to this row here */
                memset(sr, 0, (size_t)nk * sizeof(float));
                continue;
            }
            float m_new = mx > m[r] ? mx : m[r];
            float corr = expf(m[r] - m_new); /* 0 when m was -inf */
            l[r] = l[r] * corr + k->attn_exp(sr, nk, m_new);
            if (corr != 1.0f) k->scale(o + r * dv, o + r * dv, corr, dv);
            m[r] = m_new;
        }
        k->attn_accum(o, dv, s, BK, nr, vp, ldv, nk, dv);
    }

    if (jb->n_split == 1) {
        for (int64_t r = 0; r < nr; r++) {
            int64_t i = (r0 + r) / G, h = kvh * G + (r0 + r) % G;
            float *dst = jb->out + (i * p->n_head + h) * dv;
            if (l[r] > 0) k->scale(dst, o + r * dv, 1.0f / l[r], dv);
            else memset(dst, 0, (size_t)dv * sizeof(float));
        }
    } else {
        float *part = jb->a->part + task * BR * (dv + 2);
        memcpy(part, m, (size_t)nr * sizeof(float));
        memcpy(part + BR, l, (size_t)nr * sizeof(float));
        memcpy(part + 2 * BR, o, (size_t)(nr * dv) * sizeof(float));
    }
}

/* out = sum_s o_s e^(m_s - M) / sum_s l_s e^(m_s - M), M = max_s m_s */
static void merge_splits(const job *jb) {
    const fl_attn_params *p = jb->p;
    const int64_t dv = p->head_dim_v, G = jb->group, ns = jb->n_split;
    for (int64_t kvh = 0; kvh < p->n_head_kv; kvh++)
        for (int64_t rb = 0; rb < jb->n_rblocks; rb++) {
            int64_t r0 = rb * BR, nr = jb->n_rows - r0 < BR ? jb->n_rows - r0 : BR;
            const float *base = jb->a->part + (kvh * jb->n_rblocks + rb) * ns * BR * (dv + 2);
            for (int64_t r = 0; r < nr; r++) {
                int64_t i = (r0 + r) / G, h = kvh * G + (r0 + r) % G;
                float *dst = jb->out + (i * p->n_head + h) * dv;
                float M = -INFINITY, L = 0;
                for (int64_t s = 0; s < ns; s++) {
                    float ms = base[s * BR * (dv + 2) + r];
                    M = ms > M ? ms : M;
                }
                memset(dst, 0, (size_t)dv * sizeof(float));
                if (M == -INFINITY) continue;
                for (int64_t s = 0; s < ns; s++) {
                    const float *ps = base + s * BR * (dv + 2);
                    if (ps[r] == -INFINITY) continue;
                    float w = expf(ps[r] - M);
                    L += ps[BR + r] * w;
                    const float *os = ps + 2 * BR + r * dv;
                    for (int64_t c = 0; c < dv; c++) dst[c] += os[c] * w;
                }
                jb->k->scale(dst, dst, 1.0f / L, dv);
            }
        }
}

flint_status fl_cpu_attn_run(fl_cpu_attn *a, fl_pool *pool, const fl_cpu_kernels *k, const fl_attn_params *p,
                             float *out, const float *q, const int32_t *pos_q, int64_t n_q, const fl_kv_tile *tiles,
                             int64_t n_tiles, int64_t kv_stride) {
    flint_status st = fl_check_attention(p, out, q, pos_q, n_q, tiles, n_tiles, kv_stride);
    if (st != FLINT_OK || n_q == 0) return st;
    st = grow_scratch(a, p->head_dim_k, p->head_dim_v);
    if (st != FLINT_OK) return st;

    const int64_t n_kv = n_tiles * BK;
    job jb = {.a = a, .k = k, .p = p, .out = out, .q = q, .pos_q = pos_q, .tiles = tiles, .n_q = n_q,
              .n_kv = n_kv, .kv_stride = kv_stride};
    jb.group = p->n_head / p->n_head_kv;
    jb.n_rows = n_q * jb.group;
    jb.n_rblocks = (jb.n_rows + BR - 1) / BR;
    int64_t n_tasks = p->n_head_kv * jb.n_rblocks;

    /* split the keys when the (head, row block) tasks cannot keep the
     * threads busy (decode on few KV heads) and the cache is long */
    jb.n_split = 1;
    int64_t want = 4 * (int64_t)a->n_threads;
    if (a->n_threads > 1 && n_tasks < want && n_kv >= 2 * MIN_SPLIT_KEYS) {
        int64_t ns = (want + n_tasks - 1) / n_tasks;
        int64_t max_ns = n_kv / MIN_SPLIT_KEYS;
        jb.n_split = ns < max_ns ? ns : max_ns;
    }
    jb.split_len = n_kv;
    if (jb.n_split > 1) {
        jb.split_len = (n_kv + jb.n_split - 1) / jb.n_split;
        jb.split_len = (jb.split_len + BK - 1) / BK * BK;
        jb.n_split = (n_kv + jb.split_len - 1) / jb.split_len;
    }
    /* deterministic: the split above depends on n_q and the threads, and a
     * query whose keys span two splits sums them in another order than
     * one; fixed splits of DET_SPLIT_KEYS rows make each query's partition
     * of its keys the same in every call (splits it sees nothing of add
     * nothing: merge_splits skips them) */
    if (a->deterministic) {
        jb.n_split = n_kv > DET_SPLIT_KEYS ? (n_kv + DET_SPLIT_KEYS - 1) / DET_SPLIT_KEYS : 1;
        jb.split_len = jb.n_split > 1 ? DET_SPLIT_KEYS : n_kv;
    }
    if (jb.n_split > 1) {
        int64_t need = n_tasks * jb.n_split * BR * (p->head_dim_v + 2);
        if (need > a->part_cap) {
            float *np = malloc((size_t)need * sizeof(float));
            if (!np) return fl_errorf(FLINT_E_NOMEM, "out of memory for attention partials");
            free(a->part);
            a->part = np;
            a->part_cap = need;
        }
    }
    if (jb.split_len == 0) jb.split_len = 1; /* n_kv == 0: one empty split, rows get zeros */
    fl_pool_run(pool, n_tasks * jb.n_split, attn_task, &jb);
    if (jb.n_split > 1) merge_splits(&jb);
    return FLINT_OK;
}
