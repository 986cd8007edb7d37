build-tsan/src/api/tokenizer.o: src/api/tokenizer.c src/api/model_file.h \
  include/flint.h src/format/meta.h src/base/strmap.h src/base/error.h \
  src/api/tokenizer.h src/tokenizer/tokenizer.h

src/api/model_file.h:

include/flint.h:

src/format/meta.h:

src/base/strmap.h:

src/base/error.h:

src/api/tokenizer.h:

src/tokenizer/tokenizer.h:
