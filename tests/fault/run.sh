#!/bin/sh
# run.sh — fault injection: every allocation of a compile, and of a call to
# generated code, made to fail in turn.  `make check-fault` runs it; under
# `make BUILD=build/san SAN=1 check-fault` LeakSanitizer also checks that no
# failure path leaks.
#
# The compiler (tests/fault/texc_fault.c): `texc_fault --sweep ARGS` fails
# allocation N = 1, 2, ... until a compile finishes without reaching N; each
# failure must exit with status 4 (TEXC_EXIT_NOMEM) saying "texc: out of
# memory", with no leak.
# The runtime (tests/fault/rt_fault.c, linked here with an object texc
# emits and the runtime archive): every function of the module, every
# allocation of the call failed in turn; each must return TEX_ERR_ALLOC and
# give back what it took.
#
# Environment: TEXC, TEXC_FAULT, TEXC_RUNTIME (the archive), CC, RT_CFLAGS.
set -eu

TEXC=${TEXC:-build/texc}
TEXC_FAULT=${TEXC_FAULT:-build/tests/texc_fault}
TEXC_RUNTIME=${TEXC_RUNTIME:-$(pwd)/build/libtexrt.a}
CC=${CC:-cc}
RT_CFLAGS=${RT_CFLAGS:--std=c11 -g -D_GNU_SOURCE}
export TEXC_RUNTIME
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
fail=0

cat >"$t/small.tex" <<'EOF'
fn f(x: f32[N]) -> f32 {
    return sum(x * x)
}
EOF
cat >"$t/softmax.tex" <<'EOF'
fn softmax_rows(x: f32[N, K]) -> f32[N, K] {
    let e = exp(x - max(x, axis=1, keepdims=true))
    return e / sum(e, axis=1, keepdims=true)
}
fn scale(x: f64[N], a: f64) -> f64[N] {
    return x * a
}
EOF
# Over 128 buffers (parameters and temporaries): texrt_run takes its buffer
# table from the hook too, so a call makes two allocations.
awk 'BEGIN {
  print "fn chain(x: f32[N]) -> f32 {"; print "    let a0 = x"
  for (i = 1; i < 140; i++) printf "    let a%d = a%d * 0.5 + sum(a%d) * 0.01\n", i, i - 1, i - 1
  print "    return sum(a139)"; print "}" }' >"$t/chain.tex"

echo "== compiler: fail the Nth allocation"
sweep() {
  "$TEXC_FAULT" --sweep "$@" || fail=$((fail + 1))
}
sweep "$t/small.tex" -o "$t/small.so"
sweep "$t/small.tex" --emit=dot -o "$t/small.dot"
# the MLP with its gradient is ~1,200 allocations, 2 minutes under ASan:
# make test runs the shorter ones; FAULT_FULL=1 (make fuzz) runs it too
[ "${FAULT_FULL:-0}" = 1 ] && sweep examples/mlp.tex --grad-all -o "$t/mlp.so"
sweep tests/diag/multi_errors_sema.tex --emit=ir -o /dev/null
sweep tests/passes/cse_merge.ir --emit=kernels -o /dev/null
sweep check-grad "$t/small.tex" f

echo "== runtime: fail the Nth allocation of a call"
for prog in "$t/softmax.tex" "$t/chain.tex" examples/logreg.tex; do
  name=$(basename "$prog" .tex)
  "$TEXC" "$prog" --emit=obj --prefix=fault -o "$t/$name.o"
  $CC $RT_CFLAGS -Iruntime -Itests -o "$t/rt_$name" tests/fault/rt_fault.c "$t/$name.o" "$TEXC_RUNTIME" -lm -lpthread
  "$t/rt_$name" || fail=$((fail + 1))
done

echo "== runtime: a _ws call allocates nothing, even with its buffer table in the workspace"
$CC $RT_CFLAGS -Iruntime -o "$t/rt_ws" tests/fault/rt_ws.c "$t/chain.o" "$TEXC_RUNTIME" -lm -lpthread
"$t/rt_ws" || fail=$((fail + 1))

echo "== fault injection: $fail failed"
[ "$fail" = 0 ]
