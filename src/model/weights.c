/* weights.c — named tensors to checked weight views and norm vectors. */
#include "model/weights.h"

#include <stdlib.h>

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

flint_status fl_load_matrix(fl_weight_loader *wl, const char *name, int64_t k, int64_t m, fl_weight *out) {
    flint_tensor_info t;
    flint_status st = find(wl, name, &t);
    if (st) return st;
    if (t.n_dims != 2 || t.ne[0] != k || t.ne[1] != m)
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' has shape %lld x %lld (%d dims), expected %lld x %lld",
                         wl->path, name, (long long)t.ne[0], (long long)t.ne[1], t.n_dims, (long long)k, (long long)m);
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

flint_status fl_load_vector(fl_weight_loader *wl, const char *name, int64_t n, bool plus_one, const float **out) {
    flint_tensor_info t;
    flint_status st = find(wl, name, &t);
    if (st) return st;
    if (t.n_dims != 1 || t.ne[0] != n)
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' has %lld elements (%d dims), expected a vector of %lld",
                         wl->path, name, (long long)t.ne[0], t.n_dims, (long long)n);
    if (t.type != FLINT_TYPE_F32 && t.type != FLINT_TYPE_F16 && t.type != FLINT_TYPE_BF16)
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: vector '%s' has type %s (expected F32, F16 or BF16)", wl->path, name,
                         flint_type_name(t.type));
    if (wl->n_owned == wl->cap_owned) {
        int64_t cap = wl->cap_owned ? 2 * wl->cap_owned : 64;
        float **owned = realloc(wl->owned, (size_t)cap * sizeof *owned);
        if (!owned) return fl_errorf(FLINT_E_NOMEM, "out of memory loading '%s'", name);
        wl->owned = owned;
        wl->cap_owned = cap;
    }
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) return fl_errorf(FLINT_E_NOMEM, "out of memory loading '%s'", name);
    wl->owned[wl->n_owned++] = v;
    if ((st = fl_dequant_row(t.type, t.data, v, n))) return st;
    if (plus_one)
        for (int64_t i = 0; i < n; i++) v[i] += 1.0f;
    *out = v;
    return FLINT_OK;
}
