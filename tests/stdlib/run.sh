#!/bin/sh
# run.sh — every function of the standard library, gradient-checked.
#
#   TEXC=build/texc sh tests/stdlib/run.sh      (what `make check-stdlib` runs)
#
# 1. Coverage: every function `fn NAME` of stdlib/M.tex that is not private
#    must be called as `M.NAME(` in tests/stdlib/M_checks.tex.
# 2. Every exported function of tests/stdlib/*_checks.tex passes
#    `texc check-grad FILE FN --jvp` (f64 central finite differences, and
#    forward mode against reverse mode) with seeds 1 and 2.
# Stability at +-1e4 is tests/e2e/stdlib_stable.tex (make check-e2e).
set -eu
TEXC=${TEXC:-build/texc}
pass=0
fail=0
for lib in stdlib/*.tex; do
  m=$(basename "$lib" .tex)
  checks=tests/stdlib/${m}_checks.tex
  for fn in $(sed -n 's/^fn \([A-Za-z_0-9]*\).*/\1/p' "$lib"); do
    if [ -f "$checks" ] && grep -q "$m\.$fn(" "$checks"; then pass=$((pass + 1)); else
      echo "FAIL stdlib/$m.tex: $m.$fn has no gradient check in $checks"
      fail=$((fail + 1))
    fi
  done
done
for f in tests/stdlib/*_checks.tex; do
  for fn in $(sed -n 's/^fn \([A-Za-z_0-9]*\).*/\1/p' "$f"); do
    for seed in 1 2; do
      if out=$("$TEXC" check-grad "$f" "$fn" --jvp --seed "$seed" 2>&1) && echo "$out" | grep -q "check-grad: ok" &&
        echo "$out" | grep -q jvp_vs_vjp; then
        pass=$((pass + 1))
      else
        echo "FAIL $f $fn (seed $seed)"
        echo "$out" | sed 's/^/    /'
        fail=$((fail + 1))
      fi
    done
  done
done
echo "== stdlib: $pass passed, $fail failed"
[ "$fail" = 0 ]
