/* context.c — the public flint_context: a backend, activation scratch, the
 * KV block pool and one cache (block tables, recurrent state, snapshots)
 * per sequence over a loaded language model. A decode call plans its
 * steps' blocks before running any (FLINT_E_KV_FULL, nothing changed). */
#include <stdlib.h>
#include <string.h>

#include "api/gpu.h"
#include "api/model_file.h"
#include "base/error.h"
#include "base/fpenv.h"
#include "model/model.h"

struct flint_context {
    fl_lm lm;
    fl_backend *be;        /* what params.gpu names; its memory holds the activations */
    fl_placement place;    /* be for every layer, or a CPU backend for the first ones */
    fl_lm_scratch scratch;
    fl_kv_pool pool;
    fl_kv_cache *caches; /* [n_seq] */
    int32_t n_seq, n_ctx;
    int32_t *plan_past, *plan_first; /* [n_seq] a decode call's plan: lengths and first sliding blocks */
    /* one forward step of flint_decode_batch */
    int32_t *step_tokens;  /* [n_batch] */
    fl_span *step_spans;   /* [n_batch] */
    bool *seq_used;        /* [n_seq] */
    char device[288];      /* "cpu" or "vulkan: NAME" */
};

flint_status flint_context_create(flint_model *model, const flint_context_params *params, flint_context **out) {
    if (!model || !out) return fl_errorf(FLINT_E_INVALID_ARG, "flint_context_create: NULL argument");
    *out = NULL;
    flint_context_params p = params ? *params : (flint_context_params){0};
    if (p.n_ctx < 0 || p.n_batch < 0 || p.n_seq < 0 || p.n_seq > 4096 || p.kv_type < 0 || p.kv_type > FLINT_KV_F32 ||
        p.kv_bytes < 0 || p.gpu_layers < FLINT_GPU_LAYERS_NONE || p.gpu_memory < 0)
        return fl_errorf(FLINT_E_INVALID_ARG,
                         "context params out of range (n_ctx %d, n_batch %d, n_seq %d, kv_type %d, kv_bytes %lld, "
                         "gpu_layers %d, gpu_memory %lld)",
                         p.n_ctx, p.n_batch, p.n_seq, p.kv_type, (long long)p.kv_bytes, p.gpu_layers,
                         (long long)p.gpu_memory);
    /* exact: K and V in f32 too, as a float32 reference keeps them, unless asked otherwise */
    if (p.exact && p.kv_type == FLINT_KV_DEFAULT) p.kv_type = FLINT_KV_F32;
    flint_context *c = calloc(1, sizeof *c);
    if (!c) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    /* the backend first: a device that cannot run refuses before the load */
    flint_status st = fl_api_backend_create(&p, &c->be, c->device, sizeof c->device);
    if (!st) st = fl_lm_load(&c->lm, model, fl_model_file_path(model));
    if (!st) st = fl_api_backend_import_store(c->be, model);
    if (!st) {
        int32_t train = c->lm.hp.n_ctx_train > 0 ? c->lm.hp.n_ctx_train : 4096;
        c->n_ctx = p.n_ctx ? p.n_ctx : (train < 4096 ? train : 4096);
        c->n_seq = p.n_seq ? p.n_seq : 1;
        int32_t n_batch = p.n_batch ? p.n_batch : 512;
        if (n_batch > c->n_ctx) n_batch = c->n_ctx;
        st = fl_api_place(&p, &c->lm, c->be, fl_lm_scratch_bytes(c->be, &c->lm.hp, n_batch), c->n_seq, c->n_ctx,
                          &c->place, c->device, sizeof c->device);
        if (!st)
            st = fl_lm_scratch_init(&c->scratch, c->be, &c->lm.hp, n_batch,
                                    fl_lm_host_reads_scratch(&c->lm, &c->place));
        if (!st) {
            c->caches = calloc((size_t)c->n_seq, sizeof *c->caches);
            c->step_tokens = malloc((size_t)n_batch * sizeof *c->step_tokens);
            c->step_spans = malloc((size_t)n_batch * sizeof *c->step_spans);
            c->seq_used = calloc((size_t)c->n_seq, sizeof *c->seq_used);
            c->plan_past = malloc((size_t)c->n_seq * sizeof *c->plan_past);
            c->plan_first = malloc((size_t)c->n_seq * sizeof *c->plan_first);
            if (!c->caches || !c->step_tokens || !c->step_spans || !c->seq_used || !c->plan_past || !c->plan_first)
                st = fl_errorf(FLINT_E_NOMEM, "out of memory");
        }
        if (!st)
            st = fl_kv_pool_init(&c->pool, &c->place, &c->lm.hp, p.kv_type, c->n_seq, c->n_ctx, n_batch, p.kv_bytes);
        for (int32_t i = 0; i < c->n_seq && !st; i++) st = fl_kv_cache_init(&c->caches[i], &c->pool, &c->lm.hp);
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
    fl_kv_pool_free(&c->pool);
    free(c->plan_past);
    free(c->plan_first);
    free(c->step_tokens);
    free(c->step_spans);
    free(c->seq_used);
    fl_lm_scratch_free(&c->scratch);
    /* the backends after the scratch and the pool: their memory */
    if (c->place.host && c->place.host != c->be) c->place.host->ops->free(c->place.host);
    if (c->be) c->be->ops->free(c->be);
    fl_lm_free(&c->lm);
    free(c);
}

int32_t flint_context_n_vocab(const flint_context *c) { return c ? c->lm.hp.n_vocab : 0; }
int32_t flint_context_n_layer(const flint_context *c) { return c ? c->lm.hp.n_layer : 0; }
int32_t flint_context_n_ctx(const flint_context *c) { return c ? c->n_ctx : 0; }
const char *flint_context_device(const flint_context *c) { return c ? c->device : ""; }
int32_t flint_context_gpu_layers(const flint_context *c) {
    if (!c || !strcmp(c->be->ops->name, "cpu")) return 0;
    return c->lm.hp.n_layer - c->place.first_device;
}
uint64_t flint_context_gpu_weight_bytes(const flint_context *c) { return c ? fl_api_gpu_weight_bytes(c->be) : 0; }
double flint_context_read_bandwidth(flint_context *c, uint64_t bytes, int32_t reps) {
    return c && c->be->ops->read_bandwidth ? c->be->ops->read_bandwidth(c->be, bytes, reps) : 0;
}
int32_t flint_context_n_ctx_train(const flint_context *c) { return c ? c->lm.hp.n_ctx_train : 0; }

int32_t flint_context_n_recurrent_layers(const flint_context *c) {
    int32_t n = 0;
    for (int32_t l = 0; c && l < c->lm.hp.n_layer; l++) n += c->lm.hp.layer[l].recurrent;
    return n;
}
uint64_t flint_context_weight_bytes(const flint_context *c) { return c ? c->lm.weight_bytes : 0; }

uint64_t flint_context_cache_bytes(const flint_context *c) {
    uint64_t b = c ? fl_kv_pool_bytes(&c->pool) : 0;
    for (int32_t i = 0; c && i < c->n_seq; i++) b += c->caches[i].bytes;
    return b;
}

int32_t flint_context_kv_block_size(const flint_context *c) { return c ? FL_KV_BLOCK : 0; }
int64_t flint_context_kv_blocks_total(const flint_context *c) { return c ? fl_kv_pool_blocks_total(&c->pool) : 0; }
int64_t flint_context_kv_blocks_free(const flint_context *c) { return c ? fl_kv_pool_blocks_free(&c->pool) : 0; }
uint64_t flint_context_kv_bytes_used(const flint_context *c) { return c ? fl_kv_pool_bytes_used(&c->pool) : 0; }

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
    if (!st) st = fl_kv_cache_truncate(&c->caches[seq], n_keep);
    return st;
}

flint_status flint_seq_fork(flint_context *c, int32_t dst, int32_t src, int32_t n_keep, int32_t *n_reused) {
    int32_t unused;
    if (!n_reused) n_reused = &unused;
    *n_reused = 0;
    flint_status st = check_seq(c, dst);
    if (!st) st = check_seq(c, src);
    if (!st && dst == src) st = fl_errorf(FLINT_E_INVALID_ARG, "flint_seq_fork: sequence %d onto itself", dst);
    if (!st) st = fl_kv_cache_fork(&c->caches[dst], &c->caches[src], n_keep, n_reused);
    return st;
}

flint_status flint_seq_snapshot(flint_context *c, int32_t seq) {
    flint_status st = check_seq(c, seq);
    if (!st) st = fl_kv_snapshot_take(&c->caches[seq]);
    return st;
}

int64_t flint_seq_blocks_needed(const flint_context *c, int32_t seq, int32_t n_new) {
    if (check_seq(c, seq) || n_new < 0) return -1;
    int64_t need[FL_KV_GROUPS];
    fl_kv_cache_need(&c->caches[seq], n_new, need);
    return need[FL_KV_GLOBAL] + need[FL_KV_SLIDING];
}

flint_status flint_seq_copy(flint_context *c, int32_t dst, int32_t src) {
    flint_status st = check_seq(c, dst);
    if (!st) st = check_seq(c, src);
    if (!st && dst != src) st = fl_kv_cache_copy(&c->caches[dst], &c->caches[src]);
    return st;
}

static flint_status plan_blocks(flint_context *c, const flint_batch_seq *in, int32_t n_in);

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
    if (!st) st = plan_blocks(c, in, n_in);
    return st;
}

/* The next forward step of a decode call: entries from in[*e] (its first
 * *done tokens already taken), up to n_batch tokens; an entry may continue
 * into the next step. Tokens are copied only when run. */
static void pack_step(flint_context *c, const flint_batch_seq *in, int32_t n_in, int32_t *e, int32_t *done,
                      fl_batch *b, bool run) {
    const int32_t nb = c->scratch.n_batch;
    *b = (fl_batch){.tokens = c->step_tokens, .spans = c->step_spans};
    while (*e < n_in && b->n < nb) {
        const flint_batch_seq *q = &in[*e];
        int32_t take = q->n_tokens - *done < nb - b->n ? q->n_tokens - *done : nb - b->n;
        bool last = *done + take == q->n_tokens;
        if (run) memcpy(c->step_tokens + b->n, q->tokens + *done, (size_t)take * sizeof *q->tokens);
        c->step_spans[b->n_spans++] = (fl_span){
            .cache = &c->caches[q->seq],
            .n = take,
            .out = q->all_logits > 0 ? FL_OUT_ALL : last && q->all_logits == 0 ? FL_OUT_LAST : FL_OUT_NONE,
        };
        b->n += take;
        *done = last ? 0 : *done + take;
        *e += last;
    }
}

/* Plays the call's steps over the pool's free counts: the blocks each
 * step takes, and the sliding blocks it returns that nothing else holds
 * (blocks shared with a snapshot or another sequence are not counted as
 * returned, so the plan never promises more than the run gets). */
static flint_status plan_blocks(flint_context *c, const flint_batch_seq *in, int32_t n_in) {
    const fl_kv_pool *p = &c->pool;
    int64_t free_g[FL_KV_GROUPS] = {p->g[0].n_free, p->g[1].n_free};
    for (int32_t e = 0; e < n_in; e++) {
        const fl_kv_cache *kc = &c->caches[in[e].seq];
        c->plan_past[in[e].seq] = kc->n_past;
        c->plan_first[in[e].seq] = kc->first[FL_KV_SLIDING];
    }
    for (int32_t e = 0, done = 0; e < n_in;) {
        fl_batch b;
        pack_step(c, in, n_in, &e, &done, &b, false);
        for (int32_t i = 0; i < b.n_spans; i++) {
            const int32_t seq = (int32_t)(b.spans[i].cache - c->caches), past = c->plan_past[seq];
            const int64_t k = (past + b.spans[i].n + FL_KV_BLOCK - 1) / FL_KV_BLOCK - (past + FL_KV_BLOCK - 1) / FL_KV_BLOCK;
            for (int g = 0; g < FL_KV_GROUPS; g++) {
                if (!p->g[g].n_blocks || k <= free_g[g]) {
                    free_g[g] -= p->g[g].n_blocks ? k : 0;
                    continue;
                }
                return fl_errorf(FLINT_E_KV_FULL,
                                 "KV pool full: sequence %d needs %lld new %s blocks for %d tokens at position %d; "
                                 "%lld of %lld are free when its step comes (nothing ran)",
                                 seq, (long long)k, g == FL_KV_GLOBAL ? "global" : "sliding-window",
                                 b.spans[i].n, past, (long long)free_g[g], (long long)p->g[g].n_blocks);
            }
        }
        for (int32_t i = 0; i < b.n_spans; i++) {
            const int32_t seq = (int32_t)(b.spans[i].cache - c->caches);
            const fl_kv_cache *kc = b.spans[i].cache;
            const int32_t held = (kc->n_past + FL_KV_BLOCK - 1) / FL_KV_BLOCK; /* entries below existed before */
            c->plan_past[seq] += b.spans[i].n;
            if (!p->g[FL_KV_SLIDING].n_blocks) continue;
            int32_t lo = fl_kv_sliding_lo(p->keep, c->plan_past[seq]);
            for (int32_t j = c->plan_first[seq]; j < lo; j++)
                free_g[FL_KV_SLIDING] += j >= held || p->g[FL_KV_SLIDING].ref[kc->table[FL_KV_SLIDING][j]] == 1;
            if (lo > c->plan_first[seq]) c->plan_first[seq] = lo;
        }
    }
    return FLINT_OK;
}

static flint_status decode_batch(flint_context *c, const flint_batch_seq *in, int32_t n_in, float *logits) {
    const int64_t V = c->lm.hp.n_vocab;
    for (int32_t e = 0, done = 0; e < n_in;) {
        fl_batch b;
        pack_step(c, in, n_in, &e, &done, &b, true);
        flint_status st = fl_lm_forward_batch(&c->lm, &c->place, &c->scratch, &b, logits);
        if (st) return st;
        if (logits) logits += fl_batch_n_out(&b) * V;
    }
    return FLINT_OK;
}

flint_status flint_decode_batch(flint_context *c, const flint_batch_seq *in, int32_t n_in, float *logits) {
    flint_status st = check_batch(c, in, n_in);
    if (st) return st;
    bool wants_logits = false;
    for (int32_t e = 0; e < n_in; e++) wants_logits |= in[e].all_logits >= 0;
    if (!logits && wants_logits) return fl_errorf(FLINT_E_INVALID_ARG, "flint_decode_batch: no output");
    fl_fpenv caller = fl_fpenv_flush_denormals();
    st = decode_batch(c, in, n_in, logits);
    fl_fpenv_restore(caller);
    return st;
}

flint_status flint_decode(flint_context *c, int32_t seq, const int32_t *tokens, int32_t n, float *logits, int all_logits) {
    flint_batch_seq one = {.seq = seq, .tokens = tokens, .n_tokens = n, .all_logits = all_logits};
    return flint_decode_batch(c, &one, 1, logits);
}
