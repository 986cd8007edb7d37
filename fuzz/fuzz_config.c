/* fuzz_config.c — libFuzzer entry for the config.json parser: every
 * successful parse is walked (keys looked up, arrays read item by item). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const fl_meta_value *v, int depth) {
    if (depth > FL_CONFIG_MAX_DEPTH + 1) abort();
    if (v->type == FLINT_META_STRING && strlen(v->data) != v->count) abort();
    if (v->type != FLINT_META_ARRAY) return;
    for (uint64_t i = 0; i < v->count; i++) {
        fl_meta_value tmp;
        const fl_meta_value *it;
        if (fl_meta_array_at(v, i, &tmp, &it) != FLINT_OK) abort();
        if (v->elem_type != FLINT_META_NULL && it->type != v->elem_type) abort();
        walk(it, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fl_meta m;
    if (fl_config_parse((const char *)data, size, "fuzz/config.json", &m) == FLINT_OK) {
        for (int64_t i = 0; i < m.n_kvs; i++) {
            if (fl_meta_find(&m, m.kvs[i].key) != &m.kvs[i].value) abort();
            walk(&m.kvs[i].value, 0);
        }
        volatile size_t n = strlen(fl_config_arch(&m)) + strlen(fl_config_architecture(&m));
        (void)n;
        fl_meta_free(&m);
    }
    return 0;
}
