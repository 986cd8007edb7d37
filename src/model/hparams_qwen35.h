/* hparams_qwen35.h — hyperparameters of the Qwen3.5 / Qwen3.6 hybrid family
 * (MODELS.md §5) from GGUF ("qwen35", "qwen35moe") and HF configs
 * ("qwen3_5", "qwen3_5_text", "qwen3_5_moe", "qwen3_5_moe_text"). */
#ifndef FL_MODEL_HPARAMS_QWEN35_H
#define FL_MODEL_HPARAMS_QWEN35_H

#include "model/hparams_read.h"

fl_arch fl_qwen35_arch(const fl_meta_value *name, bool gguf);
flint_status fl_hparams_load_qwen35(fl_hparams *hp, fl_hp_reader *r);

#endif
