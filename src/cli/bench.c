/* bench.c — `flint bench -m PATH [-p 512] [-n 128] [-r 5] [-t N] [-s S] [--json] [--deterministic]`:
 * prefill (pp) and decode (tg) speed as llama-bench measures them — pp: one
 * prompt of p tokens into an empty sequence; tg: n tokens decoded one at a
 * time from an empty sequence (with -s, in each of S sequences decoded
 * together, counting all their tokens, as llama-batched-bench does) —
 * median and spread over r runs, and decode's ratio to the bandwidth floor
 * (S tokens per read of the weights: S x the read bandwidth this run
 * measures with the same threads / weight bytes per token). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/membw.h"
#include "base/pool.h"
#include "base/clock.h"
#include "cli/cli.h"
#include "flint.h"

static void usage(FILE *f) {
    fprintf(f, "usage: flint bench -m PATH [-p 512] [-n 128] [-r 5] [-t THREADS] [-s SEQS] [--json]\n"
               "  -p N     prompt tokens for the prefill test (0: skip)\n"
               "  -n N     tokens for the decode test (0: skip)\n"
               "  -s S     sequences decoded together in the decode test (default 1)\n"
               "  -r N     repetitions; the median and standard deviation are reported\n"
               "  --json   one JSON object per test instead of the markdown table\n"
               "  --deterministic  batch-invariant kernels (flint_context_params.deterministic)\n");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* tokens/s of r runs: pp (one call of p tokens) or tg (n steps of one
 * token in each of n_seqs sequences) */
static int run_test(flint_context *ctx, const int32_t *tok, int32_t n, int32_t n_seqs, int is_pp, int r,
                    float *logits, flint_batch_seq *step, double *tps) {
    for (int i = 0; i < r; i++) {
        for (int32_t q = 0; q < n_seqs; q++)
            if (flint_seq_reset(ctx, q)) return 0;
        double t0 = fl_now_seconds();
        if (is_pp) {
            if (flint_decode(ctx, 0, tok, n, logits, 0)) return 0;
        } else {
            for (int32_t j = 0; j < n; j++) {
                for (int32_t q = 0; q < n_seqs; q++) step[q] = (flint_batch_seq){q, tok + (j + q) % n, 1, 0};
                if (flint_decode_batch(ctx, step, n_seqs, logits)) return 0;
            }
        }
        tps[i] = (double)n * (is_pp ? 1 : n_seqs) / (fl_now_seconds() - t0);
    }
    return 1;
}

int cli_bench(int argc, char **argv) {
    const char *path = NULL;
    int32_t pp = 512, tg = 128, reps = 5, threads = 0, seqs = 1;
    int json = 0, det = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m") && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "-p") && i + 1 < argc) pp = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) tg = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-r") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc) seqs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--deterministic")) det = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(stdout), 0;
        else return fprintf(stderr, "flint bench: unexpected argument '%s'\n", argv[i]), usage(stderr), 2;
    }
    if (!path || pp < 0 || tg < 0 || reps < 1 || reps > 1000 || pp > 1 << 20 || tg > 1 << 20 ||
        seqs < 1 || seqs > 4096)
        return usage(stderr), 2;

    flint_model *m = NULL;
    flint_context *ctx = NULL;
    fl_pool *pool = NULL;
    int32_t n_max = pp > tg ? pp : tg;
    flint_context_params cp = {.n_ctx = n_max > 0 ? n_max : 1,
                               .n_batch = pp > seqs ? pp : seqs,
                               .n_seq = seqs,
                               .n_threads = threads,
                               .deterministic = det};
    int32_t *tok = malloc((size_t)(n_max + 1) * sizeof *tok);
    double *tps = malloc((size_t)reps * sizeof *tps);
    flint_batch_seq *step = malloc((size_t)seqs * sizeof *step);
    float *logits = NULL;
    int rc = 1;
    if (!tok || !tps || !step) goto done;
    if (flint_model_open(path, NULL, &m) || flint_context_create(m, &cp, &ctx) || fl_pool_create(threads, &pool)) {
        fprintf(stderr, "flint bench: %s\n", flint_errmsg());
        goto done;
    }
    int32_t V = flint_context_n_vocab(ctx);
    if (!(logits = malloc((size_t)V * (size_t)seqs * sizeof *logits))) goto done;
    uint64_t x = 12345;
    for (int32_t i = 0; i <= n_max; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        tok[i] = (int32_t)((x >> 33) % (uint64_t)V);
    }
    double bw = fl_read_bandwidth(pool, 1ull << 30, 5);
    double bytes = (double)flint_context_weight_bytes(ctx);
    int nt = fl_pool_threads(pool);
    if (!json) {
        printf("| model | size | threads | test | t/s | floor t/s | ratio to floor |\n");
        printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    }
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    for (int is_pp = 1; is_pp >= 0; is_pp--) {
        int32_t n = is_pp ? pp : tg;
        if (n == 0) continue;
        if (!run_test(ctx, tok, n, seqs, is_pp, reps, logits, step, tps)) {
            fprintf(stderr, "flint bench: %s\n", flint_errmsg());
            goto done;
        }
        qsort(tps, (size_t)reps, sizeof *tps, cmp_double);
        double med = reps % 2 ? tps[reps / 2] : 0.5 * (tps[reps / 2 - 1] + tps[reps / 2]), mean = 0, var = 0;
        for (int i = 0; i < reps; i++) mean += tps[i] / reps;
        for (int i = 0; i < reps; i++) var += (tps[i] - mean) * (tps[i] - mean) / (reps > 1 ? reps - 1 : 1);
        double floor_tps = seqs * bw / bytes; /* decode: every weight byte read once per step */
        char test[32];
        if (is_pp || seqs == 1) snprintf(test, sizeof test, "%s%d", is_pp ? "pp" : "tg", n);
        else snprintf(test, sizeof test, "tg%dx%d", n, seqs);
        if (json) {
            printf("{\"model\": \"%s\", \"threads\": %d, \"test\": \"%s\", \"tokens_per_s\": %.3f, \"stddev\": %.3f, "
                   "\"weight_bytes\": %.0f, \"read_bandwidth_gbs\": %.2f",
                   name, nt, test, med, sqrt(var), bytes, bw / 1e9);
            if (!is_pp) printf(", \"floor_tokens_per_s\": %.3f, \"floor_ratio\": %.4f", floor_tps, med / floor_tps);
            printf("}\n");
        } else if (is_pp) {
            printf("| %s | %.1f MiB | %d | %s | %.2f ± %.2f | | |\n", name, bytes / 1048576.0, nt, test, med, sqrt(var));
        } else {
            printf("| %s | %.1f MiB | %d | %s | %.2f ± %.2f | %.2f | %.3f |\n", name, bytes / 1048576.0, nt, test, med,
                   sqrt(var), floor_tps, med / floor_tps);
        }
    }
    if (!json) printf("\nread bandwidth %.2f GB/s (%d threads, streaming read of 1 GiB, best of 5)\n", bw / 1e9, nt);
    rc = 0;
done:
    free(logits);
    free(tok);
    free(tps);
    free(step);
    fl_pool_free(pool);
    flint_context_free(ctx);
    flint_model_close(m);
    return rc;
}
