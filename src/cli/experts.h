/* experts.h — --expert-cache, which every command that loads a model
 * takes: opening the model with it, and the line that says how the
 * experts run. */
#ifndef FL_CLI_EXPERTS_H
#define FL_CLI_EXPERTS_H

#include <stdio.h>

#include "flint.h"

#define CLI_EXPERT_CACHE_OPT(dst)                                                                                 \
    {"--expert-cache", NULL, CLI_OPT_STRING, &(dst), .meta = "SIZE|auto",                                        \
     .help = "stream MoE experts from disk into a cache of SIZE bytes (K, M, G suffixes) or auto (from the "     \
             "memory available); 0 or unset: resident"}

/* --expert-cache's value as flint_model_params.expert_cache: "auto" -1,
 * "0" 0, "<digits>[KMG]" bytes (1024-based); anything else is
 * FLINT_E_INVALID_ARG with its message. */
flint_status cli_expert_cache_parse(const char *s, int64_t *out);
/* One line on f: resident or streamed, the budget, the slots, the I/O
 * method (after a context or engine sized the cache). Nothing for a model
 * without experts. */
void cli_experts_line(const flint_model *m, FILE *f);

/* The read bandwidth of the disk under the model's (first) file, in
 * bytes/s: an O_DIRECT sequential read of up to 1 GiB of it in 16 MiB
 * blocks, past the page cache; 0 when that cannot be done. */
double cli_disk_bandwidth(const flint_model *m);

#endif
