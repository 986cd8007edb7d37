build-tsan/src/cpu/ops_avx512.o: src/cpu/ops_avx512.c src/cpu/ops.h \
  src/backend/backend.h include/flint.h src/base/pool.h src/cpu/cpu.h

src/cpu/ops.h:

src/backend/backend.h:

include/flint.h:

src/base/pool.h:

src/cpu/cpu.h:
