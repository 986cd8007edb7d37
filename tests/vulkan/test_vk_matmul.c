/* test_vk_matmul.c — the Vulkan matrix products against the CPU backend in
 * exact mode (f32 x against the reference dequantization, quant/dequant.h):
 * every type with a shader, at m, k and n around the kernels' sizes (the
 * decode kernel for n <= 8, the 64 x 64 tiles above), weights quantized
 * from random floats by the project's quantizers (random blocks with small
 * scales for Q4_1 and the types without an encoder; MLX codes, scales and
 * biases at random, every group size and scale type); types without a
 * shader through the F32 path; weights split into ranges of rows; a group
 * of jobs sharing x; y in host memory; deterministic mode; bad arguments.
 *
 * Tolerance: both sides sum the k products in f32 in different orders, so
 * |y - ref| <= TOL * sum_k |x_k w_k| (with the weights as dequantized):
 * the worst case of a 2304-term f32 sum is ~1.4e-4, its typical rounding
 * ~3e-6 (lavapipe passes at 1e-6); a wrong element, scale or layout gives
 * errors thousands of times larger. */
#include "vk_weights.h"
#include "vulkan/vk.h"

#define TOL 2e-5

/* Runs w . x on both backends (x random, y in backend memory) and compares. */
static void compare(vk_pair *p, const fl_weight *w, int64_t n, uint64_t seed) {
    float *x = vk_floats(p, n * w->k), *y = vk_floats(p, n * w->m), *ref = malloc((size_t)(n * w->m) * sizeof *ref);
    vk_fill(x, n * w->k, seed, -1, 1);
    for (int64_t i = 0; i < n * w->m; i++) y[i] = NAN;
    flint_status st = p->gpu->ops->matmul(p->gpu, w, x, y, n);
    CHECK_MSG(st == FLINT_OK, "%s: %s", flint_type_name(w->type), flint_errmsg());
    CHECK(p->cpu->ops->matmul(p->cpu, w, x, ref, n) == FLINT_OK);
    const double e = err_of(w, x, y, ref, n, TOL);
    CHECK_MSG(e <= 1.0, "%s m %lld k %lld n %lld (group %d, scales %s): error %.3g of the tolerance",
              flint_type_name(w->type), (long long)w->m, (long long)w->k, (long long)n, (int)w->group_size,
              w->group_size ? flint_type_name(w->scale_type) : "-", e);
    vk_release(p, x), vk_release(p, y);
    free(ref);
}

/* (m, index into the type's k values, n): every m, k and n of the brief,
 * decode and tiled, with and without partial tiles */
static const struct { int64_t m; int ki; int64_t n; } shapes[] = {
    {1, 0, 1}, {3, 1, 2}, {33, 2, 5}, {257, 0, 16}, {1000, 1, 1}, {33, 1, 64}, {257, 2, 67}, {1000, 2, 2}, {3, 0, 67},
};

static void test_types(vk_pair *p) {
    static const struct { flint_type t; int64_t k[3]; } types[] = {
        {FLINT_TYPE_F32, {37, 512, 2304}},  {FLINT_TYPE_F16, {32, 520, 768}},   {FLINT_TYPE_BF16, {40, 256, 2304}},
        {FLINT_TYPE_Q8_0, {32, 768, 2304}}, {FLINT_TYPE_Q4_0, {32, 768, 2304}}, {FLINT_TYPE_Q4_1, {32, 768, 2304}},
        {FLINT_TYPE_Q5_0, {32, 768, 2304}}, {FLINT_TYPE_Q5_1, {32, 768, 2304}}, {FLINT_TYPE_Q4_K, {256, 512, 2304}},
        {FLINT_TYPE_Q5_K, {256, 512, 2304}}, {FLINT_TYPE_Q6_K, {256, 512, 2304}}, {FLINT_TYPE_MLX_Q4, {256, 512, 768}},
        {FLINT_TYPE_MLX_Q8, {256, 512, 768}},
        /* no shader: dequantized once to F32 rows */
        {FLINT_TYPE_Q2_K, {256, 512, 768}}, {FLINT_TYPE_IQ4_NL, {32, 256, 768}},
    };
    static const int32_t groups[] = {32, 64, 128};
    static const flint_type stypes[] = {FLINT_TYPE_F16, FLINT_TYPE_BF16, FLINT_TYPE_F32};
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        TEST_GROUP(flint_type_name(types[ti].t));
        for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
            const uint64_t seed = 1000 * ti + si;
            const fl_weight *w = keep(make_weight(types[ti].t, shapes[si].m, types[ti].k[shapes[si].ki],
                                                  groups[si % 3], stypes[si / 3 % 3], seed));
            compare(p, w, shapes[si].n, seed);
        }
    }
}

