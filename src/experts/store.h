/* store.h — the expert store: routed MoE experts read from disk on demand
 * into a bounded cache, for models larger than memory. It belongs to the
 * open model (flint_model_params.expert_cache) and is shared by every
 * context on it.
 *
 * Slots: the budget is split evenly over the MoE layers (decode walks the
 * layers in turn, so one global pool would evict exactly what the next
 * token needs first); each slot holds one expert, every range of it at a
 * 4096-aligned place so O_DIRECT can read the aligned superset into it.
 * Reads: a pool of I/O threads, one job per byte range of an expert (its
 * gate, up and down read in parallel); pread with O_DIRECT
 * where the file opens with it and the read is accepted, buffered pread
 * otherwise (the file then stays on buffered reads). Short reads and EINTR
 * are retried; an error or an end of file inside an expert fails the
 * session with a message naming the file and the expert.
 * Policy: which slot a missing expert takes — the least often routed
 * (LFU, the default), the least recently used (LRU), or LRU outside a
 * pinned hot set (the most routed experts of the layer so far);
 * FLINT_EXPERT_POLICY=lfu|lru|pinned. See docs/PERF.md. The counts may
 * start from a saved histogram (experts/histogram.h, fl_store_seed).
 * Threads: a session holds its layer's lock from begin to end, so contexts
 * sharing the model take turns per layer; the I/O threads only fill the
 * slots they were given. */
#ifndef FL_EXPERTS_STORE_H
#define FL_EXPERTS_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "experts/experts.h"

typedef struct fl_expert_store fl_expert_store;

typedef enum fl_expert_policy { FL_POLICY_LRU, FL_POLICY_LFU, FL_POLICY_PINNED } fl_expert_policy;

/* budget: bytes (> 0), or -1: from the memory available. */
flint_status fl_store_create(int64_t budget, fl_expert_store **out);
void fl_store_free(fl_expert_store *st);

/* Registers layer l's table (copied) on the first call for l; later calls
 * (another context loading the same model) get the same layer. The expert
 * regions of the mapping are marked MADV_DONTNEED | MADV_RANDOM. */
flint_status fl_store_layer_get(fl_expert_store *st, int32_t l, const fl_experts *ex, fl_store_layer **out);
/* Sizes and allocates the slots once every layer is registered (idempotent). */
flint_status fl_store_commit(fl_expert_store *st);
/* Layer l's slots once committed: [*p, *p + *bytes), FL_IO_ALIGN-aligned
 * in place and size (NULL, 0: a layer without experts, or l past the
 * last). What a device backend imports to read the experts in place. */
void fl_store_slots(const fl_expert_store *st, int32_t l, void **p, size_t *bytes);
int32_t fl_store_n_layers(const fl_expert_store *st);

flint_status fl_store_begin(fl_store_layer *sl, const int32_t *need, int32_t n_need);
flint_status fl_store_next(fl_store_layer *sl, int32_t *e, const uint8_t *const **base, int32_t max, int32_t *n);
void fl_store_done(fl_store_layer *sl, int32_t e);
void fl_store_end(fl_store_layer *sl);
/* How many of each token's likeliest experts of a layer to read ahead
 * while the layer before computes (FLINT_EXPERT_PREFETCH=N, default 3; 0:
 * none; see docs/PERF.md). */
int32_t fl_store_ahead(const fl_store_layer *sl);
/* Queues reads of the n experts e[] (distinct) the layer will likely want
 * next, into slots the policy frees, behind every read a session waits on;
 * nothing when a session holds the layer. */
void fl_store_prefetch(fl_store_layer *sl, const int32_t *e, int32_t n);

void fl_store_stats(const fl_expert_store *st, flint_expert_stats *out);
/* The disk's bandwidth for the store's reads, in bytes/s: about `bytes` of
 * experts picked at random over the layers, read as the I/O threads read
 * them (each range a read, O_DIRECT where the files allow) by as many
 * threads at once, into scratch: the slots and counters are left alone.
 * Needs the slots sized (fl_store_commit). */
flint_status fl_store_probe(fl_expert_store *st, uint64_t bytes, double *bytes_per_s);

typedef struct fl_histogram fl_histogram;
/* The routing counts so far, [n_layers][n_expert] (layers without experts:
 * zeros); needs a context to have registered the layers, all below n_layers. */
flint_status fl_store_histogram(const fl_expert_store *st, int32_t n_layers, fl_histogram *out);
/* Adds h's counts to the layers' (those registered later on registration;
 * a layer h does not fit fails). Takes h's counts; once per store. With
 * counts, a commit reads each layer's most routed experts into its slots. */
flint_status fl_store_seed(fl_expert_store *st, fl_histogram *h);

/* Tests: the function every read goes through (NULL: pread), whether
 * O_DIRECT may be tried, and the policy of stores created from now on. */
typedef ssize_t (*fl_store_read_fn)(int fd, void *buf, size_t n, off_t off);
void fl_store_set_read_fn(fl_store_read_fn fn);
void fl_store_set_direct(bool allow);
void fl_store_set_policy(fl_expert_policy policy);

#endif
