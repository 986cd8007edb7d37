/* attention.c — attention over the KV pool (backend.h fl_attn_params
 * semantics) on the device:
 * - shaders/attn_tile.comp: flash attention, an online softmax over tiles
 *   of BR (query, head-in-group) rows of one KV head, keys streamed through
 *   shared memory (prefill, and any row count);
 * - shaders/attn_decode.comp: up to DECODE_ROWS rows of a KV head, one key
 *   per thread (decode);
 * - shaders/attn_merge.comp: combines key splits.
 * Work: one workgroup per (KV head, row block, key split). Where the
 * (KV head, row block) pairs are too few to fill a GPU (decode: one query,
 * a handful of KV heads) and the context is long, the tiles are split over
 * workgroups ("flash decoding"): each writes its partial max, sum and
 * weighted V, and a second dispatch merges them. The tile list (device
 * addresses of each tile's K, V and positions) goes to the device as an
 * argument array; the partials live in the segment's device-local scratch. */
#include <stdlib.h>

#include "backend/check.h"
#include "base/error.h"
#include "vulkan/vk.h"

#define BR 16          /* rows per workgroup: attn_tile.comp's BR */
#define DECODE_ROWS 8  /* attn_decode.comp's RD: it takes at most this many rows */
#define DECODE_DK 512  /* and key heads up to this dim (its queries sit in shared memory) */
#define DV_MAX 512     /* value head dims the shaders hold in registers */
#define TARGET_GROUPS 256 /* workgroups worth splitting the keys for */
#define MIN_SPLIT_TILES 2 /* a split takes at least this many tiles */

typedef struct attn_push {
    VkDeviceAddress q, pos_q, out, part, tiles;
    uint32_t n_head, group, dk, dv, kv_stride, n_rows, n_tiles, n_split, tiles_per_split, n_rblocks;
    int32_t window;
    uint32_t kv_type;
    float scale, softcap;
} attn_push;
_Static_assert(sizeof(attn_push) <= 128, "push constants are 128 bytes");

/* The backends' checks (backend/check.h), then what the shaders cannot
 * take: value heads past DV_MAX, sizes past 32-bit indexing. */
static flint_status check_args(const fl_attn_params *p, float *out, const float *q, const int32_t *pos_q,
                               int64_t n_q, const fl_kv_tile *tiles, int64_t n_tiles, int64_t kv_stride) {
    flint_status st = fl_check_attention(p, out, q, pos_q, n_q, tiles, n_tiles, kv_stride);
    if (st || n_q == 0) return st;
    if (p->head_dim_v > DV_MAX)
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: attention with value head dim %d (at most %d)", p->head_dim_v,
                         DV_MAX);
    /* the shaders index in 32 bits: queries, outputs, a tile and the partials */
    const int64_t dmax = p->head_dim_k > p->head_dim_v ? p->head_dim_k : p->head_dim_v;
    if (n_q > INT32_MAX / p->n_head / (dmax + 2) || kv_stride > INT32_MAX / FL_ATTN_TILE || n_tiles > INT32_MAX / 3)
        return fl_errorf(FLINT_E_UNSUPPORTED,
                         "vulkan: attention of %lld queries x %d heads x %lld dims, kv_stride %lld, %lld tiles "
                         "exceeds 32-bit indexing",
                         (long long)n_q, p->n_head, (long long)dmax, (long long)kv_stride, (long long)n_tiles);
    return FLINT_OK;
}

/* bytes of one tile's K or V array that the shaders read */
static uint64_t tile_bytes(int64_t kv_stride, int64_t n_head_kv, int64_t head_dim, flint_type t) {
    const uint64_t esz = t == FLINT_TYPE_F32 ? 4 : 2;
    return ((uint64_t)(FL_ATTN_TILE - 1) * (uint64_t)kv_stride + (uint64_t)(n_head_kv * head_dim)) * esz;
}

flint_status fl_vk_attention(fl_backend *be, const fl_attn_params *p, float *out, const float *q, const int32_t *pos_q,
                             int64_t n_q, const fl_kv_tile *tiles, int64_t n_tiles, int64_t kv_stride) {
    fl_vk *vk = fl_vk_of(be);
    if (vk->err) return fl_vk_status(vk);
    flint_status st = check_args(p, out, q, pos_q, n_q, tiles, n_tiles, kv_stride);
    if (st != FLINT_OK || n_q == 0) return st;

    const int64_t G = p->n_head / p->n_head_kv, n_rows = n_q * G;
    const int64_t dk = p->head_dim_k, dv = p->head_dim_v;
    /* deterministic mode: one kernel, keys never split, so a query's
     * arithmetic depends on nothing but its own row and the cache */
    const bool det = vk->base.deterministic;
    const bool decode = !det && n_rows <= DECODE_ROWS && dk <= DECODE_DK;
    const int64_t n_rblocks = decode ? 1 : (n_rows + BR - 1) / BR;
    attn_push pc = {.n_head = (uint32_t)p->n_head, .group = (uint32_t)G, .dk = (uint32_t)dk, .dv = (uint32_t)dv,
                    .kv_stride = (uint32_t)kv_stride, .n_rows = (uint32_t)n_rows, .n_tiles = (uint32_t)n_tiles,
                    .n_rblocks = (uint32_t)n_rblocks, .window = p->window, .scale = p->scale,
                    .softcap = p->softcap > 0 ? p->softcap : 0};
    pc.kv_type = p->kv_type == FLINT_TYPE_F32 ? 0 : p->kv_type == FLINT_TYPE_F16 ? 1 : 2;

    /* split the keys when the (KV head, row block) workgroups are few */
    const int64_t n_tasks = p->n_head_kv * n_rblocks;
    int64_t n_split = 1;
    if (!det && n_tasks < TARGET_GROUPS && n_tiles >= 2 * MIN_SPLIT_TILES) {
        n_split = (TARGET_GROUPS + n_tasks - 1) / n_tasks;
        if (n_split > n_tiles / MIN_SPLIT_TILES) n_split = n_tiles / MIN_SPLIT_TILES;
    }
    const int64_t per = n_tiles > 0 ? (n_tiles + n_split - 1) / n_split : 1;
    n_split = n_tiles > 0 ? (n_tiles + per - 1) / per : 1;
    pc.tiles_per_split = (uint32_t)per;
    pc.n_split = (uint32_t)n_split;
    const uint64_t part_floats = (uint64_t)n_rows * (uint64_t)p->n_head_kv * (uint64_t)n_split * (uint64_t)(dv + 2);
    if (n_split > 1 && part_floats > UINT32_MAX)
        return fl_errorf(FLINT_E_UNSUPPORTED, "vulkan: attention partials of %llu floats exceed 32-bit indexing",
                         (unsigned long long)part_floats);

    uint64_t *addr = NULL;
    if (n_tiles > 0 && !(addr = malloc((size_t)n_tiles * 3 * sizeof *addr)))
        return fl_errorf(FLINT_E_NOMEM, "out of memory for %lld attention tiles", (long long)n_tiles);
    /* from here a failure is sticky in vk->err: the dispatches record
     * nothing and fl_vk_submit drops this op's transient memory */
    pc.q = fl_vk_read(vk, q, (uint64_t)(n_q * p->n_head * dk) * sizeof(float));
    pc.pos_q = fl_vk_read(vk, pos_q, (uint64_t)n_q * sizeof(int32_t));
    if (n_tiles > 0) {
        const uint64_t kb = tile_bytes(kv_stride, p->n_head_kv, dk, p->kv_type);
        const uint64_t vb = tile_bytes(kv_stride, p->n_head_kv, dv, p->kv_type);
        for (int64_t t = 0; t < n_tiles; t++) {
            addr[3 * t] = fl_vk_read(vk, tiles[t].k, kb);
            addr[3 * t + 1] = fl_vk_read(vk, tiles[t].v, vb);
            addr[3 * t + 2] = fl_vk_read(vk, tiles[t].pos, FL_ATTN_TILE * sizeof(int32_t));
        }
        pc.tiles = fl_vk_args(vk, addr, (uint64_t)n_tiles * 3 * sizeof *addr);
        free(addr);
    }
    pc.out = fl_vk_out(vk, out, (uint64_t)(n_q * p->n_head * dv) * sizeof(float));
    if (n_split > 1) pc.part = fl_vk_scratch(vk, part_floats * sizeof(float));

    uint32_t gx, gy;
    fl_vk_groups(vk, (uint64_t)(n_tasks * n_split), 1, &gx, &gy);
    fl_vk_dispatch(vk, decode ? FL_VK_SHADER_attn_decode : FL_VK_SHADER_attn_tile, &pc, sizeof pc, gx, gy, 1);
    if (n_split > 1) {
        fl_vk_groups(vk, (uint64_t)(n_rows * p->n_head_kv), 1, &gx, &gy);
        fl_vk_dispatch(vk, FL_VK_SHADER_attn_merge, &pc, sizeof pc, gx, gy, 1);
    }
    fl_vk_submit(vk);
    return fl_vk_status(vk);
}
