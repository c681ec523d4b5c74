#!/bin/sh
# run-golden.sh — golden tests: compiler diagnostics and IR passes.
#
#   TEXC=build/texc sh tests/run-golden.sh          (what `make check-golden` runs)
#   UPDATE=1 TEXC=build/texc sh tests/run-golden.sh (rewrite the expected files)
#
# Run from the repository root: messages name files by their relative path.
#
# tests/diag/NAME.tex   a bad program (or NAME.ir: bad IR, which texc always
#                       verifies).  `texc NAME.tex --emit=ir -o /dev/null`
#                       must exit with status 1, and its stderr must equal
#                       tests/diag/NAME.err exactly.
# tests/passes/NAME.ir  IR (or .tex source with `# RUN:`) whose first line is
#                       `// RUN: texc ARGS` (the word
#                       `texc` is optional; ARGS are split on blanks, no quoting).
#                       `texc NAME.ir ARGS --emit=ir` (or the --emit= that ARGS
#                       give) must exit with status 0, and its stdout must equal
#                       tests/passes/NAME.out.  A line `# KERNEL-COUNT: N`
#                       also requires exactly N `kernel NAME` lines in it.
#
# UPDATE=1 writes the current output into the .err/.out files instead of
# comparing.  The result is only as good as the compiler that produced it: a
# human must read `git diff tests/` and judge every changed message before
# committing it.
set -eu

TEXC=${TEXC:-build/texc}
UPDATE=${UPDATE:-0}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# check NAME WANT_STATUS GOT_STATUS EXPECTED_FILE ACTUAL_FILE
check() {
  if [ "$UPDATE" = 1 ] && [ "$3" = "$2" ]; then
    cp "$5" "$4"
    echo "updated $1"
    pass=$((pass + 1))
  elif [ "$3" != "$2" ]; then
    echo "FAIL $1: exit status $3, expected $2"
    sed 's/^/    /' "$5"
    fail=$((fail + 1))
  elif [ ! -f "$4" ]; then
    echo "FAIL $1: $4 is missing (create it with UPDATE=1, then review it)"
    fail=$((fail + 1))
  elif diff -u "$4" "$5" >"$tmp/diff"; then
    echo "ok $1"
    pass=$((pass + 1))
  else
    echo "FAIL $1"
    sed 's/^/    /' "$tmp/diff"
    fail=$((fail + 1))
  fi
}

echo "== diagnostics (tests/diag)"
for src in tests/diag/*.tex tests/diag/*.ir; do
  [ -e "$src" ] || continue
  name=${src%.*}
  rc=0
  "$TEXC" "$src" --emit=ir -o /dev/null 2>"$tmp/err" >/dev/null || rc=$?
  check "diag/${name##*/}" 1 "$rc" "$name.err" "$tmp/err"
done

echo "== passes (tests/passes)"
for src in tests/passes/*.ir tests/passes/*.tex; do
  [ -e "$src" ] || continue
  name=${src%.*}
  run=$(sed -n '1s@^\(//\|#\)[[:space:]]*RUN:[[:space:]]*@@p' "$src")
  if [ -z "$run" ] && ! head -n 1 "$src" | grep -Eq '^(//|#)[[:space:]]*RUN:'; then
    echo "FAIL passes/${name##*/}: first line is not '// RUN: texc ARGS' (or '# RUN:' in .tex)"
    fail=$((fail + 1))
    continue
  fi
  set -f                       # split ARGS on blanks, but do not glob them
  set -- $run
  set +f
  [ "${1:-}" = texc ] && shift
  case " $* " in *" --emit="*) emit= ;; *) emit=--emit=ir ;; esac
  rc=0
  "$TEXC" "$src" "$@" $emit >"$tmp/out" 2>"$tmp/err" || rc=$?
  [ "$rc" = 0 ] || cat "$tmp/err" >>"$tmp/out"
  check "passes/${name##*/}" 0 "$rc" "$name.out" "$tmp/out"
  # `# KERNEL-COUNT: N`: the --emit=kernels listing has exactly N kernels
  want=$(sed -n 's@^#[[:space:]]*KERNEL-COUNT:[[:space:]]*@@p' "$src")
  if [ -n "$want" ]; then
    got=$(grep -c '^kernel ' "$tmp/out" || true)
    if [ "$got" = "$want" ]; then pass=$((pass + 1)); else
      echo "FAIL passes/${name##*/}: $got kernels, want $want"
      fail=$((fail + 1))
    fi
  fi
done

echo "== golden: $pass passed, $fail failed"
[ "$fail" = 0 ]
