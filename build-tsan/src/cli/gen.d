build-tsan/src/cli/gen.o: src/cli/gen.c src/cli/gen.h include/flint.h \
  src/tokenizer/tokenizer.h src/format/meta.h src/base/strmap.h

src/cli/gen.h:

include/flint.h:

src/tokenizer/tokenizer.h:

src/format/meta.h:

src/base/strmap.h:
