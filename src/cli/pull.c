/* pull.c — `flint pull ORG/NAME[:QUANT] [--revision REV] [--include GLOB]...`:
 * downloads a model from a Hugging Face hub into the shared cache
 * (hub/pull.h), with a progress bar on a terminal, and prints where it is:
 * the path `-m ORG/NAME[:QUANT]` then opens offline. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, isatty */
#include <stdio.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "hub/pull.h"

typedef struct bar {
    int tty;
    double start, shown; /* of this file; of the last redraw */
    const char *file;
} bar;

static void on_progress(void *ud, const char *file, uint64_t have, uint64_t total) {
    bar *b = ud;
    double now = fl_now_seconds();
    if (file != b->file) {
        b->file = file;
        b->start = now;
        b->shown = 0;
    }
    if (!b->tty || (now - b->shown < 0.1 && have < total)) return;
    b->shown = now;
    int pct = total ? (int)(100.0 * (double)have / (double)total) : 100, fill = pct * 30 / 100;
    double mb = 1e-6, rate = now > b->start ? (double)have * mb / (now - b->start) : 0;
    fprintf(stderr, "\r%-32.32s %3d%% [%.*s%*s] %8.1f/%.1f MB %6.1f MB/s", file, pct, fill,
            "==============================", 30 - fill, "", (double)have * mb, (double)total * mb, rate);
    fflush(stderr);
}

static void on_done(void *ud, const char *file, uint64_t size, bool fetched) {
    bar *b = ud;
    if (b->tty && fetched) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "  %-8s %s (%.1f MB)\n", fetched ? "fetched" : "cached", file, (double)size * 1e-6);
}

int cli_pull(int argc, char **argv) {
    const char *spec = NULL, *revision = NULL;
    cli_strings include = {0};
    const cli_opt opts[] = {
        {"--revision", NULL, CLI_OPT_STRING, &revision, .meta = "REV", .help = "a branch, tag or commit (default: main)"},
        {"--include", NULL, CLI_OPT_STRINGS, &include, .meta = "GLOB",
         .help = "pull the files matching GLOB instead of what flint needs (repeatable)"},
        {"ORG/NAME[:QUANT]", NULL, CLI_OPT_STRING, &spec, .required = 1,
         .help = "the repository; :QUANT picks a GGUF file (Q4_K_M, Q8_0, ...)"},
    };
    const cli_cmd cmd = {"pull",
                         "Downloads a model from the Hugging Face hub ($HF_ENDPOINT, token $HF_TOKEN) into its cache "
                         "($HF_HUB_CACHE or $HF_HOME/hub, shared with transformers and llama.cpp); then -m ORG/NAME "
                         "opens it offline. A cut download resumes; each file's hash is checked.",
                         opts, CLI_N_OPTS(opts)};
    int parsed = cli_args_parse(&cmd, argc, argv);
    if (parsed) return parsed == 1 ? 0 : 2;
    bar b = {.tty = isatty(2)};
    fl_hub_pull_params p = {.spec = spec, .revision = revision, .include = include.v, .n_include = include.n,
                            .progress = on_progress, .done = on_done, .ud = &b};
    fl_hub_pull_result res;
    flint_status s = fl_hub_pull(&p, &res);
    if (b.tty && b.file && s) fprintf(stderr, "\n");
    int rc = 0;
    if (s) {
        fprintf(stderr, "flint pull: %s\n", flint_errmsg());
        rc = 1;
    } else {
        fprintf(stderr, "flint pull: %lld files (%lld downloaded, %.1f MB) at commit %s\n", (long long)res.n_files,
                (long long)res.n_fetched, (double)res.bytes_fetched * 1e-6, res.commit);
        printf("%s\n", res.model);
        fl_hub_pull_result_free(&res);
    }
    cli_args_free(&cmd);
    return rc;
}
