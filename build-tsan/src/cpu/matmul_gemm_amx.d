build-tsan/src/cpu/matmul_gemm_amx.o: src/cpu/matmul_gemm_amx.c \
  src/cpu/matmul_avx512.h src/cpu/matmul_kernels.h src/backend/backend.h \
  include/flint.h src/quant/dequant.h

src/cpu/matmul_avx512.h:

src/cpu/matmul_kernels.h:

src/backend/backend.h:

include/flint.h:

src/quant/dequant.h:
