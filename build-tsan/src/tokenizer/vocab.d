build-tsan/src/tokenizer/vocab.o: src/tokenizer/vocab.c src/base/error.h \
  include/flint.h src/base/file.h src/tokenizer/tok_internal.h \
  src/tokenizer/tokenizer.h src/format/meta.h src/base/strmap.h

src/base/error.h:

include/flint.h:

src/base/file.h:

src/tokenizer/tok_internal.h:

src/tokenizer/tokenizer.h:

src/format/meta.h:

src/base/strmap.h:
