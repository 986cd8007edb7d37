build-tsan/src/base/json.o: src/base/json.c src/base/json.h \
  include/flint.h src/base/error.h

src/base/json.h:

include/flint.h:

src/base/error.h:
