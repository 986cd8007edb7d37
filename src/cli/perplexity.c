/* perplexity.c — `flint perplexity -m PATH -f FILE [-c 512] [--chunks N]
 * [-t THREADS]`, by the method of llama.cpp's perplexity tool so the two
 * can be compared number for number on the same GGUF: tokenize the whole
 * file (with BOS), cut it into chunks of c tokens, put BOS first in each
 * chunk, run each chunk from an empty cache and score the second half:
 * -log p(token[j+1] | logits[j]) for j in [c/2, c-1). Prints a running
 * estimate per chunk and ends with "perplexity: X.XXXX". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "cli/args.h"
#include "cli/model_arg.h"
#include "cli/cli.h"
#include "cli/experts.h"
#include "cli/gpu.h"
#include "flint.h"
#include "tokenizer/tokenizer.h"

/* -log softmax(logits)[target], in double */
static double nll(const float *logits, int32_t n_vocab, int32_t target) {
    double mx = logits[0], z = 0;
    for (int32_t i = 1; i < n_vocab; i++) mx = logits[i] > mx ? logits[i] : mx;
    for (int32_t i = 0; i < n_vocab; i++) z += exp(logits[i] - mx);
    return -(logits[target] - mx - log(z));
}

int cli_perplexity(int argc, char **argv) {
    const char *path = NULL, *file = NULL;
    cli_gpu_opts gpu = {0};
    int32_t gpu_layers = 0;
    int64_t gpu_memory = 0;
    cli_experts_opts experts = {0};
    int32_t n_ctx = 512, max_chunks = -1, threads = 0;
    int exact = 0;
    const cli_opt opts[] = {
        CLI_MODEL_OPT(path),
        {"-f", NULL, CLI_OPT_STRING, &file, .meta = "FILE", .required = 1, .help = "the text"},
        {"-c", NULL, CLI_OPT_INT32, &n_ctx, 4, 1 << 24, .help = "tokens per chunk"},
        {"--chunks", NULL, CLI_OPT_INT32, &max_chunks, 0, 1 << 30, .help = "score at most N chunks, by default all"},
        {"-t", NULL, CLI_OPT_INT32, &threads, 1, 1024, .help = "threads, by default one per physical core"},
        {"--exact", NULL, CLI_OPT_FLAG, &exact, .help = "f32 activations against the dequantized weights (slower; see docs/PERF.md)"},
        CLI_GPU_OPT(gpu),
        CLI_EXPERT_OPTS(experts),
    };
    const cli_cmd cmd = {"perplexity",
                         "Perplexity of a text file, as llama.cpp's perplexity tool computes it: chunks of c tokens\n"
                         "from an empty cache, BOS first, the second half of each scored.",
                         opts, CLI_N_OPTS(opts)};
    int parsed = cli_args_parse(&cmd, argc, argv);
    if (parsed) return parsed == 1 ? 0 : 2;
    if (cli_gpu_parse("perplexity", &gpu, &gpu_layers, &gpu_memory)) return 2;

    int rc = 1;
    char *text = NULL;
    uint64_t len = 0;
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    fl_tokenizer *tok = NULL;
    fl_tok_ids ids = {0};
    float *logits = NULL;
    int32_t *chunk = NULL;
    if (fl_read_file(file, 1ull << 32, &text, &len) || cli_model_open(path, &experts, &m) ||
        fl_tokenizer_load(path, &tok) || fl_tokenize(tok, text, (size_t)len, FL_TOK_ADD_BOS, &ids))
        goto fail;
    int64_t n_chunks = (int64_t)ids.n / n_ctx;
    if (max_chunks >= 0 && n_chunks > max_chunks) n_chunks = max_chunks;
    if (n_chunks == 0) {
        fprintf(stderr, "flint perplexity: %s has %zu tokens, fewer than one chunk of %d\n", file, ids.n, n_ctx);
        goto done;
    }
    flint_context_params cp = {.n_ctx = n_ctx, .n_batch = n_ctx, .n_threads = threads, .exact = exact,
                               .gpu = gpu.device, .gpu_layers = gpu_layers, .gpu_memory = gpu_memory};
    if (flint_context_create(m, &cp, &ctx)) goto fail;
    cli_experts_line(m, stderr);
    int32_t V = flint_context_n_vocab(ctx);
    logits = malloc((size_t)((int64_t)n_ctx * V) * sizeof *logits);
    chunk = malloc((size_t)n_ctx * sizeof *chunk);
    if (!logits || !chunk) {
        fprintf(stderr, "flint perplexity: out of memory\n");
        goto done;
    }
    fprintf(stderr, "%zu tokens, %lld chunks of %d\n", ids.n, (long long)n_chunks, n_ctx);
    double sum = 0;
    int64_t count = 0;
    int32_t bos = fl_tokenizer_bos(tok);
    for (int64_t c = 0; c < n_chunks; c++) {
        memcpy(chunk, ids.ids + c * n_ctx, (size_t)n_ctx * sizeof *chunk);
        if (bos >= 0 && fl_tokenizer_add_bos(tok)) chunk[0] = bos;
        if (flint_seq_reset(ctx, 0) || flint_decode(ctx, 0, chunk, n_ctx, logits, 1)) goto fail;
        for (int32_t j = n_ctx / 2; j < n_ctx - 1; j++) {
            sum += nll(logits + (int64_t)j * V, V, ids.ids[c * n_ctx + j + 1]);
            count++;
        }
        printf("[%lld]%.4f,", (long long)c + 1, exp(sum / (double)count));
        fflush(stdout);
    }
    printf("\nperplexity: %.4f\n", exp(sum / (double)count));
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "flint perplexity: %s\n", flint_errmsg());
done:
    free(text);
    free(logits);
    free(chunk);
    fl_tok_ids_free(&ids);
    fl_tokenizer_free(tok);
    flint_context_free(ctx);
    cli_experts_save(m, &experts);
    flint_model_close(m);
    return rc;
}
