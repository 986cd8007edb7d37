/* test_stop.c — the stop-string matcher (engine/stop.h): hand-made cases,
 * then a randomized comparison with a naive reference (concatenate all the
 * pieces, find the earliest occurrence) over random stop sets and random
 * splits, checking also what is held back after every piece, and the
 * cases tools/ref_sampling.py wrote (tests/fixtures/sampling/stops.txt). */
#include <stdint.h>
#include <stdlib.h>

#include "base/file.h"
#include "engine/stop.h"
#include "harness.h"
#include "words.h"

/* Feeds the pieces (NULL-terminated) and flushes if no stop matched;
 * returns the text emitted and whether a stop matched. */
static bool run(const char *const *stops, size_t n_stops, const char *const *pieces, fl_tok_text *out) {
    fl_stop s;
    out->n = 0;
    if (fl_stop_init(&s, stops, n_stops) != FLINT_OK) abort();
    bool hit = false;
    for (size_t i = 0; pieces[i] && !hit; i++) hit = fl_stop_feed(&s, pieces[i], strlen(pieces[i]), out);
    if (!hit) hit = fl_stop_flush(&s, out);
    fl_tok_text_append(out, "", 0); /* NUL-terminates an empty text too */
    fl_stop_free(&s);
    return hit;
}

#define RUN(stops, ...)                                                                                        \
    run((stops), sizeof(stops) / sizeof *(stops), (const char *const[]){__VA_ARGS__, NULL}, &out)

static void test_cases(void) {
    TEST_GROUP("cases");
    fl_tok_text out = {0};
    const char *eos[] = {"</s>"};
    CHECK(RUN(eos, "hello</s>world"));
    CHECK_STR_EQ(out.s, "hello");
    CHECK(RUN(eos, "hel", "lo<", "/", "s", ">wor", "ld"));
    CHECK_STR_EQ(out.s, "hello");
    CHECK(!RUN(eos, "a</", "x</s"));
    CHECK_STR_EQ(out.s, "a</x</s"); /* held back, then flushed */
    CHECK(RUN(eos, "</s>"));
    CHECK_STR_EQ(out.s, "");

    /* "bc" lies inside a possible "abcd": the earliest start decides */
    const char *nested[] = {"abcd", "bc"};
    CHECK(RUN(nested, "xabc", "d"));
    CHECK_STR_EQ(out.s, "x");
    CHECK(RUN(nested, "xabc", "e"));
    CHECK_STR_EQ(out.s, "xa");
    CHECK(RUN(nested, "xab", "c")); /* flushed with "bc" whole and "abcd" cut short */
    CHECK_STR_EQ(out.s, "xa");
    const char *prefixes[] = {"ab", "abab"};
    CHECK(RUN(prefixes, "xa", "bab"));
    CHECK_STR_EQ(out.s, "x");

    /* what is held back, piece by piece */
    fl_stop s;
    const char *two[] = {"<|im_end|>", "\n\nUser:"};
    CHECK(fl_stop_init(&s, two, 2) == FLINT_OK);
    out.n = 0;
    CHECK(!fl_stop_feed(&s, "Hi<|im", 6, &out));
    CHECK_INT_EQ(out.n, 2);
    CHECK_INT_EQ(s.n_buf, 4);
    CHECK(!fl_stop_feed(&s, "\n\nUs", 4, &out)); /* "<|im\n" can start nothing: out */
    CHECK_INT_EQ(out.n, 6);
    CHECK(!fl_stop_feed(&s, "e", 1, &out));
    CHECK_INT_EQ(s.n_buf, 5);
    CHECK(fl_stop_feed(&s, "r: hello", 8, &out));
    CHECK_INT_EQ(out.n, 6);
    CHECK(fl_stop_feed(&s, "more", 4, &out)); /* after a match: nothing */
    CHECK(fl_stop_flush(&s, &out));
    CHECK_INT_EQ(out.n, 6);
    fl_stop_reset(&s);
    CHECK(!fl_stop_feed(&s, "again", 5, &out));
    CHECK_INT_EQ(out.n, 11);
    CHECK(s.status == FLINT_OK);
    fl_stop_free(&s);

    /* no stops: everything passes; empty and NULL stops refused */
    const char *one[] = {"x"};
    CHECK(RUN(one, "no ", "x here"));
    CHECK_STR_EQ(out.s, "no ");
    CHECK(fl_stop_init(&s, NULL, 0) == FLINT_OK);
    out.n = 0;
    CHECK(!fl_stop_feed(&s, "anything", 8, &out) && !fl_stop_flush(&s, &out) && out.n == 8);
    fl_stop_free(&s);
    CHECK_FAILS(fl_stop_init(&s, (const char *[]){"a", ""}, 2), FLINT_E_INVALID_ARG, "string 1 is empty");
    CHECK_FAILS(fl_stop_init(&s, (const char *[]){NULL}, 1), FLINT_E_INVALID_ARG, "string 0 is NULL");
    fl_tok_text_free(&out);
}

/* ---- randomized, against the naive reference ---- */

static uint64_t rng_state = 12345;
static uint32_t rnd(uint32_t n) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

/* The earliest start of any stop in t[0..n), or n if none. */
static size_t naive_match(const char *const *stops, size_t n_stops, const char *t, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n_stops; k++) {
            size_t l = strlen(stops[k]);
            if (l <= n - i && !memcmp(t + i, stops[k], l)) return i;
        }
    return n;
}

/* The text that may be shown after t[0..n) was fed: up to the first
 * position where a stop string occurs or could still begin. */
static size_t naive_safe(const char *const *stops, size_t n_stops, const char *t, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n_stops; k++) {
            size_t l = strlen(stops[k]), m = l < n - i ? l : n - i;
            if (!memcmp(t + i, stops[k], m)) return i;
        }
    return n;
}

static void test_random(void) {
    TEST_GROUP("random splits");
    static const char alphabet[] = "abc\xc3\xa9"; /* 'é' gives multi-byte pieces */
    fl_tok_text out = {0};
    int bad_final = 0, bad_held = 0, bad_return = 0, runs = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char stop_text[4][8], *stops[4];
        size_t n_stops = 1 + rnd(4), max_len = 0;
        for (size_t k = 0; k < n_stops; k++) {
            size_t l = 1 + rnd(5);
            for (size_t j = 0; j < l; j++) stop_text[k][j] = alphabet[rnd(iter % 2 ? 3 : 5)];
            stop_text[k][l] = 0;
            stops[k] = stop_text[k];
            if (l > max_len) max_len = l;
        }
        char text[64];
        size_t n = rnd(48);
        for (size_t j = 0; j < n; j++) text[j] = alphabet[rnd(iter % 2 ? 3 : 5)];
        size_t want = naive_match((const char *const *)stops, n_stops, text, n);

        fl_stop s;
        if (fl_stop_init(&s, (const char *const *)stops, n_stops) != FLINT_OK) abort();
        out.n = 0;
        bool hit = false;
        size_t fed = 0;
        while (fed < n && !hit) {
            /* pieces of 0..6 bytes, or one byte at a time every 4th run */
            size_t len = iter % 4 == 0 ? 1 : rnd(7);
            if (len > n - fed) len = n - fed;
            hit = fl_stop_feed(&s, text + fed, len, &out);
            fed += len;
            if (!hit) {
                size_t safe = naive_safe((const char *const *)stops, n_stops, text, fed);
                bad_held += out.n != safe || memcmp(out.s, text, out.n) || s.n_buf != fed - safe ||
                            s.n_buf >= max_len;
            } else {
                /* a stop is certain only once it occurs in what was fed */
                bad_return += naive_match((const char *const *)stops, n_stops, text, fed) == fed;
            }
        }
        if (!hit) hit = fl_stop_flush(&s, &out);
        bad_return += hit != (want < n);
        bad_final += out.n != want || (want && memcmp(out.s, text, want));
        runs++;
        fl_stop_free(&s);
    }
    CHECK_MSG(bad_final == 0, "%d of %d runs emitted other text than the reference", bad_final, runs);
    CHECK_MSG(bad_held == 0, "%d pieces held back other than the longest possible stop start", bad_held);
    CHECK_MSG(bad_return == 0, "%d runs reported a match wrongly", bad_return);
    fl_tok_text_free(&out);
}

/* Decodes a hex word ("-": empty) in place; its length, or -1. */
static long unhex(char *h) {
    if (!h) return -1;
    if (!strcmp(h, "-")) return 0;
    size_t n = strlen(h);
    if (n % 2) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1) return -1;
        h[i] = (char)v;
    }
    h[n / 2] = 0;
    return (long)(n / 2);
}

static void test_reference(void) {
    TEST_GROUP("reference");
    char *text = NULL;
    uint64_t len;
    if (fl_read_file(FIXTURE("sampling/stops.txt"), 1 << 20, &text, &len) != FLINT_OK) {
        CHECK_MSG(0, "%s", flint_errmsg());
        return;
    }
    words w = {text, 1};
    fl_tok_text out = {0};
    int cases = 0, bad = 0;
    while (w.ok && word_next(&w)) { /* "stops" */
        char *stops[8], *pieces[64];
        long piece_len[64];
        long n_stops = word_int(&w, NULL);
        if (n_stops < 1 || n_stops > 8) break;
        for (long k = 0; k < n_stops; k++) {
            stops[k] = word_next(&w);
            if (unhex(stops[k]) <= 0) w.ok = 0;
        }
        long n_pieces = word_int(&w, "pieces");
        if (!w.ok || n_pieces < 0 || n_pieces > 64) break;
        for (long k = 0; k < n_pieces; k++) piece_len[k] = unhex(pieces[k] = word_next(&w));
        word_key(&w, "shown");
        char *shown = word_next(&w);
        long shown_len = unhex(shown);
        if (!w.ok || shown_len < 0) break;

        fl_stop s;
        CHECK(fl_stop_init(&s, (const char *const *)stops, (size_t)n_stops) == FLINT_OK);
        out.n = 0;
        bool hit = false;
        for (long k = 0; k < n_pieces && !hit; k++) {
            if (piece_len[k] < 0) w.ok = 0;
            else hit = fl_stop_feed(&s, pieces[k], (size_t)piece_len[k], &out);
        }
        if (!hit) fl_stop_flush(&s, &out);
        int same = out.n == (size_t)shown_len && (!out.n || !memcmp(out.s, shown, out.n));
        CHECK_MSG(same, "case %d: shown %zu bytes, the reference %ld", cases, out.n, shown_len);
        bad += !same;
        cases++;
        fl_stop_free(&s);
    }
    CHECK_MSG(w.ok, "stops.txt is malformed near \"%.40s\"", w.at);
    CHECK_MSG(cases >= 100, "%d cases read", cases);
    printf("reference: %d stop cases, %d differ\n", cases, bad);
    fl_tok_text_free(&out);
    free(text);
}

int main(void) {
    test_cases();
    test_random();
    test_reference();
    return test_finish("stop");
}
