/* hparams.c — the architecture dispatch, the checked key readers the family
 * loaders share, and the shape checks every model passes. */
#include "model/hparams.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "model/hparams_gemma.h"
#include "model/hparams_qwen35.h"
#include "model/hparams_read.h"

const fl_meta_value *fl_hp_find(const fl_hp_reader *r, const char *key) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s", r->prefix, key);
    return r->gguf ? fl_meta_find(r->meta, buf) : fl_meta_find_text(r->meta, buf);
}

static flint_status check_int(const fl_hp_reader *r, const char *key, int64_t x, int32_t *out) {
    if (x < 0 || x > INT32_MAX)
        return fl_errorf(FLINT_E_FORMAT, "%s: hyperparameter '%s%s' = %lld is out of range", r->path, r->prefix, key,
                         (long long)x);
    *out = (int32_t)x;
    return FLINT_OK;
}

flint_status fl_hp_int(const fl_hp_reader *r, const char *key, int32_t *out, int64_t dflt, bool required) {
    const fl_meta_value *v = fl_hp_find(r, key);
    int64_t x = dflt;
    if (!v || v->type == FLINT_META_NULL) {
        if (required) return fl_errorf(FLINT_E_FORMAT, "%s: missing hyperparameter '%s%s'", r->path, r->prefix, key);
    } else if (fl_meta_value_int(v, &x) != FLINT_OK) {
        return fl_errorf(FLINT_E_FORMAT, "%s: hyperparameter '%s%s' is not an integer", r->path, r->prefix, key);
    }
    return check_int(r, key, x, out);
}

flint_status fl_hp_float(const fl_hp_reader *r, const char *key, float *out, double dflt) {
    const fl_meta_value *v = fl_hp_find(r, key);
    double x = dflt;
    if (v && v->type != FLINT_META_NULL && fl_meta_value_float(v, &x) != FLINT_OK)
        return fl_errorf(FLINT_E_FORMAT, "%s: hyperparameter '%s%s' is not a number", r->path, r->prefix, key);
    if (!isfinite(x)) return fl_errorf(FLINT_E_FORMAT, "%s: hyperparameter '%s%s' is not finite", r->path, r->prefix, key);
    *out = (float)x;
    return FLINT_OK;
}

flint_status fl_hp_bool(const fl_hp_reader *r, const char *key, bool *out, bool dflt) {
    const fl_meta_value *v = fl_hp_find(r, key);
    *out = dflt;
    if (!v || v->type == FLINT_META_NULL) return FLINT_OK;
    if (v->type != FLINT_META_BOOL)
        return fl_errorf(FLINT_E_FORMAT, "%s: hyperparameter '%s%s' is not a boolean", r->path, r->prefix, key);
    *out = v->num.u != 0;
    return FLINT_OK;
}

flint_status fl_hp_layer_ints(const fl_hp_reader *r, const char *key, int32_t n_layer, int32_t *out, int64_t dflt,
                              bool required) {
    const fl_meta_value *v = fl_hp_find(r, key);
    if (!v || v->type != FLINT_META_ARRAY) {
        int32_t x;
        flint_status st = fl_hp_int(r, key, &x, dflt, required);
        for (int32_t i = 0; i < n_layer && !st; i++) out[i] = x;
        return st;
    }
    if (v->count != (uint64_t)n_layer)
        return fl_errorf(FLINT_E_FORMAT, "%s: hyperparameter '%s%s' lists %llu layers, not %d", r->path, r->prefix, key,
                         (unsigned long long)v->count, n_layer);
    for (int32_t i = 0; i < n_layer; i++) {
        fl_meta_value tmp;
        const fl_meta_value *e;
        int64_t x;
        if (fl_meta_array_at(v, (uint64_t)i, &tmp, &e) != FLINT_OK || fl_meta_value_int(e, &x) != FLINT_OK)
            return fl_errorf(FLINT_E_FORMAT, "%s: hyperparameter '%s%s'[%d] is not an integer", r->path, r->prefix, key, i);
        flint_status st = check_int(r, key, x, &out[i]);
        if (st) return st;
    }
    return FLINT_OK;
}

bool fl_hp_str_is(const fl_meta_value *v, const char *s) {
    return v && v->type == FLINT_META_STRING && v->count == strlen(s) && memcmp(v->data, s, v->count) == 0;
}

flint_status fl_hp_layer_types(const fl_hp_reader *r, int32_t n_layer, const char *kind, bool *is_kind, bool *present) {
    const fl_meta_value *types = fl_hp_find(r, "layer_types");
    *present = types && types->type == FLINT_META_ARRAY;
    if (!*present) return FLINT_OK;
    if (types->count != (uint64_t)n_layer)
        return fl_errorf(FLINT_E_FORMAT, "%s: layer_types lists %llu layers, not %d", r->path,
                         (unsigned long long)types->count, n_layer);
    for (int32_t i = 0; i < n_layer; i++) {
        const fl_meta_value *t = &types->items[i];
        is_kind[i] = fl_hp_str_is(t, kind);
        if (!is_kind[i] && !fl_hp_str_is(t, "full_attention"))
            return fl_errorf(FLINT_E_FORMAT, "%s: layer_types[%d] is not %s or full_attention", r->path, i, kind);
    }
    return FLINT_OK;
}

static flint_status check_shape(const fl_hparams *hp, const char *path) {
    if (hp->n_layer <= 0 || hp->n_layer > FL_MAX_LAYERS)
        return fl_errorf(FLINT_E_FORMAT, "%s: %d layers (flint supports 1..%d)", path, hp->n_layer, FL_MAX_LAYERS);
    if (hp->n_embd <= 0 || hp->n_head <= 0)
        return fl_errorf(FLINT_E_FORMAT, "%s: a model dimension is zero", path);
    if (!(hp->rms_eps > 0)) return fl_errorf(FLINT_E_FORMAT, "%s: rms epsilon %g is not positive", path, hp->rms_eps);
    for (int32_t l = 0; l < hp->n_layer; l++) {
        const fl_layer_hparams *L = &hp->layer[l];
        /* every layer has a dense MLP, an MoE, or both */
        if (L->head_dim <= 0 || L->n_head_kv <= 0 || L->n_ff < 0 || (L->n_ff == 0 && hp->n_expert == 0))
            return fl_errorf(FLINT_E_FORMAT, "%s: layer %d has a zero dimension (head_dim %d, %d KV heads, MLP %d)", path,
                             l, L->head_dim, L->n_head_kv, L->n_ff);
        if (hp->n_head % L->n_head_kv != 0)
            return fl_errorf(FLINT_E_FORMAT, "%s: layer %d: %d attention heads are not a multiple of %d KV heads", path,
                             l, hp->n_head, L->n_head_kv);
        if (L->head_dim % 2 != 0) return fl_errorf(FLINT_E_FORMAT, "%s: layer %d: head_dim %d is odd", path, l, L->head_dim);
        const fl_rope_cfg *rope = fl_layer_rope(hp, l);
        if (rope->n_rot <= 0 || rope->n_rot > L->head_dim || rope->n_rot % 2 != 0 || rope->n_pairs > rope->n_rot / 2)
            return fl_errorf(FLINT_E_FORMAT, "%s: layer %d rotates %d of %d dims", path, l, rope->n_rot, L->head_dim);
        if (!(rope->base > 0) || !(rope->scale > 0))
            return fl_errorf(FLINT_E_FORMAT, "%s: layer %d: RoPE base %g, scale %g", path, l, rope->base, rope->scale);
        if (L->kv_source < 0 || L->kv_source > l || hp->layer[L->kv_source].head_dim != L->head_dim ||
            hp->layer[L->kv_source].n_head_kv != L->n_head_kv || hp->layer[L->kv_source].sliding != L->sliding)
            return fl_errorf(FLINT_E_FORMAT, "%s: layer %d cannot share the K/V of layer %d", path, l, L->kv_source);
    }
    if (hp->n_expert > 0 && (hp->n_expert_used <= 0 || hp->n_expert_used > hp->n_expert || hp->n_ff_exp <= 0))
        return fl_errorf(FLINT_E_FORMAT, "%s: %d of %d experts of width %d", path, hp->n_expert_used, hp->n_expert,
                         hp->n_ff_exp);
    return FLINT_OK;
}

flint_status fl_hparams_load(fl_hparams *hp, const fl_meta *meta, bool is_gguf, const char *path) {
    memset(hp, 0, sizeof *hp);
    const fl_meta_value *arch = is_gguf ? fl_meta_find(meta, "general.architecture") : fl_meta_find_text(meta, "model_type");
    fl_hp_reader r = {meta, "", is_gguf, path};
    flint_status st;
    if ((hp->arch = fl_gemma_arch(arch, is_gguf))) {
        st = fl_hparams_load_gemma(hp, &r);
    } else if ((hp->arch = fl_qwen35_arch(arch, is_gguf))) {
        st = fl_hparams_load_qwen35(hp, &r);
    } else {
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: architecture '%.*s' is not supported", path,
                         arch && arch->type == FLINT_META_STRING ? (int)arch->count : 0,
                         arch && arch->type == FLINT_META_STRING ? (const char *)arch->data : "");
    }
    return st ? st : check_shape(hp, path);
}
