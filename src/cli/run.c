/* run.c — `flint run -m PATH -p TEXT [-n N] [--temp T] [--top-k K]
 * [--top-p P] [--min-p P] [--seed S] [-t THREADS] [-c CTX] [--verbose]`:
 * generates from a prompt, streaming only the generated text to stdout;
 * speed (and with --verbose, memory) goes to stderr. --temp 0 is greedy. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "flint.h"
#include "sample/sample.h"
#include "tokenizer/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f, "usage: flint run -m PATH -p TEXT [options]\n"
               "  -n N          tokens to generate (default 128)\n"
               "  --temp T      temperature (default 0.8; 0 = greedy)\n"
               "  --top-k K     (default 40; 0 = off)   --top-p P (default 0.95)   --min-p P (default 0.05)\n"
               "  --repeat-penalty R (default 1 = off)   --seed S (default 0)\n"
               "  -t THREADS    (default: physical cores)   -c CTX (default: prompt + n)\n"
               "  --verbose     weights and KV cache sizes on stderr\n");
}

int cli_run(int argc, char **argv) {
    const char *path = NULL, *prompt = NULL;
    int32_t n_gen = 128, threads = 0, n_ctx = 0;
    int verbose = 0;
    flint_sampling_params sp = {.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repetition_penalty = 1};
    for (int i = 1; i < argc;) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout), 0;
        if (!strcmp(a, "--verbose")) {
            verbose = 1;
            i++;
            continue;
        }
        if (!v) return fprintf(stderr, "flint run: '%s' needs a value\n", a), 2;
        if (!strcmp(a, "-m")) path = v;
        else if (!strcmp(a, "-p")) prompt = v;
        else if (!strcmp(a, "-n")) n_gen = atoi(v);
        else if (!strcmp(a, "--temp")) sp.temperature = strtof(v, NULL);
        else if (!strcmp(a, "--top-k")) sp.top_k = atoi(v);
        else if (!strcmp(a, "--top-p")) sp.top_p = strtof(v, NULL);
        else if (!strcmp(a, "--min-p")) sp.min_p = strtof(v, NULL);
        else if (!strcmp(a, "--repeat-penalty")) sp.repetition_penalty = strtof(v, NULL);
        else if (!strcmp(a, "--seed")) sp.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "-t")) threads = atoi(v);
        else if (!strcmp(a, "-c")) n_ctx = atoi(v);
        else return fprintf(stderr, "flint run: unexpected argument '%s'\n", a), usage(stderr), 2;
        i += 2;
    }
    if (!path || !prompt || n_gen < 0 || n_ctx < 0) return usage(stderr), 2;

    int rc = 1;
    flint_model *m = NULL;
    flint_context *ctx = NULL;
    fl_tokenizer *tok = NULL;
    flint_sampler *smp = NULL;
    fl_tok_ids ids = {0};
    fl_tok_text out = {0};
    float *logits = NULL;
    if (flint_model_open(path, NULL, &m) || fl_tokenizer_load(path, &tok) ||
        fl_tokenize(tok, prompt, strlen(prompt), FL_TOK_ADD_BOS | FL_TOK_PARSE_SPECIAL, &ids))
        goto fail;
    if (ids.n == 0) {
        fprintf(stderr, "flint run: the prompt has no tokens\n");
        goto done;
    }
    flint_context_params cp = {.n_ctx = n_ctx ? n_ctx : (int32_t)ids.n + n_gen, .n_threads = threads};
    if (flint_context_create(m, &cp, &ctx)) goto fail;
    if ((int64_t)ids.n + n_gen > flint_context_n_ctx(ctx)) {
        fprintf(stderr, "flint run: %zu prompt tokens + %d to generate exceed the context of %d (-c)\n", ids.n, n_gen,
                flint_context_n_ctx(ctx));
        goto done;
    }
    /* sample only real tokens: the embedding may have padding rows */
    int32_t n_vocab = flint_context_n_vocab(ctx), n_real = fl_tokenizer_n_vocab(tok);
    if (n_real > 0 && n_real < n_vocab) n_vocab = n_real;
    if (!(logits = malloc((size_t)flint_context_n_vocab(ctx) * sizeof *logits)) ||
        flint_sampler_create(&sp, n_vocab, &smp))
        goto fail;
    if (verbose)
        fprintf(stderr, "weights %.1f MiB, KV cache %.1f MiB (%d positions)\n",
                (double)flint_context_weight_bytes(ctx) / 1048576.0, (double)flint_context_cache_bytes(ctx) / 1048576.0,
                flint_context_n_ctx(ctx));

    double t0 = fl_now_seconds();
    if (flint_decode(ctx, 0, ids.ids, (int32_t)ids.n, logits, 0)) goto fail;
    double t1 = fl_now_seconds();
    for (size_t i = 0; i < ids.n; i++) flint_sampler_accept(smp, ids.ids[i]);
    fl_tok_stream stream;
    fl_tok_stream_init(&stream, tok, 0);
    int32_t generated = 0;
    while (generated < n_gen) {
        int32_t t = flint_sampler_sample(smp, logits);
        generated++;
        if (fl_tokenizer_is_stop(tok, t)) break;
        flint_sampler_accept(smp, t);
        out.n = 0;
        if (fl_tok_stream_push(&stream, t, &out)) goto fail;
        fwrite(out.s, 1, out.n, stdout);
        fflush(stdout);
        if (generated < n_gen && flint_decode(ctx, 0, &t, 1, logits, 0)) goto fail;
    }
    out.n = 0;
    fl_tok_stream_flush(&stream, &out);
    fwrite(out.s, 1, out.n, stdout);
    printf("\n");
    fflush(stdout);
    double t2 = fl_now_seconds();
    fprintf(stderr, "prefill: %zu tokens, %.2f tokens/s; decode: %d tokens, %.2f tokens/s\n", ids.n,
            (double)ids.n / (t1 - t0), generated, generated > 1 ? (generated - 1) / (t2 - t1) : 0.0);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "flint run: %s\n", flint_errmsg());
done:
    free(logits);
    fl_tok_ids_free(&ids);
    fl_tok_text_free(&out);
    flint_sampler_free(smp);
    fl_tokenizer_free(tok);
    flint_context_free(ctx);
    flint_model_close(m);
    return rc;
}
