#!/bin/sh
# run.sh — tests/tsan/threads.c under ThreadSanitizer (`make check-tsan`):
# compiles tests/tsan/rows.tex to an object, links it with threads.c and the
# runtime archive built with -fsanitize=thread, and runs it; any TSan report
# fails the check (halt_on_error), as does any mismatch.  It runs twice: as
# the environment says, then with TEX_NUM_THREADS=3 TEX_PARALLEL_MIN_WORK=0,
# so that every splittable step runs on the pool while 8 callers compete
# for it.  Then tests/unit/test_pool.c (the pool with instrumented kernels:
# chunks, errors, concurrent callers, fork) under ThreadSanitizer.
#
# Environment: TEXC, TSAN_RUNTIME (the archive), CC, TSAN_CFLAGS.
set -eu
TEXC=${TEXC:-build/texc}
TSAN_RUNTIME=${TSAN_RUNTIME:-build/tsan/libtexrt.a}
CC=${CC:-cc}
TSAN_CFLAGS=${TSAN_CFLAGS:--std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=thread}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
"$TEXC" tests/tsan/rows.tex --emit=obj --prefix=tsan -o "$t/rows.o"
$CC $TSAN_CFLAGS -Iruntime -o "$t/threads" tests/tsan/threads.c "$t/rows.o" "$TSAN_RUNTIME" -lm -lpthread
TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" "$t/threads"
TEX_NUM_THREADS=3 TEX_PARALLEL_MIN_WORK=0 TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" "$t/threads"
$CC $TSAN_CFLAGS -Iruntime -o "$t/test_pool" tests/unit/test_pool.c "$TSAN_RUNTIME" -lcmocka -lpthread
TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" "$t/test_pool" >"$t/pool.log" 2>&1 || { cat "$t/pool.log"; exit 1; }
echo "tsan: test_pool passed"
