/* weights.c — named tensors to checked weight views and norm vectors. */
#include "model/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
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

/* W[m,k] (n_stack 0) or a stack of n_stack of them (ne = {k, m, n_stack}). */
static flint_status load_matrices(fl_weight_loader *wl, const char *name, int64_t k, int64_t m, int64_t n_stack,
                                  fl_weight *out) {
    flint_tensor_info t;
    flint_status st = find(wl, name, &t);
    if (st) return st;
    int want_dims = n_stack ? 3 : 2;
    if (t.n_dims != want_dims || t.ne[0] != k || t.ne[1] != m || (n_stack && t.ne[2] != n_stack)) {
        char found[96] = "", expected[64];
        for (int d = 0; d < t.n_dims; d++)
            snprintf(found + strlen(found), sizeof found - strlen(found), "%s%lld", d ? " x " : "", (long long)t.ne[d]);
        if (n_stack) snprintf(expected, sizeof expected, "%lld x %lld x %lld", (long long)k, (long long)m, (long long)n_stack);
        else snprintf(expected, sizeof expected, "%lld x %lld", (long long)k, (long long)m);
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' has shape %s, expected %s", wl->path, name, found, expected);
    }
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
    int64_t elems = 1;
    for (int d = 0; d < t.n_dims; d++) elems = t.ne[d] > 0 && elems <= INT64_MAX / t.ne[d] ? elems * t.ne[d] : -1;
    if (elems != n)
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' has %lld elements (%d dims), expected %lld", wl->path, name,
                         (long long)elems, t.n_dims, (long long)n);
    if (t.type != FLINT_TYPE_F32 && t.type != FLINT_TYPE_F16 && t.type != FLINT_TYPE_BF16)
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: vector '%s' has type %s (expected F32, F16 or BF16)", wl->path, name,
                         flint_type_name(t.type));
    float *v;
    if ((st = fl_weight_loader_alloc(wl, n, &v))) return st;
    if ((st = fl_dequant_row(t.type, t.data, v, n))) return st;
    if (plus_one)
        for (int64_t i = 0; i < n; i++) v[i] += 1.0f;
    *out = v;
    return FLINT_OK;
}
