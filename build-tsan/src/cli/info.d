build-tsan/src/cli/info.o: src/cli/info.c src/cli/args.h src/cli/cli.h \
  include/flint.h

src/cli/args.h:

src/cli/cli.h:

include/flint.h:
