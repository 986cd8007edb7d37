/* cpu.h — the CPU backend: a persistent thread pool and SIMD kernels
 * behind the fl_backend method table (backend/backend.h).
 *
 * ISAs: one translation unit per ISA (*_avx2.c, *_avx512.c, *_neon.c, and
 * the scalar reference), picked once at creation from cpuid. FLINT_ISA in
 * the environment (scalar|avx2|avx512|amx|neon) caps the choice, for tests
 * and benchmarks of each path on one machine: avx512 means no AMX. */
#ifndef FL_CPU_H
#define FL_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "flint.h"

typedef enum fl_cpu_isa {
    FL_ISA_AUTO = -1,  /* the best this CPU runs (capped by FLINT_ISA) */
    FL_ISA_SCALAR = 0, /* portable C: the reference every other path is tested against */
    FL_ISA_AVX2 = 1,   /* AVX2 + FMA + F16C */
    FL_ISA_AVX512 = 2, /* AVX-512 F/BW/VL/DQ + VNNI + BF16 */
    FL_ISA_NEON = 3,   /* aarch64 NEON (+ dotprod where present) */
    FL_ISA_AMX = 4,    /* AVX-512 + AMX-TILE/AMX-BF16 (tile state granted by the OS):
                          the AVX-512 kernels, BF16 prefill on AMX tiles */
} fl_cpu_isa;

/* True if this CPU can run isa. */
bool fl_cpu_has_isa(fl_cpu_isa isa);
/* The best ISA this CPU runs, capped by FLINT_ISA when set. */
fl_cpu_isa fl_cpu_best_isa(void);
const char *fl_cpu_isa_name(fl_cpu_isa isa);

/* n_threads <= 0: one per physical core. isa: FL_ISA_AUTO, or a specific
 * ISA (FLINT_E_UNSUPPORTED if this CPU lacks it). */
flint_status fl_cpu_backend_create(int32_t n_threads, fl_cpu_isa isa, fl_backend **out);
/* Deterministic mode (backend.h) on or off; call before the first op. */
void fl_cpu_backend_set_deterministic(fl_backend *be, bool on);
/* Exact mode (backend.h) on or off; call before the first op. */
void fl_cpu_backend_set_exact(fl_backend *be, bool on);

#endif
