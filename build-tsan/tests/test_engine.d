build-tsan/tests/test_engine: tests/test_engine.c include/flint.h \
  tests/harness.h

include/flint.h:

tests/harness.h:
