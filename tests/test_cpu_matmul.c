/* test_cpu_matmul.c — the CPU matmul y[n,m] = x[n,k] . W[m,k]^T for every
 * weight type with a kernel (and two that take the dequantize fallback):
 *   1. the scalar reference against a double-precision product of the
 *      fl_dequant_row() weights with the original f32 x;
 *   2. every SIMD table this machine runs against the scalar reference;
 *   3. matmul groups (fl_cpu_matmul_group) against the same products run
 *      one at a time, on every table: equal bit for bit (the same kernels
 *      on the same rows), with mixed types, shared and distinct inputs,
 *      decode and prefill jobs in one group;
 *   4. exact mode (f32 activations against the reference dequantization)
 *      for every type but F32, on every table, against the double product
 *      within the F32 bound, and batch-invariant with deterministic mode.
 * Sizes are awkward on purpose: m = 1, 3, 64, 257; k a whole number of
 * blocks but not of the SIMD width (96, 160; 256, 768, 2560; 1, 17, 1000,
 * 2000 for the float types); n = 1, 2, 7, 8 (decode) and 16, 17, 33, 64,
 * 130 (prefill).
 * Weights are random bytes with sane scale fields, so every code occurs.
 *
 * Tolerances, per output element, with S = sum_i |w_i x_i| (double):
 *   activation rounding (scalar vs double), a rigorous bound:
 *     Q8_32 / Q8_K  sum over activation blocks B of (amax_B(x) / 254) * sum_{i in B} |w_i|
 *                   (rint moves each x_i by at most half a step, d / 2 = amax / 254)
 *     F32           0 (F32, F16, BF16 and the dequantize fallback)
 *   plus f32 arithmetic: (t + 8) * 2^-23 * S, t = the number of rounded
 *   additions in a row's sum (k for float types, 2 per Q8 block), which
 *   covers the f32 rounding of the dequantized weights as well;
 *   SIMD vs scalar: the same codes and scales, only the order of the f32
 *   sums differs: (t + t' + 16) * 2^-23 * S, t' the SIMD path's rounded
 *   additions: t, except the AVX-512 prefill GEMM of the K-quants, which
 *   scales each sub-block's exact integer dot in f32 (Q4_K, Q5_K: 2 per 32
 *   elements, scale and min, + 1 per 256; Q6_K: 1 per 16 + 1 per 256);
 *   the AVX2 prefill GEMM of the int8 types (n > 8) repeats the scalar
 *   float steps in order, so it must equal the scalar result exactly;
 *   per type the test prints the worst scalar-vs-double error as a
 *   fraction of its tolerance and the worst prefill (n > 8) vs scalar
 *   error of each x86 table in units of 2^-23 * S (the GEMMs of
 *   matmul_gemm_avx2.c and matmul_gemm_avx512.c);
 *   AVX-512 prefill (n > 8) of F16 / BF16 weights on CPUs with
 *   AVX512-FP16 with FLINT_FP16_GEMM=1 (matmul_gemm_avx512.c, h16) adds its fp16 error, to first
 *   order: 2^-11 * (2 S + P) for x rounded to fp16, the fp16 sum of the
 *   two halves of each k-block of 64 and the rounding of every partial sum,
 *   P = the sum over i of |the sum of w_j x_j from the start of i's
 *   32-element half-block to i|; plus 3 k 2^-32 max|x| max|w| for fp16
 *   subnormals (values 2^-18 below their block's largest). Applied on
 *   every AVX-512 CPU (the others meet it with room to spare);
 *   the AMX table (AVX-512 but for the BF16 prefill, matmul_gemm_amx.c),
 *   BF16 prefill (n > 8): t' = p k for p bf16 parts per activation
 *   (FLINT_AMX_PASSES, 3 by default, swept with 2 and 1 too), plus the
 *   activation's split: 0 for 3 parts (exact), 2^-16 S for 2, 2^-8 S for
 *   1. The AMX table runs when cpuid and XCR0 report AMX (read here, not
 *   asked of the library, whose answer must agree on Linux), with weight
 *   units up to 256 rows and k up to 2000 (two weight chunks). */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "base/pool.h"
#include "cpu/matmul.h"
#include "harness.h"
#include "quant/dequant.h"
#include "quant/types.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float rndf(void) { return (float)(rnd() & 0xffffff) / 16777216.0f * 2.0f - 1.0f; } /* [-1, 1) */

static void put_f16(uint8_t *p, float v) {
    uint16_t h = fl_f32_to_f16(v);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

/* Random blocks with each f16 scale field replaced by a small positive (or
 * for Q4_K/Q5_K mins, any) value so the products stay finite. */
static void random_blocks(flint_type t, uint8_t *p, int64_t nb) {
    const fl_type_info *ti = fl_type_get(t);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *q = p + b * ti->type_size;
        for (int i = 0; i < ti->type_size; i++) q[i] = (uint8_t)rnd();
        float d = 0.002f + 0.01f * (rndf() + 1.0f);
        switch (t) {
        case FLINT_TYPE_Q4_0:
        case FLINT_TYPE_Q5_0:
        case FLINT_TYPE_Q8_0:
        case FLINT_TYPE_IQ4_NL:
        case FLINT_TYPE_IQ4_XS: put_f16(q, d); break;
        case FLINT_TYPE_Q4_1:
        case FLINT_TYPE_Q5_1:
        case FLINT_TYPE_Q4_K:
        case FLINT_TYPE_Q5_K:
            put_f16(q, t == FLINT_TYPE_Q4_K || t == FLINT_TYPE_Q5_K ? d * 0.1f : d);
            put_f16(q + 2, rndf() * (t == FLINT_TYPE_Q4_K || t == FLINT_TYPE_Q5_K ? 0.01f : 0.1f));
            break;
        case FLINT_TYPE_Q6_K: put_f16(q + 208, d * 0.05f); break;
        case FLINT_TYPE_Q2_K:
            put_f16(q + 80, d);
            put_f16(q + 82, d);
            break;
        case FLINT_TYPE_Q3_K: put_f16(q + 108, d * 0.1f); break;
        case FLINT_TYPE_MXFP4: q[0] = (uint8_t)(120 + rnd() % 8); break;
        default: break;
        }
    }
}

typedef struct wbuf {
    fl_weight w;
    uint8_t *data, *scales, *biases;
    float *deq; /* [m][k] reference dequantization */
} wbuf;

static int mlx_bits(flint_type t) { return t == FLINT_TYPE_MLX_Q4 ? 4 : 8; }

static void make_weight(wbuf *b, flint_type t, int64_t m, int64_t k) {
    memset(b, 0, sizeof *b);
    b->w.type = t;
    b->w.m = m;
    b->w.k = k;
    b->deq = malloc((size_t)(m * k) * sizeof(float));
    if (t == FLINT_TYPE_MLX_Q4 || t == FLINT_TYPE_MLX_Q8) {
        static const int gs[] = {32, 64, 128};
        static const flint_type st[] = {FLINT_TYPE_F16, FLINT_TYPE_BF16, FLINT_TYPE_F32};
        int g = gs[rnd() % 3];
        while (k % g) g /= 2;
        flint_type s = st[rnd() % 3];
        int sb = s == FLINT_TYPE_F32 ? 4 : 2;
        int64_t ng = k / g;
        b->w.group_size = g;
        b->w.scale_type = s;
        b->w.row_bytes = (uint64_t)(k * mlx_bits(t) / 8);
        b->data = malloc((size_t)(m * (int64_t)b->w.row_bytes));
        b->scales = malloc((size_t)(m * ng * sb));
        b->biases = malloc((size_t)(m * ng * sb));
        for (int64_t i = 0; i < m * (int64_t)b->w.row_bytes; i++) b->data[i] = (uint8_t)rnd();
        for (int64_t i = 0; i < m * ng; i++) {
            float sc = 0.01f * (rndf() + 1.5f), bi = 0.1f * rndf();
            if (s == FLINT_TYPE_F32) {
                memcpy(b->scales + 4 * i, &sc, 4);
                memcpy(b->biases + 4 * i, &bi, 4);
            } else {
                uint16_t hs = s == FLINT_TYPE_F16 ? fl_f32_to_f16(sc) : fl_f32_to_bf16(sc);
                uint16_t hb = s == FLINT_TYPE_F16 ? fl_f32_to_f16(bi) : fl_f32_to_bf16(bi);
                memcpy(b->scales + 2 * i, &hs, 2);
                memcpy(b->biases + 2 * i, &hb, 2);
            }
        }
        b->w.data = b->data;
        b->w.scales = b->scales;
        b->w.biases = b->biases;
        for (int64_t r = 0; r < m; r++) {
            flint_status st = fl_dequant_mlx_row(t, g, s, b->data + r * b->w.row_bytes,
                                                 b->scales + r * ng * sb, b->biases + r * ng * sb, b->deq + r * k, k);
            CHECK(st == FLINT_OK);
        }
        return;
    }
    const fl_type_info *ti = fl_type_get(t);
    uint64_t rb = 0;
    CHECK(fl_type_row_bytes(t, (uint64_t)k, &rb));
    b->w.row_bytes = rb;
    b->data = malloc((size_t)(m * (int64_t)rb));
    if (ti->is_quantized) {
        random_blocks(t, b->data, m * k / ti->block_size);
    } else {
        float *tmp = malloc((size_t)k * sizeof(float));
        for (int64_t r = 0; r < m; r++) {
            for (int64_t i = 0; i < k; i++) tmp[i] = rndf() * 0.5f;
            CHECK(fl_quant_row(t, tmp, b->data + r * rb, k) == FLINT_OK);
        }
        free(tmp);
    }
    b->w.data = b->data;
    for (int64_t r = 0; r < m; r++) CHECK(fl_dequant_row(t, b->data + r * rb, b->deq + r * k, k) == FLINT_OK);
}

static void free_weight(wbuf *b) {
    free(b->data);
    free(b->scales);
    free(b->biases);
    free(b->deq);
}

/* Rounded f32 additions per k elements of the AVX-512 prefill GEMM of the
 * K-quants (the header); 0 for the other types. */
static double gemm_terms(flint_type t, int64_t k) {
    if (t == FLINT_TYPE_Q4_K || t == FLINT_TYPE_Q5_K) return (double)(2 * (k / 32) + k / 256);
    if (t == FLINT_TYPE_Q6_K) return (double)(k / 16 + k / 256);
    return 0.0;
}

/* The types whose AVX2 prefill GEMM (matmul_gemm_avx2.c) repeats the
 * scalar reference's float steps in its order: equal to it exactly. */
static bool avx2_gemm_exact(flint_type t) {
    return t == FLINT_TYPE_Q4_0 || t == FLINT_TYPE_Q4_1 || t == FLINT_TYPE_Q5_0 || t == FLINT_TYPE_Q5_1 ||
           t == FLINT_TYPE_Q8_0 || t == FLINT_TYPE_IQ4_NL || t == FLINT_TYPE_MXFP4 || t == FLINT_TYPE_MLX_Q4 ||
           t == FLINT_TYPE_MLX_Q8 || t == FLINT_TYPE_Q4_K || t == FLINT_TYPE_Q5_K || t == FLINT_TYPE_Q6_K;
}

/* The activation block of a type's integer format: 32, 256, or 0 (float). */
static int act_block(flint_type t) {
    switch (t) {
    case FLINT_TYPE_Q4_0:
    case FLINT_TYPE_Q4_1:
    case FLINT_TYPE_Q5_0:
    case FLINT_TYPE_Q5_1:
    case FLINT_TYPE_Q8_0:
    case FLINT_TYPE_IQ4_NL:
    case FLINT_TYPE_MXFP4:
    case FLINT_TYPE_MLX_Q4:
    case FLINT_TYPE_MLX_Q8: return 32;
    case FLINT_TYPE_Q4_K:
    case FLINT_TYPE_Q5_K:
    case FLINT_TYPE_Q6_K:
    case FLINT_TYPE_IQ4_XS: return 256;
    default: return 0;
    }
}

typedef struct isa_run {
    fl_cpu_isa isa;
    const char *name;
    bool have;
} isa_run;

static fl_pool *pool2;

static isa_run isas[] = {
    {FL_ISA_AVX2, "avx2", false},
    {FL_ISA_AVX512, "avx512", false},
    {FL_ISA_NEON, "neon", false},
    {FL_ISA_AMX, "amx", false},
};

/* AMX-TILE, AMX-BF16 and their state in XCR0, read here rather than asked
 * of the library, so that a detection bug there fails the check in main
 * instead of hiding the AMX table from every test. */
static bool cpu_amx(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1)) return false; /* OSXSAVE */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d >> 22 & 1) || !(d >> 24 & 1)) return false;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 0x60000) == 0x60000;
#else
    return false;
#endif
}

static void detect(void) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    isas[0].have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    isas[1].have = isas[0].have && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                   __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bf16");
#elif defined(__aarch64__)
    isas[2].have = true;
#endif
    isas[3].have = isas[1].have && cpu_amx();
}

/* The bf16 parts per activation of the AMX GEMM (FLINT_AMX_PASSES, read
 * as matmul_gemm_amx.c reads it). */
static int amx_parts(void) {
    const char *env = getenv("FLINT_AMX_PASSES");
    return env && (env[0] == '1' || env[0] == '2') && env[1] == 0 ? env[0] - '0' : 3;
}

static int64_t n_cases;
static double ref_worst;  /* a sweep's largest scalar vs double |error| / tolerance */
static double gemm_worst[4]; /* per table of isas[]: a sweep's largest prefill vs scalar |error| / (2^-23 S) */

static void run_case(flint_type t, int64_t m, int64_t k, int64_t n) {
    wbuf wb;
    make_weight(&wb, t, m, k);
    float *x = malloc((size_t)(n * k) * sizeof(float));
    for (int64_t i = 0; i < n * k; i++) x[i] = rndf() * (rnd() % 16 == 0 ? 4.0f : 1.0f);
    float *ys = malloc((size_t)(n * m) * sizeof(float));
    float *yi = malloc((size_t)(n * m) * sizeof(float));
    const int ab = act_block(t);
    const double eps = 1.0 / 8388608.0; /* 2^-23 */
    const double terms = ab > 0 ? 2.0 * (double)(k / ab) : (double)k;
    const bool h16 = (t == FLINT_TYPE_F16 || t == FLINT_TYPE_BF16) && n > 8;

    /* scalar reference, single-threaded for n odd, on the pool otherwise */
    fl_cpu_matmul *mm;
    CHECK(fl_cpu_matmul_create(n % 2 ? NULL : pool2, FL_ISA_SCALAR, &mm) == FLINT_OK);
    flint_status st = fl_cpu_matmul_run(mm, &wb.w, x, ys, n);
    CHECK_MSG(st == FLINT_OK, "%s: %s", flint_type_name(t), flint_errmsg());
    fl_cpu_matmul_free(mm);

    double worst = 0.0; /* largest error / tolerance seen */
    int bad = 0;
    double *S = malloc((size_t)(n * m) * sizeof(double)), *H = malloc((size_t)(n * m) * sizeof(double));
    double wmax = 0.0, xmax = 0.0;
    for (int64_t i = 0; i < m * k; i++) wmax = fmax(wmax, fabs((double)wb.deq[i]));
    for (int64_t i = 0; i < n * k; i++) xmax = fmax(xmax, fabs((double)x[i]));
    for (int64_t c = 0; c < n; c++) {
        const float *xc = x + c * k;
        for (int64_t r = 0; r < m; r++) {
            const float *wr = wb.deq + r * k;
            double dot = 0.0, s = 0.0, qerr = 0.0, part = 0.0, p = 0.0;
            for (int64_t i = 0; i < k; i++) {
                dot += (double)wr[i] * (double)xc[i];
                s += fabs((double)wr[i] * (double)xc[i]);
                part = (i % 32 ? part : 0.0) + (double)wr[i] * (double)xc[i];
                p += fabs(part);
            }
            H[c * m + r] = h16 ? (2.0 * s + p) / 2048.0 + 3.0 * (double)k * xmax * wmax / 4294967296.0 : 0.0;
            if (ab > 0) {
                for (int64_t b0 = 0; b0 < k; b0 += ab) {
                    double amax = 0.0, wsum = 0.0;
                    for (int64_t i = b0; i < b0 + ab; i++) {
                        amax = fmax(amax, fabs((double)xc[i]));
                        wsum += fabs((double)wr[i]);
                    }
                    qerr += amax / 254.0 * wsum;
                }
            }
            double tol = qerr * (1.0 + 1e-6) + (terms + 8.0) * eps * s + 1e-30;
            double err = fabs((double)ys[c * m + r] - dot);
            if (err / tol > worst) worst = err / tol;
            if (!(err <= tol)) {
                if (bad++ < 3)
                    CHECK_MSG(0, "scalar vs double %s m=%lld k=%lld n=%lld y[%lld][%lld] = %.9g, want %.9g (tol %.3g)",
                              flint_type_name(t), (long long)m, (long long)k, (long long)n, (long long)c,
                              (long long)r, (double)ys[c * m + r], dot, tol);
            }
            S[c * m + r] = s;
        }
    }
    if (worst > ref_worst) ref_worst = worst;
    CHECK_MSG(bad == 0, "%s m=%lld k=%lld n=%lld: %d outputs off (worst err/tol %.3g)", flint_type_name(t),
              (long long)m, (long long)k, (long long)n, bad, worst);

    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        if (!isas[i].have) continue;
        CHECK(fl_cpu_matmul_create(n % 3 ? pool2 : NULL, isas[i].isa, &mm) == FLINT_OK);
        for (int64_t j = 0; j < n * m; j++) yi[j] = NAN;
        st = fl_cpu_matmul_run(mm, &wb.w, x, yi, n);
        CHECK_MSG(st == FLINT_OK, "%s %s: %s", isas[i].name, flint_type_name(t), flint_errmsg());
        fl_cpu_matmul_free(mm);
        int off = 0;
        /* the AMX table is the AVX-512 one but for the BF16 prefill */
        const bool x512 = isas[i].isa == FL_ISA_AVX512 || isas[i].isa == FL_ISA_AMX;
        const bool amx = isas[i].isa == FL_ISA_AMX && t == FLINT_TYPE_BF16 && n > 8;
        const int parts = amx_parts();
        const double t2 = amx ? parts * (double)k : x512 && n > 8 && gemm_terms(t, k) > terms ? gemm_terms(t, k) : terms;
        const bool exact = isas[i].isa == FL_ISA_AVX2 && n > 8 && avx2_gemm_exact(t);
        for (int64_t j = 0; j < n * m; j++) {
            const double split = parts == 1 ? S[j] / 256.0 : parts == 2 ? S[j] / 65536.0 : 0.0;
            const double extra = amx ? split : x512 ? H[j] : 0.0;
            double tol = exact ? 0.0 : (terms + t2 + 16.0) * eps * S[j] + extra + 1e-30;
            double err = fabs((double)yi[j] - (double)ys[j]);
            if (n > 8 && S[j] > 0.0 && err / (eps * S[j]) > gemm_worst[i]) gemm_worst[i] = err / (eps * S[j]);
            if (!(err <= tol) && off++ < 3)
                CHECK_MSG(0, "%s vs scalar %s m=%lld k=%lld n=%lld y[%lld][%lld] = %.9g, want %.9g (tol %.3g)",
                          isas[i].name, flint_type_name(t), (long long)m, (long long)k, (long long)n,
                          (long long)(j / m), (long long)(j % m), (double)yi[j], (double)ys[j], tol);
        }
        CHECK_MSG(off == 0, "%s %s m=%lld k=%lld n=%lld: %d outputs off", isas[i].name, flint_type_name(t),
                  (long long)m, (long long)k, (long long)n, off);
    }
    n_cases++;
    free(S);
    free(H);
    free(x);
    free(ys);
    free(yi);
    free_weight(&wb);
}

static void sweep(flint_type t, const int64_t *ks, int nk) {
    static const int64_t ms[] = {1, 3, 64, 257};
    static const int64_t ns[] = {1, 2, 7, 8, 16, 17, 33, 64, 130};
    TEST_GROUP(flint_type_name(t));
    ref_worst = 0.0;
    memset(gemm_worst, 0, sizeof gemm_worst);
    for (int a = 0; a < nk; a++)
        for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
            for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++) {
                /* keep the double reference affordable: the biggest shapes
                 * only for the smaller k */
                if (ms[i] * ns[j] * ks[a] > 4 * 1024 * 1024) continue;
                run_case(t, ms[i], ks[a], ns[j]);
            }
    printf("%s: scalar vs double worst %.3g of tol; prefill vs scalar worst", flint_type_name(t), ref_worst);
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
        if (isas[i].have) printf(" %s %.3g", isas[i].name, gemm_worst[i]);
    printf(" * 2^-23 * S\n");
}

static void test_errors(void) {
    TEST_GROUP("errors");
    fl_cpu_matmul *mm;
    CHECK(fl_cpu_matmul_create(NULL, FL_ISA_SCALAR, &mm) == FLINT_OK);
    uint8_t data[64] = {0};
    float x[64] = {0}, y[4];
    fl_weight w = {.type = FLINT_TYPE_Q8_K, .m = 1, .k = 256, .data = data, .row_bytes = 292};
    CHECK_FAILS(fl_cpu_matmul_run(mm, &w, x, y, 1), FLINT_E_UNSUPPORTED, "Q8_K");
    w = (fl_weight){.type = FLINT_TYPE_Q4_0, .m = 1, .k = 48, .data = data, .row_bytes = 27};
    CHECK_FAILS(fl_cpu_matmul_run(mm, &w, x, y, 1), FLINT_E_INVALID_ARG, "block size");
    w = (fl_weight){.type = FLINT_TYPE_Q4_0, .m = 1, .k = 32, .data = data, .row_bytes = 10};
    CHECK_FAILS(fl_cpu_matmul_run(mm, &w, x, y, 1), FLINT_E_INVALID_ARG, "row_bytes");
    w = (fl_weight){.type = FLINT_TYPE_MLX_Q4, .m = 1, .k = 64, .data = data, .row_bytes = 32,
                    .scales = data, .biases = data, .scale_type = FLINT_TYPE_F16, .group_size = 48};
    CHECK_FAILS(fl_cpu_matmul_run(mm, &w, x, y, 1), FLINT_E_UNSUPPORTED, "group size");
    w = (fl_weight){.type = FLINT_TYPE_Q4_0, .m = 1, .k = 32, .data = data, .row_bytes = 18};
    CHECK(fl_cpu_matmul_run(mm, &w, x, y, 0) == FLINT_OK);
    CHECK_FAILS(fl_cpu_matmul_run(mm, &w, x, y, -1), FLINT_E_INVALID_ARG, "negative");
    fl_cpu_matmul_free(mm);
}

/* ---- groups ---- */

typedef struct gspec {
    flint_type type;
    int64_t m, n;
    int input; /* jobs with the same input share x */
} gspec;

/* Runs specs as one group and one by one on isa (k = 256 for all) and
 * requires equal results. */
static void run_group(fl_cpu_isa isa, const char *isa_name, const char *what, const gspec *specs, int n_specs) {
    enum { K = 256, MAX_JOBS = 24, MAX_INPUTS = 8 };
    wbuf wb[MAX_JOBS];
    float *xs[MAX_INPUTS] = {0}, *yg[MAX_JOBS], *y1[MAX_JOBS];
    fl_matmul_job jobs[MAX_JOBS];
    for (int i = 0; i < n_specs; i++) {
        const gspec *g = &specs[i];
        make_weight(&wb[i], g->type, g->m, K);
        if (!xs[g->input]) {
            int64_t rows = 0; /* the longest n of the jobs reading this input */
            for (int j = 0; j < n_specs; j++)
                if (specs[j].input == g->input && specs[j].n > rows) rows = specs[j].n;
            xs[g->input] = malloc((size_t)(rows * K) * sizeof(float));
            for (int64_t e = 0; e < rows * K; e++) xs[g->input][e] = rndf() * (rnd() % 16 == 0 ? 4.0f : 1.0f);
        }
        yg[i] = malloc((size_t)(g->n * g->m) * sizeof(float));
        y1[i] = malloc((size_t)(g->n * g->m) * sizeof(float));
        for (int64_t e = 0; e < g->n * g->m; e++) yg[i][e] = y1[i][e] = NAN;
        jobs[i] = (fl_matmul_job){&wb[i].w, xs[g->input], yg[i], g->n};
    }
    fl_cpu_matmul *mm;
    CHECK(fl_cpu_matmul_create(pool2, isa, &mm) == FLINT_OK);
    for (int i = 0; i < n_specs; i++) CHECK(fl_cpu_matmul_run(mm, &wb[i].w, xs[specs[i].input], y1[i], specs[i].n) == FLINT_OK);
    flint_status st = fl_cpu_matmul_group(mm, jobs, n_specs);
    CHECK_MSG(st == FLINT_OK, "%s group %s: %s", isa_name, what, flint_errmsg());
    fl_cpu_matmul_free(mm);
    for (int i = 0; i < n_specs; i++) {
        int64_t off = 0, first = -1;
        for (int64_t e = 0; e < specs[i].n * specs[i].m; e++)
            if (memcmp(&yg[i][e], &y1[i][e], sizeof(float)) != 0 && off++ == 0) first = e;
        CHECK_MSG(off == 0, "%s group %s, job %d (%s m=%lld n=%lld): %lld outputs differ, first y[%lld] = %.9g, alone %.9g",
                  isa_name, what, i, flint_type_name(specs[i].type), (long long)specs[i].m, (long long)specs[i].n,
                  (long long)off, (long long)first, first >= 0 ? (double)yg[i][first] : 0.0,
                  first >= 0 ? (double)y1[i][first] : 0.0);
        free(yg[i]);
        free(y1[i]);
        free_weight(&wb[i]);
    }
    for (int i = 0; i < MAX_INPUTS; i++) free(xs[i]);
}

static void test_group_errors(void) {
    fl_cpu_matmul *mm;
    CHECK(fl_cpu_matmul_create(pool2, FL_ISA_SCALAR, &mm) == FLINT_OK);
    uint8_t data[18 * 8] = {0};
    float x[32] = {0}, y[8];
    for (int i = 0; i < 8; i++) y[i] = -1.0f;
    fl_weight good = {.type = FLINT_TYPE_Q4_0, .m = 8, .k = 32, .data = data, .row_bytes = 18};
    fl_weight bad = {.type = FLINT_TYPE_Q4_0, .m = 1, .k = 32, .data = data, .row_bytes = 10};
    fl_matmul_job jobs[2] = {{&good, x, y, 1}, {&bad, x, y, 1}};
    CHECK_FAILS(fl_cpu_matmul_group(mm, jobs, 2), FLINT_E_INVALID_ARG, "row_bytes");
    CHECK(y[0] == -1.0f && y[7] == -1.0f); /* nothing ran */
    jobs[1] = (fl_matmul_job){&good, x, NULL, 1};
    CHECK_FAILS(fl_cpu_matmul_group(mm, jobs, 2), FLINT_E_INVALID_ARG, "NULL x or y");
    jobs[1] = (fl_matmul_job){&good, NULL, NULL, 0}; /* n = 0: nothing to do */
    CHECK(fl_cpu_matmul_group(mm, jobs, 2) == FLINT_OK && y[0] == 0.0f);
    CHECK(fl_cpu_matmul_group(mm, NULL, 0) == FLINT_OK);
    CHECK_FAILS(fl_cpu_matmul_group(mm, jobs, -1), FLINT_E_INVALID_ARG, "negative");
    float xy[40] = {0};
    jobs[0] = (fl_matmul_job){&good, xy, xy + 32, 1};
    jobs[1] = (fl_matmul_job){&good, x, xy + 36, 1}; /* y[36..44) runs into y[32..40) */
    CHECK_FAILS(fl_cpu_matmul_group(mm, jobs, 2), FLINT_E_INVALID_ARG, "overlapping outputs");
    jobs[1] = (fl_matmul_job){&good, xy + 4, y, 1}; /* reads job 0's output */
    CHECK_FAILS(fl_cpu_matmul_group(mm, jobs, 2), FLINT_E_INVALID_ARG, "job 0's output overlaps job 1's input");
    jobs[1] = (fl_matmul_job){&good, xy, y, 1}; /* a shared input is fine */
    CHECK(fl_cpu_matmul_group(mm, jobs, 2) == FLINT_OK);
    fl_cpu_matmul_free(mm);
}

static void test_groups(void) {
    TEST_GROUP("groups");
    test_group_errors();
    /* q/k/v of one decode token: one input, three types */
    static const gspec qkv[] = {{FLINT_TYPE_Q4_0, 257, 1, 0}, {FLINT_TYPE_Q8_0, 64, 1, 0}, {FLINT_TYPE_Q6_K, 3, 1, 0}};
    /* n = 3: shared and distinct inputs, float, K-quant, MLX and the
     * dequantize fallback (Q2_K) */
    static const gspec mixed[] = {{FLINT_TYPE_Q4_K, 257, 3, 0}, {FLINT_TYPE_F16, 100, 3, 0},
                                  {FLINT_TYPE_BF16, 33, 3, 1},  {FLINT_TYPE_MLX_Q4, 65, 3, 1},
                                  {FLINT_TYPE_Q2_K, 17, 3, 2},  {FLINT_TYPE_IQ4_XS, 48, 3, 0},
                                  {FLINT_TYPE_F32, 1, 3, 2}};
    /* n = 17 (prefill): Q4_0 and Q8_0 pack the same codes twice, F16 and
     * BF16 the same floats, Q4_K runs decode tiles; plus a decode job */
    static const gspec prefill[] = {{FLINT_TYPE_Q4_0, 257, 17, 0}, {FLINT_TYPE_Q8_0, 130, 17, 0},
                                    {FLINT_TYPE_F16, 70, 17, 0},   {FLINT_TYPE_BF16, 64, 17, 0},
                                    {FLINT_TYPE_Q4_K, 90, 17, 0},  {FLINT_TYPE_Q4_0, 300, 1, 1}};
    /* a large n beside small ones, as a MoE prefill pass */
    static const gspec large[] = {{FLINT_TYPE_Q4_0, 200, 100, 0}, {FLINT_TYPE_Q8_0, 200, 100, 0},
                                  {FLINT_TYPE_Q4_0, 33, 5, 1},    {FLINT_TYPE_Q4_0, 33, 9, 2},
                                  {FLINT_TYPE_F32, 129, 40, 3}};
    /* the experts of one decode token: gate and up share x, downs each their own */
    gspec moe[24];
    for (int e = 0; e < 8; e++) {
        moe[2 * e] = (gspec){FLINT_TYPE_Q4_0, 96, 1, 0};
        moe[2 * e + 1] = (gspec){FLINT_TYPE_Q4_0, 96, 1, 0};
        moe[16 + e] = (gspec){e % 2 ? FLINT_TYPE_Q8_0 : FLINT_TYPE_Q4_0, 256, 1, 1 + e % 7};
    }
    fl_cpu_isa all[1 + sizeof isas / sizeof isas[0]];
    const char *names[1 + sizeof isas / sizeof isas[0]];
    int n_isa = 0;
    all[n_isa] = FL_ISA_SCALAR, names[n_isa++] = "scalar";
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
        if (isas[i].have) all[n_isa] = isas[i].isa, names[n_isa++] = isas[i].name;
    for (int i = 0; i < n_isa; i++) {
        run_group(all[i], names[i], "qkv", qkv, 3);
        run_group(all[i], names[i], "mixed", mixed, 7);
        run_group(all[i], names[i], "prefill", prefill, 6);
        run_group(all[i], names[i], "large", large, 5);
        run_group(all[i], names[i], "moe", moe, 24);
        setenv("FLINT_FP16_GEMM", "1", 1);
        run_group(all[i], names[i], "prefill fp16", prefill, 6);
        unsetenv("FLINT_FP16_GEMM");
        setenv("FLINT_AMX_PASSES", "2", 1);
        run_group(all[i], names[i], "prefill amx 2 passes", prefill, 6);
        unsetenv("FLINT_AMX_PASSES");
    }
}

/* ---- exact mode (fl_cpu_matmul_set_exact) ----
 * Every type but F32 against the double product of its reference
 * dequantization with x: f32 arithmetic only, no activation rounding, so
 * the F32 bound (k + 16) 2^-23 S for every type, on every table, decode and
 * prefill (the F32 GEMM over dequantized panels of 64 rows: m = 130 spans
 * three). With deterministic mode too, each row of a prefill equals that
 * row run alone bit for bit. The default mode's worst error on the same
 * cases is printed beside it, in the same units, for scale. */

/* F8_E4M3: random bytes but NaN (S.1111.111) */
static void make_f8(wbuf *b, int64_t m, int64_t k) {
    memset(b, 0, sizeof *b);
    b->w = (fl_weight){.type = FLINT_TYPE_F8_E4M3, .m = m, .k = k, .row_bytes = (uint64_t)k};
    b->data = malloc((size_t)(m * k));
    b->deq = malloc((size_t)(m * k) * sizeof(float));
    for (int64_t i = 0; i < m * k; i++) {
        uint8_t v = (uint8_t)rnd();
        b->data[i] = (v & 0x7f) == 0x7f ? (uint8_t)(v - 1) : v;
    }
    b->w.data = b->data;
    for (int64_t r = 0; r < m; r++) CHECK(fl_dequant_row(FLINT_TYPE_F8_E4M3, b->data + r * k, b->deq + r * k, k) == FLINT_OK);
}

static double exact_worst, default_worst; /* |err| / ((k + 16) 2^-23 S) */

/* How far y (row r of the weights against activation row xc) is from the
 * double dot of the dequantized row, in units of the f32 bound (k + 16)
 * 2^-23 S, S the sum of |w x|; *want gets the dot. */
static double f32_units(const wbuf *wb, const float *xc, int64_t k, int64_t r, float y, double *want) {
    double dot = 0.0, s = 0.0;
    for (int64_t i = 0; i < k; i++) {
        dot += (double)wb->deq[r * k + i] * (double)xc[i];
        s += fabs((double)wb->deq[r * k + i] * (double)xc[i]);
    }
    *want = dot;
    return fabs((double)y - dot) / (((double)k + 16.0) * (1.0 / 8388608.0) * s + 1e-30);
}

static void exact_case(fl_cpu_isa isa, const char *isa_name, flint_type t, int64_t m, int64_t k, int64_t n) {
    wbuf wb;
    if (t == FLINT_TYPE_F8_E4M3) make_f8(&wb, m, k);
    else make_weight(&wb, t, m, k);
    float *x = malloc((size_t)(n * k) * sizeof(float)), *y = malloc((size_t)(n * m) * sizeof(float));
    float *y1 = malloc((size_t)m * sizeof(float));
    for (int64_t i = 0; i < n * k; i++) x[i] = rndf() * (rnd() % 16 == 0 ? 4.0f : 1.0f);
    const char *tn = flint_type_name(t);
    fl_cpu_matmul *mm = NULL;
    for (int det = 0; det < 2; det++) {
        CHECK(fl_cpu_matmul_create(pool2, isa, &mm) == FLINT_OK);
        fl_cpu_matmul_set_exact(mm, true);
        fl_cpu_matmul_set_deterministic(mm, det);
        for (int64_t j = 0; j < n * m; j++) y[j] = NAN;
        flint_status st = fl_cpu_matmul_run(mm, &wb.w, x, y, n);
        CHECK_MSG(st == FLINT_OK, "exact %s %s: %s", isa_name, tn, flint_errmsg());
        int off = 0, moved = 0;
        for (int64_t c = 0; c < n; c++) {
            for (int64_t r = 0; r < m; r++) {
                double dot;
                const double e = f32_units(&wb, x + c * k, k, r, y[c * m + r], &dot);
                if (e > exact_worst) exact_worst = e;
                if (!(e <= 1.0) && off++ < 3)
                    CHECK_MSG(0, "exact %s%s %s m=%lld k=%lld n=%lld y[%lld][%lld] = %.9g, want %.9g", isa_name,
                              det ? " deterministic" : "", tn, (long long)m, (long long)k, (long long)n, (long long)c,
                              (long long)r, (double)y[c * m + r], dot);
            }
        }
        CHECK_MSG(off == 0, "exact %s %s m=%lld k=%lld n=%lld: %d outputs off", isa_name, tn, (long long)m, (long long)k,
                  (long long)n, off);
        /* deterministic: every row as run alone, bit for bit */
        for (int64_t c = 0; det && n > 1 && c < n; c += n / 3 + 1) {
            CHECK(fl_cpu_matmul_run(mm, &wb.w, x + c * k, y1, 1) == FLINT_OK);
            moved += memcmp(y1, y + c * m, (size_t)m * sizeof(float)) != 0;
        }
        CHECK_MSG(moved == 0, "exact deterministic %s %s m=%lld k=%lld n=%lld: rows differ from each run alone", isa_name,
                  tn, (long long)m, (long long)k, (long long)n);
        fl_cpu_matmul_free(mm);
    }
    /* the default mode on the same case, for scale (its own bounds are above) */
    CHECK(fl_cpu_matmul_create(pool2, isa, &mm) == FLINT_OK);
    CHECK(fl_cpu_matmul_run(mm, &wb.w, x, y, n) == FLINT_OK);
    fl_cpu_matmul_free(mm);
    for (int64_t c = 0; c < n; c++) {
        for (int64_t r = 0; r < m; r++) {
            double dot;
            const double e = f32_units(&wb, x + c * k, k, r, y[c * m + r], &dot);
            if (e > default_worst) default_worst = e;
        }
    }
    free(x);
    free(y);
    free(y1);
    free_weight(&wb);
}

static void test_exact(void) {
    static const flint_type types[] = {FLINT_TYPE_F16,    FLINT_TYPE_BF16,   FLINT_TYPE_Q4_0,   FLINT_TYPE_Q4_1,
                                       FLINT_TYPE_Q5_0,   FLINT_TYPE_Q5_1,   FLINT_TYPE_Q8_0,   FLINT_TYPE_IQ4_NL,
                                       FLINT_TYPE_MXFP4,  FLINT_TYPE_MLX_Q4, FLINT_TYPE_MLX_Q8, FLINT_TYPE_Q4_K,
                                       FLINT_TYPE_Q5_K,   FLINT_TYPE_Q6_K,   FLINT_TYPE_IQ4_XS, FLINT_TYPE_Q2_K,
                                       FLINT_TYPE_Q3_K,   FLINT_TYPE_F8_E4M3};
    static const int64_t ms[] = {3, 130}, ns[] = {1, 5, 8, 9, 40};
    TEST_GROUP("exact mode");
    fl_cpu_isa run[1 + sizeof isas / sizeof isas[0]] = {FL_ISA_SCALAR};
    const char *names[1 + sizeof isas / sizeof isas[0]] = {"scalar"};
    int n_run = 1;
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
        if (isas[i].have) run[n_run] = isas[i].isa, names[n_run++] = isas[i].name;
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const flint_type t = types[ti];
        const int64_t k = act_block(t) == 32 ? 160 : 256 + 256 * (int64_t)(t != FLINT_TYPE_F16 && t != FLINT_TYPE_BF16 && t != FLINT_TYPE_F8_E4M3);
        exact_worst = default_worst = 0;
        for (int a = 0; a < n_run; a++)
            for (size_t i = 0; i < 2; i++)
                for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++) exact_case(run[a], names[a], t, ms[i], k, ns[j]);
        printf("%s: exact worst %.3g, default worst %.3g of (k + 16) 2^-23 S\n", flint_type_name(t), exact_worst,
               default_worst);
    }
}

int main(void) {
    detect();
    CHECK(fl_pool_create(2, &pool2) == FLINT_OK);
    test_errors();

    static const int64_t k_float[] = {1, 17, 1000, 2000}; /* 2000: two weight chunks of the AMX GEMM */
    static const int64_t k_32[] = {96, 160, 800}; /* 800: 3 groups of 8 blocks and one more (the AVX-512 Q4_0/Q8_0 kernels) */
    static const int64_t k_256[] = {256, 768, 2560};
    const flint_type floats[] = {FLINT_TYPE_F32, FLINT_TYPE_F16, FLINT_TYPE_BF16};
    const flint_type b32[] = {FLINT_TYPE_Q4_0, FLINT_TYPE_Q4_1,   FLINT_TYPE_Q5_0,  FLINT_TYPE_Q5_1,
                              FLINT_TYPE_Q8_0, FLINT_TYPE_IQ4_NL, FLINT_TYPE_MXFP4, FLINT_TYPE_MLX_Q4,
                              FLINT_TYPE_MLX_Q8};
    const flint_type b256[] = {FLINT_TYPE_Q4_K, FLINT_TYPE_Q5_K, FLINT_TYPE_Q6_K, FLINT_TYPE_IQ4_XS,
                               FLINT_TYPE_Q2_K, FLINT_TYPE_Q3_K};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) sweep(floats[i], k_float, 4);
    /* the opt-in fp16 prefill GEMM for F16 / BF16 weights (AVX512-FP16 CPUs) */
    setenv("FLINT_FP16_GEMM", "1", 1);
    for (size_t i = 1; i < sizeof floats / sizeof floats[0]; i++) sweep(floats[i], k_float, 4);
    unsetenv("FLINT_FP16_GEMM");
    /* the AMX GEMM with fewer bf16 parts per activation */
    for (const char *p = "2\0" "1\0"; *p; p += 2) {
        setenv("FLINT_AMX_PASSES", p, 1);
        printf("FLINT_AMX_PASSES=%s:\n", p);
        sweep(FLINT_TYPE_BF16, k_float, 4);
    }
    unsetenv("FLINT_AMX_PASSES");
    for (size_t i = 0; i < sizeof b32 / sizeof b32[0]; i++) sweep(b32[i], k_32, 3);
    for (size_t i = 0; i < sizeof b256 / sizeof b256[0]; i++) sweep(b256[i], k_256, 3);

    test_groups();
    test_exact();

    TEST_GROUP("isas");
#if defined(__linux__)
    CHECK_MSG(fl_cpu_has_isa(FL_ISA_AMX) == isas[3].have, "cpuid and XCR0 say AMX %s, flint says %s",
              isas[3].have ? "yes" : "no", fl_cpu_has_isa(FL_ISA_AMX) ? "yes" : "no");
#endif
    printf("test_cpu_matmul: %lld cases; SIMD tables run:", (long long)n_cases);
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
        if (isas[i].have) printf(" %s", isas[i].name);
    printf("\n");
    fl_pool_free(pool2);
    return test_finish("test_cpu_matmul");
}
