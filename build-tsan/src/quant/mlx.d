build-tsan/src/quant/mlx.o: src/quant/mlx.c src/base/error.h \
  include/flint.h src/quant/dequant_internal.h src/quant/dequant.h

src/base/error.h:

include/flint.h:

src/quant/dequant_internal.h:

src/quant/dequant.h:
