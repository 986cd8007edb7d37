/* hparams.c — hyperparameters from GGUF metadata or config.json.
 *
 * Gemma 3 (MODELS.md §3): GGUF keys "gemma3.*" as llama.cpp writes them
 * (the local RoPE base is fixed at 10000 and the sliding pattern at 5 local
 * : 1 global, as llama.cpp hard-codes; the Q scale is head_dim^-1/2 except
 * for the 62-layer 27B, which uses (H / n_head)^-1/2). HF configs, flat or
 * under text_config: layer_types or sliding_window_pattern, the
 * query_pre_attn_scalar, rope_theta / rope_local_base_freq / rope_scaling,
 * or the newer rope_parameters per layer type. */
#include "model/hparams.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"

typedef struct reader {
    const fl_meta *meta;
    const char *prefix; /* "gemma3." for GGUF, "" for HF (text_config. is tried first) */
    bool gguf;
    const char *path;
} reader;

static const fl_meta_value *find(const reader *r, const char *key) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s", r->prefix, key);
    return r->gguf ? fl_meta_find(r->meta, buf) : fl_meta_find_text(r->meta, buf);
}

static flint_status get_int(const reader *r, const char *key, int32_t *out, int64_t dflt, bool required) {
    const fl_meta_value *v = find(r, key);
    int64_t x = dflt;
    if (!v || v->type == FLINT_META_NULL) {
        if (required) return fl_errorf(FLINT_E_FORMAT, "%s: missing hyperparameter '%s%s'", r->path, r->prefix, key);
    } else if (fl_meta_value_int(v, &x) != FLINT_OK) {
        return fl_errorf(FLINT_E_FORMAT, "%s: hyperparameter '%s%s' is not an integer", r->path, r->prefix, key);
    }
    if (x < 0 || x > INT32_MAX)
        return fl_errorf(FLINT_E_FORMAT, "%s: hyperparameter '%s%s' = %lld is out of range", r->path, r->prefix, key,
                         (long long)x);
    *out = (int32_t)x;
    return FLINT_OK;
}

static flint_status get_float(const reader *r, const char *key, float *out, double dflt) {
    const fl_meta_value *v = find(r, key);
    double x = dflt;
    if (v && v->type != FLINT_META_NULL && fl_meta_value_float(v, &x) != FLINT_OK)
        return fl_errorf(FLINT_E_FORMAT, "%s: hyperparameter '%s%s' is not a number", r->path, r->prefix, key);
    if (!isfinite(x)) return fl_errorf(FLINT_E_FORMAT, "%s: hyperparameter '%s%s' is not finite", r->path, r->prefix, key);
    *out = (float)x;
    return FLINT_OK;
}

static bool str_is(const fl_meta_value *v, const char *s) {
    return v && v->type == FLINT_META_STRING && v->count == strlen(s) && memcmp(v->data, s, v->count) == 0;
}

static flint_status check_shape(const fl_hparams *hp, const char *path) {
    if (hp->n_layer <= 0 || hp->n_layer > FL_MAX_LAYERS)
        return fl_errorf(FLINT_E_FORMAT, "%s: %d layers (flint supports 1..%d)", path, hp->n_layer, FL_MAX_LAYERS);
    if (hp->n_embd <= 0 || hp->n_head <= 0 || hp->n_head_kv <= 0 || hp->head_dim <= 0 || hp->n_ff <= 0)
        return fl_errorf(FLINT_E_FORMAT, "%s: a model dimension is zero", path);
    if (hp->n_head % hp->n_head_kv != 0)
        return fl_errorf(FLINT_E_FORMAT, "%s: %d attention heads are not a multiple of %d KV heads", path, hp->n_head,
                         hp->n_head_kv);
    if (hp->head_dim % 2 != 0) return fl_errorf(FLINT_E_FORMAT, "%s: head_dim %d is odd", path, hp->head_dim);
    if (!(hp->rms_eps > 0)) return fl_errorf(FLINT_E_FORMAT, "%s: rms epsilon %g is not positive", path, hp->rms_eps);
    return FLINT_OK;
}

static flint_status load_gemma3_gguf(fl_hparams *hp, const reader *r) {
    flint_status st;
    if ((st = get_int(r, "block_count", &hp->n_layer, 0, true)) || (st = get_int(r, "embedding_length", &hp->n_embd, 0, true)) ||
        (st = get_int(r, "feed_forward_length", &hp->n_ff, 0, true)) ||
        (st = get_int(r, "attention.head_count", &hp->n_head, 0, true)) ||
        (st = get_int(r, "context_length", &hp->n_ctx_train, 131072, false)) ||
        (st = get_int(r, "attention.sliding_window", &hp->sliding_window, 0, false)) ||
        (st = get_float(r, "attention.layer_norm_rms_epsilon", &hp->rms_eps, 1e-6)) ||
        (st = get_float(r, "rope.freq_base", &hp->rope_base_global, 1e6)) ||
        (st = get_float(r, "final_logit_softcapping", &hp->final_softcap, 0)))
        return st;
    if ((st = get_int(r, "attention.head_count_kv", &hp->n_head_kv, hp->n_head, false))) return st;
    if (hp->n_head <= 0) return fl_errorf(FLINT_E_FORMAT, "%s: zero attention heads", r->path);
    if ((st = get_int(r, "attention.key_length", &hp->head_dim, hp->n_embd / hp->n_head, false))) return st;
    hp->rope_base_local = 10000.0f;
    hp->rope_scale_global = 1.0f;
    if (str_is(find(r, "rope.scaling.type"), "linear") &&
        (st = get_float(r, "rope.scaling.factor", &hp->rope_scale_global, 1.0)))
        return st;
    float scalar = hp->n_layer == 62 ? (float)hp->n_embd / (float)hp->n_head : (float)hp->head_dim;
    hp->attn_scale = 1.0f / sqrtf(scalar);
    for (int32_t i = 0; i < hp->n_layer && i < FL_MAX_LAYERS; i++) hp->layer_sliding[i] = i % 6 < 5;
    hp->norm_plus_one = false;
    return FLINT_OK;
}

/* HF rope: either rope_theta / rope_local_base_freq / rope_scaling, or
 * rope_parameters.{full_attention,sliding_attention}.* (newer transformers). */
static flint_status load_gemma3_rope(fl_hparams *hp, const reader *r) {
    flint_status st;
    hp->rope_scale_global = 1.0f;
    if (find(r, "rope_parameters.full_attention.rope_theta")) {
        if ((st = get_float(r, "rope_parameters.full_attention.rope_theta", &hp->rope_base_global, 1e6)) ||
            (st = get_float(r, "rope_parameters.sliding_attention.rope_theta", &hp->rope_base_local, 1e4)))
            return st;
        if (str_is(find(r, "rope_parameters.full_attention.rope_type"), "linear"))
            return get_float(r, "rope_parameters.full_attention.factor", &hp->rope_scale_global, 1.0);
        return FLINT_OK;
    }
    if ((st = get_float(r, "rope_theta", &hp->rope_base_global, 1e6)) ||
        (st = get_float(r, "rope_local_base_freq", &hp->rope_base_local, 1e4)))
        return st;
    const fl_meta_value *type = find(r, "rope_scaling.rope_type");
    if (!type) type = find(r, "rope_scaling.type");
    if (str_is(type, "linear")) return get_float(r, "rope_scaling.factor", &hp->rope_scale_global, 1.0);
    if (type && !str_is(type, "default"))
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: rope_scaling type '%.*s' is not supported for gemma3", r->path,
                         (int)type->count, (const char *)type->data);
    return FLINT_OK;
}

static flint_status load_gemma3_hf(fl_hparams *hp, const reader *r) {
    flint_status st;
    /* defaults are Gemma3TextConfig's: multimodal configs omit keys that equal them */
    if ((st = get_int(r, "num_hidden_layers", &hp->n_layer, 26, false)) ||
        (st = get_int(r, "hidden_size", &hp->n_embd, 2304, false)) ||
        (st = get_int(r, "intermediate_size", &hp->n_ff, 9216, false)) ||
        (st = get_int(r, "num_attention_heads", &hp->n_head, 8, false)) ||
        (st = get_int(r, "head_dim", &hp->head_dim, 256, false)) ||
        (st = get_int(r, "max_position_embeddings", &hp->n_ctx_train, 131072, false)) ||
        (st = get_int(r, "sliding_window", &hp->sliding_window, 4096, false)) ||
        (st = get_float(r, "rms_norm_eps", &hp->rms_eps, 1e-6)) ||
        (st = get_float(r, "final_logit_softcapping", &hp->final_softcap, 0)) ||
        (st = get_float(r, "attn_logit_softcapping", &hp->attn_softcap, 0)) || (st = load_gemma3_rope(hp, r)))
        return st;
    if ((st = get_int(r, "num_key_value_heads", &hp->n_head_kv, 4, false))) return st;
    float scalar;
    if ((st = get_float(r, "query_pre_attn_scalar", &scalar, 256))) return st;
    if (!(scalar > 0)) return fl_errorf(FLINT_E_FORMAT, "%s: query_pre_attn_scalar %g", r->path, scalar);
    hp->attn_scale = 1.0f / sqrtf(scalar);
    if (hp->n_layer <= 0 || hp->n_layer > FL_MAX_LAYERS) return check_shape(hp, r->path);

    const fl_meta_value *types = find(r, "layer_types");
    if (types && types->type == FLINT_META_ARRAY) {
        if (types->count != (uint64_t)hp->n_layer)
            return fl_errorf(FLINT_E_FORMAT, "%s: layer_types lists %llu layers, not %d", r->path,
                             (unsigned long long)types->count, hp->n_layer);
        for (int32_t i = 0; i < hp->n_layer; i++) {
            const fl_meta_value *t = &types->items[i];
            if (str_is(t, "sliding_attention")) hp->layer_sliding[i] = true;
            else if (str_is(t, "full_attention")) hp->layer_sliding[i] = false;
            else return fl_errorf(FLINT_E_FORMAT, "%s: layer_types[%d] is not sliding_attention or full_attention", r->path, i);
        }
    } else {
        int32_t pattern;
        if ((st = get_int(r, "sliding_window_pattern", &pattern, 6, false))) return st;
        if (pattern <= 0) return fl_errorf(FLINT_E_FORMAT, "%s: sliding_window_pattern %d", r->path, pattern);
        for (int32_t i = 0; i < hp->n_layer; i++) hp->layer_sliding[i] = (i + 1) % pattern != 0;
    }
    hp->norm_plus_one = true;
    return FLINT_OK;
}

flint_status fl_hparams_load(fl_hparams *hp, const fl_meta *meta, bool is_gguf, const char *path) {
    memset(hp, 0, sizeof *hp);
    const fl_meta_value *arch = is_gguf ? fl_meta_find(meta, "general.architecture") : fl_meta_find_text(meta, "model_type");
    reader r = {meta, "", is_gguf, path};
    flint_status st;
    if (is_gguf && str_is(arch, "gemma3")) {
        hp->arch = FL_ARCH_GEMMA3;
        r.prefix = "gemma3.";
        st = load_gemma3_gguf(hp, &r);
    } else if (!is_gguf && (str_is(arch, "gemma3_text") || str_is(arch, "gemma3"))) {
        hp->arch = FL_ARCH_GEMMA3;
        st = load_gemma3_hf(hp, &r);
    } else {
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: architecture '%.*s' is not supported", path,
                         arch && arch->type == FLINT_META_STRING ? (int)arch->count : 0,
                         arch && arch->type == FLINT_META_STRING ? (const char *)arch->data : "");
    }
    return st ? st : check_shape(hp, path);
}
