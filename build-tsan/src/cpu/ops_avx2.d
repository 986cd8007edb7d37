build-tsan/src/cpu/ops_avx2.o: src/cpu/ops_avx2.c src/cpu/ops.h \
  src/backend/backend.h include/flint.h src/base/pool.h src/cpu/cpu.h

src/cpu/ops.h:

src/backend/backend.h:

include/flint.h:

src/base/pool.h:

src/cpu/cpu.h:
