build-tsan/src/model/blocks.o: src/model/blocks.c src/model/blocks.h \
  src/model/model.h src/backend/backend.h include/flint.h src/cache/kv.h \
  src/model/hparams.h src/format/meta.h src/base/strmap.h \
  src/experts/experts.h src/model/weights.h src/quant/dequant.h

src/model/blocks.h:

src/model/model.h:

src/backend/backend.h:

include/flint.h:

src/cache/kv.h:

src/model/hparams.h:

src/format/meta.h:

src/base/strmap.h:

src/experts/experts.h:

src/model/weights.h:

src/quant/dequant.h:
