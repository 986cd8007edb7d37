/* context.c — the public flint_context: a backend, activation scratch and
 * one KV cache per sequence over a loaded language model. */
#include <stdlib.h>
#include <string.h>

#include "api/model_file.h"
#include "base/error.h"
#include "base/fpenv.h"
#include "cpu/cpu.h"
#include "model/model.h"

struct flint_context {
    fl_lm lm;
    fl_backend *be;
    fl_lm_scratch scratch;
    fl_kv_cache *caches; /* [n_seq] */
    int32_t n_seq, n_ctx;
    /* one forward step of flint_decode_batch */
    int32_t *step_tokens;  /* [n_batch] */
    fl_span *step_spans;   /* [n_batch] */
    bool *seq_used;        /* [n_seq] */
};

flint_status flint_context_create(flint_model *model, const flint_context_params *params, flint_context **out) {
    if (!model || !out) return fl_errorf(FLINT_E_INVALID_ARG, "flint_context_create: NULL argument");
    *out = NULL;
    flint_context_params p = params ? *params : (flint_context_params){0};
    if (p.n_ctx < 0 || p.n_batch < 0 || p.n_seq < 0 || p.n_seq > 4096)
        return fl_errorf(FLINT_E_INVALID_ARG, "context params out of range (n_ctx %d, n_batch %d, n_seq %d)", p.n_ctx,
                         p.n_batch, p.n_seq);
    flint_context *c = calloc(1, sizeof *c);
    if (!c) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    flint_status st = fl_lm_load(&c->lm, model, fl_model_file_path(model));
    if (!st) {
        int32_t train = c->lm.hp.n_ctx_train > 0 ? c->lm.hp.n_ctx_train : 4096;
        c->n_ctx = p.n_ctx ? p.n_ctx : (train < 4096 ? train : 4096);
        c->n_seq = p.n_seq ? p.n_seq : 1;
        int32_t n_batch = p.n_batch ? p.n_batch : 512;
        if (n_batch > c->n_ctx) n_batch = c->n_ctx;
        st = fl_cpu_backend_create(p.n_threads, FL_ISA_AUTO, &c->be);
        if (!st) fl_cpu_backend_set_deterministic(c->be, p.deterministic != 0);
        if (!st) st = fl_lm_scratch_init(&c->scratch, &c->lm.hp, n_batch);
        if (!st) {
            c->caches = calloc((size_t)c->n_seq, sizeof *c->caches);
            c->step_tokens = malloc((size_t)n_batch * sizeof *c->step_tokens);
            c->step_spans = malloc((size_t)n_batch * sizeof *c->step_spans);
            c->seq_used = calloc((size_t)c->n_seq, sizeof *c->seq_used);
            if (!c->caches || !c->step_tokens || !c->step_spans || !c->seq_used)
                st = fl_errorf(FLINT_E_NOMEM, "out of memory");
        }
        for (int32_t i = 0; i < c->n_seq && !st; i++) st = fl_kv_cache_init(&c->caches[i], &c->lm.hp, c->n_ctx, n_batch);
    }
    if (st) {
        flint_context_free(c);
        return st;
    }
    *out = c;
    return FLINT_OK;
}

void flint_context_free(flint_context *c) {
    if (!c) return;
    for (int32_t i = 0; c->caches && i < c->n_seq; i++) fl_kv_cache_free(&c->caches[i]);
    free(c->caches);
    free(c->step_tokens);
    free(c->step_spans);
    free(c->seq_used);
    fl_lm_scratch_free(&c->scratch);
    if (c->be) c->be->ops->free(c->be);
    fl_lm_free(&c->lm);
    free(c);
}

int32_t flint_context_n_vocab(const flint_context *c) { return c ? c->lm.hp.n_vocab : 0; }
int32_t flint_context_n_ctx(const flint_context *c) { return c ? c->n_ctx : 0; }
uint64_t flint_context_weight_bytes(const flint_context *c) { return c ? c->lm.weight_bytes : 0; }

uint64_t flint_context_cache_bytes(const flint_context *c) {
    uint64_t b = 0;
    for (int32_t i = 0; c && i < c->n_seq; i++) b += c->caches[i].bytes;
    return b;
}

static flint_status check_seq(const flint_context *c, int32_t seq) {
    if (!c) return fl_errorf(FLINT_E_INVALID_ARG, "NULL context");
    if (seq < 0 || seq >= c->n_seq)
        return fl_errorf(FLINT_E_INVALID_ARG, "sequence %d does not exist (the context has %d)", seq, c->n_seq);
    return FLINT_OK;
}

int32_t flint_context_n_past(const flint_context *c, int32_t seq) {
    return check_seq(c, seq) == FLINT_OK ? c->caches[seq].n_past : 0;
}

flint_status flint_seq_reset(flint_context *c, int32_t seq) {
    flint_status st = check_seq(c, seq);
    if (!st) fl_kv_cache_reset(&c->caches[seq]);
    return st;
}

flint_status flint_seq_truncate(flint_context *c, int32_t seq, int32_t n_keep) {
    flint_status st = check_seq(c, seq);
    if (!st) st = fl_kv_cache_truncate(&c->caches[seq], n_keep, c->lm.hp.sliding_window);
    return st;
}

flint_status flint_seq_copy(flint_context *c, int32_t dst, int32_t src) {
    flint_status st = check_seq(c, dst);
    if (!st) st = check_seq(c, src);
    if (!st && dst != src) st = fl_kv_cache_copy(&c->caches[dst], &c->caches[src]);
    return st;
}

/* Every entry of a batch, before anything runs: an error leaves all the
 * sequences as they were. */
static flint_status check_batch(flint_context *c, const flint_batch_seq *in, int32_t n_in) {
    if (!c) return fl_errorf(FLINT_E_INVALID_ARG, "NULL context");
    if (!in || n_in <= 0) return fl_errorf(FLINT_E_INVALID_ARG, "flint_decode_batch: no sequences");
    flint_status st = FLINT_OK;
    memset(c->seq_used, 0, (size_t)c->n_seq * sizeof *c->seq_used);
    for (int32_t e = 0; e < n_in && !st; e++) {
        const flint_batch_seq *q = &in[e];
        if ((st = check_seq(c, q->seq))) break;
        if (c->seq_used[q->seq]) st = fl_errorf(FLINT_E_INVALID_ARG, "sequence %d appears twice in one batch", q->seq);
        else if (!q->tokens || q->n_tokens <= 0)
            st = fl_errorf(FLINT_E_INVALID_ARG, "batch entry %d (sequence %d) has no tokens", e, q->seq);
        else if (q->n_tokens > c->n_ctx - c->caches[q->seq].n_past)
            st = fl_errorf(FLINT_E_INVALID_ARG, "context full: sequence %d holds %d positions, %d more exceed %d",
                           q->seq, c->caches[q->seq].n_past, q->n_tokens, c->n_ctx);
        if (!st) st = fl_lm_check_tokens(&c->lm, q->tokens, q->n_tokens);
        c->seq_used[q->seq] = true;
    }
    return st;
}

static flint_status decode_batch(flint_context *c, const flint_batch_seq *in, int32_t n_in, float *logits) {
    const int32_t nb = c->scratch.n_batch;
    const int64_t V = c->lm.hp.n_vocab;
    /* steps of up to n_batch tokens; an entry may continue into the next step */
    for (int32_t e = 0, done = 0; e < n_in;) {
        fl_batch b = {.tokens = c->step_tokens, .spans = c->step_spans};
        while (e < n_in && b.n < nb) {
            const flint_batch_seq *q = &in[e];
            int32_t take = q->n_tokens - done < nb - b.n ? q->n_tokens - done : nb - b.n;
            bool last = done + take == q->n_tokens;
            memcpy(c->step_tokens + b.n, q->tokens + done, (size_t)take * sizeof *q->tokens);
            c->step_spans[b.n_spans++] = (fl_span){
                .cache = &c->caches[q->seq],
                .n = take,
                .out = q->all_logits ? FL_OUT_ALL : last ? FL_OUT_LAST : FL_OUT_NONE,
            };
            b.n += take;
            done = last ? 0 : done + take;
            e += last;
        }
        flint_status st = fl_lm_forward_batch(&c->lm, c->be, &c->scratch, &b, logits);
        if (st) return st;
        logits += fl_batch_n_out(&b) * V;
    }
    return FLINT_OK;
}

flint_status flint_decode_batch(flint_context *c, const flint_batch_seq *in, int32_t n_in, float *logits) {
    flint_status st = check_batch(c, in, n_in);
    if (st) return st;
    if (!logits) return fl_errorf(FLINT_E_INVALID_ARG, "flint_decode_batch: no output");
    fl_fpenv caller = fl_fpenv_flush_denormals();
    st = decode_batch(c, in, n_in, logits);
    fl_fpenv_restore(caller);
    return st;
}

flint_status flint_decode(flint_context *c, int32_t seq, const int32_t *tokens, int32_t n, float *logits, int all_logits) {
    flint_batch_seq one = {.seq = seq, .tokens = tokens, .n_tokens = n, .all_logits = all_logits};
    return flint_decode_batch(c, &one, 1, logits);
}
