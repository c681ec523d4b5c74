# texc — build, test, demo.  Out-of-tree: everything lands in $(BUILD).
#
#   make            build/texc and the runtime archives
#   make test       every test, then again under ASan+UBSan (build/san), then
#                   make fuzz-smoke
#   make demo       compile examples/logreg.tex and examples/convnet.tex and train them on the digits data,
#                   then the char-LSTM of examples/charlstm.tex on /usr/share/common-licenses/GPL-3
#   make install PREFIX=DIR   texc, libtexrt.a, texrt.h, the stdlib, the docs
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
           -I. -Iir -Ifrontend -Ipasses -Icodegen -Idriver -Iruntime -Ilang -I$(B)/gen
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
            -I. -Iir -Ifrontend -Ipasses -Icodegen -Idriver -Iruntime -Ilang -I$(B)/gen
LDFLAGS  := -fsanitize=address,undefined
endif
Q       := $(if $(V),,@)   # make V=1 shows every command

# ---- Debian packages: one stamp, safe under -j -----------------------------
# clang-19 and its sanitizer/libFuzzer runtimes: only the fuzz harnesses use
# them, but make test runs fuzz-smoke.
FUZZ_PKGS := clang-19 libclang-rt-19-dev
# Installs the Debian packages of $(1) that are missing (make test and make
# demo run on a fresh machine as root; each group has its own stamp).
apt_install = missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
  if [ -n "$$missing" ]; then \
    echo "installing:$$missing"; \
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
  fi
PKGS  := llvm-19-dev lld-19 re2c bison libcmocka-dev libdlpack-dev libzstd-dev clang-format-19 $(FUZZ_PKGS)
STAMP := $(B)/.deps-stamp
$(STAMP):
	@mkdir -p $(@D)
	@$(call apt_install,$(PKGS))
	@touch $@
deps: $(STAMP)

# ---- sources ---------------------------------------------------------------
DRIVER   := $(filter-out driver/main.c,$(wildcard driver/*.c))
COMPILER_SRCS := $(wildcard ir/*.c) $(wildcard frontend/*.c) $(wildcard passes/*.c) $(wildcard codegen/*.c) $(DRIVER)
COMPILER_OBJS := $(COMPILER_SRCS:%.c=$(B)/%.o) $(B)/gen/lexer.o $(B)/gen/parser.o
RUNTIME_SRCS  := $(wildcard runtime/*.c)
RUNTIME_OBJS  := $(RUNTIME_SRCS:%.c=$(B)/rt/%.o)
GEN_HDRS      := $(B)/gen/parser.h

all: $(B)/texc $(B)/libtexrt.a
.PHONY: all deps test check check-stdlib check-models install check-install check-unit check-golden check-e2e check-hostile check-fault check-tsan demo clean bench bench-venv check-bench-logic check-python test-torch2 test-diff fuzz-diff fuzz fuzz-smoke fuzz-build fuzz-harnesses

$(B)/gen/parser.c $(B)/gen/parser.h &: frontend/parser.y | $(STAMP)
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
$(B)/texc: $(B)/driver/main.o $(B)/libtexc.a $(B)/libtexrt.a
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
	$(Q)$(CC) $(CFLAGS) $(LLVM_CFLAGS) -Itests -o $@ $< $(B)/libtexc.a $(B)/libtexrt.a $(LDFLAGS) $(LLVM_LIBS) -lcmocka -lquadmath -lm -ldl -lpthread

$(B)/tests/e2e: tests/e2e/driver.c tests/e2e/errors.c tests/e2e/errors_index.c tests/e2e/refs.c tests/e2e/refs_red.c tests/e2e/refs_index.c tests/e2e/refs_loop.c tests/e2e/refs_mm.c tests/e2e/e2e.h tests/e2e/refs.h $(B)/libtexrt.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests -o $@ tests/e2e/driver.c tests/e2e/errors.c tests/e2e/errors_index.c tests/e2e/refs.c tests/e2e/refs_red.c tests/e2e/refs_index.c tests/e2e/refs_loop.c tests/e2e/refs_mm.c $(LDFLAGS) -lcmocka -lm -ldl -lpthread

# Every texc the tests run verifies the IR after each pass (TEXC_VERIFY).
check-unit: $(UNIT_BINS) $(B)/texc $(B)/libtexrt.a
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; TEXC_VERIFY=1 TEXC=$(B)/texc $$t; done
check-golden: $(B)/texc
	@TEXC_VERIFY=1 TEXC=$(B)/texc sh tests/run-golden.sh
check-e2e: $(B)/tests/e2e $(B)/texc $(B)/libtexrt.a
	@TEXC_VERIFY=1 TEXC=$(B)/texc $(B)/tests/e2e tests/e2e
check: check-unit check-golden check-e2e check-hostile check-stdlib check-models check-install check-docs

# Every example of lang/reference.md compiles; those marked `tex run` run
# (tests/docs/run.sh explains the info strings of the code blocks).
$(B)/tests/docs_runner: tests/docs/runner.c runtime/texrt.h $(B)/libtexrt.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ tests/docs/runner.c $(B)/libtexrt.a $(LDFLAGS) -lm -ldl -lpthread
check-docs: $(B)/texc $(B)/tests/docs_runner
	@TEXC=$(B)/texc RUNNER=$(B)/tests/docs_runner sh tests/docs/run.sh lang/reference.md
	@sh tests/docs/editors.sh

# Every stdlib function under check-grad --jvp (tests/stdlib/run.sh).
check-stdlib: $(B)/texc $(B)/libtexrt.a
	@TEXC=$(B)/texc sh tests/stdlib/run.sh

# End-to-end models written with the stdlib (a Gaussian mixture with packed
# triangular precisions, a convnet, the char-LSTM of examples/charlstm.tex)
# against NumPy: values and gradients.
# Skipped under SAN=1: Python cannot dlopen a .so linked with the sanitizer runtime.
check-models: $(B)/texc $(B)/libtexrt.a
	@$(if $(SAN),echo "check-models: skipped under SAN=1",TEXC=$(B)/texc /usr/bin/python3 tests/models/run.py)

# make install PREFIX=DIR: the compiler, the runtime it links into models,
# the runtime's header, the standard library and the docs.  The installed
# texc finds PREFIX/lib/texc/libtexrt.a and PREFIX/share/texc/stdlib beside
# itself.  check-install installs into a temporary prefix and uses it.
PREFIX ?= /usr/local
# The Python package goes where Debian's python3 looks under PREFIX
# (dist-packages for /usr and /usr/local, site-packages elsewhere, such as
# ~/.local, the user site); PYTHON_SITE overrides it.
PY_PKGS  := python3-numpy python3-torch python3-venv pkg-config man-db  # check-install: pkg-config, man
PY_STAMP := $(B)/.py-deps-stamp
PYVER       := $(shell /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PYTHON_SITE ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$(if $(filter /usr/local,$(PREFIX)),/usr/local/lib/python$(PYVER)/dist-packages,$(PREFIX)/lib/python$(PYVER)/site-packages))
install: $(B)/texc $(B)/libtexrt.a
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/texc $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/share/texc/stdlib $(DESTDIR)$(PREFIX)/share/doc/texc $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PYTHON_SITE)/texc
	install -m 755 $(B)/texc $(DESTDIR)$(PREFIX)/bin/texc
	install -m 644 $(B)/libtexrt.a $(DESTDIR)$(PREFIX)/lib/texc/libtexrt.a
	install -m 644 runtime/texrt.h $(DESTDIR)$(PREFIX)/include/texrt.h
	install -m 644 stdlib/*.tex stdlib/README.md $(DESTDIR)$(PREFIX)/share/texc/stdlib/
	install -m 644 lang/*.md lang/ops.def README.md ARCHITECTURE.md $(DESTDIR)$(PREFIX)/share/doc/texc/
	install -m 644 driver/texc.1 $(DESTDIR)$(PREFIX)/share/man/man1/texc.1
	install -m 644 driver/texc.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/texc
	install -m 644 python/texc/*.py $(DESTDIR)$(PYTHON_SITE)/texc/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/^#define TEXC_VERSION "\(.*\)"/\1/p' ir/ir.h)|' \
	  runtime/texrt.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/texrt.pc
check-install: $(B)/texc $(B)/libtexrt.a $(PY_STAMP)
	@MAKE="$(MAKE)" BUILD=$(B) CC="$(CC) $(LDFLAGS)" SAN="$(SAN)" sh tests/install/run.sh

# Fault injection (tests/fault/run.sh): texc_fault is texc (main.c compiled
# as texc_main) with an allocation hook that fails the Nth allocation.  Under
# SAN=1 LeakSanitizer checks every failure path for leaks.
$(B)/tests/texc_main.o: driver/main.c $(GEN_HDRS)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LLVM_CFLAGS) -Wno-missing-prototypes -Dmain=texc_main -c -o $@ $<
$(B)/tests/texc_fault: tests/fault/texc_fault.c $(B)/tests/texc_main.o $(B)/libtexc.a $(B)/libtexrt.a
	@echo "  TEST    $<"
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(B)/tests/texc_main.o $(B)/libtexc.a $(B)/libtexrt.a $(LDFLAGS) $(LLVM_LIBS) -lm -ldl -lpthread
check-fault: $(B)/tests/texc_fault $(B)/texc $(B)/libtexrt.a
	@TEXC=$(B)/texc TEXC_FAULT=$(B)/tests/texc_fault TEXC_RUNTIME=$(abspath $(B)/libtexrt.a) \
	  CC="$(CC)" RT_CFLAGS="-std=c11 -g -D_GNU_SOURCE $(WARN) $(SANFLAGS)" sh tests/fault/run.sh

# ThreadSanitizer (tests/tsan/run.sh): the runtime archive again, built with
# -fsanitize=thread, and a test calling one compiled function from 8 threads.
TSAN_CFLAGS := -std=c11 $(WARN) -O1 -g -fsanitize=thread -fno-omit-frame-pointer -D_GNU_SOURCE
$(B)/tsan/rt/%.o: %.c | $(STAMP)
	@mkdir -p $(@D)
	@echo "  CC (tsan) $<"
	$(Q)$(CC) $(TSAN_CFLAGS) -MMD -MP -Iruntime -fPIC -fvisibility=hidden -c -o $@ $<
$(B)/tsan/libtexrt.a: $(RUNTIME_SRCS:%.c=$(B)/tsan/rt/%.o)
	@rm -f $@
	ar rcs $@ $^
check-tsan: $(B)/texc $(B)/tsan/libtexrt.a
	@TEXC=$(B)/texc TSAN_RUNTIME=$(B)/tsan/libtexrt.a CC="$(CC)" TSAN_CFLAGS="$(TSAN_CFLAGS)" sh tests/tsan/run.sh

# Hostile inputs at the command line (tests/hostile/README.md).  Sanitizer
# builds reserve terabytes of address space: no `ulimit -v` for them.
check-hostile: $(B)/texc $(B)/libtexrt.a
	@TEXC=$(B)/texc $(if $(SAN),HOSTILE_VMEM_KB=) sh tests/hostile/run.sh


# make test: the size budget, the whole suite (hostile inputs included), the
# differential test against NumPy (a few hundred random programs, fixed
# seed), one function from 8 threads under ThreadSanitizer, then the whole
# suite again under ASan+UBSan, and allocation-failure sweeps under
# LeakSanitizer, then each libFuzzer harness for a few seconds.  (The differential test loads the models into
# Python, which is not instrumented, so it runs on the plain build only.)
test: $(STAMP)
	sh .ci/house-check
	$(MAKE) check
	$(MAKE) test-diff
	$(MAKE) check-bench-logic
	$(MAKE) check-python
	$(MAKE) check-tsan
	$(MAKE) BUILD=$(B)/san SAN=1 check
	$(MAKE) BUILD=$(B)/san SAN=1 check-fault
	$(MAKE) fuzz-smoke

# ---- differential testing against NumPy (tests/diff) -------------------------
# test-diff: DIFF_FILES generated files (5 functions each) from DIFF_SEED, then
# the kept failures in tests/diff/regress; fuzz-diff: random seeds for
# DIFF_SECONDS.  A failure names its seed and the saved program in
# $(B)/diff-failures; tests/diff/minimise.py shrinks it.
DIFF_PKGS    := python3-numpy
DIFF_STAMP   := $(B)/.diff-deps-stamp
DIFF_FILES   ?= 40
DIFF_SEED    ?= 1
DIFF_SECONDS ?= 300
DIFF_PY      := nice /usr/bin/python3 tests/diff/run.py --texc $(B)/texc --out $(B)/diff-failures
$(DIFF_STAMP): $(STAMP)
	@$(call apt_install,$(DIFF_PKGS))
	@touch $@
test-diff: $(B)/texc $(B)/libtexrt.a $(DIFF_STAMP)
	@$(DIFF_PY) --seed $(DIFF_SEED) --files $(DIFF_FILES)
	@$(DIFF_PY) --regress tests/diff/regress
fuzz-diff: $(B)/texc $(B)/libtexrt.a $(DIFF_STAMP)
	@$(DIFF_PY) --seconds $(DIFF_SECONDS)

# ---- the Python package (python/) --------------------------------------------
# check-python: python/tests with Debian's Python (NumPy 1.24, PyTorch 1.13),
# then with JAX from PyPI in $(PY_VENV) (made once and kept), where the
# package is pip-installed from a copy of python/, so the packaging is tested
# too.  Without PyPI the JAX half is skipped, and says so.  test-torch2: the
# same tests with PyPI's PyTorch 2.x (torch.compile, torch.library) in the
# bench's venv, whose CUDA wheel is several GB: not part of `make test`.
PY_VENV  := $(B)/py-venv
PY_PYPI  := jax[cpu]==0.10.2 setuptools wheel
PY_TESTS := -m unittest discover -s $(CURDIR)/python/tests
$(PY_STAMP): $(STAMP)
	@$(call apt_install,$(PY_PKGS))
	@touch $@
$(PY_VENV)/.stamp: | $(PY_STAMP)
	@echo "check-python: installing $(PY_PYPI) into $(PY_VENV) (once)"
	@rm -rf $(PY_VENV) && /usr/bin/python3 -m venv $(PY_VENV) && \
	if $(PY_VENV)/bin/pip install -q $(PY_PYPI); then touch $@; \
	else echo "check-python: could not install $(PY_PYPI) (no network?)"; rm -rf $(PY_VENV); fi
check-python: $(B)/texc $(B)/libtexrt.a $(PY_STAMP)
	@[ -f $(PY_VENV)/.stamp ] || $(MAKE) --no-print-directory $(PY_VENV)/.stamp
	TEXC=$(CURDIR)/$(B)/texc PYTHONPATH=$(CURDIR)/python /usr/bin/python3 $(PY_TESTS)
	@if [ -f $(PY_VENV)/.stamp ]; then \
	  rm -rf $(B)/py-src && cp -r python $(B)/py-src && rm -rf $(B)/py-src/tests $(B)/py-src/build $(B)/py-src/*.egg-info && \
	  $(PY_VENV)/bin/pip install -q --no-deps --no-build-isolation --force-reinstall $(B)/py-src && \
	  cd $(B) && TEXC=$(CURDIR)/$(B)/texc $(CURDIR)/$(PY_VENV)/bin/python $(PY_TESTS); \
	else echo "check-python: SKIPPED the JAX tests and the pip install: $(PY_VENV) could not be made"; fi
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

# ---- bench: texc beside its peers, in one run (bench/driver.py) -------------
# Debian's peers (NumPy 1.24, PyTorch 1.13, OpenBLAS) through the same stamp
# mechanism as deps; PyPI's (PyTorch 2.x, JAX) in a venv under $(B), made
# once (the stamp) and kept.  PyPI's torch wheel brings its CUDA libraries
# (~4 GB): the CPU-only wheel index is not reachable from here, only PyPI.
# Without network the venv is not made, and the bench runs without those
# peers and says so.  BENCH_QUICK=1: a smoke run (fewer samples and cases).
BENCH_PKGS  := python3-torch python3-numpy libopenblas0-pthread python3-venv
BENCH_PYPI  := torch==2.15.0 jax[cpu]==0.10.2 numpy==2.4.6
BENCH_VENV  := $(B)/bench-venv
BENCH_STAMP := $(B)/.bench-deps-stamp
$(BENCH_STAMP): $(STAMP)
	@$(call apt_install,$(BENCH_PKGS))
	@touch $@
$(BENCH_VENV)/.stamp: | $(BENCH_STAMP)
	@echo "bench: installing $(BENCH_PYPI) into $(BENCH_VENV) (once; several GB)"
	@rm -rf $(BENCH_VENV) && /usr/bin/python3 -m venv $(BENCH_VENV) && \
	if $(BENCH_VENV)/bin/pip install -q $(BENCH_PYPI); then touch $@; \
	else echo "bench: could not install the PyPI peers (no network?); make bench runs without them"; \
	  rm -rf $(BENCH_VENV); fi
bench-venv: $(BENCH_STAMP)
	@[ -f $(BENCH_VENV)/.stamp ] || $(MAKE) --no-print-directory $(BENCH_VENV)/.stamp
bench: $(B)/texc $(B)/libtexrt.a $(BENCH_STAMP) bench-venv
	@sh bench/run.sh $(B)
# the Python package's tests with PyPI's PyTorch 2.x (see check-python)
test-torch2: $(B)/texc $(B)/libtexrt.a $(BENCH_STAMP) bench-venv
	TEXC=$(CURDIR)/$(B)/texc PYTHONPATH=$(CURDIR)/python $(BENCH_VENV)/bin/python $(PY_TESTS)

# the peer-check logic of the bench (bench/selftest.py): Debian's NumPy only
check-bench-logic: $(DIFF_STAMP)
	@/usr/bin/python3 bench/selftest.py

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
