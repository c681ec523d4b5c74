# texc — build, test, demo.  Out-of-tree: everything lands in $(BUILD).
#
#   make            build/texc and the runtime archives
#   make test       every test, then again under ASan+UBSan (build/san), then
#                   make fuzz-smoke
#   make demo       compile examples/logreg.tex and run it on data
#   make fuzz       every libFuzzer harness for FUZZ_SECONDS each (tests/fuzz)
#
# Each entry point first installs missing Debian packages (one stamp target).

.DEFAULT_GOAL := all
BUILD   ?= build
B       := $(BUILD)
SAN     ?=
WERROR  ?= -Werror
LLVM_CONFIG ?= llvm-config-19

CC      := gcc
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wno-unused-parameter $(WERROR)
OPT     := -O2 -g
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SANDEFS  := -DTEXC_SANITIZED_RUNTIME
OPT     := -O1 -g
endif
CFLAGS  := -std=c11 $(WARN) $(OPT) $(SANFLAGS) $(SANDEFS) -D_GNU_SOURCE -MMD -MP \
           -I. -Iir -Ifrontend -Ipasses -Icodegen -Iruntime -Ilang -I$(B)/gen
LLVM_CFLAGS = $(shell $(LLVM_CONFIG) --cflags 2>/dev/null)
LLVM_LIBS   = $(shell $(LLVM_CONFIG) --ldflags 2>/dev/null) -Wl,-rpath,$(shell $(LLVM_CONFIG) --libdir 2>/dev/null) $(shell $(LLVM_CONFIG) --libs 2>/dev/null)
LDFLAGS := $(SANFLAGS)
# FUZZ=1 (only through `make fuzz*`): clang-19, the compiler and runtime
# instrumented for libFuzzer with ASan+UBSan, in $(BUILD) = build/fuzz.
ifeq ($(FUZZ),1)
CC       := clang-19
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SANDEFS  := -DTEXC_SANITIZED_RUNTIME
OPT      := -O1 -g
CFLAGS   := -std=c11 $(WARN) $(OPT) $(SANFLAGS) $(SANDEFS) -D_GNU_SOURCE -MMD -MP \
            -I. -Iir -Ifrontend -Ipasses -Icodegen -Iruntime -Ilang -I$(B)/gen
LDFLAGS  := -fsanitize=address,undefined
endif
Q       := $(if $(V),,@)   # make V=1 shows every command

# ---- Debian packages: one stamp, safe under -j -----------------------------
# clang-19 and its sanitizer/libFuzzer runtimes: only the fuzz harnesses use
# them, but make test runs fuzz-smoke.
FUZZ_PKGS := clang-19 libclang-rt-19-dev
PKGS  := llvm-19-dev lld-19 re2c bison libcmocka-dev libdlpack-dev libzstd-dev $(FUZZ_PKGS)
STAMP := $(B)/.deps-stamp
$(STAMP):
	@mkdir -p $(@D)
	@missing=""; for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $@
deps: $(STAMP)

# ---- sources ---------------------------------------------------------------
FRONTEND := $(filter-out frontend/main.c,$(wildcard frontend/*.c))
COMPILER_SRCS := $(wildcard ir/*.c) $(FRONTEND) $(wildcard passes/*.c) $(wildcard codegen/*.c)
COMPILER_OBJS := $(COMPILER_SRCS:%.c=$(B)/%.o) $(B)/gen/lexer.o $(B)/gen/parser.o
RUNTIME_SRCS  := $(wildcard runtime/*.c)
RUNTIME_OBJS  := $(RUNTIME_SRCS:%.c=$(B)/rt/%.o)
GEN_HDRS      := $(B)/gen/parser.h

all: $(B)/texc $(B)/libtexrt.a
.PHONY: all deps test check check-unit check-golden check-e2e demo clean bench fuzz fuzz-smoke fuzz-build fuzz-harnesses

$(B)/gen/parser.c $(B)/gen/parser.h: frontend/parser.y | $(STAMP)
	@mkdir -p $(@D)
	bison -Wall -Werror --defines=$(B)/gen/parser.h -o $(B)/gen/parser.c $<
$(B)/gen/lexer.c: frontend/lexer.re | $(STAMP)
	@mkdir -p $(@D)
	re2c -W --no-generation-date -o $@ $<

$(B)/gen/%.o: $(B)/gen/%.c $(GEN_HDRS)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -Wno-unused-function -Wno-unused-but-set-variable -c -o $@ $<
$(B)/%.o: %.c $(GEN_HDRS) | $(STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(LLVM_CFLAGS) -c -o $@ $<

$(B)/libtexc.a: $(COMPILER_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(B)/texc: $(B)/frontend/main.o $(B)/libtexc.a $(B)/libtexrt.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LLVM_LIBS) -lm -ldl -lpthread

# The runtime: PIC, hidden visibility, linked into every model .so.  Under
# SAN=1 this archive is the instrumented one, used only by the sanitizer tests.
$(B)/rt/%.o: %.c | $(STAMP)
	@mkdir -p $(@D)
	@echo "  CC (rt) $<"
	$(Q)$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<
$(B)/libtexrt.a: $(RUNTIME_OBJS)
	@rm -f $@
	ar rcs $@ $^

# ---- tests -----------------------------------------------------------------
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
$(B)/tests/%: tests/unit/%.c $(B)/libtexc.a $(B)/libtexrt.a
	@mkdir -p $(@D)
	@echo "  TEST    $<"
	$(Q)$(CC) $(CFLAGS) $(LLVM_CFLAGS) -Itests -o $@ $< $(B)/libtexc.a $(B)/libtexrt.a $(LDFLAGS) $(LLVM_LIBS) -lcmocka -lm -ldl -lpthread

$(B)/tests/e2e: tests/e2e/driver.c tests/e2e/errors.c tests/e2e/refs.c tests/e2e/e2e.h tests/e2e/refs.h $(B)/libtexrt.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests -o $@ tests/e2e/driver.c tests/e2e/errors.c tests/e2e/refs.c $(LDFLAGS) -lcmocka -lm -ldl -lpthread

# Every texc the tests run verifies the IR after each pass (TEXC_VERIFY).
check-unit: $(UNIT_BINS) $(B)/texc $(B)/libtexrt.a
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; TEXC_VERIFY=1 TEXC=$(B)/texc $$t; done
check-golden: $(B)/texc
	@TEXC_VERIFY=1 TEXC=$(B)/texc sh tests/run-golden.sh
check-e2e: $(B)/tests/e2e $(B)/texc $(B)/libtexrt.a
	@TEXC_VERIFY=1 TEXC=$(B)/texc $(B)/tests/e2e tests/e2e
check: check-unit check-golden check-e2e

# make test: the whole suite, then the whole suite again under ASan+UBSan,
# then each fuzzer for a few seconds.
test: $(STAMP)
	$(MAKE) check
	$(MAKE) BUILD=$(B)/san SAN=1 check
	$(MAKE) fuzz-smoke

# ---- fuzz: libFuzzer harnesses (tests/fuzz/README.md) ----------------------
FUZZERS       := fuzz_source fuzz_llvm fuzz_ir fuzz_bind fuzz_struct
FUZZ_SECONDS  ?= 60
FUZZ_MODELS   := $(patsubst tests/fuzz/models/%.tex,$(B)/models/lib%.so,$(wildcard tests/fuzz/models/*.tex))
FUZZ_LINK     := -fsanitize=fuzzer,address,undefined

# Inside the FUZZ=1 sub-make ($(B) is build/fuzz): the harnesses, an
# instrumented texc, and the models fuzz_bind loads (linked with the
# instrumented runtime, whose sanitizer symbols the harness provides:
# fuzz_bind exports libFuzzer's coverage hooks with -rdynamic, so the
# runtime inside each model counts towards coverage).
fuzz-harnesses: $(FUZZERS:%=$(B)/%) $(FUZZ_MODELS)
$(B)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(B)/libtexc.a $(B)/libtexrt.a
	@echo "  FUZZ    $@"
	$(Q)$(CC) $(CFLAGS) $(LLVM_CFLAGS) -Itests -DFUZZ_MODELS_DIR='"$(abspath $(B)/models)"' $(FUZZ_LINK) -o $@ \
	  $< $(B)/libtexc.a $(B)/libtexrt.a $(LLVM_LIBS) -lm -ldl -lpthread $(if $(findstring bind,$@),-rdynamic)
$(B)/models/lib%.so: tests/fuzz/models/%.tex $(B)/texc $(B)/libtexrt.a
	@mkdir -p $(@D)
	$(Q)ASAN_OPTIONS=detect_leaks=0 TEXC_RUNTIME=$(B)/libtexrt.a $(B)/texc $< -O1 -o $@

fuzz-build: $(STAMP)
	$(MAKE) BUILD=$(B)/fuzz FUZZ=1 fuzz-harnesses

# make fuzz FUZZ_SECONDS=N: each harness N seconds from its corpus (new inputs
# go to build/fuzz/corpus/<harness>, crashes to build/fuzz/crashes/<harness>/).
fuzz: fuzz-build
	@B=$(B)/fuzz SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh long $(FUZZERS)
# make fuzz-smoke: each harness ~3 s on its seeds, then every regression
# input; fails on any crash.
fuzz-smoke: fuzz-build
	@B=$(B)/fuzz SECONDS=3 sh tests/fuzz/run.sh smoke $(FUZZERS)

# ---- demo ------------------------------------------------------------------
demo: $(B)/texc $(B)/libtexrt.a
	@sh examples/demo.sh $(B)

# ---- bench: texc beside its peers, in one run (PyTorch from Debian) -----------
BENCH_PKGS  := python3-torch python3-numpy libopenblas0-pthread
BENCH_STAMP := $(B)/.bench-deps-stamp
$(BENCH_STAMP): $(STAMP)
	@missing=""; for p in $(BENCH_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $@
bench: $(B)/texc $(B)/libtexrt.a $(BENCH_STAMP)
	@sh bench/run.sh $(B)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
