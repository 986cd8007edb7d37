/* listing.c — the hub's tree listing parsed and checked (see listing.h).
 * Owns every check of what the server says about a file before a path or
 * a blob name is made of it; does no I/O and never trusts a size. */
#define _POSIX_C_SOURCE 200809L /* strndup */
#include "hub/listing.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"

const char *fl_hub_path_problem(const char *path, size_t len) {
    if (len == 0) return "is empty";
    if (strlen(path) != len) return "holds a NUL character";
    if (len > FL_HUB_MAX_PATH) return "is too long";
    if (path[0] == '/') return "is absolute";
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)path[i] : '/';
        if (c == '\\') return "holds a backslash";
        if (c < 0x20 || c == 0x7f) return "holds a control character";
        if (c != '/') continue;
        size_t n = i - start;
        if (n == 0) return "has an empty component";
        if (n > FL_HUB_MAX_NAME) return "has a component longer than 255 bytes";
        if ((n == 1 && path[start] == '.') || (n == 2 && path[start] == '.' && path[start + 1] == '.'))
            return "has a '.' or '..' component";
        start = i + 1;
    }
    return NULL;
}

/* n lowercase hex digits and nothing else */
static bool is_hex(const char *s, size_t len, size_t n) {
    if (len != n) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

/* A JSON integer >= 0 */
static bool get_size(const json_t *j, uint64_t *out) {
    if (!json_is_integer(j) || json_integer_value(j) < 0) return false;
    *out = (uint64_t)json_integer_value(j);
    return true;
}

static flint_status parse_entry(fl_hub_entry *e, const json_t *it, int64_t i) {
    if (!json_is_object(it)) return fl_errorf(FLINT_E_FORMAT, "tree listing: entry %lld is not an object", (long long)i);
    const json_t *jpath = json_object_get(it, "path");
    if (!json_is_string(jpath))
        return fl_errorf(FLINT_E_FORMAT, "tree listing: entry %lld has no \"path\" string", (long long)i);
    const char *path = json_string_value(jpath);
    size_t plen = json_string_length(jpath);
    const char *why = fl_hub_path_problem(path, plen);
    if (why)
        return fl_errorf(FLINT_E_FORMAT, "tree listing: the path of entry %lld %s: refused (it must stay in the cache)",
                         (long long)i, why);
    const json_t *oid = json_object_get(it, "oid"), *lfs = json_object_get(it, "lfs");
    if (!get_size(json_object_get(it, "size"), &e->size))
        return fl_errorf(FLINT_E_FORMAT, "tree listing: '%s' has no size (a whole number >= 0)", path);
    if (lfs && !json_is_null(lfs)) {
        const json_t *loid = json_object_get(lfs, "oid");
        uint64_t lsize;
        if (!json_is_object(lfs) || !json_is_string(loid) ||
            !is_hex(json_string_value(loid), json_string_length(loid), 64))
            return fl_errorf(FLINT_E_FORMAT, "tree listing: '%s': lfs.oid is not a sha256 (64 lowercase hex digits)",
                             path);
        if (!get_size(json_object_get(lfs, "size"), &lsize) || lsize != e->size)
            return fl_errorf(FLINT_E_FORMAT, "tree listing: '%s': lfs.size is missing or disagrees with its size",
                             path);
        memcpy(e->blob, json_string_value(loid), 65);
        e->lfs = true;
    } else {
        if (!json_is_string(oid) || !(is_hex(json_string_value(oid), json_string_length(oid), 40) ||
                                      is_hex(json_string_value(oid), json_string_length(oid), 64)))
            return fl_errorf(FLINT_E_FORMAT, "tree listing: '%s': oid is not a git object id (40 or 64 lowercase hex)",
                             path);
        memcpy(e->blob, json_string_value(oid), json_string_length(oid) + 1);
        e->lfs = false;
    }
    e->path = strndup(path, plen);
    return e->path ? FLINT_OK : fl_errorf(FLINT_E_NOMEM, "tree listing: out of memory");
}

flint_status fl_hub_listing_parse(fl_hub_listing *ls, const char *json, size_t len) {
    json_t *root;
    flint_status s = fl_json_load(json, len, "the hub's reply", "tree listing", &root);
    if (s) return s;
    if (!json_is_array(root)) {
        s = fl_errorf(FLINT_E_FORMAT, "tree listing: expected a JSON array, got %s", fl_json_kind(root));
        json_decref(root);
        return s;
    }
    size_t n = json_array_size(root);
    for (size_t i = 0; i < n && !s; i++) {
        const json_t *it = json_array_get(root, i);
        const json_t *type = json_object_get(it, "type");
        if (json_is_string(type) && !strcmp(json_string_value(type), "directory")) continue;
        if (json_is_object(it) && !(json_is_string(type) && !strcmp(json_string_value(type), "file"))) {
            s = fl_errorf(FLINT_E_FORMAT, "tree listing: entry %zu is neither a \"file\" nor a \"directory\"", i);
            break;
        }
        if (ls->n >= FL_HUB_MAX_FILES) {
            s = fl_errorf(FLINT_E_FORMAT, "tree listing: more than %d files", FL_HUB_MAX_FILES);
            break;
        }
        if (ls->n == ls->cap) {
            int64_t cap = ls->cap ? ls->cap * 2 : 64;
            fl_hub_entry *v = realloc(ls->v, (size_t)cap * sizeof *v);
            if (!v) {
                s = fl_errorf(FLINT_E_NOMEM, "tree listing: out of memory");
                break;
            }
            ls->v = v;
            ls->cap = cap;
        }
        fl_hub_entry *e = &ls->v[ls->n];
        memset(e, 0, sizeof *e);
        s = parse_entry(e, it, (int64_t)i);
        if (!s) ls->n++;
    }
    json_decref(root);
    return s;
}

static int cmp_path(const void *a, const void *b) {
    return strcmp(((const fl_hub_entry *)a)->path, ((const fl_hub_entry *)b)->path);
}

/* bsearch key: a prefix of a path (the folder part) */
typedef struct prefix {
    const char *s;
    size_t len;
} prefix;

static int cmp_prefix(const void *k, const void *e) {
    const prefix *p = k;
    const char *path = ((const fl_hub_entry *)e)->path;
    int c = strncmp(p->s, path, p->len);
    return c ? c : path[p->len] ? -1 : 0;
}

flint_status fl_hub_listing_finish(fl_hub_listing *ls) {
    if (ls->n > 1) qsort(ls->v, (size_t)ls->n, sizeof *ls->v, cmp_path);
    for (int64_t i = 0; i < ls->n; i++) {
        const char *a = ls->v[i].path;
        if (i + 1 < ls->n && !strcmp(a, ls->v[i + 1].path))
            return fl_errorf(FLINT_E_FORMAT, "tree listing: '%s' is listed twice", a);
        /* each folder of a must not be a file too */
        for (const char *q = strchr(a, '/'); q; q = strchr(q + 1, '/')) {
            prefix k = {a, (size_t)(q - a)};
            if (bsearch(&k, ls->v, (size_t)ls->n, sizeof *ls->v, cmp_prefix))
                return fl_errorf(FLINT_E_FORMAT, "tree listing: '%.*s' is both a file and the folder of '%s'",
                                 (int)k.len, a, a);
        }
    }
    return FLINT_OK;
}

void fl_hub_listing_free(fl_hub_listing *ls) {
    for (int64_t i = 0; i < ls->n; i++) free(ls->v[i].path);
    free(ls->v);
    memset(ls, 0, sizeof *ls);
}

char *fl_hub_link_next(const char *link) {
    /* Link: <url>; rel="next", <url>; rel="last" (RFC 8288, as GitHub writes it) */
    const char *p = link;
    while (p && *p) {
        const char *lt = strchr(p, '<');
        if (!lt) return NULL;
        const char *gt = strchr(lt + 1, '>');
        if (!gt) return NULL;
        const char *end = strchr(gt, ',');
        if (!end) end = gt + strlen(gt);
        /* the parameters between '>' and the next ',' */
        for (const char *q = gt + 1; q + 3 < end; q++) {
            if (strncmp(q, "rel", 3)) continue;
            const char *v = q + 3;
            while (v < end && (*v == ' ' || *v == '=')) v++;
            if (v < end && *v == '"') v++;
            if ((size_t)(end - v) >= 4 && !strncmp(v, "next", 4) && (v + 4 == end || v[4] == '"' || v[4] == ';' ||
                                                                     v[4] == ' '))
                return strndup(lt + 1, (size_t)(gt - lt - 1));
        }
        p = *end ? end + 1 : end;
    }
    return NULL;
}
