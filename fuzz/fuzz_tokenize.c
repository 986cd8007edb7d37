/* fuzz_tokenize.c — libFuzzer entry for encoding and decoding: the first
 * byte picks a tokenizer (byte-level BPE with the Qwen3.5 regex and NFC,
 * SPM by scores, Gemma-4 character BPE; the fixtures in tests/fixtures/tok,
 * so run from the repository root) and the flags; the rest is the text.
 * Checks: no crash, ids in range, the streaming decoder emits only whole
 * UTF-8 characters, and SPM / character BPE (lossless on any bytes but a
 * literal '▁', which they read as a space) decode back to the input when
 * special tokens are not parsed. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static fl_tokenizer *toks[3];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *paths[3] = {"tests/fixtures/tok/bytelevel", "tests/fixtures/tok/spm/vocab.gguf",
                            "tests/fixtures/tok/gemma4/vocab.gguf"};
    for (int i = 0; i < 3; i++)
        if (fl_tokenizer_load(paths[i], &toks[i])) abort(); /* run from the repository root */
    return 0;
}

static int char_len(const uint8_t *p, size_t n) {
    uint8_t c = p[0];
    int l = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (!l || (size_t)l > n) return 0;
    for (int i = 1; i < l; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const fl_tokenizer *tok = toks[data[0] % 3];
    unsigned flags = (data[0] >> 2) & (FL_TOK_ADD_BOS | FL_TOK_PARSE_SPECIAL | FL_TOK_ADD_EOS);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    fl_tok_ids ids = {0};
    if (fl_tokenize(tok, text, len, flags, &ids)) abort();
    for (size_t i = 0; i < ids.n; i++)
        if (ids.ids[i] < 0 || ids.ids[i] >= fl_tokenizer_n_vocab(tok)) abort();
    fl_tok_text whole = {0};
    if (fl_detokenize(tok, ids.ids, ids.n, FL_DETOK_SPECIAL, &whole)) abort();
    bool meta = memmem(text, len, "\xE2\x96\x81", 3) != NULL;
    if (fl_tokenizer_algo(tok) != FL_TOK_BPE_BYTES && flags == 0 && !meta && (whole.n != len || memcmp(whole.s, text, len)))
        abort();
    fl_tok_stream st;
    fl_tok_stream_init(&st, tok, 0);
    fl_tok_text chunk = {0};
    for (size_t i = 0; i <= ids.n; i++) {
        chunk.n = 0;
        if (i < ids.n ? fl_tok_stream_push(&st, ids.ids[i], &chunk) : fl_tok_stream_flush(&st, &chunk)) abort();
        for (size_t k = 0; k < chunk.n;) {
            int l = char_len((const uint8_t *)chunk.s + k, chunk.n - k);
            if (!l) abort();
            k += (size_t)l;
        }
    }
    fl_tok_text_free(&chunk);
    fl_tok_text_free(&whole);
    fl_tok_ids_free(&ids);
    return 0;
}
