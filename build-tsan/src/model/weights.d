build-tsan/src/model/weights.o: src/model/weights.c src/model/weights.h \
  src/backend/backend.h include/flint.h src/base/error.h \
  src/quant/dequant.h src/quant/types.h

src/model/weights.h:

src/backend/backend.h:

include/flint.h:

src/base/error.h:

src/quant/dequant.h:

src/quant/types.h:
