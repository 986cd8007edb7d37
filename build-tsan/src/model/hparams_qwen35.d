build-tsan/src/model/hparams_qwen35.o: src/model/hparams_qwen35.c \
  src/model/hparams_qwen35.h src/model/hparams_read.h \
  src/model/hparams.h include/flint.h src/format/meta.h \
  src/base/strmap.h src/base/error.h

src/model/hparams_qwen35.h:

src/model/hparams_read.h:

src/model/hparams.h:

include/flint.h:

src/format/meta.h:

src/base/strmap.h:

src/base/error.h:
