build-tsan/src/cli/perplexity.o: src/cli/perplexity.c src/base/file.h \
  include/flint.h src/cli/args.h src/cli/cli.h src/tokenizer/tokenizer.h \
  src/format/meta.h src/base/strmap.h

src/base/file.h:

include/flint.h:

src/cli/args.h:

src/cli/cli.h:

src/tokenizer/tokenizer.h:

src/format/meta.h:

src/base/strmap.h:
