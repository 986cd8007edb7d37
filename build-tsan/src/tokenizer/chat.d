build-tsan/src/tokenizer/chat.o: src/tokenizer/chat.c src/base/error.h \
  include/flint.h src/base/json.h src/tokenizer/tok_internal.h \
  src/tokenizer/tokenizer.h src/format/meta.h src/base/strmap.h

src/base/error.h:

include/flint.h:

src/base/json.h:

src/tokenizer/tok_internal.h:

src/tokenizer/tokenizer.h:

src/format/meta.h:

src/base/strmap.h:
