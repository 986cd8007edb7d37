/* fuzz_convert.c — libFuzzer entry point for `flint convert` from a GGUF:
 * any byte string as the source, requantized to a type picked by its length,
 * must convert or fail with a message, never crash, hang or leak, and leave
 * no OUT.tmp behind. The type rules, the row maps and the writer see every
 * shape and type the GGUF reader lets through. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "convert/convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *types[] = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K", "Q4_K_M", "Q5_K_M"};
    char src[64], out[64], tmp[80];
    snprintf(src, sizeof src, "/tmp/fuzz-convert-%d.gguf", (int)getpid());
    snprintf(out, sizeof out, "/tmp/fuzz-convert-%d.out", (int)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(src, "wb");
    if (!f) return 0;
    size_t written = fwrite(data, 1, size, f);
    fclose(f);
    if (written == size) {
        fl_convert_params p = {.src = src, .out = out, .type = types[size % 10], .force = true, .n_threads = 1};
        fl_convert(&p);
        if (access(tmp, F_OK) == 0) abort(); /* a failure must not leave a half-written file */
    }
    remove(out);
    remove(src);
    return 0;
}
