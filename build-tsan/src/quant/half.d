build-tsan/src/quant/half.o: src/quant/half.c src/quant/dequant.h \
  include/flint.h

src/quant/dequant.h:

include/flint.h:
