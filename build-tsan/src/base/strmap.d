build-tsan/src/base/strmap.o: src/base/strmap.c src/base/strmap.h \
  include/flint.h src/base/error.h

src/base/strmap.h:

include/flint.h:

src/base/error.h:
