/* hf_names.c — an HF folder's tensors as the converter writes them, for the
 * families flint runs: Gemma 1-4 (text) and Qwen3.5/3.6 (dense and MoE).
 * Names: HF "model.layers.N.<part>" -> "blk.N.<gguf part>" through one
 * table per family; the transforms (Gemma 1-3 and Qwen3.5 norms + 1,
 * Qwen3.5's ssm_a = -exp(A_log), its value heads from grouped to tiled
 * order, fused expert gate/up split in two) become row maps, column maps
 * and elementwise ops of the plan. Qwen3.5's MTP layers (mtp.*) follow the
 * model's layers as the converter numbers them: mtp.layers.i is layer
 * n_layer + i, mtp.fc and its norms that layer's nextn.* tensors. Vision and
 * audio towers are skipped, as the text converter does; any other unknown
 * tensor is an error. An MLX folder's quantized modules are read through
 * their codes, scales and biases (the latter two not written), and what
 * mlx-lm's Qwen3.5 sanitize changed is undone: conv1d [C, K, 1] is read as
 * [C, 1, K] (the same bytes), and its norms, already + 1, are not raised
 * again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_file.h"
#include "base/error.h"
#include "convert/plan.h"
#include "format/config.h"
#include "model/weights.h"

enum { F_GEMMA1 = 1, F_GEMMA2 = 2, F_GEMMA3 = 4, F_GEMMA4 = 8, F_QWEN35 = 16, F_QWEN35MOE = 32 };
#define F_GEMMA234 (F_GEMMA2 | F_GEMMA3 | F_GEMMA4)
#define F_QWEN (F_QWEN35 | F_QWEN35MOE)
#define F_ALL (F_GEMMA1 | F_GEMMA234 | F_QWEN)

static const struct {
    const char *hf, *gguf;
    int family;
} archs[] = {
    {"GemmaForCausalLM", "gemma", F_GEMMA1},
    {"Gemma2ForCausalLM", "gemma2", F_GEMMA2},
    {"Gemma3ForCausalLM", "gemma3", F_GEMMA3},
    {"Gemma3ForConditionalGeneration", "gemma3", F_GEMMA3},
    {"Gemma4ForCausalLM", "gemma4", F_GEMMA4},
    {"Gemma4ForConditionalGeneration", "gemma4", F_GEMMA4},
    {"Qwen3_5ForCausalLM", "qwen35", F_QWEN35},
    {"Qwen3_5ForConditionalGeneration", "qwen35", F_QWEN35},
    {"Qwen3_5MoeForCausalLM", "qwen35moe", F_QWEN35MOE},
    {"Qwen3_5MoeForConditionalGeneration", "qwen35moe", F_QWEN35MOE},
};

/* What a layer tensor becomes. SPLIT_GATE_UP: a fused [E, 2F, H] expert
 * tensor written as gguf (the gate half) and gguf2 (the up half).
 * JOIN_GATE / JOIN_UP: the two halves [E, F, H] of one written as gguf
 * (joined by join_halves once both are planned). */
enum { K_PLAIN, K_SPLIT_GATE_UP, K_JOIN_GATE, K_JOIN_UP };
enum { V_NONE, V_QKV_ROWS, V_ROWS, V_HEAD_ROWS, V_HEAD_COLS, V_COLS, V_CONV };

static const struct {
    const char *hf, *gguf;
    int family;
    int kind;
    int vreorder; /* Qwen3.5 value-head reordering */
    const char *gguf2;
} layer_names[] = {
    {"input_layernorm.weight", "attn_norm.weight", F_ALL, K_PLAIN, V_NONE, NULL},
    {"self_attn.q_proj.weight", "attn_q.weight", F_ALL, K_PLAIN, V_NONE, NULL},
    {"self_attn.k_proj.weight", "attn_k.weight", F_ALL, K_PLAIN, V_NONE, NULL},
    {"self_attn.v_proj.weight", "attn_v.weight", F_ALL, K_PLAIN, V_NONE, NULL},
    {"self_attn.o_proj.weight", "attn_output.weight", F_ALL, K_PLAIN, V_NONE, NULL},
    {"self_attn.q_norm.weight", "attn_q_norm.weight", F_ALL, K_PLAIN, V_NONE, NULL},
    {"self_attn.k_norm.weight", "attn_k_norm.weight", F_ALL, K_PLAIN, V_NONE, NULL},
    {"mlp.gate_proj.weight", "ffn_gate.weight", F_ALL, K_PLAIN, V_NONE, NULL},
    {"mlp.up_proj.weight", "ffn_up.weight", F_ALL, K_PLAIN, V_NONE, NULL},
    {"mlp.down_proj.weight", "ffn_down.weight", F_ALL, K_PLAIN, V_NONE, NULL},
    /* Gemma 1's post_attention_layernorm is the pre-FFN norm */
    {"post_attention_layernorm.weight", "ffn_norm.weight", F_GEMMA1, K_PLAIN, V_NONE, NULL},
    {"post_attention_layernorm.weight", "post_attention_norm.weight", F_GEMMA234 | F_QWEN, K_PLAIN, V_NONE, NULL},
    {"pre_feedforward_layernorm.weight", "ffn_norm.weight", F_GEMMA234, K_PLAIN, V_NONE, NULL},
    {"post_feedforward_layernorm.weight", "post_ffw_norm.weight", F_GEMMA234, K_PLAIN, V_NONE, NULL},
    {"pre_feedforward_layernorm_2.weight", "pre_ffw_norm_2.weight", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    {"post_feedforward_layernorm_1.weight", "post_ffw_norm_1.weight", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    {"post_feedforward_layernorm_2.weight", "post_ffw_norm_2.weight", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    {"layer_scalar", "layer_output_scale.weight", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    {"router.proj.weight", "ffn_gate_inp.weight", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    {"router.scale", "ffn_gate_inp.scale", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    {"router.per_expert_scale", "ffn_down_exps.scale", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    {"experts.gate_up_proj", "ffn_gate_up_exps.weight", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    {"experts.down_proj", "ffn_down_exps.weight", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    /* mlx-lm's split of the fused experts (its sanitize): the halves joined again */
    {"experts.switch_glu.gate_proj.weight", "ffn_gate_up_exps.weight", F_GEMMA4, K_JOIN_GATE, V_NONE, NULL},
    {"experts.switch_glu.up_proj.weight", "ffn_gate_up_exps.weight", F_GEMMA4, K_JOIN_UP, V_NONE, NULL},
    {"experts.switch_glu.down_proj.weight", "ffn_down_exps.weight", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    {"per_layer_input_gate.weight", "inp_gate.weight", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    {"per_layer_projection.weight", "proj.weight", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    {"post_per_layer_input_norm.weight", "post_norm.weight", F_GEMMA4, K_PLAIN, V_NONE, NULL},
    {"linear_attn.in_proj_qkv.weight", "attn_qkv.weight", F_QWEN, K_PLAIN, V_QKV_ROWS, NULL},
    {"linear_attn.in_proj_z.weight", "attn_gate.weight", F_QWEN, K_PLAIN, V_HEAD_ROWS, NULL},
    {"linear_attn.in_proj_b.weight", "ssm_beta.weight", F_QWEN, K_PLAIN, V_ROWS, NULL},
    {"linear_attn.in_proj_a.weight", "ssm_alpha.weight", F_QWEN, K_PLAIN, V_ROWS, NULL},
    {"linear_attn.conv1d.weight", "ssm_conv1d.weight", F_QWEN, K_PLAIN, V_CONV, NULL},
    {"linear_attn.dt_bias", "ssm_dt.bias", F_QWEN, K_PLAIN, V_COLS, NULL},
    {"linear_attn.A_log", "ssm_a", F_QWEN, K_PLAIN, V_COLS, NULL},
    {"linear_attn.norm.weight", "ssm_norm.weight", F_QWEN, K_PLAIN, V_NONE, NULL},
    {"linear_attn.out_proj.weight", "ssm_out.weight", F_QWEN, K_PLAIN, V_HEAD_COLS, NULL},
    {"mlp.gate.weight", "ffn_gate_inp.weight", F_QWEN35MOE, K_PLAIN, V_NONE, NULL},
    {"mlp.experts.gate_up_proj", "ffn_gate_exps.weight", F_QWEN35MOE, K_SPLIT_GATE_UP, V_NONE, "ffn_up_exps.weight"},
    {"mlp.experts.down_proj", "ffn_down_exps.weight", F_QWEN35MOE, K_PLAIN, V_NONE, NULL},
    /* mlx-lm's split of the fused experts (its sanitize) */
    {"mlp.switch_mlp.gate_proj.weight", "ffn_gate_exps.weight", F_QWEN35MOE, K_PLAIN, V_NONE, NULL},
    {"mlp.switch_mlp.up_proj.weight", "ffn_up_exps.weight", F_QWEN35MOE, K_PLAIN, V_NONE, NULL},
    {"mlp.switch_mlp.down_proj.weight", "ffn_down_exps.weight", F_QWEN35MOE, K_PLAIN, V_NONE, NULL},
    {"mlp.shared_expert.gate_proj.weight", "ffn_gate_shexp.weight", F_QWEN35MOE, K_PLAIN, V_NONE, NULL},
    {"mlp.shared_expert.up_proj.weight", "ffn_up_shexp.weight", F_QWEN35MOE, K_PLAIN, V_NONE, NULL},
    {"mlp.shared_expert.down_proj.weight", "ffn_down_shexp.weight", F_QWEN35MOE, K_PLAIN, V_NONE, NULL},
    {"mlp.shared_expert_gate.weight", "ffn_gate_inp_shexp.weight", F_QWEN35MOE, K_PLAIN, V_NONE, NULL},
};

static const struct {
    const char *hf, *gguf;
    int family;
} top_names[] = {
    {"embed_tokens.weight", "token_embd.weight", F_ALL},
    {"norm.weight", "output_norm.weight", F_ALL},
    {"lm_head.weight", "output.weight", F_QWEN},
    {"embed_tokens_per_layer.weight", "per_layer_token_embd.weight", F_GEMMA4},
    {"per_layer_model_projection.weight", "per_layer_model_proj.weight", F_GEMMA4},
    {"per_layer_projection_norm.weight", "per_layer_proj_norm.weight", F_GEMMA4},
};

/* Prefixes of the text model in the HF checkpoints of these families. */
static const char *text_prefixes[] = {"model.language_model.", "language_model.model.", "model.", "language_model.", ""};
/* Parts of multimodal checkpoints that the text converter leaves out. */
static const char *other_prefixes[] = {"model.visual.", "visual.", "model.vision_tower.", "vision_tower.",
                                       "model.audio_tower.", "audio_tower.", "model.multi_modal_projector.",
                                       "multi_modal_projector.", "model.embed_vision.", "model.embed_audio.",
                                       "embed_vision.", "embed_audio."};

/* Qwen3.5's MTP block besides its layers: the converter's nextn names, and
 * the HF layer names it renames them to first (which decide the norm + 1). */
static const struct {
    const char *hf, *gguf, *renamed;
} mtp_names[] = {
    {"fc.weight", "nextn.eh_proj.weight", "eh_proj.weight"},
    {"pre_fc_norm_embedding.weight", "nextn.enorm.weight", "enorm.weight"},
    {"pre_fc_norm_hidden.weight", "nextn.hnorm.weight", "hnorm.weight"},
    {"norm.weight", "nextn.shared_head_norm.weight", "shared_head.norm.weight"},
};

static bool starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }
static bool ends(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int64_t cfg_int(const fl_meta *cfg, const char *key, int64_t def) {
    const fl_meta_value *v = fl_meta_find_text(cfg, key);
    int64_t x;
    return v && fl_meta_value_int(v, &x) == FLINT_OK ? x : def;
}

typedef struct qwen_heads {
    int64_t n_k, n_v, d_k, d_v;
} qwen_heads;

static void set_vreorder(fl_cv_tensor *t, int how, const qwen_heads *q) {
    if (how == V_NONE || q->n_k <= 0 || q->n_v == q->n_k) return;
    fl_cv_reorder o = {0, q->n_k, q->n_v / q->n_k, q->d_v};
    switch (how) {
    case V_QKV_ROWS: case V_CONV: o.start = 2 * q->n_k * q->d_k; t->rows = o; break;
    case V_HEAD_ROWS: t->rows = o; break;
    case V_ROWS: o.hd = 1; t->rows = o; break;
    case V_HEAD_COLS: t->cols = o; break;
    case V_COLS: o.hd = 1; t->cols = o; break;
    }
}

fl_cv_tensor *fl_cv_plan_add(fl_cv_plan *p, const char *name, const flint_tensor_info *src) {
    if (p->n == p->cap) {
        int64_t cap = p->cap ? 2 * p->cap : 256;
        fl_cv_tensor *t = realloc(p->t, (size_t)cap * sizeof *t);
        if (!t) {
            fl_errorf(FLINT_E_NOMEM, "out of memory planning tensors");
            return NULL;
        }
        p->t = t;
        p->cap = cap;
    }
    fl_cv_tensor *t = &p->t[p->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    if (src) {
        t->src = *src;
        t->n_dims = src->n_dims;
        for (int d = 0; d < 4; d++) t->ne[d] = d < src->n_dims ? src->ne[d] : 1;
    }
    t->slab_rows = t->src_slab_rows = fl_cv_rows(t) > 0 ? fl_cv_rows(t) : 1;
    return t;
}

void fl_cv_plan_free(fl_cv_plan *p) {
    free(p->t);
    free(p->generated);
    fl_meta_free(&p->kv);
    memset(p, 0, sizeof *p);
}

/* The elementwise op the converter applies to a tensor of this family. */
static fl_cv_op op_for(int family, const char *hf_part) {
    if (family & F_GEMMA4) return FL_CV_COPY;
    if ((family & F_QWEN) && ends(hf_part, ".A_log")) return FL_CV_NEG_EXP;
    if ((family & F_QWEN) && ends(hf_part, "linear_attn.norm.weight")) return FL_CV_COPY;
    return ends(hf_part, "norm.weight") ? FL_CV_ADD_ONE : FL_CV_COPY;
}

/* Gemma 4's proportional RoPE: divisors 1 for the rotated pairs of a full
 * layer's head and 1e30 for the rest (the converter's rope_freqs). */
static flint_status add_rope_freqs(const fl_meta *cfg, fl_cv_plan *p) {
    int64_t head = 0;
    fl_cv_gemma4_full(cfg, "global_head_dim", "head_dim", &head);
    const fl_meta_value *f = fl_meta_find_text(cfg, "rope_parameters.full_attention.partial_rotary_factor");
    double factor = 1.0;
    if (f && fl_meta_value_float(f, &factor)) return fl_errorf(FLINT_E_FORMAT, "config: partial_rotary_factor is not a number");
    if (head <= 0 || head > 65536) return fl_errorf(FLINT_E_FORMAT, "config: Gemma 4 needs global_head_dim");
    int64_t n = head / 2, n_rot = (int64_t)((double)head * factor / 2);
    if (n_rot < 0 || n_rot > n) return fl_errorf(FLINT_E_FORMAT, "config: partial_rotary_factor %g out of range", factor);
    p->generated = malloc((size_t)n * sizeof(float));
    if (!p->generated) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) p->generated[i] = i < n_rot ? 1.0f : 1e30f;
    fl_cv_tensor *t = fl_cv_plan_add(p, "rope_freqs.weight", NULL);
    if (!t) return FLINT_E_NOMEM;
    t->n_dims = 1;
    t->ne[0] = n;
    t->ne[1] = t->ne[2] = t->ne[3] = 1;
    t->values = p->generated;
    t->src.type = FLINT_TYPE_F32;
    t->src.name = "rope_freqs.weight";
    return FLINT_OK;
}

/* Layer tensor rest ("self_attn.q_proj.weight") of layer `layer`. */
static flint_status add_layer_tensor(fl_cv_plan *p, int family, const flint_tensor_info *ti, const qwen_heads *q,
                                     long layer, const char *rest) {
    char out[96];
    for (size_t i = 0; i < sizeof layer_names / sizeof *layer_names; i++) {
        if (!(layer_names[i].family & family) || strcmp(rest, layer_names[i].hf) != 0) continue;
        snprintf(out, sizeof out, "blk.%ld.%s", layer, layer_names[i].gguf);
        fl_cv_tensor *t = fl_cv_plan_add(p, out, ti);
        if (!t) return FLINT_E_NOMEM;
        t->op = op_for(family, rest);
        set_vreorder(t, layer_names[i].vreorder, q);
        if (layer_names[i].vreorder == V_CONV) { /* [C, 1, K] squeezed to [C, K] */
            if (ti->n_dims == 3 && ti->ne[0] == 1) /* mlx-lm's [C, K, 1]: the same bytes */
                t->src.ne[0] = t->ne[0] = ti->ne[1], t->src.ne[1] = t->ne[1] = 1;
            if (t->src.n_dims != 3 || t->src.ne[1] != 1)
                return fl_errorf(FLINT_E_FORMAT, "tensor '%s': expected [channels, 1, kernel]", ti->name);
            t->n_dims = 2;
            t->ne[1] = ti->ne[2];
            t->ne[2] = 1;
            t->slab_rows = t->src_slab_rows = fl_cv_rows(t) > 0 ? fl_cv_rows(t) : 1;
        }
        if (layer_names[i].kind == K_JOIN_UP) snprintf(t->name, sizeof t->name, "blk.%ld.%s (up)", layer, layer_names[i].gguf);
        if (layer_names[i].kind == K_SPLIT_GATE_UP) {
            if (ti->n_dims != 3 || ti->ne[1] % 2 != 0 || ti->ne[1] == 0)
                return fl_errorf(FLINT_E_FORMAT, "tensor '%s': expected [experts, 2 x ff, embd]", ti->name);
            int64_t ff = ti->ne[1] / 2;
            t->ne[1] = ff;
            t->slab_rows = ff;
            t->src_slab_rows = 2 * ff;
            snprintf(out, sizeof out, "blk.%ld.%s", layer, layer_names[i].gguf2);
            fl_cv_tensor *u = fl_cv_plan_add(p, out, ti);
            if (!u) return FLINT_E_NOMEM;
            u->ne[1] = ff;
            u->slab_rows = ff;
            u->src_slab_rows = 2 * ff;
            u->slab_offset = ff;
        }
        return FLINT_OK;
    }
    return fl_errorf(FLINT_E_UNSUPPORTED, "tensor '%s' has no GGUF name for %s", ti->name, p->arch);
}

static flint_status add_tensor(fl_cv_plan *p, int family, const flint_tensor_info *ti, const qwen_heads *q) {
    const char *name = ti->name, *part = NULL;
    for (size_t i = 0; i < sizeof other_prefixes / sizeof *other_prefixes; i++)
        if (starts(name, other_prefixes[i])) return FLINT_OK;
    if (strcmp(name, "lm_head.weight") == 0 && !(family & F_QWEN)) return FLINT_OK; /* Gemma ties it */
    const char *mtp = starts(name, "model.mtp.") ? name + 10 : starts(name, "mtp.") ? name + 4 : NULL;
    if (mtp && (!(family & F_QWEN) || p->n_nextn == 0)) return FLINT_OK; /* no MTP layers: as --no-mtp */
    const int64_t n_main = p->n_layer - p->n_nextn;
    char out[96];
    long layer;
    int used = 0;
    if (mtp) {
        for (size_t i = 0; i < sizeof mtp_names / sizeof *mtp_names; i++) {
            if (strcmp(mtp, mtp_names[i].hf) != 0) continue;
            snprintf(out, sizeof out, "blk.%lld.%s", (long long)n_main, mtp_names[i].gguf);
            fl_cv_tensor *t = fl_cv_plan_add(p, out, ti);
            if (!t) return FLINT_E_NOMEM;
            t->op = op_for(family, mtp_names[i].renamed);
            return FLINT_OK;
        }
        if (sscanf(mtp, "layers.%ld.%n", &layer, &used) == 1 && used > 0 && layer >= 0 && layer < p->n_nextn)
            return add_layer_tensor(p, family, ti, q, n_main + layer, mtp + used);
        return fl_errorf(FLINT_E_UNSUPPORTED, "tensor '%s' has no GGUF name for %s", name, p->arch);
    }
    for (size_t i = 0; i < sizeof text_prefixes / sizeof *text_prefixes && !part; i++)
        if (starts(name, text_prefixes[i])) part = name + strlen(text_prefixes[i]);
    if (strcmp(name, "lm_head.weight") == 0) part = name;
    if (sscanf(part, "layers.%ld.%n", &layer, &used) == 1 && used > 0 && layer >= 0 && layer < n_main)
        return add_layer_tensor(p, family, ti, q, layer, part + used);
    for (size_t i = 0; i < sizeof top_names / sizeof *top_names; i++) {
        if (!(top_names[i].family & family) || strcmp(part, top_names[i].hf) != 0) continue;
        fl_cv_tensor *t = fl_cv_plan_add(p, top_names[i].gguf, ti);
        if (!t) return FLINT_E_NOMEM;
        t->op = op_for(family, part);
        return FLINT_OK;
    }
    return fl_errorf(FLINT_E_UNSUPPORTED, "tensor '%s' has no GGUF name for %s", name, p->arch);
}

/* Each "<name> (up)" half joined to the gate half planned as <name>, then
 * dropped from the plan. */
static bool up_half(const fl_cv_tensor *t) {
    size_t n = strlen(t->name);
    return n > 5 && strcmp(t->name + n - 5, " (up)") == 0;
}

static flint_status join_halves(fl_cv_plan *p) {
    for (int64_t i = 0; i < p->n; i++) {
        const fl_cv_tensor *up = &p->t[i];
        if (!up_half(up)) continue;
        size_t n = strlen(up->name) - 5;
        fl_cv_tensor *gate = NULL;
        for (int64_t j = 0; j < p->n && !gate; j++)
            if (j != i && strlen(p->t[j].name) == n && !strncmp(p->t[j].name, up->name, n)) gate = &p->t[j];
        if (!gate || gate->n_dims != 3 || up->n_dims != 3 || gate->ne[0] != up->ne[0] || gate->ne[1] != up->ne[1] ||
            gate->ne[2] != up->ne[2] || gate->join_rows)
            return fl_errorf(FLINT_E_FORMAT, "tensor '%s': its gate and up halves are not two [experts, ff, embd] stacks",
                             up->src.name);
        gate->join_rows = gate->ne[1];
        gate->ne[1] *= 2;
        gate->slab_rows = gate->src_slab_rows = fl_cv_rows(gate);
        gate->src2 = up->src, gate->is_mlx2 = up->is_mlx, gate->mlx2 = up->mlx;
    }
    int64_t kept = 0;
    for (int64_t i = 0; i < p->n; i++)
        if (!up_half(&p->t[i])) p->t[kept++] = p->t[i];
    p->n = kept;
    return FLINT_OK;
}

/* An MLX module's scales or biases (read with its codes, not written). */
static bool mlx_part(const flint_model *m, const char *name) {
    char weight[320];
    flint_tensor_info t;
    size_t n = strlen(name);
    if (!ends(name, ".scales") && !ends(name, ".biases")) return false;
    if (n - 7 + sizeof ".weight" > sizeof weight) return false;
    snprintf(weight, sizeof weight, "%.*s.weight", (int)(n - 7), name);
    return flint_tensor_find(m, weight, &t) == FLINT_OK;
}

flint_status fl_cv_plan_hf(const flint_model *m, fl_cv_plan *p) {
    const fl_meta *cfg = fl_model_file_meta(m);
    const char *hf_arch = fl_config_architecture(cfg);
    int family = 0;
    for (size_t i = 0; i < sizeof archs / sizeof *archs && !family; i++) {
        if (strcmp(hf_arch, archs[i].hf) != 0) continue;
        family = archs[i].family;
        snprintf(p->arch, sizeof p->arch, "%s", archs[i].gguf);
    }
    if (!family)
        return fl_errorf(FLINT_E_UNSUPPORTED, "config.json: architecture '%s' is not one flint converts (Gemma 1-4, Qwen3.5/3.6)",
                         *hf_arch ? hf_arch : "(none)");
    p->n_layer = cfg_int(cfg, "num_hidden_layers", -1);
    if (p->n_layer <= 0 || p->n_layer > 4096) return fl_errorf(FLINT_E_FORMAT, "config.json: num_hidden_layers missing or out of range");
    p->n_expert = cfg_int(cfg, "num_experts", 0);
    if (family & F_QWEN) { /* MTP layers: the config's count, or (as the converter) the checkpoint's */
        p->n_nextn = cfg_int(cfg, "mtp_num_hidden_layers", 0);
        for (int64_t i = 0, n = flint_tensor_count(m); p->n_nextn == 0 && i < n; i++) {
            flint_tensor_info ti;
            long l;
            if (flint_tensor_get(m, i, &ti) == FLINT_OK && (sscanf(ti.name, "mtp.layers.%ld.", &l) == 1 ||
                                                            sscanf(ti.name, "model.mtp.layers.%ld.", &l) == 1))
                p->n_nextn = l + 1 > p->n_nextn ? l + 1 : p->n_nextn;
        }
        if (p->n_nextn < 0 || p->n_nextn > 64) return fl_errorf(FLINT_E_FORMAT, "config.json: mtp_num_hidden_layers out of range");
        p->n_layer += p->n_nextn;
    }
    qwen_heads q = {cfg_int(cfg, "linear_num_key_heads", 0), cfg_int(cfg, "linear_num_value_heads", 0),
                    cfg_int(cfg, "linear_key_head_dim", 0), cfg_int(cfg, "linear_value_head_dim", 0)};
    if ((family & F_QWEN) && (q.n_k <= 0 || q.n_v <= 0 || q.n_v % q.n_k != 0 || q.d_k <= 0 || q.d_v <= 0))
        return fl_errorf(FLINT_E_FORMAT, "config.json: linear attention head counts are missing or inconsistent");
    flint_status st;
    if ((family & F_GEMMA4) && (st = add_rope_freqs(cfg, p))) return st;
    int64_t n = flint_tensor_count(m);
    fl_weight_loader wl = {.file = m, .path = fl_model_file_path(m)};
    bool sanitized = false;
    for (int64_t i = 0; i < n; i++) {
        flint_tensor_info ti;
        fl_weight w;
        bool mlx;
        if ((st = flint_tensor_get(m, i, &ti))) return st;
        if (mlx_part(m, ti.name)) continue;
        if ((st = fl_weight_mlx_view(&wl, ti.name, &mlx, &w))) return st;
        if (mlx) ti.ne[0] = w.k;
        /* mlx-lm's Qwen3.5 sanitize: conv1d [C, K, 1] and norms already + 1 (as the MLX loader tells) */
        if ((family & F_QWEN) && ends(ti.name, "linear_attn.conv1d.weight") && ti.n_dims == 3 && ti.ne[0] == 1) sanitized = true;
        int64_t first = p->n;
        if ((st = add_tensor(p, family, &ti, &q))) return st;
        for (int64_t j = first; mlx && j < p->n; j++) p->t[j].is_mlx = true, p->t[j].mlx = w;
    }
    for (int64_t i = 0; sanitized && i < p->n; i++)
        if (p->t[i].op == FL_CV_ADD_ONE) p->t[i].op = FL_CV_COPY;
    if ((st = join_halves(p))) return st;
    p->tied_output = true;
    for (int64_t i = 0; i < p->n; i++)
        if (strcmp(p->t[i].name, "output.weight") == 0) p->tied_output = false;
    return fl_cv_meta_hf(cfg, p);
}
