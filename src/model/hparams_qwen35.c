/* hparams_qwen35.c — Qwen3.5 / 3.6 hyperparameters (MODELS.md §5.1).
 *
 * GGUF: "qwen35[moe].*" as llama.cpp writes them; block_count includes the
 * multi-token-prediction blocks (nextn_predict_layers), which are skipped;
 * ssm.state_size is the key head size, ssm.group_count the key heads,
 * ssm.time_step_rank the value heads, ssm.inner_size their total width.
 * HF: text_config (or flat) keys; layer_types or full_attention_interval;
 * rope from rope_parameters (rope_theta, partial_rotary_factor) or the top
 * level. M-RoPE reduces to plain partial RoPE for text. */
#include "model/hparams_qwen35.h"

#include <math.h>
#include <stdio.h>

#include "base/error.h"

fl_arch fl_qwen35_arch(const fl_meta_value *name, bool gguf) {
    if (gguf) {
        if (fl_hp_str_is(name, "qwen35")) return FL_ARCH_QWEN35;
        if (fl_hp_str_is(name, "qwen35moe")) return FL_ARCH_QWEN35MOE;
        return FL_ARCH_UNKNOWN;
    }
    if (fl_hp_str_is(name, "qwen3_5") || fl_hp_str_is(name, "qwen3_5_text")) return FL_ARCH_QWEN35;
    if (fl_hp_str_is(name, "qwen3_5_moe") || fl_hp_str_is(name, "qwen3_5_moe_text")) return FL_ARCH_QWEN35MOE;
    return FL_ARCH_UNKNOWN;
}

/* Every interval-th layer is gated attention, the others Gated DeltaNet. */
static flint_status layer_kinds(fl_hparams *hp, const fl_hp_reader *r) {
    bool recurrent[FL_MAX_LAYERS], listed = false;
    flint_status st = r->gguf ? FLINT_OK : fl_hp_layer_types(r, hp->n_layer, "linear_attention", recurrent, &listed);
    if (st) return st;
    if (listed) {
        for (int32_t i = 0; i < hp->n_layer; i++) hp->layer[i].recurrent = recurrent[i];
        return FLINT_OK;
    }
    int32_t interval;
    st = fl_hp_int(r, "full_attention_interval", &interval, 4, false);
    if (st) return st;
    if (interval <= 0) return fl_errorf(FLINT_E_FORMAT, "%s: full_attention_interval %d", r->path, interval);
    for (int32_t i = 0; i < hp->n_layer; i++) hp->layer[i].recurrent = (i + 1) % interval != 0;
    return FLINT_OK;
}

static flint_status load_gguf(fl_hparams *hp, fl_hp_reader *r) {
    r->prefix = hp->arch == FL_ARCH_QWEN35 ? "qwen35." : "qwen35moe.";
    flint_status st;
    int32_t blocks, nextn, n_kv, hd, n_ff, rot, inner;
    float base;
    if ((st = fl_hp_int(r, "block_count", &blocks, 0, true)) ||
        (st = fl_hp_int(r, "nextn_predict_layers", &nextn, 0, false)) ||
        (st = fl_hp_int(r, "embedding_length", &hp->n_embd, 0, true)) ||
        (st = fl_hp_int(r, "attention.head_count", &hp->n_head, 0, true)) ||
        (st = fl_hp_int(r, "attention.head_count_kv", &n_kv, hp->n_head, false)) ||
        (st = fl_hp_int(r, "attention.key_length", &hd, 256, false)) ||
        (st = fl_hp_int(r, "feed_forward_length", &n_ff, 0, hp->arch == FL_ARCH_QWEN35)) ||
        (st = fl_hp_int(r, "context_length", &hp->n_ctx_train, 262144, false)) ||
        (st = fl_hp_float(r, "attention.layer_norm_rms_epsilon", &hp->rms_eps, 1e-6)) ||
        (st = fl_hp_float(r, "rope.freq_base", &base, 1e7)) ||
        (st = fl_hp_int(r, "rope.dimension_count", &rot, hd / 4, false)) ||
        (st = fl_hp_int(r, "ssm.conv_kernel", &hp->ssm_conv_kernel, 0, true)) ||
        (st = fl_hp_int(r, "ssm.state_size", &hp->ssm_d_k, 0, true)) ||
        (st = fl_hp_int(r, "ssm.group_count", &hp->ssm_n_k_heads, 0, true)) ||
        (st = fl_hp_int(r, "ssm.time_step_rank", &hp->ssm_n_v_heads, 0, true)) ||
        (st = fl_hp_int(r, "ssm.inner_size", &inner, 0, true)))
        return st;
    if (nextn > blocks) return fl_errorf(FLINT_E_FORMAT, "%s: %d MTP blocks of %d", r->path, nextn, blocks);
    hp->n_layer = blocks - nextn;
    hp->ssm_d_v = hp->ssm_n_v_heads > 0 ? inner / hp->ssm_n_v_heads : 0;
    hp->ssm_v_tiled = true;
    if (hp->arch == FL_ARCH_QWEN35MOE &&
        ((st = fl_hp_int(r, "expert_count", &hp->n_expert, 0, true)) ||
         (st = fl_hp_int(r, "expert_used_count", &hp->n_expert_used, 0, true)) ||
         (st = fl_hp_int(r, "expert_feed_forward_length", &hp->n_ff_exp, 0, true)) ||
         (st = fl_hp_int(r, "expert_shared_feed_forward_length", &hp->n_ff_shexp, 0, false))))
        return st;
    if (hp->n_layer <= 0 || hp->n_layer > FL_MAX_LAYERS) return FLINT_OK; /* check_shape names it */
    for (int32_t l = 0; l < hp->n_layer; l++)
        hp->layer[l] = (fl_layer_hparams){.head_dim = hd, .n_head_kv = n_kv, .n_ff = n_ff, .kv_source = l};
    hp->rope_full = (fl_rope_cfg){.n_rot = rot, .base = base, .scale = 1};
    return layer_kinds(hp, r);
}

static flint_status load_hf(fl_hparams *hp, fl_hp_reader *r) {
    flint_status st;
    int32_t n_kv, hd, n_ff;
    float base, partial;
    if ((st = fl_hp_int(r, "num_hidden_layers", &hp->n_layer, 0, true)) ||
        (st = fl_hp_int(r, "hidden_size", &hp->n_embd, 0, true)) ||
        (st = fl_hp_int(r, "num_attention_heads", &hp->n_head, 16, false)) ||
        (st = fl_hp_int(r, "num_key_value_heads", &n_kv, 2, false)) ||
        (st = fl_hp_int(r, "head_dim", &hd, 256, false)) ||
        (st = fl_hp_int(r, "intermediate_size", &n_ff, 0, hp->arch == FL_ARCH_QWEN35)) ||
        (st = fl_hp_int(r, "max_position_embeddings", &hp->n_ctx_train, 32768, false)) ||
        (st = fl_hp_float(r, "rms_norm_eps", &hp->rms_eps, 1e-6)) ||
        (st = fl_hp_int(r, "linear_conv_kernel_dim", &hp->ssm_conv_kernel, 4, false)) ||
        (st = fl_hp_int(r, "linear_key_head_dim", &hp->ssm_d_k, 128, false)) ||
        (st = fl_hp_int(r, "linear_value_head_dim", &hp->ssm_d_v, 128, false)) ||
        (st = fl_hp_int(r, "linear_num_key_heads", &hp->ssm_n_k_heads, 16, false)) ||
        (st = fl_hp_int(r, "linear_num_value_heads", &hp->ssm_n_v_heads, 32, false)))
        return st;
    const bool nested = fl_hp_find(r, "rope_parameters.rope_theta") != NULL;
    if ((st = fl_hp_float(r, nested ? "rope_parameters.rope_theta" : "rope_theta", &base, 1e7)) ||
        (st = fl_hp_float(r, nested ? "rope_parameters.partial_rotary_factor" : "partial_rotary_factor", &partial, 0.25)))
        return st;
    if (!(partial > 0 && partial <= 1)) return fl_errorf(FLINT_E_FORMAT, "%s: partial_rotary_factor %g", r->path, partial);
    if (hp->arch == FL_ARCH_QWEN35MOE &&
        ((st = fl_hp_int(r, "num_experts", &hp->n_expert, 0, true)) ||
         (st = fl_hp_int(r, "num_experts_per_tok", &hp->n_expert_used, 0, true)) ||
         (st = fl_hp_int(r, "moe_intermediate_size", &hp->n_ff_exp, 0, true)) ||
         (st = fl_hp_int(r, "shared_expert_intermediate_size", &hp->n_ff_shexp, 0, false))))
        return st;
    if (hp->n_layer <= 0 || hp->n_layer > FL_MAX_LAYERS) return FLINT_OK;
    for (int32_t l = 0; l < hp->n_layer; l++)
        hp->layer[l] = (fl_layer_hparams){.head_dim = hd, .n_head_kv = n_kv, .n_ff = n_ff, .kv_source = l};
    hp->rope_full = (fl_rope_cfg){.n_rot = (int32_t)(hd * partial) & ~1, .base = base, .scale = 1};
    return layer_kinds(hp, r);
}

flint_status fl_hparams_load_qwen35(fl_hparams *hp, fl_hp_reader *r) {
    hp->norm_plus_one = !r->gguf;
    hp->qk_norm = true;
    hp->attn_out_gate = true;
    flint_status st = r->gguf ? load_gguf(hp, r) : load_hf(hp, r);
    if (st) return st;
    hp->rope_sliding = hp->rope_full;
    hp->attn_scale = hp->layer[0].head_dim > 0 ? 1.0f / sqrtf((float)hp->layer[0].head_dim) : 0;
    const int32_t nk = hp->ssm_n_k_heads, nv = hp->ssm_n_v_heads;
    if (nk <= 0 || nv <= 0 || nv % nk != 0 || hp->ssm_d_k <= 0 || hp->ssm_d_v <= 0 || hp->ssm_conv_kernel <= 0 ||
        hp->ssm_conv_kernel > 16)
        return fl_errorf(FLINT_E_FORMAT, "%s: DeltaNet shape: %d value heads of %d over %d key heads of %d, kernel %d",
                         r->path, nv, hp->ssm_d_v, nk, hp->ssm_d_k, hp->ssm_conv_kernel);
    return FLINT_OK;
}
