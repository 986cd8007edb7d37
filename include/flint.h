/* flint.h — the public C API of flint, a fast LLM inference engine.
 *
 * Conventions
 *   - Every fallible call returns a flint_status (FLINT_OK = 0) or NULL;
 *     the message describing the last failure on the calling thread is
 *     flint_errmsg(). The library never exits or aborts on bad input.
 *   - Handles are opaque. A flint_model is the loaded, read-only model file
 *     (weights stay mmap'ed); it may be shared between threads.
 *   - Params structs: zero means default.
 *   - Shapes are listed fastest-varying first (ggml order) for every file
 *     format: a PyTorch [out, in] matrix has ne = {in, out}.
 */
#ifndef FLINT_H
#define FLINT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FLINT_BUILD) && defined(__GNUC__)
#define FLINT_API __attribute__((visibility("default")))
#else
#define FLINT_API
#endif

#define FLINT_MAX_DIMS 8 /* GGUF allows 4; safetensors tensors (vision convs) may have more */

typedef enum flint_status {
    FLINT_OK = 0,
    FLINT_E_INVALID_ARG = 1,  /* a NULL or out-of-range argument from the caller */
    FLINT_E_IO = 2,           /* a file could not be opened, read or mapped */
    FLINT_E_FORMAT = 3,       /* a file is malformed, truncated or inconsistent */
    FLINT_E_UNSUPPORTED = 4,  /* well-formed, but a version/type/feature flint lacks */
    FLINT_E_NOMEM = 5,        /* an allocation failed */
    FLINT_E_NOT_FOUND = 6,    /* a metadata key or tensor name is absent */
    FLINT_E_TYPE = 7,         /* a metadata value exists but has another type */
    FLINT_E_KV_FULL = 8,      /* the KV block pool cannot hold the step: nothing ran, nothing changed */
    FLINT_E_NUMERIC = 9,      /* the model produced a non-finite value (NaN/Inf logits) */
    FLINT_E_CANCELLED = 10,   /* a request was cancelled */
    FLINT_E_BUSY = 11,        /* the engine's queue is full */
} flint_status;

/* Weight and element types. Values 0..41 are the ggml type ids used in GGUF
 * files; the others are safetensors dtypes without a ggml id and MLX
 * quantization (a packed uint32 weight with separate scales, and for affine
 * biases: MLX folders as mlx-lm writes them). */
typedef enum flint_type {
    FLINT_TYPE_F32 = 0,
    FLINT_TYPE_F16 = 1,
    FLINT_TYPE_Q4_0 = 2,
    FLINT_TYPE_Q4_1 = 3,
    FLINT_TYPE_Q5_0 = 6,
    FLINT_TYPE_Q5_1 = 7,
    FLINT_TYPE_Q8_0 = 8,
    FLINT_TYPE_Q8_1 = 9,
    FLINT_TYPE_Q2_K = 10,
    FLINT_TYPE_Q3_K = 11,
    FLINT_TYPE_Q4_K = 12,
    FLINT_TYPE_Q5_K = 13,
    FLINT_TYPE_Q6_K = 14,
    FLINT_TYPE_Q8_K = 15,
    FLINT_TYPE_IQ2_XXS = 16,
    FLINT_TYPE_IQ2_XS = 17,
    FLINT_TYPE_IQ3_XXS = 18,
    FLINT_TYPE_IQ1_S = 19,
    FLINT_TYPE_IQ4_NL = 20,
    FLINT_TYPE_IQ3_S = 21,
    FLINT_TYPE_IQ2_S = 22,
    FLINT_TYPE_IQ4_XS = 23,
    FLINT_TYPE_I8 = 24,
    FLINT_TYPE_I16 = 25,
    FLINT_TYPE_I32 = 26,
    FLINT_TYPE_I64 = 27,
    FLINT_TYPE_F64 = 28,
    FLINT_TYPE_IQ1_M = 29,
    FLINT_TYPE_BF16 = 30,
    FLINT_TYPE_TQ1_0 = 34,
    FLINT_TYPE_TQ2_0 = 35,
    FLINT_TYPE_MXFP4 = 39,
    FLINT_TYPE_NVFP4 = 40,
    FLINT_TYPE_Q1_0 = 41,
    /* safetensors dtypes that have no ggml id */
    FLINT_TYPE_BOOL = 64,
    FLINT_TYPE_U8,
    FLINT_TYPE_U16,
    FLINT_TYPE_U32,
    FLINT_TYPE_U64,
    FLINT_TYPE_F8_E4M3,
    FLINT_TYPE_F8_E5M2,
    FLINT_TYPE_F8_E8M0,
    FLINT_TYPE_F4_E2M1,    /* two values per byte, low nibble first */
    FLINT_TYPE_F6_E2M3,    /* four values per three bytes */
    FLINT_TYPE_F6_E3M2,
    FLINT_TYPE_C64,        /* complex64: two f32 */
    FLINT_TYPE_F8_E4M3FNUZ, /* no negative zero: 0x80 is NaN */
    FLINT_TYPE_F8_E5M2FNUZ,
    /* MLX quantization: codes packed into little-endian uint32 words, lowest
     * bits first (3, 5 and 6 bits as one bit stream that straddles words) */
    FLINT_TYPE_MLX_Q4,     /* affine: w = scale * q + bias per group */
    FLINT_TYPE_MLX_Q8,
    FLINT_TYPE_MLX_Q1,
    FLINT_TYPE_MLX_Q2,
    FLINT_TYPE_MLX_Q3,
    FLINT_TYPE_MLX_Q5,
    FLINT_TYPE_MLX_Q6,
    FLINT_TYPE_MLX_MXFP4,  /* E2M1 codes, E8M0 scales per 32, no bias */
    FLINT_TYPE_MLX_MXFP8,  /* E4M3 codes, E8M0 scales per 32, no bias */
    FLINT_TYPE_MLX_NVFP4,  /* E2M1 codes, E4M3 scales per 16, no bias */
    FLINT_TYPE_COUNT
} flint_type;

typedef enum flint_file_kind {
    FLINT_FILE_GGUF = 1,
    FLINT_FILE_SAFETENSORS = 2, /* a Hugging Face folder (config.json + *.safetensors) */
} flint_file_kind;

/* Metadata value kinds (GGUF value types; config.json maps onto them:
 * integers -> I64, reals -> F64, true/false -> BOOL, strings -> STRING,
 * arrays -> ARRAY, objects -> nested keys joined with '.'). */
typedef enum flint_meta_type {
    FLINT_META_U8 = 0,
    FLINT_META_I8 = 1,
    FLINT_META_U16 = 2,
    FLINT_META_I16 = 3,
    FLINT_META_U32 = 4,
    FLINT_META_I32 = 5,
    FLINT_META_F32 = 6,
    FLINT_META_BOOL = 7,
    FLINT_META_STRING = 8,
    FLINT_META_ARRAY = 9,
    FLINT_META_U64 = 10,
    FLINT_META_I64 = 11,
    FLINT_META_F64 = 12,
    FLINT_META_NULL = 13, /* JSON null */
} flint_meta_type;

typedef struct flint_model flint_model;

typedef struct flint_model_params {
    /* Routed MoE experts: 0 keeps them resident in the mapping (the
     * default); > 0 streams them from disk into a cache of that many bytes
     * (at least one expert per MoE layer whatever the number); -1 sizes the
     * cache from the memory available. Logits are the same bits either way. */
    int64_t expert_cache;
} flint_model_params;

/* What the expert store did so far (flint_model_expert_stats). */
typedef struct flint_expert_stats {
    int32_t streamed;        /* 0: experts resident (the rest but the shape is zero) */
    int32_t n_layers;        /* MoE layers (0: a dense model) */
    int32_t n_expert;        /* experts per layer */
    int32_t n_expert_used;   /* experts each token routes to */
    int32_t slots_per_layer; /* experts a layer's cache holds (0 until a context was created) */
    int64_t budget;          /* bytes the cache may take */
    uint64_t slot_bytes;     /* bytes of one slot (one expert, aligned for O_DIRECT) */
    int32_t io_threads;
    int32_t direct;          /* 1: O_DIRECT reads (so far); 0: buffered pread */
    uint64_t hits, misses;   /* routed experts found in the cache (or on their way) / read from disk */
    uint64_t prefetches;     /* experts read ahead for the next layer (FLINT_EXPERT_PREFETCH, default 3 per token) */
    uint64_t bytes_read;     /* from disk (O_DIRECT's aligned supersets included) */
    uint64_t reads_direct, reads_buffered;
    uint64_t io_busy_ns;     /* time with at least one read queued or in progress */
    uint64_t io_wait_ns;     /* time the forward waited for experts still on their way */
} flint_expert_stats;

typedef struct flint_tensor_info {
    const char *name;               /* valid while the model is open */
    flint_type type;
    int32_t n_dims;
    int64_t ne[FLINT_MAX_DIMS];     /* fastest-varying first; unused dims are 1 */
    uint64_t offset;                /* byte offset of the data in its file */
    uint64_t size;                  /* bytes of data */
    const void *data;               /* points into the read-only mapping */
    const char *file;               /* path of the file that holds the data */
} flint_tensor_info;

/* The message for the last failure on this thread ("" if none). */
FLINT_API const char *flint_errmsg(void);
/* A constant name for a status ("FLINT_E_FORMAT"). */
FLINT_API const char *flint_status_name(flint_status status);
/* "Q4_K", "BF16", "MLX_Q4"; NULL for a value that is not a type. */
FLINT_API const char *flint_type_name(flint_type type);

/* Opens a .gguf file or a Hugging Face folder. Maps the files and parses
 * headers; reads no tensor data. params may be NULL. */
FLINT_API flint_status flint_model_open(const char *path, const flint_model_params *params,
                                        flint_model **out);
FLINT_API void flint_model_close(flint_model *model);

FLINT_API flint_file_kind flint_model_file_kind(const flint_model *model);
/* The expert store's configuration and counters (thread-safe). */
FLINT_API flint_status flint_model_expert_stats(const flint_model *model, flint_expert_stats *out);
/* The streamed experts' routing histogram (per layer, per expert: the
 * steps that routed to it) to a file, once a context has loaded the model;
 * and back into a freshly opened model, before or after its first context:
 * the counts seed the cache policy and the first context reads each
 * layer's most routed experts. A file of another model (its tensor bytes
 * or shape differ), truncated or malformed fails with a message. Both fail
 * for a model whose experts are resident (expert_cache 0). */
/* The disk's read bandwidth for the streamed experts, in bytes/s: about
 * `bytes` of experts picked at random, read as the expert store reads them
 * (every byte range of an expert, O_DIRECT where it can, as many reads at
 * once as its I/O threads). Reads past the page cache, into scratch; the
 * cache and its counters are left alone. Fails for resident experts and
 * before a context has loaded the model. */
FLINT_API flint_status flint_model_expert_read_bandwidth(const flint_model *model, uint64_t bytes,
                                                         double *bytes_per_s);
FLINT_API flint_status flint_model_expert_histogram_save(const flint_model *model, const char *path);
FLINT_API flint_status flint_model_expert_histogram_load(flint_model *model, const char *path);
/* "gemma3", "qwen35moe", ... (GGUF general.architecture, or config.json
 * model_type); "" if the file names none. */
FLINT_API const char *flint_model_arch(const flint_model *model);

/* Metadata: GGUF key/values, or config.json flattened to dotted keys
 * ("text_config.hidden_size"). Array elements are addressed by index. */
FLINT_API int64_t flint_meta_count(const flint_model *model);
FLINT_API const char *flint_meta_key(const flint_model *model, int64_t i);
FLINT_API flint_status flint_meta_type_of(const flint_model *model, const char *key,
                                          flint_meta_type *type);
/* Any integer or bool value, range-checked into int64. */
FLINT_API flint_status flint_meta_get_int(const flint_model *model, const char *key, int64_t *out);
/* Any numeric value as double. */
FLINT_API flint_status flint_meta_get_float(const flint_model *model, const char *key, double *out);
/* A string value; *out points into the model (not NUL-terminated for GGUF
 * strings: use *len). */
FLINT_API flint_status flint_meta_get_str(const flint_model *model, const char *key,
                                          const char **out, uint64_t *len);
/* An array: its element type and length. */
FLINT_API flint_status flint_meta_get_array(const flint_model *model, const char *key,
                                            flint_meta_type *elem_type, uint64_t *count);
/* Element i of an array of strings. */
FLINT_API flint_status flint_meta_get_array_str(const flint_model *model, const char *key,
                                                uint64_t i, const char **out, uint64_t *len);

FLINT_API int64_t flint_tensor_count(const flint_model *model);
FLINT_API flint_status flint_tensor_get(const flint_model *model, int64_t i, flint_tensor_info *out);
FLINT_API flint_status flint_tensor_find(const flint_model *model, const char *name,
                                         flint_tensor_info *out);

/* ---- inference ----
 * A context runs a model: it owns the compute backend (CPU threads), the
 * activation buffers, and the K/V memory of n_seq independent sequences.
 *
 * K/V memory is one pool of fixed-size blocks (flint_context_kv_block_size
 * positions each, for every attention layer) handed to sequences as they
 * grow and returned when they are reset; sliding-window layers return
 * blocks that fell out of their window. Blocks are shared by reference
 * between sequences with a common prefix (flint_seq_fork). A step the pool
 * cannot hold fails with FLINT_E_KV_FULL before anything changes, so the
 * caller can free a sequence and retry. Recurrent (Gated DeltaNet) layers
 * keep a fixed state per sequence, plus the snapshots taken with
 * flint_seq_snapshot. Everything else is allocated at creation. */
typedef struct flint_context flint_context;

typedef enum flint_kv_type {
    FLINT_KV_DEFAULT = 0, /* F16 */
    FLINT_KV_F16 = 1,
    FLINT_KV_BF16 = 2,
    FLINT_KV_F32 = 3,
} flint_kv_type;

typedef struct flint_context_params {
    int32_t n_ctx;      /* positions per sequence; 0: min(4096, the model's training context) */
    int32_t n_batch;    /* tokens per forward step (longer inputs run in steps); 0: 512 */
    int32_t n_seq;      /* independent sequences; 0: 1 */
    int32_t n_threads;  /* 0: one per physical core */
    int32_t kv_type;    /* flint_kv_type: how K and V rows are stored; 0: F16 */
    int64_t kv_bytes;   /* size of the KV block pool; 0: enough for every sequence to reach n_ctx */
    int32_t deterministic; /* nonzero: a sequence's logits are bit-identical whatever shares its
                              batch and however its tokens are split into steps (slower) */
    int32_t exact;      /* nonzero: every matmul of quantized weights (GGUF quants, MLX, FP8)
                           multiplies f32 activations with the dequantized weights, as an f32
                           reference on the dequantized model does, and kv_type 0 means F32;
                           0: the faster kernels that round activations to 8 bits (docs/PERF.md
                           states both) */
    const char *gpu;    /* NULL, "" or "cpu": the CPU; "vulkan": the first discrete GPU, else
                           integrated, else any Vulkan device; "vulkan:N": device N of
                           flint_gpu_list. Anything else: FLINT_E_INVALID_ARG naming it.
                           FLINT_E_UNSUPPORTED: a Vulkan device in a build without VULKAN=1
                           or on a machine without one (vulkan:N past the last: INVALID_ARG
                           with the count). Deterministic mode holds on the device too. A
                           model opened with
                           expert_cache != 0 streams its experts into host memory the device
                           reads in place (VK_EXT_external_memory_host; UNSUPPORTED on a
                           device without it). The device's
                           matmuls are always exact (f32 on dequantized weights); n_threads
                           does not apply to it. */
    int32_t gpu_layers; /* with a GPU: how many decoder layers run on it — the LAST ones, as
                           llama.cpp's -ngl places them; the first n_layer - N run on the CPU
                           (n_threads, exact as set here), and the output head (final norm and
                           logits) runs on the GPU only when every layer does. 0 (the
                           default): auto — every layer, or, when the weights, K/V pool and
                           activations do not fit gpu_memory, as many trailing layers as fit;
                           N > 0: the last N (N >= the model's layer count: all);
                           FLINT_GPU_LAYERS_NONE: none (the GPU holds only the activations).
                           A CPU layer's weights are never uploaded to the device, and its K/V
                           and recurrent state stay in host memory. Below -1, or nonzero
                           without a GPU (gpu cpu): FLINT_E_INVALID_ARG. */
    int64_t gpu_memory; /* bytes of device memory auto placement (gpu_layers 0) may fill; 0: 90%
                           of the device's largest device-local heap. Negative, or nonzero
                           without a GPU: FLINT_E_INVALID_ARG. */
} flint_context_params;

#define FLINT_GPU_LAYERS_NONE (-1) /* flint_context_params.gpu_layers: every layer on the CPU */

/* A GPU device flint can run on. */
typedef struct flint_gpu_info {
    char name[256];
    char api[16];          /* "vulkan" */
    char kind[16];         /* "discrete", "integrated", "virtual", "cpu" or "other" */
    uint64_t memory_bytes; /* the largest device-local memory heap */
    uint32_t vendor_id, device_id;
    int32_t subgroup_size;
} flint_gpu_info;

/* The GPU devices of this machine flint can use, in the order "vulkan:N"
 * counts them: up to max written to out, *n the number found (0 when the
 * build has no GPU backend or the machine no device). */
FLINT_API flint_status flint_gpu_list(flint_gpu_info *out, int32_t max, int32_t *n);

/* Loads the weights' views (no copy of the matrices) and allocates the
 * context. The model must stay open while the context lives. */
FLINT_API flint_status flint_context_create(flint_model *model, const flint_context_params *params,
                                            flint_context **out);
FLINT_API void flint_context_free(flint_context *ctx);
/* Logits per position (the embedding rows, padding included). */
FLINT_API int32_t flint_context_n_vocab(const flint_context *ctx);
/* Decoder layers of the model. */
FLINT_API int32_t flint_context_n_layer(const flint_context *ctx);
FLINT_API int32_t flint_context_n_ctx(const flint_context *ctx);
/* What runs the context: "cpu" or "vulkan: DEVICE NAME". */
FLINT_API const char *flint_context_device(const flint_context *ctx);
/* Decoder layers that run on the GPU (gpu_layers as placed: auto resolved;
 * 0 on the CPU). With fewer than all, flint_context_device says so
 * ("vulkan: NAME, 20/26 layers"). */
FLINT_API int32_t flint_context_gpu_layers(const flint_context *ctx);
/* Bytes of weights uploaded to the GPU so far (each on its first use; 0 on
 * the CPU): what the placed layers (and the head, when placed) hold there. */
FLINT_API uint64_t flint_context_gpu_weight_bytes(const flint_context *ctx);
/* The read bandwidth of the GPU memory the context keeps its weights in,
 * bytes per second: the best of reps reads of a device buffer of about
 * `bytes` (decode's floor on the GPU). 0 for a context on the CPU (flint
 * bench measures the host's with its threads) or if the probe failed. */
FLINT_API double flint_context_read_bandwidth(flint_context *ctx, uint64_t bytes, int32_t reps);
/* The context the model was trained for (0 when the file does not say). */
FLINT_API int32_t flint_context_n_ctx_train(const flint_context *ctx);
/* Layers whose state is recurrent (Gated DeltaNet): 0 for attention-only models. */
FLINT_API int32_t flint_context_n_recurrent_layers(const flint_context *ctx);
/* Positions sequence seq holds so far. */
FLINT_API int32_t flint_context_n_past(const flint_context *ctx, int32_t seq);
/* Bytes of weights read per token, and of the KV caches (for --verbose and
 * the bandwidth floor). */
FLINT_API uint64_t flint_context_weight_bytes(const flint_context *ctx);
FLINT_API uint64_t flint_context_cache_bytes(const flint_context *ctx);

/* Appends tokens[0..n) to sequence seq (in chunks of n_batch) and writes
 * logits[rows][n_vocab]: every token's (all_logits != 0, rows = n) or the
 * last token's (rows = 1). */
FLINT_API flint_status flint_decode(flint_context *ctx, int32_t seq, const int32_t *tokens, int32_t n, float *logits,
                                    int all_logits);
/* One sequence's part of a flint_decode_batch call. */
typedef struct flint_batch_seq {
    int32_t seq;            /* the sequence the tokens continue; at most once per call */
    const int32_t *tokens;
    int32_t n_tokens;       /* >= 1 */
    int all_logits;         /* 1: logits of every token; 0: of the last; -1: none (a prompt chunk) */
} flint_batch_seq;

/* Runs several sequences' tokens through the model together, n_batch
 * tokens at a time: the weights are read once per step for all of them,
 * so decoding k sequences costs far less than k flint_decode calls. Writes
 * logits back to back in the order of seqs: n_tokens rows for an
 * all_logits = 1 entry, none for -1, 1 row otherwise (logits may be NULL
 * when every entry is -1). Each sequence ends as flint_decode of
 * its tokens would leave it (logits equal up to rounding). Every entry is
 * checked before anything runs. */
FLINT_API flint_status flint_decode_batch(flint_context *ctx, const flint_batch_seq *seqs, int32_t n_seqs,
                                          float *logits);
/* Empties sequence seq. */
FLINT_API flint_status flint_seq_reset(flint_context *ctx, int32_t seq);
/* Keeps the first n_keep positions of sequence seq and forgets the rest
 * (prefix reuse). Sliding-window layers can rewind only while they still
 * hold the window before n_keep (their blocks are returned as they leave
 * the window: up to 64 positions back, or what a snapshot kept for a
 * fork) and recurrent layers (Qwen3.5) not at all; beyond that
 * FLINT_E_INVALID_ARG, and the caller resets, or forks from a snapshot
 * (flint_seq_fork). Rewinding into a block shared with another sequence
 * copies it (FLINT_E_KV_FULL if no block is free; nothing changed). */
FLINT_API flint_status flint_seq_truncate(flint_context *ctx, int32_t seq, int32_t n_keep);
/* Makes sequence dst a copy of sequence src (cache and recurrent state):
 * a shared prompt is decoded once and continued several ways. Blocks are
 * shared by reference, not copied (but the partly filled last block);
 * src's snapshots stay with src. FLINT_E_KV_FULL when that block finds no
 * free one (dst is then empty). dst == src does nothing. */
FLINT_API flint_status flint_seq_copy(flint_context *ctx, int32_t dst, int32_t src);
/* Prefix reuse: resets dst, then makes it hold the first P positions of
 * src, P the largest value <= n_keep at which every layer can be restored
 * (attention blocks by reference, the partly filled last block copied;
 * sliding-window layers need the blocks of the window before P still held;
 * recurrent layers need src's live state at P or a snapshot taken at P).
 * *n_reused = P (0: nothing could be reused; dst is then empty). */
FLINT_API flint_status flint_seq_fork(flint_context *ctx, int32_t dst, int32_t src, int32_t n_keep,
                                      int32_t *n_reused);
/* Records the recurrent state of seq at its current length (and pins the
 * sliding-window blocks that position needs) so that a later fork can
 * restore it; at most FLINT_MAX_SNAPSHOTS per sequence: past that, one is
 * dropped so that those kept thin out geometrically into the past.
 * A no-op for models without recurrent or sliding-window layers. */
#define FLINT_MAX_SNAPSHOTS 8
FLINT_API flint_status flint_seq_snapshot(flint_context *ctx, int32_t seq);

/* The KV pool: positions per block, blocks in all and free, and bytes in
 * use (blocks held by any sequence or snapshot, plus snapshots' states).
 * Block counts add the pool's two kinds of blocks (global layers' and
 * sliding-window layers'; each kind can run out on its own, so comparing
 * sums plans a step only approximately; flint_decode_batch checks each
 * kind exactly). */
FLINT_API int32_t flint_context_kv_block_size(const flint_context *ctx);
FLINT_API int64_t flint_context_kv_blocks_total(const flint_context *ctx);
FLINT_API int64_t flint_context_kv_blocks_free(const flint_context *ctx);
FLINT_API uint64_t flint_context_kv_bytes_used(const flint_context *ctx);
/* New blocks sequence seq needs to append n_new positions (an upper bound:
 * blocks a sliding window frees during the step are not counted). */
FLINT_API int64_t flint_seq_blocks_needed(const flint_context *ctx, int32_t seq, int32_t n_new);

/* ---- sampling ----
 * A sampler turns one sequence's logits into its next token. It keeps the
 * tokens the penalties see and a random stream; it is not thread-safe (one
 * per sequence). Everything is allocated at create: sampling and
 * flint_sampler_logprobs never allocate.
 *
 * The chain (llama.cpp's default order): logit bias -> repetition,
 * presence and frequency penalties over the last penalty_last_n accepted
 * tokens -> top-k -> top-p -> min-p -> temperature -> a draw from the
 * softmax. top-p and min-p see the untempered distribution. temperature
 * <= 0 (0 by default) is greedy: the highest logit after bias and
 * penalties, the lowest id on ties. Same params, seed and calls give the
 * same tokens.
 *
 * Penalties, for a token seen c > 0 times in the window:
 *   logit = logit > 0 ? logit / repetition_penalty : logit * repetition_penalty
 *   logit -= c * frequency_penalty + presence_penalty
 * (OpenAI's frequency and presence penalties; llama.cpp's repetition). */
typedef struct flint_logit_bias { int32_t token; float bias; } flint_logit_bias;
typedef struct flint_sampling_params {
    float temperature;        /* <= 0: greedy; NaN or negative refused */
    int32_t top_k;            /* <= 0: off */
    float top_p;              /* <= 0 or >= 1: off; [0, 1] */
    float min_p;              /* <= 0: off; [0, 1]; keep p >= min_p * p_max */
    float repetition_penalty; /* 0 or 1: off; >= 0 */
    float presence_penalty;   /* 0: off; [-2, 2] */
    float frequency_penalty;  /* 0: off; [-2, 2] */
    int32_t penalty_last_n;   /* window of tokens the penalties see; 0: 64; -1: all */
    uint64_t seed;
    const flint_logit_bias *logit_bias; /* copied at create */
    int32_t n_logit_bias;
} flint_sampling_params;
typedef struct flint_token_logprob { int32_t token; float logprob; } flint_token_logprob;
typedef struct flint_sampler flint_sampler;

#define FLINT_MAX_TOP_LOGPROBS 20

/* n_vocab: the logits sample() sees (the tokenizer's vocabulary, not padded
 * embedding rows, so padding is never chosen). params may be NULL (greedy).
 * FLINT_E_INVALID_ARG, naming the field, for a value outside the ranges
 * above, a NaN, a bias that is NaN or +inf (-INFINITY bans the token; a
 * token listed twice gets both) or a bias token outside [0, n_vocab). */
FLINT_API flint_status flint_sampler_create(const flint_sampling_params *p, int32_t n_vocab, flint_sampler **out);
FLINT_API void flint_sampler_free(flint_sampler *s);
/* The next token for logits[0..n_vocab) (not modified; NaN counts as
 * -inf). -1 when no token can be chosen (every logit -inf or banned). */
FLINT_API int32_t flint_sampler_sample(flint_sampler *s, const float *logits);
/* Records a token of the sequence (prompt or generated) for the penalties;
 * ids outside the vocabulary are ignored. */
FLINT_API void flint_sampler_accept(flint_sampler *s, int32_t token);
/* Forgets the accepted tokens and restarts the random stream from the seed. */
FLINT_API void flint_sampler_reset(flint_sampler *s);
/* log-probability of `token` and the top n alternatives (descending) under the raw logits
 *
 * "Raw" as vLLM's default (raw_logprobs): the log-softmax of the model's
 * logits as given, before bias, penalties, truncation and temperature, so
 * the numbers describe the model, not the sampler. top[0..n_top) is the
 * n_top highest logits in descending order (lowest id first on ties); it
 * may include `token`; slots beyond n_vocab get {-1, -INFINITY}. One pass
 * over the vocabulary (online log-sum-exp, a running top list).
 * token_logprob may be NULL; top may be NULL when n_top == 0.
 * FLINT_E_INVALID_ARG: token outside the vocabulary, n_top outside
 * [0, FLINT_MAX_TOP_LOGPROBS]. FLINT_E_NUMERIC: a NaN or +inf logit, or
 * every logit -inf. */
FLINT_API flint_status flint_sampler_logprobs(flint_sampler *s, const float *logits, int32_t token, int32_t n_top, float *token_logprob, flint_token_logprob *top);

/* ---- tokenizer ----
 * A model's vocabulary, from GGUF metadata or the folder's tokenizer.json.
 * Read-only once loaded; may be shared between threads. */
typedef struct flint_tokenizer flint_tokenizer;

/* encode flags */
#define FLINT_TOKENIZE_ADD_BOS 1u /* prepend BOS where the vocabulary wants one */
#define FLINT_TOKENIZE_SPECIAL 2u /* control tokens written in the text ("<end_of_turn>") become one token */
/* decode flags */
#define FLINT_DETOKENIZE_SPECIAL 1u /* render control tokens as their text */

FLINT_API flint_status flint_tokenizer_load(const flint_model *model, flint_tokenizer **out);
FLINT_API void flint_tokenizer_free(flint_tokenizer *tok);
FLINT_API int32_t flint_tokenizer_n_vocab(const flint_tokenizer *tok);
/* Writes up to cap ids of text[0..len) and sets *n_ids to the full count:
 * when *n_ids > cap, call again with a larger buffer. */
FLINT_API flint_status flint_tokenize(const flint_tokenizer *tok, const char *text, size_t len, uint32_t flags,
                                      int32_t *ids, size_t cap, size_t *n_ids);
/* Writes up to cap bytes of the text of ids (NUL-terminated when it fits)
 * and sets *len to the full length (without the NUL). Bytes as decoded:
 * a cut through a character leaves invalid UTF-8 at the ends. */
FLINT_API flint_status flint_detokenize(const flint_tokenizer *tok, const int32_t *ids, size_t n, uint32_t flags,
                                        char *text, size_t cap, size_t *len);
/* The vocabulary entry of id as stored ("▁the", "<0x0A>"); NULL if out of
 * range. Not NUL-terminated: use *len. */
FLINT_API const char *flint_token_piece(const flint_tokenizer *tok, int32_t id, size_t *len);
/* The id of an exact vocabulary entry, or -1. */
FLINT_API int32_t flint_token_find(const flint_tokenizer *tok, const char *piece, size_t len);
FLINT_API int32_t flint_token_bos(const flint_tokenizer *tok); /* -1 when none */
FLINT_API int32_t flint_token_eos(const flint_tokenizer *tok);
/* Nonzero for the ids that end a model turn (eos, <end_of_turn>, <|im_end|>, ...). */
FLINT_API int flint_token_is_end_of_turn(const flint_tokenizer *tok, int32_t id);

/* ---- chat templates ----
 * flint renders each family's template in C (Gemma 1-3, Gemma 4, Qwen
 * ChatML), chosen from the file's template text or, for a base model whose
 * file carries none, from its architecture. */
typedef struct flint_tool_call {
    const char *id;        /* may be NULL */
    const char *name;
    const char *arguments; /* a JSON object as text */
} flint_tool_call;

typedef struct flint_chat_message {
    const char *role;              /* "system", "user", "assistant", "tool" */
    const char *content;           /* NULL: none */
    const char *reasoning_content; /* an assistant's thinking; NULL: none */
    const flint_tool_call *tool_calls;
    int32_t n_tool_calls;
    const char *tool_call_id;      /* role "tool": the call it answers */
    const char *name;              /* role "tool": the function's name */
} flint_chat_message;

typedef struct flint_chat_params {
    int32_t no_generation_prompt; /* nonzero: do not open an assistant turn at the end */
    int32_t thinking;             /* 0: the template's default, 1: on, -1: off */
    const char *tools;            /* a JSON array of OpenAI tool definitions, or NULL */
} flint_chat_params;

/* "gemma", "gemma4", "chatml", or NULL when the model has no template flint knows. */
FLINT_API const char *flint_chat_template_name(const flint_tokenizer *tok);
/* Renders chats with the family named ("gemma", "gemma4", "chatml") instead
 * of the one detected: for a file whose template is missing or wrong. NULL
 * goes back to detection. FLINT_E_INVALID_ARG names an unknown family. */
FLINT_API flint_status flint_chat_template_set(flint_tokenizer *tok, const char *name);
/* Renders a conversation as the model's template does, BOS text included
 * where the template writes it (tokenize the result with
 * FLINT_TOKENIZE_SPECIAL and without FLINT_TOKENIZE_ADD_BOS). Same buffer
 * protocol as flint_detokenize. FLINT_E_INVALID_ARG for a conversation the
 * template rejects (the message says why). */
FLINT_API flint_status flint_chat_render(const flint_tokenizer *tok, const flint_chat_message *msgs, int32_t n,
                                         const flint_chat_params *params, char *out, size_t cap, size_t *len);

/* ---- the engine ----
 * One generate loop for every front end. An engine owns a context over a
 * model, a tokenizer and a scheduler thread. Requests are submitted from
 * any thread and run together: each step is one forward pass carrying
 * every running request's next token plus as much pending prompt as the
 * step's token budget allows (continuous batching with chunked prefill).
 * Requests beyond the slots wait in a bounded queue. A request whose
 * prompt begins with tokens the engine holds (a running request, or a
 * finished one kept for reuse) starts from them instead of recomputing.
 * When the KV pool runs out, the newest request is preempted and computed
 * again later. */
typedef struct flint_engine flint_engine;

typedef struct flint_engine_params {
    int32_t n_slots;      /* requests running at once; 0: 1 */
    int32_t n_ctx;        /* positions per request (prompt + output); 0: min(4096, trained) */
    int32_t n_threads;    /* 0: one per physical core */
    int32_t max_queue;    /* requests waiting for a slot; 0: 64 */
    int32_t step_tokens;  /* tokens per forward step; 0: 512 */
    int32_t n_cache;      /* finished requests kept for prefix reuse (LRU); 0: n_slots; -1: none */
    int32_t kv_type;      /* flint_kv_type; 0: F16 */
    int64_t kv_bytes;     /* KV pool size; 0: enough for every slot to reach n_ctx */
    int32_t deterministic; /* bit-identical results whatever else runs (flint_context_params) */
    int32_t snapshot_interval; /* models with recurrent layers (Qwen3.5): a prompt runs in chunks
                              that end every this many positions, each leaving a state snapshot a
                              later request can restore (its prefix reuse granularity; a multiple of
                              the KV block size); 0: 128; -1: snapshots at step ends only */
    const char *chat_template; /* NULL: the file's; "gemma", "gemma4" or "chatml": that family's
                              (flint_chat_template_set) */
    int32_t exact;        /* f32 activations against the dequantized weights (flint_context_params) */
    const char *gpu;      /* the device: NULL or "cpu", "vulkan", "vulkan:N" (flint_context_params.gpu,
                             with its refusals) */
    int32_t gpu_layers;   /* decoder layers on the GPU, the last ones (flint_context_params.gpu_layers) */
    int64_t gpu_memory;   /* device memory auto placement may fill (flint_context_params.gpu_memory) */
} flint_engine_params;

typedef enum flint_finish_reason {
    FLINT_FINISH_NONE = 0,      /* not finished */
    FLINT_FINISH_STOP = 1,      /* end of turn, a stop string or a stop token */
    FLINT_FINISH_LENGTH = 2,    /* max_tokens, or the context is full */
    FLINT_FINISH_CANCELLED = 3,
    FLINT_FINISH_ERROR = 4,     /* flint_event.error says what */
} flint_finish_reason;

typedef struct flint_usage {
    int32_t prompt_tokens;
    int32_t cached_tokens;    /* prompt tokens reused from the engine's cache */
    int32_t generated_tokens;
    double queue_ms;          /* submit to admission */
    double ttft_ms;           /* submit to the first generated token */
    double prompt_ms;         /* admission to the first generated token */
    double generate_ms;       /* first to last generated token */
} flint_usage;

/* What a request produced since its last event. */
typedef struct flint_event {
    uint64_t request;
    const char *text;          /* whole UTF-8 characters, never a stop string; len may be 0 */
    size_t len;
    const int32_t *tokens;     /* the tokens generated since the last event */
    int32_t n_tokens;
    const float *logprobs;     /* [n_tokens] when the request asked for logprobs, else NULL */
    const flint_token_logprob *top; /* [n_tokens][n_top] alternatives, descending */
    int32_t n_top;
    flint_finish_reason finish; /* set on the request's last event */
    flint_status error;        /* FINISH_ERROR: the status, and error_msg */
    const char *error_msg;
    const flint_usage *usage;  /* on the last event */
    const char *stop;          /* FINISH_STOP by a stop string: which one; else NULL */
} flint_event;

/* Called on the engine's thread: keep it short; it may call
 * flint_engine_cancel. The event's pointers live until it returns. */
typedef void (*flint_event_fn)(const flint_event *event, void *user);

typedef struct flint_request {
    /* the prompt: exactly one of text, token ids, or chat messages */
    const char *prompt;                     /* BOS added as the model wants; control tokens parsed */
    const int32_t *prompt_tokens;
    int32_t n_prompt_tokens;
    const flint_chat_message *messages;     /* rendered with the model's template */
    int32_t n_messages;
    flint_chat_params chat;
    flint_sampling_params sampling;
    int32_t max_tokens;                     /* 0 or -1: until end of turn or a full context */
    const char *const *stop;                /* stop strings, matched across tokens, never emitted */
    int32_t n_stop;
    const int32_t *stop_tokens;             /* ids that end the request besides the end-of-turn ones */
    int32_t n_stop_tokens;
    int32_t ignore_eos;                     /* nonzero: end-of-turn ids do not stop */
    int32_t special_text;                   /* nonzero: control tokens are written into the text (a
                                               parser of Gemma 4's <|tool_call> needs them) */
    int32_t logprobs;                       /* nonzero: each generated token's log-probability */
    int32_t top_logprobs;                   /* 0..20 alternatives per token (needs logprobs) */
    flint_event_fn on_event;                /* NULL: collect events for flint_engine_poll */
    void *user;
} flint_request;

typedef struct flint_engine_stats {
    int32_t running, waiting, n_slots;
    int64_t requests_done[5];   /* by flint_finish_reason */
    int64_t prompt_tokens, cached_tokens, generated_tokens;
    int64_t prefix_hits;        /* requests that reused a cached prefix */
    int64_t preemptions;
    int64_t kv_blocks_total, kv_blocks_free;
    uint64_t kv_bytes_used;
    int64_t steps;
    flint_expert_stats experts; /* the model's expert store (flint_model_expert_stats) */
} flint_engine_stats;

/* The model must stay open while the engine lives. */
FLINT_API flint_status flint_engine_create(flint_model *model, const flint_engine_params *params,
                                           flint_engine **out);
/* Cancels what runs, waits for the scheduler thread, frees everything. */
FLINT_API void flint_engine_free(flint_engine *engine);
FLINT_API const flint_tokenizer *flint_engine_tokenizer(const flint_engine *engine);
FLINT_API int32_t flint_engine_n_ctx(const flint_engine *engine);
/* What runs the engine's context: "cpu" or "vulkan: DEVICE NAME" (with
 * ", N/M layers" when split; flint_context_device). */
FLINT_API const char *flint_engine_device(const flint_engine *engine);
/* The context the model was trained for (0 when the file does not say). */
FLINT_API int32_t flint_engine_n_ctx_train(const flint_engine *engine);
/* Checks and queues a request (its strings and arrays are copied). Errors
 * in the request (a bad parameter, a prompt longer than the context) are
 * reported here; FLINT_E_BUSY when the queue is full. */
FLINT_API flint_status flint_engine_submit(flint_engine *engine, const flint_request *request, uint64_t *id);
/* Stops a request between two steps; its last event has FINISH_CANCELLED.
 * FLINT_E_NOT_FOUND for a request that already ended. */
FLINT_API flint_status flint_engine_cancel(flint_engine *engine, uint64_t id);
/* Poll mode (on_event NULL): waits up to timeout_ms (-1: forever) for what
 * the request produced since the last poll. FLINT_OK with an event (valid
 * until the next poll of this request; n_tokens may be 0 on a timeout);
 * after the event with finish set, the request is gone. */
FLINT_API flint_status flint_engine_poll(flint_engine *engine, uint64_t id, int32_t timeout_ms, flint_event *event);
FLINT_API void flint_engine_stats_get(flint_engine *engine, flint_engine_stats *out);

/* Reference dequantization of n elements of a tensor's data (n a multiple
 * of the type's block size), starting at element 0 of src. MLX types are not
 * row-dequantizable this way (their scales live in other tensors). */
FLINT_API flint_status flint_dequantize(flint_type type, const void *src, float *dst, int64_t n);

#ifdef __cplusplus
}
#endif
#endif /* FLINT_H */
