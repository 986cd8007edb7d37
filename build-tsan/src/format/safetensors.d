build-tsan/src/format/safetensors.o: src/format/safetensors.c \
  src/format/safetensors.h src/base/file.h include/flint.h \
  src/base/strmap.h src/format/meta.h src/base/checked.h \
  src/base/error.h src/base/json.h src/base/utf8.h src/quant/types.h

src/format/safetensors.h:

src/base/file.h:

include/flint.h:

src/base/strmap.h:

src/format/meta.h:

src/base/checked.h:

src/base/error.h:

src/base/json.h:

src/base/utf8.h:

src/quant/types.h:
