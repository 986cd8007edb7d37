/* fuzz_spm_model.c — libFuzzer entry point for the SentencePiece
 * tokenizer.model reader: any byte string must parse or fail with a
 * message, never crash, hang or leak; pieces lie inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "convert/spm_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fl_spm_piece *p;
    int64_t n;
    if (fl_spm_model_parse(data, size, "fuzz.model", &p, &n) == FLINT_OK) {
        volatile uint8_t sink = 0;
        for (int64_t i = 0; i < n; i++)
            if (p[i].len) sink ^= (uint8_t)p[i].text[p[i].len - 1];
        (void)sink;
        free(p);
    }
    return 0;
}
