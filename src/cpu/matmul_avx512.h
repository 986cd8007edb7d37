/* matmul_avx512.h — what the two AVX-512 matmul files share: the prefill
 * GEMM entry points (matmul_gemm_avx512.c) that the kernel table of
 * matmul_avx512.c lists, and the block unpacker the GEMM borrows. */
#ifndef FL_CPU_MATMUL_AVX512_H
#define FL_CPU_MATMUL_AVX512_H

#include "cpu/matmul_kernels.h"

/* 32 signed codes of block b of weight row r (element order), the block's
 * scale d and min m: W = d * code + m. For the Q8_32 types. */
void fl_mm_avx512_block32(const fl_weight *w, int64_t r, int64_t b, int8_t *codes, float *d, float *m);

void fl_mm_avx512_gemm_b32(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch);
void fl_mm_avx512_gemm_f32(const fl_mm_job *job, int64_t r0, int64_t r1, void *scratch);
uint64_t fl_mm_avx512_pack_bytes(flint_type type, int64_t n, int64_t k);
void fl_mm_avx512_pack_act(flint_type type, const fl_mm_act *a, void *packed, int64_t c0, int64_t c1);
uint64_t fl_mm_avx512_gemm_scratch_bytes(flint_type type, int64_t n, int64_t k);

#endif
