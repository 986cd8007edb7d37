build-tsan/src/quant/quantize_kquants.o: src/quant/quantize_kquants.c \
  src/quant/dequant_internal.h src/quant/dequant.h include/flint.h

src/quant/dequant_internal.h:

src/quant/dequant.h:

include/flint.h:
