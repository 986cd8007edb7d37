/* fuzz_expert_histogram.c — libFuzzer entry for the routing histogram's
 * file (experts/histogram.c): an accepted file is exactly its header and
 * n_layers x n_expert counts, and each count is the bytes it came from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "experts/histogram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fl_histogram h;
    if (fl_hist_parse(data, size, "fuzz.hist", &h) != FLINT_OK) {
        if (h.counts) abort();
        return 0;
    }
    const uint64_t n = (uint64_t)h.n_layers * (uint64_t)h.n_expert;
    if (h.n_layers <= 0 || h.n_expert <= 0 || size != FL_HIST_HEADER + 8 * n) abort();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = 0;
        for (int b = 7; b >= 0; b--) v = v << 8 | data[FL_HIST_HEADER + 8 * i + (uint64_t)b];
        if (v != h.counts[i]) abort();
    }
    fl_hist_free(&h);
    return 0;
}
