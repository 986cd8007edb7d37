/* fuzz_tokenizer_json.c — libFuzzer entry for tokenizer.json loading: any
 * input either fails with a message or gives a tokenizer that encodes and
 * decodes a fixed multilingual text and the input itself without crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fl_tokenizer *tok = NULL;
    if (fl_tokenizer_load_hf_json((const char *)data, size, NULL, 0, "fuzz/tokenizer.json", &tok)) {
        if (!flint_errmsg()[0]) abort();
        return 0;
    }
    static const char text[] = "Hello, y'all! 我想在apple工作 🦙 e\xcc\x81 \xff <|im_end|>\n\n  x";
    fl_tok_ids ids = {0};
    fl_tok_text out = {0};
    if (fl_tokenize(tok, text, sizeof text - 1, FL_TOK_PARSE_SPECIAL | FL_TOK_ADD_BOS, &ids) == FLINT_OK)
        fl_detokenize(tok, ids.ids, ids.n, FL_DETOK_SPECIAL, &out);
    ids.n = 0;
    if (fl_tokenize(tok, (const char *)data, size > 4096 ? 4096 : size, 0, &ids) == FLINT_OK)
        fl_detokenize(tok, ids.ids, ids.n, 0, &out);
    for (size_t i = 0; i < ids.n; i++)
        if (ids.ids[i] < 0 || ids.ids[i] >= fl_tokenizer_n_vocab(tok)) abort();
    fl_tok_ids_free(&ids);
    fl_tok_text_free(&out);
    fl_tokenizer_free(tok);
    return 0;
}
