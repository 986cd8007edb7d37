build-tsan/src/format/meta.o: src/format/meta.c src/format/meta.h \
  src/base/strmap.h include/flint.h src/base/error.h

src/format/meta.h:

src/base/strmap.h:

include/flint.h:

src/base/error.h:
