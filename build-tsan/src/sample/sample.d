build-tsan/src/sample/sample.o: src/sample/sample.c src/sample/sample.h \
  include/flint.h src/base/error.h

src/sample/sample.h:

include/flint.h:

src/base/error.h:
