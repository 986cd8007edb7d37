build-tsan/src/format/gguf.o: src/format/gguf.c src/format/gguf.h \
  src/base/file.h include/flint.h src/base/strmap.h src/format/meta.h \
  src/base/checked.h src/base/error.h src/base/utf8.h src/quant/types.h

src/format/gguf.h:

src/base/file.h:

include/flint.h:

src/base/strmap.h:

src/format/meta.h:

src/base/checked.h:

src/base/error.h:

src/base/utf8.h:

src/quant/types.h:
