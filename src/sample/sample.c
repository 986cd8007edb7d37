/* sample.c — the sampler chain of sample.h.
 *
 * Candidates are (id, logit) pairs. Truncations (top-k, top-p, min-p) only
 * need the head of the sorted list, so the list is partially sorted: the
 * top k by quickselect then a sort of those k, widening k geometrically
 * until top-p's mass is covered. A full sort of a 262k vocabulary never
 * happens for the usual settings. */
#include "sample/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef struct cand {
    int32_t id;
    float logit;
} cand;

struct fl_sampler {
    fl_sampler_params p;
    int32_t n_vocab;
    cand *cands;       /* [n_vocab] */
    int32_t *history;  /* ring of the last penalty_last_n accepted tokens */
    int32_t n_history, history_at;
    uint16_t *counts;  /* [n_vocab] occurrences in the window (saturating) */
    uint64_t rng[4];   /* xoshiro256** state */
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

void fl_sampler_reset(fl_sampler *s) {
    uint64_t x = s->p.seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
    s->n_history = s->history_at = 0;
    memset(s->counts, 0, (size_t)s->n_vocab * sizeof *s->counts);
}

flint_status fl_sampler_create(const fl_sampler_params *params, int32_t n_vocab, fl_sampler **out) {
    *out = NULL;
    if (n_vocab <= 0) return fl_errorf(FLINT_E_INVALID_ARG, "sampler: vocabulary of %d tokens", n_vocab);
    fl_sampler *s = calloc(1, sizeof *s);
    if (!s) return fl_errorf(FLINT_E_NOMEM, "out of memory for the sampler");
    s->p = *params;
    if (s->p.penalty_last_n <= 0) s->p.penalty_last_n = 64;
    s->n_vocab = n_vocab;
    s->cands = malloc((size_t)n_vocab * sizeof *s->cands);
    s->counts = calloc((size_t)n_vocab, sizeof *s->counts);
    s->history = malloc((size_t)s->p.penalty_last_n * sizeof *s->history);
    if (!s->cands || !s->counts || !s->history) {
        fl_sampler_free(s);
        return fl_errorf(FLINT_E_NOMEM, "out of memory for a sampler over %d tokens", n_vocab);
    }
    fl_sampler_reset(s);
    *out = s;
    return FLINT_OK;
}

void fl_sampler_free(fl_sampler *s) {
    if (!s) return;
    free(s->cands);
    free(s->counts);
    free(s->history);
    free(s);
}

void fl_sampler_accept(fl_sampler *s, int32_t token) {
    if (token < 0 || token >= s->n_vocab) return;
    int32_t cap = s->p.penalty_last_n;
    if (s->n_history == cap) {
        int32_t old = s->history[s->history_at];
        s->counts[old]--;
    } else {
        s->n_history++;
    }
    s->history[s->history_at] = token;
    s->history_at = (s->history_at + 1) % cap;
    if (s->counts[token] < UINT16_MAX) s->counts[token]++;
}

static float penalized(const fl_sampler *s, int32_t id, float logit) {
    if (!s->counts[id]) return logit;
    float r = s->p.repeat_penalty;
    if (r > 0 && r != 1) logit = logit > 0 ? logit / r : logit * r;
    return logit - s->p.presence_penalty;
}

/* descending logit, then ascending id: a total order, so results do not
 * depend on the sort algorithm */
static int before(const cand *a, const cand *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cmp_cand(const void *x, const void *y) {
    const cand *a = x, *b = y;
    return before(a, b) ? -1 : before(b, a) ? 1 : 0;
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
    qsort(c, (size_t)k, sizeof *c, cmp_cand);
}

int32_t fl_sampler_sample(fl_sampler *s, const float *logits) {
    int32_t n = s->n_vocab;
    cand *c = s->cands;
    for (int32_t i = 0; i < n; i++) {
        float l = logits[i];
        if (l != l) l = -INFINITY; /* NaN never wins */
        c[i].id = i;
        c[i].logit = penalized(s, i, l);
    }
    if (s->p.temperature <= 0) {
        int32_t best = 0;
        for (int32_t i = 1; i < n; i++)
            if (before(&c[i], &c[best])) best = i;
        return c[best].id;
    }

    /* top-k: the k best, sorted */
    int32_t k = s->p.top_k > 0 && s->p.top_k < n ? s->p.top_k : n;
    int32_t sorted = k < 256 ? k : 256;
    sort_head(c, n, sorted);
    n = k;
    /* softmax at temperature 1 over the kept head (as llama.cpp: truncations
     * see the untempered distribution; the draw uses the tempered one) */
    float top_p = s->p.top_p;
    if (top_p > 0 && top_p < 1) {
        double total = 0;
        for (int32_t i = 0; i < n; i++) total += exp((double)c[i].logit - c[0].logit);
        double cum = 0;
        int32_t keep = n, i = 0;
        for (;;) {
            for (; i < sorted; i++) {
                cum += exp((double)c[i].logit - c[0].logit) / total;
                if (cum >= top_p) {
                    keep = i + 1;
                    break;
                }
            }
            if (keep < n || sorted == n) break;
            int32_t wider = sorted * 4 < n ? sorted * 4 : n; /* widen the sorted head */
            sort_head(c + sorted, n - sorted, wider - sorted);
            sorted = wider;
        }
        n = keep;
    }
    if (s->p.min_p > 0) {
        /* p_i >= min_p * p_max  <=>  logit_i >= logit_max + ln(min_p) */
        float floor_logit = c[0].logit + logf(s->p.min_p);
        int32_t keep = 1; /* c[0] is the best; compact the rest in order */
        for (int32_t i = 1; i < n; i++)
            if (c[i].logit >= floor_logit) c[keep++] = c[i];
        n = keep;
    }

    double inv_t = 1.0 / s->p.temperature, total = 0;
    for (int32_t i = 0; i < n; i++) total += exp(((double)c[i].logit - c[0].logit) * inv_t);
    double r = next_unit(s->rng) * total, cum = 0;
    for (int32_t i = 0; i < n; i++) {
        cum += exp(((double)c[i].logit - c[0].logit) * inv_t);
        if (r < cum) return c[i].id;
    }
    return c[n - 1].id;
}
