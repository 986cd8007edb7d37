build-tsan/src/api/context.o: src/api/context.c src/api/model_file.h \
  include/flint.h src/format/meta.h src/base/strmap.h src/base/error.h \
  src/base/fpenv.h src/cpu/cpu.h src/backend/backend.h src/model/model.h \
  src/cache/kv.h src/model/hparams.h src/experts/experts.h \
  src/model/weights.h

src/api/model_file.h:

include/flint.h:

src/format/meta.h:

src/base/strmap.h:

src/base/error.h:

src/base/fpenv.h:

src/cpu/cpu.h:

src/backend/backend.h:

src/model/model.h:

src/cache/kv.h:

src/model/hparams.h:

src/experts/experts.h:

src/model/weights.h:
