/* hparams_gemma.h — hyperparameters of Gemma 1, 2, 3 and 4 (MODELS.md
 * §1-4) from GGUF metadata ("gemma", "gemma2", "gemma3", "gemma4") and HF
 * configs ("gemma", "gemma2", "gemma3_text"/"gemma3", "gemma4_text"/"gemma4"). */
#ifndef FL_MODEL_HPARAMS_GEMMA_H
#define FL_MODEL_HPARAMS_GEMMA_H

#include "model/hparams_read.h"

/* The Gemma generation an architecture name denotes; FL_ARCH_UNKNOWN if none. */
fl_arch fl_gemma_arch(const fl_meta_value *name, bool gguf);
/* Fills hp (hp->arch already set) from r (prefix ""). */
flint_status fl_hparams_load_gemma(fl_hparams *hp, fl_hp_reader *r);

#endif
