/* experts.h — --expert-cache and --expert-histogram, which every command
 * that loads a model takes: opening the model with them, the histogram
 * saved at exit, and the line that says how the experts run. */
#ifndef FL_CLI_EXPERTS_H
#define FL_CLI_EXPERTS_H

#include <stdio.h>

#include "flint.h"

typedef struct cli_experts_opts {
    const char *cache;     /* --expert-cache */
    const char *histogram; /* --expert-histogram */
} cli_experts_opts;

#define CLI_EXPERT_OPTS(dst)                                                                                      \
    {"--expert-cache", NULL, CLI_OPT_STRING, &(dst).cache, .meta = "SIZE|auto",                                  \
     .help = "stream MoE experts from disk into a cache of SIZE bytes (K, M, G suffixes) or auto (from the "     \
             "memory available); 0 or unset: resident"},                                                         \
    {"--expert-histogram", NULL, CLI_OPT_STRING, &(dst).histogram, .meta = "FILE",                              \
     .help = "with --expert-cache: the routing histogram that seeds the cache, read at start if FILE exists "    \
             "and written at exit"}

/* --expert-cache's value as flint_model_params.expert_cache: "auto" -1,
 * "0" 0, "<digits>[KMG]" bytes (1024-based); anything else is
 * FLINT_E_INVALID_ARG with its message. */
flint_status cli_expert_cache_parse(const char *s, int64_t *out);
/* Writes the routing histogram to --expert-histogram's file (if given and
 * the model opened), saying on stderr what failed. */
void cli_experts_save(const flint_model *m, const cli_experts_opts *o);
/* One line on f: resident or streamed, the budget, the slots, the I/O
 * method (after a context or engine loaded the model). Nothing for a model
 * without experts. */
void cli_experts_line(const flint_model *m, FILE *f);

/* The read bandwidth of the disk under the model's (first) file, in
 * bytes/s: an O_DIRECT sequential read of up to 1 GiB of it in 16 MiB
 * blocks, past the page cache; 0 when that cannot be done. */
double cli_disk_bandwidth(const flint_model *m);

#endif
