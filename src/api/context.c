/* context.c — the public flint_context: a backend, activation scratch and
 * one KV cache per sequence over a loaded language model. */
#include <stdlib.h>
#include <string.h>

#include "api/model_file.h"
#include "base/error.h"
#include "cpu/cpu.h"
#include "model/model.h"

struct flint_context {
    fl_lm lm;
    fl_backend *be;
    fl_lm_scratch scratch;
    fl_kv_cache *caches; /* [n_seq] */
    int32_t n_seq, n_ctx;
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
        if (!st) st = fl_lm_scratch_init(&c->scratch, &c->lm.hp, n_batch);
        if (!st && !(c->caches = calloc((size_t)c->n_seq, sizeof *c->caches)))
            st = fl_errorf(FLINT_E_NOMEM, "out of memory");
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

flint_status flint_decode(flint_context *c, int32_t seq, const int32_t *tokens, int32_t n, float *logits, int all_logits) {
    flint_status st = check_seq(c, seq);
    if (st) return st;
    if (!tokens || !logits || n <= 0) return fl_errorf(FLINT_E_INVALID_ARG, "flint_decode: no tokens or no output");
    int64_t V = c->lm.hp.n_vocab;
    for (int32_t i = 0; i < n; i += c->scratch.n_batch) {
        int32_t m = n - i < c->scratch.n_batch ? n - i : c->scratch.n_batch;
        bool last = i + m == n;
        if (!all_logits && !last) {
            /* earlier chunks only fill the cache; their last row of logits is scratch */
            st = fl_lm_forward(&c->lm, c->be, &c->scratch, &c->caches[seq], tokens + i, m, logits, false);
        } else {
            st = fl_lm_forward(&c->lm, c->be, &c->scratch, &c->caches[seq], tokens + i, m,
                               all_logits ? logits + (int64_t)i * V : logits, all_logits != 0);
        }
        if (st) return st;
    }
    return FLINT_OK;
}
