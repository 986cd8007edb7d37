build-tsan/src/model/qwen35.o: src/model/qwen35.c src/model/qwen35.h \
  src/model/model.h src/backend/backend.h include/flint.h src/cache/kv.h \
  src/model/hparams.h src/format/meta.h src/base/strmap.h \
  src/experts/experts.h src/model/weights.h src/base/error.h \
  src/model/blocks.h

src/model/qwen35.h:

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
