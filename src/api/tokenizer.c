/* tokenizer.c — the public flint_tokenizer and chat-template API: thin
 * wrappers over tokenizer/ with the header's buffer protocol (write what
 * fits, report the full size). flint_tokenizer is fl_tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "api/model_file.h"
#include "base/error.h"
#include "api/tokenizer.h"

struct flint_tokenizer {
    fl_tokenizer *tok;
};

flint_status flint_tokenizer_load(const flint_model *model, flint_tokenizer **out) {
    if (!model || !out) return fl_errorf(FLINT_E_INVALID_ARG, "flint_tokenizer_load: NULL argument");
    *out = NULL;
    flint_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    flint_status st = fl_tokenizer_load(fl_model_file_path(model), &t->tok);
    if (st) {
        free(t);
        return st;
    }
    *out = t;
    return FLINT_OK;
}

void flint_tokenizer_free(flint_tokenizer *t) {
    if (!t) return;
    fl_tokenizer_free(t->tok);
    free(t);
}

/* the internal tokenizer behind a public handle (for engine/) */
const fl_tokenizer *fl_tokenizer_of(const flint_tokenizer *t) { return t ? t->tok : NULL; }

int32_t flint_tokenizer_n_vocab(const flint_tokenizer *t) { return t ? fl_tokenizer_n_vocab(t->tok) : 0; }

flint_status flint_tokenize(const flint_tokenizer *t, const char *text, size_t len, uint32_t flags, int32_t *ids,
                            size_t cap, size_t *n_ids) {
    if (!t || (!text && len) || (!ids && cap) || !n_ids)
        return fl_errorf(FLINT_E_INVALID_ARG, "flint_tokenize: NULL argument");
    unsigned f = (flags & FLINT_TOKENIZE_ADD_BOS ? FL_TOK_ADD_BOS : 0) |
                 (flags & FLINT_TOKENIZE_SPECIAL ? FL_TOK_PARSE_SPECIAL : 0);
    fl_tok_ids v = {0};
    flint_status st = fl_tokenize(t->tok, text ? text : "", len, f, &v);
    if (!st) {
        *n_ids = v.n;
        if (v.n && cap) memcpy(ids, v.ids, (v.n < cap ? v.n : cap) * sizeof *ids);
    }
    fl_tok_ids_free(&v);
    return st;
}

/* Copies what fits of s[0..n) into out[0..cap), NUL-terminated when it fits. */
static void copy_out(const char *s, size_t n, char *out, size_t cap, size_t *len) {
    *len = n;
    if (!cap) return;
    size_t k = n < cap ? n : cap;
    if (k) memcpy(out, s, k);
    if (n < cap) out[n] = '\0';
}

flint_status flint_detokenize(const flint_tokenizer *t, const int32_t *ids, size_t n, uint32_t flags, char *text,
                              size_t cap, size_t *len) {
    if (!t || (!ids && n) || (!text && cap) || !len)
        return fl_errorf(FLINT_E_INVALID_ARG, "flint_detokenize: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= fl_tokenizer_n_vocab(t->tok))
            return fl_errorf(FLINT_E_INVALID_ARG, "token id %d is outside the vocabulary of %d", ids[i],
                             fl_tokenizer_n_vocab(t->tok));
    fl_tok_text s = {0};
    flint_status st = fl_detokenize(t->tok, ids, n, flags & FLINT_DETOKENIZE_SPECIAL ? FL_DETOK_SPECIAL : 0, &s);
    if (!st) copy_out(s.s ? s.s : "", s.n, text, cap, len);
    fl_tok_text_free(&s);
    return st;
}

const char *flint_token_piece(const flint_tokenizer *t, int32_t id, size_t *len) {
    size_t n = 0;
    const char *p = t ? fl_tokenizer_piece(t->tok, id, &n) : NULL;
    if (len) *len = p ? n : 0;
    return p;
}

int32_t flint_token_find(const flint_tokenizer *t, const char *piece, size_t len) {
    return t && piece ? fl_tokenizer_find(t->tok, piece, len) : -1;
}
int32_t flint_token_bos(const flint_tokenizer *t) { return t ? fl_tokenizer_bos(t->tok) : -1; }
int32_t flint_token_eos(const flint_tokenizer *t) { return t ? fl_tokenizer_eos(t->tok) : -1; }
int flint_token_is_end_of_turn(const flint_tokenizer *t, int32_t id) { return t && fl_tokenizer_is_stop(t->tok, id); }

flint_status flint_chat_template_set(flint_tokenizer *t, const char *name) {
    if (!t) return fl_errorf(FLINT_E_INVALID_ARG, "flint_chat_template_set: NULL tokenizer");
    return fl_tokenizer_set_chat_family(t->tok, name);
}

const char *flint_chat_template_name(const flint_tokenizer *t) {
    switch (t ? fl_tokenizer_chat_family(t->tok) : FL_CHAT_NONE) {
    case FL_CHAT_GEMMA: return "gemma";
    case FL_CHAT_GEMMA4: return "gemma4";
    case FL_CHAT_CHATML: return "chatml";
    default: return NULL;
    }
}

flint_status fl_chat_render_public(const fl_tokenizer *tok, const flint_chat_message *msgs, int32_t n,
                                   const flint_chat_params *params, fl_tok_text *out) {
    fl_chat_family fam = fl_tokenizer_chat_family(tok);
    if (fam == FL_CHAT_NONE) return fl_errorf(FLINT_E_UNSUPPORTED, "the model has no chat template flint knows");
    if (n <= 0 || !msgs) return fl_errorf(FLINT_E_INVALID_ARG, "a chat needs at least one message");
    for (int32_t i = 0; i < n; i++) {
        if (!msgs[i].role) return fl_errorf(FLINT_E_INVALID_ARG, "message %d has no role", i);
        if (msgs[i].n_tool_calls < 0 || (msgs[i].n_tool_calls && !msgs[i].tool_calls))
            return fl_errorf(FLINT_E_INVALID_ARG, "message %d: %d tool calls", i, msgs[i].n_tool_calls);
    }
    flint_chat_params p = params ? *params : (flint_chat_params){0};
    int32_t bos = fl_tokenizer_bos(tok);
    fl_chat_params cp = {
        .add_generation_prompt = !p.no_generation_prompt,
        .enable_thinking = p.thinking > 0 ? 1 : p.thinking < 0 ? 0 : -1,
        .tools = p.tools,
        .bos = bos >= 0 && fl_tokenizer_add_bos(tok) ? fl_tokenizer_piece(tok, bos, NULL) : NULL,
    };
    return fl_chat_render(fam, msgs, (size_t)n, &cp, out);
}

flint_status flint_chat_render(const flint_tokenizer *t, const flint_chat_message *msgs, int32_t n,
                               const flint_chat_params *params, char *out, size_t cap, size_t *len) {
    if (!t || (!out && cap) || !len) return fl_errorf(FLINT_E_INVALID_ARG, "flint_chat_render: NULL argument");
    fl_tok_text s = {0};
    flint_status st = fl_chat_render_public(t->tok, msgs, n, params, &s);
    if (!st) copy_out(s.s ? s.s : "", s.n, out, cap, len);
    fl_tok_text_free(&s);
    return st;
}