/* A device whose largest allocation holds ~150 rows: weights in ranges. */
static void test_split(vk_pair *p) {
    TEST_GROUP("split");
    fl_vk *vk = fl_vk_of(p->gpu);
    const uint64_t max_alloc = vk->max_alloc;
    const fl_weight *q = keep(make_weight(FLINT_TYPE_Q4_0, 1000, 768, 0, 0, 1));
    const fl_weight *f = keep(make_weight(FLINT_TYPE_Q2_K, 300, 512, 0, 0, 2));
    const fl_weight *x = keep(make_weight(FLINT_TYPE_MLX_Q4, 500, 256, 64, FLINT_TYPE_BF16, 3));
    float *xs = vk_floats(p, 67 * 768), *y = vk_floats(p, 67 * 1000), *ref = malloc(67 * 1000 * sizeof *ref);
    vk_fill(xs, 67 * 768, 4, -1, 1);
    vk->max_alloc = 64 << 10; /* after the activations: the transient buffer is not needed with them */
    const fl_weight *ws[] = {q, f, x};
    for (int i = 0; i < 3; i++)
        for (int64_t n = 1; n <= 67; n += 66) {
            CHECK(p->gpu->ops->prepare_weight(p->gpu, (fl_weight *)ws[i]) == FLINT_OK);
            CHECK_MSG(p->gpu->ops->matmul(p->gpu, ws[i], xs, y, n) == FLINT_OK, "%s", flint_errmsg());
            CHECK(p->cpu->ops->matmul(p->cpu, ws[i], xs, ref, n) == FLINT_OK);
            const double e = err_of(ws[i], xs, y, ref, n, TOL);
            CHECK_MSG(e <= 1.0, "%s in ranges, n %lld: error %.3g", flint_type_name(ws[i]->type), (long long)n, e);
        }
    vk->max_alloc = max_alloc;
    vk_release(p, xs), vk_release(p, y);
    free(ref);
}

/* More weight rows than a dispatch's x dimension takes on most devices
 * (65535): the decode kernel's workgroups spill into y (fl_vk_groups). */
static void test_wide(vk_pair *p) {
    TEST_GROUP("wide");
    const fl_weight *w = keep(make_weight(FLINT_TYPE_Q8_0, 70000, 32, 0, 0, 5));
    compare(p, w, 1, 6);
    compare(p, w, 3, 7);
}

/* q, k, v-like jobs of three types sharing x, in one group, against the
 * CPU's products one by one. */
static void test_group(vk_pair *p) {
    TEST_GROUP("group");
    const fl_weight *ws[] = {keep(make_weight(FLINT_TYPE_Q4_K, 33, 512, 0, 0, 11)),
                             keep(make_weight(FLINT_TYPE_Q8_0, 257, 512, 0, 0, 12)),
                             keep(make_weight(FLINT_TYPE_MLX_Q8, 100, 512, 128, FLINT_TYPE_F16, 13))};
    for (int64_t n = 5; n <= 16; n += 11) {
        float *x = vk_floats(p, n * 512), *ys[3], *ref = malloc((size_t)(n * 257) * sizeof *ref);
        vk_fill(x, n * 512, 14 + n, -1, 1);
        fl_matmul_job jobs[3];
        for (int i = 0; i < 3; i++) {
            ys[i] = vk_floats(p, n * ws[i]->m);
            jobs[i] = (fl_matmul_job){.w = ws[i], .x = x, .y = ys[i], .n = n};
        }
        CHECK_MSG(p->gpu->ops->matmul_group(p->gpu, jobs, 3) == FLINT_OK, "%s", flint_errmsg());
        for (int i = 0; i < 3; i++) {
            CHECK(p->cpu->ops->matmul(p->cpu, ws[i], x, ref, n) == FLINT_OK);
            const double e = err_of(ws[i], x, ys[i], ref, n, TOL);
            CHECK_MSG(e <= 1.0, "job %d (%s) n %lld: error %.3g", i, flint_type_name(ws[i]->type), (long long)n, e);
            vk_release(p, ys[i]);
        }
        vk_release(p, x);
        free(ref);
    }
}

/* y in malloc'd memory (the logits), decode and prefill. */
static void test_host_output(vk_pair *p) {
    TEST_GROUP("host output");
    const fl_weight *w = keep(make_weight(FLINT_TYPE_Q6_K, 1000, 512, 0, 0, 21));
    for (int64_t n = 1; n <= 16; n += 15) {
        float *x = vk_floats(p, n * 512), *y = malloc((size_t)(n * 1000) * sizeof *y), *ref = malloc((size_t)(n * 1000) * sizeof *ref);
        vk_fill(x, n * 512, 22, -1, 1);
        CHECK_MSG(p->gpu->ops->matmul(p->gpu, w, x, y, n) == FLINT_OK, "%s", flint_errmsg());
        CHECK(p->cpu->ops->matmul(p->cpu, w, x, ref, n) == FLINT_OK);
        const double e = err_of(w, x, y, ref, n, TOL);
        CHECK_MSG(e <= 1.0, "into host memory, n %lld: error %.3g", (long long)n, e);
        vk_release(p, x);
        free(y), free(ref);
    }
}

/* Deterministic mode: the decode kernel for every n, so row c of a
 * 16-row product equals the product of row c alone, bit for bit. */
static void test_deterministic(vk_pair *p) {
    TEST_GROUP("deterministic");
    const fl_weight *w = keep(make_weight(FLINT_TYPE_Q4_K, 257, 512, 0, 0, 31));
    float *x = vk_floats(p, 16 * 512), *y = vk_floats(p, 16 * 257), *y1 = vk_floats(p, 257);
    float *ref = malloc(16 * 257 * sizeof *ref);
    vk_fill(x, 16 * 512, 32, -1, 1);
    p->gpu->deterministic = true;
    CHECK(p->gpu->ops->matmul(p->gpu, w, x, y, 16) == FLINT_OK);
    CHECK(p->gpu->ops->matmul(p->gpu, w, x + 9 * 512, y1, 1) == FLINT_OK);
    p->gpu->deterministic = false;
    CHECK(p->cpu->ops->matmul(p->cpu, w, x, ref, 16) == FLINT_OK);
    CHECK(err_of(w, x, y, ref, 16, TOL) <= 1.0);
    CHECK_MSG(memcmp(y + 9 * 257, y1, 257 * sizeof *y1) == 0, "%s", "row 9 of n = 16 differs from n = 1");
    vk_release(p, x), vk_release(p, y), vk_release(p, y1);
    free(ref);
}

