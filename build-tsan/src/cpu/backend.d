build-tsan/src/cpu/backend.o: src/cpu/backend.c src/base/error.h \
  include/flint.h src/base/pool.h src/cpu/cpu.h src/backend/backend.h \
  src/cpu/delta.h src/cpu/ops.h src/cpu/matmul.h

src/base/error.h:

include/flint.h:

src/base/pool.h:

src/cpu/cpu.h:

src/backend/backend.h:

src/cpu/delta.h:

src/cpu/ops.h:

src/cpu/matmul.h:
