/* tokenizer.h — what the library's other rooms (engine/) need from the
 * public tokenizer handle: the internal tokenizer behind it and the chat
 * rendering with the public message types. */
#ifndef FL_API_TOKENIZER_H
#define FL_API_TOKENIZER_H

#include "flint.h"
#include "tokenizer/tokenizer.h"

const fl_tokenizer *fl_tokenizer_of(const flint_tokenizer *tok);
/* flint_chat_render into a growable text (appended). */
flint_status fl_chat_render_public(const fl_tokenizer *tok, const flint_chat_message *msgs, int32_t n,
                                   const flint_chat_params *params, fl_tok_text *out);

#endif
