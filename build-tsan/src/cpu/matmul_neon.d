build-tsan/src/cpu/matmul_neon.o: src/cpu/matmul_neon.c
