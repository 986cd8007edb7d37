/* hf_meta.c — the GGUF key/values the converter derives from config.json
 * for the families flint converts, in its order: general.architecture,
 * general.type, general.size_label, the family's parameters (TextModel's
 * common part, then the family's own), general.quantization_version.
 * The converter's model-card keys (general.name, license, tags: from a
 * README and a model id) are not written. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "convert/plan.h"
#include "format/gguf_write.h"

typedef struct kvb {
    const fl_meta *cfg;
    fl_cv_plan *p;
    flint_status st;
} kvb;

/* A config value (text_config first, as the converter merges it); JSON
 * null counts as absent, as find_hparam's None does. */
static const fl_meta_value *get(const kvb *b, const char *key) {
    const fl_meta_value *v = fl_meta_find_text(b->cfg, key);
    return v && v->type != FLINT_META_NULL ? v : NULL;
}

static bool get_int(const kvb *b, const char *key, int64_t *out) {
    const fl_meta_value *v = get(b, key);
    return v && fl_meta_value_int(v, out) == FLINT_OK;
}

static bool get_float(const kvb *b, const char *key, double *out) {
    const fl_meta_value *v = get(b, key);
    return v && fl_meta_value_float(v, out) == FLINT_OK;
}

static bool get_str(const kvb *b, const char *key, const char *s) {
    const fl_meta_value *v = get(b, key);
    return v && v->type == FLINT_META_STRING && v->count == strlen(s) && memcmp(v->data, s, v->count) == 0;
}

/* "<arch>.<key>" */
static const char *ak(const kvb *b, const char *key) {
    static _Thread_local char buf[160];
    snprintf(buf, sizeof buf, "%s.%s", b->p->arch, key);
    return buf;
}

static void u32(kvb *b, const char *key, int64_t x) {
    if (b->st) return;
    if (x < 0 || x > UINT32_MAX) b->st = fl_errorf(FLINT_E_FORMAT, "config.json: %s = %lld is out of range", key, (long long)x);
    else b->st = fl_gguf_kv_u32(&b->p->kv, key, (uint32_t)x);
}

static void f32(kvb *b, const char *key, double x) {
    if (!b->st) b->st = fl_gguf_kv_f32(&b->p->kv, key, (float)x);
}

/* u32 of the first of keys present, if any; returns whether one was. */
static bool opt_u32(kvb *b, const char *gguf_key, const char *const *keys) {
    int64_t x;
    for (; *keys; keys++) {
        if (get(b, *keys)) {
            if (!get_int(b, *keys, &x)) {
                if (!b->st) b->st = fl_errorf(FLINT_E_FORMAT, "config.json: %s is not an integer", *keys);
                return false;
            }
            u32(b, ak(b, gguf_key), x);
            return true;
        }
    }
    return false;
}

static int64_t need_int(kvb *b, const char *key) {
    int64_t x = 0;
    if (!get_int(b, key, &x) && !b->st) b->st = fl_errorf(FLINT_E_FORMAT, "config.json: %s missing or not an integer", key);
    return x;
}

/* The converter's general.size_label: the parameter count, "K"/"M"/"B"/"T"
 * with at least two significant digits; "<experts>x<per-expert size>" when
 * expert tensors ("_exps." with 3 dims) are present. */
static void size_label(const fl_cv_plan *p, char *out, size_t cap) {
    uint64_t total = 0, expert = 0, expert_sum = 0, n_expert_t = 0;
    for (int64_t i = 0; i < p->n; i++) {
        const fl_cv_tensor *t = &p->t[i];
        uint64_t n = 1;
        for (int d = 0; d < t->n_dims; d++) n *= (uint64_t)t->ne[d];
        total += n;
        if (strstr(t->name, "_exps.") && t->n_dims >= 3) {
            expert += n / (uint64_t)t->ne[2];
            expert_sum += (uint64_t)t->ne[2];
            n_expert_t++;
        }
    }
    /* with experts: the shared parameters plus one expert's share of each expert tensor */
    uint64_t count = total;
    if (n_expert_t) {
        uint64_t in_experts = 0;
        for (int64_t i = 0; i < p->n; i++) {
            const fl_cv_tensor *t = &p->t[i];
            if (!(strstr(t->name, "_exps.") && t->n_dims >= 3)) continue;
            uint64_t n = 1;
            for (int d = 0; d < t->n_dims; d++) n *= (uint64_t)t->ne[d];
            in_experts += n;
        }
        count = total - in_experts + expert;
    }
    double x = (double)count;
    const char *suffix = "K";
    if (x > 1e12) x *= 1e-12, suffix = "T";
    else if (x > 1e9) x *= 1e-9, suffix = "B";
    else if (x > 1e6) x *= 1e-6, suffix = "M";
    else x *= 1e-3;
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", rint(x));
    const char *d = digits;
    while (*d == '0') d++;
    int fix = 2 - (int)strlen(d);
    if (fix < 0) fix = 0;
    char num[48];
    snprintf(num, sizeof num, "%.*f%s", fix, x, suffix);
    if (n_expert_t) snprintf(out, cap, "%llux%s", (unsigned long long)(expert_sum / n_expert_t), num);
    else snprintf(out, cap, "%s", num);
}

/* TextModel.set_gguf_parameters: the keys every family here starts with. */
static void text_model(kvb *b) {
    u32(b, ak(b, "block_count"), b->p->n_layer);
    opt_u32(b, "context_length", (const char *[]){"max_position_embeddings", "n_ctx", "n_positions", NULL});
    opt_u32(b, "embedding_length", (const char *[]){"hidden_size", "n_embd", NULL});
    opt_u32(b, "feed_forward_length", (const char *[]){"intermediate_size", NULL});
    opt_u32(b, "attention.head_count", (const char *[]){"num_attention_heads", NULL});
    opt_u32(b, "attention.head_count_kv", (const char *[]){"num_key_value_heads", NULL});
    /* rope: the full-attention entry of rope_parameters when there is one, else
     * rope_parameters, else the legacy rope_scaling (its "type", the top-level rope_theta) */
    const char *rp = get(b, "rope_parameters.full_attention.rope_type") || get(b, "rope_parameters.full_attention.rope_theta")
                         ? "rope_parameters.full_attention"
                     : get(b, "rope_parameters.rope_type") || get(b, "rope_parameters.rope_theta") ? "rope_parameters"
                                                                                                   : "rope_scaling";
    char key[128];
    double factor, theta;
    snprintf(key, sizeof key, "%s.rope_type", rp);
    bool linear = get_str(b, key, "linear");
    snprintf(key, sizeof key, "%s.type", rp);
    if (strcmp(rp, "rope_scaling") == 0 && get_str(b, key, "linear")) linear = true;
    snprintf(key, sizeof key, "%s.factor", rp);
    if (linear && get_float(b, key, &factor)) {
        if (!b->st) b->st = fl_gguf_kv_str(&b->p->kv, ak(b, "rope.scaling.type"), "linear");
        f32(b, ak(b, "rope.scaling.factor"), factor);
    }
    const fl_meta_value *sections = get(b, "rope_parameters.mrope_section");
    if (sections && sections->type == FLINT_META_ARRAY && sections->items && sections->count <= 4) {
        int32_t s[4] = {0};
        for (uint64_t i = 0; i < sections->count; i++) {
            int64_t x;
            if (fl_meta_value_int(&sections->items[i], &x) || x < INT32_MIN || x > INT32_MAX) {
                if (!b->st) b->st = fl_errorf(FLINT_E_FORMAT, "config.json: mrope_section holds a non-integer");
                return;
            }
            s[i] = (int32_t)x;
        }
        if (!b->st) b->st = fl_gguf_kv_array(&b->p->kv, ak(b, "rope.dimension_sections"), FLINT_META_I32, s, 4);
    }
    snprintf(key, sizeof key, "%s.rope_theta", rp);
    if (get_float(b, key, &theta) || (strcmp(rp, "rope_parameters.full_attention") != 0 && get_float(b, "rope_theta", &theta)))
        f32(b, ak(b, "rope.freq_base"), theta);
    /* the older configs' local theta (e.g. Gemma 3's rope_local_base_freq) stands in for the sliding layers' where
     * rope_parameters names neither kind of layer */
    static const char *local[] = {"local_rope_theta", "rope_local_theta", "rope_theta_local", "swa_rope_theta",
                                  "rope_local_base_freq"};
    bool swa = get_float(b, "rope_parameters.sliding_attention.rope_theta", &theta);
    for (size_t i = 0; !swa && !get(b, "rope_parameters.full_attention") && !get(b, "rope_parameters.sliding_attention") &&
                       i < sizeof local / sizeof *local; i++)
        swa = get_float(b, local[i], &theta);
    if (swa) f32(b, ak(b, "rope.freq_base_swa"), theta);
    double eps;
    if (get_float(b, "rms_norm_eps", &eps)) f32(b, ak(b, "attention.layer_norm_rms_epsilon"), eps);
    opt_u32(b, "expert_count", (const char *[]){"num_local_experts", "num_experts", NULL});
    opt_u32(b, "expert_used_count", (const char *[]){"num_experts_per_tok", "top_k_experts", NULL});
    int64_t head_dim;
    if (get_int(b, "head_dim", &head_dim)) {
        u32(b, ak(b, "attention.key_length"), head_dim);
        u32(b, ak(b, "attention.value_length"), head_dim);
    }
    u32(b, "general.file_type", 0);
}

static void gemma12(kvb *b, bool gemma2) {
    opt_u32(b, "context_length", (const char *[]){"max_position_embeddings", NULL});
    opt_u32(b, "embedding_length", (const char *[]){"hidden_size", NULL});
    u32(b, ak(b, "block_count"), b->p->n_layer);
    opt_u32(b, "feed_forward_length", (const char *[]){"intermediate_size", NULL});
    opt_u32(b, "attention.head_count", (const char *[]){"num_attention_heads", NULL});
    opt_u32(b, "attention.head_count_kv", (const char *[]){"num_key_value_heads", "num_attention_heads", NULL});
    double x;
    if (get_float(b, "rms_norm_eps", &x)) f32(b, ak(b, "attention.layer_norm_rms_epsilon"), x);
    int64_t head_dim = need_int(b, "head_dim");
    u32(b, ak(b, "attention.key_length"), head_dim);
    u32(b, ak(b, "attention.value_length"), head_dim);
    u32(b, "general.file_type", 0);
    if (!gemma2) return;
    if (get_float(b, "attn_logit_softcapping", &x)) f32(b, ak(b, "attn_logit_softcapping"), x);
    if (get_float(b, "final_logit_softcapping", &x)) f32(b, ak(b, "final_logit_softcapping"), x);
    u32(b, ak(b, "attention.sliding_window"), need_int(b, "sliding_window"));
}

static void gemma3(kvb *b) {
    text_model(b);
    int64_t x;
    double f;
    u32(b, ak(b, "context_length"), get_int(b, "max_position_embeddings", &x) ? x : 131072);
    u32(b, ak(b, "attention.head_count"), get_int(b, "num_attention_heads", &x) ? x : 8);
    f32(b, ak(b, "attention.layer_norm_rms_epsilon"), get_float(b, "rms_norm_eps", &f) ? f : 1e-6);
    u32(b, ak(b, "attention.key_length"), get_int(b, "head_dim", &x) ? x : 256);
    u32(b, ak(b, "attention.value_length"), get_int(b, "head_dim", &x) ? x : 256);
    if (!get_float(b, "rope_parameters.full_attention.rope_theta", &f) && !get_float(b, "rope_parameters.rope_theta", &f) &&
        !get_float(b, "rope_theta", &f))
        f = 1e6;
    f32(b, ak(b, "rope.freq_base"), f);
    if (get_float(b, "final_logit_softcapping", &f) && f != 0) f32(b, ak(b, "final_logit_softcapping"), f);
    if (!(get_int(b, "sliding_window_pattern", &x) && x == 1)) u32(b, ak(b, "attention.sliding_window"), need_int(b, "sliding_window"));
    u32(b, ak(b, "attention.head_count_kv"), get_int(b, "num_key_value_heads", &x) ? x : 4);
}

/* layer_types as booleans (sliding or not); n_layer entries. */
static bool *sliding_layers(kvb *b) {
    const fl_meta_value *v = get(b, "layer_types");
    int64_t n = b->p->n_layer;
    if (!v || v->type != FLINT_META_ARRAY || !v->items || (int64_t)v->count != n) {
        if (!b->st) b->st = fl_errorf(FLINT_E_FORMAT, "config.json: layer_types must list %lld layers", (long long)n);
        return NULL;
    }
    bool *swa = malloc((size_t)n);
    if (!swa || fl_meta_own(&b->p->kv, swa)) {
        if (!b->st) b->st = fl_errorf(FLINT_E_NOMEM, "out of memory");
        return NULL;
    }
    for (int64_t i = 0; i < n; i++)
        swa[i] = v->items[i].type == FLINT_META_STRING && v->items[i].count == 17 &&
                 memcmp(v->items[i].data, "sliding_attention", 17) == 0;
    return swa;
}

/* Gemma 4's value for a full-attention layer: global_<key>, or the entry
 * of the first full_attention layer in per_layer_config. */
bool fl_cv_gemma4_full(const fl_meta *cfg, const char *global_key, const char *key, int64_t *out) {
    const fl_meta_value *v = fl_meta_find_text(cfg, global_key), *types = fl_meta_find_text(cfg, "layer_types");
    if (v && v->type != FLINT_META_NULL) return fl_meta_value_int(v, out) == FLINT_OK;
    if (!types || types->type != FLINT_META_ARRAY || !types->items) return false;
    char k[96];
    for (uint64_t l = 0; l < types->count; l++) {
        const fl_meta_value *t = &types->items[l];
        if (!(t->type == FLINT_META_STRING && t->count == 14 && memcmp(t->data, "full_attention", 14) == 0)) continue;
        snprintf(k, sizeof k, "per_layer_config.%llu.%s", (unsigned long long)l, key);
        const fl_meta_value *x = fl_meta_find_text(cfg, k);
        if (x && x->type != FLINT_META_NULL && fl_meta_value_int(x, out) == FLINT_OK) return true;
    }
    return false;
}

static void gemma4(kvb *b) {
    gemma3(b);
    bool *swa = sliding_layers(b);
    if (!swa) return;
    const int64_t n = b->p->n_layer;
    int64_t n_shared = need_int(b, "num_kv_shared_layers"), x;
    u32(b, ak(b, "attention.shared_kv_layers"), n_shared);
    u32(b, ak(b, "embedding_length_per_layer_input"), get_int(b, "hidden_size_per_layer_input", &x) ? x : 0);
    if (!b->st) b->st = fl_gguf_kv_array(&b->p->kv, ak(b, "attention.sliding_window_pattern"), FLINT_META_BOOL, swa, (uint64_t)n);
    int64_t head_full, head_swa = need_int(b, "head_dim");
    if (!fl_cv_gemma4_full(b->cfg, "global_head_dim", "head_dim", &head_full)) {
        if (!b->st) b->st = fl_errorf(FLINT_E_FORMAT, "config.json: Gemma 4 needs global_head_dim or per_layer_config");
        return;
    }
    u32(b, ak(b, "attention.key_length"), head_full);
    u32(b, ak(b, "attention.value_length"), head_full);
    u32(b, ak(b, "attention.key_length_swa"), head_swa);
    u32(b, ak(b, "attention.value_length_swa"), head_swa);
    opt_u32(b, "expert_feed_forward_length", (const char *[]){"expert_intermediate_size", "moe_intermediate_size", NULL});
    int32_t *arr = malloc((size_t)n * sizeof *arr);
    if (!arr || fl_meta_own(&b->p->kv, arr)) {
        if (!b->st) b->st = fl_errorf(FLINT_E_NOMEM, "out of memory");
        return;
    }
    const fl_meta_value *wide = get(b, "use_double_wide_mlp");
    if (wide && wide->type == FLINT_META_BOOL && wide->num.u) {
        int64_t ff = need_int(b, "intermediate_size");
        for (int64_t l = 0; l < n; l++) arr[l] = (int32_t)(l < n - n_shared ? ff : 2 * ff);
        if (!b->st) b->st = fl_gguf_kv_array(&b->p->kv, ak(b, "feed_forward_length"), FLINT_META_I32, arr, (uint64_t)n);
    }
    int64_t kv_full, kv_swa;
    if (fl_cv_gemma4_full(b->cfg, "num_global_key_value_heads", "num_key_value_heads", &kv_full) &&
        get_int(b, "num_key_value_heads", &kv_swa)) {
        int32_t *kv = malloc((size_t)n * sizeof *kv);
        if (!kv || fl_meta_own(&b->p->kv, kv)) {
            if (!b->st) b->st = fl_errorf(FLINT_E_NOMEM, "out of memory");
            return;
        }
        for (int64_t l = 0; l < n; l++) kv[l] = (int32_t)(swa[l] ? kv_swa : kv_full);
        if (!b->st) b->st = fl_gguf_kv_array(&b->p->kv, ak(b, "attention.head_count_kv"), FLINT_META_I32, kv, (uint64_t)n);
    }
    double prf = 1.0;
    get_float(b, "rope_parameters.partial_rotary_factor", &prf);
    u32(b, ak(b, "rope.dimension_count"), head_full);
    u32(b, ak(b, "rope.dimension_count_swa"), (int64_t)((double)head_swa * prf));
}

static void qwen35(kvb *b) {
    text_model(b);
    opt_u32(b, "expert_feed_forward_length", (const char *[]){"moe_intermediate_size", NULL});
    opt_u32(b, "expert_shared_feed_forward_length", (const char *[]){"shared_expert_intermediate_size", NULL});
    if (b->p->n_nextn > 0) u32(b, ak(b, "nextn_predict_layers"), b->p->n_nextn);
    u32(b, ak(b, "ssm.conv_kernel"), need_int(b, "linear_conv_kernel_dim"));
    u32(b, ak(b, "ssm.state_size"), need_int(b, "linear_key_head_dim"));
    u32(b, ak(b, "ssm.group_count"), need_int(b, "linear_num_key_heads"));
    u32(b, ak(b, "ssm.time_step_rank"), need_int(b, "linear_num_value_heads"));
    u32(b, ak(b, "ssm.inner_size"), need_int(b, "linear_value_head_dim") * need_int(b, "linear_num_value_heads"));
    int64_t x;
    u32(b, ak(b, "full_attention_interval"), get_int(b, "full_attention_interval", &x) ? x : 4);
    int64_t head_dim;
    if (!get_int(b, "head_dim", &head_dim)) head_dim = need_int(b, "hidden_size") / (need_int(b, "num_attention_heads") ?: 1);
    double prf = 0.25;
    get_float(b, "rope_parameters.partial_rotary_factor", &prf);
    u32(b, ak(b, "rope.dimension_count"), (int64_t)((double)head_dim * prf));
    if (!get(b, "rope_parameters.mrope_section")) {
        static const int32_t def[4] = {11, 11, 10, 0};
        if (!b->st) b->st = fl_gguf_kv_array(&b->p->kv, ak(b, "rope.dimension_sections"), FLINT_META_I32, def, 4);
    }
}

flint_status fl_cv_meta_hf(const fl_meta *cfg, fl_cv_plan *p) {
    kvb b = {cfg, p, FLINT_OK};
    char label[64];
    size_label(p, label, sizeof label);
    if ((b.st = fl_gguf_kv_str(&p->kv, "general.architecture", p->arch)) ||
        (b.st = fl_gguf_kv_str(&p->kv, "general.type", "model")) ||
        (b.st = fl_gguf_kv_str(&p->kv, "general.size_label", label)))
        return b.st;
    if (strcmp(p->arch, "gemma") == 0) gemma12(&b, false);
    else if (strcmp(p->arch, "gemma2") == 0) gemma12(&b, true);
    else if (strcmp(p->arch, "gemma3") == 0) gemma3(&b);
    else if (strcmp(p->arch, "gemma4") == 0) gemma4(&b);
    else qwen35(&b);
    if (b.st) return b.st;
    return fl_gguf_kv_u32(&p->kv, "general.quantization_version", 2);
}
