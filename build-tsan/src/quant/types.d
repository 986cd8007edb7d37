build-tsan/src/quant/types.o: src/quant/types.c src/quant/types.h \
  include/flint.h src/base/checked.h

src/quant/types.h:

include/flint.h:

src/base/checked.h:
