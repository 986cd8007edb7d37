build-tsan/src/base/pool.o: src/base/pool.c src/base/pool.h \
  include/flint.h src/base/error.h src/base/fpenv.h

src/base/pool.h:

include/flint.h:

src/base/error.h:

src/base/fpenv.h:
