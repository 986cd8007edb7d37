/* bench_matmul.c — CPU matmul kernel benchmark (make bench).
 *
 *   decode   y[1,m] = x[1,k] . W[m,k]^T on ~256 MiB of weight bytes (far
 *            beyond the L3): GB/s of weight bytes read, and the ratio to
 *            this machine's read bandwidth, measured in the same run by a
 *            streaming-read probe over 1 GiB with the same threads.
 *   prefill  n = 512 activation rows, m = k = 4096 (2 m n k operations):
 *            GFLOP/s (GOP/s for the integer paths) and the ratio to the
 *            peak of the instruction the path uses, measured here too
 *            with the same threads running at once:
 *            peak = threads x (zmm instructions per second of one thread,
 *            12 independent chains) x operations per instruction
 *            (FMA f32: 32, vpdpbusd: 128, vpdpbf16ps: 64, for reference;
 *            on the amx table, BF16 against tdpbf16ps: 16384 per tile
 *            product, 4 accumulator tiles; the GEMM spends 1-3 of them,
 *            FLINT_AMX_PASSES, per 16 x 16 x 32 product of x and W).
 *            Measuring beats GHz x ops/cycle on a VM: here 2 threads reach
 *            the same total as 1 (the vCPUs share a core's ports).
 *   layer    (-l, instead of the two above) prefill, n = 512, over the
 *            seven matrices of one Gemma-3-1B layer (q 1024 x 1152, k and
 *            v 256 x 1152, o 1152 x 1024, gate and up 6912 x 1152, down
 *            1152 x 6912): their summed median time, GOP/s and peak ratio.
 * Medians of several repetitions; a markdown table with the CPU model
 * and date. Usage: bench_matmul [-t THREADS] [-i scalar|avx2|avx512|amx]
 * [-q] [-d] [-l] [TYPE ...]   (-q: smaller matrices, for a quick look; -d:
 * decode only, no prefill and no peak probes). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/pool.h"
#include "cpu/matmul.h"
#include "quant/dequant.h"
#include "quant/types.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static float rndf(void) { return (float)(rnd() >> 40) / 16777216.0f * 2.0f - 1.0f; }

/* ---- streaming-read probe ---- */

typedef struct probe {
    const uint64_t *buf;
    int64_t n_words;
    int32_t n_threads;
    uint64_t sink[64];
} probe;

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
/* the same zmm loads the kernels use, 4 independent sums */
__attribute__((target("avx512f"))) static uint64_t probe_sum512(const uint64_t *p, int64_t n) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t i = 0; i + 32 <= n; i += 32) {
        s0 = _mm512_add_epi64(s0, _mm512_load_si512(p + i));
        s1 = _mm512_add_epi64(s1, _mm512_load_si512(p + i + 8));
        s2 = _mm512_add_epi64(s2, _mm512_load_si512(p + i + 16));
        s3 = _mm512_add_epi64(s3, _mm512_load_si512(p + i + 24));
    }
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
}
#endif

static bool probe_avx512;

static void probe_task(void *ctx, int64_t task, int32_t thread) {
    (void)thread;
    probe *p = ctx;
    int64_t b, e;
    fl_split_range(p->n_words, p->n_threads, task, 512, &b, &e);
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    if (probe_avx512) {
        p->sink[task % 64] = probe_sum512(p->buf + b, e - b);
        return;
    }
#endif
    uint64_t s[8] = {0};
    for (int64_t i = b; i + 8 <= e; i += 8)
        for (int j = 0; j < 8; j++) s[j] += p->buf[i + j];
    p->sink[task % 64] = s[0] ^ s[1] ^ s[2] ^ s[3] ^ s[4] ^ s[5] ^ s[6] ^ s[7];
}

#define PROBE_BYTES ((size_t)1 << 30)
static uint64_t *probe_buf;

static double read_bandwidth(fl_pool *pool, int reps) {
    if (!probe_buf) {
        probe_buf = aligned_alloc(64, PROBE_BYTES);
        if (!probe_buf) return 0.0;
        for (size_t i = 0; i < PROBE_BYTES / 8; i++) probe_buf[i] = i;
    }
    probe p = {probe_buf, (int64_t)(PROBE_BYTES / 8), fl_pool_threads(pool), {0}};
    double t[16];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        fl_pool_run(pool, p.n_threads, probe_task, &p);
        t[r] = now() - t0;
    }
    return (double)PROBE_BYTES / median(t, reps) / 1e9;
}

/* ---- instruction peaks (x86 only; target attributes keep the rest of
 * the file portable) ---- */

typedef enum peak_kind { PEAK_FMA = 0, PEAK_VNNI = 1, PEAK_BF16 = 2, PEAK_AMX = 3, PEAK_COUNT } peak_kind;
static const char *peak_name[PEAK_COUNT] = {"f32 FMA", "int8 VNNI", "bf16 dot", "AMX bf16"};
static const double peak_ops[PEAK_COUNT] = {32.0, 128.0, 64.0, 16.0 * 16.0 * 32.0 * 2.0};

#define PEAK_ITERS 20000000L
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512bf16")))
/* 12 independent chains (written out so they stay in registers) hide the
 * 4-5 cycle latency on 2 ports. Each chain starts from its own value: with
 * equal starts the compiler merges them into one chain and the "peak"
 * measures latency, not throughput. */
#define CHAIN12(OP)                                                                                       \
    a0 = OP(a0, b, c), a1 = OP(a1, b, c), a2 = OP(a2, b, c), a3 = OP(a3, b, c), a4 = OP(a4, b, c),        \
    a5 = OP(a5, b, c), a6 = OP(a6, b, c), a7 = OP(a7, b, c), a8 = OP(a8, b, c), a9 = OP(a9, b, c),        \
    a10 = OP(a10, b, c), a11 = OP(a11, b, c)
T512 static float peak_fma(long iters) {
    __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-7f);
#define F(i) _mm512_set1_ps(1.0f + (i) * 1e-3f)
    __m512 a0 = F(0), a1 = F(1), a2 = F(2), a3 = F(3), a4 = F(4), a5 = F(5), a6 = F(6), a7 = F(7), a8 = F(8),
           a9 = F(9), a10 = F(10), a11 = F(11);
#undef F
    for (long it = 0; it < iters; it++) CHAIN12(_mm512_fmadd_ps);
    a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)), _mm512_add_ps(a4, a5));
    a6 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a6, a7), _mm512_add_ps(a8, a9)), _mm512_add_ps(a10, a11));
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a6));
}
T512 static float peak_vnni(long iters) {
    __m512i b = _mm512_set1_epi8(1), c = _mm512_set1_epi8(2);
#define I(i) _mm512_set1_epi32(i)
    __m512i a0 = I(0), a1 = I(1), a2 = I(2), a3 = I(3), a4 = I(4), a5 = I(5), a6 = I(6), a7 = I(7), a8 = I(8),
            a9 = I(9), a10 = I(10), a11 = I(11);
#undef I
    for (long it = 0; it < iters; it++) CHAIN12(_mm512_dpbusd_epi32);
    a0 = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)), _mm512_add_epi32(a4, a5));
    a6 = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a6, a7), _mm512_add_epi32(a8, a9)), _mm512_add_epi32(a10, a11));
    return (float)_mm512_reduce_add_epi32(_mm512_add_epi32(a0, a6));
}
T512 static float peak_bf16(long iters) {
    __m512bh b = (__m512bh)_mm512_set1_epi16(0x3f80), c = (__m512bh)_mm512_set1_epi16(0x3400);
#define F(i) _mm512_set1_ps((float)(i))
    __m512 a0 = F(0), a1 = F(1), a2 = F(2), a3 = F(3), a4 = F(4), a5 = F(5), a6 = F(6), a7 = F(7), a8 = F(8),
           a9 = F(9), a10 = F(10), a11 = F(11);
#undef F
    for (long it = 0; it < iters; it++) CHAIN12(_mm512_dpbf16_ps);
    a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)), _mm512_add_ps(a4, a5));
    a6 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a6, a7), _mm512_add_ps(a8, a9)), _mm512_add_ps(a10, a11));
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a6));
}

/* 12 tdpbf16ps per iteration into 4 accumulator tiles (tile state is per
 * thread: each call configures and releases it) */
__attribute__((target("amx-tile,amx-bf16"))) static float peak_amx(long iters) {
    static const struct {
        uint8_t palette, start_row, reserved[14];
        uint16_t colsb[16];
        uint8_t rows[16];
    } cfg = {1, 0, {0}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16}};
    float out[256];
    _tile_loadconfig(&cfg);
    _tile_zero(4);
    _tile_zero(5);
    _tile_zero(6);
    _tile_zero(7);
    for (long it = 0; it < iters; it++) {
        for (int r = 0; r < 3; r++) { /* one tile number per macro argument: literals only */
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, out, 64);
    _tile_release();
    return out[0];
}
#endif

typedef struct peak_ctx {
    peak_kind kind;
    long iters;
    volatile float sink;
} peak_ctx;

static void peak_task(void *ctx, int64_t task, int32_t thread) {
    (void)task, (void)thread;
    peak_ctx *p = ctx;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    float v = p->kind == PEAK_FMA    ? peak_fma(p->iters)
              : p->kind == PEAK_VNNI ? peak_vnni(p->iters)
              : p->kind == PEAK_BF16 ? peak_bf16(p->iters)
                                     : peak_amx(p->iters);
    p->sink = v;
#else
    (void)p;
#endif
}

/* ops/s of all threads for one kind of instruction */
static double measure_peak(fl_pool *pool, peak_kind kind, int n_threads) {
    peak_ctx p = {kind, PEAK_ITERS / (kind == PEAK_AMX ? 200 : 10), 0.0f}; /* a tile product: 16 cycles */
    double t[5];
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        fl_pool_run(pool, n_threads, peak_task, &p);
        t[r] = now() - t0;
    }
    return (double)n_threads * (double)p.iters * 12.0 * peak_ops[kind] / median(t, 5);
}

/* ---- weights ---- */

typedef struct bench_type {
    flint_type type;
    peak_kind peak; /* the instruction its prefill path runs on (AVX-512) */
} bench_type;

static const bench_type types[] = {
    {FLINT_TYPE_F32, PEAK_FMA},    {FLINT_TYPE_F16, PEAK_FMA},     {FLINT_TYPE_BF16, PEAK_FMA},
    {FLINT_TYPE_Q8_0, PEAK_VNNI},  {FLINT_TYPE_Q4_0, PEAK_VNNI},   {FLINT_TYPE_Q4_1, PEAK_VNNI},
    {FLINT_TYPE_Q5_0, PEAK_VNNI},  {FLINT_TYPE_Q5_1, PEAK_VNNI},   {FLINT_TYPE_Q4_K, PEAK_VNNI},
    {FLINT_TYPE_Q5_K, PEAK_VNNI},  {FLINT_TYPE_Q6_K, PEAK_VNNI},   {FLINT_TYPE_IQ4_NL, PEAK_VNNI},
    {FLINT_TYPE_IQ4_XS, PEAK_VNNI}, {FLINT_TYPE_MXFP4, PEAK_VNNI}, {FLINT_TYPE_MLX_Q4, PEAK_VNNI},
    {FLINT_TYPE_MLX_Q8, PEAK_VNNI}, {FLINT_TYPE_Q2_K, PEAK_FMA},    {FLINT_TYPE_Q3_K, PEAK_FMA},
};

static fl_cpu_isa table_isa; /* the kernel table benchmarked */

/* The instruction a type's prefill runs on in that table. */
static peak_kind peak_for(const bench_type *bt) {
    return table_isa == FL_ISA_AMX && bt->type == FLINT_TYPE_BF16 ? PEAK_AMX : bt->peak;
}

static void put_f16(uint8_t *p, float v) {
    uint16_t h = fl_f32_to_f16(v);
    p[0] = (uint8_t)h, p[1] = (uint8_t)(h >> 8);
}

typedef struct wmat {
    fl_weight w;
    uint8_t *data, *scales, *biases;
    uint64_t bytes; /* weight bytes read by one product (codes + MLX scales/biases) */
} wmat;

/* m rows of k elements with random codes and sane scales */
static int make_matrix(wmat *mt, flint_type t, int64_t m, int64_t k) {
    memset(mt, 0, sizeof *mt);
    fl_weight *w = &mt->w;
    w->type = t, w->m = m, w->k = k;
    if (t == FLINT_TYPE_MLX_Q4 || t == FLINT_TYPE_MLX_Q8) {
        w->row_bytes = (uint64_t)k * (t == FLINT_TYPE_MLX_Q4 ? 4 : 8) / 8;
        w->group_size = 64;
        w->scale_type = FLINT_TYPE_BF16;
    } else if (!fl_type_row_bytes(t, (uint64_t)k, &w->row_bytes)) {
        return -1;
    }
    uint64_t total = w->row_bytes * (uint64_t)m;
    mt->data = aligned_alloc(64, (total + 63) & ~(uint64_t)63);
    if (!mt->data) return -1;
    uint64_t *p64 = (uint64_t *)mt->data;
    for (uint64_t i = 0; i < total / 8; i++) p64[i] = rnd();
    const fl_type_info *ti = fl_type_get(t);
    if (t == FLINT_TYPE_F32) {
        float *f = (float *)mt->data;
        for (uint64_t i = 0; i < total / 4; i++) f[i] = rndf();
    } else if (t == FLINT_TYPE_F16 || t == FLINT_TYPE_BF16) {
        uint16_t *h = (uint16_t *)mt->data;
        for (uint64_t i = 0; i < total / 2; i++) h[i] = t == FLINT_TYPE_F16 ? fl_f32_to_f16(rndf()) : fl_f32_to_bf16(rndf());
    } else if (t == FLINT_TYPE_MLX_Q4 || t == FLINT_TYPE_MLX_Q8) {
        uint64_t ns = (uint64_t)m * (uint64_t)(k / 64);
        mt->scales = malloc(ns * 2), mt->biases = malloc(ns * 2);
        if (!mt->scales || !mt->biases) return -1;
        for (uint64_t i = 0; i < ns; i++) {
            uint16_t s = fl_f32_to_bf16(0.01f), b = fl_f32_to_bf16(-0.05f);
            memcpy(mt->scales + 2 * i, &s, 2), memcpy(mt->biases + 2 * i, &b, 2);
        }
        w->scales = mt->scales, w->biases = mt->biases;
        total += 4 * ns;
    } else {
        /* the f16 scale fields of every block */
        int off[2] = {-1, -1};
        switch (t) {
        case FLINT_TYPE_Q4_1:
        case FLINT_TYPE_Q5_1:
        case FLINT_TYPE_Q4_K:
        case FLINT_TYPE_Q5_K: off[0] = 0, off[1] = 2; break;
        case FLINT_TYPE_Q6_K: off[0] = 208; break;
        case FLINT_TYPE_Q2_K: off[0] = 80, off[1] = 82; break;
        case FLINT_TYPE_Q3_K: off[0] = 108; break;
        case FLINT_TYPE_MXFP4: break;
        default: off[0] = 0; break;
        }
        uint64_t nb = total / (uint64_t)ti->type_size;
        for (uint64_t b = 0; b < nb; b++) {
            uint8_t *blk = mt->data + b * (uint64_t)ti->type_size;
            for (int j = 0; j < 2; j++)
                if (off[j] >= 0) put_f16(blk + off[j], 0.001f);
            if (t == FLINT_TYPE_MXFP4) blk[0] = 120;
        }
    }
    w->data = mt->data;
    mt->bytes = total;
    return 0;
}

static void free_matrix(wmat *mt) {
    free(mt->data);
    free(mt->scales);
    free(mt->biases);
}

static double time_run(fl_cpu_matmul *mm, const fl_weight *w, const float *x, float *y, int64_t n, int reps) {
    double t[32];
    (void)fl_cpu_matmul_run(mm, w, x, y, n); /* warm-up: scratch, pages */
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        flint_status st = fl_cpu_matmul_run(mm, w, x, y, n);
        t[r] = now() - t0;
        if (st != FLINT_OK) {
            fprintf(stderr, "matmul %s: %s\n", flint_type_name(w->type), flint_errmsg());
            return -1.0;
        }
    }
    return median(t, reps);
}

static void cpu_model(char *out, size_t size) {
    snprintf(out, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                snprintf(out, size, "%s", c + 2);
                out[strcspn(out, "\n")] = 0;
            }
            break;
        }
    }
    fclose(f);
}

static bool wanted(flint_type t, int argc, char **argv, int first) {
    if (first >= argc) return true;
    for (int i = first; i < argc; i++)
        if (strcasecmp(argv[i], flint_type_name(t)) == 0) return true;
    return false;
}

/* -l: one Gemma-3-1B layer's prefill matmuls */
static void bench_layer(fl_cpu_matmul *mm, fl_pool *pool, const double *peak, int n_threads, int argc, char **argv,
                        int first) {
    static const int64_t shapes[][2] = {{1024, 1152}, {256, 1152}, {256, 1152}, {1152, 1024},
                                        {6912, 1152}, {6912, 1152}, {1152, 6912}}; /* m, k */
    const int64_t n = 512;
    float *x = malloc((size_t)(n * 6912) * sizeof(float)), *y = malloc((size_t)(n * 6912) * sizeof(float));
    for (int64_t i = 0; i < n * 6912; i++) x[i] = rndf();
    printf("\nprefill of one Gemma-3-1B layer: n = %lld, 7 matrices\n\n", (long long)n);
    printf("| type | layer ms | GOP/s | peak G/s | prefill / peak |\n|---|---:|---:|---:|---:|\n");
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const bench_type *bt = &types[ti];
        if (!wanted(bt->type, argc, argv, first)) continue;
        const peak_kind kind = peak_for(bt);
        double t = 0.0, ops = 0.0, pk = peak[kind] > 0 ? measure_peak(pool, kind, n_threads) : 0.0;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            wmat mt;
            if (make_matrix(&mt, bt->type, shapes[s][0], shapes[s][1]) != 0) continue;
            t += time_run(mm, &mt.w, x, y, n, 5);
            ops += 2.0 * (double)n * (double)shapes[s][0] * (double)shapes[s][1];
            free_matrix(&mt);
        }
        printf("| %s | %.1f | %.0f | %.0f | ", flint_type_name(bt->type), 1e3 * t, ops / t / 1e9, pk / 1e9);
        if (pk > 0) printf("%.0f%% (%s) |\n", 100.0 * ops / t / pk, peak_name[kind]);
        else printf("- |\n");
        fflush(stdout);
    }
    free(x);
    free(y);
}

int main(int argc, char **argv) {
    int32_t n_threads = 2;
    fl_cpu_isa isa = FL_ISA_AUTO;
    const char *isa_name;
    bool quick = false, decode_only = false, layer = false;
    int first = 1;
    while (first < argc && argv[first][0] == '-') {
        if (strcmp(argv[first], "-t") == 0 && first + 1 < argc) {
            n_threads = atoi(argv[first + 1]);
            first += 2;
        } else if (strcmp(argv[first], "-i") == 0 && first + 1 < argc) {
            const char *name = argv[first + 1];
            isa = strcmp(name, "scalar") == 0 ? FL_ISA_SCALAR
                  : strcmp(name, "avx2") == 0 ? FL_ISA_AVX2
                  : strcmp(name, "neon") == 0 ? FL_ISA_NEON
                  : strcmp(name, "amx") == 0  ? FL_ISA_AMX
                                              : FL_ISA_AVX512;
            first += 2;
        } else if (strcmp(argv[first], "-q") == 0) {
            quick = true;
            first++;
        } else if (strcmp(argv[first], "-d") == 0) {
            decode_only = true;
            first++;
        } else if (strcmp(argv[first], "-l") == 0) {
            layer = true;
            first++;
        } else {
            fprintf(stderr, "usage: %s [-t THREADS] [-i scalar|avx2|avx512|amx] [-q] [-d] [-l] [TYPE ...]\n", argv[0]);
            return 2;
        }
    }
    if (n_threads < 1) n_threads = 1;
    fl_pool *pool;
    fl_cpu_matmul *mm;
    if (fl_pool_create(n_threads, &pool) != FLINT_OK || fl_cpu_matmul_create(pool, isa, &mm) != FLINT_OK) {
        fprintf(stderr, "bench_matmul: %s\n", flint_errmsg());
        return 1;
    }
    table_isa = isa == FL_ISA_AUTO ? fl_cpu_best_isa() : isa;
    isa_name = fl_cpu_isa_name(table_isa);
    char model[256], date[64];
    cpu_model(model, sizeof model);
    time_t tt = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&tt));

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    probe_avx512 = __builtin_cpu_supports("avx512f");
#endif
    const double bw = read_bandwidth(pool, 5);
    double peak[PEAK_COUNT] = {0};
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni") &&
                  __builtin_cpu_supports("avx512bf16");
    for (int k = 0; k < PEAK_COUNT && avx512 && !decode_only; k++)
        if (k != PEAK_AMX || fl_cpu_has_isa(FL_ISA_AMX)) peak[k] = measure_peak(pool, (peak_kind)k, n_threads);
#endif

    printf("## bench_matmul — %s, %s, %d threads, ISA %s\n\n", model, date, n_threads, isa_name);
    printf("read bandwidth (streaming probe, 1 GiB, %d threads, %s loads): %.1f GB/s\n", n_threads,
           probe_avx512 ? "zmm" : "64-bit", bw);
    for (int k = 0; k < PEAK_COUNT; k++)
        if (peak[k] > 0)
            printf("peak %s: %.0f G/s = %d threads x %.2f G instr/s x %.0f ops\n", peak_name[k], peak[k] / 1e9, n_threads,
                   peak[k] / n_threads / peak_ops[k] / 1e9, peak_ops[k]);
    if (layer) {
        bench_layer(mm, pool, peak, n_threads, argc, argv, first);
        free(probe_buf);
        fl_cpu_matmul_free(mm);
        fl_pool_free(pool);
        return 0;
    }
    const int64_t k_dec = 4096, k_pre = quick ? 2048 : 4096, m_pre = quick ? 1024 : 4096, n_pre = quick ? 128 : 512;
    const uint64_t dec_bytes = quick ? (64ull << 20) : (256ull << 20);
    printf("\ndecode: n = 1, k = %lld, ~%llu MiB of weights; prefill: n = %lld, m = %lld, k = %lld\n\n",
           (long long)k_dec, (unsigned long long)(dec_bytes >> 20), (long long)n_pre, (long long)m_pre,
           (long long)k_pre);
    printf("| type | decode GB/s | read BW GB/s | decode / BW | prefill GOP/s | peak G/s | prefill / peak |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|\n");

    float *x = malloc((size_t)(n_pre * (k_pre > k_dec ? k_pre : k_dec)) * sizeof(float));
    float *y = malloc((size_t)(n_pre * m_pre + (int64_t)(dec_bytes / 64)) * sizeof(float));
    for (int64_t i = 0; i < n_pre * (k_pre > k_dec ? k_pre : k_dec); i++) x[i] = rndf();
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const bench_type *bt = &types[ti];
        if (!wanted(bt->type, argc, argv, first)) continue;
        wmat mt;
        uint64_t rb = 0;
        if (bt->type == FLINT_TYPE_MLX_Q4 || bt->type == FLINT_TYPE_MLX_Q8)
            rb = (uint64_t)k_dec * (bt->type == FLINT_TYPE_MLX_Q4 ? 4 : 8) / 8;
        else
            fl_type_row_bytes(bt->type, (uint64_t)k_dec, &rb);
        int64_t m_dec = (int64_t)(dec_bytes / rb);
        double gbs = 0.0, gops = 0.0;
        /* this machine's bandwidth and peaks drift with its neighbours, so
         * each ratio uses a probe taken just before its own measurement */
        const peak_kind kind = peak_for(bt);
        double bw_t = bw, pk = peak[kind];
        if (make_matrix(&mt, bt->type, m_dec, k_dec) == 0) {
            bw_t = read_bandwidth(pool, 3);
            double t = time_run(mm, &mt.w, x, y, 1, quick ? 5 : 9);
            gbs = t > 0 ? (double)mt.bytes / t / 1e9 : 0.0;
        }
        free_matrix(&mt);
        if (!decode_only) {
            if (make_matrix(&mt, bt->type, m_pre, k_pre) == 0) {
                if (pk > 0) pk = measure_peak(pool, kind, n_threads);
                double t = time_run(mm, &mt.w, x, y, n_pre, quick ? 3 : 5);
                gops = t > 0 ? 2.0 * (double)n_pre * (double)m_pre * (double)k_pre / t / 1e9 : 0.0;
            }
            free_matrix(&mt);
        }
        printf("| %s | %.1f | %.1f | %.0f%% | %.0f | %.0f | ", flint_type_name(bt->type), gbs, bw_t,
               bw_t > 0 ? 100.0 * gbs / bw_t : 0.0, gops, pk / 1e9);
        if (pk > 0)
            printf("%.0f%% (%s) |\n", 100.0 * gops * 1e9 / pk, peak_name[kind]);
        else
            printf("- |\n");
        fflush(stdout);
    }
    printf("\nGB/s: weight bytes (codes, scales; MLX scales and biases) / median time; GOP/s: 2 n m k / median time;\n"
           "read BW and peak: re-measured (median of 3 / 5) just before each row's decode / prefill runs.\n");
    free(x);
    free(y);
    free(probe_buf);
    fl_cpu_matmul_free(mm);
    fl_pool_free(pool);
    return 0;
}
