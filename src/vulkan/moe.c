/* moe.c — a MoE layer's routing and experts on the device (backend.h's
 * moe_route, moe_matmul, moe_combine), so that a forward step needs no
 * host round trip in its MoE blocks.
 *
 * moe_route: shaders/moe_route.comp, a workgroup per token.
 * moe_matmul: the experts' weights are uploaded once each (matmul.c's
 * uploads, F32 rows for a type without a shader) and their addresses put
 * in a table in device memory, built once per matrix of a layer (the
 * model's views stay put: backend.h) and found again by the views; the
 * products run the dense shaders compiled with
 * MM_EXPERT (mm_vec_id_<type>, mm_tile_id_<type>: the same code, the
 * weight looked up per row or per expert). Decode (n <= 8 tokens, or every
 * n in deterministic mode, as matmul.c chooses): a matrix-vector product
 * per row (token, choice). Prefill: moe_group.comp lists each expert's rows
 * on the device, then one tiled dispatch over (weight-row tiles, experts):
 * each expert's weights are read once per 64 of its rows, and an expert
 * without rows exits at once.
 * moe_combine: shaders/moe_combine.comp, an invocation per output.
 *
 * Limits: at most 1024 experts (moe_group's and moe_route's shared
 * memory), 32 choices; each expert's matrix within one device allocation. */
#include <stdio.h>
#include <stdlib.h>

#include "base/checked.h"
#include "base/error.h"
#include "vulkan/vk.h"

#define MAX_EXPERTS 1024
#define MAX_CHOICES 32
#define VEC_MAX_N 8 /* tokens up to which the products run per row (matmul.c's VEC_MAX_N) */
#define VEC_ROWS 4  /* mm_vec's weight rows per workgroup */
#define TILE 64     /* mm_tile's weight rows per workgroup */

/* mm_weights.glsl's push constants with MM_EXPERT */
typedef struct moe_mm_push {
    fl_vk_mm_push mm;
    VkDeviceAddress table, ids, groups;
    uint32_t kc, per_choice, n_expert, row0;
} moe_mm_push;

typedef struct route_push {
    VkDeviceAddress p, ids, w, scale;
    uint32_t n, E, k;
} route_push;

typedef struct group_push {
    VkDeviceAddress ids, groups;
    uint32_t n, E;
} group_push;

typedef struct combine_push {
    VkDeviceAddress out, y, ids, w, shared, scale;
    uint32_t n, H, k;
} combine_push;

/* A matrix's expert table: [E][3] addresses of the weights, scales and
 * biases, uploaded once. Found by the views it was built from; their
 * first and last experts' data and the shape guard against an array
 * reused for other weights (tests do). The host copy stays allocated: it
 * is the upload's key. */
typedef struct fl_vk_moe_table {
    const fl_weight *ws;
    fl_weight first, last;
    int32_t n_expert;
    VkDeviceAddress *host, addr;
} fl_vk_moe_table;

static bool same_view(const fl_weight *a, const fl_weight *b) {
    return a->data == b->data && a->scales == b->scales && a->biases == b->biases && a->type == b->type &&
           a->m == b->m && a->k == b->k && a->row_bytes == b->row_bytes && a->group_size == b->group_size &&
           a->scale_type == b->scale_type;
}

void fl_vk_moe_free(fl_vk *vk) {
    for (int32_t i = 0; i < vk->n_moe_tables; i++) free(vk->moe_tables[i].host);
    free(vk->moe_tables);
}

