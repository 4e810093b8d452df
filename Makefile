# lmkit: the Llama 2 recipe as small Unix tools.
# lib/WING/*.c -> build/liblmkit.a; tools/lm-*.c -> bin/lm-*; tests/unit/*.c -> build/tests/*;
# tests/*.t (shell, TAP) and the unit tests are run by prove. New files are picked up by
# wildcard: adding a tool or a test needs no edit here.

PREFIX  ?= /usr/local
MANDIR  ?= $(PREFIX)/share/man
CC      ?= gcc
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -g -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -pipe
# what the build needs whatever CFLAGS, LDFLAGS or LDLIBS a user gives (make CFLAGS=-g)
# lib/ is in wings (base, text, data, model, train, chat, rlhf); a header is
# included by its name alone, from whichever wing holds it
LIB_WINGS := $(sort $(dir $(wildcard lib/*/*.c)))
NEED_CFLAGS  := -std=c11 -D_GNU_SOURCE -fopenmp $(patsubst %/,-I%,$(LIB_WINGS)) -I/usr/include/openblas -MMD -MP
# libgomp is linked statically so that lib/base/blas.c can set OMP_WAIT_POLICY before it
# reads it (the shared one that -fopenmp adds last is then unused: --as-needed drops
# it); OpenBLAS is not linked: lib/base/blas.c opens it once OPENBLAS_CORETYPE is set
NEED_LDFLAGS := -Wl,--as-needed
NEED_LDLIBS  := -Wl,-Bstatic -lgomp -Wl,-Bdynamic -lz -lpcre2-8 -lcjson -lxxhash -lm -lpthread
# MPI (lib/train/dist.c): with Open MPI's development files (pkg-config ompi-c) the trainers run under
# mpirun; without them, or with make MPI=no, they are built to run alone.
MPI     ?= $(if $(shell pkg-config --exists ompi-c 2>/dev/null && echo y),yes,no)
ifeq ($(MPI),yes)
NEED_CFLAGS += -DLM_MPI $(shell pkg-config --cflags ompi-c)
NEED_LDLIBS += $(shell pkg-config --libs ompi-c)
endif
# CUDA (lib/cuda/gpu.cu, --device cuda): built when nvcc is on the PATH (or NVCC=...), for
# CUDA_ARCH (90: H100, H200); without it, or with make CUDA=no, lib/cuda/gpu_none.c says so.
NVCC    ?= $(shell command -v nvcc 2>/dev/null)
CUDA    ?= $(if $(NVCC),yes,no)
CUDA_ARCH ?= 90
BUILD   ?= build
BIN     ?= bin

LIB_SRC   := $(wildcard lib/*/*.c)
ifeq ($(CUDA),yes)
CUDA_HOME := $(patsubst %/bin/nvcc,%,$(NVCC))
LIB_SRC   := $(filter-out lib/cuda/gpu_none.c,$(LIB_SRC))
LIB_OBJ   := $(patsubst lib/%.cu,$(BUILD)/lib/%.o,$(wildcard lib/*/*.cu))
NEED_CFLAGS += -DLM_CUDA
# cudart statically; cuBLAS is opened at run time (lib/cuda/gpu.cu), from the
# loader's path or else this toolkit's lib64
NEED_LDLIBS += -L$(CUDA_HOME)/lib64 -lcudart_static -lrt -ldl -lstdc++
endif
LIB_OBJ   += $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o)
TOOL_SRC  := $(wildcard tools/lm-*.c)
TOOLS     := $(TOOL_SRC:tools/%.c=$(BIN)/%)
UNIT_SRC  := $(wildcard tests/unit/*.c)
UNITS     := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIBA      := $(BUILD)/liblmkit.a
# tests/fuzz/NAME.c: a libFuzzer harness per input format; make check replays
# its corpus tests/fuzz/NAME/ with build/tests/fuzz-NAME (the harness and
# tests/fuzz/replay.c's main), make fuzz runs it under libFuzzer.
FUZZ      := $(filter-out replay,$(basename $(notdir $(wildcard tests/fuzz/*.c))))
UNITS     += $(FUZZ:%=$(BUILD)/tests/fuzz-%)

all: $(TOOLS) $(UNITS)

$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(NEED_CFLAGS) -c -o $@ $<
$(BUILD)/lib/%.o: lib/%.cu
	@mkdir -p $(@D)
	$(NVCC) -O3 -std=c++17 -gencode arch=compute_$(CUDA_ARCH),code=[sm_$(CUDA_ARCH),compute_$(CUDA_ARCH)] \
	  -DLM_CUDA_LIB='"$(CUDA_HOME)/lib64"' $(patsubst %/,-I%,$(LIB_WINGS)) -MMD -MP -c -o $@ $<
$(LIBA): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BIN)/%: tools/%.c $(LIBA) | $(BIN) $(BUILD)/tools
	$(CC) $(CFLAGS) $(NEED_CFLAGS) -MF $(BUILD)/tools/$*.d -o $@ $< $(LIBA) $(LDFLAGS) $(NEED_LDFLAGS) $(LDLIBS) $(NEED_LDLIBS)
$(BUILD)/tests/%: tests/unit/%.c $(LIBA) | $(BUILD)/tests
	$(CC) $(CFLAGS) $(NEED_CFLAGS) -Itests/unit -o $@ $< $(LIBA) $(LDFLAGS) $(NEED_LDFLAGS) $(LDLIBS) $(NEED_LDLIBS)
# bench/ and make ref programs that call the library, linked as the tools are
$(BUILD)/bench/%: bench/%.c $(LIBA) | $(BUILD)/bench
	$(CC) $(CFLAGS) $(NEED_CFLAGS) -o $@ $< $(LIBA) $(LDFLAGS) $(NEED_LDFLAGS) $(LDLIBS) $(NEED_LDLIBS)
# bench/ programs that stand alone, the floor and ceiling lmkit's decoding is measured
# against: plain C at -O3 -march=native with OpenMP, no lmkit, no BLAS
BENCH_ALONE := $(BUILD)/bench/matvec_decoder $(BUILD)/bench/weights_read
$(BENCH_ALONE): $(BUILD)/bench/%: bench/%.c | $(BUILD)/bench
	$(CC) -O3 -march=native -fopenmp -o $@ $< -lm
$(BUILD)/ref/%: tests/ref/%.c $(LIBA) | $(BUILD)/ref
	$(CC) $(CFLAGS) $(NEED_CFLAGS) -o $@ $< $(LIBA) $(LDFLAGS) $(NEED_LDFLAGS) $(LDLIBS) $(NEED_LDLIBS)
$(BUILD)/tests/fuzz-%: tests/fuzz/%.c $(BUILD)/tests/replay.o $(LIBA) | $(BUILD)/tests
	$(CC) $(CFLAGS) $(NEED_CFLAGS) -o $@ $< $(BUILD)/tests/replay.o $(LIBA) $(LDFLAGS) $(NEED_LDFLAGS) $(LDLIBS) $(NEED_LDLIBS)
$(BUILD)/tests/replay.o: tests/fuzz/replay.c | $(BUILD)/tests
	$(CC) $(CFLAGS) $(NEED_CFLAGS) -c -o $@ $<
$(BUILD)/lib $(BUILD)/tests $(BUILD)/tools $(BUILD)/bench $(BUILD)/ref $(BIN):
	mkdir -p $@

deps:
	@sh scripts/deps.sh

# Each test runs from the repository root and finds the tools in bin/ (tests/lib.sh).
check: deps
	@$(MAKE) --no-print-directory all
	LMKIT_BUILD=$(BUILD) prove -j2 --exec 'sh tests/run1' $(UNITS) $(wildcard tests/*.t)

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer, in its own tree.
check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/bin \
	  OPT='-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined' \
	  LDFLAGS='-fsanitize=address,undefined' all
	LMKIT_BIN=build-asan/bin LMKIT_BUILD=build-asan ASAN_OPTIONS=detect_leaks=0 \
	  prove -j2 --exec 'sh tests/run1' $(UNITS:$(BUILD)/%=build-asan/%) $(wildcard tests/*.t)

# Each harness of tests/fuzz/ under libFuzzer, ASan and UBSan for FUZZ_SECONDS
# (or FUZZ_RUNS executions, whichever first), one after another (tests/fuzz/README.md); clang builds the library in its own tree.
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# lib/gguf.c's _Float16 needs clang 15 (or AVX512-FP16) and no harness reads GGUF
FUZZ_OBJ := $(patsubst lib/%.c,build-fuzz/lib/%.o,$(filter-out lib/model/gguf.c,$(wildcard lib/*/*.c)))
fuzz:
	@sh scripts/deps.sh --fuzz
	@$(MAKE) --no-print-directory CC=clang BUILD=build-fuzz CUDA=no \
	  OPT='-O1 -march=native -Wno-pass-failed -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_SAN)' $(FUZZ_OBJ)
	@rm -f build-fuzz/liblmkit.a && ar rcs build-fuzz/liblmkit.a $(FUZZ_OBJ)
	@mkdir -p build-fuzz/fuzz
	@for h in $(FUZZ); do \
	  clang -O1 -march=native -g -fno-omit-frame-pointer -fsanitize=fuzzer $(FUZZ_SAN) $(NEED_CFLAGS) -MF build-fuzz/fuzz/$$h.d \
	    -o build-fuzz/fuzz/$$h tests/fuzz/$$h.c build-fuzz/liblmkit.a $(NEED_LDFLAGS) $(NEED_LDLIBS) || exit 1; \
	done
	FUZZ_RUNS=$(FUZZ_RUNS) sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ)

# Outside references (PyTorch, SentencePiece, datatrove) regenerate the committed expected files.
ref:
	@sh scripts/deps.sh --ref
	@$(MAKE) --no-print-directory all
	@for s in tests/ref/*.sh; do [ -e "$$s" ] || continue; echo "== $$s"; sh "$$s" || exit 1; done

# The peers too: Debian's packages here, PyPI's in build/bench-venv (bench/venv.rc).
bench: deps
	@sh scripts/deps.sh --bench
	@$(MAKE) --no-print-directory all
	@for s in bench/*.sh; do [ -e "$$s" ] || continue; echo "== $$s"; sh "$$s" || exit 1; done

# The recipe at its demo size (pipelines/demo.mk; lmkit(7)); only the tools are built for it.
demo: deps
	@$(MAKE) --no-print-directory $(TOOLS)
	@$(MAKE) --no-print-directory -f pipelines/demo.mk demo

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	for m in man/*.1; do [ -e "$$m" ] && install -m 644 "$$m" $(DESTDIR)$(MANDIR)/man1/; done; true
	for m in man/*.7; do [ -e "$$m" ] && install -m 644 "$$m" $(DESTDIR)$(MANDIR)/man7/; done; true

clean:
	rm -rf build build-asan build-fuzz bin

.PHONY: all deps check check-asan fuzz ref bench demo install clean
.SECONDARY:
-include $(LIB_OBJ:.o=.d) $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%.d) $(UNITS:%=%.d)
