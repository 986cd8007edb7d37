build-tsan/src/format/config.o: src/format/config.c src/format/config.h \
  include/flint.h src/format/meta.h src/base/strmap.h src/base/error.h \
  src/base/json.h src/base/file.h

src/format/config.h:

include/flint.h:

src/format/meta.h:

src/base/strmap.h:

src/base/error.h:

src/base/json.h:

src/base/file.h:
