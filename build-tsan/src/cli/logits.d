build-tsan/src/cli/logits.o: src/cli/logits.c src/cli/args.h \
  src/cli/cli.h include/flint.h

src/cli/args.h:

src/cli/cli.h:

include/flint.h:
