build-tsan/src/cli/run.o: src/cli/run.c src/cli/args.h src/cli/cli.h \
  src/cli/gen.h include/flint.h src/tokenizer/tokenizer.h \
  src/format/meta.h src/base/strmap.h

src/cli/args.h:

src/cli/cli.h:

src/cli/gen.h:

include/flint.h:

src/tokenizer/tokenizer.h:

src/format/meta.h:

src/base/strmap.h:
