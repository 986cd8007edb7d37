/* bench_tokenizer.c — encoding speed: MB/s of fl_tokenize over a 10 MB
 * text (median of 5 runs) with a real vocabulary (GPT-2 byte-level BPE from
 * ../shared/tokenizer-vectors unless argv[1] names another model).
 * argv[2] may name the text file (tools/bench_tokenizer.py passes the same
 * file to the `tokenizers` library for the side-by-side numbers in
 * docs/PERF.md); without it a mixed English/code/CJK/emoji text is made
 * here. Prints the id count so runs can be compared. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "tokenizer/tokenizer.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static char *make_text(size_t size) {
    static const char *words[] = {
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "with", "as", "was", "on", "tokenizer",
        "model", "inference", "memory", "bandwidth", "attention", "weights", "Hello", "World", "return",
        "int", "void", "struct", "while", "(x)", "{", "}", ";", "==", "->", "=", "+=", "x[i]", "123", "42",
        "3.14159", "2024", "we'll", "don't", "It's", "机器学习", "人工智能", "東京", "🦙", "😀", "naïve", "café",
        "Привет", "мир", "مرحبا", "  ", "\n", "\n\n", "\t", ",", ".", "!", "?", "\"quoted\"", "'single'"};
    size_t nw = sizeof words / sizeof words[0];
    char *t = malloc(size + 64);
    size_t n = 0;
    uint64_t s = 0x9E3779B97F4A7C15ull;
    while (n < size) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        /* a skewed pick: common words far more often, as in real text */
        size_t k = (size_t)((s % nw) * ((s >> 32) % nw) / nw);
        size_t l = strlen(words[k]);
        memcpy(t + n, words[k], l);
        n += l;
        if ((s >> 20) % 5) t[n++] = ' ';
    }
    t[n] = '\0';
    return t;
}

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : "../shared/tokenizer-vectors/ggml-vocab-gpt-2.gguf";
    fl_tokenizer *tok;
    if (fl_tokenizer_load(model, &tok)) {
        fprintf(stderr, "bench_tokenizer: %s\n", flint_errmsg());
        return 1;
    }
    char *text;
    uint64_t len;
    if (argc > 2) {
        if (fl_read_file(argv[2], 1ull << 31, &text, &len)) {
            fprintf(stderr, "bench_tokenizer: %s\n", flint_errmsg());
            return 1;
        }
    } else {
        text = make_text(10u << 20);
        len = strlen(text);
    }
    enum { RUNS = 5 };
    double t[RUNS];
    fl_tok_ids ids = {0};
    for (int r = 0; r < RUNS; r++) {
        ids.n = 0;
        double t0 = now();
        if (fl_tokenize(tok, text, (size_t)len, 0, &ids)) {
            fprintf(stderr, "bench_tokenizer: %s\n", flint_errmsg());
            return 1;
        }
        t[r] = now() - t0;
    }
    qsort(t, RUNS, sizeof t[0], cmp);
    printf("tokenizer encode: %s, %.1f MB text, %zu ids: median %.3f s = %.1f MB/s (min %.3f s, max %.3f s, %d runs, 1 thread)\n",
           model, len / 1e6, ids.n, t[RUNS / 2], len / 1e6 / t[RUNS / 2], t[0], t[RUNS - 1], RUNS);
    if (getenv("BENCH_IDS_OUT")) {
        FILE *f = fopen(getenv("BENCH_IDS_OUT"), "wb");
        if (f) fwrite(ids.ids, sizeof *ids.ids, ids.n, f), fclose(f);
    }
    fl_tok_ids_free(&ids);
    free(text);
    fl_tokenizer_free(tok);
    return 0;
}
