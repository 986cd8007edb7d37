build-tsan/src/cpu/membw.o: src/cpu/membw.c src/cpu/membw.h \
  src/base/pool.h include/flint.h src/base/clock.h src/cpu/cpu.h \
  src/backend/backend.h

src/cpu/membw.h:

src/base/pool.h:

include/flint.h:

src/base/clock.h:

src/cpu/cpu.h:

src/backend/backend.h:
