/* gguf_write.c — the GGUF v3 writer: metadata setters over an fl_meta, the
 * encoding of values, header and tensor infos, alignment padding. It never
 * reads tensor data; the converter streams that. */
#include "format/gguf_write.h"

#include <stdlib.h>
#include <string.h>

#include "base/checked.h"
#include "base/error.h"
#include "format/gguf.h"

static char *dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int64_t find_key(const fl_meta *m, const char *key) {
    for (int64_t i = 0; i < m->n_kvs; i++)
        if (strcmp(m->kvs[i].key, key) == 0) return i;
    return -1;
}

const fl_meta_value *fl_gguf_kv_find(const fl_meta *m, const char *key) {
    int64_t i = find_key(m, key);
    return i < 0 ? NULL : &m->kvs[i].value;
}

void fl_gguf_kv_remove(fl_meta *m, const char *key) {
    int64_t i = find_key(m, key);
    if (i < 0) return;
    memmove(&m->kvs[i], &m->kvs[i + 1], (size_t)(m->n_kvs - i - 1) * sizeof *m->kvs);
    m->n_kvs--;
}

flint_status fl_gguf_kv_set(fl_meta *m, const char *key, const fl_meta_value *v) {
    int64_t i = find_key(m, key);
    if (i >= 0) {
        m->kvs[i].value = *v;
        return FLINT_OK;
    }
    /* kvs grows by doubling; its capacity is the next power of two >= n */
    int64_t n = m->n_kvs;
    if ((n & (n - 1)) == 0) {
        fl_meta_kv *kvs = realloc(m->kvs, (size_t)(n ? 2 * n : 16) * sizeof *kvs);
        if (!kvs) return fl_errorf(FLINT_E_NOMEM, "out of memory building metadata");
        m->kvs = kvs;
    }
    char *k = dup(key);
    flint_status st = fl_meta_own(m, k);
    if (st) return st;
    m->kvs[n].key = k;
    m->kvs[n].value = *v;
    m->n_kvs = n + 1;
    return FLINT_OK;
}

flint_status fl_gguf_kv_u32(fl_meta *m, const char *key, uint32_t x) {
    fl_meta_value v = {.type = FLINT_META_U32, .num.u = x};
    return fl_gguf_kv_set(m, key, &v);
}

flint_status fl_gguf_kv_f32(fl_meta *m, const char *key, float x) {
    fl_meta_value v = {.type = FLINT_META_F32, .num.f = x};
    return fl_gguf_kv_set(m, key, &v);
}

flint_status fl_gguf_kv_bool(fl_meta *m, const char *key, bool x) {
    fl_meta_value v = {.type = FLINT_META_BOOL, .num.u = x};
    return fl_gguf_kv_set(m, key, &v);
}

flint_status fl_gguf_kv_str(fl_meta *m, const char *key, const char *s) {
    char *copy = dup(s);
    flint_status st = fl_meta_own(m, copy);
    if (st) return st;
    fl_meta_value v = {.type = FLINT_META_STRING, .count = strlen(s), .data = copy};
    return fl_gguf_kv_set(m, key, &v);
}

flint_status fl_gguf_kv_array(fl_meta *m, const char *key, flint_meta_type elem, const void *data, uint64_t n) {
    uint64_t bytes;
    if (!fl_mul_u64(n, fl_meta_type_size(elem), &bytes) || bytes > SIZE_MAX)
        return fl_errorf(FLINT_E_INVALID_ARG, "metadata array '%s' is too large", key);
    void *copy = malloc(bytes ? (size_t)bytes : 1);
    flint_status st = fl_meta_own(m, copy);
    if (st) return st;
    if (bytes) memcpy(copy, data, (size_t)bytes);
    fl_meta_value v = {.type = FLINT_META_ARRAY, .elem_type = elem, .count = n, .data = copy};
    return fl_gguf_kv_set(m, key, &v);
}

flint_status fl_gguf_kv_strings(fl_meta *m, const char *key, const char *const *text, const uint32_t *len, uint64_t n) {
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < n; i++) bytes += len[i];
    if (n > SIZE_MAX / sizeof(fl_meta_value) || bytes > SIZE_MAX - 1)
        return fl_errorf(FLINT_E_INVALID_ARG, "metadata array '%s' is too large", key);
    fl_meta_value *items = calloc(n ? (size_t)n : 1, sizeof *items);
    flint_status st = fl_meta_own(m, items);
    if (st) return st;
    char *blob = malloc((size_t)bytes + 1);
    if ((st = fl_meta_own(m, blob))) return st;
    for (uint64_t i = 0, o = 0; i < n; o += len[i++]) {
        if (len[i]) memcpy(blob + o, text[i], len[i]);
        items[i] = (fl_meta_value){.type = FLINT_META_STRING, .count = len[i], .data = blob + o};
    }
    fl_meta_value v = {.type = FLINT_META_ARRAY, .elem_type = FLINT_META_STRING, .count = n, .items = items};
    return fl_gguf_kv_set(m, key, &v);
}

static bool put(FILE *f, const void *p, size_t n) { return n == 0 || fwrite(p, 1, n, f) == n; }

static bool put_u32(FILE *f, uint32_t x) {
    uint8_t b[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16), (uint8_t)(x >> 24)};
    return put(f, b, 4);
}

static bool put_u64(FILE *f, uint64_t x) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(x >> (8 * i));
    return put(f, b, 8);
}

static bool put_str(FILE *f, const void *s, uint64_t n) { return put_u64(f, n) && put(f, s, (size_t)n); }

/* One scalar of a numeric or bool type, little-endian, from v->num. */
static bool put_scalar(FILE *f, const fl_meta_value *v) {
    uint8_t b[8];
    uint64_t bits = v->num.u;
    if (v->type == FLINT_META_F32) {
        float x = (float)v->num.f;
        uint32_t u;
        memcpy(&u, &x, 4);
        bits = u;
    } else if (v->type == FLINT_META_F64) {
        memcpy(&bits, &v->num.f, 8);
    }
    uint32_t size = fl_meta_type_size(v->type);
    for (uint32_t i = 0; i < size; i++) b[i] = (uint8_t)(bits >> (8 * i));
    return put(f, b, size);
}

static flint_status write_value(FILE *f, const fl_meta_value *v, int depth) {
    bool ok;
    if (depth > 8) return fl_errorf(FLINT_E_UNSUPPORTED, "metadata arrays nested too deeply");
    switch (v->type) {
    case FLINT_META_STRING: ok = put_str(f, v->data, v->count); break;
    case FLINT_META_NULL: return fl_errorf(FLINT_E_UNSUPPORTED, "GGUF has no null value");
    case FLINT_META_ARRAY:
        ok = put_u32(f, (uint32_t)v->elem_type) && put_u64(f, v->count);
        if (ok && v->items) {
            for (uint64_t i = 0; i < v->count; i++) {
                const fl_meta_value *it = &v->items[i];
                if (it->type != v->elem_type) return fl_errorf(FLINT_E_UNSUPPORTED, "GGUF arrays hold one type");
                if (it->type == FLINT_META_ARRAY) {
                    flint_status st = write_value(f, it, depth + 1);
                    if (st) return st;
                } else if (!(it->type == FLINT_META_STRING ? put_str(f, it->data, it->count) : put_scalar(f, it))) {
                    ok = false;
                    break;
                }
            }
        } else if (ok) {
            uint64_t bytes;
            if (!fl_mul_u64(v->count, fl_meta_type_size(v->elem_type), &bytes) || (v->count && !bytes))
                return fl_errorf(FLINT_E_UNSUPPORTED, "metadata array of %s cannot be written packed",
                                 fl_meta_type_name(v->elem_type));
            ok = put(f, v->data, (size_t)bytes);
        }
        break;
    default: ok = put_scalar(f, v); break;
    }
    return ok ? FLINT_OK : fl_errorf(FLINT_E_IO, "write failed");
}

flint_status fl_gguf_write_value(FILE *f, const fl_meta_value *v) { return write_value(f, v, 0); }

flint_status fl_gguf_write_header(FILE *f, const char *path, const fl_meta *m, fl_gguf_out_tensor *t, int64_t n) {
    bool ok = put_u32(f, FL_GGUF_MAGIC) && put_u32(f, 3) && put_u64(f, (uint64_t)n) && put_u64(f, (uint64_t)m->n_kvs);
    for (int64_t i = 0; ok && i < m->n_kvs; i++) {
        const fl_meta_kv *kv = &m->kvs[i];
        ok = put_str(f, kv->key, strlen(kv->key)) && put_u32(f, (uint32_t)kv->value.type);
        if (ok) {
            flint_status st = write_value(f, &kv->value, 0);
            if (st) {
                char why[256];
                snprintf(why, sizeof why, "%s", flint_errmsg()); /* fl_errorf writes the buffer it would read */
                return fl_errorf(st, "%s: metadata '%s': %s", path, kv->key, why);
            }
        }
    }
    uint64_t offset = 0;
    for (int64_t i = 0; ok && i < n; i++) {
        t[i].offset = offset;
        ok = put_str(f, t[i].name, strlen(t[i].name)) && put_u32(f, (uint32_t)t[i].n_dims);
        for (int32_t d = 0; ok && d < t[i].n_dims; d++) ok = put_u64(f, (uint64_t)t[i].ne[d]);
        ok = ok && put_u32(f, (uint32_t)t[i].type) && put_u64(f, offset);
        uint64_t padded;
        if (ok && !(fl_align_u64(t[i].size, FL_GGUF_WRITE_ALIGNMENT, &padded) && fl_add_u64(offset, padded, &offset)))
            return fl_errorf(FLINT_E_INVALID_ARG, "%s: tensor data too large", path);
    }
    long pos = ok ? ftell(f) : -1;
    if (!ok || pos < 0) return fl_errorf(FLINT_E_IO, "%s: write failed", path);
    return fl_gguf_write_pad(f, path, (uint64_t)pos);
}

flint_status fl_gguf_write_pad(FILE *f, const char *path, uint64_t size) {
    static const uint8_t zeros[FL_GGUF_WRITE_ALIGNMENT];
    uint64_t pad = (FL_GGUF_WRITE_ALIGNMENT - size % FL_GGUF_WRITE_ALIGNMENT) % FL_GGUF_WRITE_ALIGNMENT;
    return put(f, zeros, (size_t)pad) ? FLINT_OK : fl_errorf(FLINT_E_IO, "%s: write failed", path);
}
