/* matmul.h — the CPU matrix products behind fl_backend.matmul:
 *   y[n,m] = x[n,k] . W[m,k]^T   for every weight type of quant/types.h.
 * Two regimes: n <= 8 (decode: one pass over W, rows split across threads)
 * and larger n (prefill: cache-blocked tiles; activations quantized to 8 bit
 * where the weight type allows integer dot products).
 * An fl_cpu_matmul owns its scratch (quantized activations, tiles), grown
 * on demand and reused, so steady-state calls do not allocate. */
#ifndef FL_CPU_MATMUL_H
#define FL_CPU_MATMUL_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "base/pool.h"
#include "cpu/cpu.h"

typedef struct fl_cpu_matmul fl_cpu_matmul;

flint_status fl_cpu_matmul_create(fl_pool *pool, fl_cpu_isa isa, fl_cpu_matmul **out);
void fl_cpu_matmul_free(fl_cpu_matmul *mm);

/* Optional repack of w for this ISA (w->backend_data); matmul works
 * without it. */
flint_status fl_cpu_matmul_prepare(fl_cpu_matmul *mm, fl_weight *w);
void fl_cpu_matmul_release(fl_cpu_matmul *mm, fl_weight *w);

/* Deterministic mode (backend.h): every n runs the decode kernel (in
 * column tiles of 8 rows for n > 8), whose arithmetic for one activation
 * row is the same whatever the other rows: the GEMMs' tiling and packing
 * sum over k in other orders. */
void fl_cpu_matmul_set_deterministic(fl_cpu_matmul *mm, bool on);

/* Exact mode (backend.h): every weight type but F32 is dequantized with
 * the reference (fl_dequant_row) and multiplied with x in f32; no 8-bit
 * activations. Decode dots each dequantized row with x; prefill
 * dequantizes panels of 64 rows once and runs the F32 GEMM over them. */
void fl_cpu_matmul_set_exact(fl_cpu_matmul *mm, bool on);

flint_status fl_cpu_matmul_run(fl_cpu_matmul *mm, const fl_weight *w, const float *x, float *y, int64_t n);
/* fl_backend.matmul_group: every job in one pass over the pool; results
 * equal fl_cpu_matmul_run's for each job (the same kernels on the same
 * rows). */
flint_status fl_cpu_matmul_group(fl_cpu_matmul *mm, const fl_matmul_job *jobs, int32_t n_jobs);

#endif
