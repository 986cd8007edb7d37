build-tsan/src/model/hparams_gemma.o: src/model/hparams_gemma.c \
  src/model/hparams_gemma.h src/model/hparams_read.h src/model/hparams.h \
  include/flint.h src/format/meta.h src/base/strmap.h src/base/error.h

src/model/hparams_gemma.h:

src/model/hparams_read.h:

src/model/hparams.h:

include/flint.h:

src/format/meta.h:

src/base/strmap.h:

src/base/error.h:
