/* test_tokenizer.c — every tokenizer against independent references:
 * llama.cpp's test vectors for real vocabularies (../shared/tokenizer-vectors),
 * and small trained tokenizers whose ids come from `tokenizers` and
 * `sentencepiece` (tests/fixtures/tok, tools/gen_tokenizer_fixtures.py).
 * Also: decode round trips, the streaming decoder, bad input and the
 * linear-time guarantees (a 1 MB word, 100,000 special tokens in a row). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/file.h"
#include "harness.h"
#include "tokenizer/tokenizer.h"

#define VECTORS "../shared/tokenizer-vectors/"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static bool ids_equal(const fl_tok_ids *got, const int32_t *want, size_t n) {
    return got->n == n && (n == 0 || !memcmp(got->ids, want, n * sizeof *want));
}

static void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

static bool utf8_ok(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint8_t c = (uint8_t)s[i];
        size_t l = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (!l || i + l > n) return false;
        for (size_t k = 1; k < l; k++)
            if (((uint8_t)s[i + k] & 0xC0) != 0x80) return false;
        i += l;
    }
    return true;
}

/* Streams ids one at a time: every chunk is whole UTF-8 characters and,
 * for valid text, the chunks add up to the one-shot decode. */
static void check_stream(const fl_tokenizer *tok, const fl_tok_ids *ids, const fl_tok_text *whole) {
    fl_tok_stream st;
    fl_tok_stream_init(&st, tok, 0);
    fl_tok_text all = {0}, chunk = {0};
    bool chunks_ok = true;
    for (size_t i = 0; i < ids->n; i++) {
        chunk.n = 0;
        if (fl_tok_stream_push(&st, ids->ids[i], &chunk)) chunks_ok = false;
        if (!utf8_ok(chunk.s, chunk.n)) chunks_ok = false;
        fl_tok_text_append(&all, chunk.s, chunk.n);
    }
    chunk.n = 0;
    fl_tok_stream_flush(&st, &chunk);
    fl_tok_text_append(&all, chunk.s ? chunk.s : "", chunk.n);
    CHECK(chunks_ok);
    if (utf8_ok(whole->s, whole->n))
        CHECK_MSG(all.n == whole->n && !memcmp(all.s, whole->s, all.n), "stream \"%s\" vs \"%s\"", all.s, whole->s);
    else
        CHECK(utf8_ok(all.s, all.n));
    fl_tok_text_free(&all);
    fl_tok_text_free(&chunk);
}

/* llama.cpp's vocabulary test files: NAME.inp / NAME.out */
static void vectors(const char *name) {
    TEST_GROUP(name);
    char path[256], p_in[300], p_out[300];
    snprintf(path, sizeof path, VECTORS "%s", name);
    snprintf(p_in, sizeof p_in, "%s.inp", path);
    snprintf(p_out, sizeof p_out, "%s.out", path);
    fl_tokenizer *tok;
    flint_status st = fl_tokenizer_load(path, &tok);
    CHECK_MSG(st == FLINT_OK, "%s", flint_errmsg());
    if (st) return;
    char *in, *out;
    uint64_t in_len, out_len;
    if (fl_read_file(p_in, 1 << 24, &in, &in_len) || fl_read_file(p_out, 1 << 24, &out, &out_len)) {
        CHECK_MSG(0, "%s", flint_errmsg());
        fl_tokenizer_free(tok);
        return;
    }
    static const char sep[] = "\n__ggml_vocab_test__\n";
    char *p = in, *line = out;
    int cases = 0;
    fl_tok_ids ids = {0}, want = {0};
    while (p < in + in_len) {
        char *end = strstr(p, sep);
        if (!end) break;
        char *nl = strchr(line, '\n');
        if (!nl) break;
        *nl = '\0';
        want.n = 0;
        for (char *q = line; *q;) {
            char *e;
            long v = strtol(q, &e, 10);
            if (e == q) break;
            fl_tok_ids tmp = want;
            want = tmp;
            want.n++;
            if (want.n > want.cap) {
                want.cap = want.cap ? want.cap * 2 : 64;
                want.ids = realloc(want.ids, want.cap * sizeof *want.ids);
            }
            want.ids[want.n - 1] = (int32_t)v;
            q = e;
        }
        ids.n = 0;
        CHECK(fl_tokenize(tok, p, (size_t)(end - p), 0, &ids) == FLINT_OK);
        bool eq = ids_equal(&ids, want.ids, want.n);
        CHECK_MSG(eq, "case %d \"%.*s\"", cases, (int)(end - p > 60 ? 60 : end - p), p);
        if (!eq) print_ids("got ", ids.ids, ids.n), print_ids("want", want.ids, want.n);
        fl_tok_text txt = {0};
        CHECK(fl_detokenize(tok, ids.ids, ids.n, 0, &txt) == FLINT_OK);
        check_stream(tok, &ids, &txt);
        fl_tok_text_free(&txt);
        cases++;
        p = end + sizeof sep - 1;
        line = nl + 1;
    }
    CHECK_MSG(cases >= 40, "only %d cases read", cases);
    fl_tok_ids_free(&ids);
    fl_tok_ids_free(&want);
    free(in);
    free(out);
    fl_tokenizer_free(tok);
}

static size_t unhex(const char *h, char *out) {
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (char)v;
    }
    return n;
}

static bool json_ids_equal(const fl_tok_ids *got, json_t *arr) {
    if (got->n != json_array_size(arr)) return false;
    for (size_t i = 0; i < got->n; i++)
        if (got->ids[i] != json_integer_value(json_array_get(arr, i))) return false;
    return true;
}

/* tests/fixtures/tok/<dir>/cases.json through the tokenizer at model */
static void trained(const char *group, const char *model, const char *dir, const char *key, unsigned flags,
                    bool roundtrip) {
    TEST_GROUP(group);
    fl_tokenizer *tok;
    flint_status st = fl_tokenizer_load(model, &tok);
    CHECK_MSG(st == FLINT_OK, "%s: %s", model, flint_errmsg());
    if (st) return;
    char path[256];
    snprintf(path, sizeof path, "%s/cases.json", dir);
    json_error_t je;
    json_t *cases = json_load_file(path, 0, &je);
    CHECK_MSG(cases != NULL, "%s: %s", path, je.text);
    size_t i, n = 0;
    json_t *c;
    fl_tok_ids ids = {0};
    json_array_foreach(cases, i, c) {
        json_t *want = json_object_get(c, key);
        if (!want) continue;
        const char *hex = json_string_value(json_object_get(c, "hex"));
        char *text = malloc(strlen(hex) / 2 + 1);
        size_t len = unhex(hex, text);
        ids.n = 0;
        CHECK(fl_tokenize(tok, text, len, flags, &ids) == FLINT_OK);
        bool eq = json_ids_equal(&ids, want);
        CHECK_MSG(eq, "%s case %zu \"%.*s\"", key, i, (int)(len > 50 ? 50 : len), text);
        if (!eq) print_ids("got", ids.ids, ids.n);
        fl_tok_text txt = {0};
        CHECK(fl_detokenize(tok, ids.ids, ids.n, FL_DETOK_SPECIAL, &txt) == FLINT_OK);
        if (roundtrip && json_is_true(json_object_get(c, "lossless")))
            CHECK_MSG(txt.n == len && !memcmp(txt.s, text, len), "round trip of case %zu: \"%s\"", i, txt.s);
        fl_tok_text_free(&txt);
        txt = (fl_tok_text){0};
        CHECK(fl_detokenize(tok, ids.ids, ids.n, 0, &txt) == FLINT_OK);
        check_stream(tok, &ids, &txt);
        fl_tok_text_free(&txt);
        free(text);
        n++;
    }
    CHECK_MSG(n >= 25, "only %zu cases", n);
    fl_tok_ids_free(&ids);
    json_decref(cases);
    fl_tokenizer_free(tok);
}

static void specials_and_flags(void) {
    TEST_GROUP("flags");
    fl_tokenizer *tok;
    if (fl_tokenizer_load(FIXTURE("tok/spm/vocab.gguf"), &tok)) {
        CHECK_MSG(0, "%s", flint_errmsg());
        return;
    }
    fl_tok_ids ids = {0};
    CHECK(fl_tokenize(tok, "<bos>hi", 7, FL_TOK_ADD_BOS | FL_TOK_PARSE_SPECIAL, &ids) == FLINT_OK);
    CHECK(ids.n >= 3 && ids.ids[0] == 2 && ids.ids[1] == 2);
    ids.n = 0;
    CHECK(fl_tokenize(tok, "<bos>", 5, 0, &ids) == FLINT_OK);
    CHECK(ids.n > 1); /* not parsed: written out as text */
    CHECK_INT_EQ(fl_tokenizer_bos(tok), 2);
    CHECK_INT_EQ(fl_tokenizer_eos(tok), 1);
    CHECK(fl_tokenizer_add_bos(tok));
    CHECK(fl_tokenizer_is_stop(tok, 1));
    CHECK(fl_tokenizer_is_stop(tok, fl_tokenizer_find(tok, "<end_of_turn>", 13)));
    /* invalid UTF-8 and NUL go to byte tokens and come back exactly */
    const char bad[] = "a\xff\x00z\xc3";
    ids.n = 0;
    CHECK(fl_tokenize(tok, bad, sizeof bad - 1, 0, &ids) == FLINT_OK);
    fl_tok_text txt = {0};
    CHECK(fl_detokenize(tok, ids.ids, ids.n, 0, &txt) == FLINT_OK);
    CHECK(txt.n == sizeof bad - 1 && !memcmp(txt.s, bad, txt.n));
    fl_tok_text_free(&txt);
    int32_t oob = 1 << 30;
    CHECK_FAILS(fl_detokenize(tok, &oob, 1, 0, &txt), FLINT_E_INVALID_ARG, "outside the vocabulary");
    fl_tok_text_free(&txt);
    fl_tok_ids_free(&ids);
    fl_tokenizer_free(tok);
}

/* 1 MB of one word, 1 MB of spaces and 100,000 special tokens in a row
 * must stay near-linear: each must finish in well under a second. */
static void big_inputs(const char *model, const char *special) {
    TEST_GROUP("big inputs");
    fl_tokenizer *tok;
    if (fl_tokenizer_load(model, &tok)) {
        CHECK_MSG(0, "%s", flint_errmsg());
        return;
    }
    size_t n = 1 << 20, sl = strlen(special);
    char *buf = malloc((100000 * sl > n ? 100000 * sl : n) + 1);
    fl_tok_ids ids = {0};
    const char fills[] = {'a', ' ', '\n', '7'};
    for (int f = 0; f < 4; f++) {
        memset(buf, fills[f], n);
        ids.n = 0;
        double t0 = now();
        CHECK(fl_tokenize(tok, buf, n, 0, &ids) == FLINT_OK);
        double dt = now() - t0;
        CHECK_MSG(dt < 3.0, "%s: 1 MB of '%c' took %.2f s", model, fills[f], dt);
        CHECK(ids.n > 0);
    }
    for (int i = 0; i < 100000; i++) memcpy(buf + (size_t)i * sl, special, sl);
    ids.n = 0;
    double t0 = now();
    CHECK(fl_tokenize(tok, buf, 100000 * sl, FL_TOK_PARSE_SPECIAL, &ids) == FLINT_OK);
    CHECK_MSG(now() - t0 < 2.0, "100,000 specials took %.2f s", now() - t0);
    CHECK_INT_EQ(ids.n, 100000);
    ids.n = 0;
    t0 = now();
    CHECK(fl_tokenize(tok, buf, 100000 * sl, 0, &ids) == FLINT_OK);
    CHECK_MSG(now() - t0 < 3.0, "100,000 unparsed specials took %.2f s", now() - t0);
    fl_tok_ids_free(&ids);
    free(buf);
    fl_tokenizer_free(tok);
}

static void bad_files(void) {
    TEST_GROUP("bad files");
    fl_tokenizer *tok = NULL;
    CHECK_FAILS(fl_tokenizer_load("tests/fixtures/tok/does-not-exist.gguf", &tok), FLINT_E_IO, "does-not-exist");
    const char *bad[] = {
        "{", "[]", "{\"model\": {\"type\": \"Unigram\", \"vocab\": {}}}",
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}}}",
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"ab\"]}}",
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}}",
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        flint_status st = fl_tokenizer_load_hf_json(bad[i], strlen(bad[i]), NULL, 0, "bad/tokenizer.json", &tok);
        CHECK_MSG(st != FLINT_OK && strstr(flint_errmsg(), "bad/tokenizer.json"), "case %zu: %s", i, flint_errmsg());
        CHECK(tok == NULL);
    }
}

int main(void) {
    vectors("ggml-vocab-llama-spm.gguf");
    vectors("ggml-vocab-gpt-2.gguf");
#define T(d) "tests/fixtures/tok/" d
    trained("bytelevel (Qwen3.5 regex, NFC)", T("bytelevel"), T("bytelevel"), "ids", 0, true);
    trained("bytelevel special", T("bytelevel"), T("bytelevel"), "ids_special", FL_TOK_PARSE_SPECIAL, true);
    trained("gpt2 ByteLevel regex", T("gpt2"), T("gpt2"), "ids", 0, true);
    trained("gpt2 special", T("gpt2"), T("gpt2"), "ids_special", FL_TOK_PARSE_SPECIAL, true);
    trained("gemma4 tokenizer.json", T("gemma4"), T("gemma4"), "ids", 0, true);
    trained("gemma4 tokenizer.json special", T("gemma4"), T("gemma4"), "ids_special", FL_TOK_PARSE_SPECIAL, true);
    trained("gemma4 gguf", T("gemma4/vocab.gguf"), T("gemma4"), "ids", 0, true);
    trained("gemma4 gguf special", T("gemma4/vocab.gguf"), T("gemma4"), "ids_special", FL_TOK_PARSE_SPECIAL, true);
    trained("spm gguf vs sentencepiece", T("spm/vocab.gguf"), T("spm"), "ids", 0, true);
    trained("spm tokenizer.json (GemmaConverter)", T("spm"), T("spm"), "ids_hf_plain", 0, true);
    trained("spm tokenizer.json special", T("spm"), T("spm"), "ids_hf", FL_TOK_PARSE_SPECIAL, false);
    specials_and_flags();
    big_inputs(T("bytelevel"), "<|im_end|>");
    big_inputs(T("spm/vocab.gguf"), "<end_of_turn>");
    big_inputs(T("gemma4/vocab.gguf"), "<turn|>");
    big_inputs(VECTORS "ggml-vocab-gpt-2.gguf", "<|endoftext|>");
    bad_files();
    return test_finish("test_tokenizer");
}
