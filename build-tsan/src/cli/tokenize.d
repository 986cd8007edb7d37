build-tsan/src/cli/tokenize.o: src/cli/tokenize.c src/cli/args.h \
  src/cli/cli.h src/tokenizer/tokenizer.h include/flint.h \
  src/format/meta.h src/base/strmap.h

src/cli/args.h:

src/cli/cli.h:

src/tokenizer/tokenizer.h:

include/flint.h:

src/format/meta.h:

src/base/strmap.h:
