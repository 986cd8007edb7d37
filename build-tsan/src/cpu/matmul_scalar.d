build-tsan/src/cpu/matmul_scalar.o: src/cpu/matmul_scalar.c \
  src/cpu/matmul_kernels.h src/backend/backend.h include/flint.h \
  src/quant/dequant.h

src/cpu/matmul_kernels.h:

src/backend/backend.h:

include/flint.h:

src/quant/dequant.h:
