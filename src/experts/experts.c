/* experts.c — resident expert matrices: per-expert views into stacked
 * tensors of the mapped file (an MLX stack's scales and biases move with
 * its rows: fl_weight_skip_rows). */
#include "experts/experts.h"

#include "base/error.h"

flint_status fl_experts_load(fl_experts *ex, fl_weight_loader *wl, const char *gate_up, const char *gate,
                             const char *up, const char *down, int64_t n_embd, int64_t n_ff, int32_t n_expert) {
    *ex = (fl_experts){.n_expert = n_expert};
    flint_status st;
    if (fl_has_tensor(wl, gate_up)) {
        if ((st = fl_load_matrix_stack(wl, gate_up, n_embd, 2 * n_ff, n_expert, &ex->gate))) return st;
        ex->gate.m = n_ff;
        ex->up = ex->gate;
        fl_weight_skip_rows(&ex->up, n_ff);
        ex->gate_up_stride = 2 * (uint64_t)n_ff * ex->gate.row_bytes;
    } else {
        if ((st = fl_load_matrix_stack(wl, gate, n_embd, n_ff, n_expert, &ex->gate)) ||
            (st = fl_load_matrix_stack(wl, up, n_embd, n_ff, n_expert, &ex->up)))
            return st;
        if (ex->gate.row_bytes != ex->up.row_bytes)
            return fl_errorf(FLINT_E_FORMAT, "%s: expert gate '%s' and up '%s' have different types", wl->path, gate, up);
        ex->gate_up_stride = (uint64_t)n_ff * ex->gate.row_bytes;
    }
    if ((st = fl_load_matrix_stack(wl, down, n_ff, n_embd, n_expert, &ex->down))) return st;
    ex->down_stride = (uint64_t)n_embd * ex->down.row_bytes;
    return FLINT_OK;
}

void fl_experts_get(const fl_experts *ex, int32_t e, fl_weight *gate, fl_weight *up, fl_weight *down) {
    *gate = ex->gate;
    *up = ex->up;
    *down = ex->down;
    fl_weight_skip_rows(gate, (int64_t)(e * ex->gate_up_stride / ex->gate.row_bytes));
    fl_weight_skip_rows(up, (int64_t)(e * ex->gate_up_stride / ex->gate.row_bytes));
    fl_weight_skip_rows(down, (int64_t)(e * ex->down_stride / ex->down.row_bytes));
}

uint64_t fl_expert_bytes(const fl_experts *ex) {
    const fl_weight *w[3] = {&ex->gate, &ex->up, &ex->down};
    uint64_t bytes = 0;
    for (int i = 0; i < 3; i++) bytes += fl_weight_bytes(w[i]);
    return bytes;
}
