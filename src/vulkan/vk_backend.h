/* vk_backend.h — the Vulkan compute backend (built with make VULKAN=1):
 * creation on one of the machine's Vulkan devices, and the list of them.
 * Behind the fl_backend method table (backend/backend.h) like the CPU
 * backend; vk.h says how it maps the op table onto the device. */
#ifndef FL_VK_BACKEND_H
#define FL_VK_BACKEND_H

#include "backend/backend.h"
#include "flint.h"

/* The devices that can run flint (Vulkan 1.2 with buffer device addresses,
 * 8/16-bit storage, 64-bit integers and subgroup arithmetic in compute
 * shaders), in the order `vulkan:N` counts
 * them. Writes up to max entries, *n the number found. No loader or no
 * device is not an error: *n = 0. */
flint_status fl_vk_list(flint_gpu_info *out, int32_t max, int32_t *n);
/* device < 0: the first discrete GPU, else integrated, else any. */
flint_status fl_vk_backend_create(int32_t device, fl_backend **out);
/* The name of the device a Vulkan backend runs on. */
const char *fl_vk_backend_device(const fl_backend *be);
/* The size of the device's largest device-local memory heap, in bytes, or
 * where the device has VK_EXT_memory_budget the budget this process has of
 * it (what placing layers on it may fill). */
uint64_t fl_vk_backend_memory(const fl_backend *be);
/* Bytes of weights uploaded to the device so far (each on first use). */
uint64_t fl_vk_backend_weight_bytes(const fl_backend *be);
/* Deferred mode on (what a context runs in): ops are recorded and run
 * together at the next sync (backend.h), so a forward step is one command
 * buffer. Off (the default): each op completes before it returns. */
void fl_vk_backend_set_deferred(fl_backend *be, bool on);
/* Deterministic (batch-invariant) mode (backend.h): one matmul kernel for
 * every n, attention's keys never split, the delta rule's recurrence for
 * every run. Off by default. */
void fl_vk_backend_set_deterministic(fl_backend *be, bool on);
/* Replay of recorded command buffers (on by default): a segment whose
 * dispatches equal an earlier one's runs that one's command buffer instead
 * of recording its own (vk.h). Off, every segment is recorded afresh: for
 * tests and measurements. */
void fl_vk_backend_set_replay(fl_backend *be, bool on);
/* Segments recorded, and segments run from an earlier recording, so far. */
void fl_vk_backend_replay_counts(const fl_backend *be, uint64_t *recorded, uint64_t *replayed);
/* Expert address tables moe_matmul has built (one per matrix of a MoE
 * layer, then found again). */
int32_t fl_vk_backend_moe_tables(const fl_backend *be);
/* Bytes of device-only memory (fl_backend_alloc_device) every Vulkan
 * backend of the process holds now (a test's view). */
uint64_t fl_vk_backend_device_only_bytes(void);
/* Sync ops run so far by every Vulkan backend of the process (a test's
 * count of host round trips). */
uint64_t fl_vk_backend_syncs(void);

#endif
