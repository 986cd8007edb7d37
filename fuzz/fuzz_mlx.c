/* fuzz_mlx.c — libFuzzer entry for MLX input: the first byte picks
 *   even: the rest is a config.json; every module its quantization block
 *         names (and one it does not) is looked up, and what comes back
 *         must be a type, group size and scale type the decoder takes;
 *   odd:  bytes 1-4 pick an MLX type, group size, scale type and row
 *         length, the rest fills exactly-sized code, scale and bias
 *         buffers, and one row is dequantized (reads stay inside them). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/config.h"
#include "format/mlx.h"
#include "quant/dequant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_module(const fl_meta *m, const char *module) {
    bool quantized;
    fl_mlx_quant q;
    if (fl_mlx_module_quant(m, "fuzz/config.json", module, &quantized, &q) != FLINT_OK || !quantized) return;
    const flint_type st = q.mode == FL_MLX_AFFINE ? FLINT_TYPE_BF16
                          : q.mode == FL_MLX_NVFP4 ? FLINT_TYPE_F8_E4M3
                                                   : FLINT_TYPE_F8_E8M0;
    if (fl_mlx_mode_of(q.type) != q.mode || fl_mlx_check(q.type, q.group_size, st) != FLINT_OK) abort();
}

static void fuzz_config(const uint8_t *data, size_t size) {
    fl_meta m;
    if (fl_config_parse((const char *)data, size, "fuzz/config.json", &m) != FLINT_OK) return;
    check_module(&m, "model.layers.0.mlp.gate_proj");
    for (int64_t i = 0; i < m.n_kvs; i++) {
        const char *k = m.kvs[i].key, *dot = strrchr(k, '.');
        size_t skip = strncmp(k, "quantization.", 13) == 0 ? 13 : strncmp(k, "quantization_config.", 20) == 0 ? 20 : 0;
        if (!skip || !dot || dot <= k + skip) continue;
        char module[256];
        size_t n = (size_t)(dot - (k + skip));
        if (n >= sizeof module) continue;
        memcpy(module, k + skip, n);
        module[n] = '\0';
        check_module(&m, module);
    }
    fl_meta_free(&m);
}

static void fuzz_dequant(const uint8_t *data, size_t size) {
    static const flint_type types[] = {FLINT_TYPE_MLX_Q1, FLINT_TYPE_MLX_Q2, FLINT_TYPE_MLX_Q3,   FLINT_TYPE_MLX_Q4,
                                       FLINT_TYPE_MLX_Q5, FLINT_TYPE_MLX_Q6, FLINT_TYPE_MLX_Q8,   FLINT_TYPE_MLX_MXFP4,
                                       FLINT_TYPE_MLX_MXFP8, FLINT_TYPE_MLX_NVFP4};
    static const flint_type scales[] = {FLINT_TYPE_F16, FLINT_TYPE_BF16, FLINT_TYPE_F32, FLINT_TYPE_F8_E8M0,
                                        FLINT_TYPE_F8_E4M3};
    static const int32_t groups[] = {16, 32, 64, 128};
    if (size < 5) return;
    const flint_type t = types[data[1] % 10], st = scales[data[2] % 5];
    const int32_t g = groups[data[3] % 4];
    const int64_t n = (int64_t)g * (1 + data[4] % 4);
    const fl_type_info *si = fl_type_get(st);
    const size_t cb = (size_t)(n * fl_mlx_bits(t) / 8), sb = (size_t)(n / g) * (size_t)si->type_size;
    data += 5, size -= 5;
    if (size < cb + 2 * sb) return;
    uint8_t *c = malloc(cb), *s = malloc(sb), *b = malloc(sb);
    float *y = malloc((size_t)n * sizeof *y);
    memcpy(c, data, cb);
    memcpy(s, data + cb, sb);
    memcpy(b, data + cb + sb, sb);
    flint_status ok = fl_dequant_mlx_row(t, g, st, c, s, b, y, n);
    if (ok == FLINT_OK && fl_mlx_check(t, g, st) != FLINT_OK) abort();
    free(c), free(s), free(b), free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (data[0] % 2 == 0) fuzz_config(data + 1, size - 1);
    else fuzz_dequant(data, size);
    return 0;
}
