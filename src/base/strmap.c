/* strmap.c — FNV-1a hashing with linear probing, load factor <= 1/2. */
#include "base/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static uint64_t hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

flint_status fl_strmap_init(fl_strmap *m, size_t n) {
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < 2 * n) {
        if (cap > SIZE_MAX / 4) return fl_errorf(FLINT_E_NOMEM, "hash index for %zu names is too large", n);
        cap *= 2;
    }
    m->keys = calloc(cap, sizeof *m->keys);
    m->lens = calloc(cap, sizeof *m->lens);
    m->vals = calloc(cap, sizeof *m->vals);
    if (!m->keys || !m->lens || !m->vals) {
        fl_strmap_free(m);
        return fl_errorf(FLINT_E_NOMEM, "out of memory for a hash index of %zu names", n);
    }
    m->cap = cap;
    return FLINT_OK;
}

void fl_strmap_free(fl_strmap *m) {
    free(m->keys);
    free(m->lens);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t slot(const fl_strmap *m, const char *key, size_t len) {
    size_t i = (size_t)hash(key, len) & (m->cap - 1);
    while (m->keys[i] && !(m->lens[i] == len && memcmp(m->keys[i], key, len) == 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

bool fl_strmap_put(fl_strmap *m, const char *key, size_t len, int64_t val) {
    size_t i = slot(m, key, len);
    if (m->keys[i]) return false;
    m->keys[i] = key;
    m->lens[i] = len;
    m->vals[i] = val;
    m->count++;
    return true;
}

int64_t fl_strmap_get(const fl_strmap *m, const char *key, size_t len) {
    if (m->cap == 0) return -1;
    size_t i = slot(m, key, len);
    return m->keys[i] ? m->vals[i] : -1;
}
