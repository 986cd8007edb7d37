/* weights.h — shared helpers that turn named tensors of an open model file
 * into the views the forward passes use, checking every shape: matrices
 * stay in the mapping as fl_weight; norm vectors become owned f32 copies
 * (converted from F16/BF16, with HF Gemma's "1 + w" applied at load). */
#ifndef FL_MODEL_WEIGHTS_H
#define FL_MODEL_WEIGHTS_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "flint.h"

typedef struct fl_weight_loader {
    const flint_model *file;
    const char *path;
    float **owned;     /* f32 copies made at load, freed by fl_weight_loader_free */
    int64_t n_owned, cap_owned;
} fl_weight_loader;

void fl_weight_loader_free(fl_weight_loader *wl);
/* n floats owned by the loader (for vectors a model derives at load). */
flint_status fl_weight_loader_alloc(fl_weight_loader *wl, int64_t n, float **out);

/* W[m,k] named name (ne = {k, m}); missing or mis-shaped is an error naming
 * the tensor, the shape found and the shape expected. */
flint_status fl_load_matrix(fl_weight_loader *wl, const char *name, int64_t k, int64_t m, fl_weight *out);
/* A stack of n_stack matrices W[m,k] (ne = {k, m, n_stack}, as MoE experts
 * are stored): *out views the first; matrix e starts e * m * row_bytes on. */
flint_status fl_load_matrix_stack(fl_weight_loader *wl, const char *name, int64_t k, int64_t m, int64_t n_stack,
                                  fl_weight *out);
/* Whether name is the codes of an MLX-quantized module (its
 * "<module>.scales" exists); then *out views all its rows, checked as
 * fl_load_matrix checks them: k inputs, m the product of the other
 * dimensions (a stack's matrices one after another). */
flint_status fl_weight_mlx_view(fl_weight_loader *wl, const char *name, bool *mlx, fl_weight *out);
/* A tensor of n floats in any shape (norms, conv kernels, [1, H] gates) as
 * an owned f32 copy, plus 1 if plus_one. */
flint_status fl_load_vector(fl_weight_loader *wl, const char *name, int64_t n, bool plus_one, const float **out);
/* True if the file has a tensor called name. */
bool fl_has_tensor(const fl_weight_loader *wl, const char *name);

#endif
