/* rules.c — which type each output tensor gets. Two rule sets, as llama.cpp
 * has them:
 *  - the converter's (convert_hf_to_gguf.py, prepare_tensors) for an HF
 *    source written as F32/F16/BF16/Q8_0: F32 for 1-D tensors, norms, the
 *    router and conv tensors and names not ending in ".weight"; F16 where a
 *    row is not a multiple of Q8_0's block;
 *  - llama-quantize's (src/llama-quant.cpp) for the other types and for
 *    GGUF sources: which tensors may be quantized, the Q4_K_M/Q5_K_M mixes
 *    (counters taken in its name order), the output/tied-embedding rule and
 *    the fallbacks for rows that do not fit a block. An HF source goes
 *    through the converter's F32 rules first, as `convert --outtype f32`
 *    then llama-quantize would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "convert/plan.h"
#include "format/gguf_write.h"
#include "quant/types.h"

enum { MIX_NONE, MIX_Q4_K_M, MIX_Q5_K_M };

struct fl_cv_target {
    const char *name;
    flint_type type;     /* llama-quantize's default type for the file type */
    uint32_t file_type;  /* general.file_type (llama_ftype) */
    bool converter;      /* from HF: the converter's own --outtype */
    int mix;
    bool pure;           /* every quantizable tensor of type (llama-quantize --pure) */
};

static const fl_cv_target targets[] = {
    {"F32", FLINT_TYPE_F32, 0, true, MIX_NONE, false},
    {"F16", FLINT_TYPE_F16, 1, true, MIX_NONE, false},
    {"BF16", FLINT_TYPE_BF16, 32, true, MIX_NONE, false},
    {"Q8_0", FLINT_TYPE_Q8_0, 7, true, MIX_NONE, false},
    {"Q4_0", FLINT_TYPE_Q4_0, 2, false, MIX_NONE, false},
    {"Q4_K", FLINT_TYPE_Q4_K, 15, false, MIX_Q4_K_M, true},
    {"Q5_K", FLINT_TYPE_Q5_K, 17, false, MIX_Q5_K_M, true},
    {"Q6_K", FLINT_TYPE_Q6_K, 18, false, MIX_NONE, false},
    {"Q4_K_M", FLINT_TYPE_Q4_K, 15, false, MIX_Q4_K_M, false},
    {"Q5_K_M", FLINT_TYPE_Q5_K, 17, false, MIX_Q5_K_M, false},
};

const fl_cv_target *fl_cv_target_find(const char *name) {
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++)
        if (strcasecmp(name, targets[i].name) == 0) return &targets[i];
    return NULL;
}

static bool has(const char *s, const char *part) { return strstr(s, part) != NULL; }
static bool ends(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The name without "blk.N." */
static const char *base_name(const char *name) {
    int used = 0;
    long l;
    if (sscanf(name, "blk.%ld.%n", &l, &used) == 1 && used > 0) return name + used;
    return name;
}

static flint_type converter_type(const fl_cv_tensor *t, flint_type target) {
    const char *b = base_name(t->name);
    if (t->n_dims <= 1 || ends(t->name, "_norm.weight")) return FLINT_TYPE_F32;
    if (strcmp(b, "ffn_gate_inp.weight") == 0 || strcmp(b, "ffn_gate_inp_shexp.weight") == 0 ||
        strcmp(b, "ssm_conv1d.weight") == 0 || strcmp(b, "position_embd.weight") == 0 ||
        strcmp(b, "token_types.weight") == 0 || !ends(t->name, ".weight"))
        return FLINT_TYPE_F32;
    /* gguf's quantizer refuses rows that are not whole blocks; the converter then writes F16 */
    if (target == FLINT_TYPE_Q8_0 && t->ne[0] % 32 != 0) return FLINT_TYPE_F16;
    return target;
}

/* ggml_n_dims: dimensions up to the last one that is not 1 (a dimension
 * of 0 stays: dropping it would turn an empty tensor into a full one). */
static int n_dims_effective(const fl_cv_tensor *t) {
    int n = 1;
    for (int d = 1; d < 4; d++)
        if (t->ne[d] != 1) n = d + 1;
    return n;
}

static bool quantize_allowed(const fl_cv_tensor *t) {
    static const char *never[] = {"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
                                  "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight",
                                  "indexer.k_proj.weight", "indexer.q_proj.weight", "time_mix_first.weight",
                                  "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
                                  "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
                                  "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
                                  "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight",
                                  "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
                                  ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos",
                                  ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd"};
    if (n_dims_effective(t) < 2 || !ends(t->name, "weight")) return false;
    if (strcmp(t->name, "position_embd.weight") == 0 || strcmp(t->name, "token_types.weight") == 0) return false;
    for (size_t i = 0; i < sizeof never / sizeof *never; i++)
        if (has(t->name, never[i])) return false;
    return true;
}

typedef enum { C_OTHER, C_OUTPUT, C_TOKEN_EMBD, C_ATTN_QKV, C_ATTN_KV_B, C_ATTN_V, C_ATTN_K, C_ATTN_Q, C_ATTN_OUT,
               C_FFN_UP, C_FFN_GATE, C_FFN_DOWN } category;

static category category_of(const char *n) {
    if (strcmp(n, "output.weight") == 0) return C_OUTPUT;
    if (strcmp(n, "token_embd.weight") == 0 || strcmp(n, "per_layer_token_embd.weight") == 0) return C_TOKEN_EMBD;
    if (has(n, "attn_qkv.weight")) return C_ATTN_QKV;
    if (has(n, "attn_kv_b.weight")) return C_ATTN_KV_B;
    if (has(n, "attn_v.weight")) return C_ATTN_V;
    if (has(n, "attn_k.weight")) return C_ATTN_K;
    if (has(n, "attn_q.weight")) return C_ATTN_Q;
    if (has(n, "attn_output.weight")) return C_ATTN_OUT;
    if (has(n, "ffn_up")) return C_FFN_UP;
    if (has(n, "ffn_gate")) return C_FFN_GATE;
    if (has(n, "ffn_down")) return C_FFN_DOWN;
    return C_OTHER;
}

static bool is_attn_v(category c) { return c == C_ATTN_V || c == C_ATTN_QKV || c == C_ATTN_KV_B; }

/* llama-quantize's "use more bits" layers of a mix. */
static bool more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

typedef struct counters {
    int64_t n_attn_v, i_attn_v, i_ffn_down;
    bool tied;
} counters;

/* llama_tensor_get_type_impl for the file types flint writes. */
static flint_status mix_type(const fl_cv_plan *p, const fl_cv_target *tg, const fl_cv_tensor *t, counters *c, flint_type *type) {
    category cat = category_of(t->name);
    flint_type nt = tg->type;
    int64_t block = fl_type_get(nt)->block_size;
    if (cat == C_OUTPUT || (c->tied && cat == C_TOKEN_EMBD)) {
        if (t->ne[0] % block != 0) nt = FLINT_TYPE_Q8_0;
        else if (nt != FLINT_TYPE_Q8_0) nt = FLINT_TYPE_Q6_K;
    } else if (cat == C_TOKEN_EMBD) {
        /* no rule for these file types */
    } else if (is_attn_v(cat)) {
        if (tg->mix != MIX_NONE && more_bits(c->i_attn_v, c->n_attn_v)) nt = FLINT_TYPE_Q6_K;
        if (p->n_expert == 8) nt = FLINT_TYPE_Q8_0;
        c->i_attn_v++;
    } else if (cat == C_ATTN_K) {
        if (p->n_expert == 8) nt = FLINT_TYPE_Q8_0;
    } else if (cat == C_FFN_DOWN) {
        int64_t layer = c->i_ffn_down;
        if (p->n_expert > 1) {
            long l;
            if (sscanf(t->name, "blk.%ld.", &l) != 1 || l < 0 || l >= p->n_layer)
                return fl_errorf(FLINT_E_FORMAT, "tensor '%s': no layer number in its name", t->name);
            layer = l;
        }
        if (tg->mix != MIX_NONE && more_bits(layer, p->n_layer)) nt = FLINT_TYPE_Q6_K;
        c->i_ffn_down++;
    } else if (cat == C_ATTN_OUT) {
        if (p->n_expert == 8 && tg->mix == MIX_Q4_K_M) nt = FLINT_TYPE_Q5_K;
    }
    *type = nt;
    return FLINT_OK;
}

/* tensor_type_fallback: a type whose block divides the row. */
static flint_status fallback(const fl_cv_tensor *t, flint_type *type) {
    if (t->ne[0] % fl_type_get(*type)->block_size == 0) return FLINT_OK;
    flint_type f;
    switch (*type) {
    case FLINT_TYPE_Q4_K: f = FLINT_TYPE_Q5_0; break;
    case FLINT_TYPE_Q5_K: f = FLINT_TYPE_Q5_1; break;
    case FLINT_TYPE_Q6_K: f = FLINT_TYPE_Q8_0; break;
    default:
        return fl_errorf(FLINT_E_UNSUPPORTED, "tensor '%s': rows of %lld do not fit %s blocks and llama-quantize defines no fallback for %s",
                         t->name, (long long)t->ne[0], flint_type_name(*type), flint_type_name(*type));
    }
    *type = t->ne[0] % fl_type_get(f)->block_size == 0 ? f : FLINT_TYPE_F16;
    return FLINT_OK;
}

/* llama-quantize's tensor order (llama_model_loader's weights_map): by
 * layer number (tensors outside "blk.N." first), then by name. */
static int loader_order(const void *pa, const void *pb) {
    const fl_cv_tensor *a = pa, *b = pb;
    long la = -1, lb = -1;
    sscanf(a->name, "blk.%ld.", &la);
    sscanf(b->name, "blk.%ld.", &lb);
    if (la != lb) return la < lb ? -1 : 1;
    return strcmp(a->name, b->name);
}

static flint_status quantize_rules(fl_cv_plan *p, const fl_cv_target *tg, bool from_gguf) {
    counters c = {.tied = true};
    for (int64_t i = 0; i < p->n; i++) {
        category cat = category_of(p->t[i].name);
        if (is_attn_v(cat)) c.n_attn_v++;
        if (cat == C_OUTPUT) c.tied = false;
    }
    /* llama-quantize writes its tensors in its loader's order, and the mix counters follow it */
    if (p->n > 1) qsort(p->t, (size_t)p->n, sizeof *p->t, loader_order);
    flint_status st = FLINT_OK;
    bool quantized = fl_type_get(tg->type)->is_quantized;
    for (int64_t i = 0; i < p->n && !st; i++) {
        fl_cv_tensor *t = &p->t[i];
        t->n_dims = n_dims_effective(t); /* llama-quantize writes ggml_n_dims: trailing 1s go */
        /* an HF source is the converter's F32 output first */
        flint_type in = from_gguf ? t->src.type : FLINT_TYPE_F32;
        if (!quantize_allowed(t)) {
            t->type = in;
            continue;
        }
        t->type = tg->type;
        if (!quantized) continue;
        if (!tg->pure) st = mix_type(p, tg, t, &c, &t->type);
        if (!st) st = fallback(t, &t->type);
    }
    return st;
}

flint_status fl_cv_choose_types(fl_cv_plan *p, const fl_cv_target *tg, bool from_gguf) {
    flint_status st;
    if (!from_gguf && tg->converter) {
        for (int64_t i = 0; i < p->n; i++) p->t[i].type = converter_type(&p->t[i], tg->type);
        return fl_gguf_kv_u32(&p->kv, "general.file_type", tg->file_type);
    }
    if ((st = quantize_rules(p, tg, from_gguf))) return st;
    /* llama-quantize sets both keys anew: they move to the end */
    fl_gguf_kv_remove(&p->kv, "general.quantization_version");
    fl_gguf_kv_remove(&p->kv, "general.file_type");
    if ((st = fl_gguf_kv_u32(&p->kv, "general.quantization_version", 2))) return st;
    return fl_gguf_kv_u32(&p->kv, "general.file_type", tg->file_type);
}