/* The counts the shaders take: E experts, k choices, n tokens; rows = n k. */
static flint_status check_counts(const char *op, int64_t n, int32_t E, int32_t k, uint64_t *rows) {
    if (n < 0) return fl_errorf(FLINT_E_INVALID_ARG, "vulkan %s: negative token count %lld", op, (long long)n);
    if (E < 1 || E > MAX_EXPERTS)
        return fl_errorf(E < 1 ? FLINT_E_INVALID_ARG : FLINT_E_UNSUPPORTED,
                         "vulkan %s: %d experts (the shaders take 1 to %d)", op, (int)E, MAX_EXPERTS);
    if (k < 1 || k > E || k > MAX_CHOICES)
        return fl_errorf(k < 1 || k > E ? FLINT_E_INVALID_ARG : FLINT_E_UNSUPPORTED,
                         "vulkan %s: %d choices of %d experts (the shaders take 1 to %d)", op, (int)k, (int)E,
                         MAX_CHOICES);
    if (!fl_mul_u64((uint64_t)n, (uint64_t)k, rows) || *rows > UINT32_MAX)
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan %s: %lld tokens of %d choices are too many", op, (long long)n,
                         (int)k);
    return FLINT_OK;
}

flint_status fl_vk_moe_route(fl_backend *be, const float *p, int64_t n, int32_t n_expert, int32_t k,
                             const float *scale, int32_t *ids, float *w) {
    fl_vk *vk = fl_vk_of(be);
    uint64_t rows, pe;
    flint_status st = check_counts("moe_route", n, n_expert, k, &rows);
    if (st) return st;
    if (n > 0 && (!p || !ids || !w)) return fl_errorf(FLINT_E_INVALID_ARG, "vulkan moe_route: NULL p, ids or w");
    if (!fl_mul_u64((uint64_t)n, (uint64_t)n_expert, &pe) || pe > UINT32_MAX)
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan moe_route: %lld rows of %d experts are too many", (long long)n,
                         (int)n_expert);
    if (!n) return fl_vk_status(vk);
    route_push pc = {.p = fl_vk_read(vk, p, pe * sizeof(float)),
                     .scale = fl_vk_in(vk, scale, (uint64_t)n_expert * sizeof(float)),
                     .n = (uint32_t)n,
                     .E = (uint32_t)n_expert,
                     .k = (uint32_t)k};
    pc.ids = fl_vk_out(vk, ids, rows * sizeof *ids);
    pc.w = fl_vk_out(vk, w, rows * sizeof *w);
    if (!vk->err) fl_vk_run(vk, FL_VK_SHADER_moe_route, &pc, sizeof pc, (uint64_t)n, 1);
    return fl_vk_status(vk);
}

/* The experts' weights: valid, one type and shape, each within one upload. */
static flint_status check_experts(const fl_vk *vk, const fl_weight *ws, int32_t E) {
    if (!ws) return fl_errorf(FLINT_E_INVALID_ARG, "vulkan moe_matmul: NULL expert weights");
    for (int32_t e = 0; e < E; e++) {
        const fl_weight *w = &ws[e], *w0 = &ws[0];
        flint_status st = fl_vk_mm_check_weight(w);
        if (st) {
            char what[48];
            snprintf(what, sizeof what, "moe_matmul expert %d", (int)e);
            return fl_error_prefix(st, what);
        }
        if (w->type != w0->type || w->m != w0->m || w->k != w0->k || w->row_bytes != w0->row_bytes ||
            w->group_size != w0->group_size || w->scale_type != w0->scale_type || !w->biases != !w0->biases)
            return fl_errorf(FLINT_E_INVALID_ARG,
                             "vulkan moe_matmul: expert %d's weight differs from expert 0's in type or shape", (int)e);
        if (w->m > UINT32_MAX || fl_vk_mm_range_rows(vk, w) < w->m)
            return fl_errorf(FLINT_E_UNSUPPORTED,
                             "vulkan moe_matmul: an expert's %lld rows do not fit one device allocation",
                             (long long)w->m);
    }
    return FLINT_OK;
}

static bool table_of(const fl_vk_moe_table *t, const fl_weight *ws, int32_t E) {
    return t->ws == ws && t->n_expert == E && same_view(&t->first, &ws[0]) && same_view(&t->last, &ws[E - 1]);
}

static fl_vk_moe_table *find_table(fl_vk *vk, const fl_weight *ws, int32_t E) {
    for (int32_t i = 0; i < vk->n_moe_tables; i++)
        if (table_of(&vk->moe_tables[i], ws, E)) return &vk->moe_tables[i];
    return NULL;
}

/* Builds and uploads ws's expert table (ws checked); its device address,
 * 0 with vk->err set on failure. */
static VkDeviceAddress new_table(fl_vk *vk, const fl_weight *ws, int32_t E) {
    if (vk->n_moe_tables == vk->cap_moe_tables) {
        const int32_t cap = vk->cap_moe_tables ? 2 * vk->cap_moe_tables : 64;
        fl_vk_moe_table *t = realloc(vk->moe_tables, (size_t)cap * sizeof *t);
        if (!t) return vk->err = fl_errorf(FLINT_E_NOMEM, "out of memory"), 0;
        vk->moe_tables = t;
        vk->cap_moe_tables = cap;
    }
    const uint64_t bytes = (uint64_t)E * 3 * sizeof(VkDeviceAddress);
    VkDeviceAddress *host = malloc(bytes);
    if (!host) return vk->err = fl_errorf(FLINT_E_NOMEM, "vulkan moe_matmul: out of memory for %d experts", (int)E), 0;
    for (int32_t e = 0; e < E && !vk->err; e++)
        host[3 * e] = fl_vk_mm_range_addr(vk, &ws[e], 0, ws[0].m, &host[3 * e + 1], &host[3 * e + 2]);
    const VkDeviceAddress addr = vk->err ? 0 : fl_vk_in_as(vk, host, bytes, host, bytes);
    if (!addr) {
        free(host);
        return 0;
    }
    vk->moe_tables[vk->n_moe_tables++] =
        (fl_vk_moe_table){.ws = ws, .first = ws[0], .last = ws[E - 1], .n_expert = E, .host = host, .addr = addr};
    return addr;
}

flint_status fl_vk_moe_matmul(fl_backend *be, const fl_weight *ws, int32_t n_expert, const int32_t *ids, int64_t n,
                              int32_t k, bool x_per_choice, const float *x, float *y) {
    fl_vk *vk = fl_vk_of(be);
    uint64_t rows, xb, yb;
    flint_status st = check_counts("moe_matmul", n, n_expert, k, &rows);
    /* views with a table were checked when it was built */
    const fl_vk_moe_table *table = st || !ws ? NULL : find_table(vk, ws, n_expert);
    if (!st && !table) st = check_experts(vk, ws, n_expert);
    if (st) return st;
    const fl_weight *w0 = &ws[0];
    if (!fl_mul_u64(x_per_choice ? rows : (uint64_t)n, (uint64_t)w0->k * sizeof(float), &xb) ||
        !fl_mul_u64(rows, (uint64_t)w0->m * sizeof(float), &yb))
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan moe_matmul: %lld tokens are too many", (long long)n);
    if (n > 0 && w0->m > 0 && (!ids || !x || !y))
        return fl_errorf(FLINT_E_INVALID_ARG, "vulkan moe_matmul: NULL ids, x or y");
    if (!n || !w0->m) return fl_vk_status(vk);

    fl_vk_mm_kernels kn;
    const bool native = fl_vk_mm_kernels_of(w0->type, &kn);
    if (!native) fl_vk_mm_kernels_of(FLINT_TYPE_F32, &kn);
    moe_mm_push pc = {
        .mm = {.x = fl_vk_in(vk, x, xb), .y = fl_vk_out(vk, y, yb), .m = (uint32_t)w0->m, .k = (uint32_t)w0->k,
               .n = (uint32_t)rows, .ldy = (uint32_t)w0->m, .row_bytes = (uint32_t)fl_vk_mm_row_bytes(w0)},
        .table = table ? table->addr : new_table(vk, ws, n_expert),
        .ids = fl_vk_read(vk, ids, rows * sizeof *ids),
        .kc = (uint32_t)k,
        .per_choice = x_per_choice,
        .n_expert = (uint32_t)n_expert,
    };
    if (native && fl_weight_scale_row_bytes(w0)) {
        pc.mm.srow_bytes = (uint32_t)fl_weight_scale_row_bytes(w0);
        pc.mm.group = (uint32_t)w0->group_size;
        pc.mm.stype = (uint32_t)w0->scale_type;
    }
    if (vk->err) return fl_vk_status(vk);
    const bool vec = n <= VEC_MAX_N || vk->base.deterministic;
    uint32_t gx, gy;
    fl_vk_groups(vk, (uint64_t)w0->m, vec ? VEC_ROWS : TILE, &gx, &gy);
    if (vec) {
        /* a row (token, choice) per z, in slices of the device's z limit */
        const uint32_t max_z = vk->props.limits.maxComputeWorkGroupCount[2];
        for (uint64_t r0 = 0; r0 < rows; r0 += max_z) {
            pc.row0 = (uint32_t)r0;
            fl_vk_dispatch(vk, kn.vec_id, &pc, sizeof pc, gx, gy,
                           (uint32_t)(rows - r0 < max_z ? rows - r0 : max_z));
        }
    } else {
        /* counts[E], offsets[E], rows[n k], written by moe_group */
        group_push gp = {.ids = pc.ids, .n = (uint32_t)rows, .E = (uint32_t)n_expert};
        pc.groups = gp.groups = fl_vk_args(vk, NULL, (2 * (uint64_t)n_expert + rows) * sizeof(uint32_t));
        if (vk->err) return fl_vk_status(vk);
        fl_vk_dispatch(vk, FL_VK_SHADER_moe_group, &gp, sizeof gp, 1, 1, 1);
        fl_vk_dispatch(vk, kn.tile_id, &pc, sizeof pc, gx, gy, (uint32_t)n_expert);
    }
    fl_vk_submit(vk);
    return fl_vk_status(vk);
}

flint_status fl_vk_moe_combine(fl_backend *be, float *out, const float *y, const int32_t *ids, const float *w,
                               int64_t n, int32_t k, int64_t H, const float *shared, const float *scale) {
    fl_vk *vk = fl_vk_of(be);
    uint64_t rows, nh, yb;
    if (n < 0 || k < 1 || H < 1)
        return fl_errorf(FLINT_E_INVALID_ARG, "vulkan moe_combine: n=%lld, k=%d, H=%lld (need n >= 0, k >= 1, H >= 1)",
                         (long long)n, (int)k, (long long)H);
    if (!fl_mul_u64((uint64_t)n, (uint64_t)k, &rows) || !fl_mul_u64((uint64_t)n, (uint64_t)H, &nh) ||
        nh > UINT32_MAX || !fl_mul_u64(rows, (uint64_t)H * sizeof(float), &yb))
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan moe_combine: %lld tokens of %lld are too many", (long long)n,
                         (long long)H);
    if (n > 0 && (!out || !y || !ids || !w || (shared && !scale)))
        return fl_errorf(FLINT_E_INVALID_ARG, "vulkan moe_combine: NULL out, y, ids, w, or a shared expert's scale");
    if (!n) return fl_vk_status(vk);
    combine_push pc = {.y = fl_vk_read(vk, y, yb),
                       .ids = fl_vk_read(vk, ids, rows * sizeof *ids),
                       .w = fl_vk_read(vk, w, rows * sizeof *w),
                       .shared = fl_vk_read(vk, shared, nh * sizeof(float)),
                       .scale = shared ? fl_vk_read(vk, scale, (uint64_t)n * sizeof(float)) : 0,
                       .n = (uint32_t)n,
                       .H = (uint32_t)H,
                       .k = (uint32_t)k};
    pc.out = fl_vk_out(vk, out, nh * sizeof(float));
    if (!vk->err) fl_vk_run(vk, FL_VK_SHADER_moe_combine, &pc, sizeof pc, nh, 256);
    return fl_vk_status(vk);
}
