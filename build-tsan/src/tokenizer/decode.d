build-tsan/src/tokenizer/decode.o: src/tokenizer/decode.c \
  src/base/error.h include/flint.h src/tokenizer/tok_internal.h \
  src/tokenizer/tokenizer.h src/format/meta.h src/base/strmap.h

src/base/error.h:

include/flint.h:

src/tokenizer/tok_internal.h:

src/tokenizer/tokenizer.h:

src/format/meta.h:

src/base/strmap.h:
