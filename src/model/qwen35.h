/* qwen35.h — the Qwen3.5 / Qwen3.6 hybrid family behind model.h. */
#ifndef FL_MODEL_QWEN35_H
#define FL_MODEL_QWEN35_H

#include "model/model.h"

flint_status fl_qwen35_load(fl_lm *lm, bool gguf);
flint_status fl_qwen35_forward(const fl_lm *lm, const fl_placement *pl, fl_lm_scratch *s, const fl_batch *b,
                               float *logits);

#endif
