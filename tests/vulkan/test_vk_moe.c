/* test_vk_moe.c — the Vulkan MoE ops (backend.h's moe_route, moe_matmul,
 * moe_combine) against references written here from their contracts and
 * the CPU backend's matmul:
 * - route: the k largest of each row, ties to the lower index (by a
 *   stable sort here, not the host's insertion), on values drawn from a
 *   few levels so that ties are everywhere; E = 8..256, k = 1..8,
 *   n = 1..70, with and without per-expert scales;
 * - expert products: every type with a shader and one without (Q2_K, run
 *   as F32 rows), against the CPU's matmul of each row's own expert (exact
 *   mode), n = 1, 3, 64, 130 tokens (per-row decode kernel and the grouped
 *   tiles), x per token and per choice, two experts never chosen and one
 *   expert taking every row;
 * - combine: a host loop in ascending expert order, with and without a
 *   shared expert;
 * - bad arguments: refused with the right status, nothing run. */
#include "vk_weights.h"

#define TOL 2e-5 /* test_vk_matmul.c's bound on a product */
#define E_MM 8   /* experts of the product tests */

/* ---- route ---- */

typedef struct ranked {
    float v;
    int32_t e;
} ranked;

static int by_value_then_index(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->v != y->v) return x->v > y->v ? -1 : 1;
    return x->e < y->e ? -1 : x->e > y->e;
}

static void route_ref(const float *p, int32_t E, int32_t k, const float *scale, int32_t *ids, float *w) {
    ranked r[256];
    for (int32_t e = 0; e < E; e++) r[e] = (ranked){p[e], e};
    qsort(r, (size_t)E, sizeof *r, by_value_then_index);
    float sum = 0;
    for (int32_t j = 0; j < k; j++) sum += r[j].v;
    for (int32_t j = 0; j < k; j++) {
        ids[j] = r[j].e;
        w[j] = r[j].v / sum * (scale ? scale[r[j].e] : 1.0f);
    }
}

/* Per-expert scales: a weight (the device keeps it by host address), so
 * one array for the whole test. */
static float route_scale[256];

static void check_route(vk_pair *p, int32_t E, int32_t k, int32_t n, int with_scale, uint64_t seed) {
    float *probs = vk_floats(p, (int64_t)n * E), *w = vk_floats(p, (int64_t)n * k);
    int32_t *ids = (int32_t *)vk_floats(p, (int64_t)n * k);
    const float *scale = with_scale ? route_scale : NULL;
    float ref_w[8];
    int32_t ref_ids[8];
    uint64_t s = seed;
    /* few levels: most rows tie at their top */
    for (int64_t i = 0; i < (int64_t)n * E; i++) probs[i] = (float)(int)vk_rand(&s, 0, 6) / 6.0f + 0.01f;
    flint_status st = p->gpu->ops->moe_route(p->gpu, probs, n, E, k, scale, ids, w);
    CHECK_MSG(st == FLINT_OK, "route E %d k %d n %d: %s", E, k, n, flint_errmsg());
    int bad_ids = 0;
    double werr = 0;
    for (int32_t t = 0; t < n; t++) {
        route_ref(probs + (int64_t)t * E, E, k, scale, ref_ids, ref_w);
        bad_ids += memcmp(ref_ids, ids + t * k, (size_t)k * sizeof *ids) != 0;
        double e = vk_err(w + t * k, ref_w, k, 0, 1e-6);
        if (e > werr) werr = e;
    }
    CHECK_MSG(bad_ids == 0, "route E %d k %d n %d%s: %d tokens chose other experts", E, k, n,
              with_scale ? " (scaled)" : "", bad_ids);
    CHECK_MSG(werr <= 1.0, "route E %d k %d n %d%s: weights off by %.3g of 1e-6", E, k, n,
              with_scale ? " (scaled)" : "", werr);
    vk_release(p, probs), vk_release(p, w), vk_release(p, ids);
}

/* ---- expert products ---- */

/* Each token's k distinct experts among the first E_MM - 2 (the last two
 * never chosen), in random order; every = e >= 0: e is each token's first. */
static void pick_experts(int32_t *ids, int32_t n, int32_t k, int32_t every, uint64_t seed) {
    uint64_t s = seed;
    for (int32_t t = 0; t < n; t++)
        for (int32_t j = 0; j < k; j++) {
            int32_t e, dup;
            do {
                e = j == 0 && every >= 0 ? every : (int32_t)vk_rand(&s, 0, E_MM - 2);
                dup = 0;
                for (int32_t i = 0; i < j; i++) dup |= ids[t * k + i] == e;
            } while (dup);
            ids[t * k + j] = e;
        }
}

/* y[r] = W[ids[r]] . x[per_choice ? r : r / k] on the device, against the
 * CPU backend's product of each row with its expert. */
static void check_products(vk_pair *p, const fl_weight *ws, int32_t n, int32_t k, int per_choice, int32_t every,
                           uint64_t seed) {
    const int64_t m = ws[0].m, K = ws[0].k, rows = (int64_t)n * k, nx = per_choice ? rows : n;
    float *x = vk_floats(p, nx * K), *y = vk_floats(p, rows * m), *ref = malloc((size_t)(m * sizeof(float)));
    int32_t *ids = (int32_t *)vk_floats(p, rows);
    vk_fill(x, nx * K, seed, -1, 1);
    pick_experts(ids, n, k, every, seed + 1);
    for (int64_t i = 0; i < rows * m; i++) y[i] = NAN;
    flint_status st = p->gpu->ops->moe_matmul(p->gpu, ws, E_MM, ids, n, k, per_choice, x, y);
    CHECK_MSG(st == FLINT_OK, "%s n %d: %s", flint_type_name(ws[0].type), n, flint_errmsg());
    double worst = 0;
    for (int64_t r = 0; r < rows && !st; r++) {
        const fl_weight *w = &ws[ids[r]];
        const float *xr = x + (per_choice ? r : r / k) * K;
        CHECK(p->cpu->ops->matmul(p->cpu, w, xr, ref, 1) == FLINT_OK);
        const double e = err_of(w, xr, y + r * m, ref, 1, TOL);
        if (e > worst) worst = e;
    }
    CHECK_MSG(worst <= 1.0, "%s m %lld k %lld: n %d, %d choices, x per %s%s: error %.3g of the tolerance",
              flint_type_name(ws[0].type), (long long)m, (long long)K, n, k, per_choice ? "choice" : "token",
              every >= 0 ? ", one expert in every token" : "", worst);
    vk_release(p, x), vk_release(p, y), vk_release(p, ids);
    free(ref);
}

/* E_MM experts of type t as views into one stacked matrix (as a GGUF's
 * experts are), m rows of k each. */
static void stacked_experts(flint_type t, int64_t m, int64_t k, int32_t g, flint_type st, uint64_t seed,
                            fl_weight ws[E_MM]) {
    const fl_weight *all = keep(make_weight(t, m * E_MM, k, g, st, seed));
    for (int32_t e = 0; e < E_MM; e++) {
        ws[e] = *all;
        fl_weight_skip_rows(&ws[e], (int64_t)e * m);
        ws[e].m = m;
    }
}

static void check_types(vk_pair *p) {
    static const struct {
        flint_type t;
        int32_t g;
        flint_type st;
    } types[] = {
        {FLINT_TYPE_F32, 0, 0},         {FLINT_TYPE_F16, 0, 0},   {FLINT_TYPE_BF16, 0, 0},
        {FLINT_TYPE_Q8_0, 0, 0},        {FLINT_TYPE_Q4_0, 0, 0},  {FLINT_TYPE_Q4_1, 0, 0},
        {FLINT_TYPE_Q5_0, 0, 0},        {FLINT_TYPE_Q5_1, 0, 0},  {FLINT_TYPE_Q4_K, 0, 0},
        {FLINT_TYPE_Q5_K, 0, 0},        {FLINT_TYPE_Q6_K, 0, 0},  {FLINT_TYPE_MLX_Q4, 64, FLINT_TYPE_F16},
        {FLINT_TYPE_MLX_Q8, 32, FLINT_TYPE_BF16}, {FLINT_TYPE_Q2_K, 0, 0}, /* no shader: F32 rows */
    };
    static const int32_t ns[] = {1, 3, 64, 130};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        fl_weight ws[E_MM];
        stacked_experts(types[i].t, 70, 256, types[i].g, types[i].st, 100 + i, ws);
        for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++) {
            check_products(p, ws, ns[j], 2, 0, -1, 10 * i + j);
            check_products(p, ws, ns[j], 3, 1, -1, 20 * i + j);
        }
        /* one expert takes every row */
        check_products(p, ws, 130, 1, 0, 5, 30 + i);
        check_products(p, ws, 64, 2, 1, 3, 40 + i);
    }
}

