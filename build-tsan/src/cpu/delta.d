build-tsan/src/cpu/delta.o: src/cpu/delta.c src/cpu/delta.h \
  src/backend/backend.h include/flint.h src/base/pool.h src/cpu/ops.h \
  src/cpu/cpu.h src/base/error.h

src/cpu/delta.h:

src/backend/backend.h:

include/flint.h:

src/base/pool.h:

src/cpu/ops.h:

src/cpu/cpu.h:

src/base/error.h:
