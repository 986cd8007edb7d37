/* test_vk_attention.c — attention over KV tiles on the device against the
 * CPU backend: tiles built by hand in the GPU backend's memory (a KV pool
 * of blocks handed to the op in shuffled order), positions with holes and
 * empty rows, decode and prefill query counts, GQA, head dims 40 to 512
 * (K and V dims differing too), sliding windows that cut inside a tile,
 * soft-caps, F32/F16/BF16 caches, a query that sees no key, and the
 * argument checks. Empty rows hold NaN for the device run (their K/V may
 * hold anything) and zeros for the reference. */
#include "quant/dequant.h"
#include "vk_harness.h"

/* A KV pool of n_tiles blocks in the GPU backend's memory, and the tile
 * list the op gets (block order shuffled against position order). */
typedef struct cache {
    fl_attn_params p;
    int64_t n_tiles, kv_stride, esz;
    void *k, *v;
    int32_t *pos;
    fl_kv_tile *tiles;
    int32_t max_pos;
    bool host; /* in malloc'd memory, not the backend's */
} cache;

static void put(const cache *c, void *base, int64_t idx, float x) {
    if (c->p.kv_type == FLINT_TYPE_F32) ((float *)base)[idx] = x;
    else if (c->p.kv_type == FLINT_TYPE_F16) ((uint16_t *)base)[idx] = fl_f32_to_f16(x);
    else ((uint16_t *)base)[idx] = fl_f32_to_bf16(x);
}

/* Positions: block b (in position order) holds the next positions, a hole
 * every 7th position, an empty row where (row * 5 + b) % 11 == 3 and the
 * last block's tail empty. */
static void *mem_alloc(vk_pair *vp, bool host, size_t bytes) {
    return host ? malloc(bytes) : fl_backend_alloc(vp->gpu, bytes);
}
static void mem_free(vk_pair *vp, bool host, void *p) {
    if (host) free(p);
    else fl_backend_free(vp->gpu, p);
}

static cache cache_make(vk_pair *vp, fl_attn_params p, int64_t n_tiles, int64_t pad, uint64_t seed, bool host) {
    cache c = {.p = p, .n_tiles = n_tiles, .esz = p.kv_type == FLINT_TYPE_F32 ? 4 : 2, .host = host};
    int64_t dmax = p.head_dim_k > p.head_dim_v ? p.head_dim_k : p.head_dim_v;
    c.kv_stride = p.n_head_kv * dmax + pad;
    const int64_t elems = n_tiles * FL_ATTN_TILE * c.kv_stride;
    c.k = mem_alloc(vp, host, (size_t)(elems * c.esz));
    c.v = mem_alloc(vp, host, (size_t)(elems * c.esz));
    c.pos = mem_alloc(vp, host, (size_t)(n_tiles * FL_ATTN_TILE) * sizeof(int32_t));
    c.tiles = malloc((size_t)n_tiles * sizeof *c.tiles);
    if (!c.k || !c.v || !c.pos || !c.tiles) {
        fprintf(stderr, "cache_make: %s\n", flint_errmsg());
        exit(1);
    }
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
    for (int64_t i = 0; i < elems; i++) {
        put(&c, c.k, i, vk_rand(&s, -1, 1));
        put(&c, c.v, i, vk_rand(&s, -1, 1));
    }
    /* block b of the pool holds logical (position-order) block (b * 3 + 1) % n_tiles
     * when that is a permutation, else the blocks reversed */
    int32_t next = 0;
    for (int64_t lb = 0; lb < n_tiles; lb++) {
        int64_t b = n_tiles % 3 != 0 ? (lb * 3 + 1) % n_tiles : n_tiles - 1 - lb;
        for (int64_t r = 0; r < FL_ATTN_TILE; r++) {
            int32_t *pp = &c.pos[b * FL_ATTN_TILE + r];
            bool empty = (r * 5 + lb) % 11 == 3 || (lb == n_tiles - 1 && r >= FL_ATTN_TILE - 9);
            if (empty) {
                *pp = -1 - (int32_t)(r % 3);
                continue;
            }
            if (next % 7 == 6) next++; /* a hole */
            *pp = next++;
            c.max_pos = *pp;
        }
        c.tiles[lb] = (fl_kv_tile){(char *)c.k + b * FL_ATTN_TILE * c.kv_stride * c.esz,
                                   (char *)c.v + b * FL_ATTN_TILE * c.kv_stride * c.esz, c.pos + b * FL_ATTN_TILE};
    }
    return c;
}

/* K and V of the empty rows: NaN (nan) or zeros */
static void cache_fill_empty(cache *c, bool nan) {
    for (int64_t i = 0; i < c->n_tiles * FL_ATTN_TILE; i++) {
        if (c->pos[i] >= 0) continue;
        for (int64_t e = 0; e < c->kv_stride; e++) {
            put(c, c->k, i * c->kv_stride + e, nan ? NAN : 0.0f);
            put(c, c->v, i * c->kv_stride + e, nan ? NAN : 0.0f);
        }
    }
}

static void cache_free(vk_pair *vp, cache *c) {
    mem_free(vp, c->host, c->k);
    mem_free(vp, c->host, c->v);
    mem_free(vp, c->host, c->pos);
    free(c->tiles);
}

typedef struct attn_case {
    int32_t n_head, n_head_kv, dk, dv;
    int64_t n_q, n_tiles;
    int32_t window;
    float softcap;
    flint_type kv_type;
    float scale_mul; /* scale = scale_mul / sqrt(dk); 0 means 1 */
} attn_case;

static const char *type_name(flint_type t) {
    return t == FLINT_TYPE_F32 ? "F32" : t == FLINT_TYPE_F16 ? "F16" : "BF16";
}

/* Runs one case on both backends and compares. Queries take the last n_q
 * positions of the context (prefill's causal block); query 0 of a block
 * of more than one sits before every key (it sees nothing: zeros). host:
 * queries, positions, cache and output in malloc'd memory, and a second
 * round through the same buffers with new queries and positions (memory
 * outside the backend's must be read afresh each call). */
static void run_case(vk_pair *vp, const attn_case *ac, uint64_t seed, bool host) {
    fl_attn_params p = {.n_head = ac->n_head, .n_head_kv = ac->n_head_kv, .head_dim_k = ac->dk,
                        .head_dim_v = ac->dv, .scale = (ac->scale_mul > 0 ? ac->scale_mul : 1.0f) / sqrtf((float)ac->dk),
                        .softcap = ac->softcap, .window = ac->window, .kv_type = ac->kv_type};
    cache c = cache_make(vp, p, ac->n_tiles, seed % 2 ? 3 : 0, seed, host);
    const int64_t nq_el = ac->n_q * ac->n_head * ac->dk, out_el = ac->n_q * ac->n_head * ac->dv;
    float *q = mem_alloc(vp, host, (size_t)nq_el * sizeof *q), *out = mem_alloc(vp, host, (size_t)out_el * sizeof *out);
    int32_t *pos_q = mem_alloc(vp, host, (size_t)ac->n_q * sizeof *pos_q);
    float *ref = malloc((size_t)out_el * sizeof *ref);
    if (!q || !out || !pos_q || !ref) {
        fprintf(stderr, "run_case: out of memory\n");
        exit(1);
    }
    for (int round = 0; round < (host ? 2 : 1); round++) {
        vk_fill(q, nq_el, seed + 1000 + (uint64_t)round, -1, 1);
        for (int64_t i = 0; i < ac->n_q; i++) pos_q[i] = c.max_pos - (int32_t)(ac->n_q - 1 - i) - 5 * round;
        if (ac->n_q > 1) pos_q[0] = -1;
        for (int64_t i = 0; i < out_el; i++) out[i] = NAN; /* every output must be written */

        cache_fill_empty(&c, true);
        flint_status st =
            vp->gpu->ops->attention(vp->gpu, &p, out, q, pos_q, ac->n_q, c.tiles, ac->n_tiles, c.kv_stride);
        CHECK_MSG(st == FLINT_OK, "%s", flint_errmsg());
        cache_fill_empty(&c, false);
        st = vp->cpu->ops->attention(vp->cpu, &p, ref, q, pos_q, ac->n_q, c.tiles, ac->n_tiles, c.kv_stride);
        CHECK_MSG(st == FLINT_OK, "cpu: %s", flint_errmsg());
        CHECK_CLOSE(out, ref, out_el, 2e-6, 1e-5,
                    "heads %d/%d dims %d/%d n_q %lld tiles %lld window %d softcap %g %s%s round %d", ac->n_head,
                    ac->n_head_kv, ac->dk, ac->dv, (long long)ac->n_q, (long long)ac->n_tiles, ac->window,
                    (double)ac->softcap, type_name(ac->kv_type), host ? " in host memory" : "", round);
        if (ac->n_q > 1) { /* query 0 sees nothing */
            bool zero = true;
            for (int64_t e = 0; e < ac->n_head * ac->dv; e++) zero = zero && out[e] == 0.0f;
            CHECK_MSG(zero, "query without visible keys: dims %d/%d", ac->dk, ac->dv);
        }
    }
    mem_free(vp, host, out);
    mem_free(vp, host, q);
    mem_free(vp, host, pos_q);
    free(ref);
    cache_free(vp, &c);
}

static void sweep(vk_pair *vp) {
    static const int32_t heads[][2] = {{8, 8}, {8, 2}, {4, 1}};
    static const int64_t n_qs[] = {1, 3, 64, 100};
    static const int32_t dims[] = {64, 128, 256, 40, 512};
    static const int64_t ctx[] = {1, 3, 10, 7, 2};
    static const flint_type types[] = {FLINT_TYPE_F32, FLINT_TYPE_F16, FLINT_TYPE_BF16};
    int n = 0;
    for (int ti = 0; ti < 3; ti++)
        for (int hi = 0; hi < 3; hi++)
            for (int qi = 0; qi < 4; qi++, n++) {
                attn_case ac = {.n_head = heads[hi][0], .n_head_kv = heads[hi][1], .n_q = n_qs[qi],
                                .kv_type = types[ti]};
                ac.dk = ac.dv = dims[n % 5];
                ac.n_tiles = ctx[(n / 2) % 5];
                ac.window = n % 3 == 1 ? 37 : 0; /* 37 cuts inside a tile */
                ac.softcap = n % 4 >= 2 ? 50.0f : 0.0f;
                ac.scale_mul = ac.softcap > 0 ? 3.0f : 1.0f;
                if (ac.dk == 512 && ac.n_q > 3) ac.n_tiles = 2; /* keep lavapipe's time down */
                TEST_GROUP("sweep");
                run_case(vp, &ac, (uint64_t)n + 1, false);
            }
}

