build-tsan/src/quant/dequant_legacy.o: src/quant/dequant_legacy.c \
  src/quant/dequant_internal.h src/quant/dequant.h include/flint.h

src/quant/dequant_internal.h:

src/quant/dequant.h:

include/flint.h:
