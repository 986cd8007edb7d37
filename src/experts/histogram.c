/* histogram.c — the routing histogram's file (see histogram.h). */
#include "experts/histogram.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/checked.h"
#include "base/error.h"

static uint64_t get_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> 8 * i);
}

flint_status fl_hist_parse(const uint8_t *data, size_t size, const char *what, fl_histogram *out) {
    *out = (fl_histogram){0};
    if (size < FL_HIST_HEADER || memcmp(data, "FLXH", 4))
        return fl_errorf(FLINT_E_FORMAT, "%s: not an expert histogram (no FLXH header)", what);
    const uint64_t version = get_le(data + 4, 4), L = get_le(data + 16, 4), E = get_le(data + 20, 4);
    if (version != FL_HIST_VERSION)
        return fl_errorf(FLINT_E_FORMAT, "%s: expert histogram version %llu (this flint reads %u)", what,
                         (unsigned long long)version, FL_HIST_VERSION);
    uint64_t n, bytes;
    if (!L || !E || L > INT32_MAX || E > INT32_MAX || !fl_mul_u64(L, E, &n) || !fl_mul_u64(n, 8, &bytes) ||
        bytes != size - FL_HIST_HEADER)
        return fl_errorf(FLINT_E_FORMAT, "%s: %llu layers x %llu experts do not match the %llu bytes of counts", what,
                         (unsigned long long)L, (unsigned long long)E, (unsigned long long)(size - FL_HIST_HEADER));
    out->counts = malloc(n * sizeof *out->counts);
    if (!out->counts) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    out->model_bytes = get_le(data + 8, 8);
    out->n_layers = (int32_t)L, out->n_expert = (int32_t)E;
    for (uint64_t i = 0; i < n; i++) out->counts[i] = get_le(data + FL_HIST_HEADER + 8 * i, 8);
    return FLINT_OK;
}

flint_status fl_hist_write(const fl_histogram *h, const char *path) {
    const size_t n = (size_t)h->n_layers * (size_t)h->n_expert, size = FL_HIST_HEADER + 8 * n;
    uint8_t *buf = malloc(size);
    if (!buf) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    memcpy(buf, "FLXH", 4);
    put_le(buf + 4, FL_HIST_VERSION, 4);
    put_le(buf + 8, h->model_bytes, 8);
    put_le(buf + 16, (uint64_t)h->n_layers, 4);
    put_le(buf + 20, (uint64_t)h->n_expert, 4);
    for (size_t i = 0; i < n; i++) put_le(buf + FL_HIST_HEADER + 8 * i, h->counts[i], 8);
    FILE *f = fopen(path, "wb");
    const bool ok = f && fwrite(buf, 1, size, f) == size;
    const bool closed = f && !fclose(f);
    free(buf);
    return ok && closed ? FLINT_OK : fl_errorf(FLINT_E_IO, "%s: cannot write the expert histogram", path);
}

void fl_hist_free(fl_histogram *h) {
    free(h->counts);
    *h = (fl_histogram){0};
}
