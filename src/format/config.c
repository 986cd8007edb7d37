/* config.c — config.json flattened into an fl_meta (the mapping is in
 * config.h). Owns the copies of keys and strings it makes (through
 * fl_meta_own); must not recurse deeper than FL_CONFIG_MAX_DEPTH. */
#include "format/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"
#include "base/file.h"

typedef struct walk {
    fl_meta *m;
    const char *path;
    int64_t cap; /* of m->kvs */
} walk;

static flint_status nomem(const walk *w) {
    return fl_errorf(FLINT_E_NOMEM, "%s: out of memory reading the config", w->path);
}

/* "<prefix>.<name>" (just name at the top level) in a new heap string. */
static char *join_key(const char *prefix, const char *name, size_t name_len) {
    size_t p = prefix ? strlen(prefix) : 0;
    char *k = malloc(p + 1 + name_len + 1);
    if (!k) return NULL;
    size_t at = 0;
    if (prefix) {
        memcpy(k, prefix, p);
        k[p] = '.';
        at = p + 1;
    }
    memcpy(k + at, name, name_len);
    k[at + name_len] = '\0';
    return k;
}

static char *index_key(const char *prefix, size_t i) {
    char num[24];
    int n = snprintf(num, sizeof num, "%zu", i);
    return join_key(prefix, num, (size_t)n);
}

/* Appends a kv with an owned key (taken over here, also on failure). */
static flint_status push_kv(walk *w, char *key, int64_t *at) {
    flint_status s = fl_meta_own(w->m, key);
    if (s) return fl_error_prefix(s, w->path);
    fl_meta *m = w->m;
    if (m->n_kvs == w->cap) {
        int64_t cap = w->cap ? 2 * w->cap : 64;
        fl_meta_kv *kvs = realloc(m->kvs, (size_t)cap * sizeof *kvs);
        if (!kvs) return nomem(w);
        m->kvs = kvs;
        w->cap = cap;
    }
    memset(&m->kvs[m->n_kvs], 0, sizeof m->kvs[0]);
    m->kvs[m->n_kvs].key = key;
    m->kvs[m->n_kvs].value.type = FLINT_META_NULL;
    *at = m->n_kvs++;
    return FLINT_OK;
}

static flint_status walk_object(walk *w, const json_t *obj, const char *prefix, int depth);

static flint_status too_deep(const walk *w, const char *key) {
    return fl_errorf(FLINT_E_FORMAT, "%s: '%s' is nested more than %d levels deep", w->path, key,
                     FL_CONFIG_MAX_DEPTH);
}

/* Any non-object value; key is where it lives (for arrays of objects and
 * for messages). */
static flint_status make_value(walk *w, const json_t *j, const char *key, int depth, fl_meta_value *v) {
    memset(v, 0, sizeof *v);
    switch (json_typeof(j)) {
    case JSON_INTEGER:
        v->type = FLINT_META_I64;
        v->num.i = (int64_t)json_integer_value(j);
        return FLINT_OK;
    case JSON_REAL:
        v->type = FLINT_META_F64;
        v->num.f = json_real_value(j);
        return FLINT_OK;
    case JSON_TRUE: case JSON_FALSE:
        v->type = FLINT_META_BOOL;
        v->num.u = json_is_true(j);
        return FLINT_OK;
    case JSON_NULL:
        v->type = FLINT_META_NULL;
        return FLINT_OK;
    case JSON_STRING: {
        size_t len = json_string_length(j);
        char *s = malloc(len + 1);
        flint_status st = fl_meta_own(w->m, s);
        if (st) return fl_error_prefix(st, w->path);
        memcpy(s, json_string_value(j), len);
        s[len] = '\0';
        v->type = FLINT_META_STRING;
        v->count = len;
        v->data = s;
        return FLINT_OK;
    }
    case JSON_OBJECT: /* only reached for array elements: members get keys */
        if (depth > FL_CONFIG_MAX_DEPTH) return too_deep(w, key);
        v->type = FLINT_META_NULL;
        return walk_object(w, j, key, depth);
    case JSON_ARRAY:
        break;
    }

    if (depth > FL_CONFIG_MAX_DEPTH) return too_deep(w, key);
    size_t n = json_array_size(j);
    v->type = FLINT_META_ARRAY;
    v->elem_type = FLINT_META_NULL;
    v->count = n;
    if (n == 0) return FLINT_OK;
    fl_meta_value *items = calloc(n, sizeof *items);
    flint_status st = fl_meta_own(w->m, items);
    if (st) return fl_error_prefix(st, w->path);
    v->items = items;
    bool ints = false, reals = false, same = true;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(j, i);
        if (json_is_object(e) || json_is_array(e)) {
            char *ik = index_key(key, i);
            if (!ik) return nomem(w);
            st = make_value(w, e, ik, depth + 1, &items[i]);
            free(ik);
        } else {
            st = make_value(w, e, key, depth + 1, &items[i]);
        }
        if (st) return st;
        ints |= items[i].type == FLINT_META_I64;
        reals |= items[i].type == FLINT_META_F64;
        same &= items[i].type == items[0].type;
    }
    if (same) {
        v->elem_type = items[0].type;
    } else if (ints && reals) {
        bool numeric = true;
        for (size_t i = 0; i < n; i++)
            numeric &= items[i].type == FLINT_META_I64 || items[i].type == FLINT_META_F64;
        if (numeric) {
            for (size_t i = 0; i < n; i++) {
                if (items[i].type == FLINT_META_I64) {
                    items[i].type = FLINT_META_F64;
                    items[i].num.f = (double)items[i].num.i;
                }
            }
            v->elem_type = FLINT_META_F64;
        }
    }
    return FLINT_OK;
}

static flint_status walk_object(walk *w, const json_t *obj, const char *prefix, int depth) {
    const char *k;
    json_t *j;
    json_object_foreach((json_t *)obj, k, j) {
        char *key = join_key(prefix, k, strlen(k));
        if (!key) return nomem(w);
        flint_status s;
        if (json_is_object(j)) {
            s = depth + 1 > FL_CONFIG_MAX_DEPTH ? too_deep(w, key) : walk_object(w, j, key, depth + 1);
            free(key);
        } else {
            int64_t at = 0;
            s = push_kv(w, key, &at);
            fl_meta_value v;
            if (!s) s = make_value(w, j, key, depth + 1, &v);
            if (!s) w->m->kvs[at].value = v; /* kvs may have moved meanwhile */
        }
        if (s) return s;
    }
    return FLINT_OK;
}

flint_status fl_config_parse(const char *json, size_t len, const char *path, fl_meta *out) {
    memset(out, 0, sizeof *out);
    if ((unsigned long long)len > FL_CONFIG_MAX_BYTES)
        return fl_errorf(FLINT_E_FORMAT, "%s: %zu bytes, more than the %llu allowed for a config", path, len,
                         (unsigned long long)FL_CONFIG_MAX_BYTES);
    json_t *root;
    flint_status ls = fl_json_load(json, len, path, "config", &root);
    if (ls) return ls;
    flint_status s;
    if (!json_is_object(root)) {
        s = fl_errorf(FLINT_E_FORMAT, "%s: config is not a JSON object", path);
    } else {
        walk w = {out, path, 0};
        s = walk_object(&w, root, NULL, 1);
        if (!s) s = fl_meta_build_index(out, path);
    }
    json_decref(root);
    if (s) fl_meta_free(out);
    return s;
}

flint_status fl_config_load(const char *path, fl_meta *out) {
    memset(out, 0, sizeof *out);
    char *buf;
    uint64_t len;
    flint_status s = fl_read_file(path, FL_CONFIG_MAX_BYTES, &buf, &len);
    if (s) return s;
    s = fl_config_parse(buf, (size_t)len, path, out);
    free(buf);
    return s;
}

static const char *str_or_null(const fl_meta_value *v) {
    return v && v->type == FLINT_META_STRING ? (const char *)v->data : NULL;
}

const char *fl_config_arch(const fl_meta *meta) {
    const char *s = str_or_null(fl_meta_find(meta, "text_config.model_type"));
    if (!s) s = str_or_null(fl_meta_find(meta, "model_type"));
    return s ? s : "";
}

const char *fl_config_architecture(const fl_meta *meta) {
    const fl_meta_value *v = fl_meta_find(meta, "architectures");
    if (v && v->type == FLINT_META_ARRAY && v->count > 0 && v->items) {
        const char *s = str_or_null(&v->items[0]);
        if (s) return s;
    }
    return "";
}
