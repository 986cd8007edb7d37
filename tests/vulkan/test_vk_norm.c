/* test_vk_norm.c — RMSNorm, RoPE and softmax on the device against the CPU
 * backend. Tolerances: RMSNorm 1e-5 relative (the CPU sums squares in f64,
 * the shader in f32 over a tree); RoPE 2e-6 absolute on values within
 * [-2, 2] (the same f32 angles; the shader's sin/cos agree with libm's to
 * about 1.3e-7); softmax 1e-5 relative (the CPU sums a row in order in f32,
 * about 1.5e-6 off over 262144 entries; the shader sums over a tree). */
#include "vk_harness.h"

static void test_rmsnorm(vk_pair *p) {
    static const int64_t dims[] = {1, 7, 64, 257, 2048, 5120};
    for (size_t di = 0; di < sizeof dims / sizeof *dims; di++) {
        const int64_t dim = dims[di], rows = dim > 1000 ? 3 : 5, n = rows * dim;
        float *x = vk_floats(p, n), *y = vk_floats(p, n), *w = vk_floats(p, dim), *ref = malloc(n * sizeof *ref);
        vk_fill(x, n, 10 + di, -3, 3);
        vk_fill(w, dim, 20 + di, -2, 2);
        const float eps[] = {1e-6f, 1e-5f, 0.5f};
        for (int e = 0; e < 3; e++)
            for (int with_w = 0; with_w < 2; with_w++) {
                TEST_GROUP("rmsnorm");
                const float *wp = with_w ? w : NULL;
                p->gpu->ops->rmsnorm(p->gpu, y, x, wp, rows, dim, eps[e]);
                p->cpu->ops->rmsnorm(p->cpu, ref, x, wp, rows, dim, eps[e]);
                CHECK_CLOSE(y, ref, n, 1e-6, 1e-5, "dim %lld eps %g w %d", (long long)dim, eps[e], with_w);
            }
        TEST_GROUP("rmsnorm in place");
        memcpy(ref, x, n * sizeof *ref);
        p->gpu->ops->rmsnorm(p->gpu, x, x, w, rows, dim, 1e-6f);
        p->cpu->ops->rmsnorm(p->cpu, ref, ref, w, rows, dim, 1e-6f);
        CHECK_CLOSE(x, ref, n, 1e-6, 1e-5, "dim %lld", (long long)dim);
        vk_release(p, x), vk_release(p, y), vk_release(p, w);
        free(ref);
    }
    TEST_GROUP("rmsnorm uploaded weight");
    static float w_host[300]; /* not backend memory: uploaded once, as model weights are */
    vk_fill(w_host, 300, 33, 0.5f, 1.5f);
    float *x = vk_floats(p, 600), *y = vk_floats(p, 600), ref[600];
    vk_fill(x, 600, 34, -1, 1);
    p->gpu->ops->rmsnorm(p->gpu, y, x, w_host, 2, 300, 1e-6f);
    p->cpu->ops->rmsnorm(p->cpu, ref, x, w_host, 2, 300, 1e-6f);
    CHECK_CLOSE(y, ref, 600, 1e-6, 1e-5, "%s", "dim 300");
    vk_release(p, x), vk_release(p, y);
    TEST_GROUP("rmsnorm many rows");
    { /* per-head norms: n_tok x n_head rows, past one dimension of workgroups */
        const int64_t rows = 70001, dim = 16;
        float *xr = vk_floats(p, rows * dim), *yr = vk_floats(p, rows * dim), *rr = malloc(rows * dim * sizeof *rr);
        float *wr = vk_floats(p, dim);
        vk_fill(xr, rows * dim, 35, -2, 2);
        vk_fill(wr, dim, 36, 0, 2);
        p->gpu->ops->rmsnorm(p->gpu, yr, xr, wr, rows, dim, 1e-6f);
        p->cpu->ops->rmsnorm(p->cpu, rr, xr, wr, rows, dim, 1e-6f);
        CHECK_CLOSE(yr, rr, rows * dim, 1e-6, 1e-5, "%lld rows", (long long)rows);
        vk_release(p, xr), vk_release(p, yr), vk_release(p, wr);
        free(rr);
    }
    TEST_GROUP("rmsnorm all zero");
    float *z = vk_floats(p, 300);
    p->gpu->ops->rmsnorm(p->gpu, z, z, NULL, 1, 300, 1e-6f);
    float zero[300] = {0};
    CHECK_CLOSE(z, zero, 300, 0, 0, "%s", "zeros stay zeros");
    vk_release(p, z);
}

typedef struct rope_case {
    int32_t head_dim, n_rot, exp_dims, n_head;
    float base, freq_scale;
    bool factors;
    int32_t pos0; /* positions pos0, pos0 + 7, ... */
} rope_case;

static const rope_case rope_cases[] = {
    {64, 64, 0, 4, 10000, 0, false, 0},
    {128, 128, 0, 3, 1e6f, 0, false, 100000},
    {128, 64, 0, 2, 10000, 0.25f, false, 37},    /* partial rotary, linear scaling */
    {256, 256, 0, 2, 1e6f, 1, false, 262000},    /* near the longest contexts */
    {256, 64, 256, 2, 1e6f, 0, false, 5000},     /* Gemma 4 proportional: exp_dims = head_dim */
    {512, 128, 512, 1, 1e6f, 0, true, 100000},   /* ... with freq_factors, 1e30 past the rotated ones */
    {512, 512, 512, 2, 1e6f, 0, true, 100000},   /* Gemma 4 global layers as its GGUF writes them */
    {512, 512, 0, 1, 10000, 0, true, 12},
    {128, 96, 0, 2, 500000, 0.5f, true, 99999},
};