static void special_cases(vk_pair *vp) {
    static const attn_case cases[] = {
        /* K and V head dims differing, odd */
        {8, 2, 72, 40, 3, 4, 0, 0, FLINT_TYPE_F32, 0},
        {4, 1, 40, 72, 100, 3, 20, 0, FLINT_TYPE_F16, 0},
        {4, 2, 192, 128, 1, 9, 0, 30.0f, FLINT_TYPE_BF16, 0},
        /* Gemma 4's global layers: 512 with GQA, a long decode */
        {8, 2, 512, 512, 1, 10, 0, 0, FLINT_TYPE_BF16, 0},
        {8, 1, 512, 512, 3, 6, 100, 50.0f, FLINT_TYPE_F32, 0},
        /* a window shorter than the holes between tiles' rows */
        {4, 1, 64, 64, 64, 5, 3, 0, FLINT_TYPE_F32, 0},
        /* a small soft-cap, so that it bends the scores */
        {8, 8, 64, 64, 3, 3, 0, 2.0f, FLINT_TYPE_F32, 0},
        /* a key head past the decode shader's 512 (MLA's 576): the tiled one */
        {4, 1, 576, 512, 1, 3, 0, 0, FLINT_TYPE_F16, 0},
        /* exactly the decode shader's 8 rows, and 9 (the tiled one) */
        {8, 1, 128, 128, 1, 5, 0, 0, FLINT_TYPE_F16, 0},
        {3, 1, 64, 64, 3, 5, 50, 0, FLINT_TYPE_BF16, 0},
        /* sharp scores: the running max moves a lot between tiles */
        {8, 2, 128, 128, 64, 4, 0, 0, FLINT_TYPE_F32, 8.0f},
        /* many splits in decode: a long context */
        {2, 1, 64, 64, 1, 40, 0, 0, FLINT_TYPE_F16, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TEST_GROUP("special");
        run_case(vp, &cases[i], 100 + i, false);
    }
    TEST_GROUP("host memory");
    run_case(vp, &cases[0], 200, true);
    run_case(vp, &cases[1], 201, true);
    run_case(vp, &cases[11], 202, true);
}

static void no_keys(vk_pair *vp) {
    TEST_GROUP("no tiles");
    fl_attn_params p = {.n_head = 4, .n_head_kv = 2, .head_dim_k = 64, .head_dim_v = 64, .scale = 0.125f,
                        .kv_type = FLINT_TYPE_F32};
    float *q = vk_floats(vp, 2 * 4 * 64), *out = vk_floats(vp, 2 * 4 * 64);
    int32_t pos_q[2] = {0, 5};
    for (int i = 0; i < 2 * 4 * 64; i++) out[i] = 1.0f;
    CHECK(vp->gpu->ops->attention(vp->gpu, &p, out, q, pos_q, 2, NULL, 0, 0) == FLINT_OK);
    bool zero = true;
    for (int i = 0; i < 2 * 4 * 64; i++) zero = zero && out[i] == 0.0f;
    CHECK_MSG(zero, "%s", "no key tiles: zeros");
    TEST_GROUP("no queries");
    CHECK(vp->gpu->ops->attention(vp->gpu, &p, NULL, NULL, NULL, 0, NULL, 0, 0) == FLINT_OK);
    vk_release(vp, q), vk_release(vp, out);
}

static void bad_args(vk_pair *vp) {
    TEST_GROUP("arguments");
    fl_attn_params good = {.n_head = 4, .n_head_kv = 2, .head_dim_k = 64, .head_dim_v = 64, .scale = 0.125f,
                           .kv_type = FLINT_TYPE_F32};
    cache c = cache_make(vp, good, 1, 0, 9, false);
    float *q = vk_floats(vp, 4 * 64), *out = vk_floats(vp, 4 * 1024);
    int32_t pos_q[1] = {10};
    fl_backend *g = vp->gpu;
    fl_attn_params p = good;
    p.n_head_kv = 3;
    CHECK_FAILS(g->ops->attention(g, &p, out, q, pos_q, 1, c.tiles, 1, c.kv_stride), FLINT_E_INVALID_ARG, "KV heads");
    p = good, p.head_dim_k = 0;
    CHECK_FAILS(g->ops->attention(g, &p, out, q, pos_q, 1, c.tiles, 1, c.kv_stride), FLINT_E_INVALID_ARG, "head dims");
    p = good, p.window = -1;
    CHECK_FAILS(g->ops->attention(g, &p, out, q, pos_q, 1, c.tiles, 1, c.kv_stride), FLINT_E_INVALID_ARG, "window");
    p = good, p.kv_type = FLINT_TYPE_Q8_0;
    CHECK_FAILS(g->ops->attention(g, &p, out, q, pos_q, 1, c.tiles, 1, c.kv_stride), FLINT_E_UNSUPPORTED,
                "KV cache type");
    CHECK_FAILS(g->ops->attention(g, &good, out, q, pos_q, 1, c.tiles, 1, c.kv_stride - 1), FLINT_E_INVALID_ARG,
                "kv_stride");
    CHECK_FAILS(g->ops->attention(g, &good, out, NULL, pos_q, 1, c.tiles, 1, c.kv_stride), FLINT_E_INVALID_ARG,
                "NULL");
    fl_kv_tile broken = c.tiles[0];
    broken.pos = NULL;
    CHECK_FAILS(g->ops->attention(g, &good, out, q, pos_q, 1, &broken, 1, c.kv_stride), FLINT_E_INVALID_ARG,
                "tile 0");
    CHECK_FAILS(g->ops->attention(g, &good, out, q, pos_q, -1, c.tiles, 1, c.kv_stride), FLINT_E_INVALID_ARG,
                "queries");
    p = good, p.n_head_kv = 1, p.head_dim_v = 1024; /* a row of 1024 fits the stride */
    CHECK_FAILS(g->ops->attention(g, &p, out, q, pos_q, 1, c.tiles, 1, 1024), FLINT_E_UNSUPPORTED, "value head dim");
    /* the backend still works after refusals */
    CHECK(g->ops->attention(g, &good, out, q, pos_q, 1, c.tiles, 1, c.kv_stride) == FLINT_OK);
    vk_release(vp, q), vk_release(vp, out);
    cache_free(vp, &c);
}

int main(void) {
    vk_pair vp = vk_pair_open();
    /* the reference: the CPU backend's scalar kernels, whose exp and tanh
     * are libm's (the SIMD ones' are approximations within ~3e-7, and
     * their tanh's 1 - 2 / (e^2y + 1) loses ~softcap * 2^-24 absolute) */
    vp.cpu->ops->free(vp.cpu);
    if (fl_cpu_backend_create(1, FL_ISA_SCALAR, &vp.cpu)) {
        fprintf(stderr, "cpu backend: %s\n", flint_errmsg());
        return 1;
    }
    sweep(&vp);
    special_cases(&vp);
    no_keys(&vp);
    bad_args(&vp);
    vk_pair_close(&vp);
    return test_finish("test_vk_attention");
}
