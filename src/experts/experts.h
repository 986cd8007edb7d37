/* experts.h — where the expert matrices of one MoE layer live. Today they
 * are resident: views into the mapped file (streaming from disk into a
 * bounded cache comes later behind the same call). The MoE block asks for
 * expert e's three matrices and never cares where they are. */
#ifndef FL_EXPERTS_EXPERTS_H
#define FL_EXPERTS_EXPERTS_H

#include <stdint.h>

#include "backend/backend.h"
#include "model/weights.h"

typedef struct fl_experts {
    int32_t n_expert;
    fl_weight gate, up, down;   /* expert 0's matrices: gate, up [n_ff, H]; down [H, n_ff] */
    uint64_t gate_up_stride;    /* bytes from one expert's gate (and up) to the next's */
    uint64_t down_stride;
} fl_experts;

/* Loads the fused stack gate_up {H, 2 n_ff, E} (gate rows first) when the
 * file has it, else the stacks gate and up {H, n_ff, E}; and down
 * {n_ff, H, E}. */
flint_status fl_experts_load(fl_experts *ex, fl_weight_loader *wl, const char *gate_up, const char *gate,
                             const char *up, const char *down, int64_t n_embd, int64_t n_ff, int32_t n_expert);

/* Views of expert e's matrices. */
void fl_experts_get(const fl_experts *ex, int32_t e, fl_weight *gate, fl_weight *up, fl_weight *down);

/* Bytes of one expert's three matrices. */
uint64_t fl_expert_bytes(const fl_experts *ex);

#endif
