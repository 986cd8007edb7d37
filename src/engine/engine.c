/* engine.c — the engine: requests in, one scheduler thread, events out.
 *
 * Threads. flint_engine_submit/cancel/poll/stats run on the callers'
 * threads and touch only what the lock guards: the list of live requests,
 * their cancel flags and their undelivered output, the counters. The
 * scheduler thread alone owns the context, the sequences and everything
 * else in a running request, and runs each forward step without the lock.
 *
 * A step. Every running request that is decoding contributes its one
 * token; then the requests still in their prompt take chunks, oldest
 * first, until the step's token budget is spent (chunked prefill: a long
 * prompt never stalls the streams). A prompt chunk that does not finish
 * its prompt ends on a KV block boundary where it can, so that a snapshot
 * taken there lets later requests restore that prefix; in models with
 * recurrent layers, whose state restores only where a snapshot was taken,
 * prompt chunks also end every snapshot_interval positions, each leaving a
 * snapshot. Every prompt leaves one at its end. Before a step runs,
 * the KV blocks it needs are counted; if the pool cannot hold them, cached
 * sequences are dropped first (least recently used), then the newest
 * running request is preempted: its sequence is freed and it waits again
 * with its prompt and output so far, computed afresh when readmitted.
 *
 * Sequences. The context has n_slots + n_cache sequences. A running
 * request holds one; a finished request's sequence stays as a cache entry
 * (its tokens kept beside it) until it is the least recently used one and
 * a sequence is needed. A new request forks from the sequence — running
 * or cached — that restores the longest prefix of its tokens (admit). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/tokenizer.h"
#include "base/clock.h"
#include "base/error.h"
#include "engine/request.h"

typedef enum seq_state { SEQ_FREE, SEQ_RUNNING, SEQ_CACHED } seq_state;

typedef struct seq_slot {
    seq_state state;
    fl_req *req;        /* SEQ_RUNNING */
    fl_tok_ids cached;  /* SEQ_CACHED: the tokens the sequence holds */
    int64_t used;       /* last use, for LRU */
} seq_slot;

struct flint_engine {
    const flint_model *model;
    flint_context *ctx;
    flint_tokenizer *tok;
    const fl_tokenizer *itok;
    int32_t n_vocab;      /* real vocabulary: padding rows of the logits are never sampled */
    int32_t n_logits;     /* logits per row */
    int32_t n_slots, n_seq, n_ctx, max_queue, step_tokens;
    int32_t block;        /* positions per KV block */
    int32_t snap_every;   /* prompt chunks end at multiples of this (0: no such bound) */

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work;  /* the scheduler waits for requests */
    pthread_cond_t out;   /* pollers wait for output */
    bool quit, thread_started;
    bool kick;            /* something arrived for the scheduler (a submit, a cancel) */

    /* guarded by lock */
    fl_req *live;         /* every request not yet handed back */
    fl_req *wait_head, *wait_tail; /* waiting for a slot, oldest first (through wnext) */
    int32_t n_waiting;
    uint64_t next_id;
    flint_engine_stats stats;

    /* the scheduler thread's */
    seq_slot *seqs;
    fl_req **running;     /* [n_slots] */
    int32_t n_running;
    int64_t clock, admitted;
    flint_batch_seq *step;   /* [n_slots] */
    fl_req **step_req;       /* [n_slots] */
    int32_t *step_len;
    float *logits;           /* [n_slots][n_logits] */
};

static int64_t next_use(flint_engine *e) { return ++e->clock; }

/* ---- sequences ---- */

static void seq_release(flint_engine *e, int32_t s) {
    seq_slot *sl = &e->seqs[s];
    flint_seq_reset(e->ctx, s);
    fl_tok_ids_free(&sl->cached);
    sl->state = SEQ_FREE;
    sl->req = NULL;
}

/* The least recently used cache entry other than keep, or -1. */
static int32_t lru_cached(const flint_engine *e, int32_t keep) {
    int32_t best = -1;
    for (int32_t s = 0; s < e->n_seq; s++)
        if (s != keep && e->seqs[s].state == SEQ_CACHED && (best < 0 || e->seqs[s].used < e->seqs[best].used))
            best = s;
    return best;
}

static int32_t common_prefix(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    size_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i]) i++;
    return (int32_t)i;
}

/* The tokens sequence s holds in common with q's (all but q's last, which
 * must be computed for its logits). */
static int32_t shared_with(const flint_engine *e, int32_t s, const fl_req *q) {
    const seq_slot *sl = &e->seqs[s];
    if (sl->state == SEQ_CACHED) return common_prefix(q->toks.ids, q->toks.n - 1, sl->cached.ids, sl->cached.n);
    if (sl->state == SEQ_RUNNING)
        return common_prefix(q->toks.ids, q->toks.n - 1, sl->req->toks.ids, (size_t)sl->req->n_done);
    return 0;
}

/* Candidates in the order (tokens shared, then index) descending: the
 * sequence other than dst that comes after *at (-1: the first), sharing
 * more than `above` tokens; -1 when none. *len: what it shares. */
static int32_t next_source(const flint_engine *e, const fl_req *q, int32_t dst, int32_t above, int32_t *at,
                           int32_t *len) {
    const int32_t at_len = *at >= 0 ? shared_with(e, *at, q) : INT32_MAX;
    int32_t best = -1;
    *len = above;
    for (int32_t s = 0; s < e->n_seq; s++) {
        if (s == dst) continue;
        int32_t n = shared_with(e, s, q);
        bool after = n < at_len || (n == at_len && s > *at);
        if (after && n > *len) *len = n, best = s;
    }
    *at = best;
    return best;
}

/* Gives q a sequence, starting from the longest prefix the engine can
 * restore: the sequences sharing the most tokens are tried in turn (a
 * recurrent model restores only at its snapshots, so the one sharing the
 * most tokens may not restore the most). False when no sequence is free. */
#define MAX_SOURCES_TRIED 4
static bool admit(flint_engine *e, fl_req *q) {
    int32_t at = -1, len;
    const int32_t first = next_source(e, q, -1, 0, &at, &len);
    int32_t dst = -1;
    for (int32_t s = 0; s < e->n_seq && dst < 0; s++)
        if (e->seqs[s].state == SEQ_FREE) dst = s;
    if (dst < 0 && (dst = lru_cached(e, first)) >= 0) seq_release(e, dst);
    if (dst < 0) return false;
    int32_t reused = 0, best = -1, best_len = 0, last = -1;
    at = -1;
    for (int32_t k = 0; k < MAX_SOURCES_TRIED; k++) {
        int32_t src = next_source(e, q, dst, reused, &at, &len);
        if (src < 0) break;
        int32_t got = 0;
        if (flint_seq_fork(e->ctx, dst, src, len, &got) != FLINT_OK) got = 0;
        last = src;
        if (got > reused) reused = got, best = src, best_len = len;
    }
    if (best >= 0 && last != best && flint_seq_fork(e->ctx, dst, best, best_len, &reused) != FLINT_OK) best = -1;
    if (best < 0) {
        flint_seq_reset(e->ctx, dst);
        reused = 0;
    } else {
        e->seqs[best].used = next_use(e);
    }
    e->seqs[dst] = (seq_slot){.state = SEQ_RUNNING, .req = q, .used = next_use(e)};
    q->seq = dst;
    q->n_done = reused;
    if (q->t_admit == 0) {
        q->t_admit = fl_now_seconds();
        q->cached = reused < q->n_prompt ? reused : q->n_prompt;
    }
    q->admit_order = ++e->admitted;
    e->running[e->n_running++] = q;
    return true;
}

/* Takes q out of the running list. */
static void unlink_running(flint_engine *e, fl_req *q) {
    for (int32_t i = 0; i < e->n_running; i++)
        if (e->running[i] == q) {
            memmove(e->running + i, e->running + i + 1, (size_t)(e->n_running - i - 1) * sizeof *e->running);
            e->n_running--;
            return;
        }
}

/* A finished request's sequence becomes a cache entry (or is freed). */
static void retire(flint_engine *e, fl_req *q) {
    int32_t s = q->seq;
    unlink_running(e, q);
    q->seq = -1;
    if (s < 0) return;
    seq_slot *sl = &e->seqs[s];
    bool keep = e->n_seq > e->n_slots && q->n_done > 0 && q->finish != FLINT_FINISH_ERROR;
    if (keep) {
        sl->cached = (fl_tok_ids){0};
        sl->cached.ids = malloc((size_t)q->n_done * sizeof *sl->cached.ids);
        keep = sl->cached.ids != NULL;
    }
    if (!keep) {
        seq_release(e, s);
        return;
    }
    memcpy(sl->cached.ids, q->toks.ids, (size_t)q->n_done * sizeof *sl->cached.ids);
    sl->cached.n = sl->cached.cap = (size_t)q->n_done;
    sl->state = SEQ_CACHED;
    sl->req = NULL;
    sl->used = next_use(e);
}

/* ---- delivering output ---- */

/* The event of output o; with end, the request's finish, error and usage too. */
static void fill_event(const fl_req *q, const fl_req_out *o, bool end, flint_event *ev) {
    *ev = (flint_event){
        .request = q->id,
        .text = o->text.s ? o->text.s : "",
        .len = o->text.n,
        .tokens = o->tokens,
        .n_tokens = o->n,
        .logprobs = q->logprobs ? o->logprobs : NULL,
        .top = q->n_top ? o->top : NULL,
        .n_top = q->n_top,
    };
    if (end) {
        ev->finish = q->finish, ev->error = q->error, ev->error_msg = q->error_msg, ev->usage = &q->usage;
        ev->stop = q->stop_hit;
    }
}

static void set_usage(fl_req *q) {
    double end = q->t_last > 0 ? q->t_last : fl_now_seconds();
    q->usage = (flint_usage){
        .prompt_tokens = q->n_prompt,
        .cached_tokens = q->cached,
        .generated_tokens = q->n_gen,
        .queue_ms = q->t_admit > 0 ? 1e3 * (q->t_admit - q->t_submit) : 1e3 * (end - q->t_submit),
        .ttft_ms = q->t_first > 0 ? 1e3 * (q->t_first - q->t_submit) : 0,
        .prompt_ms = q->t_first > 0 && q->t_admit > 0 ? 1e3 * (q->t_first - q->t_admit) : 0,
        .generate_ms = q->t_first > 0 ? 1e3 * (end - q->t_first) : 0,
    };
}

/* Under the lock, on the scheduler's thread (which alone changes the pool). */
static void pool_stats(flint_engine *e) {
    e->stats.kv_blocks_total = flint_context_kv_blocks_total(e->ctx);
    e->stats.kv_blocks_free = flint_context_kv_blocks_free(e->ctx);
    e->stats.kv_bytes_used = flint_context_kv_bytes_used(e->ctx);
}

static void unlink_live(flint_engine *e, fl_req *q) {
    for (fl_req **p = &e->live; *p; p = &(*p)->next)
        if (*p == q) {
            *p = q->next;
            return;
        }
}

/* Hands q's fresh output to its callback, or queues it for polls. A
 * finished request leaves the scheduler here. */
static void deliver(flint_engine *e, fl_req *q) {
    const bool done = q->finish != FLINT_FINISH_NONE;
    if (done) set_usage(q);
    if (q->on_event) {
        if (q->fresh.n || q->fresh.text.n || done) {
            flint_event ev;
            fill_event(q, &q->fresh, done, &ev);
            q->on_event(&ev, q->user);
        }
        fl_req_out_clear(&q->fresh);
    }
    pthread_mutex_lock(&e->lock);
    if (!q->on_event) {
        if (!fl_req_out_append(&q->pending, &q->fresh, q->n_top) && !done) {
            fl_req_finish(q, FLINT_FINISH_ERROR, FLINT_E_NOMEM, "out of memory for the output", &q->fresh);
            set_usage(q);
        }
        fl_req_out_clear(&q->fresh);
    }
    if (q->finish) {
        q->ended = true; /* published under the lock: the end, its text and usage are in place */
        e->stats.running = e->n_running; /* retired already: the counts hold when the end is seen */
        e->stats.waiting = e->n_waiting;
        pool_stats(e);
        e->stats.requests_done[q->finish]++;
        e->stats.prompt_tokens += q->n_prompt;
        e->stats.cached_tokens += q->cached;
        e->stats.generated_tokens += q->n_gen;
        e->stats.prefix_hits += q->cached > 0;
        if (q->on_event) {
            unlink_live(e, q);
            pthread_mutex_unlock(&e->lock);
            fl_req_free(q);
            return;
        }
    }
    pthread_cond_broadcast(&e->out);
    pthread_mutex_unlock(&e->lock);
}

/* ---- the scheduler ---- */

static void end_request(flint_engine *e, fl_req *q, flint_finish_reason why, flint_status st, const char *msg) {
    fl_req_finish(q, why, st, msg, &q->fresh);
    retire(e, q);
    deliver(e, q);
}

/* Puts the newest running request back at the head of the queue, its
 * sequence freed: readmitted, it computes its prompt and output again. */
static void preempt(flint_engine *e) {
    fl_req *q = NULL;
    for (int32_t i = 0; i < e->n_running; i++)
        if (!q || e->running[i]->admit_order > q->admit_order) q = e->running[i];
    unlink_running(e, q);
    seq_release(e, q->seq);
    q->seq = -1;
    q->n_done = 0;
    pthread_mutex_lock(&e->lock);
    q->wnext = e->wait_head;
    e->wait_head = q;
    if (!e->wait_tail) e->wait_tail = q;
    e->n_waiting++;
    e->stats.preemptions++;
    pthread_mutex_unlock(&e->lock);
}

/* Plans a step into e->step. Returns the entries. */
static int32_t plan_step(flint_engine *e) {
    int32_t n = 0, budget = e->step_tokens;
    /* decodes first (oldest first), then prompt chunks */
    for (int pass = 0; pass < 2; pass++)
        for (int32_t i = 0; i < e->n_running && budget > 0; i++) {
            fl_req *q = e->running[i];
            int32_t left = (int32_t)q->toks.n - q->n_done;
            bool decoding = left == 1 && q->n_gen > 0;
            if (decoding != (pass == 0)) continue;
            int32_t take = left < budget ? left : budget;
            if (!decoding && e->snap_every) { /* a recurrent model's prompt: a snapshot every snap_every */
                int32_t next = (q->n_done / e->snap_every + 1) * e->snap_every;
                if (q->n_done + take > next) take = next - q->n_done;
            }
            if (take < left) { /* a chunk that does not finish: end on a block boundary */
                int32_t end = q->n_done + take, aligned = end - end % e->block;
                if (aligned > q->n_done) take = aligned - q->n_done;
            }
            e->step[n] = (flint_batch_seq){.seq = q->seq,
                                           .tokens = q->toks.ids + q->n_done,
                                           .n_tokens = take,
                                           .all_logits = take == left ? 0 : -1};
            e->step_req[n] = q;
            e->step_len[n] = take;
            n++;
            budget -= take;
        }
    return n;
}

static int64_t blocks_needed(flint_engine *e, int32_t n) {
    int64_t need = 0;
    for (int32_t i = 0; i < n; i++) need += flint_seq_blocks_needed(e->ctx, e->step[i].seq, e->step[i].n_tokens);
    return need;
}

/* Frees KV blocks: a cached sequence (least recently used) first, else
 * the newest running request is preempted; a request running alone that
 * still does not fit ends with an error. False when nothing was left to
 * free. */
static bool make_room(flint_engine *e) {
    int32_t victim = lru_cached(e, -1);
    if (victim >= 0) {
        seq_release(e, victim);
        return true;
    }
    if (e->n_running > 1) {
        preempt(e);
        return true;
    }
    if (e->n_running == 1)
        end_request(e, e->running[0], FLINT_FINISH_ERROR, FLINT_E_KV_FULL,
                    "the KV pool cannot hold this request's context (a larger kv_bytes, or a shorter request)");
    return false;
}

static void run_step(flint_engine *e) {
    /* the block counts plan the step; the context's exact per-group check
     * (FLINT_E_KV_FULL, nothing changed) has the last word */
    int32_t n;
    flint_status st;
    for (;;) {
        n = plan_step(e);
        if (n == 0) return;
        if (blocks_needed(e, n) > flint_context_kv_blocks_free(e->ctx)) {
            if (!make_room(e)) return;
            continue;
        }
        st = flint_decode_batch(e->ctx, e->step, n, e->logits);
        if (st != FLINT_E_KV_FULL) break;
        if (!make_room(e)) return;
    }
    pthread_mutex_lock(&e->lock);
    e->stats.steps++;
    pool_stats(e);
    pthread_mutex_unlock(&e->lock);
    if (st) { /* a failed step ends its requests: nothing says which one caused it */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", flint_errmsg());
        for (int32_t i = 0; i < n; i++) end_request(e, e->step_req[i], FLINT_FINISH_ERROR, st, msg);
        return;
    }
    const float *row = e->logits;
    for (int32_t i = 0; i < n; i++) {
        fl_req *q = e->step_req[i];
        q->n_done += e->step_len[i];
        if (e->step[i].all_logits < 0) {
            /* a recurrent model's prompt chunk on a block boundary: keep the state there
             * for prefix reuse (attention-only models restore any position their pinned
             * or live history covers; more snapshots would only pin more sliding blocks) */
            if (e->snap_every && q->n_done % e->block == 0) flint_seq_snapshot(e->ctx, q->seq);
            continue;
        }
        if (q->n_gen == 0 && q->n_done == q->n_prompt) flint_seq_snapshot(e->ctx, q->seq);
        fl_req_step(q, e->itok, row, e->n_vocab, &q->fresh);
        row += e->n_logits;
        if (q->finish) retire(e, q);
        deliver(e, q);
    }
}

/* Under the lock, returns it held: ends cancelled requests and admits
 * waiting ones while slots are free. */
static void admit_and_cancel(flint_engine *e) {
    /* cancelled while waiting: out of the queue */
    for (fl_req **p = &e->wait_head, *prev = NULL; *p;) {
        fl_req *q = *p;
        if (!q->cancel) {
            prev = q, p = &q->wnext;
            continue;
        }
        *p = q->wnext;
        if (e->wait_tail == q) e->wait_tail = prev;
        e->n_waiting--;
        pthread_mutex_unlock(&e->lock);
        end_request(e, q, FLINT_FINISH_CANCELLED, FLINT_OK, NULL);
        pthread_mutex_lock(&e->lock);
    }
    for (int32_t i = 0; i < e->n_running;) {
        fl_req *q = e->running[i];
        if (!q->cancel) {
            i++;
            continue;
        }
        pthread_mutex_unlock(&e->lock);
        end_request(e, q, FLINT_FINISH_CANCELLED, FLINT_OK, NULL); /* takes it out of running */
        pthread_mutex_lock(&e->lock);
    }
    while (e->wait_head && e->n_running < e->n_slots) {
        fl_req *q = e->wait_head;
        if (!admit(e, q)) break;
        e->wait_head = q->wnext;
        if (!e->wait_head) e->wait_tail = NULL;
        q->wnext = NULL;
        e->n_waiting--;
    }
}

static void *scheduler(void *arg) {
    flint_engine *e = arg;
    pthread_mutex_lock(&e->lock);
    while (!e->quit) {
        e->kick = false;
        admit_and_cancel(e); /* may drop the lock: a submit or cancel then sets kick */
        e->stats.running = e->n_running;
        e->stats.waiting = e->n_waiting;
        pool_stats(e);
        if (e->n_running == 0) {
            while (!e->kick && !e->quit) pthread_cond_wait(&e->work, &e->lock);
            continue;
        }
        pthread_mutex_unlock(&e->lock);
        run_step(e);
        pthread_mutex_lock(&e->lock);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* ---- the public API ---- */

flint_status flint_engine_create(flint_model *model, const flint_engine_params *params, flint_engine **out) {
    if (!model || !out) return fl_errorf(FLINT_E_INVALID_ARG, "flint_engine_create: NULL argument");
    *out = NULL;
    flint_engine_params p = params ? *params : (flint_engine_params){0};
    if (p.n_slots < 0 || p.n_slots > 1024 || p.n_ctx < 0 || p.max_queue < 0 || p.step_tokens < 0 || p.n_cache < -1 ||
        p.n_cache > 1024 || p.kv_bytes < 0 || p.snapshot_interval < -1)
        return fl_errorf(FLINT_E_INVALID_ARG,
                         "engine params out of range (slots %d, ctx %d, queue %d, step %d, cache %d)", p.n_slots,
                         p.n_ctx, p.max_queue, p.step_tokens, p.n_cache);
    flint_engine *e = calloc(1, sizeof *e);
    if (!e) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    e->model = model;
    e->n_slots = p.n_slots ? p.n_slots : 1;
    e->max_queue = p.max_queue ? p.max_queue : 64;
    e->step_tokens = p.step_tokens ? p.step_tokens : 512;
    if (e->step_tokens < e->n_slots) e->step_tokens = e->n_slots;
    int32_t n_cache = p.n_cache < 0 ? 0 : p.n_cache ? p.n_cache : e->n_slots;
    e->n_seq = e->n_slots + n_cache;
    e->next_id = 1;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->work, NULL);
    pthread_cond_init(&e->out, NULL);

    flint_context_params cp = {.n_ctx = p.n_ctx,
                               .n_batch = e->step_tokens,
                               .n_seq = e->n_seq,
                               .n_threads = p.n_threads,
                               .kv_type = p.kv_type,
                               .kv_bytes = p.kv_bytes,
                               .deterministic = p.deterministic,
                               .exact = p.exact,
                               .gpu = p.gpu,
                               .gpu_layers = p.gpu_layers,
                               .gpu_memory = p.gpu_memory};
    /* a model without a tokenizer still runs prompts given as token ids */
    flint_status st = flint_tokenizer_load(model, &e->tok);
    if (st == FLINT_E_NOT_FOUND) st = FLINT_OK;
    if (!st && p.chat_template) {
        st = e->tok ? flint_chat_template_set(e->tok, p.chat_template)
                    : fl_errorf(FLINT_E_INVALID_ARG, "a chat template was named but the model has no tokenizer");
    }
    if (!st) st = flint_context_create(model, &cp, &e->ctx);
    if (!st) {
        e->itok = fl_tokenizer_of(e->tok);
        e->n_ctx = flint_context_n_ctx(e->ctx);
        e->n_logits = flint_context_n_vocab(e->ctx);
        e->n_vocab = e->tok ? flint_tokenizer_n_vocab(e->tok) : e->n_logits;
        if (e->n_vocab <= 0 || e->n_vocab > e->n_logits) e->n_vocab = e->n_logits;
        e->block = flint_context_kv_block_size(e->ctx);
        if (e->block <= 0) e->block = 1;
        /* recurrent state restores only where a snapshot was taken: keep them dense in a prompt */
        if (flint_context_n_recurrent_layers(e->ctx) > 0 && p.snapshot_interval >= 0) {
            int32_t every = p.snapshot_interval ? p.snapshot_interval : 128;
            e->snap_every = (every + e->block - 1) / e->block * e->block;
        }
        e->stats.n_slots = e->n_slots;
        pool_stats(e);
        e->seqs = calloc((size_t)e->n_seq, sizeof *e->seqs);
        e->running = calloc((size_t)e->n_slots, sizeof *e->running);
        e->step = calloc((size_t)e->n_slots, sizeof *e->step);
        e->step_req = calloc((size_t)e->n_slots, sizeof *e->step_req);
        e->step_len = calloc((size_t)e->n_slots, sizeof *e->step_len);
        e->logits = malloc((size_t)e->n_slots * (size_t)e->n_logits * sizeof *e->logits);
        if (!e->seqs || !e->running || !e->step || !e->step_req || !e->step_len || !e->logits)
            st = fl_errorf(FLINT_E_NOMEM, "out of memory for the engine");
    }
    if (!st) {
        if (pthread_create(&e->thread, NULL, scheduler, e)) st = fl_errorf(FLINT_E_NOMEM, "cannot start a thread");
        else e->thread_started = true;
    }
    if (st) {
        flint_engine_free(e);
        return st;
    }
    *out = e;
    return FLINT_OK;
}

void flint_engine_free(flint_engine *e) {
    if (!e) return;
    if (e->thread_started) {
        pthread_mutex_lock(&e->lock);
        e->quit = true;
        pthread_cond_signal(&e->work);
        pthread_mutex_unlock(&e->lock);
        pthread_join(e->thread, NULL);
    }
    while (e->live) {
        fl_req *q = e->live;
        e->live = q->next;
        fl_req_free(q);
    }
    for (int32_t s = 0; e->seqs && s < e->n_seq; s++) fl_tok_ids_free(&e->seqs[s].cached);
    free(e->seqs);
    free(e->running);
    free(e->step);
    free(e->step_req);
    free(e->step_len);
    free(e->logits);
    flint_context_free(e->ctx);
    flint_tokenizer_free(e->tok);
    pthread_cond_destroy(&e->work);
    pthread_cond_destroy(&e->out);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

const flint_tokenizer *flint_engine_tokenizer(const flint_engine *e) { return e ? e->tok : NULL; }
int32_t flint_engine_n_ctx(const flint_engine *e) { return e ? e->n_ctx : 0; }
const char *flint_engine_device(const flint_engine *e) { return e ? flint_context_device(e->ctx) : ""; }
int32_t flint_engine_n_ctx_train(const flint_engine *e) { return e ? flint_context_n_ctx_train(e->ctx) : 0; }

flint_status flint_engine_submit(flint_engine *e, const flint_request *r, uint64_t *id) {
    if (!e || !r || !id) return fl_errorf(FLINT_E_INVALID_ARG, "flint_engine_submit: NULL argument");
    fl_req *q;
    flint_status st = fl_req_create(r, e->tok, e->n_vocab, e->n_ctx, &q);
    if (st) return st;
    pthread_mutex_lock(&e->lock);
    if (e->n_waiting >= e->max_queue) {
        pthread_mutex_unlock(&e->lock);
        fl_req_free(q);
        return fl_errorf(FLINT_E_BUSY, "the queue is full (%d requests waiting)", e->max_queue);
    }
    q->id = *id = e->next_id++;
    q->next = e->live;
    e->live = q;
    if (e->wait_tail) e->wait_tail->wnext = q;
    else e->wait_head = q;
    e->wait_tail = q;
    e->n_waiting++;
    e->kick = true;
    pthread_cond_signal(&e->work);
    pthread_mutex_unlock(&e->lock);
    return FLINT_OK;
}

static fl_req *find(flint_engine *e, uint64_t id) {
    for (fl_req *q = e->live; q; q = q->next)
        if (q->id == id) return q;
    return NULL;
}

flint_status flint_engine_cancel(flint_engine *e, uint64_t id) {
    if (!e) return fl_errorf(FLINT_E_INVALID_ARG, "NULL engine");
    pthread_mutex_lock(&e->lock);
    fl_req *q = find(e, id);
    flint_status st = q && !q->ended ? FLINT_OK : fl_errorf(FLINT_E_NOT_FOUND, "request %llu has ended or never was",
                                                               (unsigned long long)id);
    if (!st) {
        q->cancel = true;
        e->kick = true;
        pthread_cond_signal(&e->work);
    }
    pthread_mutex_unlock(&e->lock);
    return st;
}

/* The request whose final event this thread's last poll returned: freed
 * by its next poll, or when the thread ends. */
static pthread_key_t retired_key;
static pthread_once_t retired_once = PTHREAD_ONCE_INIT;
static void retired_free(void *q) { fl_req_free(q); }
static void retired_init(void) { pthread_key_create(&retired_key, retired_free); }

flint_status flint_engine_poll(flint_engine *e, uint64_t id, int32_t timeout_ms, flint_event *ev) {
    if (!e || !ev) return fl_errorf(FLINT_E_INVALID_ARG, "flint_engine_poll: NULL argument");
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms > 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    }
    pthread_once(&retired_once, retired_init);
    fl_req_free(pthread_getspecific(retired_key)); /* the last event read on this thread is over */
    pthread_setspecific(retired_key, NULL);
    pthread_mutex_lock(&e->lock);
    fl_req *q = find(e, id);
    if (!q || q->on_event) {
        pthread_mutex_unlock(&e->lock);
        return fl_errorf(FLINT_E_NOT_FOUND, "request %llu is not pollable (ended, unknown, or has a callback)",
                         (unsigned long long)id);
    }
    while (!q->pending.n && !q->pending.text.n && !q->ended && timeout_ms != 0) {
        if (timeout_ms < 0) pthread_cond_wait(&e->out, &e->lock);
        else if (pthread_cond_timedwait(&e->out, &e->lock, &until) == ETIMEDOUT) break;
    }
    fl_req_out_clear(&q->delivered);
    fl_req_out tmp = q->delivered;
    q->delivered = q->pending;
    q->pending = tmp;
    fill_event(q, &q->delivered, q->ended, ev);
    if (q->ended) {
        /* the request leaves the engine; the event stays readable until
         * this thread's next poll */
        unlink_live(e, q);
        pthread_mutex_unlock(&e->lock);
        pthread_setspecific(retired_key, q);
        return FLINT_OK;
    }
    pthread_mutex_unlock(&e->lock);
    return FLINT_OK;
}

void flint_engine_stats_get(flint_engine *e, flint_engine_stats *out) {
    if (!e || !out) return;
    pthread_mutex_lock(&e->lock);
    *out = e->stats;
    pthread_mutex_unlock(&e->lock);
    flint_model_expert_stats(e->model, &out->experts);
}
