/* request.c — a request's own logic, apart from scheduling: checking and
 * copying what was asked, building the prompt's tokens, and what happens
 * to each sampled token (see request.h). */
#define _POSIX_C_SOURCE 200809L
#include "engine/request.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/tokenizer.h"
#include "base/clock.h"
#include "base/error.h"

#define MAX_TOP_LOGPROBS 20

static flint_status prompt_tokens(const flint_request *r, const flint_tokenizer *pub, fl_tok_ids *out) {
    const fl_tokenizer *tok = fl_tokenizer_of(pub);
    int given = (r->prompt != NULL) + (r->prompt_tokens != NULL || r->n_prompt_tokens > 0) + (r->messages != NULL);
    if (given != 1)
        return fl_errorf(FLINT_E_INVALID_ARG, "a request needs exactly one of a text prompt, prompt tokens or messages");
    if (!tok && (r->prompt || r->messages))
        return fl_errorf(FLINT_E_UNSUPPORTED, "the model has no tokenizer: give the prompt as token ids");
    if (r->prompt)
        return fl_tokenize(tok, r->prompt, strlen(r->prompt), FL_TOK_ADD_BOS | FL_TOK_PARSE_SPECIAL, out);
    if (r->messages) {
        fl_tok_text text = {0};
        flint_status st = fl_chat_render_public(tok, r->messages, r->n_messages, &r->chat, &text);
        if (!st) st = fl_tokenize(tok, text.s ? text.s : "", text.n, FL_TOK_PARSE_SPECIAL, out);
        fl_tok_text_free(&text);
        return st;
    }
    if (!r->prompt_tokens || r->n_prompt_tokens <= 0)
        return fl_errorf(FLINT_E_INVALID_ARG, "prompt_tokens: %d tokens", r->n_prompt_tokens);
    out->ids = malloc((size_t)r->n_prompt_tokens * sizeof *out->ids);
    if (!out->ids) return fl_errorf(FLINT_E_NOMEM, "out of memory for %d prompt tokens", r->n_prompt_tokens);
    memcpy(out->ids, r->prompt_tokens, (size_t)r->n_prompt_tokens * sizeof *out->ids);
    out->n = out->cap = (size_t)r->n_prompt_tokens;
    return FLINT_OK;
}

static flint_status check_options(const flint_request *r, int32_t n_vocab) {
    if (r->n_stop < 0 || (r->n_stop > 0 && !r->stop))
        return fl_errorf(FLINT_E_INVALID_ARG, "stop: %d strings", r->n_stop);
    for (int32_t i = 0; i < r->n_stop; i++)
        if (!r->stop[i] || !r->stop[i][0]) return fl_errorf(FLINT_E_INVALID_ARG, "stop: string %d is empty", i);
    if (r->n_stop_tokens < 0 || (r->n_stop_tokens > 0 && !r->stop_tokens))
        return fl_errorf(FLINT_E_INVALID_ARG, "stop_tokens: %d ids", r->n_stop_tokens);
    for (int32_t i = 0; i < r->n_stop_tokens; i++)
        if (r->stop_tokens[i] < 0 || r->stop_tokens[i] >= n_vocab)
            return fl_errorf(FLINT_E_INVALID_ARG, "stop_tokens: id %d is outside the vocabulary of %d",
                             r->stop_tokens[i], n_vocab);
    if (r->top_logprobs < 0 || r->top_logprobs > MAX_TOP_LOGPROBS)
        return fl_errorf(FLINT_E_INVALID_ARG, "top_logprobs: %d (0..%d)", r->top_logprobs, MAX_TOP_LOGPROBS);
    if (r->top_logprobs > 0 && !r->logprobs)
        return fl_errorf(FLINT_E_INVALID_ARG, "top_logprobs needs logprobs");
    if (r->max_tokens < -1) return fl_errorf(FLINT_E_INVALID_ARG, "max_tokens: %d", r->max_tokens);
    return FLINT_OK;
}

flint_status fl_req_create(const flint_request *r, const flint_tokenizer *tok, int32_t n_vocab, int32_t n_ctx,
                           fl_req **out) {
    *out = NULL;
    if (!r) return fl_errorf(FLINT_E_INVALID_ARG, "NULL request");
    flint_status st = check_options(r, n_vocab);
    if (st) return st;
    fl_req *q = calloc(1, sizeof *q);
    if (!q) return fl_errorf(FLINT_E_NOMEM, "out of memory for a request");
    q->seq = -1;
    q->on_event = r->on_event;
    q->user = r->user;
    q->max_tokens = r->max_tokens > 0 ? r->max_tokens : 0;
    q->n_ctx = n_ctx;
    q->ignore_eos = r->ignore_eos != 0;
    q->logprobs = r->logprobs != 0;
    q->n_top = r->top_logprobs;
    q->t_submit = fl_now_seconds();
    st = prompt_tokens(r, tok, &q->toks);
    if (!st && q->toks.n == 0) st = fl_errorf(FLINT_E_INVALID_ARG, "the prompt has no tokens");
    for (size_t i = 0; !st && i < q->toks.n; i++)
        if (q->toks.ids[i] < 0 || q->toks.ids[i] >= n_vocab)
            st = fl_errorf(FLINT_E_INVALID_ARG, "prompt token %zu: id %d is outside the vocabulary of %d", i,
                           q->toks.ids[i], n_vocab);
    if (!st && (int64_t)q->toks.n >= n_ctx)
        st = fl_errorf(FLINT_E_INVALID_ARG, "the prompt has %zu tokens; the context holds %d (prompt and output)",
                       q->toks.n, n_ctx);
    q->n_prompt = (int32_t)q->toks.n;
    if (!st && r->n_stop_tokens) {
        q->stop_tokens = malloc((size_t)r->n_stop_tokens * sizeof *q->stop_tokens);
        if (!q->stop_tokens) st = fl_errorf(FLINT_E_NOMEM, "out of memory");
        else memcpy(q->stop_tokens, r->stop_tokens, (size_t)r->n_stop_tokens * sizeof *q->stop_tokens);
        q->n_stop_tokens = r->n_stop_tokens;
    }
    if (!st && r->n_stop > 0 && !tok)
        st = fl_errorf(FLINT_E_UNSUPPORTED, "the model has no tokenizer: stop strings cannot be matched");
    if (!st) st = fl_stop_init(&q->stop, r->stop, (size_t)(r->n_stop > 0 ? r->n_stop : 0));
    if (!st) st = flint_sampler_create(&r->sampling, n_vocab, &q->smp);
    if (st) {
        fl_req_free(q);
        return st;
    }
    /* the penalties see the prompt, as llama.cpp's do */
    for (size_t i = 0; i < q->toks.n; i++) flint_sampler_accept(q->smp, q->toks.ids[i]);
    if (tok) fl_tok_stream_init(&q->stream, fl_tokenizer_of(tok), r->special_text ? FL_DETOK_SPECIAL : 0);
    *out = q;
    return FLINT_OK;
}

void fl_req_out_clear(fl_req_out *o) {
    o->text.n = 0;
    if (o->text.s) o->text.s[0] = '\0';
    o->n = 0;
}

void fl_req_out_free(fl_req_out *o) {
    fl_tok_text_free(&o->text);
    free(o->tokens);
    free(o->logprobs);
    free(o->top);
    memset(o, 0, sizeof *o);
}

static bool out_reserve(fl_req_out *o, int32_t n, int32_t n_top) {
    if (n <= o->cap) return true;
    int32_t cap = o->cap ? o->cap : 8;
    while (cap < n) cap *= 2;
    int32_t *t = realloc(o->tokens, (size_t)cap * sizeof *t);
    if (t) o->tokens = t;
    float *l = realloc(o->logprobs, (size_t)cap * sizeof *l);
    if (l) o->logprobs = l;
    flint_token_logprob *p = n_top ? realloc(o->top, (size_t)cap * (size_t)n_top * sizeof *p) : o->top;
    if (p) o->top = p;
    if (!t || !l || (n_top && !p)) return false;
    o->cap = cap;
    return true;
}

bool fl_req_out_push(fl_req_out *o, const int32_t *tokens, const float *logprobs, const flint_token_logprob *top,
                     int32_t n, int32_t n_top, const char *text, size_t len) {
    if (!out_reserve(o, o->n + n, n_top)) return false;
    if (len && fl_tok_text_append(&o->text, text, len)) return false;
    if (n) memcpy(o->tokens + o->n, tokens, (size_t)n * sizeof *tokens);
    if (n && logprobs) memcpy(o->logprobs + o->n, logprobs, (size_t)n * sizeof *logprobs);
    if (n && n_top && top) memcpy(o->top + (size_t)o->n * n_top, top, (size_t)n * n_top * sizeof *top);
    o->n += n;
    return true;
}

bool fl_req_out_append(fl_req_out *dst, const fl_req_out *src, int32_t n_top) {
    return fl_req_out_push(dst, src->tokens, src->logprobs, src->top, src->n, n_top, src->text.s, src->text.n);
}

void fl_req_free(fl_req *q) {
    if (!q) return;
    fl_tok_ids_free(&q->toks);
    free(q->stop_tokens);
    free(q->error_msg);
    fl_stop_free(&q->stop);
    fl_tok_text_free(&q->piece);
    flint_sampler_free(q->smp);
    fl_req_out_free(&q->fresh);
    fl_req_out_free(&q->pending);
    fl_req_out_free(&q->delivered);
    free(q);
}

void fl_req_finish(fl_req *q, flint_finish_reason why, flint_status error, const char *msg, fl_req_out *out) {
    if (q->finish) return;
    q->finish = why;
    q->error = error;
    if (msg) q->error_msg = strdup(msg);
    if (why != FLINT_FINISH_ERROR && !q->stop_hit) {
        /* nothing more comes: what the decoder and the stop strings held back is text */
        if (q->stream.tok) fl_tok_stream_flush(&q->stream, &out->text);
        if (fl_stop_flush(&q->stop, &out->text)) q->stop_hit = fl_stop_matched(&q->stop);
    }
}

static bool is_stop_token(const fl_req *q, const fl_tokenizer *tok, int32_t t) {
    if (tok && !q->ignore_eos && fl_tokenizer_is_stop(tok, t)) return true;
    for (int32_t i = 0; i < q->n_stop_tokens; i++)
        if (q->stop_tokens[i] == t) return true;
    return false;
}

int32_t fl_req_step(fl_req *q, const fl_tokenizer *tok, const float *logits, int32_t n_vocab, fl_req_out *out) {
    for (int32_t i = 0; i < n_vocab; i++)
        if (!isfinite(logits[i])) {
            char msg[160];
            snprintf(msg, sizeof msg, "the model produced a non-finite logit (%s for token %d) at position %zu",
                     isnan(logits[i]) ? "NaN" : "Inf", i, q->toks.n - 1);
            fl_req_finish(q, FLINT_FINISH_ERROR, FLINT_E_NUMERIC, msg, out);
            return -1;
        }
    int32_t t = flint_sampler_sample(q->smp, logits);
    if (t < 0) {
        fl_req_finish(q, FLINT_FINISH_ERROR, FLINT_E_INVALID_ARG,
                      "no token can be chosen: the logit bias bans every token the model allows", out);
        return -1;
    }
    flint_sampler_accept(q->smp, t);
    if (!out_reserve(out, out->n + 1, q->n_top) || fl_tok_push(&q->toks, t)) {
        fl_req_finish(q, FLINT_FINISH_ERROR, FLINT_E_NOMEM, "out of memory for the output", out);
        return -1;
    }
    out->tokens[out->n] = t;
    out->logprobs[out->n] = 0;
    if (q->logprobs)
        flint_sampler_logprobs(q->smp, logits, t, q->n_top, &out->logprobs[out->n],
                               q->n_top ? out->top + (size_t)out->n * q->n_top : NULL);
    out->n++;
    q->n_gen++;
    double now = fl_now_seconds();
    if (q->n_gen == 1) q->t_first = now;
    q->t_last = now;

    if (is_stop_token(q, tok, t)) {
        fl_req_finish(q, FLINT_FINISH_STOP, FLINT_OK, NULL, out);
        return t;
    }
    fl_tok_text *piece = &q->piece;
    piece->n = 0;
    flint_status st = tok ? fl_tok_stream_push(&q->stream, t, piece) : FLINT_OK;
    if (!st && piece->n && fl_stop_feed(&q->stop, piece->s, piece->n, &out->text)) {
        q->stop_hit = fl_stop_matched(&q->stop);
        fl_req_finish(q, FLINT_FINISH_STOP, FLINT_OK, NULL, out);
    }
    if (st) fl_req_finish(q, FLINT_FINISH_ERROR, st, flint_errmsg(), out);
    else if ((q->max_tokens && q->n_gen >= q->max_tokens) || (int64_t)q->toks.n >= q->n_ctx)
        fl_req_finish(q, FLINT_FINISH_LENGTH, FLINT_OK, NULL, out);
    return t;
}
