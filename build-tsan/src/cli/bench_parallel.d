build-tsan/src/cli/bench_parallel.o: src/cli/bench_parallel.c \
  src/base/clock.h src/cli/bench_parallel.h include/flint.h

src/base/clock.h:

src/cli/bench_parallel.h:

include/flint.h:
