/* hf_special.h — what gguf's SpecialVocab adds for an HF folder's tokenizer
 * (shared by every tokenizer path of hf_vocab.c): special token ids and
 * add_<type>_token flags, the chat template, BPE merges; and the helpers
 * the token lists share (the folder's JSON files, the converter's "looks
 * special" test). */
#ifndef FL_CONVERT_HF_SPECIAL_H
#define FL_CONVERT_HF_SPECIAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/json.h"
#include "convert/plan.h"

#define FL_CV_MAX_TOKENIZER_BYTES (256ull << 20)

/* dir/name parsed, or *out NULL where the file is absent (the converter
 * reads what is there). */
flint_status fl_cv_load_json(const char *dir, const char *name, json_t **out);

typedef struct fl_cv_specials {
    const char *typ[16];
    int64_t id[16];
    int n_id;
    const char *add_typ[16];
    bool add[16];
    int n_add;
} fl_cv_specials;

/* SpecialVocab(n_vocab, types) read from dir and config.json: ids (first
 * found wins: tokenizer_config.json's <type>_token in tokenizer.json's
 * added tokens, then config.json's <type>_token_id), flags
 * (TemplateProcessing, then tokenizer_config.json), and with chat_template
 * the template into p. n_vocab 0: any id. */
flint_status fl_cv_special_vocab(const char *dir, const fl_meta *config, const char *const *types, int n_types,
                                 int64_t n_vocab, fl_cv_specials *s, fl_cv_plan *p, bool chat_template);
/* Sets typ's id unless it has one. */
void fl_cv_special_id(fl_cv_specials *s, const char *typ, int64_t id, int64_t n_vocab);
/* The ids and flags of s as the keys gguf has for them. */
flint_status fl_cv_write_specials(fl_cv_plan *p, const fl_cv_specials *s);
/* The bos..mask types, with all of the above and the chat template. */
flint_status fl_cv_add_special_vocab(const char *dir, const fl_meta *config, int64_t n_vocab, fl_cv_plan *p);
/* tokenizer.ggml.merges from tokenizer.json's model.merges ("a b" strings,
 * or [a, b] pairs joined by a space with their own spaces as U+0120). */
flint_status fl_cv_add_merges(json_t *tokenizer, const char *path, fl_cv_plan *p);

/* BaseModel.does_token_look_special */
bool fl_cv_looks_special(const char *s);

#endif
