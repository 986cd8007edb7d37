/* tokenizer.h — text <-> token ids for flint's families (internal API).
 *
 * Three algorithms behind one handle:
 *   FL_TOK_SPM        SentencePiece-style BPE by piece scores with byte
 *                     fallback (GGUF tokenizer.ggml.model "llama": Gemma 1-3)
 *   FL_TOK_BPE_BYTES  byte-level BPE by merge rank after a pre-tokenizer
 *                     regex, optionally NFC (GGUF "gpt2", Qwen tokenizer.json)
 *   FL_TOK_BPE_CHARS  merge-rank BPE over whole UTF-8 characters with '▁'
 *                     for spaces and byte fallback (GGUF "gemma4", and
 *                     SentencePiece models converted to tokenizer.json)
 * Loaded from GGUF metadata (fl_meta) or a Hugging Face tokenizer.json.
 * A loaded tokenizer is read-only and may be shared by threads (its word
 * cache takes a lock with trylock and is skipped when busy).
 * Layouts and rules: ../shared/docs/MODELS.md §7. */
#ifndef FL_TOKENIZER_H
#define FL_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flint.h"
#include "format/meta.h"

typedef struct fl_tokenizer fl_tokenizer;

typedef enum fl_tok_algo {
    FL_TOK_SPM = 1,
    FL_TOK_BPE_BYTES = 2,
    FL_TOK_BPE_CHARS = 3,
} fl_tok_algo;

/* Token types, the GGUF tokenizer.ggml.token_type numbering. */
typedef enum fl_tok_type {
    FL_TOK_TYPE_NORMAL = 1,
    FL_TOK_TYPE_UNKNOWN = 2,
    FL_TOK_TYPE_CONTROL = 3,
    FL_TOK_TYPE_USER_DEFINED = 4,
    FL_TOK_TYPE_UNUSED = 5,
    FL_TOK_TYPE_BYTE = 6,
} fl_tok_type;

/* encode flags */
#define FL_TOK_ADD_BOS 1u       /* prepend BOS if the vocabulary wants one */
#define FL_TOK_PARSE_SPECIAL 2u /* control tokens written in the text become one token */
#define FL_TOK_ADD_EOS 4u       /* append EOS if the vocabulary wants one */
/* decode flags */
#define FL_DETOK_SPECIAL 1u     /* render control tokens (<bos>, <|im_end|>) as text */
#define FL_DETOK_KEEP_SPACE 2u  /* keep the dummy-prefix space of SPM vocabularies */

/* A growable id array; zero-initialise, free with fl_tok_ids_free. */
typedef struct fl_tok_ids {
    int32_t *ids;
    size_t n, cap;
} fl_tok_ids;

/* A growable byte string, always NUL-terminated after a successful append. */
typedef struct fl_tok_text {
    char *s;
    size_t n, cap;
} fl_tok_text;

void fl_tok_ids_free(fl_tok_ids *v);
flint_status fl_tok_push(fl_tok_ids *v, int32_t id);
void fl_tok_text_free(fl_tok_text *t);
flint_status fl_tok_text_append(fl_tok_text *t, const char *s, size_t n);

/* ---- loading ---- */

/* From GGUF metadata (tokenizer.ggml.*); path names the file in messages. */
flint_status fl_tokenizer_load_gguf(const fl_meta *meta, const char *path, fl_tokenizer **out);
/* From a folder with tokenizer.json (+ tokenizer_config.json, config.json). */
flint_status fl_tokenizer_load_hf(const char *dir, fl_tokenizer **out);
/* From tokenizer.json text in memory; config (tokenizer_config.json text)
 * may be NULL. path names the file in messages. */
flint_status fl_tokenizer_load_hf_json(const char *json, size_t len, const char *config, size_t config_len,
                                       const char *path, fl_tokenizer **out);
/* A .gguf file or a Hugging Face folder; FLINT_E_NOT_FOUND when the model
 * carries no tokenizer at all. */
flint_status fl_tokenizer_load(const char *path, fl_tokenizer **out);
void fl_tokenizer_free(fl_tokenizer *tok);

/* ---- queries ---- */

fl_tok_algo fl_tokenizer_algo(const fl_tokenizer *tok);
int32_t fl_tokenizer_n_vocab(const fl_tokenizer *tok);
/* The vocabulary entry of id as stored (e.g. "Ġthe", "▁the", "<0x0A>"); NULL if out of range. */
const char *fl_tokenizer_piece(const fl_tokenizer *tok, int32_t id, size_t *len);
fl_tok_type fl_tokenizer_type(const fl_tokenizer *tok, int32_t id);
/* The id of an exact vocabulary entry, or -1. */
int32_t fl_tokenizer_find(const fl_tokenizer *tok, const char *piece, size_t len);
int32_t fl_tokenizer_bos(const fl_tokenizer *tok); /* -1 when none */
int32_t fl_tokenizer_eos(const fl_tokenizer *tok);
int32_t fl_tokenizer_unk(const fl_tokenizer *tok);
int32_t fl_tokenizer_pad(const fl_tokenizer *tok);
bool fl_tokenizer_add_bos(const fl_tokenizer *tok);
/* The ids that end a model turn (eos, eot, <end_of_turn>, <|im_end|>, ...); *n set. */
const int32_t *fl_tokenizer_stop_ids(const fl_tokenizer *tok, size_t *n);
bool fl_tokenizer_is_stop(const fl_tokenizer *tok, int32_t id);
/* The chat template text from the file (NULL if none) and the model architecture ("" if unknown). */
const char *fl_tokenizer_chat_template(const fl_tokenizer *tok);
const char *fl_tokenizer_arch(const fl_tokenizer *tok);

/* ---- encoding and decoding ---- */

/* Appends the ids of text[0..len) to out. Any bytes are accepted (NUL and
 * invalid UTF-8 included): SPM and character BPE keep invalid bytes as
 * byte tokens; byte-level BPE replaces each maximal invalid subsequence by
 * U+FFFD (as Python's errors="replace" does). */
flint_status fl_tokenize(const fl_tokenizer *tok, const char *text, size_t len, unsigned flags, fl_tok_ids *out);
/* Appends the text of ids to out (raw bytes: may be invalid UTF-8 if the ids are). */
flint_status fl_detokenize(const fl_tokenizer *tok, const int32_t *ids, size_t n, unsigned flags, fl_tok_text *out);
/* The decoded bytes of one token (no dummy-prefix handling); NULL if out of range. */
const char *fl_tokenizer_token_bytes(const fl_tokenizer *tok, int32_t id, size_t *len);

/* Streaming decoder: push ids one at a time, get only whole UTF-8
 * characters back; invalid sequences become U+FFFD. */
typedef struct fl_tok_stream {
    const fl_tokenizer *tok;
    unsigned flags;
    bool started;      /* something was emitted: no more dummy-prefix strip */
    uint8_t pend[4];   /* an incomplete UTF-8 character */
    int n_pend;
} fl_tok_stream;

void fl_tok_stream_init(fl_tok_stream *s, const fl_tokenizer *tok, unsigned flags);
flint_status fl_tok_stream_push(fl_tok_stream *s, int32_t id, fl_tok_text *out);
/* Emits U+FFFD for a character left incomplete at the end. */
flint_status fl_tok_stream_flush(fl_tok_stream *s, fl_tok_text *out);

/* ---- chat templates (chat.c) ---- */

typedef enum fl_chat_family {
    FL_CHAT_NONE = 0,
    FL_CHAT_GEMMA,   /* Gemma 1/2/3: <start_of_turn>; system folded into the first user turn */
    FL_CHAT_GEMMA4,  /* Gemma 4: <|turn>, <|think|>, <|tool_call>, <|"|> strings */
    FL_CHAT_CHATML,  /* Qwen3.5/3.6: <|im_start|>, <think>, XML tool calls */
} fl_chat_family;

/* Messages and tool calls are the public API's (flint.h). */
typedef flint_tool_call fl_chat_tool_call;
typedef flint_chat_message fl_chat_msg;

typedef struct fl_chat_params {
    bool add_generation_prompt;
    int enable_thinking;      /* -1 = the template's default, 0 off, 1 on */
    const char *tools;        /* a JSON array of OpenAI tool definitions, or NULL */
    const char *bos;          /* BOS text for templates that emit it ("<bos>"); NULL = "" */
    bool gemma4_no_empty_thought; /* Gemma 4 E2B/E4B: no empty thought channel when not thinking (26B/31B add one) */
} fl_chat_params;

/* The family from the template text (preferred) or the architecture. */
fl_chat_family fl_chat_detect(const char *chat_template, const char *arch);
fl_chat_family fl_tokenizer_chat_family(const fl_tokenizer *tok);
/* Renders with the family named ("gemma", "gemma4", "chatml") whatever the
 * file says; NULL: back to detection. FLINT_E_INVALID_ARG for another name. */
flint_status fl_tokenizer_set_chat_family(fl_tokenizer *tok, const char *name);
/* Renders msgs into out (appended). FLINT_E_INVALID_ARG for conversations
 * the family's template rejects (the message says why). */
flint_status fl_chat_render(fl_chat_family fam, const fl_chat_msg *msgs, size_t n, const fl_chat_params *p,
                            fl_tok_text *out);
/* The stop strings of a family (NULL-terminated list). */
const char *const *fl_chat_stop_strings(fl_chat_family fam);

#endif
