/* kv.h — K/V memory as a pool of fixed-size blocks (paged), and the
 * per-sequence state that refers to it.
 *
 * A block holds FL_KV_BLOCK consecutive positions (block i of a sequence:
 * positions 64 i .. 64 i + 63) of every layer of one group: the global
 * (full-attention) layers that own their K/V form one group, the sliding-
 * window layers another (all share one window). Inside a block each owning
 * layer has K[64][row] then V[64][row] in the pool's type (F16, BF16 or
 * F32), row = n_head_kv * head_dim of the layer; the 64 positions (-1:
 * empty) are kept beside, per block. Layers that read another layer's K/V
 * (kv_source != l) own nothing; recurrent layers own no blocks.
 *
 * Ownership. A sequence (fl_kv_cache) holds a block table per group (index
 * pos / 64 -> block id, -1: none) and one reference per entry; a snapshot
 * holds one reference per sliding block it pins. A block returns to the
 * pool when its last reference goes. Blocks are shared by reference
 * between sequences (fork, copy) only when full below the fork point, and
 * positions only grow, so only one sequence ever writes a block; rewinding
 * into a shared block copies it first (copy on write).
 *
 * Sliding layers free a block once every position in it is older than the
 * window of any future query (all positions < n_past - window after a
 * step), so they hold about window / 64 + 2 blocks whatever the context.
 *
 * Recurrent (Gated DeltaNet) layers keep their conv and delta state per
 * sequence; they summarise every position so far and cannot be rewound.
 * A snapshot copies them at the sequence's current length so that a later
 * fork can restore that prefix.
 *
 * Memory: the pool (blocks and their positions) is allocated once by
 * fl_kv_pool_init and the recurrent states by fl_kv_cache_init; nothing in
 * the decode path allocates. Snapshot states are allocated when a slot is
 * first used (fl_kv_snapshot_take, never during decode) and reused. What
 * the backend's ops read or write — block data and positions, the
 * recurrent states and the snapshots of them — is the backend's memory;
 * the bookkeeping (references, tables, free lists) is the host's. The host
 * writes the positions (fl_backend_alloc: host-visible on a GPU); block
 * data and states are touched only by ops (fl_backend_alloc_device: on a
 * GPU, device-local memory the host cannot map), and copied or zeroed by
 * fl_backend_copy.
 *
 * Placement (backend/placement.h): a block's K/V rows are split in two
 * parts, one per backend — the layers the host backend runs keep theirs
 * in host memory, the device's layers in the device's (a layer whose K/V
 * a device layer reads there too, and then that part is host-visible:
 * part_host) — one block id and one table for both.
 * Recurrent states and their snapshots live with their layer's backend;
 * positions in the device's memory (both backends' ops read them). */
#ifndef FL_CACHE_KV_H
#define FL_CACHE_KV_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "backend/placement.h"
#include "flint.h"
#include "model/hparams.h"

#define FL_KV_BLOCK 64 /* positions per block: the CPU attention kernel's key tile */

enum { FL_KV_GLOBAL = 0, FL_KV_SLIDING = 1, FL_KV_GROUPS = 2 };
enum { FL_KV_HOST = 0, FL_KV_DEVICE = 1, FL_KV_PARTS = 2 }; /* whose memory: the placement's backends */

typedef struct fl_kv_group {
    int64_t n_blocks;     /* 0: the model has no layer of this kind */
    uint64_t block_bytes; /* K and V rows of every owning layer for FL_KV_BLOCK positions (both parts) */
    uint64_t part_bytes[FL_KV_PARTS];  /* of them, the rows of the part's layers */
    uint8_t *data[FL_KV_PARTS];        /* [n_blocks][part_bytes], 64-byte aligned (the part's backend's
                                          memory); NULL for an empty part */
    int32_t *pos;         /* [n_blocks][FL_KV_BLOCK] position of each row, -1: empty (backend memory) */
    int32_t *ref;         /* [n_blocks] references (tables and snapshots); 0: free */
    int32_t *free_ids;    /* [n_blocks] a stack of the free ids */
    int64_t n_free;
} fl_kv_group;

