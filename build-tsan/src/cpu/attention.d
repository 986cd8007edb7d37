build-tsan/src/cpu/attention.o: src/cpu/attention.c src/base/error.h \
  include/flint.h src/cpu/ops.h src/backend/backend.h src/base/pool.h \
  src/cpu/cpu.h

src/base/error.h:

include/flint.h:

src/cpu/ops.h:

src/backend/backend.h:

src/base/pool.h:

src/cpu/cpu.h:
