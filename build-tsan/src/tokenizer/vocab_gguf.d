build-tsan/src/tokenizer/vocab_gguf.o: src/tokenizer/vocab_gguf.c \
  src/base/error.h include/flint.h src/format/gguf.h src/base/file.h \
  src/base/strmap.h src/format/meta.h src/tokenizer/tok_internal.h \
  src/tokenizer/tokenizer.h

src/base/error.h:

include/flint.h:

src/format/gguf.h:

src/base/file.h:

src/base/strmap.h:

src/format/meta.h:

src/tokenizer/tok_internal.h:

src/tokenizer/tokenizer.h:
