build-tsan/src/cpu/membw_avx2.o: src/cpu/membw_avx2.c src/cpu/membw.h \
  src/base/pool.h include/flint.h

src/cpu/membw.h:

src/base/pool.h:

include/flint.h:
