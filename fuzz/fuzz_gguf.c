/* fuzz_gguf.c — libFuzzer entry point for the GGUF reader: any byte string
 * must parse or fail with a message, never crash, hang or leak. */
#include <stddef.h>
#include <stdint.h>

#include "format/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fl_gguf g;
    if (fl_gguf_parse(&g, data, size, "fuzz.gguf") == FLINT_OK) {
        /* touch what a loader would: every tensor's bytes are in bounds */
        volatile uint8_t sink = 0;
        for (int64_t i = 0; i < g.n_tensors; i++)
            if (g.tensors[i].size) sink ^= ((const uint8_t *)g.tensors[i].data)[g.tensors[i].size - 1];
        (void)sink;
        fl_gguf_close(&g);
    }
    return 0;
}
