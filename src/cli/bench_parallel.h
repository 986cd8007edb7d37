/* bench_parallel.h — flint bench --parallel (bench_parallel.c). */
#ifndef FL_CLI_BENCH_PARALLEL_H
#define FL_CLI_BENCH_PARALLEL_H

#include "flint.h"

typedef struct bench_parallel_args {
    const char *path;
    const char *gpu; /* --gpu */
    int32_t gpu_layers; /* --gpu-layers (flint_engine_params.gpu_layers) */
    int64_t gpu_memory; /* --gpu-memory */
    int32_t parallel, prompt, gen, shared_prefix, reps, threads, kv_type;
    int json, deterministic, exact;
} bench_parallel_args;

/* ids[0..n) below vocab from a 64-bit LCG started at state (the bench's
 * stand-in for text: every run of the same state gets the same tokens). */
void bench_random_tokens(int32_t *ids, int32_t n, int32_t vocab, uint64_t state);

/* Returns the process exit status. */
int cli_bench_parallel(flint_model *m, const bench_parallel_args *a);

#endif
