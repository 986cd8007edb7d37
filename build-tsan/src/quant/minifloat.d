build-tsan/src/quant/minifloat.o: src/quant/minifloat.c \
  src/quant/dequant_internal.h src/quant/dequant.h include/flint.h

src/quant/dequant_internal.h:

src/quant/dequant.h:

include/flint.h:
