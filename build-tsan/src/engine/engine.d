build-tsan/src/engine/engine.o: src/engine/engine.c src/api/tokenizer.h \
  include/flint.h src/tokenizer/tokenizer.h src/format/meta.h \
  src/base/strmap.h src/base/clock.h src/base/error.h \
  src/engine/request.h src/engine/stop.h

src/api/tokenizer.h:

include/flint.h:

src/tokenizer/tokenizer.h:

src/format/meta.h:

src/base/strmap.h:

src/base/clock.h:

src/base/error.h:

src/engine/request.h:

src/engine/stop.h:
