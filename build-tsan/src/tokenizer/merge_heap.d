build-tsan/src/tokenizer/merge_heap.o: src/tokenizer/merge_heap.c \
  src/tokenizer/merge_heap.h include/flint.h src/base/error.h

src/tokenizer/merge_heap.h:

include/flint.h:

src/base/error.h:
