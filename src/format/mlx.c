/* mlx.c — an MLX config.json's quantization block (see mlx.h). Checked
 * against what mlx_lm.utils.quantize_model writes and what
 * mlx.nn.quantize / to_quantized read: an override without "mode" means
 * affine (whatever the default's mode), and one without bits or group_size
 * takes its mode's defaults (affine 4 bits / 64, mxfp4 4/32, mxfp8 8/32,
 * nvfp4 4/16). */
#include "format/mlx.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"

/* "quantization", else "quantization_config" (mlx-lm writes both). */
static const char *block_of(const fl_meta *config) {
    static const char *const blocks[2] = {"quantization", "quantization_config"};
    static const char *const fields[3] = {"bits", "group_size", "mode"};
    char key[64];
    for (int b = 0; b < 2; b++)
        for (int f = 0; f < 3; f++) {
            snprintf(key, sizeof key, "%s.%s", blocks[b], fields[f]);
            if (fl_meta_find(config, key)) return blocks[b];
        }
    return NULL;
}

static flint_status read_int(const fl_meta *config, const char *key, int32_t *out, bool *found, const char *path) {
    const fl_meta_value *v = fl_meta_find(config, key);
    *found = v != NULL;
    if (!v) return FLINT_OK;
    int64_t i;
    if (v->type == FLINT_META_BOOL || fl_meta_value_int(v, &i) != FLINT_OK || i < 0 || i > INT32_MAX)
        return fl_errorf(FLINT_E_FORMAT, "%s: config.json %s is not a small integer", path, key);
    *out = (int32_t)i;
    return FLINT_OK;
}

/* {group_size, bits, mode} under key prefix `at`. */
static flint_status read_params(const fl_meta *config, const char *at, const char *path, const char *module,
                                fl_mlx_quant *q) {
    char key[512];
    snprintf(key, sizeof key, "%s.mode", at);
    const fl_meta_value *m = fl_meta_find(config, key);
    /* mlx.core's defaults per mode, affine first */
    static const int32_t dflt_bits[] = {4, 4, 8, 4}, dflt_group[] = {64, 32, 32, 16};
    int mode = 0;
    if (m && m->type != FLINT_META_NULL) {
        for (mode = 0; mode < 4; mode++)
            if (m->type == FLINT_META_STRING && strcmp(m->data, fl_mlx_mode_name((fl_mlx_mode)(FL_MLX_AFFINE + mode))) == 0)
                break;
        if (mode == 4)
            return fl_errorf(FLINT_E_UNSUPPORTED, "%s: '%s': config.json %s '%s' is not affine, mxfp4, mxfp8 or nvfp4",
                             path, module, key, m->type == FLINT_META_STRING ? (const char *)m->data : "(not a string)");
    }
    q->mode = (fl_mlx_mode)(FL_MLX_AFFINE + mode);
    q->bits = dflt_bits[mode];
    q->group_size = dflt_group[mode];
    bool found;
    flint_status st;
    snprintf(key, sizeof key, "%s.bits", at);
    if ((st = read_int(config, key, &q->bits, &found, path))) return st;
    snprintf(key, sizeof key, "%s.group_size", at);
    if ((st = read_int(config, key, &q->group_size, &found, path))) return st;
    if (!fl_mlx_type(q->mode, q->bits, &q->type))
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: '%s': config.json gives %s %d-bit codes (%s)", path, module,
                         fl_mlx_mode_name(q->mode), (int)q->bits,
                         q->mode == FL_MLX_AFFINE ? "affine takes 1, 2, 3, 4, 5, 6 or 8 bits"
                                                  : q->mode == FL_MLX_MXFP8 ? "mxfp8 is 8-bit" : "fp4 is 4-bit");
    if (!fl_mlx_group_ok(q->mode, q->group_size))
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: '%s': config.json gives %s groups of %d (%s)", path, module,
                         fl_mlx_mode_name(q->mode), (int)q->group_size, fl_mlx_groups(q->mode));
    return FLINT_OK;
}

flint_status fl_mlx_module_quant(const fl_meta *config, const char *path, const char *module, bool *quantized,
                                 fl_mlx_quant *q) {
    const char *block = block_of(config);
    *quantized = true;
    if (!block)
        return fl_errorf(FLINT_E_FORMAT, "%s: '%s' is quantized (it has scales) but config.json has no quantization block",
                         path, module);
    char at[512];
    if ((size_t)snprintf(at, sizeof at, "%s.%s", block, module) >= sizeof at)
        return fl_errorf(FLINT_E_FORMAT, "%s: module name '%s' is too long", path, module);
    const fl_meta_value *v = fl_meta_find(config, at);
    if (v && v->type == FLINT_META_BOOL) {
        *quantized = v->num.u != 0;
        if (*quantized) return read_params(config, block, path, module, q);
        return FLINT_OK;
    }
    if (v) return fl_errorf(FLINT_E_FORMAT, "%s: config.json %s is neither false nor an object", path, at);
    char key[600];
    static const char *const fields[3] = {"bits", "group_size", "mode"};
    for (int f = 0; f < 3; f++) {
        snprintf(key, sizeof key, "%s.%s", at, fields[f]);
        if (fl_meta_find(config, key)) return read_params(config, at, path, module, q);
    }
    return read_params(config, block, path, module, q);
}
