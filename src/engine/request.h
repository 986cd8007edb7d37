/* request.h — one request inside the engine: what was asked (copied at
 * submit), the tokens its sequence must hold, and what it has produced
 * and not yet handed out. request.c turns a flint_request into this and
 * handles each sampled token (end of turn, stop tokens and strings,
 * max_tokens, logprobs, whole-UTF-8 text); engine.c schedules it. */
#ifndef FL_ENGINE_REQUEST_H
#define FL_ENGINE_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/stop.h"
#include "flint.h"
#include "tokenizer/tokenizer.h"

/* Output produced and not yet delivered (a poll's or a callback's event). */
typedef struct fl_req_out {
    fl_tok_text text;
    int32_t *tokens;
    float *logprobs;
    flint_token_logprob *top; /* [n][n_top] */
    int32_t n, cap;
} fl_req_out;

typedef struct fl_req {
    uint64_t id;
    struct fl_req *next;  /* the engine's list of live requests */
    struct fl_req *wnext; /* its queue of waiting ones */
    flint_event_fn on_event;
    void *user;

    /* the limits and options asked for */
    int32_t max_tokens;  /* <= 0: until end of turn or a full context */
    int32_t n_ctx;       /* the sequence holds at most this many positions */
    bool ignore_eos;
    bool logprobs;
    int32_t n_top;
    int32_t *stop_tokens;
    int32_t n_stop_tokens;

    /* tokens the sequence must hold: the prompt, then each generated token
     * (the last one is decoded in the next step) */
    fl_tok_ids toks;
    int32_t n_prompt;
    int32_t n_done;      /* tokens of toks the sequence holds */
    int32_t seq;         /* the context's sequence, -1 while waiting */
    int32_t n_gen;
    int32_t cached;      /* prompt tokens reused from the engine's cache */
    int64_t admit_order; /* preemption takes the newest */

    flint_sampler *smp;
    fl_tok_stream stream;
    fl_tok_text piece;   /* the text of the last token (reused, not reallocated per token) */
    fl_stop stop;

    /* the end (set once) */
    flint_finish_reason finish;
    flint_status error;
    char *error_msg;
    const char *stop_hit; /* the stop string that matched (owned by stop) */
    bool cancel;          /* asked for; the scheduler acts on it between steps (guarded) */
    bool ended;           /* the end was delivered (guarded by the engine's lock; finish is
                             the scheduler's own until then) */

    double t_submit, t_admit, t_first, t_last;
    fl_req_out fresh;     /* this step's output (the scheduler's thread only) */
    fl_req_out pending;   /* produced, not yet delivered (guarded by the engine's lock) */
    fl_req_out delivered; /* what the last poll handed out (its pointers stay valid) */
    flint_usage usage;
} fl_req;

/* Checks a request and builds its state: the prompt rendered and
 * tokenized, the sampler, the stop strings. n_vocab: the real vocabulary
 * (padding rows are never sampled). */
flint_status fl_req_create(const flint_request *r, const flint_tokenizer *tok, int32_t n_vocab, int32_t n_ctx,
                           fl_req **out);
void fl_req_free(fl_req *q);

/* Handles the logits after the request's last token: checks they are
 * finite, samples, records the token and its log-probabilities, feeds the
 * text through the stop strings into out, and sets q->finish when the
 * request ends. Returns the sampled token. */
int32_t fl_req_step(fl_req *q, const fl_tokenizer *tok, const float *logits, int32_t n_vocab, fl_req_out *out);
/* Ends the request (once): reason, and for errors the status and message.
 * Text held back by the stream decoder or the stop strings is released
 * into out unless a stop string matched. */
void fl_req_finish(fl_req *q, flint_finish_reason why, flint_status error, const char *msg, fl_req_out *out);

/* Appends n tokens, their log-probabilities (may be NULL), their top
 * alternatives ([n][n_top], may be NULL) and text[0..len); false when out
 * of memory. */
bool fl_req_out_push(fl_req_out *o, const int32_t *tokens, const float *logprobs, const flint_token_logprob *top,
                     int32_t n, int32_t n_top, const char *text, size_t len);
/* Appends src to dst; false when out of memory. */
bool fl_req_out_append(fl_req_out *dst, const fl_req_out *src, int32_t n_top);
void fl_req_out_clear(fl_req_out *o);
void fl_req_out_free(fl_req_out *o);

#endif
