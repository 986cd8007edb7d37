build-tsan/src/api/model.o: src/api/model.c src/base/error.h \
  include/flint.h src/base/file.h src/format/config.h src/format/meta.h \
  src/base/strmap.h src/format/gguf.h src/format/safetensors.h \
  src/api/model_file.h src/quant/dequant.h

src/base/error.h:

include/flint.h:

src/base/file.h:

src/format/config.h:

src/format/meta.h:

src/base/strmap.h:

src/format/gguf.h:

src/format/safetensors.h:

src/api/model_file.h:

src/quant/dequant.h:
