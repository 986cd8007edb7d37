build-tsan/src/cpu/matmul_gemm_avx512.o: src/cpu/matmul_gemm_avx512.c \
  src/cpu/matmul_avx512.h src/cpu/matmul_kernels.h src/backend/backend.h \
  include/flint.h src/quant/dequant.h

src/cpu/matmul_avx512.h:

src/cpu/matmul_kernels.h:

src/backend/backend.h:

include/flint.h:

src/quant/dequant.h:
