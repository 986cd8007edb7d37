build-tsan/src/quant/dequant.o: src/quant/dequant.c src/base/error.h \
  include/flint.h src/quant/dequant_internal.h src/quant/dequant.h \
  src/quant/types.h

src/base/error.h:

include/flint.h:

src/quant/dequant_internal.h:

src/quant/dequant.h:

src/quant/types.h:
