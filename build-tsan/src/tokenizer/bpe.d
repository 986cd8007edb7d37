build-tsan/src/tokenizer/bpe.o: src/tokenizer/bpe.c src/base/error.h \
  include/flint.h src/tokenizer/merge_heap.h \
  src/tokenizer/tok_internal.h src/tokenizer/tokenizer.h \
  src/format/meta.h src/base/strmap.h

src/base/error.h:

include/flint.h:

src/tokenizer/merge_heap.h:

src/tokenizer/tok_internal.h:

src/tokenizer/tokenizer.h:

src/format/meta.h:

src/base/strmap.h:
