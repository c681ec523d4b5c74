#!/bin/sh
# run.sh — runs the libFuzzer harnesses (what `make fuzz` and `make
# fuzz-smoke` call; see tests/fuzz/README.md).
#
#   B=build/fuzz SECONDS=60 sh tests/fuzz/run.sh long  HARNESS...
#   B=build/fuzz SECONDS=3  sh tests/fuzz/run.sh smoke HARNESS...
#
# long:  each harness SECONDS from tests/fuzz/corpus/H plus what earlier runs
#        kept in $B/corpus/H (new inputs go there); libFuzzer's fork mode
#        keeps going after a crash, and every crash is written to
#        $B/crashes/H/.  Exits 1 if any crash file exists at the end.
# smoke: each harness SECONDS from its seeds (fixed seed, throwaway corpus),
#        then every input of tests/fuzz/regress/H once.  Exits 1 on any
#        crash, leak, timeout or sanitizer report.
set -u

B=${B:-build/fuzz}
SECONDS_EACH=${SECONDS:-60}
mode=$1
shift
failed=0
# Leaks are bugs (every input is a full compilation); LLVM's own global
# state is freed by nobody, so only texc's allocations are checked.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The options each harness needs: the text harnesses share the dictionary;
# LLVM makes fuzz_llvm and fuzz_struct slow per input, so inputs stay small.
flags() {
  case $1 in
  fuzz_source | fuzz_ir) echo "-dict=tests/fuzz/texc.dict -max_len=8192" ;;
  fuzz_llvm) echo "-dict=tests/fuzz/texc.dict -max_len=4096" ;;
  fuzz_struct) echo "-max_len=4096" ;;
  *) echo "-max_len=1024" ;;
  esac
}

for h in "$@"; do
  seeds=tests/fuzz/corpus/$h
  crashes=$B/crashes/$h
  mkdir -p "$crashes"
  case $mode in
  long)
    corpus=$B/corpus/$h
    mkdir -p "$corpus"
    echo "== $h: ${SECONDS_EACH}s (corpus $corpus, crashes $crashes)"
    nice "$B/$h" $(flags "$h") -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=30 \
      -rss_limit_mb=4096 -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
      -artifact_prefix="$crashes/" "$corpus" "$seeds" 2>&1 | grep -E '^#[0-9]+: |DONE|INFO: fuzzed|crash-|timeout-|oom-|stat::'
    n=$(ls "$crashes" | grep -cE '^(crash|timeout|oom|leak|slow-unit)-')
    echo "   $h: $n crash/timeout/oom files in $crashes"
    [ "$n" -eq 0 ] || failed=1
    ;;
  smoke)
    tmp=$(mktemp -d)
    echo "== $h: ${SECONDS_EACH}s from $seeds"
    if ! "$B/$h" $(flags "$h") -seed=1 -timeout=30 -rss_limit_mb=4096 -max_total_time="$SECONDS_EACH" \
      -artifact_prefix="$crashes/" "$tmp" "$seeds" >"$tmp.log" 2>&1; then
      tail -40 "$tmp.log"
      echo "FAIL $h (the input is in $crashes/)"
      failed=1
    else
      grep -E 'DONE|Done' "$tmp.log" | tail -1
    fi
    rm -rf "$tmp"
    if [ -d "tests/fuzz/regress/$h" ] && [ -n "$(ls "tests/fuzz/regress/$h")" ]; then
      if ! "$B/$h" -timeout=30 tests/fuzz/regress/"$h"/* >"$tmp.log" 2>&1; then
        tail -40 "$tmp.log"
        echo "FAIL $h: a regression input of tests/fuzz/regress/$h crashes again"
        failed=1
      else
        echo "   $h: $(ls "tests/fuzz/regress/$h" | wc -l) regression inputs pass"
      fi
    fi
    rm -f "$tmp.log"
    ;;
  *)
    echo "usage: run.sh long|smoke HARNESS..." >&2
    exit 2
    ;;
  esac
done
exit $failed
