build-tsan/src/cpu/ops_scalar.o: src/cpu/ops_scalar.c src/cpu/ops.h \
  src/backend/backend.h include/flint.h src/base/pool.h src/cpu/cpu.h \
  src/quant/dequant.h

src/cpu/ops.h:

src/backend/backend.h:

include/flint.h:

src/base/pool.h:

src/cpu/cpu.h:

src/quant/dequant.h:
