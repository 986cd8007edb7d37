/* sample.c — the sampler chain of flint.h's sampling section, and the raw
 * log-probabilities.
 *
 * Owns one allocation per sampler, carved at create: the candidates
 * [n_vocab], the window's counts [n_vocab], the distinct tokens with a
 * count (and where each sits in that list) [n_vocab] x 2, the history ring
 * [window] and the copied bias list. Nothing here allocates after create.
 *
 * Candidates are (id, logit) pairs. Bias and penalties touch only the
 * listed / seen tokens (the candidate array is indexed by id until the
 * truncations reorder it). Truncations (top-k, top-p, min-p) only need the
 * head of the sorted list, so the list is partially sorted: the top k by
 * quickselect, then a sort of at most 256 of those, widening the sorted
 * head geometrically until top-p's mass is covered. A full sort of a 262k
 * vocabulary never happens for the usual settings. */
#include "sample/sample.h"

#include <math.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef fl_sample_cand cand;

enum { HEAD_MAX = 256 }; /* top-k up to this runs as one pass with a running list */

struct flint_sampler {
    flint_sampling_params p; /* p.logit_bias points at bias */
    int32_t n_vocab;
    cand *cands;             /* [n_vocab] */
    cand *head;              /* [HEAD_MAX] the running top-k list */
    flint_logit_bias *bias;  /* [p.n_logit_bias] */
    int32_t window;          /* tokens the penalties see; -1: all */
    int32_t *history;        /* ring of the last window tokens (NULL when window is -1) */
    int32_t n_history, history_at;
    uint32_t *counts;        /* [n_vocab] occurrences in the window */
    int32_t *seen;           /* [n_vocab] the distinct tokens with counts > 0, n_seen of them */
    int32_t *seen_at;        /* [n_vocab] where a seen token sits in seen */
    int32_t n_seen;
    uint64_t rng[4];         /* xoshiro256** state */
};

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(uint64_t s[4]) {
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* uniform in [0, 1) with 53 random bits */
static double next_unit(uint64_t s[4]) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }

void flint_sampler_reset(flint_sampler *s) {
    if (!s) return;
    uint64_t x = s->p.seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
    s->n_history = s->history_at = 0;
    for (int32_t j = 0; j < s->n_seen; j++) s->counts[s->seen[j]] = 0;
    s->n_seen = 0;
}

static flint_status check_params(const flint_sampling_params *p, int32_t n_vocab) {
    if (n_vocab <= 0) return fl_errorf(FLINT_E_INVALID_ARG, "sampler: vocabulary of %d tokens", n_vocab);
    /* the negated comparisons also refuse NaN */
    if (!(p->temperature >= 0))
        return fl_errorf(FLINT_E_INVALID_ARG, "sampler: temperature %g (wants >= 0; 0 is greedy)", p->temperature);
    if (!(p->top_p >= 0 && p->top_p <= 1))
        return fl_errorf(FLINT_E_INVALID_ARG, "sampler: top_p %g outside [0, 1]", p->top_p);
    if (!(p->min_p >= 0 && p->min_p <= 1))
        return fl_errorf(FLINT_E_INVALID_ARG, "sampler: min_p %g outside [0, 1]", p->min_p);
    if (!(p->repetition_penalty >= 0) || isinf(p->repetition_penalty))
        return fl_errorf(FLINT_E_INVALID_ARG, "sampler: repetition_penalty %g (wants a finite value >= 0)",
                         p->repetition_penalty);
    if (!(p->presence_penalty >= -2 && p->presence_penalty <= 2))
        return fl_errorf(FLINT_E_INVALID_ARG, "sampler: presence_penalty %g outside [-2, 2]", p->presence_penalty);
    if (!(p->frequency_penalty >= -2 && p->frequency_penalty <= 2))
        return fl_errorf(FLINT_E_INVALID_ARG, "sampler: frequency_penalty %g outside [-2, 2]", p->frequency_penalty);
    if (p->penalty_last_n < -1)
        return fl_errorf(FLINT_E_INVALID_ARG, "sampler: penalty_last_n %d (wants >= 0, or -1 for all)",
                         p->penalty_last_n);
    if (p->n_logit_bias < 0 || (p->n_logit_bias > 0 && !p->logit_bias))
        return fl_errorf(FLINT_E_INVALID_ARG, "sampler: logit_bias %s with n_logit_bias %d",
                         p->logit_bias ? "given" : "NULL", p->n_logit_bias);
    for (int32_t i = 0; i < p->n_logit_bias; i++) {
        const flint_logit_bias *b = &p->logit_bias[i];
        if (b->token < 0 || b->token >= n_vocab)
            return fl_errorf(FLINT_E_INVALID_ARG, "sampler: logit_bias[%d] token %d outside the vocabulary of %d", i,
                             b->token, n_vocab);
        if (b->bias != b->bias || b->bias == INFINITY)
            return fl_errorf(FLINT_E_INVALID_ARG, "sampler: logit_bias[%d] bias %g (wants finite, or -inf to ban)", i,
                             b->bias);
    }
    return FLINT_OK;
}

/* rounds n up to the alignment of everything carved after it */
static size_t carve_up(size_t n) { return (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1); }

flint_status flint_sampler_create(const flint_sampling_params *params, int32_t n_vocab, flint_sampler **out) {
    if (!out) return fl_errorf(FLINT_E_INVALID_ARG, "sampler: out is NULL");
    *out = NULL;
    flint_sampling_params p = {0};
    if (params) p = *params;
    flint_status st = check_params(&p, n_vocab);
    if (st) return st;
    int32_t window = p.penalty_last_n == 0 ? 64 : p.penalty_last_n;

    /* the size table of the one allocation */
    size_t nv = (size_t)n_vocab;
    size_t sz_cands = carve_up(nv * sizeof(cand)), sz_counts = carve_up(nv * sizeof(uint32_t)),
           sz_seen = carve_up(nv * sizeof(int32_t)), sz_hist = carve_up(window > 0 ? (size_t)window * sizeof(int32_t) : 0),
           sz_bias = carve_up((size_t)p.n_logit_bias * sizeof(flint_logit_bias)), sz_head = HEAD_MAX * sizeof(cand);
    size_t total = carve_up(sizeof(flint_sampler)) + sz_cands + sz_counts + 2 * sz_seen + sz_hist + sz_bias + sz_head;
    char *mem = calloc(1, total);
    if (!mem) return fl_errorf(FLINT_E_NOMEM, "out of memory for a sampler over %d tokens (%zu bytes)", n_vocab, total);
    flint_sampler *s = (flint_sampler *)mem;
    char *at = mem + carve_up(sizeof *s);
    s->cands = (cand *)at, at += sz_cands;
    s->counts = (uint32_t *)at, at += sz_counts;
    s->seen = (int32_t *)at, at += sz_seen;
    s->seen_at = (int32_t *)at, at += sz_seen;
    s->history = window > 0 ? (int32_t *)at : NULL, at += sz_hist;
    s->bias = (flint_logit_bias *)at, at += sz_bias;
    s->head = (cand *)at;
    if (p.n_logit_bias) memcpy(s->bias, p.logit_bias, (size_t)p.n_logit_bias * sizeof *s->bias);
    s->p = p;
    s->p.logit_bias = s->bias;
    s->window = window;
    s->n_vocab = n_vocab;
    flint_sampler_reset(s);
    *out = s;
    return FLINT_OK;
}

void flint_sampler_free(flint_sampler *s) { free(s); }

static void count_add(flint_sampler *s, int32_t token) {
    if (s->counts[token]++ == 0) {
        s->seen_at[token] = s->n_seen;
        s->seen[s->n_seen++] = token;
    }
}

static void count_remove(flint_sampler *s, int32_t token) {
    if (--s->counts[token] == 0) { /* swap the last seen token into its place */
        int32_t at = s->seen_at[token], last = s->seen[--s->n_seen];
        s->seen[at] = last;
        s->seen_at[last] = at;
    }
}

void flint_sampler_accept(flint_sampler *s, int32_t token) {
    if (!s || token < 0 || token >= s->n_vocab) return;
    if (s->window < 0) { /* everything counts; saturate rather than wrap */
        if (s->counts[token] < UINT32_MAX) count_add(s, token);
        return;
    }
    if (s->n_history == s->window) count_remove(s, s->history[s->history_at]);
    else s->n_history++;
    s->history[s->history_at] = token;
    s->history_at = (s->history_at + 1) % s->window;
    count_add(s, token);
}

/* For a token seen count > 0 times. The subtraction is kept in separate
 * statements so that no compiler fuses it into an FMA: the Python
 * reference (tools/ref_sampling.py) rounds each step in float32 too. */
static float penalize(const flint_sampling_params *p, float logit, uint32_t count) {
    float r = p->repetition_penalty;
    if (r > 0 && r != 1) logit = logit > 0 ? logit / r : logit * r;
    float sub = (float)count * p->frequency_penalty;
    sub += p->presence_penalty;
    return logit - sub;
}

/* descending logit, then ascending id: a total order, so results do not
 * depend on the sort algorithm */
static int before(const cand *a, const cand *b) { return a->v > b->v || (a->v == b->v && a->id < b->id); }

/* Heapsort, best first: in place, because glibc's qsort may malloc a merge
 * buffer and sampling must not allocate. The heap keeps the worst at its
 * root and moves it to the end. */
static void sift_down(cand *c, int32_t i, int32_t n) {
    for (;;) {
        int32_t w = i, l = 2 * i + 1, r = l + 1;
        if (l < n && before(&c[w], &c[l])) w = l;
        if (r < n && before(&c[w], &c[r])) w = r;
        if (w == i) return;
        cand t = c[i];
        c[i] = c[w];
        c[w] = t;
        i = w;
    }
}

static void sort_cands(cand *c, int32_t n) {
    for (int32_t i = n / 2 - 1; i >= 0; i--) sift_down(c, i, n);
    for (int32_t e = n - 1; e > 0; e--) {
        cand t = c[0];
        c[0] = c[e];
        c[e] = t;
        sift_down(c, 0, e);
    }
}

/* Moves the k best of c[0..n) to the front (unordered). */
static void select_top(cand *c, int32_t n, int32_t k) {
    int32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        cand pivot = c[lo + (hi - lo) / 2];
        int32_t i = lo, j = hi;
        while (i <= j) {
            while (before(&c[i], &pivot)) i++;
            while (before(&pivot, &c[j])) j--;
            if (i <= j) {
                cand t = c[i];
                c[i++] = c[j];
                c[j--] = t;
            }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else return;
    }
}

/* Sorts the head of the list so that the first k are the k best in order. */
static void sort_head(cand *c, int32_t n, int32_t k) {
    if (k < n) select_top(c, n, k);
    sort_cands(c, k);
}

/* The k (<= HEAD_MAX) best of c[0..n) sorted into c[0..k), in one pass: a
 * running sorted list that an entry enters only if it beats the k-th, rare
 * after the first few thousand logits of any but an adversarial order.
 * Returns 0, c untouched, if entering costs more than a few passes would
 * (logits ascending by id), for quickselect to take over. */
static int top_head(flint_sampler *s, int32_t n, int32_t k) {
    cand *c = s->cands, *h = s->head;
    int32_t m = 0;
    int64_t moves = 0, budget = 8 * (int64_t)n;
    for (int32_t i = 0; i < n; i++) {
        if (m == k && !before(&c[i], &h[k - 1])) continue;
        int32_t j = m < k ? m++ : k - 1;
        for (; j > 0 && before(&c[i], &h[j - 1]); j--) h[j] = h[j - 1];
        h[j] = c[i];
        if ((moves += k - j + 1) > budget) return 0;
    }
    memcpy(c, h, (size_t)k * sizeof *c);
    return 1;
}

/* cands[0..n_vocab) = logits + bias, then penalized; indexed by id. */
static void fill(flint_sampler *s, const float *logits) {
    cand *c = s->cands;
    for (int32_t i = 0; i < s->n_vocab; i++) {
        float l = logits[i];
        c[i].id = i;
        c[i].v = l != l ? -INFINITY : l; /* NaN never wins */
    }
    for (int32_t j = 0; j < s->p.n_logit_bias; j++) c[s->bias[j].token].v += s->bias[j].bias;
    for (int32_t j = 0; j < s->n_seen; j++) {
        int32_t id = s->seen[j];
        c[id].v = penalize(&s->p, c[id].v, s->counts[id]);
    }
}

/* The greedy choice of the filled candidates; -1 if every logit is -inf. */
static int32_t greedy(const flint_sampler *s) {
    const cand *c = s->cands;
    int32_t best = 0;
    for (int32_t i = 1; i < s->n_vocab; i++)
        if (before(&c[i], &c[best])) best = i;
    return c[best].v == -INFINITY ? -1 : best;
}

/* Runs top-k, top-p and min-p over the filled candidates: c[0..n) are left,
 * c[0] the best. 0 when every logit is -inf. */
static int32_t truncations(flint_sampler *s) {
    cand *c = s->cands;
    int32_t n = s->n_vocab;
    /* top-k: the k best to the front, then the first (at most 256) sorted */
    int32_t k = s->p.top_k > 0 && s->p.top_k < n ? s->p.top_k : n;
    int32_t sorted = k < HEAD_MAX ? k : HEAD_MAX;
    if (!(k < n && k <= HEAD_MAX && top_head(s, n, k))) {
        if (k < n) select_top(c, n, k);
        sort_head(c, k, sorted);
    }
    n = k;
    if (c[0].v == -INFINITY) return 0;
    if (c[0].v == INFINITY) { /* +inf logits share all the mass */
        int32_t keep = 0;
        for (int32_t i = 0; i < n; i++)
            if (c[i].v == INFINITY) c[keep].id = c[i].id, c[keep++].v = 0;
        return keep;
    }
    /* softmax at temperature 1 over the kept head (as llama.cpp: truncations
     * see the untempered distribution; the draw uses the tempered one) */
    float top_p = s->p.top_p;
    if (top_p > 0 && top_p < 1) {
        double total = 0;
        for (int32_t i = 0; i < n; i++) total += exp((double)c[i].v - c[0].v);
        double cum = 0;
        int32_t keep = n, i = 0;
        for (;;) {
            for (; i < sorted; i++) {
                cum += exp((double)c[i].v - c[0].v) / total;
                if (cum >= top_p) {
                    keep = i + 1;
                    break;
                }
            }
            if (keep < n || sorted == n) break;
            int32_t wider = sorted < n / 4 ? sorted * 4 : n; /* widen the sorted head */
            sort_head(c + sorted, n - sorted, wider - sorted);
            sorted = wider;
        }
        n = keep;
    }
    if (s->p.min_p > 0) {
        /* p_i >= min_p * p_max  <=>  logit_i - logit_max >= ln(min_p), in
         * double so that the boundary is as exact as the reference's */
        double floor_diff = log((double)s->p.min_p);
        int32_t keep = 1; /* c[0] is the best; compact the rest in order */
        for (int32_t i = 1; i < n; i++)
            if ((double)c[i].v - c[0].v >= floor_diff) c[keep++] = c[i];
        n = keep;
    }
    return n;
}

/* exp((l - l_max) / T): the unnormalised weight of a kept candidate */
static double weight(const cand *c, const cand *best, double inv_t) { return exp(((double)c->v - best->v) * inv_t); }

int32_t flint_sampler_sample(flint_sampler *s, const float *logits) {
    if (!s || !logits) return -1;
    fill(s, logits);
    if (s->p.temperature <= 0) return greedy(s);
    int32_t n = truncations(s);
    if (n == 0) return -1;
    const cand *c = s->cands;
    double inv_t = 1.0 / s->p.temperature, total = 0;
    for (int32_t i = 0; i < n; i++) total += weight(&c[i], &c[0], inv_t);
    double r = next_unit(s->rng) * total, cum = 0;
    int32_t last = 0; /* the last candidate with weight, should rounding leave r == total */
    for (int32_t i = 0; i < n; i++) {
        double w = weight(&c[i], &c[0], inv_t);
        if (w > 0) last = i;
        cum += w;
        if (r < cum) return c[i].id;
    }
    return c[last].id;
}

int32_t fl_sampler_dist(flint_sampler *s, const float *logits, const fl_sample_cand **out) {
    *out = s->cands;
    fill(s, logits);
    if (s->p.temperature <= 0) {
        int32_t t = greedy(s);
        if (t < 0) return 0;
        s->cands[0] = (cand){t, 1.0f};
        return 1;
    }
    int32_t n = truncations(s);
    cand *c = s->cands;
    double inv_t = 1.0 / s->p.temperature, total = 0;
    for (int32_t i = 0; i < n; i++) total += weight(&c[i], &c[0], inv_t);
    float best = c[0].v; /* c[0] is overwritten first */
    for (int32_t i = 0; i < n; i++) c[i].v = (float)(exp(((double)c[i].v - best) * inv_t) / total);
    return n;
}

flint_status flint_sampler_logprobs(flint_sampler *s, const float *logits, int32_t token, int32_t n_top,
                                    float *token_logprob, flint_token_logprob *top) {
    if (!s || !logits) return fl_errorf(FLINT_E_INVALID_ARG, "logprobs: %s is NULL", s ? "logits" : "the sampler");
    if (token < 0 || token >= s->n_vocab)
        return fl_errorf(FLINT_E_INVALID_ARG, "logprobs: token %d outside the vocabulary of %d", token, s->n_vocab);
    if (n_top < 0 || n_top > FLINT_MAX_TOP_LOGPROBS)
        return fl_errorf(FLINT_E_INVALID_ARG, "logprobs: n_top %d outside [0, %d]", n_top, FLINT_MAX_TOP_LOGPROBS);
    if (n_top > 0 && !top) return fl_errorf(FLINT_E_INVALID_ARG, "logprobs: top is NULL for n_top %d", n_top);

    /* One pass: the online log-sum-exp (sum of exp(l - m) for the running
     * max m, rescaled when m grows: about ln(n_vocab) times for a random
     * order) and the n_top best kept sorted in top[] itself (an insertion
     * past the last entry is rare after the first few thousand logits). */
    float m = -INFINITY;
    double sum = 0;
    int32_t k = 0;
    for (int32_t i = 0; i < s->n_vocab; i++) {
        float l = logits[i];
        if (l > m) {
            if (l == INFINITY) { /* refused below */
                m = l;
                break;
            }
            sum = sum * exp((double)m - l) + 1;
            m = l;
        } else if (l > -INFINITY) {
            sum += expf(l - m); /* float exp: a third of the time of exp(), error ~1e-7 */
        } else if (l != l) {
            m = NAN;
            break;
        }
        if (k < n_top || (n_top > 0 && l > top[k - 1].logprob)) {
            int32_t j = k < n_top ? k++ : n_top - 1;
            for (; j > 0 && l > top[j - 1].logprob; j--) top[j] = top[j - 1];
            top[j] = (flint_token_logprob){i, l};
        }
    }
    if (!(m > -INFINITY && m < INFINITY))
        return fl_errorf(FLINT_E_NUMERIC, "logprobs: the logits %s",
                         m != m ? "hold a NaN" : m == INFINITY ? "hold +inf" : "are all -inf");
    double lse = m + log(sum);
    if (token_logprob) *token_logprob = (float)((double)logits[token] - lse);
    for (int32_t j = 0; j < k; j++) top[j].logprob = (float)((double)top[j].logprob - lse);
    for (int32_t j = k; j < n_top; j++) top[j] = (flint_token_logprob){-1, -INFINITY};
    return FLINT_OK;
}
