build-tsan/src/cache/kv.o: src/cache/kv.c src/cache/kv.h \
  src/backend/backend.h include/flint.h src/model/hparams.h \
  src/format/meta.h src/base/strmap.h src/base/error.h \
  src/quant/dequant.h

src/cache/kv.h:

src/backend/backend.h:

include/flint.h:

src/model/hparams.h:

src/format/meta.h:

src/base/strmap.h:

src/base/error.h:

src/quant/dequant.h:
