build-tsan/src/model/model.o: src/model/model.c src/model/model.h \
  src/backend/backend.h include/flint.h src/cache/kv.h \
  src/model/hparams.h src/format/meta.h src/base/strmap.h \
  src/experts/experts.h src/model/weights.h src/api/model_file.h \
  src/base/error.h src/model/gemma.h src/model/qwen35.h

src/model/model.h:

src/backend/backend.h:

include/flint.h:

src/cache/kv.h:

src/model/hparams.h:

src/format/meta.h:

src/base/strmap.h:

src/experts/experts.h:

src/model/weights.h:

src/api/model_file.h:

src/base/error.h:

src/model/gemma.h:

src/model/qwen35.h:
