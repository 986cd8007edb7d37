build-tsan/src/cpu/matmul.o: src/cpu/matmul.c src/cpu/matmul.h \
  src/backend/backend.h include/flint.h src/base/pool.h src/cpu/cpu.h \
  src/base/error.h src/cpu/matmul_kernels.h src/quant/dequant.h \
  src/quant/types.h

src/cpu/matmul.h:

src/backend/backend.h:

include/flint.h:

src/base/pool.h:

src/cpu/cpu.h:

src/base/error.h:

src/cpu/matmul_kernels.h:

src/quant/dequant.h:

src/quant/types.h:
