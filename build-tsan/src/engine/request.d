build-tsan/src/engine/request.o: src/engine/request.c \
  src/engine/request.h src/engine/stop.h include/flint.h \
  src/tokenizer/tokenizer.h src/format/meta.h src/base/strmap.h \
  src/api/tokenizer.h src/base/clock.h src/base/error.h

src/engine/request.h:

src/engine/stop.h:

include/flint.h:

src/tokenizer/tokenizer.h:

src/format/meta.h:

src/base/strmap.h:

src/api/tokenizer.h:

src/base/clock.h:

src/base/error.h:
