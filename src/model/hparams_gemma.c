/* hparams_gemma.c — Gemma 1, 2, 3 and 4 hyperparameters (MODELS.md §1-4).
 *
 * GGUF: keys "<arch>.*" as llama.cpp writes and reads them. Gemma 2 makes
 * even layers sliding and defaults the soft-caps to 50 / 30; its Q scale
 * (and Gemma 3's) is head_dim^-1/2 except for the 27B (46 resp. 62
 * layers), which uses (H / n_head)^-1/2. Gemma 3 fixes the local RoPE base
 * at 10000 and the pattern at 5 local : 1 global. Gemma 4 lists sliding
 * layers, KV heads and MLP widths per layer, and head sizes per kind.
 * HF: the defaults are transformers' config classes' (configs omit keys
 * that equal them); layer_types wins over sliding_window_pattern. */
#include "model/hparams_gemma.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"

fl_arch fl_gemma_arch(const fl_meta_value *name, bool gguf) {
    if (fl_hp_str_is(name, "gemma")) return FL_ARCH_GEMMA;
    if (fl_hp_str_is(name, "gemma2")) return FL_ARCH_GEMMA2;
    if (fl_hp_str_is(name, "gemma3") || (!gguf && fl_hp_str_is(name, "gemma3_text"))) return FL_ARCH_GEMMA3;
    if (fl_hp_str_is(name, "gemma4") || (!gguf && fl_hp_str_is(name, "gemma4_text"))) return FL_ARCH_GEMMA4;
    return FL_ARCH_UNKNOWN;
}

static void set_rope(fl_rope_cfg *c, int32_t n_rot, float base, float scale) {
    *c = (fl_rope_cfg){.n_rot = n_rot, .base = base, .scale = scale};
}

/* Same head size, KV heads and MLP width on every layer; KV not shared. */
static void fill_layers(fl_hparams *hp, int32_t head_dim, const int32_t *n_kv, const int32_t *n_ff) {
    for (int32_t l = 0; l < hp->n_layer; l++) {
        fl_layer_hparams *L = &hp->layer[l];
        L->head_dim = head_dim;
        L->n_head_kv = n_kv[l];
        L->n_ff = n_ff[l];
        L->kv_source = l;
    }
}

/* Gemma 4: the last n_shared layers attend to the K/V of the last earlier
 * layer of their own kind (transformers' kv_sharing_modes). */
static flint_status share_kv(fl_hparams *hp, int32_t n_shared, const char *path) {
    if (n_shared < 0 || n_shared >= hp->n_layer)
        return fl_errorf(FLINT_E_FORMAT, "%s: %d KV-shared layers of %d", path, n_shared, hp->n_layer);
    int32_t first = hp->n_layer - n_shared;
    for (int32_t l = first; l < hp->n_layer; l++) {
        int32_t src = first - 1;
        while (src >= 0 && hp->layer[src].sliding != hp->layer[l].sliding) src--;
        if (src < 0)
            return fl_errorf(FLINT_E_FORMAT, "%s: KV-shared layer %d has no earlier %s layer to share with", path, l,
                             hp->layer[l].sliding ? "sliding" : "full");
        hp->layer[l].kv_source = src;
    }
    return FLINT_OK;
}

static flint_status load_gguf(fl_hparams *hp, fl_hp_reader *r) {
    int32_t n_kv[FL_MAX_LAYERS], n_ff[FL_MAX_LAYERS], sliding[FL_MAX_LAYERS];
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%s.",
             hp->arch == FL_ARCH_GEMMA ? "gemma" : hp->arch == FL_ARCH_GEMMA2 ? "gemma2"
             : hp->arch == FL_ARCH_GEMMA3 ? "gemma3" : "gemma4");
    r->prefix = prefix;
    flint_status st;
    int32_t hd, n_shared = 0;
    if ((st = fl_hp_int(r, "block_count", &hp->n_layer, 0, true)) ||
        (st = fl_hp_int(r, "embedding_length", &hp->n_embd, 0, true)) ||
        (st = fl_hp_int(r, "attention.head_count", &hp->n_head, 0, true)) ||
        (st = fl_hp_int(r, "context_length", &hp->n_ctx_train, 8192, false)) ||
        (st = fl_hp_float(r, "attention.layer_norm_rms_epsilon", &hp->rms_eps, 1e-6)))
        return st;
    if (hp->n_layer <= 0 || hp->n_layer > FL_MAX_LAYERS || hp->n_head <= 0) return FLINT_OK; /* check_shape names it */
    if ((st = fl_hp_layer_ints(r, "feed_forward_length", hp->n_layer, n_ff, 0, true)) ||
        (st = fl_hp_layer_ints(r, "attention.head_count_kv", hp->n_layer, n_kv, hp->n_head, false)) ||
        (st = fl_hp_int(r, "attention.key_length", &hd, hp->n_embd / hp->n_head, false)))
        return st;
    fill_layers(hp, hd, n_kv, n_ff);
    float base, scalar = (float)hd;
    switch (hp->arch) {
    case FL_ARCH_GEMMA:
        if ((st = fl_hp_float(r, "rope.freq_base", &base, 1e4))) return st;
        set_rope(&hp->rope_full, hd, base, 1);
        break;
    case FL_ARCH_GEMMA2:
        if ((st = fl_hp_float(r, "rope.freq_base", &base, 1e4)) ||
            (st = fl_hp_int(r, "attention.sliding_window", &hp->sliding_window, 4096, false)) ||
            (st = fl_hp_float(r, "attn_logit_softcapping", &hp->attn_softcap, 50)) ||
            (st = fl_hp_float(r, "final_logit_softcapping", &hp->final_softcap, 30)))
            return st;
        set_rope(&hp->rope_full, hd, base, 1);
        for (int32_t l = 0; l < hp->n_layer; l++) hp->layer[l].sliding = l % 2 == 0;
        if (hp->n_layer == 46) scalar = (float)hp->n_embd / (float)hp->n_head;
        break;
    case FL_ARCH_GEMMA3: {
        float factor = 1;
        if ((st = fl_hp_float(r, "rope.freq_base", &base, 1e6)) ||
            (st = fl_hp_int(r, "attention.sliding_window", &hp->sliding_window, 0, false)) ||
            (st = fl_hp_float(r, "final_logit_softcapping", &hp->final_softcap, 0)))
            return st;
        if (fl_hp_str_is(fl_hp_find(r, "rope.scaling.type"), "linear") &&
            (st = fl_hp_float(r, "rope.scaling.factor", &factor, 1.0)))
            return st;
        set_rope(&hp->rope_full, hd, base, factor);
        set_rope(&hp->rope_sliding, hd, 1e4f, 1);
        for (int32_t l = 0; l < hp->n_layer; l++) hp->layer[l].sliding = l % 6 < 5;
        if (hp->n_layer == 62) scalar = (float)hp->n_embd / (float)hp->n_head;
        break;
    }
    default: { /* Gemma 4 */
        int32_t hd_swa, rot, rot_swa;
        float base_swa;
        if ((st = fl_hp_layer_ints(r, "attention.sliding_window_pattern", hp->n_layer, sliding, 0, true)) ||
            (st = fl_hp_int(r, "attention.key_length_swa", &hd_swa, hd, false)) ||
            (st = fl_hp_int(r, "rope.dimension_count", &rot, hd, false)) ||
            (st = fl_hp_int(r, "rope.dimension_count_swa", &rot_swa, hd_swa, false)) ||
            (st = fl_hp_float(r, "rope.freq_base", &base, 1e6)) ||
            (st = fl_hp_float(r, "rope.freq_base_swa", &base_swa, 1e4)) ||
            (st = fl_hp_int(r, "attention.sliding_window", &hp->sliding_window, 0, true)) ||
            (st = fl_hp_int(r, "attention.shared_kv_layers", &n_shared, 0, false)) ||
            (st = fl_hp_int(r, "embedding_length_per_layer_input", &hp->n_embd_per_layer, 0, false)) ||
            (st = fl_hp_float(r, "final_logit_softcapping", &hp->final_softcap, 30)) ||
            (st = fl_hp_int(r, "expert_count", &hp->n_expert, 0, false)) ||
            (st = fl_hp_int(r, "expert_used_count", &hp->n_expert_used, 0, false)) ||
            (st = fl_hp_int(r, "expert_feed_forward_length", &hp->n_ff_exp, 0, false)))
            return st;
        set_rope(&hp->rope_full, rot, base, 1);
        set_rope(&hp->rope_sliding, rot_swa, base_swa, 1);
        for (int32_t l = 0; l < hp->n_layer; l++) {
            hp->layer[l].sliding = sliding[l] != 0;
            if (sliding[l]) hp->layer[l].head_dim = hd_swa;
        }
        break;
    }
    }
    hp->attn_scale = hp->arch == FL_ARCH_GEMMA4 ? 1.0f : 1.0f / sqrtf(scalar);
    if (hp->rope_sliding.n_rot == 0) hp->rope_sliding = hp->rope_full;
    return share_kv(hp, n_shared, r->path);
}

/* HF layer kinds: layer_types, else every pattern-th layer is global. */
static flint_status hf_layer_types(fl_hparams *hp, const fl_hp_reader *r, int32_t pattern) {
    bool sliding[FL_MAX_LAYERS], listed;
    flint_status st = fl_hp_layer_types(r, hp->n_layer, "sliding_attention", sliding, &listed);
    if (st) return st;
    if (listed) {
        for (int32_t i = 0; i < hp->n_layer; i++) hp->layer[i].sliding = sliding[i];
        return FLINT_OK;
    }
    st = fl_hp_int(r, "sliding_window_pattern", &pattern, pattern, false);
    if (st) return st;
    if (pattern <= 0) return fl_errorf(FLINT_E_FORMAT, "%s: sliding_window_pattern %d", r->path, pattern);
    for (int32_t i = 0; i < hp->n_layer; i++) hp->layer[i].sliding = (i + 1) % pattern != 0;
    return FLINT_OK;
}

/* One layer kind's rope from rope_parameters.<kind>.*: default, linear or
 * (Gemma 4) proportional, where only partial_rotary_factor of the pairs
 * rotate but the exponent keeps the whole head size. */
static flint_status hf_rope_kind(fl_rope_cfg *c, const fl_hp_reader *r, const char *kind, int32_t head_dim,
                                 double dflt_base, bool dflt_proportional) {
    char key[96];
    flint_status st;
    snprintf(key, sizeof key, "rope_parameters.%s.rope_theta", kind);
    if ((st = fl_hp_float(r, key, &c->base, dflt_base))) return st;
    c->n_rot = head_dim;
    c->scale = 1;
    snprintf(key, sizeof key, "rope_parameters.%s.rope_type", kind);
    const fl_meta_value *type = fl_hp_find(r, key);
    bool proportional = type ? fl_hp_str_is(type, "proportional") : dflt_proportional;
    if (!proportional && (!type || fl_hp_str_is(type, "default"))) return FLINT_OK;
    if (!proportional && !fl_hp_str_is(type, "linear"))
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: rope_type '%.*s' is not supported", r->path,
                         type->type == FLINT_META_STRING ? (int)type->count : 1,
                         type->type == FLINT_META_STRING ? (const char *)type->data : "?");
    snprintf(key, sizeof key, "rope_parameters.%s.factor", kind);
    if ((st = fl_hp_float(r, key, &c->scale, 1.0))) return st;
    if (proportional) {
        float partial;
        snprintf(key, sizeof key, "rope_parameters.%s.partial_rotary_factor", kind);
        if ((st = fl_hp_float(r, key, &partial, type ? 1.0 : 0.25))) return st;
        if (!(partial > 0 && partial <= 1))
            return fl_errorf(FLINT_E_FORMAT, "%s: partial_rotary_factor %g", r->path, partial);
        c->n_pairs = (int32_t)(partial * (float)head_dim / 2);
    }
    return FLINT_OK;
}

/* Gemma 3 rope: rope_parameters per kind (newer transformers), or
 * rope_theta / rope_local_base_freq / rope_scaling (linear, global only). */
static flint_status hf_rope_gemma3(fl_hparams *hp, const fl_hp_reader *r, int32_t hd) {
    flint_status st;
    if (fl_hp_find(r, "rope_parameters.full_attention.rope_theta")) {
        if ((st = hf_rope_kind(&hp->rope_full, r, "full_attention", hd, 1e6, false))) return st;
        return hf_rope_kind(&hp->rope_sliding, r, "sliding_attention", hd, 1e4, false);
    }
    float base, local;
    if ((st = fl_hp_float(r, "rope_theta", &base, 1e6)) || (st = fl_hp_float(r, "rope_local_base_freq", &local, 1e4)))
        return st;
    set_rope(&hp->rope_full, hd, base, 1);
    set_rope(&hp->rope_sliding, hd, local, 1);
    const fl_meta_value *type = fl_hp_find(r, "rope_scaling.rope_type");
    if (!type) type = fl_hp_find(r, "rope_scaling.type");
    if (fl_hp_str_is(type, "linear")) return fl_hp_float(r, "rope_scaling.factor", &hp->rope_full.scale, 1.0);
    if (type && !fl_hp_str_is(type, "default"))
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: rope_scaling type '%.*s' is not supported for gemma3", r->path,
                         type->type == FLINT_META_STRING ? (int)type->count : 1,
                         type->type == FLINT_META_STRING ? (const char *)type->data : "?");
    return FLINT_OK;
}

/* Gemma 4 full layers: per_layer_config.<i>.* (what transformers 5 saves)
 * or global_head_dim / num_global_key_value_heads (the released configs). */
static flint_status hf_gemma4_layers(fl_hparams *hp, const fl_hp_reader *r, int32_t inter) {
    flint_status st;
    int32_t global_hd, global_kv, n_shared;
    bool k_eq_v, double_wide;
    if ((st = fl_hp_int(r, "global_head_dim", &global_hd, 512, false)) ||
        (st = fl_hp_bool(r, "attention_k_eq_v", &k_eq_v, false)) ||
        (st = fl_hp_int(r, "num_kv_shared_layers", &n_shared, 0, false)) ||
        (st = fl_hp_bool(r, "use_double_wide_mlp", &double_wide, false)))
        return st;
    if ((st = fl_hp_int(r, "num_global_key_value_heads", &global_kv, hp->layer[0].n_head_kv, false))) return st;
    static const char *overrides[3] = {"head_dim", "num_key_value_heads", "intermediate_size"};
    bool per_layer = false;
    char key[96];
    for (int32_t l = 0; l < hp->n_layer && !per_layer; l++)
        for (int i = 0; i < 3 && !per_layer; i++) {
            snprintf(key, sizeof key, "per_layer_config.%d.%s", l, overrides[i]);
            per_layer = fl_hp_find(r, key) != NULL;
        }
    for (int32_t l = 0; l < hp->n_layer; l++) {
        fl_layer_hparams *L = &hp->layer[l];
        if (per_layer) {
            int32_t *field[3] = {&L->head_dim, &L->n_head_kv, &L->n_ff};
            for (int i = 0; i < 3; i++) {
                snprintf(key, sizeof key, "per_layer_config.%d.%s", l, overrides[i]);
                if ((st = fl_hp_int(r, key, field[i], *field[i], false))) return st;
            }
        } else if (!L->sliding) {
            L->head_dim = global_hd;
            if (k_eq_v) L->n_head_kv = global_kv;
        }
        L->k_eq_v = k_eq_v && !L->sliding;
    }
    if ((st = share_kv(hp, n_shared, r->path))) return st;
    for (int32_t l = hp->n_layer - n_shared; double_wide && l < hp->n_layer; l++) hp->layer[l].n_ff = 2 * inter;
    return FLINT_OK;
}

static flint_status load_hf(fl_hparams *hp, const fl_hp_reader *r) {
    /* transformers' defaults: layers, hidden, MLP, heads, KV heads, max positions */
    static const int32_t dflt[5][6] = {
        [FL_ARCH_GEMMA] = {28, 3072, 24576, 16, 16, 8192},
        [FL_ARCH_GEMMA2] = {26, 2304, 9216, 8, 4, 8192},
        [FL_ARCH_GEMMA3] = {26, 2304, 9216, 8, 4, 131072},
        [FL_ARCH_GEMMA4] = {30, 2304, 9216, 8, 4, 131072},
    };
    const int32_t *d = dflt[hp->arch];
    flint_status st;
    int32_t inter, n_kv, hd;
    if ((st = fl_hp_int(r, "num_hidden_layers", &hp->n_layer, d[0], false)) ||
        (st = fl_hp_int(r, "hidden_size", &hp->n_embd, d[1], false)) ||
        (st = fl_hp_int(r, "intermediate_size", &inter, d[2], false)) ||
        (st = fl_hp_int(r, "num_attention_heads", &hp->n_head, d[3], false)) ||
        (st = fl_hp_int(r, "num_key_value_heads", &n_kv, d[4], false)) ||
        (st = fl_hp_int(r, "max_position_embeddings", &hp->n_ctx_train, d[5], false)) ||
        (st = fl_hp_int(r, "head_dim", &hd, 256, false)) || (st = fl_hp_float(r, "rms_norm_eps", &hp->rms_eps, 1e-6)))
        return st;
    if (hp->n_layer <= 0 || hp->n_layer > FL_MAX_LAYERS) return FLINT_OK; /* check_shape names it */
    int32_t n_kv_l[FL_MAX_LAYERS], n_ff_l[FL_MAX_LAYERS];
    for (int32_t l = 0; l < hp->n_layer; l++) n_kv_l[l] = n_kv, n_ff_l[l] = inter;
    fill_layers(hp, hd, n_kv_l, n_ff_l);

    float scalar = (float)hd;
    if (hp->arch == FL_ARCH_GEMMA2 || hp->arch == FL_ARCH_GEMMA3) {
        if ((st = fl_hp_float(r, "query_pre_attn_scalar", &scalar, 256))) return st;
        if (!(scalar > 0)) return fl_errorf(FLINT_E_FORMAT, "%s: query_pre_attn_scalar %g", r->path, scalar);
    }
    hp->attn_scale = hp->arch == FL_ARCH_GEMMA4 ? 1.0f : 1.0f / sqrtf(scalar);
    if (hp->arch != FL_ARCH_GEMMA &&
        ((st = fl_hp_int(r, "sliding_window", &hp->sliding_window, hp->arch == FL_ARCH_GEMMA4 ? 512 : 4096, false)) ||
         (st = fl_hp_float(r, "final_logit_softcapping", &hp->final_softcap, hp->arch == FL_ARCH_GEMMA2 ? 30 : 0)) ||
         (st = fl_hp_float(r, "attn_logit_softcapping", &hp->attn_softcap, hp->arch == FL_ARCH_GEMMA2 ? 50 : 0))))
        return st;

    switch (hp->arch) {
    case FL_ARCH_GEMMA:
    case FL_ARCH_GEMMA2: {
        float base;
        const char *key = fl_hp_find(r, "rope_parameters.rope_theta") ? "rope_parameters.rope_theta" : "rope_theta";
        if ((st = fl_hp_float(r, key, &base, 1e4))) return st;
        set_rope(&hp->rope_full, hd, base, 1);
        hp->rope_sliding = hp->rope_full;
        return hp->arch == FL_ARCH_GEMMA2 ? hf_layer_types(hp, r, 2) : FLINT_OK;
    }
    case FL_ARCH_GEMMA3:
        if ((st = hf_rope_gemma3(hp, r, hd))) return st;
        return hf_layer_types(hp, r, 6);
    default: /* Gemma 4 */
        if ((st = hf_layer_types(hp, r, 6))) return st;
        hp->layer[hp->n_layer - 1].sliding = false; /* transformers forces the last layer global */
        bool moe;
        if ((st = hf_gemma4_layers(hp, r, inter)) ||
            (st = fl_hp_int(r, "hidden_size_per_layer_input", &hp->n_embd_per_layer, 256, false)) ||
            (st = fl_hp_bool(r, "enable_moe_block", &moe, false)))
            return st;
        if (moe && ((st = fl_hp_int(r, "num_experts", &hp->n_expert, 0, true)) ||
                    (st = fl_hp_int(r, "top_k_experts", &hp->n_expert_used, 0, true)) ||
                    (st = fl_hp_int(r, "moe_intermediate_size", &hp->n_ff_exp, 0, true))))
            return st;
        int32_t hd_full = hd;
        for (int32_t l = 0; l < hp->n_layer; l++)
            if (!hp->layer[l].sliding) hd_full = hp->layer[l].head_dim;
        /* transformers' default: proportional with a quarter of the pairs on full layers */
        if ((st = hf_rope_kind(&hp->rope_full, r, "full_attention", hd_full, 1e6, true)) ||
            (st = hf_rope_kind(&hp->rope_sliding, r, "sliding_attention", hd, 1e4, false)))
            return st;
        return FLINT_OK;
    }
}

flint_status fl_hparams_load_gemma(fl_hparams *hp, fl_hp_reader *r) {
    hp->embd_scale = true;
    hp->post_norms = hp->arch != FL_ARCH_GEMMA;
    hp->qk_norm = hp->arch == FL_ARCH_GEMMA3 || hp->arch == FL_ARCH_GEMMA4;
    hp->v_norm = hp->arch == FL_ARCH_GEMMA4;
    hp->norm_plus_one = !r->gguf && hp->arch != FL_ARCH_GEMMA4;
    return r->gguf ? load_gguf(hp, r) : load_hf(hp, r);
}
