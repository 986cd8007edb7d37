/* expert_histogram.c — flint_model_expert_histogram_save / _load: the
 * expert store's routing counts to and from a file (experts/histogram.h). */
#include <stdio.h>
#include <stdlib.h>

#include "api/model_file.h"
#include "base/error.h"
#include "base/file.h"
#include "experts/histogram.h"
#include "experts/store.h"

/* What names the model in the file: its tensor data in bytes. */
static uint64_t model_bytes(const flint_model *m) {
    uint64_t n = 0;
    flint_tensor_info t;
    for (int64_t i = 0; i < flint_tensor_count(m); i++)
        if (!flint_tensor_get(m, i, &t)) n += t.size;
    return n;
}

static flint_status store_of(const flint_model *m, const char *path, fl_expert_store **st) {
    if (!m || !path) return fl_errorf(FLINT_E_INVALID_ARG, "expert histogram: NULL argument");
    *st = fl_model_file_store(m);
    return *st ? FLINT_OK
               : fl_errorf(FLINT_E_INVALID_ARG, "%s: the experts are resident (expert_cache 0): no routing histogram", path);
}

flint_status flint_model_expert_histogram_save(const flint_model *m, const char *path) {
    fl_expert_store *st;
    fl_histogram h;
    flint_status s = store_of(m, path, &st);
    int32_t n_layer, n_expert;
    fl_model_file_moe(m, &n_layer, &n_expert);
    if (s || (s = fl_store_histogram(st, n_layer, &h))) return s;
    h.model_bytes = model_bytes(m);
    s = fl_hist_write(&h, path);
    fl_hist_free(&h);
    return s;
}

flint_status flint_model_expert_histogram_load(flint_model *m, const char *path) {
    fl_expert_store *st;
    char *data = NULL;
    uint64_t len = 0;
    fl_histogram h = {0};
    flint_status s = store_of(m, path, &st);
    if (!s) s = fl_read_file(path, 1ull << 32, &data, &len);
    if (!s) s = fl_hist_parse((const uint8_t *)data, (size_t)len, path, &h);
    int32_t n_layer, n_expert;
    fl_model_file_moe(m, &n_layer, &n_expert);
    if (!s && (h.model_bytes != model_bytes(m) || h.n_layers != n_layer || h.n_expert != n_expert))
        s = fl_errorf(FLINT_E_INVALID_ARG,
                      "%s: the expert histogram of another model (%d layers x %d experts, %llu bytes of weights; "
                      "this one: %d x %d, %llu bytes)",
                      path, h.n_layers, h.n_expert, (unsigned long long)h.model_bytes, n_layer, n_expert,
                      (unsigned long long)model_bytes(m));
    if (!s && (s = fl_store_seed(st, &h))) {
        char why[512];
        snprintf(why, sizeof why, "%s", flint_errmsg()); /* the message buffer is rewritten below */
        fl_errorf(s, "%s: %s", path, why);
    }
    free(data);
    fl_hist_free(&h);
    return s;
}