/* Bad jobs fail before anything runs: every y keeps its contents. */
static void test_errors(vk_pair *p) {
    TEST_GROUP("errors");
    const fl_weight *good = keep(make_weight(FLINT_TYPE_Q8_0, 33, 64, 0, 0, 41));
    wbuf bad = make_weight(FLINT_TYPE_Q4_0, 33, 64, 0, 0, 42);
    float *x = vk_floats(p, 2 * 64), *y0 = vk_floats(p, 2 * 33), *y1 = vk_floats(p, 2 * 33);
    for (int i = 0; i < 2 * 33; i++) y0[i] = y1[i] = 7;
    fl_matmul_job jobs[2] = {{.w = good, .x = x, .y = y0, .n = 2}, {.w = &bad.w, .x = x, .y = y1, .n = 2}};
    fl_backend *g = p->gpu;

    jobs[1].w = NULL;
    CHECK_FAILS(g->ops->matmul_group(g, jobs, 2), FLINT_E_INVALID_ARG, "job 1");
    jobs[1].w = &bad.w;
    jobs[1].n = -1;
    CHECK_FAILS(g->ops->matmul_group(g, jobs, 2), FLINT_E_INVALID_ARG, "negative n");
    jobs[1].n = 2;
    jobs[1].x = NULL;
    CHECK_FAILS(g->ops->matmul_group(g, jobs, 2), FLINT_E_INVALID_ARG, "NULL x");
    jobs[1].x = x;
    bad.w.k = 48; /* not whole blocks */
    CHECK_FAILS(g->ops->matmul_group(g, jobs, 2), FLINT_E_INVALID_ARG, "block size");
    bad.w.k = 64;
    bad.w.row_bytes = 20;
    CHECK_FAILS(g->ops->matmul_group(g, jobs, 2), FLINT_E_INVALID_ARG, "row_bytes");
    bad.w.row_bytes = 36;
    bad.w.k = 1ll << 31, bad.w.row_bytes = (1ull << 31) / 32 * 18; /* rows past the shaders' 32-bit sizes */
    CHECK_FAILS(g->ops->matmul_group(g, jobs, 2), FLINT_E_UNSUPPORTED, "too long");
    bad.w.k = 64, bad.w.row_bytes = 36;
    /* a type nothing reads */
    flint_type none = FLINT_TYPE_COUNT;
    for (int t = 0; t < FLINT_TYPE_COUNT && none == FLINT_TYPE_COUNT; t++) {
        const fl_type_info *ti = fl_type_get((flint_type)t);
        if (ti && !ti->can_dequant && fl_mlx_mode_of((flint_type)t) == FL_MLX_NONE) none = (flint_type)t;
    }
    if (none != FLINT_TYPE_COUNT) {
        bad.w.type = none;
        CHECK_FAILS(g->ops->matmul_group(g, jobs, 2), FLINT_E_UNSUPPORTED, "not supported");
        bad.w.type = FLINT_TYPE_Q4_0;
    }
    bad.w.type = FLINT_TYPE_MLX_Q4;
    bad.w.group_size = 48;
    bad.w.scale_type = FLINT_TYPE_F16;
    flint_status st = g->ops->matmul_group(g, jobs, 2);
    CHECK_MSG(st != FLINT_OK && strstr(flint_errmsg(), "job 1"), "%s", flint_errmsg());
    bad.w.type = FLINT_TYPE_Q4_0;
    CHECK_FAILS(g->ops->matmul_group(g, NULL, 1), FLINT_E_INVALID_ARG, "NULL jobs");
    int untouched = 1;
    for (int i = 0; i < 2 * 33; i++) untouched &= y0[i] == 7 && y1[i] == 7;
    CHECK_MSG(untouched, "%s", "a failed group wrote a y");
    /* n = 0 does nothing, as on the CPU */
    jobs[0].n = jobs[1].n = 0;
    CHECK(g->ops->matmul_group(g, jobs, 2) == FLINT_OK);
    CHECK(y0[0] == 7);
    vk_release(p, x), vk_release(p, y0), vk_release(p, y1);
    free(bad.data);
}

int main(void) {
    vk_pair p = vk_pair_open();
    test_types(&p);
    test_split(&p);
    test_wide(&p);
    test_group(&p);
    test_host_output(&p);
    test_deterministic(&p);
    test_errors(&p);
    vk_pair_close(&p);
    for (int i = 0; i < n_kept; i++) free(kept[i].data), free(kept[i].scales), free(kept[i].biases);
    return test_finish("test_vk_matmul");
}
