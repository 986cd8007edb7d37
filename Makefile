# flint — one GNU Makefile.
#   make            build/flint, build/libflint.a, build/libflint.so
#   make test       build and run every test (last line: "N passed, N failed")
#   make asan       the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       libFuzzer targets (clang) in build-fuzz/
#   make run        build flint and generate text with the bundled tiny model
#   make bench      kernel benchmarks (decode GB/s, prefill GFLOP/s)
#   make neon-check the CPU kernels compile for aarch64 (cross compiler)
#   make fixtures   regenerate tests/fixtures with the Python tools (needs PyPI)
#   make VULKAN=1 test-vulkan  the Vulkan backend's tests (on Mesa's lavapipe where no GPU is)
#   WERROR=1        turn warnings into errors (CI); CUDA=1 is reserved for the GPU backend
#   VULKAN=1        build the Vulkan backend too (src/vulkan/, glslc), into build-vulkan/

.DEFAULT_GOAL := all
CC      ?= cc
ifeq ($(VULKAN),1)
BUILD   ?= build-vulkan
endif
BUILD   ?= build
OPT     ?= -O2
PKGS    := jansson libpcre2-8 libutf8proc libmicrohttpd
# flint pull (src/hub/): libcurl for HTTP, libcrypto for the sha256/sha1 checks; the flint binary links them, libflint does not
HUB_PKGS := libcurl libcrypto
SAN     ?=

ifeq ($(CUDA),1)
$(error CUDA=1 is reserved for the GPU backend, which is not part of this build yet)
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(HUB_PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
HUB_LIBS   := $(shell pkg-config --libs $(HUB_PKGS) 2>/dev/null)

CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -fPIC -fvisibility=hidden -MMD -MP \
           -Iinclude -Isrc -DFLINT_BUILD $(PKG_CFLAGS) $(SAN)
ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif
LDLIBS  += $(PKG_LIBS) -lm -lpthread
LDFLAGS += $(SAN)

# src/vulkan/ only with VULKAN=1
LIB_SRC  := $(sort $(filter-out src/cli/% src/server/% src/hub/% $(if $(filter 1,$(VULKAN)),,src/vulkan/%),\
                                $(wildcard src/*/*.c src/*.c)))
# the front ends: the command line, the HTTP server it starts, the hub client of flint pull
CLI_SRC  := $(sort $(wildcard src/cli/*.c src/server/*.c src/hub/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
# the Python tests, run through tests/server/py.sh (which prepares their venv
# and the real Gemma 3 270M in FLINT_REAL_MODEL): tests/server/ drive a live
# `flint serve` with the official openai client; tests/real/ hold the CLI to
# llama.cpp's references on the real model (tokenizer, chat template, perplexity)
PY_TESTS := $(sort $(wildcard tests/real/test_*.py tests/server/test_*.py tests/hub/test_*.py))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

BENCH_SRC := $(sort $(wildcard bench/bench_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCHES  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(sort $(wildcard examples/*.c)))

# The Vulkan backend: every src/vulkan/shaders/*.comp is compiled to SPIR-V
# by glslc and embedded in libflint by a generated spirv.S (.incbin, paths
# relative to the repository root, where every build runs).
VK_TEST_SRC := $(sort $(wildcard tests/vulkan/test_*.c))
VK_TESTS    := $(VK_TEST_SRC:tests/vulkan/%.c=$(BUILD)/tests/vulkan/%)
ifeq ($(VULKAN),1)
VK_SPV  := $(patsubst src/vulkan/shaders/%.comp,$(BUILD)/shaders/%.spv,$(sort $(wildcard src/vulkan/shaders/*.comp)))
CFLAGS  += -DFLINT_VULKAN -I$(BUILD)/shaders
LDLIBS  += -lvulkan
LIB_OBJ += $(BUILD)/shaders/spirv.o

$(BUILD)/shaders/%.spv: src/vulkan/shaders/%.comp
	@mkdir -p $(dir $@)
	@command -v glslc >/dev/null || { echo "glslc not found: run  sh tools/deps.sh vulkan" >&2; exit 1; }
	$(call SAY,GLSL,$<)
	$(Q)glslc --target-env=vulkan1.2 -O -Isrc/vulkan/shaders -MD -MF $@.d -o $@ $<

$(BUILD)/shaders/spirv.S: $(VK_SPV)
	$(call SAY,GEN,$@)
	$(Q){ echo '.section .rodata'; for f in $(VK_SPV); do n=$$(basename $$f .spv); \
	    printf '.balign 4\n.globl fl_vk_spv_%s\n.hidden fl_vk_spv_%s\nfl_vk_spv_%s:\n.incbin "%s"\n' $$n $$n $$n $$f; \
	    printf '.globl fl_vk_spv_%s_end\n.hidden fl_vk_spv_%s_end\nfl_vk_spv_%s_end:\n' $$n $$n $$n; done; \
	    echo '.section .note.GNU-stack,"",%progbits'; } > $@

# the shaders' names for shaders.h, rewritten only when the set changes
$(BUILD)/shaders/shader_list.h: FORCE
	@mkdir -p $(dir $@)
	@printf '#define FL_VK_SHADER_LIST(X)%s\n' "$(foreach f,$(VK_SPV), X($(basename $(notdir $(f)))))" | cmp -s - $@ || \
	    printf '#define FL_VK_SHADER_LIST(X)%s\n' "$(foreach f,$(VK_SPV), X($(basename $(notdir $(f)))))" > $@
$(patsubst %.c,$(BUILD)/%.o,$(wildcard src/vulkan/*.c)): $(BUILD)/shaders/shader_list.h

$(BUILD)/shaders/spirv.o: $(BUILD)/shaders/spirv.S
	$(Q)$(CC) -c -o $@ $<

-include $(VK_SPV:=.d)
endif

# One ISA per translation unit: *_avx2.c, *_avx512.c and *_amx.c (AVX-512
# + AMX tiles) get their flags and the CPU backend picks one at start-up
# from cpuid, so one binary runs on any x86-64. *_neon.c compile to nothing
# off aarch64.
ISA_AVX2   := -mavx2 -mfma -mf16c
ISA_AVX512 := $(ISA_AVX2) -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16
$(BUILD)/src/cpu/%_avx2.o: CFLAGS += $(ISA_AVX2)
$(BUILD)/src/cpu/%_avx512.o: CFLAGS += $(ISA_AVX512)
$(BUILD)/src/cpu/%_amx.o: CFLAGS += $(ISA_AVX512) -mamx-tile -mamx-bf16

# One short line per step ("  CC  src/x.c"); V=1 echoes the full compiler lines instead.
Q := $(if $(filter 1,$(V)),,@)
SAY = $(if $(Q),@printf '  %-4s %s\n' '$(1)' '$(2)',@:)

.PHONY: all test test-vulkan asan fuzz run bench bench-build neon-check deps fixtures clean FORCE
all: $(BUILD)/flint $(BUILD)/libflint.a $(BUILD)/libflint.so $(EXAMPLES)

# Objects rebuild when the compiler or its flags change (WERROR=1, CC=clang).
FLAGS_STAMP := $(BUILD)/flags.txt
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) $(LDFLAGS)' > $@

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(call SAY,CC,$<)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libflint.a: $(LIB_OBJ)
	@rm -f $@
	$(call SAY,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(BUILD)/libflint.so: $(LIB_OBJ)
	$(call SAY,LD,$@)
	$(Q)$(CC) -shared $(LDFLAGS) -o $@ $(LIB_OBJ) $(LDLIBS)

$(BUILD)/flint: $(CLI_OBJ) $(BUILD)/libflint.a
	$(call SAY,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(HUB_LIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libflint.a $(BUILD)/flint
	@mkdir -p $(dir $@)
	$(call SAY,CC,$<)
	$(Q)$(CC) $(CFLAGS) -Itests -DFLINT_BIN='"$(BUILD)/flint"' -o $@ $< $(TEST_OBJ) $(BUILD)/libflint.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/vulkan/%: tests/vulkan/%.c $(BUILD)/libflint.a $(BUILD)/flint
	@mkdir -p $(dir $@)
	$(call SAY,CC,$<)
	$(Q)$(CC) $(CFLAGS) -Itests -DFLINT_BIN='"$(BUILD)/flint"' -o $@ $< $(BUILD)/libflint.a $(LDFLAGS) $(LDLIBS)

# The option parser is part of the command line, not of libflint; its unit
# test links the object the CLI links.
$(BUILD)/tests/test_args: TEST_OBJ := $(BUILD)/src/cli/args.o
$(BUILD)/tests/test_args: $(BUILD)/src/cli/args.o
# The server's pieces are tested the same way, on the objects flint links.
SERVER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard src/server/*.c)))
$(BUILD)/tests/test_server_%: TEST_OBJ := $(SERVER_OBJ)
$(BUILD)/tests/test_server_%: $(SERVER_OBJ)
# The hub client too (tests/test_hub.c).
HUB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard src/hub/*.c)))
$(BUILD)/tests/test_hub: TEST_OBJ := $(HUB_OBJ)
$(BUILD)/tests/test_hub: LDLIBS += $(HUB_LIBS)
$(BUILD)/tests/test_hub: $(HUB_OBJ)
# The chat page is assembled into page.o (.incbin), which -MMD cannot see.
$(BUILD)/src/server/page.o: src/server/page.html

# Examples see only the public header.
$(BUILD)/examples/%: examples/%.c $(BUILD)/libflint.a include/flint.h
	@mkdir -p $(dir $@)
	$(call SAY,CC,$<)
	$(Q)$(CC) -std=c11 $(OPT) -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) $(SAN) -Iinclude -o $@ $< $(BUILD)/libflint.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libflint.a
	@mkdir -p $(dir $@)
	$(call SAY,CC,$<)
	$(Q)$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libflint.a $(LDFLAGS) $(LDLIBS)

# The public header must compile as plain C on its own.
$(BUILD)/tests/header_c.o: include/flint.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -x c -c include/flint.h -o $@

deps:
	@sh tools/deps.sh build

test: deps
	@sh tools/deps.sh test
	@$(MAKE) --no-print-directory all $(TESTS) $(BUILD)/tests/header_c.o
	@FLINT_BIN=$(BUILD)/flint sh tests/run.sh $(TESTS) $(PY_TESTS)

# The Vulkan backend's tests: every op against the CPU backend, the model
# fixtures end to end on the device. Without a GPU they run on lavapipe.
test-vulkan: deps
ifneq ($(VULKAN),1)
	@$(MAKE) --no-print-directory test-vulkan VULKAN=1
else
	@sh tools/deps.sh vulkan
	@$(MAKE) --no-print-directory all $(VK_TESTS)
	@FLINT_BIN=$(BUILD)/flint sh tests/run.sh $(VK_TESTS)
endif

asan: deps
	@$(MAKE) --no-print-directory test BUILD=build-asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

# Fuzz targets link a library of the parsers (everything but the CPU
# kernels, which they never call and which are slow to build instrumented)
# built with clang and coverage instrumentation by the normal rules.
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
PARSER_OBJ := $(filter-out $(BUILD)/src/cpu/% $(BUILD)/src/api/context.o,$(LIB_OBJ))
$(BUILD)/libflint-parsers.a: $(PARSER_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

# fuzz_server_* targets drive the server's pure pieces (no engine, no
# sockets), which are not in libflint: they link these objects too.
SERVER_FUZZ_OBJ := $(patsubst %,build-fuzz/src/server/%.o,request output tool_args markers)
# fuzz_hub_* drive the hub client's pure listing parser
HUB_FUZZ_OBJ := build-fuzz/src/hub/listing.o

fuzz: deps
	@sh tools/deps.sh fuzz
	@$(MAKE) --no-print-directory build-fuzz/libflint-parsers.a $(SERVER_FUZZ_OBJ) $(HUB_FUZZ_OBJ) BUILD=build-fuzz CC=clang OPT=-O1 SAN="$(FUZZ_SAN)"
	@for f in $(FUZZ_SRC); do \
	    n=$$(basename $$f .c); echo "clang $$n"; \
	    case $$n in fuzz_server_*) obj="$(SERVER_FUZZ_OBJ)";; fuzz_hub_*) obj="$(HUB_FUZZ_OBJ)";; *) obj="";; esac; \
	    clang -std=c11 -O1 -g -Iinclude -Isrc $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	        -fno-sanitize-recover=all -o build-fuzz/$$n $$f $$obj build-fuzz/libflint-parsers.a $(PKG_LIBS) -lm -lpthread || exit 1; \
	done

run: deps
	@$(MAKE) --no-print-directory all
	@sh tools/first_run.sh $(BUILD)/flint

# Kernel benchmarks (not tests): GB/s and GFLOP/s against this machine's
# measured bandwidth and peak; see docs/PERF.md.
bench: bench-build
	@for b in $(BENCHES); do ./$$b || exit 1; done

bench-build: deps
	@$(MAKE) --no-print-directory all $(BENCHES)

# NEON kernels cannot run here; they must at least compile for aarch64.
NEON_FLAGS := -std=c11 -O2 -Wall -Wextra -Werror -Iinclude -Isrc -march=armv8.2-a+dotprod+fp16
neon-check:
	@sh tools/deps.sh cross
	@for f in $(wildcard src/cpu/*.c src/base/*.c src/quant/*.c); do \
	    aarch64-linux-gnu-gcc $(NEON_FLAGS) -c $$f -o /dev/null || exit 1; \
	done; echo "neon-check: src/cpu, src/base, src/quant compile for aarch64"

fixtures:
	sh tools/make_fixtures.sh

clean:
	rm -rf build build-asan build-clang build-fuzz build-vulkan

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
