/* model_file.h — what the library's own rooms may see of an open
 * flint_model beyond the public API: its metadata dictionary and path. */
#ifndef FL_API_MODEL_FILE_H
#define FL_API_MODEL_FILE_H

#include "flint.h"
#include "format/meta.h"

typedef struct fl_expert_store fl_expert_store;

const fl_meta *fl_model_file_meta(const flint_model *model);
/* The path the model was opened from. */
const char *fl_model_file_path(const flint_model *model);
/* The store that streams the model's experts (NULL: resident). */
fl_expert_store *fl_model_file_store(const flint_model *model);
/* Layers and experts per layer of a MoE model (n_expert 0: not one). */
void fl_model_file_moe(const flint_model *model, int32_t *n_layer, int32_t *n_expert);

#endif
