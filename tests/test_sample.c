/* test_sample.c — the sampler against the distributions it must draw from:
 * frequencies over many draws vs the analytic probabilities after each
 * truncation, greedy ties, penalties and their window, determinism; the
 * new parts (bias, frequency penalty, log-probs, validation); and the
 * independent NumPy reference tools/ref_sampling.py on a 262144-token
 * vocabulary (tests/fixtures/sampling/sampling.txt): greedy choices with
 * penalties and bias (exact ids), raw log-probs and their top N (1e-5),
 * the final candidate sets (exact) and probabilities (1e-5). */
#include <math.h>
#include <stdlib.h>

#include "base/file.h"
#include "harness.h"
#include "sample/sample.h"
#include "words.h"

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

static void test_bias_frequency_validation(void) {
    TEST_GROUP("bias, frequency, validation");
    flint_sampler *s;
    float l[4] = {3, 2, 1, 0};
    /* bias first, penalties after: token 1 at 2 + 2 = 4, repeated: 4 / 2 = 2 < 3 */
    flint_logit_bias b[] = {{1, 2}, {0, -INFINITY}};
    flint_sampling_params p = {.repetition_penalty = 2, .logit_bias = b, .n_logit_bias = 1};
    CHECK(flint_sampler_create(&p, 4, &s) == FLINT_OK);
    b[0].bias = -100; /* copied at create */
    CHECK_INT_EQ(flint_sampler_sample(s, l), 1);
    flint_sampler_accept(s, 1);
    CHECK_INT_EQ(flint_sampler_sample(s, l), 0);
    flint_sampler_free(s);
    b[0].bias = 2;
    p = (flint_sampling_params){.logit_bias = b, .n_logit_bias = 2, .temperature = 1};
    CHECK(flint_sampler_create(&p, 4, &s) == FLINT_OK);
    int banned = 0;
    for (int i = 0; i < 2000; i++) banned += flint_sampler_sample(s, l) == 0;
    CHECK_INT_EQ(banned, 0);
    flint_sampler_free(s);

    /* frequency: c * f; presence once */
    p = (flint_sampling_params){.frequency_penalty = 0.75f, .presence_penalty = 0.25f, .penalty_last_n = -1};
    CHECK(flint_sampler_create(&p, 4, &s) == FLINT_OK);
    flint_sampler_accept(s, 0); /* 3 - 0.75 - 0.25 = 2 ties with token 1: the lower id wins */
    CHECK_INT_EQ(flint_sampler_sample(s, l), 0);
    flint_sampler_accept(s, 0); /* 3 - 1.5 - 0.25 = 1.25 < 2 */
    CHECK_INT_EQ(flint_sampler_sample(s, l), 1);
    for (int i = 0; i < 100; i++) flint_sampler_accept(s, 3); /* -1 (all): nothing falls out */
    CHECK_INT_EQ(flint_sampler_sample(s, l), 1);
    flint_sampler_reset(s);
    CHECK_INT_EQ(flint_sampler_sample(s, l), 0);
    flint_sampler_free(s);
    float banned_all[2] = {-INFINITY, NAN};
    CHECK(flint_sampler_create(NULL, 2, &s) == FLINT_OK); /* NULL params: greedy */
    CHECK_INT_EQ(flint_sampler_sample(s, banned_all), -1);
    flint_sampler_free(s);

    /* each bad field refused by name */
    flint_sampling_params bad;
#define REFUSED(field, value, needle)                                                \
    bad = (flint_sampling_params){0};                                                \
    bad.field = value;                                                               \
    CHECK_FAILS(flint_sampler_create(&bad, 4, &s), FLINT_E_INVALID_ARG, needle);     \
    CHECK(s == NULL)
    REFUSED(temperature, -0.5f, "temperature");
    REFUSED(temperature, NAN, "temperature");
    REFUSED(top_p, 1.5f, "top_p");
    REFUSED(top_p, -0.1f, "top_p");
    REFUSED(min_p, 2, "min_p");
    REFUSED(min_p, NAN, "min_p");
    REFUSED(repetition_penalty, -1, "repetition_penalty");
    REFUSED(repetition_penalty, NAN, "repetition_penalty");
    REFUSED(presence_penalty, 2.5f, "presence_penalty");
    REFUSED(presence_penalty, NAN, "presence_penalty");
    REFUSED(frequency_penalty, -2.5f, "frequency_penalty");
    REFUSED(penalty_last_n, -2, "penalty_last_n");
    REFUSED(n_logit_bias, 1, "logit_bias");
    bad = (flint_sampling_params){.logit_bias = (flint_logit_bias[]){{4, 1}}, .n_logit_bias = 1};
    CHECK_FAILS(flint_sampler_create(&bad, 4, &s), FLINT_E_INVALID_ARG, "logit_bias[0] token 4");
    bad = (flint_sampling_params){.logit_bias = (flint_logit_bias[]){{0, 1}, {1, NAN}}, .n_logit_bias = 2};
    CHECK_FAILS(flint_sampler_create(&bad, 4, &s), FLINT_E_INVALID_ARG, "logit_bias[1] bias");
    bad = (flint_sampling_params){.presence_penalty = -2, .frequency_penalty = 2, .top_p = 1, .min_p = 1,
                                  .penalty_last_n = -1};
    CHECK(flint_sampler_create(&bad, 4, &s) == FLINT_OK); /* the ends of the ranges */
    flint_sampler_free(s);
#undef REFUSED
}

static void test_logprobs(void) {
    TEST_GROUP("logprobs");
    flint_sampler *s;
    flint_sampling_params p = {.temperature = 0.5f, .repetition_penalty = 3, .logit_bias = (flint_logit_bias[]){{2, 5}},
                               .n_logit_bias = 1};
    CHECK(flint_sampler_create(&p, 4, &s) == FLINT_OK);
    flint_sampler_accept(s, 0);
    float l[4] = {logf(0.5f), logf(0.25f), logf(0.25f), -INFINITY};
    float lp;
    flint_token_logprob top[6];
    /* raw: neither the bias, the penalty nor the temperature show */
    CHECK(flint_sampler_logprobs(s, l, 2, 6, &lp, top) == FLINT_OK);
    CHECK_NEAR(lp, logf(0.25f), 1e-6);
    CHECK_INT_EQ(top[0].token, 0);
    CHECK_NEAR(top[0].logprob, logf(0.5f), 1e-6);
    CHECK_INT_EQ(top[1].token, 1); /* tie: the lower id first */
    CHECK_INT_EQ(top[2].token, 2);
    CHECK_INT_EQ(top[3].token, 3);
    CHECK(top[3].logprob == -INFINITY);
    CHECK_INT_EQ(top[4].token, -1); /* past the vocabulary */
    CHECK(top[5].logprob == -INFINITY);
    CHECK(flint_sampler_logprobs(s, l, 3, 0, &lp, NULL) == FLINT_OK && lp == -INFINITY);
    CHECK_FAILS(flint_sampler_logprobs(s, l, 4, 1, &lp, top), FLINT_E_INVALID_ARG, "token 4");
    CHECK_FAILS(flint_sampler_logprobs(s, l, 0, 21, &lp, top), FLINT_E_INVALID_ARG, "n_top 21");
    CHECK_FAILS(flint_sampler_logprobs(s, l, 0, -1, &lp, top), FLINT_E_INVALID_ARG, "n_top -1");
    l[1] = NAN;
    CHECK_FAILS(flint_sampler_logprobs(s, l, 0, 1, &lp, top), FLINT_E_NUMERIC, "NaN");
    l[1] = INFINITY;
    CHECK_FAILS(flint_sampler_logprobs(s, l, 0, 1, &lp, top), FLINT_E_NUMERIC, "+inf");
    float none[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    CHECK_FAILS(flint_sampler_logprobs(s, none, 0, 1, &lp, top), FLINT_E_NUMERIC, "all -inf");
    flint_sampler_free(s);
}

static void test_topk_orders(void) {
    TEST_GROUP("top-k over any order");
    /* logits ascending by id: every logit enters the running top list, which
     * gives up for quickselect; descending: none after the first k */
    enum { N = 100000, K = 200 };
    float *l = malloc(N * sizeof *l);
    for (int dir = 0; dir < 2; dir++) {
        for (int32_t i = 0; i < N; i++) l[i] = (float)(dir ? N - i : i) * 1e-3f;
        flint_sampler *s;
        flint_sampling_params p = {.temperature = 1, .top_k = K};
        CHECK(flint_sampler_create(&p, N, &s) == FLINT_OK);
        const fl_sample_cand *c;
        int32_t n = fl_sampler_dist(s, l, &c);
        CHECK_INT_EQ(n, K);
        int in_top = 1;
        for (int32_t i = 0; i < n; i++) in_top &= dir ? c[i].id < K : c[i].id >= N - K;
        CHECK_MSG(in_top, "%s logits: a candidate outside the top %d", dir ? "descending" : "ascending", K);
        flint_sampler_free(s);
    }
    free(l);
}

/* ---- against tools/ref_sampling.py ---- */

enum { REF_V = 262144, REF_ROWS = 3 };

/* The fixture's logits, by the recipe of ref_sampling.py's gen_logits:
 * token i from splitmix64's (i+1)-th output z; one in 4096 a head token in
 * [4, 8) * 2^shift, the rest in [-8, 0) * 2^shift; all exact in float. */
static void gen_logits(uint64_t seed, int shift, float *out) {
    uint64_t x = seed;
    for (int32_t i = 0; i < REF_V; i++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        if (((z >> 8) & 0xfff) == 0) out[i] = ldexpf((float)((1 << 20) + (int32_t)((z >> 20) & 0xfffff)), shift - 18);
        else out[i] = ldexpf((float)((int32_t)(z >> 40) - (1 << 24)), shift - 21);
    }
}

/* Reads "temp .. top_k .. ... bias N (tok b)* hist N (tok)*" into p (the
 * bias list into bias[]) and creates the sampler with the history accepted. */
static flint_sampler *ref_sampler(words *w, flint_logit_bias *bias, int32_t max_bias) {
    flint_sampling_params p = {0};
    p.temperature = (float)word_real(w, "temp");
    p.top_k = (int32_t)word_int(w, "top_k");
    p.top_p = (float)word_real(w, "top_p");
    p.min_p = (float)word_real(w, "min_p");
    p.repetition_penalty = (float)word_real(w, "rep");
    p.presence_penalty = (float)word_real(w, "pres");
    p.frequency_penalty = (float)word_real(w, "freq");
    p.penalty_last_n = (int32_t)word_int(w, "last_n");
    p.n_logit_bias = (int32_t)word_int(w, "bias");
    if (p.n_logit_bias > max_bias) w->ok = 0, p.n_logit_bias = 0;
    for (int32_t i = 0; i < p.n_logit_bias; i++) {
        bias[i].token = (int32_t)word_int(w, NULL);
        bias[i].bias = (float)word_real(w, NULL);
    }
    p.logit_bias = bias;
    flint_sampler *s = NULL;
    if (!w->ok || flint_sampler_create(&p, REF_V, &s) != FLINT_OK) {
        w->ok = 0;
        return NULL;
    }
    long long n = word_int(w, "hist");
    for (long long i = 0; i < n && w->ok; i++) flint_sampler_accept(s, (int32_t)word_int(w, NULL));
    return s;
}

static void test_reference(void) {
    TEST_GROUP("reference");
    char *text = NULL;
    uint64_t len;
    if (fl_read_file(FIXTURE("sampling/sampling.txt"), 1 << 20, &text, &len) != FLINT_OK) {
        CHECK_MSG(0, "%s", flint_errmsg());
        return;
    }
    words w = {text, 1};
    float *rows = malloc((size_t)REF_ROWS * REF_V * sizeof *rows), *dense = malloc(REF_V * sizeof *dense);
    for (int32_t i = 0; i < REF_V; i++) dense[i] = -1;
    CHECK_INT_EQ(word_int(&w, "vocab"), REF_V);
    for (int r = 0; r < REF_ROWS; r++) {
        CHECK_INT_EQ(word_int(&w, "row"), r);
        uint64_t seed = (uint64_t)word_int(&w, "seed");
        gen_logits(seed, (int)word_int(&w, "shift"), rows + (size_t)r * REF_V);
    }
    flint_logit_bias bias[16];
    int n_greedy = 0, n_logprobs = 0, n_dist = 0;
    double worst_lp = 0, worst_p = 0;
    const char *kind;
    while (w.ok && (kind = word_next(&w))) {
        long long r = word_int(&w, "row");
        if (r < 0 || r >= REF_ROWS) break;
        const float *l = rows + (size_t)r * REF_V;
        if (!strcmp(kind, "greedy")) {
            flint_sampler *s = ref_sampler(&w, bias, 16);
            long long want = word_int(&w, "expect");
            if (!s) break;
            int32_t got = flint_sampler_sample(s, l);
            CHECK_MSG(got == want, "greedy case %d: token %d, the reference %lld", n_greedy, got, want);
            n_greedy++;
            flint_sampler_free(s);
        } else if (!strcmp(kind, "logprobs")) {
            int32_t token = (int32_t)word_int(&w, "token"), n = (int32_t)word_int(&w, "n");
            double want = word_real(&w, "lp");
            word_key(&w, "top");
            flint_sampler *s;
            flint_token_logprob top[FLINT_MAX_TOP_LOGPROBS];
            float lp = 0;
            if (n < 0 || n > FLINT_MAX_TOP_LOGPROBS || flint_sampler_create(NULL, REF_V, &s) != FLINT_OK) break;
            CHECK(flint_sampler_logprobs(s, l, token, n, &lp, top) == FLINT_OK);
            CHECK_NEAR(lp, want, 1e-5);
            worst_lp = fmax(worst_lp, fabs(lp - want));
            for (int32_t j = 0; j < n; j++) {
                int32_t t = (int32_t)word_int(&w, NULL);
                double v = word_real(&w, NULL);
                CHECK_MSG(top[j].token == t, "logprobs case %d: top[%d] is token %d, the reference %d", n_logprobs, j,
                          top[j].token, t);
                CHECK_NEAR(top[j].logprob, v, 1e-5);
                worst_lp = fmax(worst_lp, fabs(top[j].logprob - v));
            }
            n_logprobs++;
            flint_sampler_free(s);
        } else if (!strcmp(kind, "dist")) {
            flint_sampler *s = ref_sampler(&w, bias, 16);
            long long n = word_int(&w, "n"), idsum = word_int(&w, "idsum"), listed = word_int(&w, "listed");
            if (!s) break;
            const fl_sample_cand *c;
            int32_t got = fl_sampler_dist(s, l, &c);
            CHECK_MSG(got == n, "dist case %d: %d candidates, the reference %lld", n_dist, got, n);
            long long sum = 0;
            int dup = 0;
            for (int32_t i = 0; i < got; i++) {
                sum += c[i].id;
                dup += dense[c[i].id] >= 0;
                dense[c[i].id] = c[i].v;
            }
            CHECK_MSG(sum == idsum && !dup, "dist case %d: ids sum to %lld (%d repeated), the reference's to %lld",
                      n_dist, sum, dup, idsum);
            int missing = 0;
            for (long long j = 0; j < listed; j++) {
                int32_t t = (int32_t)word_int(&w, NULL);
                double v = word_real(&w, NULL);
                if (t < 0 || t >= REF_V || dense[t] < 0) {
                    missing++;
                    continue;
                }
                CHECK_NEAR(dense[t], v, 1e-5);
                worst_p = fmax(worst_p, fabs(dense[t] - v));
            }
            CHECK_MSG(missing == 0, "dist case %d: %d of the reference's candidates missing", n_dist, missing);
            for (int32_t i = 0; i < got; i++) dense[c[i].id] = -1;
            n_dist++;
            flint_sampler_free(s);
        } else {
            w.ok = 0;
        }
    }
    CHECK_MSG(w.ok, "sampling.txt is malformed near \"%.40s\"", w.at);
    CHECK_MSG(n_greedy >= 30 && n_logprobs >= 12 && n_dist >= 15, "cases read: %d greedy, %d logprobs, %d dist",
              n_greedy, n_logprobs, n_dist);
    printf("reference: %d greedy, %d logprobs, %d distributions; worst |dlogprob| %.2g, |dp| %.2g\n", n_greedy,
           n_logprobs, n_dist, worst_lp, worst_p);
    free(rows);
    free(dense);
    free(text);
}

int main(void) {
    test_distributions();
    test_greedy_and_penalties();
    test_determinism_and_scale();
    test_bias_frequency_validation();
    test_logprobs();
    test_topk_orders();
    test_reference();
    return test_finish("sample");
}
