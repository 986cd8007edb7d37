build-tsan/src/cli/bench.o: src/cli/bench.c src/cpu/membw.h \
  src/base/pool.h include/flint.h src/base/clock.h src/cli/args.h \
  src/cli/bench_parallel.h src/cli/cli.h src/cli/gen.h \
  src/tokenizer/tokenizer.h src/format/meta.h src/base/strmap.h

src/cpu/membw.h:

src/base/pool.h:

include/flint.h:

src/base/clock.h:

src/cli/args.h:

src/cli/bench_parallel.h:

src/cli/cli.h:

src/cli/gen.h:

src/tokenizer/tokenizer.h:

src/format/meta.h:

src/base/strmap.h:
