/* select.h — which files of a Hugging Face repository flint pulls, and
 * which one it opens: the same rules for `flint pull` (over the hub's
 * listing) and for `-m ORG/NAME[:QUANT]` (over a cached snapshot). Pure. */
#ifndef FL_HUB_SELECT_H
#define FL_HUB_SELECT_H

#include <stdbool.h>
#include <stdint.h>

#include "flint.h"

typedef struct fl_hub_choice {
    const char *repo;           /* "ORG/NAME", for messages */
    const char *quant;          /* ":QUANT" without the colon, or NULL */
    const char *const *include; /* --include globs (fnmatch, '*' crosses '/'), or NULL */
    int32_t n_include;
} fl_hub_choice;

/* Marks pick[i] for each of paths[0..n) to pull, and sets *model to the
 * index of the GGUF file to open (the first part of a split one), or -1
 * when the model is the folder (config.json + safetensors).
 *   - --include globs: the files they match (and the GGUF of a :QUANT);
 *   - :QUANT: the GGUF model file whose name holds QUANT (any case)
 *     between separators, llama.cpp's `-hf repo:quant` rule, with every
 *     part of a split (NAME-00001-of-00003.gguf) one;
 *   - otherwise, with top-level *.safetensors: what flint reads (config,
 *     weights and their index, tokenizer, chat template files);
 *     without them: the one GGUF model, or, with several, an error naming
 *     them and how to choose (FLINT_E_INVALID_ARG).
 * GGUF files named mmproj or imatrix are not models. */
flint_status fl_hub_select(const fl_hub_choice *c, const char *const *paths, int64_t n, bool *pick, int64_t *model);

#endif
