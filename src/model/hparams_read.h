/* hparams_read.h — typed, checked reads of hyperparameters for the family
 * loaders (hparams_<family>.c). Keys are relative to a prefix: "<arch>."
 * in GGUF; in HF configs "text_config." is tried before the top level.
 * Every failure names the file and the key. */
#ifndef FL_MODEL_HPARAMS_READ_H
#define FL_MODEL_HPARAMS_READ_H

#include "model/hparams.h"

typedef struct fl_hp_reader {
    const fl_meta *meta;
    const char *prefix;
    bool gguf;
    const char *path;
} fl_hp_reader;

const fl_meta_value *fl_hp_find(const fl_hp_reader *r, const char *key);
/* A non-negative int32; dflt when absent or null unless required. */
flint_status fl_hp_int(const fl_hp_reader *r, const char *key, int32_t *out, int64_t dflt, bool required);
flint_status fl_hp_float(const fl_hp_reader *r, const char *key, float *out, double dflt);
flint_status fl_hp_bool(const fl_hp_reader *r, const char *key, bool *out, bool dflt);
/* A per-layer value: an array of n_layer ints, or one int for every layer
 * (GGUF writes arrays where layers differ). Absent: dflt unless required. */
flint_status fl_hp_layer_ints(const fl_hp_reader *r, const char *key, int32_t n_layer, int32_t *out, int64_t dflt,
                              bool required);
bool fl_hp_str_is(const fl_meta_value *v, const char *s);
/* HF layer_types: is_kind[i] = layer i is `kind`, false where it is
 * "full_attention"; any other entry or count is an error. *present is
 * false (and is_kind untouched) when the config has no list. */
flint_status fl_hp_layer_types(const fl_hp_reader *r, int32_t n_layer, const char *kind, bool *is_kind, bool *present);

#endif
