/* meta.c — the metadata dictionary: index, typed access, ownership. */
#include "format/meta.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

void fl_meta_free(fl_meta *meta) {
    for (int64_t i = 0; i < meta->n_owned; i++) free(meta->owned[i]);
    free(meta->owned);
    free(meta->kvs);
    fl_strmap_free(&meta->index);
    memset(meta, 0, sizeof *meta);
}

flint_status fl_meta_own(fl_meta *meta, void *p) {
    if (!p) return fl_errorf(FLINT_E_NOMEM, "out of memory reading metadata");
    if (meta->n_owned == meta->cap_owned) {
        int64_t cap = meta->cap_owned ? 2 * meta->cap_owned : 64;
        void **owned = realloc(meta->owned, (size_t)cap * sizeof *owned);
        if (!owned) {
            free(p);
            return fl_errorf(FLINT_E_NOMEM, "out of memory reading metadata");
        }
        meta->owned = owned;
        meta->cap_owned = cap;
    }
    meta->owned[meta->n_owned++] = p;
    return FLINT_OK;
}

flint_status fl_meta_build_index(fl_meta *meta, const char *path) {
    flint_status st = fl_strmap_init(&meta->index, (size_t)meta->n_kvs);
    if (st) return st;
    for (int64_t i = 0; i < meta->n_kvs; i++) {
        const char *k = meta->kvs[i].key;
        if (!fl_strmap_put(&meta->index, k, strlen(k), i))
            return fl_errorf(FLINT_E_FORMAT, "%s: duplicate metadata key '%s'", path, k);
    }
    return FLINT_OK;
}

const fl_meta_value *fl_meta_find(const fl_meta *meta, const char *key) {
    int64_t i = fl_strmap_get(&meta->index, key, strlen(key));
    return i < 0 ? NULL : &meta->kvs[i].value;
}

const fl_meta_value *fl_meta_find_text(const fl_meta *meta, const char *key) {
    char buf[256];
    int n = snprintf(buf, sizeof buf, "text_config.%s", key);
    if (n > 0 && (size_t)n < sizeof buf) {
        const fl_meta_value *v = fl_meta_find(meta, buf);
        if (v) return v;
    }
    return fl_meta_find(meta, key);
}

flint_status fl_meta_value_int(const fl_meta_value *v, int64_t *out) {
    switch (v->type) {
    case FLINT_META_U8: case FLINT_META_U16: case FLINT_META_U32: case FLINT_META_U64:
    case FLINT_META_BOOL:
        if (v->num.u > (uint64_t)INT64_MAX)
            return fl_errorf(FLINT_E_TYPE, "value %llu does not fit in int64", (unsigned long long)v->num.u);
        *out = (int64_t)v->num.u;
        return FLINT_OK;
    case FLINT_META_I8: case FLINT_META_I16: case FLINT_META_I32: case FLINT_META_I64:
        *out = v->num.i;
        return FLINT_OK;
    case FLINT_META_F32: case FLINT_META_F64:
        /* config.json writes some integers as 1e6 or 8.0: accept exact integers */
        if (isfinite(v->num.f) && v->num.f == floor(v->num.f) && fabs(v->num.f) < 9.0e15) {
            *out = (int64_t)v->num.f;
            return FLINT_OK;
        }
        return fl_errorf(FLINT_E_TYPE, "value %g is not an integer", v->num.f);
    default:
        return fl_errorf(FLINT_E_TYPE, "value of type %s is not a number", fl_meta_type_name(v->type));
    }
}

flint_status fl_meta_value_float(const fl_meta_value *v, double *out) {
    switch (v->type) {
    case FLINT_META_F32: case FLINT_META_F64:
        *out = v->num.f;
        return FLINT_OK;
    case FLINT_META_I8: case FLINT_META_I16: case FLINT_META_I32: case FLINT_META_I64:
        *out = (double)v->num.i;
        return FLINT_OK;
    case FLINT_META_U8: case FLINT_META_U16: case FLINT_META_U32: case FLINT_META_U64:
    case FLINT_META_BOOL:
        *out = (double)v->num.u;
        return FLINT_OK;
    default:
        return fl_errorf(FLINT_E_TYPE, "value of type %s is not a number", fl_meta_type_name(v->type));
    }
}

uint32_t fl_meta_type_size(flint_meta_type type) {
    switch (type) {
    case FLINT_META_U8: case FLINT_META_I8: case FLINT_META_BOOL: return 1;
    case FLINT_META_U16: case FLINT_META_I16: return 2;
    case FLINT_META_U32: case FLINT_META_I32: case FLINT_META_F32: return 4;
    case FLINT_META_U64: case FLINT_META_I64: case FLINT_META_F64: return 8;
    default: return 0;
    }
}

void fl_meta_decode_scalar(flint_meta_type type, const uint8_t *p, fl_meta_value *v) {
    memset(v, 0, sizeof *v);
    v->type = type;
    uint64_t u = 0;
    uint32_t size = fl_meta_type_size(type);
    for (uint32_t k = 0; k < size; k++) u |= (uint64_t)p[k] << (8 * k);
    switch (type) {
    case FLINT_META_I8: v->num.i = (int8_t)u; break;
    case FLINT_META_I16: v->num.i = (int16_t)u; break;
    case FLINT_META_I32: v->num.i = (int32_t)u; break;
    case FLINT_META_I64: v->num.i = (int64_t)u; break;
    case FLINT_META_F32: { uint32_t b = (uint32_t)u; float f; memcpy(&f, &b, 4); v->num.f = f; break; }
    case FLINT_META_F64: { double d; memcpy(&d, &u, 8); v->num.f = d; break; }
    case FLINT_META_BOOL: v->num.u = u != 0; break;
    default: v->num.u = u; break;
    }
}

flint_status fl_meta_array_at(const fl_meta_value *v, uint64_t i, fl_meta_value *tmp,
                              const fl_meta_value **out) {
    if (v->type != FLINT_META_ARRAY) return fl_errorf(FLINT_E_TYPE, "value is not an array");
    if (i >= v->count)
        return fl_errorf(FLINT_E_INVALID_ARG, "index %llu past the end of an array of %llu",
                         (unsigned long long)i, (unsigned long long)v->count);
    if (v->items) {
        *out = &v->items[i];
        return FLINT_OK;
    }
    uint32_t size = fl_meta_type_size(v->elem_type);
    fl_meta_decode_scalar(v->elem_type, (const uint8_t *)v->data + i * size, tmp);
    *out = tmp;
    return FLINT_OK;
}

const char *fl_meta_type_name(flint_meta_type type) {
    static const char *names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                  "string", "array", "u64", "i64", "f64", "null"};
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "?";
}
