build-tsan/src/quant/quantize.o: src/quant/quantize.c src/base/error.h \
  include/flint.h src/quant/dequant_internal.h src/quant/dequant.h \
  src/quant/types.h

src/base/error.h:

include/flint.h:

src/quant/dequant_internal.h:

src/quant/dequant.h:

src/quant/types.h:
