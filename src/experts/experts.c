/* experts.c — the expert table of a MoE layer (stacked or per-expert
 * tensors), the views of one expert, and the session over resident or
 * streamed experts. */
#include "experts/experts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_file.h"
#include "base/error.h"
#include "experts/store.h"

/* Range `part` of one matrix of every expert, from the stack tensor
 * `tensor` of rows row_bytes wide: expert e's m rows start at row
 * e * rows_per_expert + row0. */
static flint_status add_range(fl_experts *ex, fl_weight_loader *wl, const char *tensor, int32_t matrix, int part,
                              uint64_t row_bytes, int64_t m, int64_t rows_per_expert, int64_t row0) {
    flint_tensor_info t;
    if (flint_tensor_find(wl->file, tensor, &t))
        return fl_errorf(FLINT_E_FORMAT, "%s: missing tensor '%s'", wl->path, tensor);
    const int32_t r = ex->n_range++;
    ex->part[matrix][part] = (int8_t)r;
    const uint64_t stride = (uint64_t)rows_per_expert * row_bytes, at = (uint64_t)row0 * row_bytes;
    for (int32_t e = 0; e < ex->n_expert; e++)
        ex->ranges[(size_t)e * FL_EXPERT_MAX_RANGES + r] = (fl_expert_range){
            .file = t.file,
            .offset = t.offset + (uint64_t)e * stride + at,
            .size = (uint64_t)m * row_bytes,
            .mapped = (const uint8_t *)t.data + (uint64_t)e * stride + at,
        };
    return FLINT_OK;
}

/* Ranges of one matrix of every expert: a stack W {k, m, E} (row0: the
 * first row of the matrix inside each expert's block of rows_per_expert).
 * An MLX stack adds its scales and biases ("<module>.scales" / ".biases",
 * one row per weight row), which the loader has checked against it. */
static flint_status add_stacked(fl_experts *ex, fl_weight_loader *wl, const char *name, int32_t matrix, int64_t k,
                                int64_t m, int64_t rows_per_expert, int64_t row0) {
    fl_weight w;
    flint_status st = fl_load_matrix_stack(wl, name, k, rows_per_expert, ex->n_expert, &w);
    if (st || (st = add_range(ex, wl, name, matrix, FL_EXPERT_CODES, w.row_bytes, m, rows_per_expert, row0)))
        return st;
    const size_t n = strlen(name), sfx = strlen(".weight");
    const uint64_t srow = fl_weight_scale_row_bytes(&w);
    if (w.scales) {
        char part[256];
        if (n < sfx || n - sfx + sizeof ".scales" > sizeof part)
            return fl_errorf(FLINT_E_FORMAT, "%s: expert tensor name '%s' is too long", wl->path, name);
        snprintf(part, sizeof part, "%.*s.scales", (int)(n - sfx), name);
        if ((st = add_range(ex, wl, part, matrix, FL_EXPERT_SCALES, srow, m, rows_per_expert, row0))) return st;
        snprintf(part, sizeof part, "%.*s.biases", (int)(n - sfx), name);
        if (w.biases && (st = add_range(ex, wl, part, matrix, FL_EXPERT_BIASES, srow, m, rows_per_expert, row0)))
            return st;
    }
    w.m = m;
    w.data = w.scales = w.biases = NULL;
    ex->w[matrix] = w;
    return FLINT_OK;
}

/* Ranges of one matrix from per-expert tensors "<prefix><e>.<suffix>". */
static flint_status add_per_expert(fl_experts *ex, fl_weight_loader *wl, const char *prefix, const char *suffix,
                                   int32_t matrix, int64_t k, int64_t m) {
    const int32_t r = ex->n_range++;
    ex->part[matrix][FL_EXPERT_CODES] = (int8_t)r;
    for (int32_t e = 0; e < ex->n_expert; e++) {
        char name[256];
        snprintf(name, sizeof name, "%s%d.%s", prefix, e, suffix);
        fl_weight w;
        flint_tensor_info t;
        flint_status st = fl_load_matrix(wl, name, k, m, &w);
        if (st) return st;
        flint_tensor_find(wl->file, name, &t);
        if (w.scales) /* mlx-lm stacks experts into switch_mlp before it quantizes */
            return fl_errorf(FLINT_E_UNSUPPORTED, "%s: per-expert tensor '%s' is MLX-quantized", wl->path, name);
        if (e && (w.type != ex->w[matrix].type))
            return fl_errorf(FLINT_E_FORMAT, "%s: expert tensor '%s' is %s, expert 0's is %s", wl->path, name,
                             flint_type_name(w.type), flint_type_name(ex->w[matrix].type));
        w.data = NULL;
        ex->w[matrix] = w;
        ex->ranges[(size_t)e * FL_EXPERT_MAX_RANGES + r] =
            (fl_expert_range){.file = t.file, .offset = t.offset, .size = t.size, .mapped = t.data};
    }
    return FLINT_OK;
}

/* Packs the table from FL_EXPERT_MAX_RANGES per expert to n_range. */
static void pack(fl_experts *ex) {
    for (int32_t e = 1; e < ex->n_expert; e++)
        memmove(&ex->ranges[(size_t)e * ex->n_range], &ex->ranges[(size_t)e * FL_EXPERT_MAX_RANGES],
                (size_t)ex->n_range * sizeof *ex->ranges);
}

/* Resident experts' views, built once: what sessions hand out and a
 * backend's MoE ops take (and may keep what they derive from). */
static flint_status make_views(fl_experts *ex) {
    const int32_t E = ex->n_expert;
    if (!(ex->views = malloc((size_t)E * FL_EXPERT_MATRICES * sizeof *ex->views)))
        return fl_errorf(FLINT_E_NOMEM, "out of memory for the views of %d experts", E);
    for (int32_t e = 0; e < E; e++) {
        const uint8_t *base[FL_EXPERT_MAX_RANGES];
        fl_weight w[FL_EXPERT_MATRICES];
        for (int32_t r = 0; r < ex->n_range; r++) base[r] = ex->ranges[(size_t)e * ex->n_range + r].mapped;
        fl_experts_view(ex, base, w);
        for (int m = 0; m < FL_EXPERT_MATRICES; m++) ex->views[(size_t)m * E + e] = w[m];
    }
    return FLINT_OK;
}

flint_status fl_experts_load(fl_experts *ex, fl_weight_loader *wl, int32_t l, const fl_expert_names *nm,
                             int64_t n_embd, int64_t n_ff, int32_t n_expert) {
    *ex = (fl_experts){.n_expert = n_expert};
    memset(ex->part, -1, sizeof ex->part);
    if (n_expert <= 0) return fl_errorf(FLINT_E_FORMAT, "%s: layer %d has %d experts", wl->path, l, n_expert);
    if (!(ex->ranges = calloc((size_t)n_expert * FL_EXPERT_MAX_RANGES, sizeof *ex->ranges)))
        return fl_errorf(FLINT_E_NOMEM, "out of memory");
    flint_status st;
    char first[256] = "";
    if (nm->per_expert) snprintf(first, sizeof first, "%s0.gate_proj.weight", nm->per_expert);
    if (nm->per_expert && fl_has_tensor(wl, first)) {
        if ((st = add_per_expert(ex, wl, nm->per_expert, "gate_proj.weight", FL_EXPERT_GATE, n_embd, n_ff)) ||
            (st = add_per_expert(ex, wl, nm->per_expert, "up_proj.weight", FL_EXPERT_UP, n_embd, n_ff)) ||
            (st = add_per_expert(ex, wl, nm->per_expert, "down_proj.weight", FL_EXPERT_DOWN, n_ff, n_embd)))
            goto fail;
    } else {
        if (fl_has_tensor(wl, nm->gate_up))
            st = add_stacked(ex, wl, nm->gate_up, FL_EXPERT_GATE, n_embd, n_ff, 2 * n_ff, 0);
        else
            st = add_stacked(ex, wl, nm->gate, FL_EXPERT_GATE, n_embd, n_ff, n_ff, 0);
        if (!st && fl_has_tensor(wl, nm->gate_up))
            st = add_stacked(ex, wl, nm->gate_up, FL_EXPERT_UP, n_embd, n_ff, 2 * n_ff, n_ff);
        else if (!st)
            st = add_stacked(ex, wl, nm->up, FL_EXPERT_UP, n_embd, n_ff, n_ff, 0);
        if (st || (st = add_stacked(ex, wl, nm->down, FL_EXPERT_DOWN, n_ff, n_embd, n_embd, 0))) goto fail;
    }
    if (ex->w[FL_EXPERT_GATE].type != ex->w[FL_EXPERT_UP].type) {
        st = fl_errorf(FLINT_E_FORMAT, "%s: the experts' gate and up of layer %d have different types", wl->path, l);
        goto fail;
    }
    pack(ex);
    fl_expert_store *store = fl_model_file_store(wl->file);
    if (store && (st = fl_store_layer_get(store, l, ex, &ex->stream))) goto fail;
    if (!ex->stream && (st = make_views(ex))) goto fail;
    return FLINT_OK;
fail:
    fl_experts_free(ex);
    return st;
}

void fl_experts_free(fl_experts *ex) {
    free(ex->ranges), free(ex->views);
    ex->ranges = NULL, ex->views = NULL;
}

uint64_t fl_expert_bytes(const fl_experts *ex) {
    uint64_t bytes = 0;
    for (int32_t r = 0; r < ex->n_range; r++) bytes += ex->ranges[r].size;
    return bytes;
}

void fl_experts_view(const fl_experts *ex, const uint8_t *const *base, fl_weight out[FL_EXPERT_MATRICES]) {
    for (int m = 0; m < FL_EXPERT_MATRICES; m++) {
        const int8_t *p = ex->part[m];
        out[m] = ex->w[m];
        out[m].data = base[p[FL_EXPERT_CODES]];
        if (p[FL_EXPERT_SCALES] >= 0) out[m].scales = base[p[FL_EXPERT_SCALES]];
        if (p[FL_EXPERT_BIASES] >= 0) out[m].biases = base[p[FL_EXPERT_BIASES]];
    }
}

/* ---- sessions: resident experts are all present; the caller's session
 * state is the store's when streamed ---- */

flint_status fl_experts_begin(fl_expert_session *s, const fl_experts *ex, const int32_t *need, int32_t n_need) {
    *s = (fl_expert_session){.ex = ex, .need = need, .n_need = n_need};
    return ex->stream ? fl_store_begin(ex->stream, need, n_need) : FLINT_OK;
}

flint_status fl_experts_next(fl_expert_session *s, int32_t *e, fl_weight (*w)[FL_EXPERT_MATRICES], int32_t max,
                             int32_t *n) {
    const fl_experts *ex = s->ex;
    if (ex->stream) {
        const uint8_t *const *base[64];
        if (max > 64) max = 64;
        flint_status st = fl_store_next(ex->stream, e, base, max, n);
        for (int32_t i = 0; !st && i < *n; i++) fl_experts_view(ex, base[i], w[i]);
        return st;
    }
    for (*n = 0; *n < max && s->n_handed < s->n_need; (*n)++) {
        const int32_t x = s->need[s->n_handed++];
        e[*n] = x;
        for (int m = 0; m < FL_EXPERT_MATRICES; m++) w[*n][m] = ex->views[(size_t)m * ex->n_expert + x];
    }
    return FLINT_OK;
}

void fl_experts_done(fl_expert_session *s, int32_t e) {
    if (s->ex->stream) fl_store_done(s->ex->stream, e);
}

void fl_experts_end(fl_expert_session *s) {
    if (s->ex->stream) fl_store_end(s->ex->stream);
}

int32_t fl_experts_ahead(const fl_experts *ex) { return ex->stream ? fl_store_ahead(ex->stream) : 0; }

void fl_experts_prefetch(const fl_experts *ex, const int32_t *e, int32_t n) {
    if (ex->stream) fl_store_prefetch(ex->stream, e, n);
}
