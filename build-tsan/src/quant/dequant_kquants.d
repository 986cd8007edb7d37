build-tsan/src/quant/dequant_kquants.o: src/quant/dequant_kquants.c \
  src/quant/dequant_internal.h src/quant/dequant.h include/flint.h

src/quant/dequant_internal.h:

src/quant/dequant.h:

include/flint.h:
