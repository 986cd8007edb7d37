/* gguf.c — GGUF header, metadata and tensor-info parsing.
 *
 * Hostile files are the norm here: every length and count is checked
 * against the bytes that remain before anything is allocated for it, so an
 * allocation is never larger than a small multiple of the file size. */
#include "format/gguf.h"

#include <stdlib.h>
#include <string.h>

#include "base/checked.h"
#include "base/error.h"
#include "base/utf8.h"
#include "quant/types.h"

#define MAX_KEY_LEN 65535   /* keys are short dotted names */
#define MAX_NAME_LEN 65535  /* tensor names likewise */
#define MAX_ARRAY_DEPTH 8   /* arrays of arrays are legal; bound the recursion */
#define MAX_DIMS_GGUF 4

typedef struct cursor {
    const uint8_t *p;
    uint64_t size, pos;
    const char *path;
} cursor;

static uint64_t remaining(const cursor *c) { return c->size - c->pos; }

static flint_status truncated(const cursor *c, const char *what) {
    return fl_errorf(FLINT_E_FORMAT, "%s: truncated: the file ends (at byte %llu) inside %s",
                     c->path, (unsigned long long)c->size, what);
}

static flint_status read_u32(cursor *c, uint32_t *v, const char *what) {
    if (remaining(c) < 4) return truncated(c, what);
    const uint8_t *b = c->p + c->pos;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    c->pos += 4;
    return FLINT_OK;
}

static flint_status read_u64(cursor *c, uint64_t *v, const char *what) {
    if (remaining(c) < 8) return truncated(c, what);
    const uint8_t *b = c->p + c->pos;
    uint64_t x = 0;
    for (int k = 0; k < 8; k++) x |= (uint64_t)b[k] << (8 * k);
    *v = x;
    c->pos += 8;
    return FLINT_OK;
}

/* A gguf_string: u64 length + bytes. Returns a pointer into the image. */
static flint_status read_str(cursor *c, const char **s, uint64_t *len, uint64_t max_len, const char *what) {
    flint_status st = read_u64(c, len, what);
    if (st) return st;
    if (*len > remaining(c))
        return fl_errorf(FLINT_E_FORMAT, "%s: truncated or corrupt: %s has length %llu but only %llu bytes remain", c->path, what,
                         (unsigned long long)*len, (unsigned long long)remaining(c));
    if (*len > max_len)
        return fl_errorf(FLINT_E_FORMAT, "%s: %s has length %llu, more than the %llu allowed", c->path, what,
                         (unsigned long long)*len, (unsigned long long)max_len);
    *s = (const char *)(c->p + c->pos);
    c->pos += *len;
    return FLINT_OK;
}

/* Copies a name into an owned NUL-terminated string after validating it. */
static flint_status own_name(fl_meta *meta, const cursor *c, const char *s, uint64_t len, const char *what,
                             char **out) {
    if (len == 0) return fl_errorf(FLINT_E_FORMAT, "%s: empty %s", c->path, what);
    if (!fl_utf8_valid(s, (size_t)len))
        return fl_errorf(FLINT_E_FORMAT, "%s: %s at byte %llu is not valid UTF-8", c->path, what,
                         (unsigned long long)(c->pos - len));
    char *k = malloc((size_t)len + 1);
    flint_status st = fl_meta_own(meta, k);
    if (st) return st;
    memcpy(k, s, (size_t)len);
    k[len] = '\0';
    *out = k;
    return FLINT_OK;
}

static flint_status read_value(cursor *c, fl_meta *meta, flint_meta_type type, fl_meta_value *v, int depth,
                               const char *key);

/* Smallest encoding of one element: bounds counts before any allocation. */
static uint64_t min_elem_bytes(flint_meta_type type) {
    if (type == FLINT_META_STRING) return 8;
    if (type == FLINT_META_ARRAY) return 12;
    return fl_meta_type_size(type);
}

static flint_status read_array(cursor *c, fl_meta *meta, fl_meta_value *v, int depth, const char *key) {
    if (depth >= MAX_ARRAY_DEPTH)
        return fl_errorf(FLINT_E_FORMAT, "%s: key '%s': arrays nested more than %d deep", c->path, key,
                         MAX_ARRAY_DEPTH);
    uint32_t et;
    uint64_t n;
    flint_status st = read_u32(c, &et, "an array element type");
    if (!st) st = read_u64(c, &n, "an array length");
    if (st) return st;
    if (et > FLINT_META_F64)
        return fl_errorf(FLINT_E_FORMAT, "%s: key '%s': unknown array element type %u", c->path, key, et);
    uint64_t need;
    if (!fl_mul_u64(n, min_elem_bytes((flint_meta_type)et), &need) || need > remaining(c))
        return fl_errorf(FLINT_E_FORMAT, "%s: key '%s': array of %llu elements does not fit in the %llu bytes left",
                         c->path, key, (unsigned long long)n, (unsigned long long)remaining(c));
    v->type = FLINT_META_ARRAY;
    v->elem_type = (flint_meta_type)et;
    v->count = n;
    if (et != FLINT_META_STRING && et != FLINT_META_ARRAY) {
        v->data = c->p + c->pos; /* packed numbers stay in the mapping */
        c->pos += need;
        return FLINT_OK;
    }
    if (n == 0) return FLINT_OK;
    v->items = calloc((size_t)n, sizeof *v->items);
    if ((st = fl_meta_own(meta, v->items))) return st;
    for (uint64_t i = 0; i < n; i++)
        if ((st = read_value(c, meta, (flint_meta_type)et, &v->items[i], depth + 1, key))) return st;
    return FLINT_OK;
}

static flint_status read_value(cursor *c, fl_meta *meta, flint_meta_type type, fl_meta_value *v, int depth,
                               const char *key) {
    memset(v, 0, sizeof *v);
    if (type == FLINT_META_STRING) {
        const char *s;
        uint64_t len;
        flint_status st = read_str(c, &s, &len, UINT64_MAX, "a string value");
        if (st) return fl_error_prefix(st, key);
        v->type = FLINT_META_STRING;
        v->data = s;
        v->count = len;
        return FLINT_OK;
    }
    if (type == FLINT_META_ARRAY) return read_array(c, meta, v, depth, key);
    uint32_t size = fl_meta_type_size(type);
    if (size == 0) return fl_errorf(FLINT_E_FORMAT, "%s: key '%s': unknown value type %u", c->path, key, type);
    if (remaining(c) < size) return truncated(c, "a metadata value");
    fl_meta_decode_scalar(type, c->p + c->pos, v);
    c->pos += size;
    return FLINT_OK;
}

static flint_status read_metadata(cursor *c, fl_gguf *g, uint64_t n_kv) {
    /* each pair takes at least 8 (key length) + 4 (type) + 1 bytes */
    if (n_kv > remaining(c) / 13)
        return fl_errorf(FLINT_E_FORMAT, "%s: %llu metadata pairs cannot fit in a %llu-byte file", c->path,
                         (unsigned long long)n_kv, (unsigned long long)c->size);
    g->meta.kvs = calloc(n_kv ? (size_t)n_kv : 1, sizeof *g->meta.kvs);
    if (!g->meta.kvs) return fl_errorf(FLINT_E_NOMEM, "%s: out of memory", c->path);
    for (uint64_t i = 0; i < n_kv; i++) {
        const char *s;
        uint64_t len;
        uint32_t type;
        fl_meta_kv *kv = &g->meta.kvs[i];
        flint_status st = read_str(c, &s, &len, MAX_KEY_LEN, "a metadata key");
        if (!st) st = own_name(&g->meta, c, s, len, "metadata key", &kv->key);
        if (!st) st = read_u32(c, &type, "a metadata value type");
        if (!st && type > FLINT_META_F64)
            st = fl_errorf(FLINT_E_FORMAT, "%s: key '%s' has unknown value type %u", c->path, kv->key, type);
        if (!st) st = read_value(c, &g->meta, (flint_meta_type)type, &kv->value, 0, kv->key);
        if (st) return st;
        g->meta.n_kvs = (int64_t)i + 1;
    }
    return fl_meta_build_index(&g->meta, c->path);
}

static flint_status read_alignment(fl_gguf *g, const char *path) {
    g->alignment = FL_GGUF_DEFAULT_ALIGNMENT;
    const fl_meta_value *v = fl_meta_find(&g->meta, "general.alignment");
    if (!v) return FLINT_OK;
    if (v->type != FLINT_META_U32)
        return fl_errorf(FLINT_E_FORMAT, "%s: general.alignment has type %s, expected u32", path,
                         fl_meta_type_name(v->type));
    if (v->num.u == 0 || (v->num.u & (v->num.u - 1)) != 0)
        return fl_errorf(FLINT_E_FORMAT, "%s: general.alignment %llu is not a power of two", path,
                         (unsigned long long)v->num.u);
    g->alignment = v->num.u;
    return FLINT_OK;
}

/* Reads one tensor info; the name is validated and copied later. */
static flint_status read_tensor_info(cursor *c, flint_tensor_info *t, const char **name, uint64_t *name_len) {
    flint_status st = read_str(c, name, name_len, MAX_NAME_LEN, "a tensor name");
    if (st) return st;
    uint32_t n_dims, type_id;
    if ((st = read_u32(c, &n_dims, "a tensor's dimension count"))) return st;
    if (n_dims > MAX_DIMS_GGUF)
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%.*s' has %u dimensions; GGUF allows at most %d", c->path,
                         (int)*name_len, *name, n_dims, MAX_DIMS_GGUF);
    t->n_dims = (int32_t)n_dims;
    for (int d = 0; d < FLINT_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        uint64_t ne;
        if ((st = read_u64(c, &ne, "a tensor shape"))) return st;
        if (ne > (uint64_t)INT64_MAX)
            return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%.*s' has dimension %u of %llu elements", c->path,
                             (int)*name_len, *name, d, (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
    }
    if ((st = read_u32(c, &type_id, "a tensor type"))) return st;
    if (!fl_type_from_ggml(type_id, &t->type))
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%.*s' has unknown type id %u", c->path, (int)*name_len, *name,
                         type_id);
    return read_u64(c, &t->offset, "a tensor offset");
}

/* Shape, size and placement of one tensor against the data section. */
static flint_status check_tensor(const fl_gguf *g, flint_tensor_info *t, uint64_t data_size) {
    const fl_type_info *ti = fl_type_get(t->type);
    int64_t n = 1;
    for (int d = 0; d < t->n_dims; d++)
        if (!fl_mul_i64(n, t->ne[d], &n))
            return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': the element count overflows", g->path, t->name);
    if (t->ne[0] % ti->block_size != 0)
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': rows of %lld elements are not a multiple of the %s block (%d)",
                         g->path, t->name, (long long)t->ne[0], ti->name, ti->block_size);
    if (!fl_type_row_bytes(t->type, (uint64_t)n, &t->size))
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': the byte size overflows", g->path, t->name);
    if (t->offset % g->alignment != 0)
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': offset %llu is not a multiple of the alignment %llu",
                         g->path, t->name, (unsigned long long)t->offset, (unsigned long long)g->alignment);
    uint64_t end;
    if (!fl_add_u64(t->offset, t->size, &end) || end > data_size)
        return fl_errorf(FLINT_E_FORMAT,
                         "%s: tensor '%s' (%llu bytes at offset %llu) ends past the data section (%llu bytes): "
                         "the file is truncated or the offset is wrong",
                         g->path, t->name, (unsigned long long)t->size, (unsigned long long)t->offset,
                         (unsigned long long)data_size);
    t->offset += g->data_offset; /* absolute from here on */
    return FLINT_OK;
}

static const fl_gguf *sort_ctx;
static int by_offset(const void *a, const void *b) {
    const flint_tensor_info *x = &sort_ctx->tensors[*(const int64_t *)a];
    const flint_tensor_info *y = &sort_ctx->tensors[*(const int64_t *)b];
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static flint_status check_overlaps(const fl_gguf *g) {
    if (g->n_tensors < 2) return FLINT_OK;
    int64_t *order = malloc((size_t)g->n_tensors * sizeof *order);
    if (!order) return fl_errorf(FLINT_E_NOMEM, "%s: out of memory", g->path);
    for (int64_t i = 0; i < g->n_tensors; i++) order[i] = i;
    sort_ctx = g; /* qsort has no context argument in C11 */
    qsort(order, (size_t)g->n_tensors, sizeof *order, by_offset);
    flint_status st = FLINT_OK;
    for (int64_t i = 0; i + 1 < g->n_tensors && !st; i++) {
        const flint_tensor_info *a = &g->tensors[order[i]], *b = &g->tensors[order[i + 1]];
        if (a->size > 0 && b->size > 0 && a->offset + a->size > b->offset)
            st = fl_errorf(FLINT_E_FORMAT, "%s: tensors '%s' and '%s' overlap", g->path, a->name, b->name);
    }
    free(order);
    return st;
}

static flint_status read_tensors(cursor *c, fl_gguf *g, uint64_t n_tensors) {
    /* the smallest tensor info: name length 8, n_dims 4, type 4, offset 8 */
    if (n_tensors > remaining(c) / 24)
        return fl_errorf(FLINT_E_FORMAT, "%s: %llu tensors cannot fit in a %llu-byte file", c->path,
                         (unsigned long long)n_tensors, (unsigned long long)c->size);
    size_t n = (size_t)n_tensors;
    g->tensors = calloc(n ? n : 1, sizeof *g->tensors);
    const char **names = calloc(n ? n : 1, sizeof *names);
    uint64_t *lens = calloc(n ? n : 1, sizeof *lens);
    flint_status st = FLINT_OK;
    if (!g->tensors || !names || !lens) st = fl_errorf(FLINT_E_NOMEM, "%s: out of memory", c->path);
    uint64_t names_bytes = 0;
    for (size_t i = 0; i < n && !st; i++) {
        st = read_tensor_info(c, &g->tensors[i], &names[i], &lens[i]);
        if (!st && lens[i] == 0) st = fl_errorf(FLINT_E_FORMAT, "%s: tensor %zu has an empty name", c->path, i);
        if (!st && !fl_utf8_valid(names[i], (size_t)lens[i]))
            st = fl_errorf(FLINT_E_FORMAT, "%s: the name of tensor %zu is not valid UTF-8", c->path, i);
        names_bytes += lens[i] + 1; /* bounded by the file size */
    }
    if (!st && !(g->names = malloc((size_t)names_bytes + 1))) st = fl_errorf(FLINT_E_NOMEM, "%s: out of memory", c->path);
    if (!st) st = fl_strmap_init(&g->tensor_index, n);
    for (size_t i = 0, at = 0; i < n && !st; i++) {
        char *name = g->names + at;
        memcpy(name, names[i], (size_t)lens[i]);
        name[lens[i]] = '\0';
        at += (size_t)lens[i] + 1;
        g->tensors[i].name = name;
        g->tensors[i].file = c->path;
        if (!fl_strmap_put(&g->tensor_index, name, (size_t)lens[i], (int64_t)i))
            st = fl_errorf(FLINT_E_FORMAT, "%s: duplicate tensor name '%s'", c->path, name);
        g->n_tensors = (int64_t)i + 1;
    }
    free(names);
    free(lens);
    return st;
}

flint_status fl_gguf_parse(fl_gguf *g, const uint8_t *data, uint64_t size, const char *path) {
    memset(g, 0, sizeof *g);
    g->path = path;
    cursor c = {data, size, 0, path};
    uint32_t magic;
    uint64_t n_tensors, n_kv;
    flint_status st;
    if (size < 4 || (read_u32(&c, &magic, "the magic"), magic != FL_GGUF_MAGIC))
        return fl_errorf(FLINT_E_FORMAT, "%s: not a GGUF file (bad magic)", path);
    if ((st = read_u32(&c, &g->version, "the header"))) return st;
    if ((g->version & 0xFFFF) == 0 && g->version != 0)
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: big-endian GGUF files are not supported", path);
    if (g->version < 2 || g->version > 3)
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: GGUF version %u is not supported (only 2 and 3)", path,
                         g->version);
    if ((st = read_u64(&c, &n_tensors, "the header")) || (st = read_u64(&c, &n_kv, "the header"))) return st;

    if (!st) st = read_metadata(&c, g, n_kv);
    if (!st) st = read_alignment(g, path);
    if (!st) st = read_tensors(&c, g, n_tensors);
    if (!st && !fl_align_u64(c.pos, g->alignment, &g->data_offset))
        st = fl_errorf(FLINT_E_FORMAT, "%s: the data section offset overflows", path);
    if (!st && n_tensors > 0 && g->data_offset > size)
        st = fl_errorf(FLINT_E_FORMAT, "%s: truncated: the data section would start at byte %llu of %llu", path,
                       (unsigned long long)g->data_offset, (unsigned long long)size);
    uint64_t data_size = g->data_offset <= size ? size - g->data_offset : 0;
    for (int64_t i = 0; i < g->n_tensors && !st; i++) {
        st = check_tensor(g, &g->tensors[i], data_size);
        if (!st) g->tensors[i].data = data + g->tensors[i].offset;
    }
    if (!st) st = check_overlaps(g);
    if (st) fl_gguf_close(g);
    return st;
}

flint_status fl_gguf_open(fl_gguf *g, const char *path) {
    fl_map map;
    flint_status st = fl_map_open(&map, path);
    if (st) return st;
    st = fl_gguf_parse(g, map.data, map.size, map.path);
    if (st) {
        fl_map_close(&map);
        return st;
    }
    g->map = map;
    g->path = g->map.path;
    for (int64_t i = 0; i < g->n_tensors; i++) g->tensors[i].file = g->path;
    return FLINT_OK;
}

void fl_gguf_close(fl_gguf *g) {
    fl_meta_free(&g->meta);
    free(g->tensors);
    free(g->names);
    fl_strmap_free(&g->tensor_index);
    fl_map_close(&g->map);
    memset(g, 0, sizeof *g);
}

int64_t fl_gguf_find_tensor(const fl_gguf *g, const char *name) {
    return fl_strmap_get(&g->tensor_index, name, strlen(name));
}
