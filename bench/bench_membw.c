/* bench_membw.c — the read-bandwidth probe's kernels side by side (make
 * bench): 64-bit scalar loads (the probe before), then AVX2 and AVX-512
 * where this CPU runs them, alternating over several rounds on the same
 * 1 GiB buffer size and threads; GB/s, best of 5 passes per round, and
 * the median over rounds. Usage: bench_membw [-t THREADS] [-r ROUNDS]. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "cpu/cpu.h"
#include "cpu/membw.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int threads = 2, rounds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-t")) threads = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "-r")) rounds = atoi(argv[i + 1]);
    }
    if (rounds < 1 || rounds > 64) rounds = 5;
    fl_pool *pool;
    if (fl_pool_create(threads, &pool)) return 1;
    const struct {
        const char *name;
        fl_membw_read_fn fn;
        int ok;
    } k[] = {
        {"scalar (64-bit)", fl_membw_read_scalar(), 1},
        {"avx2 (256-bit)", fl_membw_read_avx2(), fl_cpu_has_isa(FL_ISA_AVX2)},
        {"avx512 (512-bit)", fl_membw_read_avx512(), fl_cpu_has_isa(FL_ISA_AVX512)},
        {"neon (128-bit)", fl_membw_read_neon(), fl_cpu_has_isa(FL_ISA_NEON)},
    };
    enum { K = sizeof k / sizeof k[0] };
    double gbs[K][64];
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < K; i++)
            if (k[i].fn && k[i].ok) gbs[i][r] = fl_membw_measure(pool, 1ull << 30, 5, k[i].fn) / 1e9;
    printf("| probe kernel | threads | GB/s median | min | max |\n| --- | ---: | ---: | ---: | ---: |\n");
    for (int i = 0; i < K; i++) {
        if (!k[i].fn || !k[i].ok) continue;
        qsort(gbs[i], (size_t)rounds, sizeof(double), cmp_double);
        printf("| %s | %d | %.2f | %.2f | %.2f |\n", k[i].name, fl_pool_threads(pool), gbs[i][rounds / 2], gbs[i][0],
               gbs[i][rounds - 1]);
    }
    fl_pool_free(pool);
    return 0;
}
