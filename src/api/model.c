/* model.c — the public flint_model handle over the format readers: a .gguf
 * file, or a Hugging Face folder (config.json + safetensors, single or
 * sharded). Gives one view of metadata and tensors whatever the format.
 * Opening maps files and parses headers; no tensor data is read. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "format/config.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "api/model_file.h"
#include "experts/store.h"
#include "model/hparams.h"
#include "quant/dequant.h"

struct flint_model {
    flint_file_kind kind;
    fl_gguf gguf;        /* FLINT_FILE_GGUF */
    fl_st st;            /* FLINT_FILE_SAFETENSORS */
    fl_meta config;      /* FLINT_FILE_SAFETENSORS: config.json */
    const fl_meta *meta; /* the metadata of either */
    const flint_tensor_info *tensors;
    int64_t n_tensors;
    const char *arch;
    char *path; /* as given to flint_model_open, for messages */
    fl_expert_store *store; /* streamed experts; NULL: resident */
    int32_t n_layer, n_expert, n_expert_used; /* the MoE shape (n_expert 0: dense or not a language model) */
};

static flint_status open_hf_folder(flint_model *m, const char *dir) {
    char *config = fl_path_join(dir, "config.json");
    if (!config) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    flint_status st = fl_config_load(config, &m->config);
    free(config);
    if (st) return st;
    if ((st = fl_st_open_dir(&m->st, dir))) return st;
    m->kind = FLINT_FILE_SAFETENSORS;
    m->meta = &m->config;
    m->tensors = m->st.tensors;
    m->n_tensors = m->st.n_tensors;
    m->arch = fl_config_arch(&m->config);
    return FLINT_OK;
}

static flint_status open_gguf(flint_model *m, const char *path) {
    flint_status st = fl_gguf_open(&m->gguf, path);
    if (st) return st;
    m->kind = FLINT_FILE_GGUF;
    m->meta = &m->gguf.meta;
    m->tensors = m->gguf.tensors;
    m->n_tensors = m->gguf.n_tensors;
    m->arch = "";
    const fl_meta_value *v = fl_meta_find(m->meta, "general.architecture");
    if (v && v->type == FLINT_META_STRING) {
        /* GGUF strings are not NUL-terminated: keep an owned copy */
        char *a = malloc((size_t)v->count + 1);
        if ((st = fl_meta_own(&m->gguf.meta, a))) return st;
        memcpy(a, v->data, (size_t)v->count);
        a[v->count] = '\0';
        m->arch = a;
    }
    return FLINT_OK;
}

/* The MoE shape, for flint_model_expert_stats; a file flint cannot run
 * has none (its error is for the context that tries). */
static void moe_shape(flint_model *m, const char *path) {
    fl_hparams *hp = malloc(sizeof *hp);
    if (hp && !fl_hparams_load(hp, m->meta, m->kind == FLINT_FILE_GGUF, path) && hp->n_expert > 0)
        m->n_layer = hp->n_layer, m->n_expert = hp->n_expert, m->n_expert_used = hp->n_expert_used;
    free(hp);
    fl_error_clear();
}

flint_status flint_model_open(const char *path, const flint_model_params *params, flint_model **out) {
    if (!path || !out) return fl_errorf(FLINT_E_INVALID_ARG, "flint_model_open: NULL argument");
    *out = NULL;
    const int64_t cache = params ? params->expert_cache : 0;
    if (cache < -1) return fl_errorf(FLINT_E_INVALID_ARG, "expert_cache %lld (bytes, 0 or -1)", (long long)cache);
    flint_model *m = calloc(1, sizeof *m);
    if (!m) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    flint_status st = fl_is_dir(path) ? open_hf_folder(m, path) : open_gguf(m, path);
    if (!st && cache) st = fl_store_create(cache, &m->store);
    if (!st) moe_shape(m, path);
    if (!st && !(m->path = strdup(path))) st = fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (st) {
        flint_model_close(m);
        return st;
    }
    *out = m;
    return FLINT_OK;
}

void flint_model_close(flint_model *m) {
    if (!m) return;
    fl_store_free(m->store);
    fl_gguf_close(&m->gguf);
    fl_st_close(&m->st);
    fl_meta_free(&m->config);
    free(m->path);
    free(m);
}

flint_file_kind flint_model_file_kind(const flint_model *m) { return m ? m->kind : 0; }
const char *flint_model_arch(const flint_model *m) { return m ? m->arch : ""; }

flint_status flint_model_expert_stats(const flint_model *m, flint_expert_stats *out) {
    if (!m || !out) return fl_errorf(FLINT_E_INVALID_ARG, "flint_model_expert_stats: NULL argument");
    if (m->store) fl_store_stats(m->store, out);
    else *out = (flint_expert_stats){.n_layers = m->n_layer, .n_expert = m->n_expert};
    out->n_expert_used = m->n_expert_used;
    return FLINT_OK;
}

flint_status flint_model_expert_read_bandwidth(const flint_model *m, uint64_t bytes, double *bytes_per_s) {
    if (!m || !bytes_per_s) return fl_errorf(FLINT_E_INVALID_ARG, "flint_model_expert_read_bandwidth: NULL argument");
    *bytes_per_s = 0;
    if (!m->store) return fl_errorf(FLINT_E_INVALID_ARG, "flint_model_expert_read_bandwidth: the experts are resident");
    return fl_store_probe(m->store, bytes, bytes_per_s);
}

int64_t flint_meta_count(const flint_model *m) { return m ? m->meta->n_kvs : 0; }

const char *flint_meta_key(const flint_model *m, int64_t i) {
    return m && i >= 0 && i < m->meta->n_kvs ? m->meta->kvs[i].key : NULL;
}

static flint_status find(const flint_model *m, const char *key, const fl_meta_value **v) {
    if (!m || !key) return fl_errorf(FLINT_E_INVALID_ARG, "NULL model or key");
    *v = fl_meta_find(m->meta, key);
    return *v ? FLINT_OK : fl_errorf(FLINT_E_NOT_FOUND, "no metadata key '%s'", key);
}

flint_status flint_meta_type_of(const flint_model *m, const char *key, flint_meta_type *type) {
    const fl_meta_value *v;
    flint_status st = find(m, key, &v);
    if (!st) *type = v->type;
    return st;
}

flint_status flint_meta_get_int(const flint_model *m, const char *key, int64_t *out) {
    const fl_meta_value *v;
    flint_status st = find(m, key, &v);
    if (!st && (st = fl_meta_value_int(v, out))) fl_error_prefix(st, key);
    return st;
}

flint_status flint_meta_get_float(const flint_model *m, const char *key, double *out) {
    const fl_meta_value *v;
    flint_status st = find(m, key, &v);
    if (!st && (st = fl_meta_value_float(v, out))) fl_error_prefix(st, key);
    return st;
}

flint_status flint_meta_get_str(const flint_model *m, const char *key, const char **out, uint64_t *len) {
    const fl_meta_value *v;
    flint_status st = find(m, key, &v);
    if (st) return st;
    if (v->type != FLINT_META_STRING)
        return fl_errorf(FLINT_E_TYPE, "%s: value of type %s is not a string", key, fl_meta_type_name(v->type));
    *out = v->data;
    if (len) *len = v->count;
    return FLINT_OK;
}

flint_status flint_meta_get_array(const flint_model *m, const char *key, flint_meta_type *elem_type,
                                  uint64_t *count) {
    const fl_meta_value *v;
    flint_status st = find(m, key, &v);
    if (st) return st;
    if (v->type != FLINT_META_ARRAY)
        return fl_errorf(FLINT_E_TYPE, "%s: value of type %s is not an array", key, fl_meta_type_name(v->type));
    if (elem_type) *elem_type = v->elem_type;
    if (count) *count = v->count;
    return FLINT_OK;
}

flint_status flint_meta_get_array_str(const flint_model *m, const char *key, uint64_t i, const char **out,
                                      uint64_t *len) {
    const fl_meta_value *v, *e;
    fl_meta_value tmp;
    flint_status st = find(m, key, &v);
    if (!st) st = fl_meta_array_at(v, i, &tmp, &e);
    if (st) return fl_error_prefix(st, key);
    if (e->type != FLINT_META_STRING)
        return fl_errorf(FLINT_E_TYPE, "%s[%llu]: value of type %s is not a string", key, (unsigned long long)i,
                         fl_meta_type_name(e->type));
    *out = e->data;
    if (len) *len = e->count;
    return FLINT_OK;
}

int64_t flint_tensor_count(const flint_model *m) { return m ? m->n_tensors : 0; }

flint_status flint_tensor_get(const flint_model *m, int64_t i, flint_tensor_info *out) {
    if (!m || !out) return fl_errorf(FLINT_E_INVALID_ARG, "NULL model or output");
    if (i < 0 || i >= m->n_tensors)
        return fl_errorf(FLINT_E_INVALID_ARG, "tensor index %lld out of range [0, %lld)", (long long)i,
                         (long long)m->n_tensors);
    *out = m->tensors[i];
    return FLINT_OK;
}

flint_status flint_tensor_find(const flint_model *m, const char *name, flint_tensor_info *out) {
    if (!m || !name || !out) return fl_errorf(FLINT_E_INVALID_ARG, "NULL argument");
    const flint_tensor_info *t = NULL;
    if (m->kind == FLINT_FILE_GGUF) {
        int64_t i = fl_gguf_find_tensor(&m->gguf, name);
        if (i >= 0) t = &m->tensors[i];
    } else {
        t = fl_st_find(&m->st, name);
    }
    if (!t) return fl_errorf(FLINT_E_NOT_FOUND, "no tensor named '%s'", name);
    *out = *t;
    return FLINT_OK;
}

const fl_meta *fl_model_file_meta(const flint_model *m) { return m->meta; }
const char *fl_model_file_path(const flint_model *m) { return m->path; }
fl_expert_store *fl_model_file_store(const flint_model *m) { return m->store; }
void fl_model_file_moe(const flint_model *m, int32_t *n_layer, int32_t *n_expert) {
    *n_layer = m->n_layer, *n_expert = m->n_expert;
}
