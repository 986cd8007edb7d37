build-tsan/src/model/gemma.o: src/model/gemma.c src/model/gemma.h \
  src/model/model.h src/backend/backend.h include/flint.h src/cache/kv.h \
  src/model/hparams.h src/format/meta.h src/base/strmap.h \
  src/experts/experts.h src/model/weights.h src/base/error.h \
  src/model/blocks.h

src/model/gemma.h:

src/model/model.h:

src/backend/backend.h:

include/flint.h:

src/cache/kv.h:

src/model/hparams.h:

src/format/meta.h:

src/base/strmap.h:

src/experts/experts.h:

src/model/weights.h:

src/base/error.h:

src/model/blocks.h:
