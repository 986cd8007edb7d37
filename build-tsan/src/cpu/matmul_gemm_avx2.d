build-tsan/src/cpu/matmul_gemm_avx2.o: src/cpu/matmul_gemm_avx2.c \
  src/cpu/matmul_avx2.h src/cpu/matmul_kernels.h src/backend/backend.h \
  include/flint.h src/quant/dequant.h src/cpu/matmul_block32_x86.h

src/cpu/matmul_avx2.h:

src/cpu/matmul_kernels.h:

src/backend/backend.h:

include/flint.h:

src/quant/dequant.h:

src/cpu/matmul_block32_x86.h:
