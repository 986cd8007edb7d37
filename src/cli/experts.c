/* experts.c — --expert-cache (see experts.h). */
#define _GNU_SOURCE /* O_DIRECT */
#include "cli/experts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "cli/args.h"

flint_status cli_expert_cache_parse(const char *s, int64_t *out) {
    if (!strcmp(s, "auto")) return *out = -1, FLINT_OK;
    if (!cli_size_parse(s, out))
        return fl_errorf(FLINT_E_INVALID_ARG, "--expert-cache '%s': a size such as 512M or 8G, 0, or auto", s);
    return FLINT_OK;
}

void cli_experts_save(const flint_model *m, const cli_experts_opts *o) {
    if (m && o->histogram && flint_model_expert_histogram_save(m, o->histogram))
        fprintf(stderr, "flint: --expert-histogram: %s\n", flint_errmsg());
}

void cli_experts_line(const flint_model *m, FILE *f) {
    flint_expert_stats es;
    if (flint_model_expert_stats(m, &es) || !es.n_layers) return;
    if (!es.streamed)
        fprintf(f, "experts: resident, %d of %d per token x %d layers (--expert-cache streams them)\n", es.n_expert_used,
                es.n_expert, es.n_layers);
    else
        fprintf(f, "experts: streamed, %d of %d per token, cache %.2f GiB = %d of %d experts x %d layers (slots of %.2f MiB), %s, %d I/O threads\n",
                es.n_expert_used, es.n_expert, (double)es.slots_per_layer * (double)es.slot_bytes * es.n_layers / (1 << 30),
                es.slots_per_layer, es.n_expert, es.n_layers, (double)es.slot_bytes / (1 << 20),
                es.direct ? "O_DIRECT pread" : "buffered pread", es.io_threads);
}

double cli_disk_bandwidth(const flint_model *m) {
    enum { BLOCK = 16 << 20 };
    flint_tensor_info t;
    if (flint_tensor_get(m, 0, &t)) return 0;
    int fd = open(t.file, O_RDONLY | O_DIRECT);
    void *buf = NULL;
    if (fd < 0 || posix_memalign(&buf, 4096, BLOCK)) {
        if (fd >= 0) close(fd);
        return 0;
    }
    uint64_t total = 0;
    const double t0 = fl_now_seconds();
    for (ssize_t n; total < (1ull << 30) && (n = pread(fd, buf, BLOCK, (off_t)total)) > 0;) total += (uint64_t)n;
    const double dt = fl_now_seconds() - t0;
    close(fd);
    free(buf);
    return total && dt > 0 ? (double)total / dt : 0;
}
