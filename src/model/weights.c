/* weights.c — named tensors to checked weight views and norm vectors.
 * An MLX-quantized matrix (MODELS.md §11) is three tensors under one module
 * path: <module>.weight (U32 codes, [.., m, k * bits / 32]), <module>.scales
 * and, for affine, <module>.biases ([.., m, k / group_size]); its
 * parameters come from config.json (format/mlx.h) and every shape is held
 * to them. A module without scales is a plain tensor under the same name. */
#include "model/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_file.h"
#include "base/error.h"
#include "format/mlx.h"
#include "quant/dequant.h"
#include "quant/types.h"

void fl_weight_loader_free(fl_weight_loader *wl) {
    for (int64_t i = 0; i < wl->n_owned; i++) free(wl->owned[i]);
    free(wl->owned);
    wl->owned = NULL;
    wl->n_owned = wl->cap_owned = 0;
}

static flint_status find(fl_weight_loader *wl, const char *name, flint_tensor_info *t) {
    if (flint_tensor_find(wl->file, name, t) != FLINT_OK)
        return fl_errorf(FLINT_E_FORMAT, "%s: missing tensor '%s'", wl->path, name);
    return FLINT_OK;
}

bool fl_has_tensor(const fl_weight_loader *wl, const char *name) {
    flint_tensor_info t;
    return flint_tensor_find(wl->file, name, &t) == FLINT_OK;
}

static void shape_text(const flint_tensor_info *t, char *buf, size_t size) {
    buf[0] = '\0';
    for (int d = 0; d < t->n_dims; d++)
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%lld", d ? " x " : "", (long long)t->ne[d]);
}

/* t has n_stack ? 3 : 2 dims {cols, m[, n_stack]}. */
static bool shape_is(const flint_tensor_info *t, int64_t cols, int64_t m, int64_t n_stack) {
    return t->n_dims == (n_stack ? 3 : 2) && t->ne[0] == cols && t->ne[1] == m && (!n_stack || t->ne[2] == n_stack);
}

static flint_status shape_error(fl_weight_loader *wl, const char *name, const flint_tensor_info *t, int64_t cols,
                                int64_t m, int64_t n_stack, const char *why) {
    char found[96], expected[64];
    shape_text(t, found, sizeof found);
    if (n_stack) snprintf(expected, sizeof expected, "%lld x %lld x %lld", (long long)cols, (long long)m, (long long)n_stack);
    else snprintf(expected, sizeof expected, "%lld x %lld", (long long)cols, (long long)m);
    return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' has shape %s, expected %s%s", wl->path, name, found, expected, why);
}

/* The module of an MLX-quantized matrix `name` (its "<module>.scales"
 * exists), or false. */
static bool mlx_module(const fl_weight_loader *wl, const char *name, char *module, size_t size) {
    const size_t n = strlen(name), sfx = strlen(".weight");
    if (n <= sfx || n - sfx + sizeof ".scales" > size || strcmp(name + n - sfx, ".weight") != 0) return false;
    memcpy(module, name, n - sfx);
    strcpy(module + n - sfx, ".scales");
    const bool quantized = fl_has_tensor(wl, module);
    module[n - sfx] = '\0';
    return quantized;
}

/* The MLX-quantized W[m,k] (or stack) of module: codes t, scales, biases. */
static flint_status load_mlx(fl_weight_loader *wl, const char *name, const char *module, const flint_tensor_info *t,
                             int64_t k, int64_t m, int64_t n_stack, fl_weight *out) {
    bool quantized;
    fl_mlx_quant q;
    flint_status st = fl_mlx_module_quant(fl_model_file_meta(wl->file), wl->path, module, &quantized, &q);
    if (st) return fl_error_prefix(st, name);
    if (!quantized)
        return fl_errorf(FLINT_E_FORMAT, "%s: config.json says '%s' is not quantized, but '%s.scales' exists", wl->path,
                         module, module);
    char sname[320], bname[320];
    snprintf(bname, sizeof bname, "%s.global_scale", module);
    if (fl_has_tensor(wl, bname))
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: '%s' has an nvfp4 global scale, which flint does not read", wl->path,
                         module);
    snprintf(sname, sizeof sname, "%s.scales", module);
    snprintf(bname, sizeof bname, "%s.biases", module);
    const char *mode = fl_mlx_mode_name(q.mode);
    char why[160];
    if ((k * q.bits) % 32 != 0 || k % q.group_size != 0) {
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': %lld inputs do not make whole %d-bit words and groups of %d",
                         wl->path, name, (long long)k, (int)q.bits, (int)q.group_size);
    }
    snprintf(why, sizeof why, " (%s %d-bit codes of %lld inputs in uint32 words)", mode, (int)q.bits, (long long)k);
    if (t->type != FLINT_TYPE_U32)
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' has type %s; MLX codes are U32", wl->path, name,
                         flint_type_name(t->type) ? flint_type_name(t->type) : "?");
    if (!shape_is(t, k * q.bits / 32, m, n_stack)) return shape_error(wl, name, t, k * q.bits / 32, m, n_stack, why);
    const flint_tensor_info *parts[2];
    flint_tensor_info ts, tb;
    parts[0] = flint_tensor_find(wl->file, sname, &ts) == FLINT_OK ? &ts : NULL;
    parts[1] = flint_tensor_find(wl->file, bname, &tb) == FLINT_OK ? &tb : NULL;
    if (q.mode == FL_MLX_AFFINE && !parts[1])
        return fl_errorf(FLINT_E_FORMAT, "%s: affine-quantized '%s' has scales but no '%s'", wl->path, module, bname);
    flint_type scale_type = ts.type;
    if (q.mode != FL_MLX_AFFINE) {
        if (ts.type != FLINT_TYPE_U8 && ts.type != FLINT_TYPE_F8_E8M0 && ts.type != FLINT_TYPE_F8_E4M3)
            return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' has type %s; %s scales are U8", wl->path, sname,
                             flint_type_name(ts.type) ? flint_type_name(ts.type) : "?", mode);
        scale_type = q.mode == FL_MLX_NVFP4 ? FLINT_TYPE_F8_E4M3 : FLINT_TYPE_F8_E8M0;
    }
    snprintf(why, sizeof why, " (one %s scale per group of %d of %lld inputs)", mode, (int)q.group_size, (long long)k);
    for (int i = 0; i < (q.mode == FL_MLX_AFFINE ? 2 : 1); i++) {
        const char *pn = i ? bname : sname;
        if (!shape_is(parts[i], k / q.group_size, m, n_stack))
            return shape_error(wl, pn, parts[i], k / q.group_size, m, n_stack, why);
        if (i && parts[i]->type != ts.type)
            return fl_errorf(FLINT_E_FORMAT, "%s: '%s' is %s but '%s' is %s", wl->path, bname,
                             flint_type_name(tb.type) ? flint_type_name(tb.type) : "?", sname,
                             flint_type_name(ts.type) ? flint_type_name(ts.type) : "?");
    }
    if ((st = fl_mlx_check(q.type, q.group_size, scale_type))) return fl_error_prefix(st, sname);
    *out = (fl_weight){.type = q.type, .m = m, .k = k, .data = t->data, .row_bytes = (uint64_t)(k * q.bits / 8),
                       .scales = ts.data, .biases = q.mode == FL_MLX_AFFINE ? tb.data : NULL,
                       .scale_type = scale_type, .group_size = q.group_size};
    return FLINT_OK;
}

flint_status fl_weight_mlx_view(fl_weight_loader *wl, const char *name, bool *mlx, fl_weight *out) {
    char module[300];
    flint_tensor_info t;
    *mlx = false;
    flint_status st = find(wl, name, &t);
    if (st || !mlx_module(wl, name, module, sizeof module)) return st;
    bool quantized;
    fl_mlx_quant q;
    if ((st = fl_mlx_module_quant(fl_model_file_meta(wl->file), wl->path, module, &quantized, &q)))
        return fl_error_prefix(st, name);
    if (t.n_dims < 2 || t.n_dims > 3 || q.bits <= 0 || (t.ne[0] * 32) % q.bits != 0)
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' is not a [.., m, words] matrix of %d-bit MLX codes", wl->path, name,
                         (int)q.bits);
    int64_t n_stack = t.n_dims == 3 ? t.ne[2] : 0;
    if ((st = load_mlx(wl, name, module, &t, t.ne[0] * 32 / q.bits, t.ne[1], n_stack, out))) return st;
    out->m = t.ne[1] * (n_stack ? n_stack : 1); /* a stack's matrices follow each other, scales likewise */
    *mlx = true;
    return FLINT_OK;
}

/* W[m,k] (n_stack 0) or a stack of n_stack of them (ne = {k, m, n_stack}). */
static flint_status load_matrices(fl_weight_loader *wl, const char *name, int64_t k, int64_t m, int64_t n_stack,
                                  fl_weight *out) {
    flint_tensor_info t;
    flint_status st = find(wl, name, &t);
    if (st) return st;
    char module[300];
    if (mlx_module(wl, name, module, sizeof module)) return load_mlx(wl, name, module, &t, k, m, n_stack, out);
    if (!shape_is(&t, k, m, n_stack)) return shape_error(wl, name, &t, k, m, n_stack, "");
    const fl_type_info *ti = fl_type_get(t.type);
    if (!ti || !ti->can_dequant)
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: tensor '%s' has type %s, which flint cannot compute with", wl->path,
                         name, flint_type_name(t.type) ? flint_type_name(t.type) : "?");
    *out = (fl_weight){.type = t.type, .m = m, .k = k, .data = t.data};
    if (!fl_type_row_bytes(t.type, (uint64_t)k, &out->row_bytes))
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': rows of %lld are not whole %s blocks", wl->path, name,
                         (long long)k, ti->name);
    return FLINT_OK;
}

flint_status fl_load_matrix(fl_weight_loader *wl, const char *name, int64_t k, int64_t m, fl_weight *out) {
    return load_matrices(wl, name, k, m, 0, out);
}

flint_status fl_load_matrix_stack(fl_weight_loader *wl, const char *name, int64_t k, int64_t m, int64_t n_stack,
                                  fl_weight *out) {
    if (n_stack <= 0) return fl_errorf(FLINT_E_INVALID_ARG, "%s: a stack of %lld matrices", name, (long long)n_stack);
    return load_matrices(wl, name, k, m, n_stack, out);
}

flint_status fl_weight_loader_alloc(fl_weight_loader *wl, int64_t n, float **out) {
    if (wl->n_owned == wl->cap_owned) {
        int64_t cap = wl->cap_owned ? 2 * wl->cap_owned : 64;
        float **owned = realloc(wl->owned, (size_t)cap * sizeof *owned);
        if (!owned) return fl_errorf(FLINT_E_NOMEM, "out of memory loading %s", wl->path);
        wl->owned = owned;
        wl->cap_owned = cap;
    }
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) return fl_errorf(FLINT_E_NOMEM, "out of memory loading %s", wl->path);
    wl->owned[wl->n_owned++] = v;
    *out = v;
    return FLINT_OK;
}

flint_status fl_load_vector(fl_weight_loader *wl, const char *name, int64_t n, bool plus_one, const float **out) {
    flint_tensor_info t;
    flint_status st = find(wl, name, &t);
    if (st) return st;
    char module[300];
    float *v;
    if (mlx_module(wl, name, module, sizeof module)) {
        /* an MLX-quantized [m, n / m] matrix (mlx-lm quantizes Qwen3.5's
         * [1, H] shared-expert gate): its rows, dequantized */
        const int64_t m = t.n_dims == 2 ? t.ne[1] : 0;
        fl_weight w;
        if (m <= 0 || n % m != 0)
            return fl_errorf(FLINT_E_FORMAT, "%s: quantized vector '%s' is not a matrix of %lld elements", wl->path,
                             name, (long long)n);
        if ((st = load_mlx(wl, name, module, &t, n / m, m, 0, &w)) || (st = fl_weight_loader_alloc(wl, n, &v)))
            return st;
        for (int64_t r = 0; r < m; r++)
            if ((st = fl_weight_row_f32(&w, r, v + r * w.k))) return fl_error_prefix(st, name);
    } else {
        int64_t elems = 1;
        for (int d = 0; d < t.n_dims; d++) elems = t.ne[d] > 0 && elems <= INT64_MAX / t.ne[d] ? elems * t.ne[d] : -1;
        if (elems != n)
            return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' has %lld elements (%d dims), expected %lld", wl->path,
                             name, (long long)elems, t.n_dims, (long long)n);
        if (t.type != FLINT_TYPE_F32 && t.type != FLINT_TYPE_F16 && t.type != FLINT_TYPE_BF16)
            return fl_errorf(FLINT_E_UNSUPPORTED, "%s: vector '%s' has type %s (expected F32, F16 or BF16)", wl->path,
                             name, flint_type_name(t.type));
        if ((st = fl_weight_loader_alloc(wl, n, &v))) return st;
        if ((st = fl_dequant_row(t.type, t.data, v, n))) return st;
    }
    if (plus_one)
        for (int64_t i = 0; i < n; i++) v[i] += 1.0f;
    *out = v;
    return FLINT_OK;
}
