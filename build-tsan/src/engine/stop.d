build-tsan/src/engine/stop.o: src/engine/stop.c src/engine/stop.h \
  include/flint.h src/tokenizer/tokenizer.h src/format/meta.h \
  src/base/strmap.h src/base/error.h

src/engine/stop.h:

include/flint.h:

src/tokenizer/tokenizer.h:

src/format/meta.h:

src/base/strmap.h:

src/base/error.h:
