/* bench.c — `flint bench -m PATH [-p 512] [-n 128] [-d 0] [-r 5] [-t N] [-s S]
 * [--json] [--no-floor]`: prefill (pp) and decode (tg) speed as llama-bench
 * measures them — pp: one prompt of p tokens into a sequence; tg: n tokens
 * decoded one at a time (with -s, in each of S sequences decoded together,
 * counting all their tokens, as llama-batched-bench does); with -d, each
 * sequence first holds d tokens of context, filled untimed before every
 * run ("pp512 @ d4096"), else runs start empty — median and spread over r
 * runs, and decode's ratio to the bandwidth floor (S tokens per read of the
 * weights: S x the read bandwidth measured with the same threads / weight
 * bytes per token; the KV cache read at depth is not in the floor; on a
 * GPU, --gpu, the device memory's read bandwidth). The device that ran is
 * named first (JSON: "device"). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/membw.h"
#include "base/pool.h"
#include "base/clock.h"
#include "cli/args.h"
#include "cli/model_arg.h"
#include "cli/bench_parallel.h"
#include "cli/cli.h"
#include "cli/experts.h"
#include "cli/gpu.h"
#include "cli/gen.h"
#include "flint.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The disk's bandwidths for a test of streamed experts: the store's own
 * reads (random experts) just before and after it, and a sequential read
 * of the file, which random reads may not reach. */
typedef struct disk_probe {
    double before, after, seq; /* bytes/s; 0: not measured */
} disk_probe;

#define DISK_PROBE_BYTES (512ull << 20)

/* A test's expert-store counters: hit rate, bytes read from disk per token
 * (over every token the test ran, its untimed fill included), the disk
 * floor (the disk's bandwidth for random experts, the mean of the probes
 * around the test, over those bytes; and the same from the sequential
 * read), and where the time went: the share of the test's wall time with
 * reads pending, the rate the reads got meanwhile, and the time per token
 * the forward waited for them. */
static void report_experts(const flint_expert_stats *a, const flint_expert_stats *b, double tokens, double wall,
                           double tps, const disk_probe *d, int json) {
    const double hits = (double)(b->hits - a->hits), misses = (double)(b->misses - a->misses);
    const double bytes = (double)(b->bytes_read - a->bytes_read), per_tok = bytes / tokens;
    const double hit_rate = hits + misses > 0 ? hits / (hits + misses) : 0;
    const double disk_bw = d->before > 0 && d->after > 0 ? 0.5 * (d->before + d->after) : 0;
    const double floor_tps = per_tok > 0 && disk_bw > 0 ? disk_bw / per_tok : 0;
    const double seq_floor = per_tok > 0 && d->seq > 0 ? d->seq / per_tok : 0;
    const double busy = (double)(b->io_busy_ns - a->io_busy_ns) * 1e-9, wait = (double)(b->io_wait_ns - a->io_wait_ns) * 1e-9;
    const double busy_share = wall > 0 ? busy / wall : 0, busy_rate = busy > 0 ? bytes / busy : 0;
    if (json) {
        printf(", \"experts\": {\"hit_rate\": %.4f, \"bytes_read_per_token\": %.0f, \"io_busy_share\": %.4f, "
               "\"io_busy_gbs\": %.3f, \"io_wait_ms_per_token\": %.2f",
               hit_rate, per_tok, busy_share, busy_rate / 1e9, 1e3 * wait / tokens);
        if (floor_tps > 0)
            printf(", \"disk_gbs\": %.3f, \"disk_gbs_before\": %.3f, \"disk_gbs_after\": %.3f, "
                   "\"disk_floor_tokens_per_s\": %.3f, \"disk_floor_ratio\": %.4f",
                   disk_bw / 1e9, d->before / 1e9, d->after / 1e9, floor_tps, tps / floor_tps);
        if (seq_floor > 0)
            printf(", \"disk_seq_gbs\": %.3f, \"disk_seq_floor_tokens_per_s\": %.3f, \"disk_seq_floor_ratio\": %.4f",
                   d->seq / 1e9, seq_floor, tps / seq_floor);
        printf("}");
        return;
    }
    printf("|   experts: hit rate %.1f%%, %.2f MiB read per token", 100 * hit_rate, per_tok / 1048576);
    if (b->prefetches > a->prefetches) printf(" (%.1f read ahead)", (double)(b->prefetches - a->prefetches) / tokens);
    if (floor_tps > 0)
        printf("; disk floor %.2f t/s (%.2f GB/s reading experts, %.2f before, %.2f after), ratio %.3f", floor_tps,
               disk_bw / 1e9, d->before / 1e9, d->after / 1e9, tps / floor_tps);
    if (seq_floor > 0) printf("; sequential floor %.2f t/s, ratio %.3f", seq_floor, tps / seq_floor);
    if (busy > 0)
        printf("; reads pending %.0f%% of the time at %.2f GB/s, waited for %.1f ms per token", 100 * busy_share,
               busy_rate / 1e9, 1e3 * wait / tokens);
    printf(" | | | | | | |\n");
}

/* tokens/s of r runs: pp (one call of p tokens) or tg (n steps of one
 * token in each of n_seqs sequences), each sequence first filled with
 * tok[0..depth) untimed; the timed tokens are tok[depth..) */
static int run_test(flint_context *ctx, const int32_t *tok, int32_t depth, int32_t n, int32_t n_seqs, int is_pp,
                    int r, float *logits, flint_batch_seq *step, double *tps) {
    for (int i = 0; i < r; i++) {
        for (int32_t q = 0; q < (is_pp ? 1 : n_seqs); q++)
            if (flint_seq_reset(ctx, q) || (depth > 0 && flint_decode(ctx, q, tok, depth, logits, 0))) return 0;
        tok += depth;
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
        tok -= depth;
    }
    return 1;
}

int cli_bench(int argc, char **argv) {
    const char *path = NULL;
    int32_t pp = 512, tg = 128, depth = 0, reps = 5, threads = 0, seqs = 1;
    int json = 0, no_floor = 0, deterministic = 0, exact = 0;
    int32_t parallel = 0, shared_prefix = 0;
    const char *kv = NULL;
    cli_gpu_opts gpu = {0};
    int32_t gpu_layers = 0;
    int64_t gpu_memory = 0;
    cli_experts_opts experts = {0};
    const cli_opt opts[] = {
        CLI_MODEL_OPT(path),
        {"-p", NULL, CLI_OPT_INT32, &pp, 0, 1 << 20, .help = "prompt tokens for the prefill test (0: skip)"},
        {"-n", NULL, CLI_OPT_INT32, &tg, 0, 1 << 20, .help = "tokens for the decode test (0: skip)"},
        {"-d", NULL, CLI_OPT_INT32, &depth, 0, 1 << 20,
         .help = "tokens of context in each sequence before the timed tokens (filled untimed)"},
        {"-s", NULL, CLI_OPT_INT32, &seqs, 1, 4096, .help = "sequences decoded together in the decode test"},
        {"-r", NULL, CLI_OPT_INT32, &reps, 1, 1000,
         .help = "repetitions; the median and standard deviation are reported"},
        {"-t", NULL, CLI_OPT_INT32, &threads, 1, 1024, .help = "threads, by default one per physical core"},
        {"--json", NULL, CLI_OPT_FLAG, &json, .help = "one JSON object per test instead of the markdown table"},
        {"--deterministic", NULL, CLI_OPT_FLAG, &deterministic, .help = "batch-invariant kernels (slower prefill)"},
        {"--exact", NULL, CLI_OPT_FLAG, &exact, .help = "f32 activations against the dequantized weights (slower; see docs/PERF.md)"},
        {"--parallel", NULL, CLI_OPT_INT32, &parallel, 1, 1024,
         .help = "N requests of -p prompt and -n generated tokens at once through the engine"},
        {"--shared-prefix", NULL, CLI_OPT_INT32, &shared_prefix, 1, 1 << 20,
         .help = "with --parallel: the prompts share their first S tokens (TTFT cold vs cached)"},
        {"--kv-type", NULL, CLI_OPT_STRING, &kv, .meta = "f16|bf16|f32", .help = "how K and V are stored (default: f16; f32 with --exact)"},
        {"--no-floor", NULL, CLI_OPT_FLAG, &no_floor,
         .help = "skip the read-bandwidth probe (1 GiB read 5 times) and the floor columns"},
        CLI_GPU_OPT(gpu),
        CLI_EXPERT_OPTS(experts),
    };
    const cli_cmd cmd = {"bench", "Prefill and decode tokens/s as llama-bench measures them, and decode's ratio\n"
                                  "to the bandwidth floor.", opts, CLI_N_OPTS(opts)};
    int parsed = cli_args_parse(&cmd, argc, argv);
    if (parsed) return parsed == 1 ? 0 : 2;
    const int32_t kv_type = cli_kv_type("bench", kv);
    if (kv_type < 0 || cli_gpu_parse("bench", &gpu, &gpu_layers, &gpu_memory)) return 2;
    if ((shared_prefix && (!parallel || shared_prefix >= pp)) || (parallel && (pp < 1 || tg < 1))) {
        fprintf(stderr, "flint bench: --parallel needs -p and -n above 0, and --shared-prefix below -p\n");
        return 2;
    }
    if (parallel) {
        flint_model *pm = NULL;
        if (cli_model_open(path, &experts, &pm)) {
            fprintf(stderr, "flint bench: %s\n", flint_errmsg());
            return 1;
        }
        bench_parallel_args pa = {path, gpu.device, gpu_layers, gpu_memory, parallel, pp, tg, shared_prefix, reps,
                                  threads, kv_type, json, deterministic, exact};
        int prc = cli_bench_parallel(pm, &pa);
        cli_experts_save(pm, &experts);
        flint_model_close(pm);
        return prc;
    }

    flint_model *m = NULL;
    flint_context *ctx = NULL;
    fl_pool *pool = NULL;
    int32_t n_max = depth + (pp > tg ? pp : tg); /* tokens of one sequence */
    int32_t n_batch = pp > seqs ? pp : seqs, n_fill = depth < 512 ? depth : 512;
    if (n_fill > n_batch) n_batch = n_fill; /* the untimed fill runs in steps of n_batch */
    flint_context_params cp = {.n_ctx = n_max > 0 ? n_max : 1,
                               .n_batch = n_batch,
                               .n_seq = seqs,
                               .n_threads = threads,
                               .kv_type = kv_type,
                               .deterministic = deterministic,
                               .exact = exact,
                               .gpu = gpu.device, .gpu_layers = gpu_layers, .gpu_memory = gpu_memory};
    int32_t *tok = malloc((size_t)(n_max + 1) * sizeof *tok);
    double *tps = malloc((size_t)reps * sizeof *tps);
    flint_batch_seq *step = malloc((size_t)seqs * sizeof *step);
    float *logits = NULL;
    int rc = 1;
    if (!tok || !tps || !step) goto done;
    if (cli_model_open(path, &experts, &m) || flint_context_create(m, &cp, &ctx) || fl_pool_create(threads, &pool)) {
        fprintf(stderr, "flint bench: %s\n", flint_errmsg());
        goto done;
    }
    cli_experts_line(m, stderr);
    /* the floor: the bandwidth of the memory the weights are read from —
     * the host's, measured on the bench's threads, or the GPU's */
    const char *device = flint_context_device(ctx);
    const bool on_gpu = strcmp(device, "cpu") != 0;
    flint_expert_stats es0, es1;
    flint_model_expert_stats(m, &es0);
    /* streamed experts: the disk's floor beside memory's (read first: the
     * O_DIRECT probes leave the page cache as it is) */
    const bool disk_floor = es0.streamed && !no_floor;
    disk_probe disk = {.seq = disk_floor ? cli_disk_bandwidth(m) : 0};
    int32_t V = flint_context_n_vocab(ctx);
    if (!(logits = malloc((size_t)V * (size_t)seqs * sizeof *logits))) goto done;
    bench_random_tokens(tok, n_max + 1, V, 12345);
    /* streamed experts: the disk sets the pace, not the memory */
    double bw = no_floor || es0.streamed ? 0
                : on_gpu ? flint_context_read_bandwidth(ctx, 1ull << 30, 5)
                         : fl_cpu_read_bandwidth(pool, 1ull << 30, 5);
    if (bw <= 0) no_floor = 1;
    double bytes = (double)flint_context_weight_bytes(ctx);
    int nt = fl_pool_threads(pool);
    /* the threads column: the CPU's threads where the CPU runs layers, "-"
     * where the device runs them all; a split model reads its weights from
     * two memories, so no one bandwidth gives its floor */
    const bool split = on_gpu && flint_context_gpu_layers(ctx) < flint_context_n_layer(ctx);
    char threads_col[16] = "-";
    if (!on_gpu || split) snprintf(threads_col, sizeof threads_col, "%d", nt);
    if (split) no_floor = 1;
    if (!json) {
        printf("device: %s\n\n", device);
        printf("| model | size | threads | test | t/s | floor t/s | ratio to floor |\n");
        printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    }
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    for (int is_pp = 1; is_pp >= 0; is_pp--) {
        int32_t n = is_pp ? pp : tg;
        if (n == 0) continue;
        if (disk_floor && flint_model_expert_read_bandwidth(m, DISK_PROBE_BYTES, &disk.before))
            fprintf(stderr, "flint bench: %s\n", flint_errmsg());
        flint_model_expert_stats(m, &es0);
        const double t_test = fl_now_seconds();
        if (!run_test(ctx, tok, depth, n, seqs, is_pp, reps, logits, step, tps)) {
            fprintf(stderr, "flint bench: %s\n", flint_errmsg());
            goto done;
        }
        flint_model_expert_stats(m, &es1);
        const double wall = fl_now_seconds() - t_test;
        if (disk_floor && flint_model_expert_read_bandwidth(m, DISK_PROBE_BYTES, &disk.after))
            fprintf(stderr, "flint bench: %s\n", flint_errmsg());
        const double expert_tokens = (double)reps * (is_pp ? 1 : seqs) * (n + depth);
        qsort(tps, (size_t)reps, sizeof *tps, cmp_double);
        double med = reps % 2 ? tps[reps / 2] : 0.5 * (tps[reps / 2 - 1] + tps[reps / 2]), mean = 0, var = 0;
        for (int i = 0; i < reps; i++) mean += tps[i] / reps;
        for (int i = 0; i < reps; i++) var += (tps[i] - mean) * (tps[i] - mean) / (reps > 1 ? reps - 1 : 1);
        double floor_tps = seqs * bw / bytes; /* decode: every weight byte read once per step */
        char test[48];
        int k = is_pp || seqs == 1 ? snprintf(test, sizeof test, "%s%d", is_pp ? "pp" : "tg", n)
                                   : snprintf(test, sizeof test, "tg%dx%d", n, seqs);
        if (depth > 0 && k > 0) snprintf(test + k, sizeof test - (size_t)k, " @ d%d", depth);
        if (json) {
            printf("{\"model\": \"%s\", \"threads\": %d, \"depth\": %d, \"test\": \"%s\", \"tokens_per_s\": %.3f, "
                   "\"stddev\": %.3f, \"weight_bytes\": %.0f",
                   name, on_gpu && !split ? 0 : nt, depth, test, med, sqrt(var), bytes);
            if (on_gpu) printf(", \"gpu_layers\": %d", flint_context_gpu_layers(ctx));
            cli_device_json(stdout, device);
            if (!no_floor) printf(", \"read_bandwidth_gbs\": %.2f", bw / 1e9);
            if (!is_pp && !no_floor)
                printf(", \"floor_tokens_per_s\": %.3f, \"floor_ratio\": %.4f", floor_tps, med / floor_tps);
            if (es1.streamed) report_experts(&es0, &es1, expert_tokens, wall, med, &disk, json);
            printf("}\n");
        } else if (is_pp || no_floor) {
            printf("| %s | %.1f MiB | %s | %s | %.2f ± %.2f | | |\n", name, bytes / 1048576.0, threads_col, test, med,
                   sqrt(var));
        } else {
            printf("| %s | %.1f MiB | %s | %s | %.2f ± %.2f | %.2f | %.3f |\n", name, bytes / 1048576.0, threads_col,
                   test, med, sqrt(var), floor_tps, med / floor_tps);
        }
        if (es1.streamed && !json) report_experts(&es0, &es1, expert_tokens, wall, med, &disk, json);
    }
    if (!json && split)
        printf("\nno floor: the model is split between the CPU and the device, whose memories differ\n");
    if (!json && !no_floor)
        printf(on_gpu ? "\nread bandwidth %.2f GB/s (the device's memory, read of up to 1 GiB, best of 5)\n"
                   : "\nread bandwidth %.2f GB/s (%d threads, streaming read of 1 GiB, best of 5)\n",
               bw / 1e9, nt);
    if (!json && disk.seq > 0)
        printf("disk read bandwidth %.2f GB/s (O_DIRECT sequential read of the model file); experts read at random: "
               "%.0f MiB by %d threads before and after each test\n",
               disk.seq / 1e9, (double)DISK_PROBE_BYTES / 1048576, es0.io_threads);
    rc = 0;
done:
    free(logits);
    free(tok);
    free(tps);
    free(step);
    fl_pool_free(pool);
    flint_context_free(ctx);
    cli_experts_save(m, &experts);
    flint_model_close(m);
    return rc;
}
