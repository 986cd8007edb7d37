/* experts.h — where the expert matrices of one MoE layer live, and the
 * session the MoE block runs them through.
 *
 * The expert table: for each expert, a list of byte ranges (file, offset,
 * size, and the mapped address), one per part of each matrix — the codes,
 * and for MLX affine weights the scales and biases — so stacked tensors
 * (GGUF, HF gate/up/down or fused gate_up_proj) and per-expert tensors
 * (HF mlp.experts.<e>.*_proj.weight, possibly in different shards) look
 * the same. Resident experts are views into the mapping; streamed ones
 * (a store, experts/store.h) are read from disk into cache slots.
 *
 * A session (one MoE block of one layer): fl_experts_begin with the
 * experts the batch routes to, fl_experts_next hands out the ones present
 * (blocking until a read completes), fl_experts_done returns each after
 * its products ran (its slot may then be reused), fl_experts_end closes
 * it. Resident: everything is present at once. */
#ifndef FL_EXPERTS_EXPERTS_H
#define FL_EXPERTS_EXPERTS_H

#include <stdint.h>

#include "backend/backend.h"
#include "model/weights.h"

enum { FL_EXPERT_GATE, FL_EXPERT_UP, FL_EXPERT_DOWN, FL_EXPERT_MATRICES };
enum { FL_EXPERT_CODES, FL_EXPERT_SCALES, FL_EXPERT_BIASES, FL_EXPERT_PARTS };
#define FL_EXPERT_MAX_RANGES (FL_EXPERT_MATRICES * FL_EXPERT_PARTS)

typedef struct fl_expert_range {
    const char *file;     /* path of the file that holds it (owned by the open model) */
    uint64_t offset;      /* absolute byte offset in that file */
    uint64_t size;        /* bytes */
    const uint8_t *mapped;/* the same bytes in the mapping */
} fl_expert_range;

typedef struct fl_store_layer fl_store_layer;

typedef struct fl_experts {
    int32_t n_expert;
    int32_t n_range;                    /* ranges per expert */
    fl_weight w[FL_EXPERT_MATRICES];    /* gate, up [n_ff, H]; down [H, n_ff]: shape and type; data NULL */
    int8_t part[FL_EXPERT_MATRICES][FL_EXPERT_PARTS]; /* range index of each part (-1: none) */
    fl_expert_range *ranges;            /* [n_expert][n_range] */
    fl_weight *views;                   /* resident: [FL_EXPERT_MATRICES][n_expert] every expert's views (NULL: streamed) */
    fl_store_layer *stream;             /* NULL: resident */
} fl_experts;

/* The names a layer's experts may have: stacked (ne = {k, m, E}; the fused
 * gate_up {H, 2 n_ff, E} with gate rows first), or, per_expert set (HF),
 * per-expert tensors "<per_expert><e>.{gate,up,down}_proj.weight". */
typedef struct fl_expert_names {
    const char *gate_up, *gate, *up, *down;
    const char *per_expert; /* NULL: none (GGUF) */
} fl_expert_names;

/* Builds the table of layer l's experts; streamed when the model was
 * opened with an expert cache (registers the layer with its store). */
flint_status fl_experts_load(fl_experts *ex, fl_weight_loader *wl, int32_t l, const fl_expert_names *names,
                             int64_t n_embd, int64_t n_ff, int32_t n_expert);
void fl_experts_free(fl_experts *ex);

/* Bytes of one expert's matrices (every part). */
uint64_t fl_expert_bytes(const fl_experts *ex);

/* Views of expert e's matrices given where its ranges lie (base[r] for
 * range r). */
void fl_experts_view(const fl_experts *ex, const uint8_t *const *base, fl_weight out[FL_EXPERT_MATRICES]);

/* A session over the n_need experts need[] (ascending; the array lives
 * until fl_experts_end). */
typedef struct fl_expert_session {
    const fl_experts *ex;
    const int32_t *need;
    int32_t n_need, n_handed; /* resident: handed out so far */
} fl_expert_session;

flint_status fl_experts_begin(fl_expert_session *s, const fl_experts *ex, const int32_t *need, int32_t n_need);
/* Up to max (<= 64) experts now present and not yet handed out, ascending
 * within the call, into e[0..*n) with their views w[i]; waits for a read
 * when none is; *n = 0 when every needed expert was handed out. An error:
 * a failed read or a file that ends inside an expert. */
flint_status fl_experts_next(fl_expert_session *s, int32_t *e, fl_weight (*w)[FL_EXPERT_MATRICES], int32_t max,
                             int32_t *n);
/* Expert e's products are done (its slot may take another expert). */
void fl_experts_done(fl_expert_session *s, int32_t e);
/* Closes the session, also after an error. */
void fl_experts_end(fl_expert_session *s);
/* How many of each token's likeliest experts to hint before a session
 * (0: resident, or streamed without read-ahead). */
int32_t fl_experts_ahead(const fl_experts *ex);
/* Hints the n experts e[] (distinct) a coming session will likely need:
 * streamed experts start reading (a no-op when resident). */
void fl_experts_prefetch(const fl_experts *ex, const int32_t *e, int32_t n);

#endif
