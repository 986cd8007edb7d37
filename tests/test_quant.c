/* test_quant.c — the scalar reference (de)quantizers against fixtures made
 * by tools/gen_quant_fixtures.py from the gguf package, numpy and ml_dtypes
 * (format described in that script), plus error paths.
 *
 * Tolerances: none for dequantization. The gguf package computes every
 * ggml type in f32 with the same operations in the same order as ggml
 * (numpy float32 arithmetic rounds each operation exactly like C float
 * arithmetic without FMA), F16/BF16/F8/F4/F6 conversions are exact, and the
 * MLX expectation rounds in f32 exactly as flint does; so every value must
 * be bit-identical. The only exception is NaN: an expected NaN requires a
 * NaN, whatever its payload (numpy may quiet a signalling NaN or not,
 * depending on the SIMD path it takes). Quantizers: see check_quant(). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flint.h"
#include "harness.h"
#include "quant/dequant.h"
#include "quant/types.h"

#define QDIR "tests/fixtures/quant/"

static void *load(const char *name, size_t *len) {
    char path[512];
    snprintf(path, sizeof path, QDIR "%s", name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    void *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) != NULL) {
        if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (buf) *len = (size_t)size;
    return buf;
}

static bool type_by_name(const char *name, flint_type *out) {
    for (int t = 0; t < FLINT_TYPE_COUNT; t++) {
        const char *n = flint_type_name((flint_type)t);
        if (n && strcmp(n, name) == 0) {
            *out = (flint_type)t;
            return true;
        }
    }
    return false;
}

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Compares got[] with expected[] (f32 values read from a fixture): bitwise,
 * except that an expected NaN accepts any NaN. Returns the mismatch count
 * and prints the first few. */
static int64_t compare_f32(const char *what, const float *expected, const float *got, int64_t n) {
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        bool ok = isnan(expected[i]) ? isnan(got[i]) : bits_of(expected[i]) == bits_of(got[i]);
        if (!ok && bad++ < 5) {
            fprintf(stderr, "  %s[%lld]: got %.9g (0x%08x), expected %.9g (0x%08x)\n", what, (long long)i,
                    (double)got[i], bits_of(got[i]), (double)expected[i], bits_of(expected[i]));
        }
    }
    return bad;
}

/* dequant TYPE N SRC FILE */
static void check_dequant(const char *tname, int64_t n, const char *src, const char *file) {
    flint_type type;
    uint64_t in_bytes = 0;
    size_t len = 0;
    bool iota = strcmp(src, "iota16") == 0;
    if (!type_by_name(tname, &type) || !fl_type_row_bytes(type, (uint64_t)n, &in_bytes)) {
        CHECK_MSG(false, "dequant %s: bad manifest line", tname);
        return;
    }
    uint8_t *buf = load(file, &len);
    size_t want = (iota ? 0 : (size_t)in_bytes) + (size_t)n * sizeof(float);
    CHECK_MSG(buf && len == want, "%s: %zu bytes, expected %zu", file, len, want);
    if (!buf || len != want) {
        free(buf);
        return;
    }
    uint8_t *in = buf;
    if (iota) { /* all 65536 16-bit patterns, little-endian */
        in = malloc((size_t)in_bytes);
        for (int64_t i = 0; i < n; i++) {
            in[2 * i] = (uint8_t)(i & 0xff);
            in[2 * i + 1] = (uint8_t)(i >> 8);
        }
    }
    float *expected = malloc((size_t)n * sizeof(float));
    memcpy(expected, buf + (iota ? 0 : in_bytes), (size_t)n * sizeof(float));
    float *got = malloc((size_t)n * sizeof(float));
    flint_status st = fl_dequant_row(type, in, got, n);
    CHECK_MSG(st == FLINT_OK, "%s: %s", tname, flint_errmsg());
    if (st == FLINT_OK) {
        int64_t bad = compare_f32(tname, expected, got, n);
        CHECK_MSG(bad == 0, "dequant %s: %lld of %lld values differ", tname, (long long)bad, (long long)n);
        /* the public wrapper is the same function */
        float *again = malloc((size_t)n * sizeof(float));
        CHECK_INT_EQ(flint_dequantize(type, in, again, n), FLINT_OK);
        CHECK(memcmp(again, got, (size_t)n * sizeof(float)) == 0);
        free(again);
    }
    if (iota) free(in);
    free(expected);
    free(got);
    free(buf);
}

/* convert TYPE N FILE: f32 -> F16/BF16 encodings, and back. */
static void check_convert(const char *tname, int64_t n, const char *file) {
    flint_type type;
    size_t len = 0;
    uint8_t *buf = load(file, &len);
    bool ok = type_by_name(tname, &type) && buf && len == (size_t)n * 6;
    CHECK_MSG(ok, "convert %s: cannot use %s", tname, file);
    if (!ok) {
        free(buf);
        return;
    }
    float *x = malloc((size_t)n * sizeof(float));
    memcpy(x, buf, (size_t)n * sizeof(float));
    const uint8_t *expected = buf + (size_t)n * 4;
    uint8_t *got = malloc((size_t)n * 2);
    CHECK_INT_EQ(fl_quant_row(type, x, got, n), FLINT_OK);
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint16_t e = (uint16_t)(expected[2 * i] | expected[2 * i + 1] << 8);
        uint16_t g = (uint16_t)(got[2 * i] | got[2 * i + 1] << 8);
        /* F16 NaN: any NaN (numpy's cast keeps signalling NaNs signalling) */
        bool match = e == g || (type == FLINT_TYPE_F16 && isnan(x[i]) && (g & 0x7c00) == 0x7c00 && (g & 0x3ff));
        if (!match && bad++ < 5) {
            fprintf(stderr, "  %s(%.9g = 0x%08x): got 0x%04x, expected 0x%04x\n", tname, (double)x[i], bits_of(x[i]),
                    g, e);
        }
    }
    CHECK_MSG(bad == 0, "convert %s: %lld of %lld encodings differ", tname, (long long)bad, (long long)n);
    /* decoding an encoding and encoding it again is the identity */
    float *y = malloc((size_t)n * sizeof(float));
    uint8_t *again = malloc((size_t)n * 2);
    CHECK_INT_EQ(fl_dequant_row(type, got, y, n), FLINT_OK);
    CHECK_INT_EQ(fl_quant_row(type, y, again, n), FLINT_OK);
    int64_t unstable = 0;
    for (int64_t i = 0; i < n; i++) unstable += !isnan(x[i]) && memcmp(got + 2 * i, again + 2 * i, 2) != 0;
    CHECK_MSG(unstable == 0, "convert %s: %lld values change when encoded twice", tname, (long long)unstable);
    free(again);
    free(y);
    free(got);
    free(x);
    free(buf);
}

static double sq_err(const float *x, const float *y, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
    return s;
}

/* quant TYPE N INPUT REF REF_RMSE BOUND
 *   - Where gguf has a quantizer (Q8_0, Q4_0): flint's RMSE must not exceed
 *     gguf's by more than 1e-6 relative (room for the order of a double
 *     sum only; the algorithms are the same), and the bytes must be equal
 *     (both restate llama.cpp's reference quantizers, whose arithmetic is
 *     exact f32 without FMA).
 *   - K-quants: relative RMSE <= BOUND (derivation in the generator).
 *   - An all-zero block comes back as exact zeros.
 *   - Q8_0/Q4_0: quantizing the dequantized values gives the same bytes
 *     again (the grid points are fixed points); K-quants: the values come
 *     back no worse than the first round trip (the searches may pick
 *     another but equally good encoding). */
static void check_quant(const char *tname, int64_t n, const char *input, const char *ref, const char *ref_rmse,
                        const char *bound) {
    flint_type type;
    uint64_t qbytes = 0;
    size_t len = 0;
    float *x = load(input, &len);
    bool ok = type_by_name(tname, &type) && fl_type_row_bytes(type, (uint64_t)n, &qbytes) && x &&
              len == (size_t)n * sizeof(float);
    CHECK_MSG(ok, "quant %s: cannot use %s", tname, input);
    if (!ok) {
        free(x);
        return;
    }
    int64_t bs = fl_type_get(type)->block_size, tsize = fl_type_get(type)->type_size, nb = n / bs;
    uint8_t *q = malloc((size_t)qbytes), *q2 = malloc((size_t)qbytes);
    float *y = malloc((size_t)n * sizeof(float)), *y2 = malloc((size_t)n * sizeof(float));
    CHECK_INT_EQ(fl_quant_row(type, x, q, n), FLINT_OK);
    CHECK_INT_EQ(fl_dequant_row(type, q, y, n), FLINT_OK);
    double err = sq_err(x, y, n), energy = 0;
    for (int64_t i = 0; i < n; i++) energy += (double)x[i] * x[i];
    double rmse = sqrt(err / (double)n), rel = sqrt(err / energy);
    printf("  %-5s flint rmse %.6e (relative %.5f)", tname, rmse, rel);

    if (strcmp(ref, "-") != 0) {
        size_t rlen = 0;
        uint8_t *rq = load(ref, &rlen);
        CHECK_MSG(rq && rlen == (size_t)qbytes, "%s: %zu bytes, expected %llu", ref, rlen, (unsigned long long)qbytes);
        if (rq && rlen == (size_t)qbytes) {
            double gguf_rmse = strtod(ref_rmse, NULL);
            int64_t blocks_differ = 0;
            for (int64_t b = 0; b < nb; b++) blocks_differ += memcmp(q + b * tsize, rq + b * tsize, (size_t)tsize) != 0;
            printf(", gguf rmse %.6e, bytes %s (%lld of %lld blocks differ)", gguf_rmse,
                   blocks_differ ? "DIFFER" : "identical", (long long)blocks_differ, (long long)nb);
            CHECK_MSG(rmse <= gguf_rmse * (1 + 1e-6), "%s: rmse %.9g > gguf %.9g", tname, rmse, gguf_rmse);
            CHECK_MSG(blocks_differ == 0, "%s: %lld blocks differ from gguf", tname, (long long)blocks_differ);
            /* flint's decoder on gguf's bytes reproduces gguf's own error */
            CHECK_INT_EQ(fl_dequant_row(type, rq, y2, n), FLINT_OK);
            CHECK_NEAR(sqrt(sq_err(x, y2, n) / (double)n), gguf_rmse, gguf_rmse * 1e-9);
        }
        free(rq);
    }
    if (strcmp(bound, "-") != 0) {
        double b = strtod(bound, NULL);
        printf(", bound %.4f", b);
        CHECK_MSG(rel <= b, "%s: relative rmse %.6f > bound %.6f", tname, rel, b);
    }
    printf("\n");

    for (int64_t b = 0; b < nb; b++) {
        bool zero = true;
        for (int64_t i = 0; i < bs && zero; i++) zero = x[b * bs + i] == 0.0f;
        if (!zero) continue;
        bool all_zero = true;
        for (int64_t i = 0; i < bs; i++) all_zero = all_zero && y[b * bs + i] == 0.0f;
        CHECK_MSG(all_zero, "%s: zero block %lld does not dequantize to zeros", tname, (long long)b);
    }

    CHECK_INT_EQ(fl_quant_row(type, y, q2, n), FLINT_OK);
    if (type == FLINT_TYPE_Q8_0 || type == FLINT_TYPE_Q4_0) {
        CHECK_MSG(memcmp(q, q2, (size_t)qbytes) == 0, "%s: requantizing dequantized values changes the bytes", tname);
    } else {
        CHECK_INT_EQ(fl_dequant_row(type, q2, y2, n), FLINT_OK);
        double err2 = sq_err(y, y2, n);
        CHECK_MSG(err2 <= err, "%s: second round trip error %.6g > first %.6g", tname, err2, err);
    }
    free(y2);
    free(y);
    free(q2);
    free(q);
    free(x);
}

/* mlx BITS GROUP STYPE ROWS NIN FILE */
static void check_mlx(int bits, int group, const char *sname, int64_t rows, int64_t n_in, const char *file) {
    flint_type stype;
    size_t len = 0;
    uint8_t *buf = load(file, &len);
    bool ok = type_by_name(sname, &stype) && buf;
    int64_t ssize = ok ? fl_type_get(stype)->type_size : 0;
    int64_t wbytes = rows * n_in * bits / 8, sbytes = rows * (n_in / group) * ssize;
    ok = ok && len == (size_t)(wbytes + 2 * sbytes + rows * n_in * 4);
    CHECK_MSG(ok, "mlx: cannot use %s", file);
    if (!ok) {
        free(buf);
        return;
    }
    const uint8_t *w = buf, *scales = buf + wbytes, *biases = scales + sbytes;
    float *expected = malloc((size_t)(rows * n_in) * sizeof(float));
    float *got = malloc((size_t)(rows * n_in) * sizeof(float));
    memcpy(expected, biases + sbytes, (size_t)(rows * n_in) * sizeof(float));
    for (int64_t r = 0; r < rows; r++) {
        flint_status st = fl_dequant_mlx_row(bits == 4 ? FLINT_TYPE_MLX_Q4 : FLINT_TYPE_MLX_Q8, group, stype,
                                             w + r * (n_in * bits / 8),
                                             scales + r * (sbytes / rows), biases + r * (sbytes / rows),
                                             got + r * n_in, n_in);
        CHECK_MSG(st == FLINT_OK, "%s: %s", file, flint_errmsg());
    }
    int64_t bad = compare_f32(file, expected, got, rows * n_in);
    CHECK_MSG(bad == 0, "%s: %lld values differ", file, (long long)bad);
    free(got);
    free(expected);
    free(buf);
}

static void run_manifest(void) {
    char line[1024];
    FILE *f = fopen(QDIR "manifest.txt", "r");
    CHECK_MSG(f != NULL, "missing " QDIR "manifest.txt (run tools/make_fixtures.sh)");
    if (!f) return;
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char kind[32], a[64], b[256], c[256], d[256], e[64], g[64];
        long long n, m, k;
        int bits, group;
        if (line[0] == '#' || sscanf(line, "%31s", kind) != 1) continue;
        cases++;
        if (strcmp(kind, "dequant") == 0 && sscanf(line, "%*s %63s %lld %255s %255s", a, &n, b, c) == 4) {
            TEST_GROUP("dequant");
            check_dequant(a, n, b, c);
        } else if (strcmp(kind, "convert") == 0 && sscanf(line, "%*s %63s %lld %255s", a, &n, b) == 3) {
            TEST_GROUP("convert");
            check_convert(a, n, b);
        } else if (strcmp(kind, "quant") == 0 &&
                   sscanf(line, "%*s %63s %lld %255s %255s %255s %63s", a, &n, b, c, d, e) == 6) {
            TEST_GROUP("quant");
            check_quant(a, n, b, c, d, e);
        } else if (strcmp(kind, "mlx") == 0 &&
                   sscanf(line, "%*s %d %d %63s %lld %lld %63s", &bits, &group, g, &m, &k, a) == 6) {
            TEST_GROUP("mlx");
            check_mlx(bits, group, g, m, k, a);
        } else {
            CHECK_MSG(false, "unreadable manifest line: %s", line);
        }
    }
    fclose(f);
    CHECK_MSG(cases >= 40, "only %d cases in the manifest", cases);
}

/* Every f16 pattern survives f16 -> f32 -> f16 (NaN stays NaN); every bf16
 * pattern likewise. */
static void test_half_round_trip(void) {
    TEST_GROUP("half");
    int bad16 = 0, badbf = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t back = fl_f32_to_f16(fl_f16_to_f32((uint16_t)h));
        bool nan16 = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        bad16 += nan16 ? !((back & 0x7c00) == 0x7c00 && (back & 0x3ff)) : back != h;
        uint16_t bback = fl_f32_to_bf16(fl_bf16_to_f32((uint16_t)h));
        bool nanbf = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
        badbf += nanbf ? !isnan(fl_bf16_to_f32(bback)) : bback != h;
    }
    CHECK_INT_EQ(bad16, 0);
    CHECK_INT_EQ(badbf, 0);
}

static void test_errors(void) {
    TEST_GROUP("errors");
    uint8_t buf[512] = {0};
    float y[512], x[512] = {0};
    uint32_t w[64] = {0};
    uint16_t s[8] = {0};
    CHECK_FAILS(fl_dequant_row(FLINT_TYPE_Q4_K, buf, y, 100), FLINT_E_INVALID_ARG, "multiple of the block size 256");
    CHECK_FAILS(flint_dequantize(FLINT_TYPE_Q4_0, buf, y, 33), FLINT_E_INVALID_ARG, "Q4_0");
    CHECK_FAILS(fl_dequant_row(FLINT_TYPE_Q8_0, buf, y, -32), FLINT_E_INVALID_ARG, "negative");
    CHECK_FAILS(fl_dequant_row(FLINT_TYPE_IQ2_XXS, buf, y, 256), FLINT_E_UNSUPPORTED, "IQ2_XXS");
    CHECK_FAILS(fl_dequant_row(FLINT_TYPE_I32, buf, y, 4), FLINT_E_UNSUPPORTED, "I32");
    CHECK_FAILS(fl_dequant_row(FLINT_TYPE_MLX_Q4, buf, y, 8), FLINT_E_UNSUPPORTED, "scales and biases");
    CHECK_FAILS(fl_dequant_row((flint_type)999, buf, y, 32), FLINT_E_INVALID_ARG, "not a flint type");
    CHECK_FAILS(fl_dequant_row(FLINT_TYPE_Q8_0, NULL, y, 32), FLINT_E_INVALID_ARG, "NULL");
    CHECK_INT_EQ(fl_dequant_row(FLINT_TYPE_Q8_0, NULL, NULL, 0), FLINT_OK);

    CHECK_FAILS(fl_quant_row(FLINT_TYPE_Q8_0, x, buf, 31), FLINT_E_INVALID_ARG, "multiple of the block size 32");
    CHECK_FAILS(fl_quant_row(FLINT_TYPE_Q4_1, x, buf, 32), FLINT_E_UNSUPPORTED, "Q4_1");
    CHECK_FAILS(fl_quant_row(FLINT_TYPE_IQ2_XXS, x, buf, 256), FLINT_E_UNSUPPORTED, "IQ2_XXS");
    x[7] = NAN;
    CHECK_FAILS(fl_quant_row(FLINT_TYPE_Q4_K, x, buf, 256), FLINT_E_INVALID_ARG, "element 7 is not finite");
    x[7] = INFINITY;
    CHECK_FAILS(fl_quant_row(FLINT_TYPE_Q8_0, x, buf, 32), FLINT_E_INVALID_ARG, "not finite");
    CHECK_INT_EQ(fl_quant_row(FLINT_TYPE_F16, x, buf, 32), FLINT_OK); /* inf is an f16 value */

    CHECK_FAILS(fl_dequant_mlx_row(FLINT_TYPE_MLX_Q4, 16, FLINT_TYPE_F16, w, s, s, y, 64), FLINT_E_UNSUPPORTED,
                "group size 16");
    CHECK_FAILS(fl_dequant_mlx_row(FLINT_TYPE_MLX_Q4, 64, FLINT_TYPE_Q8_0, w, s, s, y, 64), FLINT_E_UNSUPPORTED, "Q8_0");
    CHECK_FAILS(fl_dequant_mlx_row(FLINT_TYPE_MLX_Q8, 64, FLINT_TYPE_BF16, w, s, s, y, 100), FLINT_E_INVALID_ARG,
                "group size 64");
    CHECK_INT_EQ(fl_dequant_mlx_row(FLINT_TYPE_MLX_Q8, 32, FLINT_TYPE_BF16, w, s, s, y, 64), FLINT_OK);
}

/* Spot values that do not depend on the fixtures. */
static void test_spot_values(void) {
    TEST_GROUP("spot");
    /* MXFP4 e = 0, 1 use ggml's subnormal half scales 2^-128, 2^-127 */
    uint8_t mx[17] = {0, 0x71}; /* element 0: code 1 (= 1), element 16: code 7 (= 12) */
    float y[32];
    CHECK_INT_EQ(fl_dequant_row(FLINT_TYPE_MXFP4, mx, y, 32), FLINT_OK);
    CHECK(y[0] == ldexpf(1.0f, -128) && y[16] == ldexpf(12.0f, -128));
    mx[0] = 1;
    CHECK_INT_EQ(fl_dequant_row(FLINT_TYPE_MXFP4, mx, y, 32), FLINT_OK);
    CHECK(y[0] == ldexpf(1.0f, -127));
    mx[0] = 128; /* scale 2^(128-127) = 2 times E2M1 values 0.5 and 6 */
    CHECK_INT_EQ(fl_dequant_row(FLINT_TYPE_MXFP4, mx, y, 32), FLINT_OK);
    CHECK(y[0] == 1.0f && y[16] == 12.0f && y[1] == 0.0f);
    /* F6 bit order: elements 0..3 at bits 0, 6, 12, 18 of a 24-bit LE word */
    uint32_t word = 0x08u | 0x18u << 6 | 0x20u << 12 | 0x3fu << 18; /* 1.0, 4.0, -0, -7.5 in E2M3 */
    uint8_t f6[3] = {(uint8_t)word, (uint8_t)(word >> 8), (uint8_t)(word >> 16)};
    CHECK_INT_EQ(fl_dequant_row(FLINT_TYPE_F6_E2M3, f6, y, 4), FLINT_OK);
    CHECK(y[0] == 1.0f && y[1] == 4.0f && y[2] == 0.0f && signbit(y[2]) && y[3] == -7.5f);
    /* F4: low nibble first */
    uint8_t f4 = 0x2f; /* low 0xf = -6, high 0x2 = 1.0 */
    CHECK_INT_EQ(fl_dequant_row(FLINT_TYPE_F4_E2M1, &f4, y, 2), FLINT_OK);
    CHECK(y[0] == -6.0f && y[1] == 1.0f);
    /* f32 -> f16 ties to even, and overflow to inf at the midpoint 65520 */
    CHECK_INT_EQ(fl_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
    CHECK_INT_EQ(fl_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
    CHECK_INT_EQ(fl_f32_to_f16(65519.0f), 0x7bff);
    CHECK_INT_EQ(fl_f32_to_f16(65520.0f), 0x7c00);
    CHECK_INT_EQ(fl_f32_to_f16(0x1p-25f), 0x0000);
    CHECK_INT_EQ(fl_f32_to_f16(0x1.8p-25f), 0x0001);
    CHECK_INT_EQ(fl_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
    CHECK_INT_EQ(fl_f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
}

/* Finite but extreme inputs (f32 subnormals, values near FLT_MAX, blocks
 * whose scale underflows f16) must quantize without undefined behaviour
 * (the sanitizer build checks float-to-int conversions); the values that
 * come back are not checked, they may be inf or 0. */
static void test_extreme_inputs(void) {
    TEST_GROUP("extreme");
    static const float scales[] = {1e-45f, 1e-40f, 1e-30f, 1e-8f, 1e4f, 1e30f, 3.4e38f};
    static const flint_type types[] = {FLINT_TYPE_Q8_0, FLINT_TYPE_Q4_0, FLINT_TYPE_Q4_K, FLINT_TYPE_Q5_K,
                                       FLINT_TYPE_Q6_K};
    static float x[512], y[512];
    static uint8_t q[512 * 2];
    for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++) {
        for (int i = 0; i < 512; i++) {
            /* a fixed pseudo-random pattern in [-1, 1], with a few zeros */
            uint32_t h = (uint32_t)i * 2654435761u;
            x[i] = i % 7 == 0 ? 0.0f : ((float)(h >> 8) / 8388608.0f - 1.0f) * scales[s];
        }
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            CHECK_INT_EQ(fl_quant_row(types[t], x, q, 512), FLINT_OK);
            CHECK_INT_EQ(fl_dequant_row(types[t], q, y, 512), FLINT_OK);
        }
    }
}

int main(void) {
    test_errors();
    test_extreme_inputs();
    test_spot_values();
    test_half_round_trip();
    run_manifest();
    return test_finish("quant");
}
