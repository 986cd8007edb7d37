/* test_sample.c — the sampler against the distributions it must draw from:
 * frequencies over many draws vs the analytic probabilities after each
 * truncation, greedy ties, penalties and their window, determinism. */
#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "sample/sample.h"

#define DRAWS 40000

/* Draws DRAWS tokens and returns their frequencies in freq[0..n). */
static void frequencies(const flint_sampling_params *p, const float *logits, int32_t n, double *freq) {
    flint_sampler *s;
    if (flint_sampler_create(p, n, &s) != FLINT_OK) abort();
    for (int32_t i = 0; i < n; i++) freq[i] = 0;
    for (int d = 0; d < DRAWS; d++) {
        int32_t t = flint_sampler_sample(s, logits);
        if (t >= 0 && t < n) freq[t] += 1.0 / DRAWS;
    }
    flint_sampler_free(s);
}

/* 4.5 sigma of a binomial proportion: a correct sampler fails ~1e-5 of runs
 * (and the seed is fixed, so a run either always passes or always fails) */
static double tol(double p) { return 4.5 * sqrt(p * (1 - p) / DRAWS) + 1e-9; }

static void check_freq(const double *freq, const double *want, int32_t n, const char *what) {
    for (int32_t i = 0; i < n; i++)
        CHECK_MSG(fabs(freq[i] - want[i]) <= tol(want[i]), "%s: token %d drawn %.4f, expected %.4f", what, i,
                  freq[i], want[i]);
}

static void test_distributions(void) {
    TEST_GROUP("distributions");
    float logits[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
    double f[4];
    flint_sampling_params p = {.temperature = 1, .seed = 7};
    frequencies(&p, logits, 4, f);
    check_freq(f, (double[]){0.5, 0.3, 0.15, 0.05}, 4, "temperature 1");

    p.temperature = 0.5f; /* p^2 renormalized */
    double z = 0.25 + 0.09 + 0.0225 + 0.0025;
    frequencies(&p, logits, 4, f);
    check_freq(f, (double[]){0.25 / z, 0.09 / z, 0.0225 / z, 0.0025 / z}, 4, "temperature 0.5");

    p.temperature = 1;
    p.top_k = 2;
    frequencies(&p, logits, 4, f);
    check_freq(f, (double[]){0.625, 0.375, 0, 0}, 4, "top-k 2");

    p.top_k = 0;
    p.top_p = 0.9f; /* 0.5 + 0.3 < 0.9 <= 0.95: keeps three */
    frequencies(&p, logits, 4, f);
    check_freq(f, (double[]){0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0}, 4, "top-p 0.9");

    p.top_p = 0;
    p.min_p = 0.5f; /* keeps p >= 0.25 */
    frequencies(&p, logits, 4, f);
    check_freq(f, (double[]){0.625, 0.375, 0, 0}, 4, "min-p 0.5");

    /* truncation sees the untempered distribution, the draw the tempered one */
    p.min_p = 0;
    p.top_p = 0.7f;
    p.temperature = 2; /* sqrt(p) over the two kept */
    double a = sqrt(0.5), b = sqrt(0.3);
    frequencies(&p, logits, 4, f);
    check_freq(f, (double[]){a / (a + b), b / (a + b), 0, 0}, 4, "top-p 0.7 at temperature 2");
}

static void test_greedy_and_penalties(void) {
    TEST_GROUP("greedy and penalties");
    flint_sampler *s;
    flint_sampling_params p = {.temperature = 0, .repetition_penalty = 2, .penalty_last_n = 3};
    CHECK(flint_sampler_create(&p, 5, &s) == FLINT_OK);
    float l[5] = {1, 3, 3, NAN, -1};
    CHECK_INT_EQ(flint_sampler_sample(s, l), 1); /* tie: lowest id; NaN never wins */
    flint_sampler_accept(s, 1);                  /* 3 -> 1.5 */
    CHECK_INT_EQ(flint_sampler_sample(s, l), 2);
    flint_sampler_accept(s, 2);
    CHECK_INT_EQ(flint_sampler_sample(s, l), 1); /* 1.5 vs 1.5: tie again */
    flint_sampler_accept(s, 4);
    flint_sampler_accept(s, 4); /* window of 3: token 1 falls out */
    CHECK_INT_EQ(flint_sampler_sample(s, l), 1);
    float neg[5] = {-1, -2, -3, -4, -0.9f};
    flint_sampler_reset(s);
    flint_sampler_accept(s, 4); /* -0.9 * 2 = -1.8 < -1 */
    CHECK_INT_EQ(flint_sampler_sample(s, neg), 0);
    flint_sampler_free(s);

    flint_sampling_params q = {.temperature = 0, .presence_penalty = 2};
    CHECK(flint_sampler_create(&q, 3, &s) == FLINT_OK);
    float m[3] = {2, 1, 0};
    flint_sampler_accept(s, 0); /* 2 - 2 < 1 */
    CHECK_INT_EQ(flint_sampler_sample(s, m), 1);
    flint_sampler_accept(s, 99); /* out of range: ignored */
    flint_sampler_free(s);
    CHECK(flint_sampler_create(&q, 0, &s) == FLINT_E_INVALID_ARG);
}

static void test_determinism_and_scale(void) {
    TEST_GROUP("determinism");
    enum { V = 262144 };
    float *l = malloc(V * sizeof *l);
    uint64_t x = 1;
    for (int i = 0; i < V; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        l[i] = (float)((x >> 40) % 2000) / 100.0f; /* many ties, range 0..20 */
    }
    flint_sampling_params p = {.temperature = 0.8f, .top_p = 0.95f, .seed = 42};
    flint_sampler *a, *b;
    CHECK(flint_sampler_create(&p, V, &a) == FLINT_OK && flint_sampler_create(&p, V, &b) == FLINT_OK);
    int same = 1, in_range = 1, distinct = 0;
    int32_t prev = -1;
    for (int i = 0; i < 50; i++) {
        int32_t ta = flint_sampler_sample(a, l), tb = flint_sampler_sample(b, l);
        same &= ta == tb;
        in_range &= ta >= 0 && ta < V;
        /* top-p 0.95 of this distribution never keeps logits below 14.5 */
        in_range &= l[ta] >= 14.5f;
        distinct += ta != prev;
        prev = ta;
    }
    CHECK(same);
    CHECK(in_range);
    CHECK(distinct > 10);
    flint_sampler_reset(a);
    flint_sampling_params p2 = p;
    p2.seed = 43;
    flint_sampler *c;
    CHECK(flint_sampler_create(&p2, V, &c) == FLINT_OK);
    int differ = 0;
    for (int i = 0; i < 20; i++) differ += flint_sampler_sample(a, l) != flint_sampler_sample(c, l);
    CHECK(differ > 0);
    flint_sampler_free(a);
    flint_sampler_free(b);
    flint_sampler_free(c);
    free(l);
}

int main(void) {
    test_distributions();
    test_greedy_and_penalties();
    test_determinism_and_scale();
    return test_finish("sample");
}
