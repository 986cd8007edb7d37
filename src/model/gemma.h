/* gemma.h — the Gemma family (generations 1 to 4) behind model.h. */
#ifndef FL_MODEL_GEMMA_H
#define FL_MODEL_GEMMA_H

#include "model/model.h"

flint_status fl_gemma_load(fl_lm *lm, bool gguf);
flint_status fl_gemma_forward(const fl_lm *lm, const fl_placement *pl, fl_lm_scratch *s, const fl_batch *b,
                              float *logits);

#endif
