/* vk.h — the Vulkan backend's internals, shared by its files (never by
 * model code, which sees only backend/backend.h and vulkan/vk_backend.h).
 *
 * Addressing: every shader reaches its operands through buffer device
 * addresses passed as push constants (GL_EXT_buffer_reference), so the
 * pointer-based op table maps onto the device without descriptor sets.
 * - Activations, the KV pool and recurrent states come from fl_vk_alloc:
 *   host-visible device memory, mapped once, so the host pointer model code
 *   holds and the device address differ by a constant per allocation; or,
 *   for memory only ops touch (fl_backend_alloc_device), device-local
 *   memory never mapped, whose handle is reserved address space the host
 *   cannot touch (PROT_NONE), found the same way.
 *   Host memory imported with fl_vk_import_host (the expert store's slots,
 *   rewritten by its reads between steps) is found the same way.
 * - Any other pointer an op reads is a weight (immutable while the backend
 *   lives): uploaded to device-local memory on first use, in its stored
 *   (quantized) form, and found again by its host address.
 * - An output pointer outside fl_vk_alloc memory (the caller's logits) is
 *   written through a transient buffer and copied out when the op completes.
 * - Small per-op arrays (a tile list, offsets) go through the same
 *   transient buffer (fl_vk_args).
 *
 * Execution: an op records its dispatches (fl_vk_dispatch: a barrier
 * orders each after the one before) and ends with fl_vk_submit. Immediately (the default) that
 * runs them and waits, so host code may touch activations between ops; in
 * deferred mode (fl_vk_backend_set_deferred: what a context uses) a whole
 * forward step is recorded into one command buffer and runs at the sync
 * op, where the model's host code waits for it (backend.h). Errors are
 * sticky: an op that cannot report one (the void ops) keeps it in vk->err
 * and the next op returning a status, or the sync, reports it.
 *
 * Replay: recording logs the dispatches; the flush runs a command buffer
 * recorded earlier from a byte-equal log, or records one (replay.c). This
 * is sound because a command buffer here holds nothing but pipelines,
 * push constants (addresses and sizes) and group counts: the data the
 * addresses point at is written by the host before each run. */
#ifndef FL_VK_H
#define FL_VK_H

#include <vulkan/vulkan.h>

#include "backend/backend.h"
#include "vulkan/shaders.h"

/* One device allocation bound to one buffer; map is NULL where the memory
 * is not host-visible. */
typedef struct fl_vk_buf {
    VkBuffer buf;
    VkDeviceMemory mem;
    VkDeviceAddress addr;
    void *map;
    uint64_t size;
    bool imported; /* host memory the device reads in place (map is the host's, not a mapping) */
    bool reserved; /* device-only memory: map is reserved address space (PROT_NONE), its handle */
} fl_vk_buf;

/* A weight range uploaded to the device: host bytes [host, host + bytes)
 * live at addr. */
typedef struct fl_vk_upload {
    const void *host;
    uint64_t bytes;
    VkDeviceAddress addr;
} fl_vk_upload;

/* Bump arena of device-local chunks for uploads. */
typedef struct fl_vk_arena {
    fl_vk_buf *chunk;
    int32_t n_chunk, cap_chunk;
    uint64_t used; /* bytes taken in the last chunk */
} fl_vk_arena;

/* Memory taken per segment (between flushes) and dropped after it: the
 * last buffer is filled; more are added as needed, the largest kept at
 * the flush, so a segment's pieces lie at the same addresses as the last
 * one's of the same sizes (replay.c depends on it). */
typedef struct fl_vk_bump {
    fl_vk_buf buf[8];
    int32_t n;
    uint64_t used; /* bytes of the last */
    bool host_visible;
} fl_vk_bump;

/* A pending copy from the transient buffer to foreign host memory. */
typedef struct fl_vk_copyout {
    void *dst;
    const void *src; /* inside the transient buffer's mapping */
    uint64_t bytes;
} fl_vk_copyout;

#define FL_VK_MAX_COPYOUT 16

/* Replay (replay.c): the dispatches of the segment being recorded, as a
 * log — each one's shader, push constants (back to back in push) and
 * group counts — and recorded command buffers found again by their log. */
typedef struct fl_vk_op {
    uint32_t shader, push_bytes;
    uint32_t g[3];
} fl_vk_op;

typedef struct fl_vk_log {
    fl_vk_op *op;
    uint8_t *push;
    int64_t n_op, cap_op, n_push, cap_push;
    uint64_t hash; /* of the ops and push constants so far (FNV-1a) */
} fl_vk_log;

#define FL_VK_REPLAY_SLOTS 64 /* recorded command buffers kept: the distinct segments of a few step shapes */

typedef struct fl_vk_replay_slot {
    VkCommandBuffer cmd;
    fl_vk_log log; /* what cmd was recorded from */
    uint64_t used; /* the replay clock when last run; 0: empty */
} fl_vk_replay_slot;

typedef struct fl_vk_replay {
    fl_vk_replay_slot slot[FL_VK_REPLAY_SLOTS];
    uint64_t clock;
    uint64_t recordings, replays; /* segments recorded, and run from a recording */
    bool enabled;                 /* off: every segment is recorded afresh (tests, measurements) */
} fl_vk_replay;

typedef struct fl_vk {
    fl_backend base; /* first: fl_backend * <-> fl_vk * */
    VkInstance inst;
    VkPhysicalDevice phys;
    VkDevice dev;
    VkQueue queue;
    uint32_t queue_family;
    VkCommandPool cmd_pool;
    VkCommandBuffer cmd, upload_cmd; /* cmd: one-off work (the bandwidth probe) */
    VkFence fence, upload_fence;
    VkPhysicalDeviceProperties props;
    uint32_t subgroup_size;
    VkPhysicalDeviceMemoryProperties mem_props;
    uint64_t max_alloc; /* maxMemoryAllocationSize */
    uint64_t host_import_align; /* VK_EXT_external_memory_host's alignment; 0: host memory cannot be imported */
    PFN_vkGetMemoryHostPointerPropertiesEXT host_pointer_props;

    VkPipelineLayout layout; /* push constants only */
    VkPipeline pipe[FL_VK_N_SHADERS];
    VkShaderModule module[FL_VK_N_SHADERS];

    fl_vk_buf *act; /* fl_vk_alloc's allocations, sorted by mapping address */
    int32_t n_act, cap_act;

    fl_vk_arena arena;       /* weights */
    fl_vk_upload *uploads;   /* sorted by host address */
    int32_t n_up, cap_up;
    fl_vk_buf staging;       /* host-visible, for uploads where weights are not */

    fl_vk_bump transient;    /* host-visible: op arguments, outputs to foreign memory */
    fl_vk_bump scratch;      /* device-local: what only the device reads and writes (attention partials) */
    fl_vk_copyout copyout[FL_VK_MAX_COPYOUT];
    int32_t n_copyout;

    struct fl_vk_moe_table *moe_tables; /* moe.c: the expert address tables built so far */
    int32_t n_moe_tables, cap_moe_tables;

    fl_vk_log log;       /* the dispatches recorded since the last flush */
    fl_vk_replay replay; /* command buffers recorded from earlier logs */
    bool deferred;       /* ops wait for the sync op */
    flint_status err;   /* sticky: the first failure */
    char name[256];
} fl_vk;

static inline fl_vk *fl_vk_of(fl_backend *be) { return (fl_vk *)be; }

/* ---- device.c ---- */
flint_status fl_vk_device_open(fl_vk *vk, int32_t index);
/* Whether the device has the device extension name. */
bool fl_vk_has_extension(VkPhysicalDevice pd, const char *name);
void fl_vk_device_close(fl_vk *vk);
/* vkResult as a flint error naming what failed (a lost device, out of
 * device memory, ...); sets vk->err when vk is not NULL. */
flint_status fl_vk_fail(fl_vk *vk, VkResult r, const char *what);

/* ---- memory.c ---- */
flint_status fl_vk_buf_create(fl_vk *vk, uint64_t size, bool host_visible, fl_vk_buf *out);
void fl_vk_buf_destroy(fl_vk *vk, fl_vk_buf *b);
void *fl_vk_alloc(fl_backend *be, size_t bytes, bool host);
void fl_vk_dealloc(fl_backend *be, void *p);
/* The backend's import_host op (backend.h): [p, p + bytes) of host memory
 * becomes backend memory, read in place; fl_vk_dealloc forgets it. */
flint_status fl_vk_import_host(fl_backend *be, void *p, size_t bytes);
/* The device address of backend memory holding [p, p + bytes); 0 if p is
 * not backend memory. */
VkDeviceAddress fl_vk_act_addr(const fl_vk *vk, const void *p, uint64_t bytes);
/* The device address of [p, p + bytes) for an op to read: backend memory
 * as it is, anything else uploaded once as a weight. 0 on failure (vk->err
 * set). p NULL gives 0 without error. */
VkDeviceAddress fl_vk_in(fl_vk *vk, const void *p, uint64_t bytes);
/* A weight uploaded in another form than its stored one (dequantized
 * rows): data[0..bytes) uploaded once and recorded under the host range
 * [key, key + key_bytes) (the stored bytes), so that a later call finds it
 * by key alone; with data NULL, only that look-up (0 if not yet uploaded,
 * without error). 0 on failure (vk->err set). */
VkDeviceAddress fl_vk_in_as(fl_vk *vk, const void *key, uint64_t key_bytes, const void *data, uint64_t bytes);
/* The device address of [p, p + bytes) for this op to read: backend
 * memory as it is, anything else copied for this op (fl_vk_args), never
 * kept as a weight: for inputs that may be host memory changing between
 * calls (queries, positions, a host KV cache). */
VkDeviceAddress fl_vk_read(fl_vk *vk, const void *p, uint64_t bytes);
/* The device address an op writes [p, p + bytes) through: backend memory
 * as it is, foreign memory through the transient buffer (copied back by
 * fl_vk_submit). 0 on failure (vk->err set). */
VkDeviceAddress fl_vk_out(fl_vk *vk, void *p, uint64_t bytes);
/* data[0..bytes) copied into the transient buffer for the dispatches being
 * recorded; its device address, 0 on failure (vk->err set). */
VkDeviceAddress fl_vk_args(fl_vk *vk, const void *data, uint64_t bytes);
/* Backend memory holding [p, p + bytes), or NULL. */
const fl_vk_buf *fl_vk_find_act(const fl_vk *vk, const void *p, uint64_t bytes);
/* bytes of device-local memory for this segment's dispatches to pass data
 * between them (never read by the host); 0 on failure (vk->err set). */
VkDeviceAddress fl_vk_scratch(fl_vk *vk, uint64_t bytes);
/* After a submit: the transient and scratch buffers become one each, empty. */
void fl_vk_transient_reset(fl_vk *vk);
void fl_vk_memory_free(fl_vk *vk);

/* ---- dispatch.c ---- */
flint_status fl_vk_pipelines_create(fl_vk *vk);
void fl_vk_pipelines_destroy(fl_vk *vk);
/* Records one dispatch of shader with push constants push[0..push_bytes)
 * (<= 128) over groups; a barrier orders it after earlier dispatches. */
void fl_vk_dispatch(fl_vk *vk, fl_vk_shader shader, const void *push, uint32_t push_bytes, uint32_t gx, uint32_t gy,
                    uint32_t gz);
/* An op of one dispatch: workgroups of `per` covering n (fl_vk_groups),
 * then the op's end (fl_vk_submit). */
void fl_vk_run(fl_vk *vk, fl_vk_shader shader, const void *push, uint32_t push_bytes, uint64_t n, uint32_t per);
/* The end of an op: runs what was recorded and waits (fl_vk_flush), or,
 * in deferred mode, leaves it for the next sync; returns vk->err (kept:
 * the void ops leave it for the next status). */
flint_status fl_vk_submit(fl_vk *vk);
/* Runs what was recorded, waits, and copies outputs to foreign memory;
 * returns vk->err. */
flint_status fl_vk_flush(fl_vk *vk);
/* The sync op: flushes, and reports and clears vk->err. */
flint_status fl_vk_sync(fl_backend *be);
/* vk->err, cleared: what an op returning a status reports. */
flint_status fl_vk_status(fl_vk *vk);
/* Workgroups of `per` covering n (at least 1), split into x and y where
 * n / per exceeds the device's limit on x. */
void fl_vk_groups(const fl_vk *vk, uint64_t n, uint32_t per, uint32_t *gx, uint32_t *gy);

/* ---- replay.c ---- */
/* Appends a dispatch to vk->log (vk->err set when out of memory). */
void fl_vk_log_dispatch(fl_vk *vk, fl_vk_shader shader, const void *push, uint32_t push_bytes, uint32_t gx,
                        uint32_t gy, uint32_t gz);
void fl_vk_log_clear(fl_vk_log *log);
/* A command buffer holding vk->log's dispatches: a recorded one whose log
 * is equal, else one recorded now (into the least recently used slot);
 * VK_NULL_HANDLE on failure (vk->err set). */
VkCommandBuffer fl_vk_replay_command(fl_vk *vk);
void fl_vk_replay_free(fl_vk *vk);

/* ---- matmul.c: the weights and shaders of the products, shared with moe.c ---- */
/* mm_weights.glsl's push constants (the expert shaders add fl_vk_moe_push's) */
typedef struct fl_vk_mm_push {
    VkDeviceAddress w, scales, biases, x, y;
    uint32_t m, k, n, ldy, row_bytes, srow_bytes, group, stype;
} fl_vk_mm_push;
/* The product shaders of a weight type: dense decode and prefill, and the
 * experts' (MM_EXPERT). */
typedef struct fl_vk_mm_kernels {
    fl_vk_shader vec, tile, vec_id, tile_id;
} fl_vk_mm_kernels;
/* The shaders of type; false for a type without (run as F32 rows). */
bool fl_vk_mm_kernels_of(flint_type type, fl_vk_mm_kernels *out);
/* A weight the shaders can take: the backends' checks (backend/check.h),
 * then the 32-bit sizes of the push constants. */
flint_status fl_vk_mm_check_weight(const fl_weight *w);
/* Bytes of one row as uploaded: stored, or 4k for F32 rows. */
uint64_t fl_vk_mm_row_bytes(const fl_weight *w);
/* Rows per upload: as many as the device's largest allocation holds. */
int64_t fl_vk_mm_range_rows(const fl_vk *vk, const fl_weight *w);
/* Device addresses of rows [r0, r0 + nr) of w (and of their scales and
 * biases), uploaded on first use. 0 with vk->err set on failure. */
VkDeviceAddress fl_vk_mm_range_addr(fl_vk *vk, const fl_weight *w, int64_t r0, int64_t nr, VkDeviceAddress *scales,
                                    VkDeviceAddress *biases);

/* ---- the op files: elementwise.c, rows.c, norm.c, matmul.c, attention.c, delta.c, membw.c ---- */
double fl_vk_read_bandwidth(fl_backend *be, uint64_t bytes, int32_t reps);
flint_status fl_vk_prepare_weight(fl_backend *be, fl_weight *w);
void fl_vk_release_weight(fl_backend *be, fl_weight *w);
flint_status fl_vk_matmul(fl_backend *be, const fl_weight *w, const float *x, float *y, int64_t n);
flint_status fl_vk_matmul_group(fl_backend *be, const fl_matmul_job *jobs, int32_t n_jobs);
void fl_vk_rmsnorm(fl_backend *be, float *y, const float *x, const float *w, int64_t n_rows, int64_t dim, float eps);
void fl_vk_rope(fl_backend *be, float *x, const int32_t *pos, int64_t n_tok, int32_t n_head, int32_t head_dim,
                const fl_rope_params *p);
void fl_vk_softmax(fl_backend *be, float *x, int64_t n_rows, int64_t dim);
void fl_vk_act(fl_backend *be, fl_act act, float *y, const float *x, int64_t n);
void fl_vk_gated(fl_backend *be, fl_act act, float *y, const float *g, const float *u, int64_t n);
void fl_vk_add(fl_backend *be, float *y, const float *a, const float *b, int64_t n);
void fl_vk_mul(fl_backend *be, float *y, const float *a, const float *b, int64_t n);
void fl_vk_scale(fl_backend *be, float *y, const float *x, float s, int64_t n);
void fl_vk_copy(fl_backend *be, void *dst, const void *src, size_t bytes);
void fl_vk_copy_rows(fl_backend *be, float *y, int64_t y_stride, const float *x, int64_t x_stride, int64_t n_rows,
                     int64_t width);
void fl_vk_store_rows(fl_backend *be, flint_type type, void *const *dst, const float *x, int64_t n_rows,
                      int64_t width);
flint_status fl_vk_attention(fl_backend *be, const fl_attn_params *p, float *out, const float *q, const int32_t *pos_q,
                             int64_t n_q, const fl_kv_tile *tiles, int64_t n_tiles, int64_t kv_stride);
void fl_vk_conv_silu(fl_backend *be, float *y, const float *x, const float *w, float *state, int64_t n, int64_t C,
                     int32_t K);
flint_status fl_vk_delta_rule(fl_backend *be, const fl_delta_params *p, float *out, const float *q, const float *k,
                              const float *v, const float *a, const float *b, float *state, int64_t n);
flint_status fl_vk_moe_route(fl_backend *be, const float *p, int64_t n, int32_t n_expert, int32_t k, const float *scale,
                             int32_t *ids, float *w);
flint_status fl_vk_moe_matmul(fl_backend *be, const fl_weight *ws, int32_t n_expert, const int32_t *ids, int64_t n,
                              int32_t k, bool x_per_choice, const float *x, float *y);
void fl_vk_moe_free(fl_vk *vk);
flint_status fl_vk_moe_combine(fl_backend *be, float *out, const float *y, const int32_t *ids, const float *w,
                               int64_t n, int32_t k, int64_t H, const float *shared, const float *scale);

#endif
