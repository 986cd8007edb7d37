build-tsan/src/experts/experts.o: src/experts/experts.c \
  src/experts/experts.h src/backend/backend.h include/flint.h \
  src/model/weights.h src/base/error.h

src/experts/experts.h:

src/backend/backend.h:

include/flint.h:

src/model/weights.h:

src/base/error.h:
