/* safetensors.c — safetensors headers -> a table of tensor views.
 *
 * Owns: the mappings of every file it opens, the parsed names and
 * __metadata__, and the name index. Must not: read tensor data, trust any
 * number in a header before checking it against the file, or follow a
 * shard name outside the folder it was given. The rules a file must meet
 * are listed in safetensors.h. */
#define _POSIX_C_SOURCE 200809L
#include "format/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/checked.h"
#include "base/error.h"
#include "base/json.h"
#include "base/utf8.h"
#include "quant/types.h"

typedef unsigned long long ull;

static const struct {
    const char *name;
    flint_type type;
} dtypes[] = {
    {"BOOL", FLINT_TYPE_BOOL},       {"U8", FLINT_TYPE_U8},
    {"I8", FLINT_TYPE_I8},           {"U16", FLINT_TYPE_U16},
    {"I16", FLINT_TYPE_I16},         {"F16", FLINT_TYPE_F16},
    {"BF16", FLINT_TYPE_BF16},       {"U32", FLINT_TYPE_U32},
    {"I32", FLINT_TYPE_I32},         {"F32", FLINT_TYPE_F32},
    {"F64", FLINT_TYPE_F64},         {"U64", FLINT_TYPE_U64},
    {"I64", FLINT_TYPE_I64},         {"F8_E4M3", FLINT_TYPE_F8_E4M3},
    {"F8_E5M2", FLINT_TYPE_F8_E5M2}, {"F8_E8M0", FLINT_TYPE_F8_E8M0},
    {"F4", FLINT_TYPE_F4_E2M1},      {"F6_E2M3", FLINT_TYPE_F6_E2M3},
    {"F6_E3M2", FLINT_TYPE_F6_E3M2}, {"C64", FLINT_TYPE_C64},
    {"F8_E4M3FNUZ", FLINT_TYPE_F8_E4M3FNUZ}, {"F8_E5M2FNUZ", FLINT_TYPE_F8_E5M2FNUZ},
};

bool fl_st_dtype_parse(const char *s, flint_type *out) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
        if (strcmp(s, dtypes[i].name) == 0) {
            *out = dtypes[i].type;
            return true;
        }
    }
    return false;
}

/* ---- the table ---- */

static flint_status add_file(fl_st *st, const char *path, const uint8_t *data, uint64_t size,
                             fl_map *map, int32_t *fi) {
    if (st->n_files == st->cap_files) {
        int32_t cap = st->cap_files ? 2 * st->cap_files : 4;
        fl_st_file *files = realloc(st->files, (size_t)cap * sizeof *files);
        if (!files) return fl_errorf(FLINT_E_NOMEM, "%s: out of memory", path);
        st->files = files;
        st->cap_files = cap;
    }
    fl_st_file *f = &st->files[st->n_files];
    memset(f, 0, sizeof *f);
    if (map) {
        f->map = *map; /* the table owns the mapping from here on */
        memset(map, 0, sizeof *map);
    }
    st->n_files++;
    f->path = strdup(path);
    if (!f->path) return fl_errorf(FLINT_E_NOMEM, "%s: out of memory", path);
    f->data = data;
    f->size = size;
    f->first_tensor = st->n_tensors;
    *fi = st->n_files - 1;
    return FLINT_OK;
}

static flint_status reserve_tensors(fl_st *st, int64_t more, const char *path) {
    int64_t need;
    if (__builtin_add_overflow(st->n_tensors, more, &need))
        return fl_errorf(FLINT_E_NOMEM, "%s: too many tensors", path);
    if (need <= st->cap_tensors) return FLINT_OK;
    int64_t cap = st->cap_tensors ? st->cap_tensors : 64;
    while (cap < need) cap *= 2;
    flint_tensor_info *t = realloc(st->tensors, (size_t)cap * sizeof *t);
    if (!t) return fl_errorf(FLINT_E_NOMEM, "%s: out of memory for %lld tensors", path, (long long)need);
    st->tensors = t;
    int32_t *tf = realloc(st->tensor_file, (size_t)cap * sizeof *tf);
    if (!tf) return fl_errorf(FLINT_E_NOMEM, "%s: out of memory for %lld tensors", path, (long long)need);
    st->tensor_file = tf;
    st->cap_tensors = cap;
    return FLINT_OK;
}

void fl_st_close(fl_st *st) {
    for (int32_t i = 0; i < st->n_files; i++) {
        fl_st_file *f = &st->files[i];
        fl_map_close(&f->map);
        fl_meta_free(&f->meta);
        free(f->names);
        free(f->path);
    }
    free(st->files);
    free(st->tensors);
    free(st->tensor_file);
    fl_strmap_free(&st->index);
    memset(st, 0, sizeof *st);
}

/* ---- one header ---- */

/* One entry as parsed, before sorting by data offset. */
typedef struct entry {
    flint_tensor_info t;
    uint64_t begin, end; /* relative to the data section */
} entry;

static void shape_str(char *buf, size_t cap, const int64_t *shape, int32_t n) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, cap - k, "[");
    for (int32_t i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static flint_status parse_entry(const char *path, const char *name, json_t *e, uint64_t data_size,
                                entry *out) {
    if (!json_is_object(e))
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': entry is a JSON %s, not an object", path,
                         name, fl_json_kind(e));
    json_t *jd = json_object_get(e, "dtype");
    json_t *js = json_object_get(e, "shape");
    json_t *jo = json_object_get(e, "data_offsets");
    if (!jd) return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' has no dtype", path, name);
    if (!js) return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' has no shape", path, name);
    if (!jo) return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' has no data_offsets", path, name);

    if (!json_is_string(jd))
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': dtype is a JSON %s, not a string", path,
                         name, fl_json_kind(jd));
    const char *ds = json_string_value(jd);
    flint_type type;
    if (!fl_st_dtype_parse(ds, &type))
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: tensor '%s' has unknown dtype '%s'", path, name, ds);

    if (!json_is_array(js))
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': shape is a JSON %s, not an array", path,
                         name, fl_json_kind(js));
    size_t nd = json_array_size(js);
    if (nd > FLINT_MAX_DIMS)
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' has %zu dims, more than the %d allowed", path,
                         name, nd, FLINT_MAX_DIMS);
    int64_t shape[FLINT_MAX_DIMS];
    /* The product of the non-zero dims must fit in int64 even when another
     * dim is 0, so that no later ne[0] * ne[1] can overflow. */
    int64_t prod = 1;
    bool zero = false;
    for (size_t i = 0; i < nd; i++) {
        json_t *d = json_array_get(js, i);
        if (!json_is_integer(d))
            return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': shape[%zu] is a JSON %s, not an integer",
                             path, name, i, fl_json_kind(d));
        shape[i] = (int64_t)json_integer_value(d);
        if (shape[i] < 0)
            return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': shape[%zu] is %lld, negative", path, name,
                             i, (long long)shape[i]);
        if (shape[i] == 0) zero = true;
        else if (!fl_mul_i64(prod, shape[i], &prod))
            return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': the element count of its shape overflows",
                             path, name);
    }
    uint64_t n_el = zero ? 0 : (uint64_t)prod;

    if (!json_is_array(jo) || json_array_size(jo) != 2 || !json_is_integer(json_array_get(jo, 0)) ||
        !json_is_integer(json_array_get(jo, 1)))
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': data_offsets is not [begin, end] (two integers)",
                         path, name);
    long long b = json_integer_value(json_array_get(jo, 0));
    long long en = json_integer_value(json_array_get(jo, 1));
    if (b < 0 || en < 0)
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] is negative", path,
                         name, b, en);
    if (b > en)
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] begins after it ends",
                         path, name, b, en);
    if ((uint64_t)en > data_size)
        return fl_errorf(FLINT_E_FORMAT,
                         "%s: tensor '%s' ends at byte %lld of the data section, past its end (%llu bytes)",
                         path, name, en, (ull)data_size);

    const fl_type_info *ti = fl_type_get(type);
    uint64_t bytes;
    char sh[160];
    shape_str(sh, sizeof sh, shape, (int32_t)nd);
    if (n_el % (uint64_t)ti->block_size != 0)
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': %s %s has %llu elements, not a multiple of %d",
                         path, name, ds, sh, (ull)n_el, ti->block_size);
    if (!fl_type_row_bytes(type, n_el, &bytes))
        return fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s': the byte size of %s %s overflows", path, name,
                         ds, sh);
    if (bytes != (uint64_t)(en - b))
        return fl_errorf(FLINT_E_FORMAT,
                         "%s: tensor '%s': %s %s needs %llu bytes but data_offsets [%lld, %lld] hold %llu",
                         path, name, ds, sh, (ull)bytes, b, en, (ull)(en - b));

    memset(out, 0, sizeof *out);
    out->t.type = type;
    out->t.n_dims = (int32_t)nd;
    for (int i = 0; i < FLINT_MAX_DIMS; i++) out->t.ne[i] = 1;
    for (size_t i = 0; i < nd; i++) out->t.ne[i] = shape[nd - 1 - i];
    out->t.size = bytes;
    out->begin = (uint64_t)b;
    out->end = (uint64_t)en;
    return FLINT_OK;
}

static int cmp_entry(const void *pa, const void *pb) {
    const entry *a = pa, *b = pb;
    if (a->begin != b->begin) return a->begin < b->begin ? -1 : 1;
    if (a->end != b->end) return a->end < b->end ? -1 : 1;
    return strcmp(a->t.name, b->t.name);
}

static flint_status parse_metadata(fl_st_file *f, json_t *md) {
    if (json_is_null(md)) return FLINT_OK; /* the crate reads null as "none" */
    if (!json_is_object(md))
        return fl_errorf(FLINT_E_FORMAT, "%s: __metadata__ is a JSON %s, not an object of strings", f->path,
                         fl_json_kind(md));
    size_t n = json_object_size(md);
    if (n > 0) {
        f->meta.kvs = calloc(n, sizeof *f->meta.kvs);
        if (!f->meta.kvs) return fl_errorf(FLINT_E_NOMEM, "%s: out of memory", f->path);
    }
    const char *k;
    json_t *v;
    json_object_foreach(md, k, v) {
        if (!json_is_string(v))
            return fl_errorf(FLINT_E_FORMAT, "%s: __metadata__ value of '%s' is a JSON %s, not a string",
                             f->path, k, fl_json_kind(v));
        size_t len = json_string_length(v);
        char *key = strdup(k);
        flint_status st = fl_meta_own(&f->meta, key);
        if (st) return fl_error_prefix(st, f->path);
        char *s = malloc(len + 1);
        st = fl_meta_own(&f->meta, s);
        if (st) return fl_error_prefix(st, f->path);
        memcpy(s, json_string_value(v), len);
        s[len] = '\0';
        fl_meta_kv *kv = &f->meta.kvs[f->meta.n_kvs++];
        kv->key = key;
        kv->value.type = FLINT_META_STRING;
        kv->value.count = len;
        kv->value.data = s;
    }
    return fl_meta_build_index(&f->meta, f->path);
}

/* Parses the header of files[fi] and appends its tensors in data order. */
static flint_status parse_header(fl_st *st, json_t *root, int32_t fi) {
    fl_st_file *f = &st->files[fi];
    const char *path = f->path;
    uint64_t data_size = f->size - f->data_start;

    /* Names first: one buffer, so that the views' name pointers are stable. */
    size_t n = 0, name_bytes = 0;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (strcmp(k, "__metadata__") == 0) continue;
        size_t len = strlen(k);
        if (len == 0) return fl_errorf(FLINT_E_FORMAT, "%s: a tensor has an empty name", path);
        if (!fl_utf8_valid(k, len)) /* jansson checks too; names must be clean C strings */
            return fl_errorf(FLINT_E_FORMAT, "%s: a tensor name is not valid UTF-8", path);
        n++;
        name_bytes += len + 1;
    }
    f->names = malloc(name_bytes ? name_bytes : 1);
    entry *es = calloc(n ? n : 1, sizeof *es);
    if (!f->names || !es) {
        free(es);
        return fl_errorf(FLINT_E_NOMEM, "%s: out of memory for %zu tensors", path, n);
    }

    flint_status s = FLINT_OK;
    size_t i = 0, pos = 0;
    json_object_foreach(root, k, v) {
        if (strcmp(k, "__metadata__") == 0) {
            s = parse_metadata(f, v);
            if (s) goto done;
            continue;
        }
        s = parse_entry(path, k, v, data_size, &es[i]);
        if (s) goto done;
        size_t len = strlen(k);
        memcpy(f->names + pos, k, len + 1);
        es[i].t.name = f->names + pos;
        pos += len + 1;
        i++;
    }

    /* Sorted by range, the tensors must tile the data section exactly. */
    qsort(es, n, sizeof *es, cmp_entry);
    uint64_t at = 0;
    for (i = 0; i < n; i++) {
        if (es[i].begin < at) {
            const entry *p = &es[i - 1]; /* i > 0: at is 0 before the first */
            s = fl_errorf(FLINT_E_FORMAT, "%s: tensor '%s' [%llu, %llu) overlaps tensor '%s' [%llu, %llu)",
                          path, es[i].t.name, (ull)es[i].begin, (ull)es[i].end, p->t.name, (ull)p->begin,
                          (ull)p->end);
            goto done;
        }
        if (es[i].begin > at) {
            s = fl_errorf(FLINT_E_FORMAT,
                          "%s: bytes [%llu, %llu) of the data section, before tensor '%s', belong to no "
                          "tensor (safetensors allows no gaps)",
                          path, (ull)at, (ull)es[i].begin, es[i].t.name);
            goto done;
        }
        at = es[i].end;
    }
    if (at != data_size) {
        s = fl_errorf(FLINT_E_FORMAT,
                      "%s: the data section has %llu bytes but the tensors cover only %llu (trailing bytes)",
                      path, (ull)data_size, (ull)at);
        goto done;
    }

    s = reserve_tensors(st, (int64_t)n, path);
    if (s) goto done;
    for (i = 0; i < n; i++) {
        flint_tensor_info *t = &st->tensors[st->n_tensors];
        *t = es[i].t;
        t->offset = f->data_start + es[i].begin; /* <= size: checked above */
        t->data = f->data + t->offset;
        t->file = f->path;
        st->tensor_file[st->n_tensors] = fi;
        st->n_tensors++;
    }
    f->n_tensors = (int64_t)n;
done:
    free(es);
    return s;
}

static flint_status parse_file(fl_st *st, int32_t fi) {
    fl_st_file *f = &st->files[fi];
    const char *path = f->path;
    if (f->size < 8)
        return fl_errorf(FLINT_E_FORMAT,
                         "%s: %llu bytes, too short for a safetensors file (the header length takes 8)", path,
                         (ull)f->size);
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)f->data[i] << (8 * i);
    if (n > FL_ST_MAX_HEADER)
        return fl_errorf(FLINT_E_FORMAT, "%s: header length %llu is more than the %llu bytes allowed", path,
                         (ull)n, (ull)FL_ST_MAX_HEADER);
    if (n > f->size - 8)
        return fl_errorf(FLINT_E_FORMAT, "%s: header length %llu runs past the end of the file (%llu bytes)",
                         path, (ull)n, (ull)f->size);
    f->data_start = 8 + n;

    json_t *root;
    flint_status ls = fl_json_load((const char *)f->data + 8, (size_t)n, path, "header", &root);
    if (ls) return ls;
    flint_status s;
    if (!json_is_object(root))
        s = fl_errorf(FLINT_E_FORMAT, "%s: header is a JSON %s, not an object", path, fl_json_kind(root));
    else
        s = parse_header(st, root, fi);
    json_decref(root);
    return s;
}

static flint_status build_index(fl_st *st) {
    flint_status s = fl_strmap_init(&st->index, (size_t)st->n_tensors);
    if (s) return s;
    for (int64_t i = 0; i < st->n_tensors; i++) {
        const char *name = st->tensors[i].name;
        if (!fl_strmap_put(&st->index, name, strlen(name), i)) {
            int64_t j = fl_strmap_get(&st->index, name, strlen(name));
            return fl_errorf(FLINT_E_FORMAT, "tensor '%s' is in both %s and %s", name, st->tensors[j].file,
                             st->tensors[i].file);
        }
    }
    return FLINT_OK;
}

/* ---- public entry points ---- */

flint_status fl_st_parse(fl_st *st, const void *data, uint64_t size, const char *path) {
    memset(st, 0, sizeof *st);
    int32_t fi = 0;
    flint_status s = add_file(st, path, data, size, NULL, &fi);
    if (!s) s = parse_file(st, fi);
    if (!s) s = build_index(st);
    if (s) fl_st_close(st);
    return s;
}

/* Maps path and appends its tensors (the index is built by the caller). */
static flint_status open_one(fl_st *st, const char *path) {
    fl_map map;
    flint_status s = fl_map_open(&map, path);
    if (s) return s;
    int32_t fi = 0;
    s = add_file(st, path, map.data, map.size, &map, &fi);
    if (s) {
        fl_map_close(&map); /* add_file takes it only on success of the realloc */
        return s;
    }
    return parse_file(st, fi);
}

flint_status fl_st_open_file(fl_st *st, const char *path) {
    memset(st, 0, sizeof *st);
    flint_status s = open_one(st, path);
    if (!s) s = build_index(st);
    if (s) fl_st_close(st);
    return s;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static flint_status open_sharded(fl_st *st, const char *dir, const char *idx_path) {
    char *buf = NULL;
    uint64_t len = 0;
    flint_status s = fl_read_file(idx_path, FL_ST_MAX_INDEX, &buf, &len);
    if (s) return s;
    fl_st_index ix;
    s = fl_st_index_parse(&ix, buf, len, idx_path);
    free(buf);
    if (s) return s;

    for (int64_t i = 0; i < ix.n_shards && !s; i++) {
        char *p = fl_path_join(dir, ix.shards[i]);
        if (!p) {
            s = fl_errorf(FLINT_E_NOMEM, "%s: out of memory", idx_path);
            break;
        }
        s = open_one(st, p);
        free(p);
        if (s) {
            char pre[512];
            snprintf(pre, sizeof pre, "%s: weight_map names shard '%s'", idx_path, ix.shards[i]);
            fl_error_prefix(s, pre);
        }
    }
    if (!s) s = build_index(st);
    /* Every weight_map entry must be in the shard it names; files[i] was
     * opened from shards[i]. */
    for (int64_t i = 0; i < ix.n_entries && !s; i++) {
        const char *t = ix.tensor[i], *sh = ix.shard[i];
        const char **at = bsearch(&sh, ix.shards, (size_t)ix.n_shards, sizeof *ix.shards, cmp_str);
        int64_t want = at - ix.shards;
        int64_t j = fl_strmap_get(&st->index, t, strlen(t));
        if (j < 0)
            s = fl_errorf(FLINT_E_FORMAT, "%s: weight_map puts tensor '%s' in shard '%s', which does not hold it",
                          idx_path, t, sh);
        else if (st->tensor_file[j] != want)
            s = fl_errorf(FLINT_E_FORMAT, "%s: weight_map puts tensor '%s' in shard '%s', but it is in %s",
                          idx_path, t, sh, st->tensors[j].file);
    }
    fl_st_index_free(&ix);
    return s;
}

flint_status fl_st_open_dir(fl_st *st, const char *dir) {
    memset(st, 0, sizeof *st);
    char *idx = fl_path_join(dir, FL_ST_INDEX_NAME);
    char *single = fl_path_join(dir, FL_ST_SINGLE_NAME);
    flint_status s;
    if (!idx || !single) {
        s = fl_errorf(FLINT_E_NOMEM, "%s: out of memory", dir);
    } else if (exists(idx)) {
        s = open_sharded(st, dir, idx);
    } else if (exists(single)) {
        s = open_one(st, single);
        if (!s) s = build_index(st);
    } else {
        s = fl_errorf(FLINT_E_IO, "no %s or %s in %s", FL_ST_SINGLE_NAME, FL_ST_INDEX_NAME, dir);
    }
    free(idx);
    free(single);
    if (s) fl_st_close(st);
    return s;
}

flint_status fl_st_open(fl_st *st, const char *path) {
    return fl_is_dir(path) ? fl_st_open_dir(st, path) : fl_st_open_file(st, path);
}

const flint_tensor_info *fl_st_find(const fl_st *st, const char *name) {
    int64_t i = fl_strmap_get(&st->index, name, strlen(name));
    return i < 0 ? NULL : &st->tensors[i];
}

flint_status fl_st_get(const fl_st *st, const char *name, const flint_tensor_info **out) {
    *out = fl_st_find(st, name);
    if (!*out) {
        const char *where = st->n_files == 1 ? st->files[0].path : "the safetensors files";
        return fl_errorf(FLINT_E_NOT_FOUND, "%s: no tensor '%s'", where, name);
    }
    return FLINT_OK;
}

const fl_st_file *fl_st_file_of(const fl_st *st, int64_t i) {
    if (i < 0 || i >= st->n_tensors) return NULL;
    return &st->files[st->tensor_file[i]];
}

/* ---- model.safetensors.index.json ---- */

void fl_st_index_free(fl_st_index *ix) {
    if (ix->json) json_decref((json_t *)ix->json);
    free(ix->tensor);
    free(ix->shard);
    free(ix->shards);
    memset(ix, 0, sizeof *ix);
}

flint_status fl_st_index_parse(fl_st_index *ix, const char *json, uint64_t len, const char *path) {
    memset(ix, 0, sizeof *ix);
    json_t *root;
    flint_status ls = fl_json_load(json, (size_t)len, path, "index", &root);
    if (ls) return ls;
    ix->json = root;
    flint_status s = FLINT_OK;
    if (!json_is_object(root)) {
        s = fl_errorf(FLINT_E_FORMAT, "%s: index is a JSON %s, not an object", path, fl_json_kind(root));
        goto fail;
    }
    json_t *wm = json_object_get(root, "weight_map");
    if (!wm || !json_is_object(wm)) {
        s = fl_errorf(FLINT_E_FORMAT, "%s: %s", path,
                      wm ? "weight_map is not an object" : "no weight_map");
        goto fail;
    }
    size_t n = json_object_size(wm);
    ix->tensor = malloc((n ? n : 1) * sizeof *ix->tensor);
    ix->shard = malloc((n ? n : 1) * sizeof *ix->shard);
    ix->shards = malloc((n ? n : 1) * sizeof *ix->shards);
    if (!ix->tensor || !ix->shard || !ix->shards) {
        s = fl_errorf(FLINT_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    const char *k;
    json_t *v;
    json_object_foreach(wm, k, v) {
        if (!json_is_string(v)) {
            s = fl_errorf(FLINT_E_FORMAT, "%s: weight_map entry for '%s' is a JSON %s, not a shard name", path,
                          k, fl_json_kind(v));
            goto fail;
        }
        const char *sh = json_string_value(v);
        /* A plain file name in the folder: a hostile index must not reach
         * ../ or an absolute path. */
        if (sh[0] == '\0' || strchr(sh, '/') || strchr(sh, '\\') || strcmp(sh, ".") == 0 ||
            strcmp(sh, "..") == 0 || strlen(sh) != json_string_length(v)) {
            s = fl_errorf(FLINT_E_FORMAT,
                          "%s: weight_map puts tensor '%s' in '%s', which is not a plain file name in the folder",
                          path, k, sh);
            goto fail;
        }
        ix->tensor[ix->n_entries] = k;
        ix->shard[ix->n_entries] = sh;
        ix->shards[ix->n_entries] = sh;
        ix->n_entries++;
    }
    qsort(ix->shards, (size_t)ix->n_entries, sizeof *ix->shards, cmp_str);
    for (int64_t i = 0; i < ix->n_entries; i++)
        if (ix->n_shards == 0 || strcmp(ix->shards[ix->n_shards - 1], ix->shards[i]) != 0)
            ix->shards[ix->n_shards++] = ix->shards[i];
    return FLINT_OK;
fail:
    fl_st_index_free(ix);
    return s;
}
