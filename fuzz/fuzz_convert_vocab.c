/* fuzz_convert_vocab.c — libFuzzer entry point for the tokenizer half of
 * `flint convert` from an HF folder: the input, split at its first NUL, is
 * the folder's tokenizer.json and tokenizer_config.json; the first byte
 * picks the family whose path reads them (Qwen3.5's GPT-2 BPE or Gemma 4's
 * byte-fallback BPE). fl_cv_vocab_hf must write its keys or fail with a
 * message, never crash, hang or leak. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/plan.h"
#include "format/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_file(const char *dir, const char *name, const void *data, size_t size) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    if (fwrite(data, 1, size, f) != size) fprintf(stderr, "short write: %s\n", path);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const configs[2] = {"{\"vocab_size\": 64}", "{}"};
    static const char *const archs[2] = {"qwen35", "gemma4"};
    if (size < 1) return 0;
    const int family = data[0] & 1;
    data++, size--;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/fuzz-convert-vocab-%d", (int)getpid());
    mkdir(dir, 0700);
    const uint8_t *nul = memchr(data, 0, size);
    size_t n_tok = nul ? (size_t)(nul - data) : size;
    write_file(dir, "tokenizer.json", data, n_tok);
    write_file(dir, "tokenizer_config.json", nul ? nul + 1 : data, nul ? size - n_tok - 1 : 0);
    fl_meta config = {0};
    fl_cv_plan plan = {0};
    snprintf(plan.arch, sizeof plan.arch, "%s", archs[family]);
    bool written;
    if (fl_config_parse(configs[family], strlen(configs[family]), "config.json", &config) == FLINT_OK)
        fl_cv_vocab_hf(dir, &config, &plan, &written);
    fl_cv_plan_free(&plan);
    fl_meta_free(&config);
    char path[128];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    remove(path);
    rmdir(dir);
    return 0;
}
