/* plan.h — the convert room's shared structs: what each output tensor is
 * (its name, shape and type, and how each of its rows is read from the
 * source: which source row, which column order, which elementwise
 * transform) and the output metadata. Rows are the unit of everything:
 * every transform the converter applies to the families flint runs is a
 * row map, a column map or an elementwise op, so a tensor streams row by
 * row and memory stays near one tensor. */
#ifndef FL_CONVERT_PLAN_H
#define FL_CONVERT_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "flint.h"
#include "format/meta.h"

typedef enum fl_cv_op {
    FL_CV_COPY,     /* y = x */
    FL_CV_ADD_ONE,  /* y = x + 1: Gemma 1-3 and Qwen3.5 norms (HF stores w - 1) */
    FL_CV_NEG_EXP,  /* y = -exp(x): Qwen3.5's ssm_a from A_log */
} fl_cv_op;

/* Qwen3.5's value heads from grouped (n_k groups of n_vpk heads of hd) to
 * tiled order, on indices >= start; n_k == 0: no reordering. */
typedef struct fl_cv_reorder {
    int64_t start, n_k, n_vpk, hd;
} fl_cv_reorder;

typedef struct fl_cv_tensor {
    char name[96];              /* GGUF name */
    int32_t n_dims;
    int64_t ne[4];              /* fastest-varying first */
    flint_type type;            /* the output type, set by fl_cv_choose_types */
    flint_tensor_info src;      /* the source tensor (src.ne[0] == ne[0]) */
    bool is_mlx;                /* src is the codes of an MLX-quantized module, read through mlx: */
    fl_weight mlx;              /* its codes, scales and biases (src.ne[0] set to its inputs) */
    /* Two stacks joined along rows (mlx-lm's switch_glu gate and up halves back
     * into Gemma 4's fused [E, 2F, H]): with join_rows F > 0, output row r of
     * expert e = r / 2F is row e * F + r % 2F of src where r % 2F < F, else row
     * e * F + r % 2F - F of src2 (read as src is, is_mlx2 / mlx2). */
    int64_t join_rows;
    flint_tensor_info src2;
    bool is_mlx2;
    fl_weight mlx2;
    const float *values;        /* a generated tensor (ne[0] floats, one row), or NULL */
    /* Fused tensors split into several outputs (HF gate_up_proj): output row
     * r reads source row (r / slab_rows) * src_slab_rows + slab_offset + r % slab_rows. */
    int64_t slab_rows, src_slab_rows, slab_offset;
    fl_cv_reorder rows, cols;
    fl_cv_op op;
} fl_cv_tensor;

typedef struct fl_cv_plan {
    fl_cv_tensor *t;
    int64_t n, cap;
    fl_meta kv;                 /* built with fl_gguf_kv_* */
    char arch[32];              /* GGUF architecture name */
    int64_t n_layer;            /* block_count: the model's layers and its MTP layers */
    int64_t n_nextn;            /* Qwen3.5's MTP layers, after the model's (blk.<n_layer - n_nextn + i>) */
    int64_t n_expert;           /* expert_count, 0 without */
    bool tied_output;           /* no output.weight: the embedding is the output */
    float *generated;           /* storage for values (owned) */
} fl_cv_plan;

/* Appends an output tensor reading src row for row with an identity map;
 * the caller adjusts the maps. NULL on OOM (the error is recorded). */
fl_cv_tensor *fl_cv_plan_add(fl_cv_plan *p, const char *name, const flint_tensor_info *src);
void fl_cv_plan_free(fl_cv_plan *p);

/* Fills the tensors and metadata of an HF folder (converter rules, types
 * unset). */
flint_status fl_cv_plan_hf(const flint_model *m, fl_cv_plan *p);
/* The key/values an HF folder's config gives for p->arch (hf_meta.c). */
flint_status fl_cv_meta_hf(const fl_meta *cfg, fl_cv_plan *p);

/* tokenizer.ggml.* where flint follows the converter's path for the
 * folder's tokenizer (hf_vocab.c); *written false: none written. */
flint_status fl_cv_vocab_hf(const char *dir, const fl_meta *config, fl_cv_plan *p, bool *written);

/* Gemma 4: global_key, or key of the first full-attention layer in
 * per_layer_config (the two spellings of its configs). */
bool fl_cv_gemma4_full(const fl_meta *cfg, const char *global_key, const char *key, int64_t *out);

/* The output types: the converter's rules for F32/F16/BF16/Q8_0 from HF,
 * llama-quantize's for the rest and for every GGUF source (rules.c). */
typedef struct fl_cv_target fl_cv_target;
const fl_cv_target *fl_cv_target_find(const char *name);
flint_status fl_cv_choose_types(fl_cv_plan *p, const fl_cv_target *target, bool from_gguf);

/* Row r of t as n = t->ne[0] floats, through the source's dequantizer and
 * t's maps; tmp holds t->src.ne[0] floats (rows.c). */
flint_status fl_cv_read_row(const fl_cv_tensor *t, int64_t r, float *out, float *tmp);
/* Rows of t: the product of ne[1..]. */
int64_t fl_cv_rows(const fl_cv_tensor *t);

#endif