/* The expert table is built once per views array and found again; the
 * same array with other experts in it (its first and last swapped) gets
 * a new one, and the products follow the views. */
static void check_table_reuse(vk_pair *p) {
    fl_weight ws[E_MM];
    stacked_experts(FLINT_TYPE_Q4_0, 32, 64, 0, 0, 77, ws);
    const int32_t t0 = fl_vk_backend_moe_tables(p->gpu);
    check_products(p, ws, 1, 2, 0, -1, 501);
    check_products(p, ws, 3, 2, 1, -1, 502);
    check_products(p, ws, 70, 2, 0, -1, 503);
    CHECK_MSG(fl_vk_backend_moe_tables(p->gpu) == t0 + 1, "%d tables for one views array, 3 calls",
              fl_vk_backend_moe_tables(p->gpu) - t0);
    const fl_weight first = ws[0];
    ws[0] = ws[E_MM - 1], ws[E_MM - 1] = first;
    check_products(p, ws, 1, 2, 0, -1, 504);
    check_products(p, ws, 70, 2, 0, -1, 505);
    CHECK_MSG(fl_vk_backend_moe_tables(p->gpu) == t0 + 2, "%d tables after the views changed",
              fl_vk_backend_moe_tables(p->gpu) - t0);
}

/* ---- combine ---- */

static void check_combine(vk_pair *p, int32_t n, int32_t k, int with_shared, uint64_t seed) {
    const int64_t H = 100;
    float *out = vk_floats(p, n * H), *y = vk_floats(p, (int64_t)n * k * H), *w = vk_floats(p, (int64_t)n * k);
    float *sh = with_shared ? vk_floats(p, n * H) : NULL, *scale = with_shared ? vk_floats(p, n) : NULL;
    int32_t *ids = (int32_t *)vk_floats(p, (int64_t)n * k);
    float *ref = malloc((size_t)(n * H) * sizeof *ref);
    vk_fill(y, (int64_t)n * k * H, seed, -2, 2);
    vk_fill(w, (int64_t)n * k, seed + 1, 0, 1);
    if (with_shared) vk_fill(sh, n * H, seed + 2, -2, 2), vk_fill(scale, n, seed + 3, 0, 1);
    for (int32_t t = 0; t < n; t++) /* distinct, unsorted */
        for (int32_t j = 0; j < k; j++) ids[t * k + j] = (t * 7 + (k - 1 - j) * 9) % 64;
    for (int32_t t = 0; t < n; t++) {
        for (int64_t i = 0; i < H; i++) {
            float o = 0;
            for (int32_t e = 0; e < 64; e++) /* ascending experts */
                for (int32_t j = 0; j < k; j++)
                    if (ids[t * k + j] == e) {
                        const float pr = w[t * k + j] * y[((int64_t)t * k + j) * H + i];
                        o += pr;
                    }
            if (with_shared) {
                const float pr = scale[t] * sh[t * H + i];
                o += pr;
            }
            ref[t * H + i] = o;
        }
    }
    flint_status st = p->gpu->ops->moe_combine(p->gpu, out, y, ids, w, n, k, H, sh, scale);
    CHECK_MSG(st == FLINT_OK, "combine: %s", flint_errmsg());
    CHECK_CLOSE(out, ref, n * H, 1e-6, 1e-6, "combine n %d k %d%s", n, k, with_shared ? " with a shared expert" : "");
    vk_release(p, out), vk_release(p, y), vk_release(p, w), vk_release(p, ids);
    if (with_shared) vk_release(p, sh), vk_release(p, scale);
    free(ref);
}

/* ---- bad arguments ---- */

static void check_errors(vk_pair *p) {
    fl_backend *g = p->gpu;
    const fl_backend_ops *op = g->ops;
    float *f = vk_floats(p, 4096), *y = vk_floats(p, 4096);
    int32_t *ids = (int32_t *)vk_floats(p, 64);
    CHECK_FAILS(op->moe_route(g, f, 1, 0, 1, NULL, ids, y), FLINT_E_INVALID_ARG, "0 experts");
    CHECK_FAILS(op->moe_route(g, f, 1, 2000, 1, NULL, ids, y), FLINT_E_UNSUPPORTED, "2000 experts");
    CHECK_FAILS(op->moe_route(g, f, 1, 8, 9, NULL, ids, y), FLINT_E_INVALID_ARG, "9 choices of 8");
    CHECK_FAILS(op->moe_route(g, f, 1, 64, 33, NULL, ids, y), FLINT_E_UNSUPPORTED, "33 choices");
    CHECK_FAILS(op->moe_route(g, f, 1, 8, 0, NULL, ids, y), FLINT_E_INVALID_ARG, "0 choices");
    CHECK_FAILS(op->moe_route(g, f, -1, 8, 2, NULL, ids, y), FLINT_E_INVALID_ARG, "negative token count");
    CHECK_FAILS(op->moe_route(g, f, 1, 8, 2, NULL, NULL, y), FLINT_E_INVALID_ARG, "NULL p, ids or w");

    fl_weight ws[E_MM];
    stacked_experts(FLINT_TYPE_Q8_0, 16, 64, 0, 0, 7, ws);
    for (int i = 0; i < 8; i++) ids[i] = i % E_MM;
    CHECK_FAILS(op->moe_matmul(g, NULL, E_MM, ids, 1, 2, false, f, y), FLINT_E_INVALID_ARG, "NULL expert weights");
    CHECK_FAILS(op->moe_matmul(g, ws, E_MM, NULL, 1, 2, false, f, y), FLINT_E_INVALID_ARG, "NULL ids, x or y");
    CHECK_FAILS(op->moe_matmul(g, ws, E_MM, ids, 1, 0, false, f, y), FLINT_E_INVALID_ARG, "0 choices");
    fl_weight odd = ws[3];
    ws[3].m = 15;
    CHECK_FAILS(op->moe_matmul(g, ws, E_MM, ids, 1, 2, false, f, y), FLINT_E_INVALID_ARG,
                "expert 3's weight differs from expert 0's");
    ws[3] = odd;
    ws[5].k = 0;
    CHECK_FAILS(op->moe_matmul(g, ws, E_MM, ids, 1, 2, false, f, y), FLINT_E_INVALID_ARG, "moe_matmul expert 5");
    ws[5] = odd;
    /* nothing was written by the refused calls */
    for (int i = 0; i < 4096; i++) y[i] = 7;
    CHECK_FAILS(op->moe_matmul(g, ws, E_MM, ids, 1, 2, false, f, NULL), FLINT_E_INVALID_ARG, "NULL ids, x or y");
    CHECK_FAILS(op->moe_combine(g, y, f, ids, f, 1, 0, 16, NULL, NULL), FLINT_E_INVALID_ARG, "k=0");
    CHECK_FAILS(op->moe_combine(g, y, f, ids, f, 1, 2, 0, NULL, NULL), FLINT_E_INVALID_ARG, "H=0");
    CHECK_FAILS(op->moe_combine(g, y, f, ids, f, 1, 2, 16, f, NULL), FLINT_E_INVALID_ARG, "shared expert's scale");
    CHECK_FAILS(op->moe_combine(g, y, NULL, ids, f, 1, 2, 16, NULL, NULL), FLINT_E_INVALID_ARG, "NULL out, y");
    int untouched = 1;
    for (int i = 0; i < 4096; i++) untouched &= y[i] == 7;
    CHECK_MSG(untouched, "%s", "a refused call wrote its output");
    /* the CPU backend has none of the ops: its models route on the host */
    CHECK(!p->cpu->ops->moe_route && !p->cpu->ops->moe_matmul && !p->cpu->ops->moe_combine);
    vk_release(p, f), vk_release(p, y), vk_release(p, ids);
}

int main(void) {
    vk_pair p = vk_pair_open();
    TEST_GROUP("route");
    static const int32_t Es[] = {8, 33, 128, 256}, ks[] = {1, 2, 5, 8}, ns[] = {1, 17, 70};
    uint64_t seed = 1;
    vk_fill(route_scale, 256, 99, 0.5f, 2.0f);
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 4; b++)
            for (size_t c = 0; c < 3; c++)
                if (ks[b] <= Es[a]) check_route(&p, Es[a], ks[b], ns[c], (int)((a + b + c) % 2), seed++);
    TEST_GROUP("expert products");
    check_types(&p);
    check_table_reuse(&p);
    TEST_GROUP("combine");
    for (int32_t k = 1; k <= 8; k *= 2)
        for (int32_t n = 1; n <= 33; n += 16) {
            check_combine(&p, n, k, 0, (uint64_t)(n * 10 + k));
            check_combine(&p, n, k, 1, (uint64_t)(n * 10 + k + 5));
        }
    TEST_GROUP("bad arguments");
    check_errors(&p);
    vk_pair_close(&p);
    return test_finish("test_vk_moe");
}
