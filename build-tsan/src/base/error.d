build-tsan/src/base/error.o: src/base/error.c src/base/error.h \
  include/flint.h

src/base/error.h:

include/flint.h:
