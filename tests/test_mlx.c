/* test_mlx.c — MLX folders (the layout mlx-lm writes, MODELS.md §11)
 * against mlx-lm and mlx.core themselves (tools/gen_mlx_fixtures.py):
 *   dequant  every mode, bit width, group size and scale dtype of
 *            tests/fixtures/mlx/dequant against mlx.core.dequantize, bit
 *            for bit (the f32 arithmetic of MLX's matmul, quant/mlx.c);
 *   logits   each folder under tests/fixtures/mlx against mlx-lm's logits
 *            computed on the CPU in float32, in exact mode within 1e-4 of
 *            max|logit| (every scale dtype: MLX's quantized matmul forms
 *            scale * q + bias in f32 for f32 inputs whatever the scales'
 *            dtype, as flint does), and in the default mode within the
 *            bound of its case (8-bit activations of the MLX 4/8-bit
 *            kernels; the other types run the f32 row path there too);
 *   hostile  folders written here with one module broken: scales of the
 *            wrong shape, a config naming bits 7 or groups of 48, codes
 *            whose words do not match the shape, and more — each refused
 *            with a message naming the tensor. */
#include <sys/stat.h>

#include "model_fixture.h"
#include "quant/dequant.h"
#include "quant/types.h"

#define MLX_DIR FIXTURE_DIR "/mlx"

static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ---- dequantization against mlx.core ---- */

static fl_backend *cpu[2]; /* default, exact */

/* The CPU matmul of w, for decode (n 3) and prefill (n 20, the GEMMs),
 * against x . deq^T in double: exact mode and the f32 row path within
 * 2e-6 of sum |x w|; the int8 kernels of MLX 4/8-bit (8-bit activations)
 * within 1e-2 of it. */
static void check_matmul(const fl_weight *w, const float *deq_unaligned, const char *what) {
    const int64_t k = w->k, m = w->m;
    float *deq = malloc((size_t)(m * k) * sizeof *deq), *x = malloc((size_t)(20 * k) * sizeof *x);
    float *y = malloc((size_t)(20 * m) * sizeof *y);
    memcpy(deq, deq_unaligned, (size_t)(m * k) * sizeof *deq);
    for (int64_t i = 0; i < 20 * k; i++) x[i] = (float)((i * 7919) % 201 - 100) / 64.0f;
    const bool int8 = w->type == FLINT_TYPE_MLX_Q4 || w->type == FLINT_TYPE_MLX_Q8;
    for (int e = 0; e < 2; e++)
        for (int64_t n = 3; n <= 20; n += 17) {
            flint_status st = cpu[e]->ops->matmul(cpu[e], w, x, y, n);
            CHECK_MSG(st == FLINT_OK, "%s: matmul: %s", what, flint_errmsg());
            double worst = 0;
            for (int64_t c = 0; c < n; c++)
                for (int64_t r = 0; r < m; r++) {
                    double ref = 0, mag = 0;
                    for (int64_t i = 0; i < k; i++)
                        ref += (double)x[c * k + i] * deq[r * k + i], mag += fabs((double)x[c * k + i] * deq[r * k + i]);
                    worst = fmax(worst, fabs(y[c * m + r] - ref) / mag);
                }
            const double tol = e == 0 && int8 ? 1e-2 : 2e-6;
            CHECK_MSG(worst < tol, "%s: %s matmul n=%lld: error %.3g of sum|xw| (bound %.g)", what,
                      e ? "exact" : "default", (long long)n, worst, tol);
        }
    free(deq), free(x), free(y);
}

static void check_dequant_case(const char *mode, int bits, int group, const char *sdt, int64_t rows, int64_t k,
                               const char *file) {
    fl_mlx_mode m = strcmp(mode, "affine") == 0  ? FL_MLX_AFFINE
                    : strcmp(mode, "mxfp4") == 0 ? FL_MLX_MXFP4
                    : strcmp(mode, "mxfp8") == 0 ? FL_MLX_MXFP8
                                                 : FL_MLX_NVFP4;
    flint_type type, st = strcmp(sdt, "float16") == 0    ? FLINT_TYPE_F16
                          : strcmp(sdt, "bfloat16") == 0 ? FLINT_TYPE_BF16
                          : strcmp(sdt, "float32") == 0  ? FLINT_TYPE_F32
                          : m == FL_MLX_NVFP4            ? FLINT_TYPE_F8_E4M3
                                                         : FLINT_TYPE_F8_E8M0;
    char path[320];
    snprintf(path, sizeof path, MLX_DIR "/dequant/%s", file);
    size_t len = 0;
    uint8_t *buf = read_all(path, &len);
    const int64_t cb = k * bits / 8, sb = (k / group) * fl_type_get(st)->type_size;
    const int64_t want = rows * (cb + (m == FL_MLX_AFFINE ? 2 : 1) * sb + k * 4);
    if (!buf || !fl_mlx_type(m, bits, &type) || (int64_t)len != want) {
        CHECK_MSG(0, "%s: missing, or %zu bytes where %lld were expected", path, len, (long long)want);
        free(buf);
        return;
    }
    const uint8_t *codes = buf, *scales = codes + rows * cb, *biases = scales + rows * sb;
    const uint8_t *expected = (m == FL_MLX_AFFINE ? biases + rows * sb : biases);
    float *y = malloc((size_t)k * sizeof *y);
    int64_t bad = 0;
    for (int64_t r = 0; r < rows; r++) {
        flint_status s = fl_dequant_mlx_row(type, group, st, codes + r * cb, scales + r * sb,
                                            m == FL_MLX_AFFINE ? biases + r * sb : NULL, y, k);
        CHECK_MSG(s == FLINT_OK, "%s: %s", file, flint_errmsg());
        for (int64_t i = 0; i < k; i++) bad += memcmp(&y[i], expected + 4 * (r * k + i), 4) != 0;
    }
    CHECK_MSG(bad == 0, "%s: %lld of %lld values differ from mlx.core.dequantize", file, (long long)bad,
              (long long)(rows * k));
    const fl_weight w = {.type = type, .m = rows, .k = k, .data = codes, .row_bytes = (uint64_t)cb, .scales = scales,
                         .biases = m == FL_MLX_AFFINE ? biases : NULL, .scale_type = st, .group_size = group};
    check_matmul(&w, (const float *)(const void *)expected, file);
    free(y);
    free(buf);
}

static void test_dequant(void) {
    TEST_GROUP("dequant and matmul vs mlx.core");
    for (int e = 0; e < 2; e++) {
        CHECK(fl_cpu_backend_create(2, FL_ISA_AUTO, &cpu[e]) == FLINT_OK);
        fl_cpu_backend_set_exact(cpu[e], e == 1);
    }
    FILE *f = fopen(MLX_DIR "/dequant/manifest.txt", "r");
    CHECK_MSG(f != NULL, "missing " MLX_DIR "/dequant/manifest.txt (run tools/gen_mlx_fixtures.py)");
    if (!f) return;
    char line[512], mode[16], sdt[16], file[128];
    int cases = 0, bits, group;
    long long rows, k;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        if (sscanf(line, "%15s %d %d %15s %lld %lld %127s", mode, &bits, &group, sdt, &rows, &k, file) != 7) {
            CHECK_MSG(0, "unreadable manifest line: %s", line);
            continue;
        }
        check_dequant_case(mode, bits, group, sdt, rows, k, file);
        cases++;
    }
    fclose(f);
    printf("  %d cases\n", cases);
    CHECK_MSG(cases == 7 * 3 * 3 + 3, "%d dequantization cases (expected 66)", cases);

    /* the checks the decoder makes itself */
    uint32_t w[64] = {0};
    uint16_t s[8] = {0};
    float y[256];
    CHECK_FAILS(fl_dequant_mlx_row(FLINT_TYPE_MLX_Q4, 48, FLINT_TYPE_F16, w, s, s, y, 96), FLINT_E_UNSUPPORTED,
                "group size 48");
    CHECK_FAILS(fl_dequant_mlx_row(FLINT_TYPE_MLX_NVFP4, 32, FLINT_TYPE_F8_E4M3, w, s, NULL, y, 64),
                FLINT_E_UNSUPPORTED, "16");
    CHECK_FAILS(fl_dequant_mlx_row(FLINT_TYPE_MLX_MXFP4, 32, FLINT_TYPE_BF16, w, s, NULL, y, 64), FLINT_E_UNSUPPORTED,
                "F8_E8M0");
    CHECK_FAILS(fl_dequant_mlx_row(FLINT_TYPE_Q4_0, 32, FLINT_TYPE_F16, w, s, s, y, 64), FLINT_E_INVALID_ARG,
                "not an MLX type");
    CHECK_FAILS(fl_dequant_mlx_row(FLINT_TYPE_MLX_Q3, 64, FLINT_TYPE_BF16, w, s, s, y, 100), FLINT_E_INVALID_ARG,
                "group size 64");
    CHECK_FAILS(fl_dequant_mlx_row(FLINT_TYPE_MLX_Q3, 32, FLINT_TYPE_BF16, w, s, NULL, y, 64), FLINT_E_INVALID_ARG,
                "NULL");
    CHECK_FAILS(fl_dequant_row(FLINT_TYPE_MLX_Q5, w, y, 32), FLINT_E_UNSUPPORTED, "scales");
    /* the type table: names, and rows of k * bits / 8 bytes */
    static const struct { flint_type t; const char *name; int bits; } types[] = {
        {FLINT_TYPE_MLX_Q1, "MLX_Q1", 1}, {FLINT_TYPE_MLX_Q2, "MLX_Q2", 2},       {FLINT_TYPE_MLX_Q3, "MLX_Q3", 3},
        {FLINT_TYPE_MLX_Q4, "MLX_Q4", 4}, {FLINT_TYPE_MLX_Q5, "MLX_Q5", 5},       {FLINT_TYPE_MLX_Q6, "MLX_Q6", 6},
        {FLINT_TYPE_MLX_Q8, "MLX_Q8", 8}, {FLINT_TYPE_MLX_MXFP4, "MLX_MXFP4", 4}, {FLINT_TYPE_MLX_MXFP8, "MLX_MXFP8", 8},
        {FLINT_TYPE_MLX_NVFP4, "MLX_NVFP4", 4},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        uint64_t rb = 0;
        CHECK_STR_EQ(flint_type_name(types[i].t), types[i].name);
        CHECK_MSG(fl_type_row_bytes(types[i].t, 128, &rb) && rb == 16u * (uint64_t)types[i].bits &&
                      fl_mlx_bits(types[i].t) == types[i].bits,
                  "%s: %llu bytes for 128 elements", types[i].name, (unsigned long long)rb);
    }
    const fl_weight bad = {.type = FLINT_TYPE_MLX_MXFP4, .m = 1, .k = 64, .data = w, .row_bytes = 32, .scales = s,
                           .scale_type = FLINT_TYPE_BF16, .group_size = 32};
    CHECK_FAILS(cpu[0]->ops->matmul(cpu[0], &bad, y, y + 64, 1), FLINT_E_UNSUPPORTED, "F8_E8M0");
    for (int e = 0; e < 2; e++) cpu[e]->ops->free(cpu[e]);
}

/* ---- logits against mlx-lm ---- */

typedef struct mlx_case {
    const char *dir;     /* under MLX_DIR */
    double default_tol;  /* max|d| / max|ref| of the default mode */
} mlx_case;

/* The default mode's bounds. Folders with MLX 4- or 8-bit affine matrices
 * (mlx-lm's 8-bit router overrides included) run those through the integer
 * kernels on 8-bit activations: their error is what the default's
 * activation rounding does to these 64-wide random models, as measured for
 * GGUF Q8_0/Q4_0 on the same models (docs/PERF.md: 6-7e-2 Gemma 3/4,
 * 0.5 Gemma 4 MoE, 0.2-1.2 Qwen3.5 whose DeltaNet mixers and MoE routers
 * amplify it), each bound about 2x the measured value. The other folders
 * (3, 5, 2/6 bits, bf16) dequantize rows into f32 as exact mode does. */
static const mlx_case cases[] = {
    {"gemma3-q4", 1e-1},       {"gemma3-q3-g32-f16", 1e-4}, {"gemma3-q8", 1.5e-1},     {"gemma4a-q4-g32", 1.5e-1},
    {"gemma4b-q4", 5e-1},      {"gemma4b-nvfp4", 1e-1},     {"qwen35-mixed26", 1e-4},  {"qwen35-q8-g32-f32", 3e-1},
    {"qwen35-bf16", 1e-4},     {"qwen35moe-mxfp4", 1.6},    {"qwen35moe-q5-g32", 2e-1},
};

static void test_logits(void) {
    TEST_GROUP("logits vs mlx-lm");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[128];
        snprintf(dir, sizeof dir, MLX_DIR "/%s", cases[i].dir);
        fixture f;
        if (!load_fixture(dir, &f)) {
            CHECK_MSG(0, "%s: fixture files", dir);
            continue;
        }
        fixture_exact = true;
        const double exact = check_model_kv(dir, &f, FLINT_KV_F32, 1e-4, 0, 0);
        fixture_exact = false;
        const double fast = check_model_kv(dir, &f, FLINT_KV_F32, cases[i].default_tol, 0, 0);
        printf("  %-44s exact %.2e, default %.2e\n", dir, exact, fast);
        free(f.logits);
    }
}

/* ---- hostile folders ---- */

typedef struct st_tensor {
    const char *name, *dtype;
    int64_t shape[3];
    int n_dims;
} st_tensor;

static int64_t dtype_size(const char *d) {
    return strcmp(d, "U8") == 0 ? 1 : strcmp(d, "BF16") == 0 || strcmp(d, "F16") == 0 ? 2 : 4;
}

/* A safetensors file of zero-filled tensors. */
static void write_safetensors(const char *path, const st_tensor *t, int n) {
    char header[4096] = "{";
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        int64_t bytes = dtype_size(t[i].dtype);
        char shape[64] = "";
        for (int d = 0; d < t[i].n_dims; d++) {
            bytes *= t[i].shape[d];
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", d ? "," : "",
                     (long long)t[i].shape[d]);
        }
        snprintf(header + strlen(header), sizeof header - strlen(header),
                 "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%lld,%lld]}", i ? "," : "", t[i].name,
                 t[i].dtype, shape, (long long)off, (long long)(off + bytes));
        off += bytes;
    }
    strcat(header, "}");
    uint64_t hlen = strlen(header);
    FILE *f = fopen(path, "wb");
    for (int b = 0; b < 8; b++) fputc((int)((hlen >> (8 * b)) & 0xff), f);
    fwrite(header, 1, hlen, f);
    for (int64_t i = 0; i < off; i++) fputc(0, f);
    fclose(f);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

#define HOSTILE_DIR "build/tests/mlx-hostile"

/* Loads "m.q_proj.weight" as W[128, 64] from a folder of the given config
 * and tensors; expects failure with `want` in the message (NULL: success). */
static void check_hostile(const char *what, const char *config, const st_tensor *t, int n, const char *want) {
    mkdir("build", 0755);
    mkdir("build/tests", 0755);
    mkdir(HOSTILE_DIR, 0755);
    write_text(HOSTILE_DIR "/config.json", config);
    write_safetensors(HOSTILE_DIR "/model.safetensors", t, n);
    flint_model *m = NULL;
    flint_status st = flint_model_open(HOSTILE_DIR, NULL, &m);
    CHECK_MSG(st == FLINT_OK, "%s: open: %s", what, flint_errmsg());
    if (st) return;
    fl_weight_loader wl = {.file = m, .path = HOSTILE_DIR};
    fl_weight w;
    st = fl_load_matrix(&wl, "m.q_proj.weight", 64, 128, &w);
    if (!want) {
        CHECK_MSG(st == FLINT_OK, "%s: %s", what, flint_errmsg());
    } else {
        CHECK_MSG(st != FLINT_OK && strstr(flint_errmsg(), want) && strstr(flint_errmsg(), "m.q_proj"),
                  "%s: status %d, message '%s' (wanted '%s' and the tensor's name)", what, (int)st, flint_errmsg(), want);
        printf("  %-36s %s\n", what, flint_errmsg());
    }
    fl_weight_loader_free(&wl);
    flint_model_close(m);
}

static void test_hostile(void) {
    TEST_GROUP("hostile folders");
    const char *q4 = "{\"model_type\":\"x\",\"quantization\":{\"group_size\":32,\"bits\":4,\"mode\":\"affine\"}}";
    /* W[128, 64] at 4 bits, groups of 32: codes [128, 8], scales and biases [128, 2] */
    const st_tensor good[3] = {{"m.q_proj.weight", "U32", {128, 8}, 2},
                               {"m.q_proj.scales", "BF16", {128, 2}, 2},
                               {"m.q_proj.biases", "BF16", {128, 2}, 2}};
    check_hostile("a well-formed module", q4, good, 3, NULL);
    st_tensor t[3];
    memcpy(t, good, sizeof t);
    t[1].shape[1] = 3;
    check_hostile("scales of the wrong shape", q4, t, 3, "m.q_proj.scales' has shape 3 x 128, expected 2 x 128");
    memcpy(t, good, sizeof t);
    t[0].shape[1] = 9;
    check_hostile("codes that do not match the shape", q4, t, 3, "has shape 9 x 128, expected 8 x 128");
    check_hostile("a config naming bits 7",
                  "{\"quantization\":{\"group_size\":32,\"bits\":7}}", good, 3, "7-bit");
    check_hostile("a config naming groups of 48",
                  "{\"quantization\":{\"group_size\":48,\"bits\":4}}", good, 3, "groups of 48");
    check_hostile("an override naming bits 7",
                  "{\"quantization\":{\"group_size\":32,\"bits\":4,\"m.q_proj\":{\"group_size\":32,\"bits\":7}}}",
                  good, 3, "7-bit");
    check_hostile("an override of 8 bits, 4-bit codes",
                  "{\"quantization\":{\"group_size\":32,\"bits\":4,\"m.q_proj\":{\"group_size\":32,\"bits\":8}}}",
                  good, 3, "expected 16 x 128");
    check_hostile("an override saying false",
                  "{\"quantization\":{\"group_size\":32,\"bits\":4,\"m.q_proj\":false}}", good, 3, "not quantized");
    check_hostile("a mode MLX does not have", "{\"quantization\":{\"group_size\":32,\"bits\":4,\"mode\":\"q4k\"}}",
                  good, 3, "q4k");
    check_hostile("scales without a quantization block", "{\"model_type\":\"x\"}", good, 3, "no quantization block");
    check_hostile("affine without biases", q4, good, 2, "biases");
    memcpy(t, good, sizeof t);
    t[2].dtype = "F16";
    check_hostile("biases of another dtype", q4, t, 3, "m.q_proj.biases' is F16");
    memcpy(t, good, sizeof t);
    t[0].dtype = "F32";
    check_hostile("codes that are not U32", q4, t, 3, "U32");
    const char *fp4 = "{\"quantization\":{\"group_size\":32,\"bits\":4,\"mode\":\"mxfp4\"}}";
    const st_tensor mx[2] = {{"m.q_proj.weight", "U32", {128, 8}, 2}, {"m.q_proj.scales", "U8", {128, 2}, 2}};
    check_hostile("a well-formed mxfp4 module", fp4, mx, 2, NULL);
    memcpy(t, mx, sizeof mx);
    t[1].dtype = "BF16";
    check_hostile("mxfp4 scales that are not U8", fp4, t, 2, "U8");
    memcpy(t, mx, 2 * sizeof *t);
    t[2] = (st_tensor){"m.q_proj.global_scale", "F32", {1}, 1};
    check_hostile("an nvfp4 global scale", "{\"quantization\":{\"group_size\":16,\"bits\":4,\"mode\":\"nvfp4\"}}", t, 3,
                  "global scale");

    /* a whole model whose config names bits 7: the first packed tensor says so */
    mkdir(HOSTILE_DIR "/model", 0755);
    size_t len;
    char *cfg = (char *)read_all(MLX_DIR "/gemma3-q4/config.json", &len);
    CHECK(cfg != NULL);
    if (!cfg) return;
    cfg[len] = '\0';
    char *bits = strstr(cfg, "\"bits\": 4");
    CHECK(bits != NULL);
    if (bits) bits[8] = '7';
    write_text(HOSTILE_DIR "/model/config.json", cfg);
    free(cfg);
    uint8_t *weights = read_all(MLX_DIR "/gemma3-q4/model.safetensors", &len);
    FILE *out = fopen(HOSTILE_DIR "/model/model.safetensors", "wb");
    CHECK(weights && out && fwrite(weights, 1, len, out) == len);
    if (out) fclose(out);
    free(weights);
    flint_model *m = NULL;
    fl_lm lm;
    flint_status st = flint_model_open(HOSTILE_DIR "/model", NULL, &m);
    if (!st) st = fl_lm_load(&lm, m, HOSTILE_DIR "/model");
    CHECK_MSG(st == FLINT_E_UNSUPPORTED && strstr(flint_errmsg(), "7-bit") && strstr(flint_errmsg(), "model.embed_tokens"),
              "a model whose config names bits 7: %s", flint_errmsg());
    printf("  %-36s %s\n", "a model whose config names bits 7", flint_errmsg());
    flint_model_close(m);
}

int main(void) {
    (void)check_case, (void)load_f32_fixture, (void)check_consistency, (void)check_batch;
    test_dequant();
    test_logits();
    test_hostile();
    return test_finish("mlx");
}
