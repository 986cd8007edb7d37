build-tsan/src/cpu/membw_avx512.o: src/cpu/membw_avx512.c src/cpu/membw.h \
  src/base/pool.h include/flint.h

src/cpu/membw.h:

src/base/pool.h:

include/flint.h:
