build-tsan/src/base/file.o: src/base/file.c src/base/file.h \
  include/flint.h src/base/error.h

src/base/file.h:

include/flint.h:

src/base/error.h:
