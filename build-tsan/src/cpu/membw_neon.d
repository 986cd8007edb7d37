build-tsan/src/cpu/membw_neon.o: src/cpu/membw_neon.c src/cpu/membw.h \
  src/base/pool.h include/flint.h

src/cpu/membw.h:

src/base/pool.h:

include/flint.h:
