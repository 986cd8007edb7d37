/* logits.c — `flint logits -m PATH --tokens 2,651,... [--out FILE]`: runs
 * the token ids through the model and writes float32 little-endian logits
 * [n_tokens][n_vocab] for every position, or prints the top 5 per
 * position without --out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/model_arg.h"
#include "cli/cli.h"
#include "cli/experts.h"
#include "cli/gpu.h"
#include "flint.h"

/* Parses "2,651,9" into a new array. */
static int parse_ids(const char *s, int32_t **out, int32_t *n) {
    int32_t cap = 16, k = 0;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    while (ids && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > INT32_MAX || (*end && *end != ',')) break;
        if (k == cap && !(ids = realloc(ids, (size_t)(cap *= 2) * sizeof *ids))) break;
        ids[k++] = (int32_t)v;
        s = *end ? end + 1 : end;
    }
    if (!ids || *s || k == 0) {
        free(ids);
        return 0;
    }
    *out = ids;
    *n = k;
    return 1;
}

int cli_logits(int argc, char **argv) {
    const char *path = NULL, *tokens = NULL, *out_path = NULL;
    cli_gpu_opts gpu = {0};
    int32_t gpu_layers = 0;
    int64_t gpu_memory = 0;
    cli_experts_opts experts = {0};
    int32_t threads = 0;
    int exact = 0;
    const cli_opt opts[] = {
        CLI_MODEL_OPT(path),
        {"--tokens", NULL, CLI_OPT_STRING, &tokens, .meta = "ID,ID,...", .required = 1,
         .help = "the token ids, comma-separated"},
        {"--out", NULL, CLI_OPT_STRING, &out_path, .meta = "FILE",
         .help = "write float32 logits [n_tokens][n_vocab] there (default: print the top 5 per position)"},
        {"-t", NULL, CLI_OPT_INT32, &threads, 1, 1024, .help = "threads, by default one per physical core"},
        {"--exact", NULL, CLI_OPT_FLAG, &exact, .help = "f32 activations against the dequantized weights (slower; see docs/PERF.md)"},
        CLI_GPU_OPT(gpu),
        CLI_EXPERT_OPTS(experts),
    };
    const cli_cmd cmd = {"logits", "The logits of every position for the given token ids.", opts, CLI_N_OPTS(opts)};
    int parsed = cli_args_parse(&cmd, argc, argv);
    if (parsed) return parsed == 1 ? 0 : 2;
    if (cli_gpu_parse("logits", &gpu, &gpu_layers, &gpu_memory)) return 2;
    int32_t *ids, n;
    if (!parse_ids(tokens, &ids, &n)) {
        fprintf(stderr, "flint logits: --tokens wants comma-separated ids, got '%s'\n", tokens);
        return 2;
    }
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    flint_context_params cp = {.n_ctx = n, .n_batch = n < 512 ? n : 512, .n_threads = threads, .exact = exact,
                               .gpu = gpu.device, .gpu_layers = gpu_layers, .gpu_memory = gpu_memory};
    float *logits = NULL;
    int rc = 1;
    if (cli_model_open(path, &experts, &m) || flint_context_create(m, &cp, &ctx)) goto fail;
    cli_experts_line(m, stderr);
    int64_t V = flint_context_n_vocab(ctx);
    if (!(logits = malloc((size_t)((int64_t)n * V) * sizeof *logits))) {
        fprintf(stderr, "flint logits: out of memory for %d x %lld logits\n", n, (long long)V);
        goto done;
    }
    if (flint_decode(ctx, 0, ids, n, logits, 1)) goto fail;
    if (out_path) {
        FILE *f = fopen(out_path, "wb");
        size_t w = f ? fwrite(logits, sizeof *logits, (size_t)((int64_t)n * V), f) : 0;
        if (!f || w != (size_t)((int64_t)n * V) || fclose(f) != 0) {
            fprintf(stderr, "flint logits: cannot write %s\n", out_path);
            goto done;
        }
    } else {
        for (int32_t t = 0; t < n; t++) {
            const float *l = logits + (int64_t)t * V;
            int32_t top[5] = {-1, -1, -1, -1, -1};
            for (int32_t v = 0; v < V; v++) {
                int k = 5;
                while (k > 0 && (top[k - 1] < 0 || l[v] > l[top[k - 1]])) k--;
                if (k == 5) continue;
                memmove(top + k + 1, top + k, (size_t)(4 - k) * sizeof *top);
                top[k] = v;
            }
            printf("%d [%d]:", t, ids[t]);
            for (int k = 0; k < 5 && top[k] >= 0; k++) printf("  %d %.4f", top[k], l[top[k]]);
            printf("\n");
        }
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "flint logits: %s\n", flint_errmsg());
done:
    free(logits);
    free(ids);
    flint_context_free(ctx);
    cli_experts_save(m, &experts);
    flint_model_close(m);
    return rc;
}