typedef struct fl_kv_pool {
    fl_backend *be;        /* whose memory holds pos (NULL: the host's): the device's */
    fl_backend *part_be[FL_KV_PARTS]; /* whose memory holds each part of the blocks, the states and snapshots */
    bool part_host[FL_KV_PARTS];      /* the part's blocks are written by the other backend's ops too (host-visible) */
    int8_t *part;          /* [n_layer] the part holding the K/V the layer reads, or its recurrent state */
    flint_type type;       /* F16, BF16 or F32 */
    int32_t elt;           /* bytes per element */
    int32_t n_layer;
    int32_t window;        /* the sliding window; 0: no sliding group */
    int32_t keep;          /* sliding history a sequence holds behind n_past: window + n_batch, so
                              a snapshot between steps can pin the window of any position of
                              the step that just ran */
    int32_t n_ctx;         /* positions per sequence */
    int32_t n_table;       /* ceil(n_ctx / FL_KV_BLOCK): entries of a block table */
    int8_t *group;         /* [n_layer] the group holding the K/V the layer reads; -1: none (recurrent) */
    uint64_t *off_k;       /* [n_layer] byte offset in a block's part of the K rows the layer reads (V: off_v) */
    uint64_t *off_v;
    int32_t *row;          /* [n_layer] elements per K/V row the layer reads */
    fl_kv_group g[FL_KV_GROUPS];
    int64_t n_state;       /* floats of the recurrent state of one sequence (every recurrent layer) */
    uint64_t snap_bytes;   /* states held by live snapshots */
} fl_kv_pool;

/* Sizes the pool for n_seq sequences of n_ctx positions stepped n_batch
 * tokens at a time: kv_bytes 0 gives every sequence room to reach n_ctx
 * (its window, for sliding layers); otherwise kv_bytes is split between
 * the groups (sliding first, up to that same room). kv_type is a
 * flint_kv_type. pl: the backends whose ops read the pool (NULL: host
 * memory); they must outlive the pool and every cache of it. */
flint_status fl_kv_pool_init(fl_kv_pool *p, const fl_placement *pl, const fl_hparams *hp, int32_t kv_type, int32_t n_seq,
                             int32_t n_ctx, int32_t n_batch, int64_t kv_bytes);
void fl_kv_pool_free(fl_kv_pool *p);
/* Bytes the pool and the caches of n_seq sequences of n_ctx positions hold
 * for layer l (its K/V blocks, with kv_bytes 0, or its recurrent states):
 * what placing the layer on a device puts in the device's memory. */
uint64_t fl_kv_layer_bytes(const fl_hparams *hp, int32_t l, int32_t kv_type, int32_t n_seq, int32_t n_ctx);
int64_t fl_kv_pool_blocks_total(const fl_kv_pool *p);
int64_t fl_kv_pool_blocks_free(const fl_kv_pool *p);
/* Blocks held by any sequence or snapshot (with their positions), plus the
 * live snapshots' states. */
uint64_t fl_kv_pool_bytes_used(const fl_kv_pool *p);
/* Everything the pool allocated. */
uint64_t fl_kv_pool_bytes(const fl_kv_pool *p);

/* recurrent layers only */
typedef struct fl_kv_layer {
    float *conv;      /* [conv_kernel - 1][channels], the last inputs */
    float *ssm;       /* [n_v_heads][d_k][d_v] */
    int64_t n_conv, n_ssm;
} fl_kv_layer;

typedef struct fl_kv_snapshot {
    int32_t n_past;   /* the length it records; -1: slot unused */
    uint64_t stamp;   /* when it was taken (the oldest is dropped first) */
    float *state[FL_KV_PARTS]; /* per part (whose memory): its recurrent layers' conv then ssm (NULL: none) */
    int32_t pin_first;/* sliding blocks pinned: table indices pin_first .. + n_pin - 1 */
    int32_t n_pin;
    int32_t *pin;     /* [n_table] their ids */
} fl_kv_snapshot;

typedef struct fl_kv_cache {
    fl_kv_pool *pool;
    int32_t n_layer;
    int32_t n_ctx;                    /* positions 0 .. n_ctx-1 */
    int32_t n_past;                   /* positions already written */
    int32_t *table[FL_KV_GROUPS];     /* [n_table] block ids, -1: none (NULL for an absent group) */
    int32_t first[FL_KV_GROUPS];      /* no block is held below this index (sliding: freed) */
    fl_kv_layer *layers;              /* [n_layer] */
    fl_kv_snapshot snap[FLINT_MAX_SNAPSHOTS];
    uint64_t snap_clock;
    fl_kv_tile *tiles;                /* [n_table] one layer's held blocks, for attention */
    uint64_t bytes;                   /* the recurrent states */
} fl_kv_cache;

flint_status fl_kv_cache_init(fl_kv_cache *c, fl_kv_pool *pool, const fl_hparams *hp);
/* Releases every block and snapshot, then the cache's own memory. */
void fl_kv_cache_free(fl_kv_cache *c);
/* Empties the cache: blocks and snapshots released, states zero, n_past 0. */
void fl_kv_cache_reset(fl_kv_cache *c);

/* New blocks of each group that appending n positions takes (blocks the
 * sliding window frees meanwhile not counted). */
void fl_kv_cache_need(const fl_kv_cache *c, int32_t n, int64_t need[FL_KV_GROUPS]);
/* FLINT_E_KV_FULL when the pool lacks need[g] free blocks of a group. */
flint_status fl_kv_pool_fits(const fl_kv_pool *p, const int64_t need[FL_KV_GROUPS]);
/* Takes the blocks for positions n_past .. n_past + n - 1 and records
 * their positions; the caller made sure they fit (fl_kv_pool_fits over
 * every cache of the step). */
void fl_kv_cache_reserve(fl_kv_cache *c, int32_t n);
/* After a step wrote n positions: n_past += n, and the sliding group
 * returns the blocks no future query can see. */
void fl_kv_cache_advance(fl_kv_cache *c, int32_t n);
/* The lowest block index sliding layers need once a sequence holds n
 * positions: keys older than n - window are out of every future query's
 * window (a block stays while any of its positions is >= n - window). */
static inline int32_t fl_kv_sliding_lo(int32_t window, int32_t n) {
    return n > window ? (n - window) / FL_KV_BLOCK : 0;
}
/* After a failed step that reserved n positions: their rows emptied. */
void fl_kv_cache_unwind(fl_kv_cache *c, int32_t n);

/* Where the K (or V) row of layer l at position pos lives (a block held). */
static inline void *fl_kv_row_k(const fl_kv_cache *c, int32_t l, int32_t pos) {
    const fl_kv_pool *p = c->pool;
    const fl_kv_group *g = &p->g[p->group[l]];
    int32_t id = c->table[p->group[l]][pos / FL_KV_BLOCK];
    const int part = p->part[l];
    return g->data[part] + (uint64_t)id * g->part_bytes[part] + p->off_k[l] + (uint64_t)(pos % FL_KV_BLOCK) * p->row[l] * p->elt;
}
static inline void *fl_kv_row_v(const fl_kv_cache *c, int32_t l, int32_t pos) {
    const fl_kv_pool *p = c->pool;
    return (uint8_t *)fl_kv_row_k(c, l, pos) - p->off_k[l] + p->off_v[l];
}
/* Fills c->tiles with layer l's held blocks in position order; returns
 * their count. */
int64_t fl_kv_cache_tiles(const fl_kv_cache *c, int32_t l);

/* Forgets positions >= n_keep (and the snapshots past it). Sliding layers
 * rewind only while the blocks of the window before n_keep are still held;
 * recurrent layers not at all (n_keep 0 resets); FLINT_E_INVALID_ARG
 * beyond that. A partly kept block that is shared is copied first
 * (FLINT_E_KV_FULL when no block is free; nothing changed). */
flint_status fl_kv_cache_truncate(fl_kv_cache *c, int32_t n_keep);
/* Resets dst, then makes it hold the first P positions of src, P the
 * largest value <= n_keep that every layer can restore (flint_seq_fork);
 * *n_reused = P. dst != src, both of one pool. */
flint_status fl_kv_cache_fork(fl_kv_cache *dst, const fl_kv_cache *src, int32_t n_keep, int32_t *n_reused);
/* dst = src at its full length (a fork at n_past). */
flint_status fl_kv_cache_copy(fl_kv_cache *dst, const fl_kv_cache *src);
/* Records c's recurrent state at n_past and pins the sliding blocks that
 * position needs; a no-op for models with neither. */
flint_status fl_kv_snapshot_take(fl_kv_cache *c);
/* Live snapshots. */
int32_t fl_kv_snapshot_count(const fl_kv_cache *c);

#endif