static void test_rope(vk_pair *p) {
    for (size_t ci = 0; ci < sizeof rope_cases / sizeof *rope_cases; ci++) {
        const rope_case *c = &rope_cases[ci];
        const int64_t n_tok = 6, n = n_tok * c->n_head * c->head_dim;
        float *x = vk_floats(p, n), *ref = malloc(n * sizeof *ref), *ff = malloc(c->n_rot / 2 * sizeof *ff);
        int32_t *pos = malloc(n_tok * sizeof *pos); /* host memory, new every call */
        for (int64_t t = 0; t < n_tok; t++) pos[t] = c->pos0 + 7 * (int32_t)t;
        for (int32_t i = 0; i < c->n_rot / 2; i++) ff[i] = 1.0f + 0.25f * (float)(i % 5); /* llama3-like divisors */
        if (c->factors && c->exp_dims) /* Gemma 4 GGUF: pairs past the rotated quarter get 1e30 */
            for (int32_t i = c->n_rot / 8; i < c->n_rot / 2; i++) ff[i] = 1e30f;
        vk_fill(x, n, 40 + ci, -2, 2);
        memcpy(ref, x, n * sizeof *ref);
        const fl_rope_params rp = {.n_rot = c->n_rot, .exp_dims = c->exp_dims, .base = c->base,
                                   .freq_scale = c->freq_scale, .freq_factors = c->factors ? ff : NULL};
        TEST_GROUP("rope");
        p->gpu->ops->rope(p->gpu, x, pos, n_tok, c->n_head, c->head_dim, &rp);
        p->cpu->ops->rope(p->cpu, ref, pos, n_tok, c->n_head, c->head_dim, &rp);
        CHECK_CLOSE(x, ref, n, 2e-6, 0, "head_dim %d n_rot %d exp_dims %d pos0 %d", c->head_dim, c->n_rot,
                    c->exp_dims, c->pos0);
        /* again at other positions: the positions are not cached */
        for (int64_t t = 0; t < n_tok; t++) pos[t] += 1000;
        p->gpu->ops->rope(p->gpu, x, pos, n_tok, c->n_head, c->head_dim, &rp);
        p->cpu->ops->rope(p->cpu, ref, pos, n_tok, c->n_head, c->head_dim, &rp);
        CHECK_CLOSE(x, ref, n, 4e-6, 0, "twice, head_dim %d n_rot %d pos0 %d", c->head_dim, c->n_rot, c->pos0);
        vk_release(p, x);
        free(ref), free(ff), free(pos);
    }
    TEST_GROUP("rope out of contract");
    float *x = vk_floats(p, 64), before[64];
    vk_fill(x, 64, 7, -1, 1);
    memcpy(before, x, sizeof before);
    const int32_t pos = 3;
    p->gpu->ops->rope(p->gpu, x, &pos, 1, 1, 64, &(fl_rope_params){.n_rot = 63, .base = 10000});
    p->gpu->ops->rope(p->gpu, x, &pos, 1, 1, 64, &(fl_rope_params){.n_rot = 66, .base = 10000});
    CHECK_CLOSE(x, before, 64, 0, 0, "%s", "odd or oversized n_rot leaves x untouched");
    vk_release(p, x);
}

static void test_softmax(vk_pair *p) {
    static const int64_t dims[] = {1, 8, 128, 513, 262144};
    for (size_t di = 0; di < sizeof dims / sizeof *dims; di++) {
        /* dim 8: a router's rows, one per token of a long prefill */
        const int64_t dim = dims[di], rows = dim > 100000 ? 2 : dim == 8 ? 4099 : dim < 200 ? 33 : 4, n = rows * dim;
        float *x = vk_floats(p, n), *ref = malloc(n * sizeof *ref);
        vk_fill(x, n, 60 + di, -12, 12);
        if (dim > 1) {
            for (int64_t r = 0; r < rows; r += 2) x[r * dim + (r * 5) % dim] = -INFINITY; /* masked entries */
            x[(rows - 1) * dim] = 1e30f; /* one huge logit */
            x[dim + dim / 2] = 3e38f;
        }
        memcpy(ref, x, n * sizeof *ref);
        TEST_GROUP("softmax");
        p->gpu->ops->softmax(p->gpu, x, rows, dim);
        p->cpu->ops->softmax(p->cpu, ref, rows, dim);
        CHECK_CLOSE(x, ref, n, 1e-9, 1e-5, "dim %lld", (long long)dim);
        TEST_GROUP("softmax host memory");
        float *host = malloc(n * sizeof *host);
        vk_fill(host, n, 70 + di, -30, 30);
        memcpy(ref, host, n * sizeof *ref);
        p->gpu->ops->softmax(p->gpu, host, rows, dim);
        p->cpu->ops->softmax(p->cpu, ref, rows, dim);
        CHECK_CLOSE(host, ref, n, 1e-9, 1e-5, "dim %lld", (long long)dim);
        free(host);
        vk_release(p, x);
        free(ref);
    }
}

int main(void) {
    vk_pair p = vk_pair_open();
    test_rmsnorm(&p);
    test_rope(&p);
    test_softmax(&p);
    vk_pair_close(&p);
    return test_finish("test_vk_norm");
}
